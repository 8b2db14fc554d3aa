import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { chown, cp, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { promisify } from "node:util";
import { randomBytes } from "node:crypto";
import { freePort, isListening } from "./ports.js";
import { EjabberdMissingError } from "../errors.js";

const execFileAsync = promisify(execFile);

export const EJABBERDCTL_BIN = "/usr/sbin/ejabberdctl";
/** The Debian package runs ejabberd as this system user; ejabberdctl refuses any other but root. */
export const EJABBERD_USER = "ejabberd";

export { EjabberdMissingError };

export interface EjabberdComponent {
  domain: string;
  secret: string;
}

export interface EjabberdOptions {
  /** The ejabberd host for accounts; default "localhost". */
  host?: string;
  /**
   * Component domains, all on one `ejabberd_service` listener: each under `hosts` with its own
   * `password` (the Annex secret). A domain not listed there is refused (`not-authorized`).
   */
  components?: EjabberdComponent[];
  users?: { username: string; password: string }[];
  /** Folder for config, spool and logs; default a new temporary folder (removed on stop). */
  dir?: string;
  /** Fixed ports; default free ones. */
  ports?: { c2s?: number; component?: number; http?: number };
  /**
   * ejabberd's log level: debug or info (the default). Not quieter: start() knows the node is ready from the
   * info-level line "ejabberd … is started in the node", which warning or error would never write.
   */
  logLevel?: "debug" | "info";
  /** The server's own XEP-0060 service (mod_pubsub, with mod_caps) at this JID; `publishers` may create nodes and publish. */
  pubsub?: { service: string; publishers?: string[] };
  /** A XEP-0045 service (mod_muc) at this JID. */
  muc?: { service: string };
  /** Bare JIDs in the `admin` acl. */
  admins?: string[];
  /** Extra items in the server's disco#items (mod_disco `extra_domains`). s2s is off, so they are unreachable. */
  discoExtraDomains?: string[];
  /**
   * `global_routes` of the component listener; default false, so a component's connection carries
   * only its own domain's stanzas (true: every connection on the listener registers routes for all its hosts).
   */
  globalRoutes?: boolean;
  /**
   * Browser access: XMPP over WebSocket (RFC 7395, ejabberd_http_ws) at http://127.0.0.1:<httpPort>/xmpp-websocket,
   * an anonymous host for visitors, and optionally static files at / (mod_http_fileserver). The files are served
   * from a copy made at start, inside the instance folder (the ejabberd user may not read the caller's folder).
   * mod_http_fileserver serves by the Host header: ask for http://localhost:<httpPort>/ (for 127.0.0.1 it answers 410 Gone).
   */
  web?: { anonymousHost?: string; filesDir?: string };
  /**
   * A whole ejabberd.yml to use instead of the generated one (for tests of config printed by `annex server-config`).
   * `{{C2S_PORT}}`, `{{COMPONENT_PORT}}`, `{{HTTP_PORT}}` and `{{LOG_LEVEL}}` are replaced.
   */
  configYaml?: string;
  /**
   * TLS on the component listener from the first byte (`tls: true`), with this PEM file (certificate and key,
   * readable by the ejabberd user) as the listener's certificate: for tests of Annex's `server.tls` link.
   */
  componentTls?: { certfile: string; caFile?: string };
  /**
   * The node's Erlang distribution, for several nodes in one cluster (ManagedEjabberdCluster sets it); the
   * defaults make a lone node: a unique name `annex-<folder>@localhost`, a random cookie, a free distribution
   * port, listening on 127.0.0.1.
   */
  erlang?: EjabberdErlangOptions;
}

/** Erlang distribution settings of one node (see EjabberdOptions.erlang). */
export interface EjabberdErlangOptions {
  /** The node name, `name@host` (a short name: no dot in the host); the host must resolve through `hosts` or to 127.0.0.1. */
  node?: string;
  /** The cookie, passed as `-setcookie` in ERL_OPTIONS (never a cookie file in the system folder); nodes of one cluster share it. */
  cookie?: string;
  /**
   * ERL_DIST_PORT: without epmd every node listens on this port and expects every other node on it too, so the
   * nodes of one cluster share it and differ in their address (`interface`).
   */
  distPort?: number;
  /** The address the node's distribution listens on (INET_DIST_INTERFACE); default 127.0.0.1. */
  interface?: string;
  /** Host names for the node's Erlang resolver (its inetrc), name → IPv4 address; `localhost` is always 127.0.0.1. */
  hosts?: Record<string, string>;
}

/**
 * A private ejabberd from the Debian package (23.01): own config folder, spool, logs and Erlang node name,
 * free ports, no epmd (ERL_DIST_PORT), the cookie on the command line (no cookie file in the system folder).
 * It runs in the foreground as the `ejabberd` user, in its own process group, started and stopped by the tests.
 * Same shape as ManagedProsody, so a test can run on either.
 */
export class ManagedEjabberd {
  readonly kind = "ejabberd" as const;
  private process: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private lastAccountWrite = 0;

  private constructor(
    readonly dir: string,
    readonly configPath: string,
    readonly host: string,
    readonly c2sPort: number,
    readonly componentPort: number,
    readonly httpPort: number,
    /** The Erlang node name, unique per instance. */
    readonly node: string,
    private readonly ownsDir: boolean,
    private readonly hasComponents: boolean,
    private readonly hasWeb: boolean,
    private readonly hasC2s: boolean,
    private readonly hasApi: boolean,
  ) {}

  static async start(options: EjabberdOptions = {}): Promise<ManagedEjabberd> {
    checkErlangOptions(options.erlang);
    if (!existsSync(EJABBERDCTL_BIN)) throw new EjabberdMissingError(EJABBERDCTL_BIN);
    const ownsDir = options.dir === undefined;
    const dir = options.dir ?? (await mkdtemp(join(tmpdir(), "annex-ejabberd-")));
    if (ownsDir) ownedDirs.add(dir);
    for (const sub of ["spool", "logs"]) await mkdir(join(dir, sub), { recursive: true });
    const host = options.host ?? "localhost";
    const c2s = options.ports?.c2s ?? (await freePort());
    const component = options.ports?.component ?? (await freePort());
    const http = options.ports?.http ?? (await freePort());
    const distPort = options.erlang?.distPort ?? (await freePort());
    const node = options.erlang?.node ?? `annex-${basename(dir).replace(/[^A-Za-z0-9_-]/g, "")}@localhost`;
    const configPath = join(dir, "ejabberd.yml");
    const yaml = options.configYaml
      ? options.configYaml
          .replaceAll("{{C2S_PORT}}", String(c2s))
          .replaceAll("{{COMPONENT_PORT}}", String(component))
          .replaceAll("{{HTTP_PORT}}", String(http))
          .replaceAll("{{LOG_LEVEL}}", options.logLevel ?? "info")
      : renderConfig({ ...options, host, c2s, component, http, ...(options.web?.filesDir ? { web: { ...options.web, filesDir: join(dir, "www") } } : {}) });
    if (options.web?.filesDir && !options.configYaml) await cp(options.web.filesDir, join(dir, "www"), { recursive: true });
    await writeFile(configPath, yaml);
    // The cookie only guards this node against other local Erlang nodes; ejabberdctl reads it from the same file.
    const cookie = options.erlang?.cookie ?? randomBytes(12).toString("hex");
    const distInterface = options.erlang?.interface ?? "127.0.0.1";
    await writeFile(
      join(dir, "ejabberdctl.cfg"),
      `# Generated by Annex's ManagedEjabberd.\nERL_DIST_PORT=${distPort}\nERL_OPTIONS="-setcookie ${cookie} -env ERL_CRASH_DUMP_BYTES 0"\nINET_DIST_INTERFACE=${distInterface}\nERLANG_NODE=${node}\nEJABBERD_BYPASS_WARNINGS=true\n`,
    );
    // Erlang's resolver config (the Debian one's content): localhost, and a cluster's node hosts, without asking DNS.
    const inetHosts = Object.entries(options.erlang?.hosts ?? {})
      .map(([name, ip]) => `{host,{${ip.split(".").join(",")}}, [${JSON.stringify(name)}]}.\n`)
      .join("");
    await writeFile(join(dir, "inetrc"), `{lookup,["file","native"]}.\n{host,{127,0,0,1}, ["localhost"]}.\n${inetHosts}{file, resolv, "/etc/resolv.conf"}.\n`);
    await giveToEjabberd(dir);
    const hasComponents = options.configYaml ? /ejabberd_service/.test(yaml) : (options.components ?? []).length > 0;
    const hasWeb = options.configYaml ? /ejabberd_http\b/.test(yaml) : true;
    const hasApi = options.configYaml ? /mod_http_api/.test(yaml) : true;
    const hasC2s = options.configYaml ? /ejabberd_c2s/.test(yaml) : true;
    const server = new ManagedEjabberd(dir, configPath, host, c2s, component, http, node, ownsDir, hasComponents, hasWeb, hasC2s, hasApi);
    try {
      await server.launch();
    } catch (err) {
      if (ownsDir) await rm(dir, { recursive: true, force: true });
      throw err;
    }
    try {
      // Accounts are made after the start, through /api (one HTTP request each) or ejabberdctl.
      await Promise.all((options.users ?? []).map((u) => server.register(u.username, u.password)));
    } catch (err) {
      await server.stop();
      throw err;
    }
    return server;
  }

  get logPath(): string {
    return join(this.dir, "logs", "ejabberd.log");
  }

  get pid(): number | undefined {
    return this.process?.pid;
  }

  private ctlArgs(): string[] {
    const d = this.dir;
    return ["--config-dir", d, "--config", this.configPath, "--ctl-config", join(d, "ejabberdctl.cfg"), "--spool", join(d, "spool"), "--logs", join(d, "logs"), "--node", this.node];
  }

  /** Runs `ejabberdctl <args>` against this node (it must be running); resolves with its output. */
  async ctl(...args: string[]): Promise<string> {
    const { stdout } = await execFileAsync(EJABBERDCTL_BIN, [...this.ctlArgs(), ...args], { ...asEjabberd(this.dir), timeout: 30_000 });
    return stdout;
  }

  /**
   * Creates an account (the server must be running): through mod_http_api's `register` when the config has it
   * (generated configs do), else with `ejabberdctl register`, which boots an Erlang VM per call.
   */
  async register(username: string, password: string, host = this.host): Promise<void> {
    try {
      if (this.hasApi) {
        const response = await fetch(`http://127.0.0.1:${this.httpPort}/api/register`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ user: username, host, password }),
          signal: AbortSignal.timeout(30_000),
        });
        const text = await response.text();
        if (!response.ok) throw Object.assign(new Error(`HTTP ${response.status}`), { stdout: text });
      } else {
        await this.ctl("register", username, host, password);
      }
      this.lastAccountWrite = Date.now();
    } catch (err) {
      const e = err as { stdout?: string; stderr?: string; message: string };
      throw new Error(`registering ${username}@${host} on ejabberd failed: ${e.stdout ?? ""}${e.stderr ?? ""}${e.message}`);
    }
  }

  /** Starts ejabberd in the foreground and waits until its c2s, component and http ports accept connections. */
  async launch(timeoutMs = 30_000): Promise<void> {
    if (this.process) throw new Error("ejabberd is already running");
    const logStart = await this.logSize();
    // detached: its own process group, so a stop reaches the Erlang VM below ejabberdctl's shell.
    const child = spawn(EJABBERDCTL_BIN, [...this.ctlArgs(), "foreground"], { ...asEjabberd(this.dir), detached: true, stdio: ["ignore", "pipe", "pipe"] });
    this.process = child;
    if (child.pid !== undefined) track(child.pid);
    let output = "";
    child.stdout?.on("data", (d: Buffer) => (output = (output + d.toString()).slice(-20_000)));
    child.stderr?.on("data", (d: Buffer) => (output = (output + d.toString()).slice(-20_000)));
    let exitCode: number | null | undefined;
    this.exited = new Promise((resolve) =>
      child.once("exit", (code) => {
        exitCode = code;
        if (this.process === child) this.process = undefined;
        resolve();
      }),
    );
    const deadline = Date.now() + timeoutMs;
    // ejabberd opens its listeners before its modules start (and may still abort): ready is the log line
    // "ejabberd 23.01 is started in the node …" of this launch, and the ports.
    while (Date.now() < deadline) {
      if (exitCode !== undefined) throw new Error(`ejabberd exited (code ${exitCode}) before listening:\n${output}\n${await this.logTail()}`);
      const ready = (await this.logSince(logStart)).includes(" is started in the node") && (await this.listening());
      if (ready) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    await this.kill();
    throw new Error(`ejabberd did not listen on ports ${this.c2sPort}/${this.componentPort} within ${timeoutMs} ms:\n${output}\n${await this.logTail()}`);
  }

  /**
   * Waits until the node's c2s, component and HTTP ports accept connections: after something restarted its
   * ejabberd application inside the running VM (`join_cluster` does).
   */
  async waitListening(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.process) throw new Error(`ejabberd ${this.node} is not running:\n${await this.logTail()}`);
      if ((await this.listening())) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`ejabberd ${this.node} did not listen on ports ${this.c2sPort}/${this.componentPort}/${this.httpPort} within ${timeoutMs} ms:\n${await this.logTail()}`);
  }

  private async listening(): Promise<boolean> {
    return (!this.hasC2s || (await isListening(this.c2sPort))) && (!this.hasComponents || (await isListening(this.componentPort))) && (!this.hasWeb || (await isListening(this.httpPort)));
  }

  private signal(child: ChildProcess, signal: NodeJS.Signals): void {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, signal);
    } catch {
      // already gone
    }
  }

  /** Graceful stop (SIGTERM: the Erlang VM runs init:stop), then SIGKILL if it lingers. */
  async stopProcess(timeoutMs = 10_000): Promise<void> {
    const child = this.process;
    if (!child) return;
    this.signal(child, "SIGTERM");
    const timer = setTimeout(() => this.signal(child, "SIGKILL"), timeoutMs);
    await this.exited;
    // The shell exits before the VM: wait until the whole process group is gone.
    await this.groupGone(child);
    clearTimeout(timer);
  }

  /**
   * Kills the server at once (a crash, for fault tests). Mnesia's log reaches the disk up to 2 s after a write
   * (Erlang's delayed_write), so a kill right after `register` waits for that first: the crash under test is the
   * server's, not the loss of the accounts the test just made.
   */
  async kill(): Promise<void> {
    const child = this.process;
    if (!child) return;
    const durableAt = this.lastAccountWrite + 2_500;
    if (Date.now() < durableAt) await new Promise((r) => setTimeout(r, durableAt - Date.now()));
    this.signal(child, "SIGKILL");
    await this.exited;
    await this.groupGone(child);
  }

  private async groupGone(child: ChildProcess, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const alive = () => {
      try {
        process.kill(-(child.pid as number), 0);
        return true;
      } catch {
        return false;
      }
    };
    while (alive()) {
      if (Date.now() > deadline) throw new Error(`ejabberd (process group ${child.pid}) did not exit within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 20));
    }
    liveGroups.delete(child.pid as number);
  }

  /** Stops the server and removes the folder if it made it. */
  async stop(): Promise<void> {
    await this.stopProcess();
    if (this.ownsDir) {
      await rm(this.dir, { recursive: true, force: true });
      ownedDirs.delete(this.dir);
    }
  }

  private async logSize(): Promise<number> {
    try {
      return (await stat(this.logPath)).size;
    } catch {
      return 0;
    }
  }

  private async logSince(offset: number): Promise<string> {
    try {
      return (await readFile(this.logPath)).subarray(offset).toString("utf8");
    } catch {
      return "";
    }
  }

  async logTail(lines = 40): Promise<string> {
    try {
      return (await readFile(this.logPath, "utf8")).split("\n").slice(-lines).join("\n");
    } catch {
      return "(no log)";
    }
  }
}

/** The Erlang options land in a shell-sourced file and on the VM's command line: only plain words pass. */
function checkErlangOptions(o: EjabberdErlangOptions | undefined): void {
  if (!o) return;
  const word = /^[A-Za-z0-9_-]+$/;
  if (o.cookie !== undefined && !word.test(o.cookie)) throw new Error(`ManagedEjabberd: erlang.cookie must be letters, digits, _ or - (it goes on a shell command line), got ${JSON.stringify(o.cookie)}`);
  if (o.node !== undefined && !/^[A-Za-z0-9_-]+@[A-Za-z0-9_-]+$/.test(o.node)) throw new Error(`ManagedEjabberd: erlang.node must be name@host (a short name: letters, digits, _ or -), got ${JSON.stringify(o.node)}`);
  const ipv4 = /^\d{1,3}(\.\d{1,3}){3}$/;
  if (o.interface !== undefined && !ipv4.test(o.interface)) throw new Error(`ManagedEjabberd: erlang.interface must be an IPv4 address, got ${JSON.stringify(o.interface)}`);
  for (const [name, ip] of Object.entries(o.hosts ?? {})) {
    if (!word.test(name) || !ipv4.test(ip)) throw new Error(`ManagedEjabberd: erlang.hosts entry ${JSON.stringify(name)}: ${JSON.stringify(ip)} must map a plain host name to an IPv4 address`);
  }
}

/**
 * Process groups of running instances. ejabberd runs in its own group (so a stop reaches the Erlang VM), which
 * also means it would outlive a test process that ends without stopping it: the exit hook kills what is left.
 */
const liveGroups = new Set<number>();
/** Instance folders this process made; removed at exit if a test left them behind. */
const ownedDirs = new Set<string>();
let exitHookInstalled = false;
function track(pid: number): void {
  liveGroups.add(pid);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once("exit", () => {
    for (const group of liveGroups) {
      try {
        process.kill(-group, "SIGKILL");
      } catch {
        // already gone
      }
    }
    for (const dir of ownedDirs) rmSync(dir, { recursive: true, force: true });
  });
}

/** spawn options that run ejabberdctl as the ejabberd user (when we are root), with HOME in the instance folder. */
function asEjabberd(dir: string): { uid?: number; gid?: number; env: NodeJS.ProcessEnv; cwd: string } {
  const env = { ...process.env, HOME: dir };
  if (process.getuid?.() !== 0) return { env, cwd: dir };
  const ids = ejabberdIds();
  return { uid: ids.uid, gid: ids.gid, env, cwd: dir };
}

let cachedIds: { uid: number; gid: number } | undefined;
function ejabberdIds(): { uid: number; gid: number } {
  if (cachedIds) return cachedIds;
  // /etc/passwd: name:x:uid:gid:...
  const line = readFileSync("/etc/passwd", "utf8").split("\n").find((l) => l.startsWith(`${EJABBERD_USER}:`));
  if (!line) throw new Error(`no system user "${EJABBERD_USER}": is the Debian package ejabberd installed?`);
  const [, , uid, gid] = line.split(":");
  cachedIds = { uid: Number(uid), gid: Number(gid) };
  return cachedIds;
}

/** The instance folder belongs to the ejabberd user, which ejabberdctl switches to. */
async function giveToEjabberd(dir: string): Promise<void> {
  if (process.getuid?.() !== 0) return;
  const { uid, gid } = ejabberdIds();
  const own = async (path: string): Promise<void> => {
    await chown(path, uid, gid);
    if ((await stat(path)).isDirectory()) for (const name of await readdir(path)) await own(join(path, name));
  };
  await own(dir);
}

const q = (s: string) => JSON.stringify(s); // a JSON string is a valid YAML double-quoted scalar

function renderConfig(o: EjabberdOptions & { host: string; c2s: number; component: number; http: number }): string {
  const components = o.components ?? [];
  const hosts = [o.host, ...(o.web?.anonymousHost ? [o.web.anonymousHost] : [])];
  const publishers = o.pubsub?.publishers ?? [];
  const listeners = [
    `  - port: ${o.c2s}
    ip: "127.0.0.1"
    module: ejabberd_c2s
    # Loopback tests: no TLS, no shaper (the 200 KB echo test would crawl at the default 3000 B/s).
    starttls: false
    max_stanza_size: 1048576
    access: c2s`,
  ];
  if (components.length > 0) {
    listeners.push(`  - port: ${o.component}
    ip: "127.0.0.1"
    module: ejabberd_service
    max_stanza_size: 1048576
    global_routes: ${o.globalRoutes === true}${o.componentTls ? `\n    tls: true\n    certfile: ${q(o.componentTls.certfile)}` : ""}
    hosts:
${components.map((c) => `      ${q(c.domain)}:\n        password: ${q(c.secret)}`).join("\n")}`);
  }
  // Always an HTTP listener on loopback: /api (mod_http_api) creates the test accounts in one request each,
  // where `ejabberdctl register` boots an Erlang VM per account.
  listeners.push(`  - port: ${o.http}
    ip: "127.0.0.1"
    module: ejabberd_http
    request_handlers:
      /api: mod_http_api${o.web ? `\n      /xmpp-websocket: ejabberd_http_ws` : ""}${o.web?.filesDir ? `\n      /: mod_http_fileserver` : ""}`);
  const pubsub = o.pubsub
    ? `  mod_caps: {}
  mod_pubsub:
    host: ${q(o.pubsub.service)}
    access_createnode: pubsub_createnode
    ignore_pep_from_offline: false
    last_item_cache: false
    max_items_node: 1000
    plugins:
      - flat
      - pep
`
    : "";
  const muc = o.muc ? `  mod_muc:\n    host: ${q(o.muc.service)}\n    access_create: muc_create\n` : "";
  const hostModules = pubsub + muc;
  const disco = o.discoExtraDomains?.length ? `  mod_disco:\n    extra_domains:\n${o.discoExtraDomains.map((d) => `      - ${q(d)}`).join("\n")}\n` : "  mod_disco: {}\n";
  const common = `${disco}
  mod_http_api: {}
  mod_ping: {}
  mod_version: {}
  mod_time: {}
  mod_roster: {}
  mod_stream_mgmt: {}
${o.web?.filesDir ? `  mod_http_fileserver:\n    docroot: ${q(o.web.filesDir)}\n    directory_indices:\n      - index.html\n` : ""}`;
  return `# Generated by Annex's ManagedEjabberd; removed when it stops.
loglevel: ${o.logLevel ?? "info"}
log_rotate_count: 0
hide_sensitive_log_data: true
hosts:
${hosts.map((h) => `  - ${q(h)}`).join("\n")}
auth_method: internal
auth_password_format: plain
# Loopback only, for tests: no certificates, so no TLS anywhere (except a component listener asked for with componentTls).
${o.componentTls ? `certfiles:\n  - ${q(o.componentTls.certfile)}\n${o.componentTls.caFile ? `ca_file: ${q(o.componentTls.caFile)}\n` : ""}` : ""}listen:
${listeners.join("\n")}
acl:
  local:
    user_regexp: ""
  loopback:
    ip:
      - 127.0.0.0/8
  admin:
    user:
${(o.admins ?? []).length ? (o.admins ?? []).map((a) => `      - ${q(a)}`).join("\n") : '      - "nobody-is-admin"'}
${publishers.length ? `  annex_components:\n    server:\n${publishers.map((p) => `      - ${q(p)}`).join("\n")}\n` : ""}# No server-to-server traffic: a private test server talks to nobody else.
s2s_access: s2s
access_rules:
  s2s:
    deny: all
  local:
    allow: local
  c2s:
    allow: all
  configure:
    allow: admin
  muc_create:
    allow: local
  pubsub_createnode:
    - allow: local${publishers.length ? "\n    - allow: annex_components" : ""}
shaper_rules:
  max_user_sessions: 10
# Replacing api_permissions replaces its defaults: ejabberdctl keeps every command; /api may only register, from loopback.
api_permissions:
  "console commands":
    from:
      - ejabberd_ctl
    who: all
    what: "*"
  "loopback register":
    from:
      - mod_http_api
    who:
      ip: 127.0.0.0/8
    what:
      - register
modules:
${common}${hostModules}${o.web?.anonymousHost ? `# A host's own modules replace the global ones: the anonymous host gets the common ones only
# (pubsub and MUC have fixed JIDs and belong to the main host).
host_config:
  ${q(o.web.anonymousHost)}:
    auth_method: anonymous
    anonymous_protocol: both
    modules:
${common.replace(/^/gm, "    ").trimEnd()}
` : ""}`;
}
