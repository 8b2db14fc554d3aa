import { client, type Jid, type XmlElement, type XmppClient, xml } from "@xmpp/client";

// One XMPP session for a page, shared by the pong and feed pages (components/*/web/main.ts).
// Conventions from converse.js (research/origins.md): the WebSocket endpoint is on the page's own origin,
// visitors log in anonymously, and a page never contains a password (an account's password is typed in
// by its owner and kept in memory only, for reconnects).

export const NS_DISCO_INFO = "http://jabber.org/protocol/disco#info";
export const NS_DISCO_ITEMS = "http://jabber.org/protocol/disco#items";

export interface Settings {
  /** ws:// or wss:// URL of the server's XMPP-over-WebSocket endpoint (RFC 7395). */
  websocket: string;
  /** The server's main domain, where disco starts (and where accounts live). */
  domain: string;
  /** The anonymous VirtualHost visitors log in to. */
  anonymousHost: string;
}

/** Same origin by default (no CORS); `?ws=`, `?domain=`, `?anon=` override. */
export function settingsFrom(location: Location, params: URLSearchParams): Settings {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const domain = params.get("domain") ?? "localhost";
  return {
    websocket: params.get("ws") ?? `${scheme}//${location.host}/xmpp-websocket`,
    domain,
    anonymousHost: params.get("anon") ?? `anon.${domain}`,
  };
}

export interface Account {
  jid: string;
  password: string;
}

export interface SessionEvents {
  /** Every time the session is (again) online; `resumed` = same JID as before the drop. */
  online(jid: Jid, info: { first: boolean; sameAccount: boolean }): void | Promise<void>;
  status(text: string, kind: "ok" | "busy" | "error"): void;
  stanza(el: XmlElement): void;
}

/**
 * Connects, reconnects after a drop (xmpp.js's reconnect, plus a watchdog for when a reconnect attempt
 * itself fails, e.g. while the server is down), and reports what is happening in words for the status line.
 */
export class Session {
  readonly xmpp: XmppClient;
  private lastBare: string | undefined;
  private everOnline = false;
  private watchdog: ReturnType<typeof setInterval> | undefined;

  constructor(readonly settings: Settings, private readonly events: SessionEvents, account?: Account) {
    const [local, domain] = account ? splitJid(account.jid) : [undefined, settings.anonymousHost];
    this.xmpp = client({ service: settings.websocket, domain, username: local, password: account?.password, resource: `web-${Math.random().toString(36).slice(2, 8)}` });
    this.xmpp.reconnect.delay = 1000;
    this.xmpp.on("error", (err) => events.status(`Connection problem: ${err.message || String(err)}`, "error"));
    this.xmpp.on("stanza", (el) => events.stanza(el));
    this.xmpp.on("status", (status) => {
      if (status === "connecting" || status === "opening") events.status(this.everOnline ? "Reconnecting…" : "Connecting…", "busy");
      if (status === "disconnect") events.status("Connection lost; reconnecting…", "busy");
    });
    this.xmpp.on("online", (jid) => {
      const bare = jid.bare().toString();
      const info = { first: !this.everOnline, sameAccount: bare === this.lastBare };
      this.everOnline = true;
      this.lastBare = bare;
      events.status(`Connected as ${jid.toString()}`, "ok");
      Promise.resolve(events.online(jid, info)).catch((err: unknown) => events.status(`Setting up the session failed: ${errorText(err)}`, "error"));
    });
  }

  async start(): Promise<void> {
    // A failed reconnect attempt does not schedule another one in xmpp.js 0.13; keep trying every 3 s.
    this.watchdog = setInterval(() => {
      if (this.xmpp.status === "disconnect") this.xmpp.reconnect.scheduleReconnect();
    }, 3000);
    try {
      await this.xmpp.start();
    } catch (err) {
      this.events.status(`Could not connect to ${this.settings.websocket}: ${(err as Error).message || String(err)}`, "error");
      throw err;
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.watchdog);
    await this.xmpp.stop().catch(() => undefined);
  }

  /** Drops the WebSocket as a network failure would (for trying the reconnect by hand and in tests). */
  dropConnection(): void {
    this.xmpp.socket?.socket?.close();
  }

  get jid(): string {
    return this.xmpp.jid?.toString() ?? "";
  }

  /**
   * Sends on an open WebSocket only. Between the socket starting to close (a network drop, dropConnection) and
   * xmpp.js noticing, its status still says online, and a send then makes the browser log "WebSocket is already
   * in CLOSING or CLOSED state": such a stanza is rejected here instead (the pages' inputs and presence are
   * fire-and-forget, and resent state after the reconnect).
   */
  send(el: XmlElement): Promise<void> {
    const ws = this.xmpp.socket?.socket;
    if (ws && ws.readyState !== WebSocket.OPEN) return Promise.reject(new Error("the WebSocket is closing"));
    return this.xmpp.send(el);
  }

  request(el: XmlElement, timeoutMs = 10_000): Promise<XmlElement> {
    return this.xmpp.iqCaller.request(el, timeoutMs);
  }

  /** XEP-0030 §4: the items of an entity (optionally one node). */
  async discoItems(to: string, node?: string): Promise<{ jid: string; node?: string; name?: string }[]> {
    const res = await this.request(xml("iq", { type: "get", to }, xml("query", { xmlns: NS_DISCO_ITEMS, node })));
    return (res.getChild("query", NS_DISCO_ITEMS)?.getChildren("item") ?? []).map((i) => ({ jid: i.attrs.jid ?? "", node: i.attrs.node, name: i.attrs.name }));
  }

  /** XEP-0030 §3: identities and features of an entity. */
  async discoInfo(to: string, node?: string): Promise<{ identities: { category?: string; type?: string; name?: string }[]; features: string[] }> {
    const res = await this.request(xml("iq", { type: "get", to }, xml("query", { xmlns: NS_DISCO_INFO, node })));
    const q = res.getChild("query", NS_DISCO_INFO);
    return {
      identities: (q?.getChildren("identity") ?? []).map((i) => ({ category: i.attrs.category, type: i.attrs.type, name: i.attrs.name })),
      features: (q?.getChildren("feature") ?? []).map((f) => f.attrs.var ?? ""),
    };
  }

  /**
   * A service of the server that advertises `feature` (XEP-0030 §4 items, then §3 info of each): `preferred`
   * if it is one of them, else the first; `preferred` also when none is found (or the server lists nothing).
   */
  async findService(feature: string, preferred: string): Promise<string> {
    const found: string[] = [];
    try {
      const items = (await this.discoItems(this.settings.domain)).filter((i) => i.jid && !i.node);
      const infos = await Promise.all(items.map((i) => this.discoInfo(i.jid).catch(() => undefined)));
      items.forEach((item, n) => infos[n]?.features.includes(feature) && found.push(item.jid));
    } catch {
      // The server does not list its components: use the conventional name.
    }
    return found.includes(preferred) ? preferred : found[0] ?? preferred;
  }
}

function splitJid(jid: string): [string, string] {
  const at = jid.indexOf("@");
  if (at <= 0) throw new Error(`"${jid}" is not an account address such as alice@localhost`);
  return [jid.slice(0, at), jid.slice(at + 1).split("/")[0]!];
}

/** The text of a stanza error, for the status line (RFC 6120 §8.3). */
export function errorText(err: unknown): string {
  const el = err as { name?: string; condition?: string; text?: string; message?: string; element?: XmlElement };
  if (el && typeof el === "object" && "condition" in el && el.condition) return el.text ? `${el.condition}: ${el.text}` : el.condition;
  return el?.message ?? String(err);
}
