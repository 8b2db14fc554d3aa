import { execFile } from "node:child_process";
import { request } from "node:http";
import { xml } from "@xmpp/client";
import type { Element } from "annex";
import type { ManagedProsody } from "annex/testing";
import { byId, type TestClient } from "../integration/support.js";

// Shared helpers of the reliability suite (faults, kill, load, security). The lead's fuzz test has its own.

export const PUBSUB = "http://jabber.org/protocol/pubsub";
export const PUBSUB_EVENT = "http://jabber.org/protocol/pubsub#event";
export const RSM = "http://jabber.org/protocol/rsm";
export const JSON_NS = "urn:xmpp:json:0";
export const BOOK = "xmpp:game:pong";
export const COMPACT = "urn:annex:pong:1";
export const STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas";

/** Modules of ManagedProsody's generated config (src/testing/prosody.ts), repeated because Lua options are replaced, not merged. */
const BASE_MODULES = ["roster", "saslauth", "disco", "ping", "version", "time"];

/**
 * Extra global Prosody config for the suite:
 * - `admin_shell`, so `createAccounts` can make hundreds of accounts in one `prosodyctl shell` (one
 *   prosodyctl process per account costs ~65 ms of CPU each on this machine: 13 s for the load test);
 * - `limits` (mod_limits, Prosody 0.12) when `c2sRate` is given: the generated config loads no rate
 *   limit at all, so the load test turns it on with a generous per-connection budget, as a real server
 *   would have it. mod_limits throttles (stops reading) a connection over its budget; it drops nothing.
 * Setting `modules_enabled` again makes Prosody log "Duplicate option 'modules_enabled'" (a warning):
 * the second value wins, which is what we want.
 */
export function suiteGlobals(o: { c2sRate?: string; c2sBurst?: string } = {}): string {
  const modules = [...BASE_MODULES, "admin_shell", ...(o.c2sRate ? ["limits"] : [])];
  const lines = [`modules_enabled = { ${modules.map((m) => `"${m}"`).join("; ")} }`];
  if (o.c2sRate) lines.push(`limits = { c2s = { rate = "${o.c2sRate}"; burst = "${o.c2sBurst ?? "4s"}" } }`);
  return lines.join("\n");
}

/** Runs commands in Prosody's admin shell (`prosodyctl shell`; needs `suiteGlobals()` and a running server); its output. */
export function prosodyShell(prosody: ManagedProsody, script: string): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const child = execFile("/usr/bin/prosodyctl", ["--config", prosody.configPath, "shell"], { maxBuffer: 16 << 20 }, (err, stdout, stderr) =>
      err ? reject(new Error(`prosodyctl shell failed: ${err.message}\n${stderr}`)) : resolve(stdout));
    child.stdin?.end(script.endsWith("\n") ? script : `${script}\n`);
  });
}

/** Creates accounts through Prosody's admin shell, all in one prosodyctl process. */
export async function createAccounts(prosody: ManagedProsody, accounts: { username: string; password: string }[]): Promise<void> {
  const out = await prosodyShell(prosody, accounts.map((a) => `user:create(${JSON.stringify(`${a.username}@${prosody.host}`)}, ${JSON.stringify(a.password)})`).join("\n"));
  const created = out.match(/OK: User created/g)?.length ?? 0;
  if (created !== accounts.length) throw new Error(`created ${created} of ${accounts.length} accounts:\n${out.slice(-2000)}`);
}

/** An HTTP request on loopback; never throws for a status, only for a connection failure. */
export function http(port: number, method: string, path: string, o: { headers?: Record<string, string>; body?: string | Buffer; timeoutMs?: number } = {}): Promise<{ status: number; body: string; headers: Record<string, string | string[] | undefined> }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, method, path, headers: o.headers, timeout: o.timeoutMs ?? 5_000 }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error(`HTTP ${method} ${path} timed out`)));
    req.on("error", reject);
    req.end(o.body);
  });
}

/** /healthz status, or 0 when nothing answers. */
export async function healthz(metricsPort: number): Promise<number> {
  return http(metricsPort, "GET", "/healthz", { timeoutMs: 1_000 }).then((r) => r.status, () => 0);
}

/** Polls until `check` holds; returns the milliseconds it took. */
export async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs: number, everyMs = 10): Promise<number> {
  const started = performance.now();
  while (!(await check())) {
    if (performance.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
  return performance.now() - started;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Nearest-rank percentile (p in 0..100) of the values. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;
}

/** Awaits `promise` but gives up after `ms` (a client whose server was killed may never finish closing). */
export async function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), ms)));
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export const publishIq = (feed: string, node: string, id: string, payload: unknown, itemId?: string) =>
  xml("iq", { to: feed, type: "set", id }, xml("pubsub", { xmlns: PUBSUB }, xml("publish", { node }, xml("item", itemId ? { id: itemId } : {}, xml("json", { xmlns: JSON_NS }, JSON.stringify(payload))))));

