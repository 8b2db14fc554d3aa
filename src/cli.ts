import { parseArgs, type ParseArgsConfig } from "node:util";
import { SETTINGS } from "./config/load.js";
import { checkConfig, printConfig } from "./cli/config-commands.js";
import { doctor } from "./cli/doctor.js";
import { type CliIo, defaultIo, EXIT, reportStartupError, UsageError } from "./cli/io.js";
import { loadEffectiveConfig } from "./cli/load.js";
import { scaffold } from "./cli/new.js";
import { parseConfigServer, parsePortFlag, serverConfig, type ServerConfigOptions } from "./cli/server-config.js";
import { runComponents } from "./cli/run.js";
import type { Catalogue } from "./runtime/catalogue.js";
import { ANNEX_VERSION } from "./version.js";

export { EXIT, type CliIo };

const USAGE = `Usage:
  annex run --config annex.config.json          run every component in the file
  annex run <type> --domain <domain> (--secret-file <path> | --secret-env <VAR>) [--server host:port]
                                                run one component without a file
  annex config check --config <file>            validate types, secrets and options without connecting
  annex config print --config <file>            the effective config (file + environment + flags), secrets masked
  annex server-config --config <file> [--server prosody|ejabberd] [--with-secrets] [--xmpp-host <domain>] [--http-port <n>]
                                                the server config for these components: Prosody Component lines,
                                                or a ready ejabberd.yml (listener, pubsub acl, WebSocket, anonymous host)
  annex prosody-config --config <file> [--with-secrets]
                                                the same as server-config --server prosody
  annex doctor --config <file>                  connect and check each component, with the fix for each failure
  annex new <name> [--standalone] [--dir <path>]
                                                a new component with a handler, a unit test and a README: a project
                                                of its own (./<name>/), or components/<name>/ inside an Annex clone
  annex --version | --help

Every setting can also come from the environment or a flag; the flag wins over the environment,
which wins over the file:
${SETTINGS.map((s) => `  --${s.flag}\n      ${s.env.padEnd(42)} ${s.path.join(".")}${s.kind === "off" ? " (false = off)" : ""}`).join("\n")}

Exit codes: 0 done / stopped cleanly, 1 other failure, 64 bad usage, 78 bad config or the server refused the component.`;

const COMMAND_FLAGS: ParseArgsConfig["options"] = {
  config: { type: "string", short: "c" },
  domain: { type: "string" },
  server: { type: "string" },
  "secret-file": { type: "string" },
  "secret-env": { type: "string" },
  "with-secrets": { type: "boolean" },
  standalone: { type: "boolean" },
  dir: { type: "string" },
  "xmpp-host": { type: "string" },
  "http-port": { type: "string" },
  help: { type: "boolean", short: "h" },
  version: { type: "boolean" },
};

/** Runs the CLI; resolves with the exit code (the caller exits). */
export async function runCli(argv: string[], catalogue: Catalogue, io: CliIo = defaultIo, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const options: ParseArgsConfig["options"] = { ...Object.fromEntries(SETTINGS.map((s) => [s.flag, { type: "string" as const }])), ...COMMAND_FLAGS };
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, options });
  } catch (err) {
    io.err(`annex: ${(err as Error).message}\n\n${USAGE}`);
    return EXIT.usage;
  }
  const values = parsed.values as Record<string, string | boolean | undefined>;
  const [command, ...rest] = parsed.positionals;
  if (values.version) {
    io.out(ANNEX_VERSION);
    return EXIT.ok;
  }
  if (values.help || command === undefined) {
    (values.help ? io.out : io.err)(USAGE);
    return values.help ? EXIT.ok : EXIT.usage;
  }
  if (command === "new") return scaffold(rest[0], { standalone: values.standalone === true, dir: values.dir as string | undefined }, io);

  const needsFile = command !== "run";
  if (needsFile && typeof values.config !== "string") {
    io.err(`annex ${command}: --config <file> is required\n\n${USAGE}`);
    return EXIT.usage;
  }
  const known = command === "run" || command === "doctor" || command === "prosody-config" || command === "server-config" || (command === "config" && (rest[0] === "check" || rest[0] === "print"));
  if (!known) {
    io.err(`annex: unknown command ${JSON.stringify([command, ...rest].join(" "))}\n\n${USAGE}`);
    return EXIT.usage;
  }
  // For server-config, --server names the XMPP server software (not host:port as for run).
  let serverOptions: Omit<ServerConfigOptions, "withSecrets"> | undefined;
  try {
    serverOptions =
      command === "server-config"
        ? { server: parseConfigServer(values.server), xmppHost: values["xmpp-host"] as string | undefined, httpPort: parsePortFlag("http-port", values["http-port"]) }
        : undefined;
  } catch (err) {
    io.err(`annex ${command}: ${(err as Error).message}\n\n${USAGE}`);
    return EXIT.usage;
  }
  if (serverOptions) delete values.server;
  let config;
  try {
    config = await loadEffectiveConfig(values, command === "run" ? rest : [], env);
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`annex ${command}: ${err.message}\n\n${USAGE}`);
      return EXIT.usage;
    }
    return reportStartupError(err, io);
  }
  switch (command) {
    case "run":
      return runComponents(config, catalogue, io);
    case "doctor":
      return doctor(config, io);
    case "prosody-config":
      return serverConfig(config, { server: "prosody", withSecrets: values["with-secrets"] === true }, io);
    case "server-config":
      return serverConfig(config, { ...(serverOptions as Omit<ServerConfigOptions, "withSecrets">), withSecrets: values["with-secrets"] === true }, io);
    default:
      return rest[0] === "check" ? checkConfig(config, catalogue, io) : printConfig(config, io);
  }
}
