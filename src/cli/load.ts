import { UsageError } from "./io.js";
import { type LoadedConfig, readConfigFile, resolveConfig } from "../config/load.js";

export type FlagValues = Record<string, string | boolean | undefined>;

/**
 * The effective config: the file (or, without one, a single component from the command line),
 * then ANNEX_* environment variables, then flags.
 */
export async function loadEffectiveConfig(values: FlagValues, positionals: string[], env: NodeJS.ProcessEnv): Promise<LoadedConfig> {
  if (typeof values.config === "string") {
    if (positionals.length > 0) throw new UsageError(`give either --config or a component type, not both (got ${positionals.join(" ")})`);
    const file = await readConfigFile(values.config);
    return resolveConfig({ ...file, env, flags: values });
  }
  const [type, extra] = positionals;
  if (!type || extra !== undefined) {
    throw new UsageError("give --config <file>, or one component type (e.g. annex run echo --domain echo.localhost --secret-file echo.secret)");
  }
  const raw: Record<string, unknown> = {
    components: [{ type, domain: values.domain, secretFile: values["secret-file"], secretEnv: values["secret-env"] }],
  };
  if (typeof values.server === "string") {
    const [host, port] = values.server.split(":");
    raw.server = { host, ...(port === undefined ? {} : { port: /^\d+$/.test(port) ? Number(port) : port }) };
  }
  return resolveConfig({ raw, env, flags: values, baseDir: process.cwd() });
}
