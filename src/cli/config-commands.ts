import type { LoadedConfig } from "../config/load.js";
import { pino } from "pino";
import type { Catalogue } from "../runtime/catalogue.js";
import { Runner } from "../runtime/runner.js";
import { type CliIo, EXIT, reportStartupError } from "./io.js";

/** `annex config check`: everything that can be checked without connecting (types, secrets, options). */
export async function checkConfig(config: LoadedConfig, catalogue: Catalogue, io: CliIo): Promise<number> {
  try {
    await Runner.create(config, { catalogue, log: pino({ level: "silent" }) });
  } catch (err) {
    return reportStartupError(err, io);
  }
  io.out(`config ok: ${config.components.length} component(s): ${config.components.map((c) => c.domain).join(", ")}`);
  return EXIT.ok;
}

/** `annex config print`: the effective config (file, environment, flags), secrets masked. */
export function printConfig(config: LoadedConfig, io: CliIo): number {
  const { baseDir: _baseDir, ...rest } = config;
  const masked = { ...rest, components: rest.components.map((c) => (c.secret === undefined ? c : { ...c, secret: "[redacted]" })) };
  io.out(JSON.stringify(masked, null, 2));
  return EXIT.ok;
}
