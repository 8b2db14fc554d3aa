import { client, xml, type XmppClient } from "@xmpp/client";
import type { Element } from "annex";
import { COMPACT, JSON_NS, pongInput, PUBSUB, PUBSUB_EVENT } from "../support.js";

/**
 * One simulated user of the load test: a c2s connection that plays pong (compact protocol) and
 * subscribes to a feed node, and keeps counters only (no stanza history: 200 of these run in one process).
 */
export class LoadClient {
  snapshots = 0;
  notifications = 0;
  inputs = 0;
  started: Element | undefined;
  readonly errors: string[] = [];
  disconnects = 0;
  private seq = 0;
  private readonly pending = new Map<string, (el: Element) => void>();
  private static ids = 0;

  private constructor(
    readonly xmpp: XmppClient,
    private readonly pong: string,
    /** Called with each notification's JSON payload; the test measures latency from it. */
    private readonly onItem: (payload: { n: number; sent: number }) => void,
  ) {
    xmpp.on("stanza", (el: Element) => this.handle(el));
    xmpp.on("error", (err: Error) => this.errors.push(`client error: ${err.message}`));
    xmpp.on("disconnect", () => this.disconnects++);
  }

  static async connect(o: { port: number; domain: string; username: string; password: string; pong: string; onItem: LoadClient["onItem"] }): Promise<LoadClient> {
    const xmpp = client({ service: `xmpp://127.0.0.1:${o.port}`, domain: o.domain, username: o.username, password: o.password, resource: "load" });
    xmpp.reconnect.stop();
    const c = new LoadClient(xmpp, o.pong, o.onItem);
    await xmpp.start();
    c.disconnects = 0;
    return c;
  }

  send(el: Element): Promise<void> {
    return this.xmpp.send(el);
  }

  /** An IQ and its answer (result or error), matched by id. */
  request(iq: Element, timeoutMs = 10_000): Promise<Element> {
    const id = `lc-${++LoadClient.ids}`;
    iq.attrs.id = id;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`no answer to ${iq.toString().slice(0, 200)} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, (el) => {
        clearTimeout(timer);
        resolve(el);
      });
      this.send(iq).catch(reject);
    });
  }

  subscribe(feed: string, node: string): Promise<Element> {
    return this.request(xml("iq", { to: feed, type: "set" }, xml("pubsub", { xmlns: PUBSUB }, xml("subscribe", { node, jid: String(this.xmpp.jid) }))));
  }

  async stop(): Promise<void> {
    await this.xmpp.stop().catch(() => undefined);
  }

  private handle(el: Element): void {
    const answer = el.name === "iq" ? this.pending.get(el.attrs.id as string) : undefined;
    if (answer) {
      this.pending.delete(el.attrs.id as string);
      if (el.attrs.type === "error") this.errors.push(el.toString().slice(0, 400));
      return answer(el);
    }
    if (el.attrs.type === "error") {
      this.errors.push(el.toString().slice(0, 400));
      return;
    }
    if (el.name !== "message") return;
    const snapshot = el.getChild("s", COMPACT);
    if (snapshot) return this.onSnapshot(snapshot);
    const start = el.getChild("start", COMPACT);
    if (start) {
      this.started = start;
      return;
    }
    for (const item of el.getChild("event", PUBSUB_EVENT)?.getChild("items")?.getChildren("item") ?? []) {
      const json = item.getChild("json", JSON_NS)?.text();
      if (json === undefined) continue;
      this.notifications++;
      this.onItem(JSON.parse(json) as { n: number; sent: number });
    }
  }

  /** Plays: every 5th snapshot, moves the paddle toward the ball (10 Hz snapshots → 2 inputs a second). */
  private onSnapshot(s: Element): void {
    this.snapshots++;
    if (this.snapshots % 5 !== 0) return;
    const ballY = Number(String(s.attrs.b).split(",")[1]);
    this.inputs++;
    this.send(pongInput(this.pong, ++this.seq, Math.min(500, Math.max(0, ballY - 50)))).catch((err: Error) => this.errors.push(`input not sent: ${err.message}`));
  }
}
