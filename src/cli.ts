import { parseArgs } from "node:util";
import { ConfigError } from "./config/errors.js";
import { type LoadedConfig, loadConfigFile, parseConfig } from "./config/load.js";
import { FatalLinkError } from "./connection/supervisor.js";
import { createLogger } from "./ops/logger.js";
import type { Catalogue } from "./runtime/catalogue.js";
import { Runner } from "./runtime/runner.js";
import { ANNEX_VERSION } from "./version.js";

/** sysexits.h codes, so service managers can tell "fix the config" from "crashed". */
export const EXIT = { ok: 0, failure: 1, usage: 64, config: 78 } as const;

const USAGE = `Usage:
  annex run --config annex.config.json        run every component in the file
  annex run <type> --domain <domain> --secret-file <path> [--server host:port]
                                              run one component without a file
  annex --version | --help

Secrets come from "secret", "secretFile" or "secretEnv" in the file, or --secret-file / --secret-env.
Exit codes: 0 stopped cleanly, 64 bad usage, 78 bad config or the server refused the component.`;

export interface CliIo {
  out: (line: string) => void;
  err: (line: string) => void;
}

const defaultIo: CliIo = { out: (l) => process.stdout.write(`${l}\n`), err: (l) => process.stderr.write(`${l}\n`) };

/** Runs the CLI; resolves with the exit code (the caller exits). */
export async function runCli(argv: string[], catalogue: Catalogue, io: CliIo = defaultIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        config: { type: "string", short: "c" },
        domain: { type: "string" },
        server: { type: "string" },
        "secret-file": { type: "string" },
        "secret-env": { type: "string" },
        "log-level": { type: "string" },
        help: { type: "boolean", short: "h" },
        version: { type: "boolean" },
      },
    });
  } catch (err) {
    io.err(`annex: ${(err as Error).message}\n${USAGE}`);
    return EXIT.usage;
  }
  const { values, positionals } = parsed;
  if (values.version) {
    io.out(ANNEX_VERSION);
    return EXIT.ok;
  }
  if (values.help || positionals.length === 0) {
    io.out(USAGE);
    return values.help ? EXIT.ok : EXIT.usage;
  }
  const [command, ...rest] = positionals;
  if (command !== "run") {
    io.err(`annex: unknown command ${JSON.stringify(command)}\n${USAGE}`);
    return EXIT.usage;
  }

  let config: LoadedConfig;
  try {
    config = values.config ? await loadConfigFile(values.config) : singleComponentConfig(rest, values);
  } catch (err) {
    return reportStartupError(err, io);
  }
  if (values["log-level"]) config.log.level = values["log-level"] as LoadedConfig["log"]["level"];
  return run(config, catalogue, io);
}

function singleComponentConfig(rest: string[], values: Record<string, string | boolean | undefined>): LoadedConfig {
  const [type, extra] = rest;
  if (!type || extra !== undefined) throw new ConfigError(["annex run: give --config <file>, or one component type (e.g. annex run echo --domain echo.localhost --secret-file secret.txt)"]);
  const [host, port] = String(values.server ?? "127.0.0.1:5347").split(":");
  const raw = {
    server: { host, port: port === undefined ? 5347 : Number(port) },
    components: [{ type, domain: values.domain, secretFile: values["secret-file"], secretEnv: values["secret-env"] }],
  };
  return { ...parseConfig(raw), baseDir: process.cwd() };
}

async function run(config: LoadedConfig, catalogue: Catalogue, io: CliIo): Promise<number> {
  const log = createLogger(config.log.level);
  let runner: Runner;
  try {
    runner = await Runner.create(config, { catalogue, log });
  } catch (err) {
    return reportStartupError(err, io);
  }

  let stopping = false;
  const stopped = new Promise<number>((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping) {
        log.warn({ signal }, "second signal: exiting now");
        process.exit(EXIT.failure);
      }
      stopping = true;
      log.info({ signal }, "stopping");
      runner.stop().then(
        () => resolve(EXIT.ok),
        (err: unknown) => {
          log.error({ err }, "error while stopping");
          resolve(EXIT.failure);
        },
      );
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
  });
  const fatal = new Promise<number>((resolve) => {
    for (const { link } of runner.components) {
      link.on("fatal", (err: FatalLinkError) => {
        io.err(`annex: ${err.failure.condition}: ${err.message}`);
        void runner.stop({ drainMs: 0 }).finally(() => resolve(EXIT.config));
      });
    }
  });
  runner.start().catch(() => undefined); // failures surface through "fatal" or are retried
  return Promise.race([stopped, fatal]);
}

function reportStartupError(err: unknown, io: CliIo): number {
  if (err instanceof ConfigError) {
    io.err(`annex: the configuration is not valid:\n${err.lines.map((l) => `  ${l}`).join("\n")}`);
    return EXIT.config;
  }
  io.err(`annex: ${(err as Error).message}`);
  return EXIT.failure;
}
