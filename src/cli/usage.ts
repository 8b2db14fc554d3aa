import { SETTINGS } from "../config/load.js";

// What `annex --help` and `annex <command> --help` print: one entry per command, so the global usage and each
// command's own are written once and cannot disagree.

export interface CommandUsage {
  /** As typed: "run", "config check". */
  name: string;
  /** Synopsis lines (without the leading "annex "). */
  synopsis: string[];
  /** One line for the global list. */
  summary: string;
  /** What the command does, in a few lines (its own --help only). */
  description: string;
  /** Its flags and what they mean. */
  flags: [flag: string, meaning: string][];
  /** Whether it reads a config, so the settings' flags and ANNEX_* variables apply. */
  readsConfig: boolean;
}

const CONFIG_FLAG: [string, string] = ["-c, --config <file>", "the config file (JSON); relative paths in it are resolved against its folder"];

export const COMMANDS: readonly CommandUsage[] = [
  {
    name: "run",
    synopsis: ["run --config annex.config.json", "run <type> --domain <domain> (--secret-file <path> | --secret-env <VAR>) [--server host:port]"],
    summary: "run every component in the file, or one component without a file",
    description:
      "Connects each component to the XMPP server and serves until SIGINT or SIGTERM (then drains and exits 0).\n" +
      "Without --config, runs one component of a known type with the flags below.",
    flags: [
      CONFIG_FLAG,
      ["--domain <domain>", "without a file: the component's domain (e.g. echo.localhost)"],
      ["--secret-file <path>", "without a file: a file holding the component secret"],
      ["--secret-env <VAR>", "without a file: an environment variable holding the component secret"],
      ["--server <host:port>", "without a file: the server's component port (default 127.0.0.1:5347)"],
    ],
    readsConfig: true,
  },
  {
    name: "config check",
    synopsis: ["config check --config <file>"],
    summary: "validate types, secrets and options without connecting",
    description: "Loads every component and reads every secret, listing each problem on its own line (exit 78), or prints `config ok`.",
    flags: [CONFIG_FLAG],
    readsConfig: true,
  },
  {
    name: "config print",
    synopsis: ["config print --config <file>"],
    summary: "the effective config (file + environment + flags), secrets masked",
    description: "Prints the config as Annex will use it: the file with its defaults filled in, then ANNEX_* variables and flags applied.",
    flags: [CONFIG_FLAG],
    readsConfig: true,
  },
  {
    name: "server-config",
    synopsis: ["server-config --config <file> [--server prosody|ejabberd] [--with-secrets] [--xmpp-host <domain>] [--http-port <n>]"],
    summary: "the server config for these components (Prosody Component lines, or a ready ejabberd.yml)",
    description: "Prints what the XMPP server needs for the components of the file: Prosody's Component lines, or an ejabberd.yml with\nthe listener, the pubsub acl, WebSocket and an anonymous host.",
    flags: [
      CONFIG_FLAG,
      ["--server prosody|ejabberd", "which server's configuration to write (default prosody)"],
      ["--with-secrets", "write the secrets in (default: placeholders)"],
      ["--xmpp-host <domain>", "the server's own host (default: derived from the first component's domain)"],
      ["--http-port <n>", "ejabberd: the HTTP/WebSocket port"],
    ],
    readsConfig: true,
  },
  {
    name: "prosody-config",
    synopsis: ["prosody-config --config <file> [--with-secrets]"],
    summary: "the same as server-config --server prosody",
    description: "Prints Prosody's Component lines for the components of the file.",
    flags: [CONFIG_FLAG, ["--with-secrets", "write the secrets in (default: placeholders)"]],
    readsConfig: true,
  },
  {
    name: "doctor",
    synopsis: ["doctor --config <file>"],
    summary: "connect and check each component, with the fix for each failure",
    description: "Connects each component once (or asks a running Annex's /healthz) and prints ok or FAIL with the fix for every check.",
    flags: [CONFIG_FLAG],
    readsConfig: true,
  },
  {
    name: "new",
    synopsis: ["new <name> [--standalone] [--dir <path>]"],
    summary: "a new component with a handler, a unit test and a README",
    description: "Writes a new component: its class with a message and an IQ handler, a unit test on the harness, and a README.",
    flags: [
      ["<name>", "lower-case letters, digits and dashes, e.g. weather"],
      ["--standalone", "a project of its own (package.json, tsconfig.json) instead of a folder under components/"],
      ["--dir <path>", "where to write it"],
    ],
    readsConfig: false,
  },
];

const EXIT_CODES = "Exit codes: 0 done / stopped cleanly, 1 other failure, 64 bad usage, 78 bad config or the server refused the component.";

function settingsHelp(): string {
  return SETTINGS.map((s) => `  --${s.flag}\n      ${s.env.padEnd(42)} ${s.path.join(".")}${s.kind === "off" ? " (false = off)" : ""}`).join("\n");
}

function synopsisLines(command: CommandUsage, summary: boolean): string[] {
  const lines: string[] = [];
  for (const [i, line] of command.synopsis.entries()) {
    const text = `  annex ${line}`;
    const last = i === command.synopsis.length - 1;
    if (!summary || !last) lines.push(text);
    else if (text.length < 48) lines.push(`${text.padEnd(48)}${command.summary}`);
    else lines.push(text, `${" ".repeat(48)}${command.summary}`);
  }
  return lines;
}

/** `annex --help`: every command, every setting, the exit codes. */
export function globalUsage(): string {
  return `Usage:
${COMMANDS.flatMap((c) => synopsisLines(c, true)).join("\n")}
  annex <command> --help                        that command's usage
  annex --version | --help

Every setting can also come from the environment or a flag; the flag wins over the environment,
which wins over the file:
${settingsHelp()}

${EXIT_CODES}`;
}

/** The commands a name (e.g. "config", or "config check") stands for: one, or a group. */
export function commandsNamed(words: readonly string[]): CommandUsage[] {
  const full = words.slice(0, 2).join(" ");
  const exact = COMMANDS.filter((c) => c.name === full || c.name === words[0]);
  if (exact.length > 0) return exact;
  return COMMANDS.filter((c) => c.name.split(" ")[0] === words[0]);
}

/** `annex <command> --help`: that command's synopsis, what it does, its flags. */
export function commandUsage(commands: readonly CommandUsage[]): string {
  const width = Math.max(...commands.flatMap((c) => c.flags.map(([f]) => f.length))) + 4;
  return commands
    .map((c) => {
      const flags = c.flags.map(([flag, meaning]) => `  ${flag.padEnd(width)}${meaning}`).join("\n");
      const settings = c.readsConfig ? "\n\nEvery setting of the config file can also be given as a flag or an ANNEX_* variable: `annex --help` lists them." : "";
      return `Usage:\n${c.synopsis.map((s) => `  annex ${s}`).join("\n")}\n\n${c.description}\n\nOptions:\n${flags}${settings}`;
    })
    .join("\n\n")
    .concat(`\n\n${EXIT_CODES}`);
}

/** The command names, for "did you mean". */
export function commandNames(): string[] {
  return [...new Set(COMMANDS.map((c) => c.name.split(" ")[0] as string))];
}
