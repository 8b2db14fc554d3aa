import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { ProsodyMissingError } from "../errors.js";
import { freePort, isListening } from "./ports.js";

const execFileAsync = promisify(execFile);

export const PROSODY_BIN = "/usr/bin/prosody";
export const PROSODYCTL_BIN = "/usr/bin/prosodyctl";

export { ProsodyMissingError };

export interface ProsodyComponent {
  domain: string;
  secret: string;
  /** Extra Lua lines inside the Component block. */
  extra?: string;
}

export interface ProsodyOptions {
  /** The VirtualHost for accounts; default "localhost". */
  host?: string;
  components?: ProsodyComponent[];
  users?: { username: string; password: string }[];
  /** Folder for config, data and log; default a new temporary folder (removed on stop). */
  dir?: string;
  /** Fixed ports; default free ones. */
  ports?: { c2s?: number; component?: number; http?: number };
  /** Extra Lua appended to the global section. */
  extraGlobal?: string;
  /** Extra Lua appended at the end (more hosts or components). */
  extraHosts?: string;
  logLevel?: "debug" | "info" | "warn" | "error";
  /**
   * Browser access: XMPP over WebSocket (RFC 7395) at http://127.0.0.1:<httpPort>/xmpp-websocket,
   * an anonymous VirtualHost for visitors (no passwords in pages), and optionally static files
   * served at / by the same origin (so pages need no CORS).
   */
  web?: { anonymousHost?: string; filesDir?: string };
}

/**
 * A private Prosody from the Debian package: generated config, free ports, foreground process.
 * Integration tests and `make demo` use it; nothing here fakes the server.
 */
export class ManagedProsody {
  readonly kind = "prosody" as const;
  private process: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();

  private constructor(
    readonly dir: string,
    readonly configPath: string,
    readonly host: string,
    readonly c2sPort: number,
    readonly componentPort: number,
    readonly httpPort: number,
    private readonly ownsDir: boolean,
    /** mod_component listens only when the config has a Component. */
    private readonly hasComponents: boolean,
    private readonly hasWeb: boolean,
  ) {}

  static async start(options: ProsodyOptions = {}): Promise<ManagedProsody> {
    if (!existsSync(PROSODY_BIN)) throw new ProsodyMissingError(PROSODY_BIN);
    const ownsDir = options.dir === undefined;
    const dir = options.dir ?? (await mkdtemp(join(tmpdir(), "annex-prosody-")));
    await mkdir(join(dir, "data"), { recursive: true });
    await mkdir(join(dir, "certs"), { recursive: true });
    const host = options.host ?? "localhost";
    const c2s = options.ports?.c2s ?? (await freePort());
    const component = options.ports?.component ?? (await freePort());
    const http = options.ports?.http ?? (await freePort());
    const configPath = join(dir, "prosody.cfg.lua");
    await writeFile(configPath, renderConfig({ ...options, dir, host, c2s, component, http }));
    const prosody = new ManagedProsody(dir, configPath, host, c2s, component, http, ownsDir, (options.components ?? []).length > 0 || /\bComponent\b/.test(options.extraHosts ?? ""), options.web !== undefined);
    for (const user of options.users ?? []) await prosody.register(user.username, user.password);
    await prosody.launch();
    return prosody;
  }

  get logPath(): string {
    return join(this.dir, "prosody.log");
  }

  get pid(): number | undefined {
    return this.process?.pid;
  }

  /** Creates an account with prosodyctl (works whether or not the server runs). */
  async register(username: string, password: string, host = this.host): Promise<void> {
    await execFileAsync(PROSODYCTL_BIN, ["--config", this.configPath, "register", username, host, password]);
  }

  /** Starts the server process and waits until both the c2s and component ports accept connections. */
  async launch(timeoutMs = 15_000): Promise<void> {
    if (this.process) throw new Error("Prosody is already running");
    const child = spawn(PROSODY_BIN, ["--config", this.configPath, "-F"], { stdio: ["ignore", "ignore", "pipe"] });
    this.process = child;
    let stderr = "";
    child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
    let exitCode: number | null | undefined;
    this.exited = new Promise((resolve) =>
      child.once("exit", (code) => {
        exitCode = code;
        if (this.process === child) this.process = undefined;
        resolve();
      }),
    );
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (exitCode !== undefined) throw new Error(`Prosody exited (code ${exitCode}) before listening:\n${stderr}\n${await this.logTail()}`);
      const ready =
        (await isListening(this.c2sPort)) && (!this.hasComponents || (await isListening(this.componentPort))) && (!this.hasWeb || (await isListening(this.httpPort)));
      if (ready) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    await this.kill();
    throw new Error(`Prosody did not listen on ports ${this.c2sPort}/${this.componentPort} within ${timeoutMs} ms:\n${await this.logTail()}`);
  }

