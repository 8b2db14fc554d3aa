import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { StringDecoder } from "node:string_decoder";
import { client, type XmppClient } from "@xmpp/client";
import type { Element } from "annex";
import { describe } from "node:test";
import { type ManagedServer, ManagedProsody, type ProsodyComponent, type ServerKind, testServerKinds } from "annex/testing";

export const ANNEX_BIN = new URL("../../bin/annex.js", import.meta.url).pathname;

/** A user's connection over c2s with every stanza it receives kept for assertions. */
export class TestClient {
  readonly received: Element[] = [];
  private waiters: { match: (el: Element) => boolean; resolve: (el: Element) => void }[] = [];

  private constructor(readonly xmpp: XmppClient) {
    xmpp.on("stanza", (el: Element) => {
      this.received.push(el);
      const w = this.waiters.find((x) => x.match(el));
      if (w) {
        this.waiters = this.waiters.filter((x) => x !== w);
        w.resolve(el);
      }
    });
    xmpp.on("error", () => undefined);
  }

  static async connect(prosody: Pick<ManagedServer, "c2sPort" | "host">, username: string, password: string, resource = "test"): Promise<TestClient> {
    const xmpp = client({ service: `xmpp://127.0.0.1:${prosody.c2sPort}`, domain: prosody.host, username, password, resource });
    xmpp.reconnect.stop();
    decodeAsStream(xmpp);
    const c = new TestClient(xmpp);
    await xmpp.start();
    return c;
  }

  get jid(): string {
    return String(this.xmpp.jid);
  }

  send(el: Element): Promise<void> {
    return this.xmpp.send(el);
  }

  /** Resolves with the first stanza (already received or arriving) that matches. */
  waitFor(match: (el: Element) => boolean, timeoutMs = 5000, what = "stanza"): Promise<Element> {
    const seen = this.received.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((x) => x.resolve !== done);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const done = (el: Element) => {
        clearTimeout(timer);
        resolve(el);
      };
      this.waiters.push({ match, resolve: done });
    });
  }

  /** Stanzas received so far that match. */
  all(match: (el: Element) => boolean): Element[] {
    return this.received.filter(match);
  }

  async stop(): Promise<void> {
    await this.xmpp.stop().catch(() => undefined);
  }
}

/**
 * @xmpp/client 0.13 decodes each TCP chunk on its own, so a character split between reads arrives
 * damaged (the defect Annex fixes for components). The test client gets the same fix, so that
 * what the tests check is the component's output, not the test client's bug.
 */
function decodeAsStream(xmpp: XmppClient): void {
  const conn = xmpp as unknown as { _onData(data: Buffer): void; parser: { write(s: string): void } | null; emit(e: string, s: string): void; connect(s: string): Promise<void> };
  let decoder = new StringDecoder("utf8");
  let pending: string[] = [];
  const connect = conn.connect.bind(conn);
  conn.connect = (service: string) => {
    decoder = new StringDecoder("utf8");
    pending = [];
    return connect(service);
  };
  conn._onData = (data: Buffer) => {
    const text = decoder.write(data);
    if (!text) return;
    conn.emit("input", text);
    // As in Annex's link: text without markup waits, so ltx is not quadratic on a long body.
    if (text.indexOf("<") === -1 && text.indexOf(">") === -1) {
      pending.push(text);
      return;
    }
    conn.parser?.write(pending.join("") + text);
    pending = [];
  };
}

export const byId = (id: string) => (el: Element) => el.attrs.id === id;

/** `annex run --config` in a child process, as an admin would run it. */
export class AnnexProcess {
  output = "";
  readonly exited: Promise<number | null>;

  private constructor(readonly child: ChildProcess) {
    child.stdout?.on("data", (d: Buffer) => (this.output += d.toString()));
    child.stderr?.on("data", (d: Buffer) => (this.output += d.toString()));
    this.exited = new Promise((resolve) => child.once("exit", (code) => resolve(code)));
  }

  static async start(config: unknown, options: { waitOnline?: boolean; files?: Record<string, string>; env?: NodeJS.ProcessEnv; args?: string[]; command?: string[] } = {}): Promise<AnnexProcess> {
    const dir = await mkdtemp(join(tmpdir(), "annex-run-"));
    for (const [name, content] of Object.entries(options.files ?? {})) await writeFile(join(dir, name), content);
    const configPath = join(dir, "annex.config.json");
    await writeFile(configPath, JSON.stringify(config, null, 2));
    const command = options.command ?? ["run"];
    const child = spawn(process.execPath, [ANNEX_BIN, ...command, "--config", configPath, ...(options.args ?? [])], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...options.env } });
    const p = new AnnexProcess(child);
    if (options.waitOnline !== false) {
      try {
        await p.waitForOutput(/all components online/, 10_000);
      } catch (err) {
        // Never leave a process behind: a test that cannot start must not hang the run.
        p.child.kill("SIGKILL");
        throw err;
      }
    }
    return p;
  }

  async waitForOutput(pattern: RegExp, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pattern.test(this.output)) {
      if (Date.now() > deadline) throw new Error(`annex did not print ${pattern} within ${timeoutMs} ms; output:\n${this.output}`);
      if (this.child.exitCode !== null) throw new Error(`annex exited (${this.child.exitCode}) before printing ${pattern}; output:\n${this.output}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /** SIGTERM, and the exit code. */
  async stop(): Promise<number | null> {
    if (this.child.exitCode === null) this.child.kill("SIGTERM");
    return this.exited;
  }
}

export async function startProsody(components: ProsodyComponent[], users: { username: string; password: string }[]): Promise<ManagedProsody> {
  return ManagedProsody.start({ components, users });
}

/** The servers this run covers (both unless ANNEX_TEST_SERVER names one). */
export const SERVERS: ServerKind[] = testServerKinds();

/**
 * One describe block per server, named "[prosody] …" / "[ejabberd] …", so the output counts per server.
 * Each block starts its own server in its before hook: one server per file and kind, not per test.
 */
export function describeEachServer(title: string, body: (kind: ServerKind) => void): void {
  for (const kind of SERVERS) describe(`[${kind}] ${title}`, () => body(kind));
}

/** The server's log once it matches `pattern` (ejabberd writes its log asynchronously), or the last tail after timeoutMs. */
export async function logWhen(server: Pick<ManagedServer, "logTail">, pattern: RegExp, timeoutMs = 3_000, lines = 500): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let log = await server.logTail(lines);
  while (!pattern.test(log) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    log = await server.logTail(lines);
  }
  return log;
}