/** The item id of a publish result, or undefined for an error. */
export function publishedId(reply: Element): string | undefined {
  if (reply.attrs.type !== "result") return undefined;
  return reply.getChild("pubsub", PUBSUB)?.getChild("publish")?.getChild("item")?.attrs.id as string | undefined;
}

/** The stanza error condition of an error reply. */
export function errorCondition(reply: Element): string | undefined {
  return reply.getChild("error")?.children.find((c): c is Element => typeof c !== "string" && c.attrs.xmlns === STANZAS && c.name !== "text")?.name;
}

let pageSeq = 0;
/** Every item id of `node`, oldest first, paged with RSM <after> (XEP-0059 §2.2). */
export async function allItemIds(client: TestClient, feed: string, node: string, pageSize = 500): Promise<string[]> {
  const ids: string[] = [];
  let afterId: string | undefined;
  for (;;) {
    const id = `page-${++pageSeq}`;
    const set = xml("set", { xmlns: RSM }, xml("max", {}, String(pageSize)), afterId ? xml("after", {}, afterId) : null);
    await client.send(xml("iq", { to: feed, type: "get", id }, xml("pubsub", { xmlns: PUBSUB }, xml("items", { node }), set)));
    const reply = await client.waitFor(byId(id), 10_000, `items page after ${afterId}`);
    if (reply.attrs.type !== "result") throw new Error(`items page failed: ${reply}`);
    const page = reply.getChild("pubsub", PUBSUB)!.getChild("items")!.getChildren("item").map((i) => i.attrs.id as string);
    if (page.length === 0) return ids;
    ids.push(...page);
    afterId = page.at(-1);
  }
}

/** The RSM count of a node's items (XEP-0059 §2.6: max 0 = count only). */
export async function itemCount(client: TestClient, feed: string, node: string): Promise<number> {
  const id = `count-${++pageSeq}`;
  await client.send(xml("iq", { to: feed, type: "get", id }, xml("pubsub", { xmlns: PUBSUB }, xml("items", { node }), xml("set", { xmlns: RSM }, xml("max", {}, "0")))));
  const reply = await client.waitFor(byId(id), 10_000, "the item count");
  const count = reply.getChild("pubsub", PUBSUB)?.getChild("set", RSM)?.getChildText("count");
  if (reply.attrs.type !== "result" || count === undefined || count === null) throw new Error(`no count: ${reply}`);
  return Number(count);
}

/** Keeps the cleanup steps of a test and runs every one of them, last first, whatever fails. */
export class Cleanup {
  private steps: (() => Promise<unknown> | unknown)[] = [];
  add(step: () => Promise<unknown> | unknown): void {
    this.steps.push(step);
  }
  async run(): Promise<void> {
    const steps = this.steps.reverse();
    this.steps = [];
    for (const step of steps) await Promise.resolve().then(step).catch((err: unknown) => console.error("cleanup step failed:", err));
  }
}

// --- pong, compact protocol (components/pong/PROTOCOL.md) ---

export const pongJoin = (pong: string) => xml("message", { to: pong, type: "headline" }, xml("join", { xmlns: COMPACT }), xml("no-store", { xmlns: "urn:xmpp:hints" }));
export const pongInput = (pong: string, seq: number, y: number) => xml("message", { to: pong, type: "headline" }, xml("in", { xmlns: COMPACT, seq: String(seq), y: String(Math.round(y)) }));

/** The compact element `name` of a message, if it carries one. */
export function compactEl(el: Element, name: string): Element | undefined {
  return el.name === "message" && el.attrs.type !== "error" ? el.getChild(name, COMPACT) : undefined;
}

export interface Snapshot {
  room: string;
  tick: number;
  ack: number | undefined;
  ball: number[];
  paddles: string;
  score: number[];
  phase: string;
}

/** `<s r t a b p sc ph/>` parsed, or undefined for any other stanza. */
export function snapshotOf(el: Element): Snapshot | undefined {
  const s = compactEl(el, "s");
  if (!s) return undefined;
  return {
    room: s.attrs.r as string,
    tick: Number(s.attrs.t),
    ack: s.attrs.a === undefined ? undefined : Number(s.attrs.a),
    ball: String(s.attrs.b).split(",").map(Number),
    paddles: s.attrs.p as string,
    score: String(s.attrs.sc).split(",").map(Number),
    phase: s.attrs.ph as string,
  };
}

/** A compact event `<ev k=…/>` of kind `k`, if `el` is one. */
export function eventOf(el: Element, k?: string): Element | undefined {
  const ev = compactEl(el, "ev");
  return ev && (k === undefined || ev.attrs.k === k) ? ev : undefined;
}
