import { parseArgs, type ParseArgsConfig } from "node:util";
import { SETTINGS } from "./config/load.js";
import { checkConfig, printConfig } from "./cli/config-commands.js";
import { doctor } from "./cli/doctor.js";
import { type CliIo, defaultIo, EXIT, reportStartupError, UsageError } from "./cli/io.js";
import { loadEffectiveConfig } from "./cli/load.js";
import { scaffold } from "./cli/new.js";
import { parseConfigServer, parsePortFlag, serverConfig, type ServerConfigOptions } from "./cli/server-config.js";
import { runComponents } from "./cli/run.js";
import { commandNames, commandsNamed, commandUsage, globalUsage } from "./cli/usage.js";
import { suggestKey } from "./config/errors.js";
import type { Catalogue } from "./runtime/catalogue.js";
import { ANNEX_VERSION } from "./version.js";

export { EXIT, type CliIo };

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
    // The usage of the command the flag was given to, when there is one.
    const words = argv.filter((a) => !a.startsWith("-"));
    const commands = commandsNamed(words);
    io.err(`annex: ${(err as Error).message}\n\n${commands.length > 0 ? commandUsage(commands) : globalUsage()}`);
    return EXIT.usage;
  }
  const values = parsed.values as Record<string, string | boolean | undefined>;
  const [command, ...rest] = parsed.positionals;
  if (values.version) {
    io.out(ANNEX_VERSION);
    return EXIT.ok;
  }
  // `annex help <command>` is `annex <command> --help`.
  const helpFor = command === "help" ? rest : values.help ? parsed.positionals : undefined;
  if (helpFor !== undefined && helpFor.length > 0) {
    const commands = commandsNamed(helpFor);
    if (commands.length === 0) return unknownCommand(helpFor, io);
    io.out(commandUsage(commands));
    return EXIT.ok;
  }
  if (values.help || command === "help" || command === undefined) {
    (command === undefined && !values.help ? io.err : io.out)(globalUsage());
    return command === undefined && !values.help ? EXIT.usage : EXIT.ok;
  }
  const named = commandsNamed(parsed.positionals);
  const usage = named.length > 0 ? commandUsage(named) : globalUsage();
  if (command === "new") return scaffold(rest[0], { standalone: values.standalone === true, dir: values.dir as string | undefined }, io);

  const needsFile = command !== "run";
  if (needsFile && typeof values.config !== "string") {
    if (named.length === 0) return unknownCommand(parsed.positionals, io);
    io.err(`annex ${command}: --config <file> is required\n\n${usage}`);
    return EXIT.usage;
  }
  const known = command === "run" || command === "doctor" || command === "prosody-config" || command === "server-config" || (command === "config" && (rest[0] === "check" || rest[0] === "print"));
  if (!known) return unknownCommand(parsed.positionals, io);
  // For server-config, --server names the XMPP server software (not host:port as for run).
  let serverOptions: Omit<ServerConfigOptions, "withSecrets"> | undefined;
  try {
    serverOptions =
      command === "server-config"
        ? { server: parseConfigServer(values.server), xmppHost: values["xmpp-host"] as string | undefined, httpPort: parsePortFlag("http-port", values["http-port"]) }
        : undefined;
  } catch (err) {
    io.err(`annex ${command}: ${(err as Error).message}\n\n${usage}`);
    return EXIT.usage;
  }
  if (serverOptions) delete values.server;
  let config;
  try {
    config = await loadEffectiveConfig(values, command === "run" ? rest : [], env);
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`annex ${command}: ${err.message}\n\n${usage}`);
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

/** An unknown command: the nearest one, and the global usage. */
function unknownCommand(words: readonly string[], io: CliIo): number {
  const [first = "", second] = words;
  const group = commandsNamed([first]);
  // `annex config chek`: the group is right, the subcommand is not.
  const hint = group.length > 1 ? suggestKey(second ?? "", group.map((c) => c.name.split(" ")[1] as string)) : suggestKey(first, commandNames());
  io.err(`annex: unknown command ${JSON.stringify(words.join(" "))}${hint}\n\n${globalUsage()}`);
  return EXIT.usage;
}