  /** Graceful stop (SIGTERM), then SIGKILL if it lingers. */
  async stopProcess(timeoutMs = 5_000): Promise<void> {
    const child = this.process;
    if (!child) return;
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    await this.exited;
    clearTimeout(timer);
  }

  /** Kills the server at once (a crash, for fault tests). */
  async kill(): Promise<void> {
    const child = this.process;
    if (!child) return;
    child.kill("SIGKILL");
    await this.exited;
  }

  /** Stops the server and removes the folder if it made it. */
  async stop(): Promise<void> {
    await this.stopProcess();
    if (this.ownsDir) await rm(this.dir, { recursive: true, force: true });
  }

  async logTail(lines = 40): Promise<string> {
    try {
      return (await readFile(this.logPath, "utf8")).split("\n").slice(-lines).join("\n");
    } catch {
      return "(no log)";
    }
  }
}

function lua(value: string): string {
  return JSON.stringify(value); // a JSON string literal is a valid Lua string literal for our inputs
}

/** Every server loads these; the web setup adds its own (one modules_enabled line: Prosody warns about a second). */
const BASE_MODULES = ["roster", "saslauth", "disco", "ping", "version", "time"];

/**
 * What mainstream chat clients (Converse.js, Conversations, profanity…) expect of a server and fail
 * without: XEP-0191 blocking (Converse waits for it before opening a chat with anyone off the roster),
 * XEP-0280 carbons, XEP-0163 PEP (avatars, bookmarks), XEP-0049/0048 private storage and bookmarks,
 * vcard-temp (XEP-0054) and XEP-0313 archives.
 */
const CHAT_CLIENT_MODULES = ["blocklist", "carbons", "pep", "private", "bookmarks", "vcard_legacy", "mam"];

function renderWeb(o: ProsodyOptions & { host: string }): { modules: string[]; global: string; hosts: string } {
  if (!o.web) return { modules: [], global: "", hosts: "" };
  const files = o.web.filesDir !== undefined;
  const modules = [...CHAT_CLIENT_MODULES, "websocket", "http", ...(files ? ["http_files"] : [])];
  const global = `-- Browser clients: WebSocket (RFC 7395) on the HTTP port, plain ws:// on loopback only.
http_default_host = ${lua(o.host)}
http_paths = { websocket = "/xmpp-websocket"${files ? '; files = "/"' : ""} }
consider_websocket_secure = true
${files ? `http_files_dir = ${lua(o.web.filesDir as string)}\nhttp_index_files = { "index.html" }` : ""}`;
  const hosts = o.web.anonymousHost ? `VirtualHost ${lua(o.web.anonymousHost)}\n  authentication = "anonymous"\n` : "";
  return { modules, global, hosts };
}

function renderConfig(o: ProsodyOptions & { dir: string; host: string; c2s: number; component: number; http: number }): string {
  const root = process.getuid?.() === 0;
  const web = renderWeb(o);
  const components = (o.components ?? [])
    .map((c) => `Component ${lua(c.domain)}\n  component_secret = ${lua(c.secret)}\n${c.extra ?? ""}`)
    .join("\n");
  return `-- Generated by Annex's ManagedProsody; removed when it stops.
pidfile = ${lua(join(o.dir, "prosody.pid"))}
data_path = ${lua(join(o.dir, "data"))}
certificates = ${lua(join(o.dir, "certs"))}
${root ? 'run_as_root = true\nmodules_disabled = { "posix"; "s2s" }' : 'modules_disabled = { "s2s" }'}
modules_enabled = { ${[...BASE_MODULES, ...web.modules].map(lua).join("; ")} }
log = { { levels = { min = ${lua(o.logLevel ?? "info")} }, to = "file", filename = ${lua(join(o.dir, "prosody.log"))} } }
interfaces = { "127.0.0.1" }
c2s_ports = { ${o.c2s} }
c2s_interfaces = { "127.0.0.1" }
c2s_direct_tls_ports = { }
legacy_ssl_ports = { }
s2s_ports = { }
component_ports = { ${o.component} }
component_interfaces = { "127.0.0.1" }
http_ports = { ${o.http} }
http_interfaces = { "127.0.0.1" }
https_ports = { }
authentication = "internal_plain"
-- Loopback only, for tests and the demo: no TLS certificates are generated.
allow_unencrypted_plain_auth = true
c2s_require_encryption = false
${web.global}
${o.extraGlobal ?? ""}

VirtualHost ${lua(o.host)}

${web.hosts}
${components}
${o.extraHosts ?? ""}
`;
}
