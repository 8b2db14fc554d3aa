import { type Element, xml } from "annex";

/** mulberry32: a small seeded PRNG, so a failing fuzz run replays exactly from its seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const NAMESPACES = [
  "http://jabber.org/protocol/disco#info",
  "http://jabber.org/protocol/disco#items",
  "http://jabber.org/protocol/pubsub",
  "http://jabber.org/protocol/pubsub#owner",
  "http://jabber.org/protocol/commands",
  "http://jabber.org/protocol/rsm",
  "jabber:iq:version",
  "urn:xmpp:ping",
  "urn:xmpp:time",
  "xmpp:game:pong",
  "jabber:x:data",
  "urn:xmpp:json:0",
  "urn:example:nobody",
  "",
];

const NAMES = ["query", "pubsub", "command", "ping", "time", "pong", "items", "item", "publish", "subscribe", "set", "x", "field", "value", "action", "body", "thread", "retract", "purge", "options", "max", "before", "after", "index", "foo"];
const ACTIONS = ["playercheckingin", "PaddlePosition", "paddleposition", "input", "spectate", "leave", "top", "join", "", "💥"];
const JIDS = ["user@localhost/test", "other@localhost/x", "user@localhost", "localhost", "evil.example", "a@b@c", "@localhost", "user@localhost/", "", "x".repeat(2000) + "@localhost"];
const TEXTS = ["", "0", "-1", "1e309", "NaN", "Infinity", "400", "999999999999", "abc", " ", "\u0000", "<&>", "ｎｕｍｂｅｒ", "12.5", "list", "info localhost", "help", "top", "items pubsub.localhost"];

/** A generator of valid-but-hostile stanzas: every shape a server could route to a component. */
export class HostileStanzas {
  private readonly r: () => number;
  constructor(seed: number, private readonly domain: string) {
    this.r = prng(seed);
  }

  private pick<T>(list: readonly T[]): T {
    return list[Math.floor(this.r() * list.length)] as T;
  }

  private chance(p: number): boolean {
    return this.r() < p;
  }

  private text(): string {
    if (this.chance(0.02)) return "y".repeat(50_000 + Math.floor(this.r() * 50_000)); // huge
    return this.pick(TEXTS);
  }

  private attrs(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const key of ["node", "jid", "id", "max_items", "subid", "var", "type", "action", "sessionid", "index", "name"]) {
      if (this.chance(0.25)) out[key] = this.text();
    }
    return out;
  }

  private payload(depth: number): Element {
    const ns = this.pick(NAMESPACES);
    const el = xml(this.pick(NAMES), { ...(ns ? { xmlns: ns } : {}), ...this.attrs() });
    if (depth > 0 && this.chance(0.02)) {
      // Deeply nested: 200 levels.
      let cursor = el;
      for (let i = 0; i < 200; i++) cursor = cursor.cnode(xml("n", {}));
      return el;
    }
    const children = depth > 3 ? 0 : Math.floor(this.r() * 4);
    for (let i = 0; i < children; i++) el.cnode(this.chance(0.2) ? this.pongAction() : this.payload(depth + 1));
    if (this.chance(0.3)) el.t(this.text());
    return el;
  }

  private pongAction(): Element {
    return xml(
      "pong",
      { xmlns: "xmpp:game:pong" },
      xml("action", {}, this.pick(ACTIONS)),
      this.chance(0.7) ? xml("y", {}, this.text()) : null,
      this.chance(0.3) ? xml("seq", {}, this.text()) : null,
    );
  }

  private to(): string {
    return this.chance(0.8) ? this.domain : `${this.pick(["room1", "stock-data", "x"])}@${this.domain}`;
  }

  next(): Element {
    const from = this.pick(JIDS.slice(0, 5));
    const kind = this.r();
    if (kind < 0.5) {
      const type = this.pick(["get", "set", "get", "set", "result", "error", "bogus"]);
      const iq = xml("iq", { type, id: `fz${Math.floor(this.r() * 1e9)}`, from, to: this.to() });
      const n = this.chance(0.85) ? 1 : this.pick([0, 2, 3]);
      for (let i = 0; i < n; i++) iq.cnode(this.payload(0));
      return iq;
    }
    if (kind < 0.85) {
      const msg = xml("message", { type: this.chance(0.9) ? this.pick(["chat", "normal", "headline", "groupchat", "error"]) : undefined, id: `m${Math.floor(this.r() * 1e9)}`, from, to: this.to() });
      if (this.chance(0.6)) msg.cnode(xml("body", {}, this.text()));
      if (this.chance(0.4)) msg.cnode(this.pongAction());
      if (this.chance(0.2)) msg.cnode(this.payload(0));
      return msg;
    }
    const presence = xml("presence", { type: this.chance(0.6) ? this.pick(["subscribe", "subscribed", "unsubscribe", "unsubscribed", "probe", "unavailable", "error", "bogus"]) : undefined, from, to: this.to() });
    if (this.chance(0.3)) presence.cnode(this.payload(0));
    return presence;
  }
}
