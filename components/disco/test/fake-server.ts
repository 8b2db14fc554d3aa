import { type Element, type ErrorCondition, NS, parseXml } from "annex";
import type { Harness } from "annex/testing";

/** How the simulated network answers one query: the query's children as XML, an error, or nothing at all. */
export type Answer = string | { error: ErrorCondition; text?: string } | "silent";

export interface FakeEntity {
  info?: Answer;
  items?: Answer;
}

/**
 * Plays the XMPP network for a harnessed component: reads the IQ requests it sent (`h.sent`) and injects
 * the matching `<iq type='result'|'error' id=… from=…>`. Entities are keyed `jid` or `jid#node`;
 * a query nobody described gets service-unavailable, as a server answers for an unhandled namespace.
 */
export class FakeNetwork {
  /** Requests seen, in order, as "info jid[#node]" / "items jid[#node]" / "ping jid". */
  readonly asked: string[] = [];
  /** The most requests that were waiting for an answer at the same time. */
  maxOutstanding = 0;
  private seen = 0;
  private stopped = false;
  private readonly loop: Promise<void>;

  constructor(
    private readonly h: Harness,
    private readonly entities: Record<string, FakeEntity>,
    private readonly clients: Set<string> = new Set(["user@localhost/test", "admin@localhost/test"]),
  ) {
    this.loop = this.pump();
  }

  set(key: string, entity: FakeEntity): void {
    this.entities[key] = entity;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }

  private async pump(): Promise<void> {
    while (!this.stopped) {
      const fresh = this.h.sent.slice(this.seen).filter((s) => this.isRequest(s));
      this.seen = this.h.sent.length;
      this.maxOutstanding = Math.max(this.maxOutstanding, fresh.length);
      for (const request of fresh) {
        const reply = this.answer(request);
        if (reply) await this.h.inject(reply);
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  private isRequest(s: Element): boolean {
    return s.name === "iq" && (s.attrs.type === "get" || s.attrs.type === "set") && !this.clients.has(String(s.attrs.to));
  }

  private answer(request: Element): string | undefined {
    const to = String(request.attrs.to);
    const query = request.getChildElements()[0]!;
    const head = `<iq type='result' id='${request.attrs.id}' from='${to}' to='${request.attrs.from}'>`;
    if (query.getNS() === NS.ping) {
      this.asked.push(`ping ${to}`);
      return `${head}</iq>`;
    }
    const kind = query.getNS() === NS.discoInfo ? "info" : query.getNS() === NS.discoItems ? "items" : undefined;
    const node = query.attrs.node as string | undefined;
    const key = node === undefined ? to : `${to}#${node}`;
    this.asked.push(`${kind} ${key}`);
    const answer: Answer = (kind && this.entities[key]?.[kind]) ?? { error: "service-unavailable" };
    if (answer === "silent") return undefined;
    if (typeof answer === "object") {
      const text = answer.text ? `<text xmlns='${NS.stanzas}'>${answer.text}</text>` : "";
      return `<iq type='error' id='${request.attrs.id}' from='${to}' to='${request.attrs.from}'><error type='cancel'><${answer.error} xmlns='${NS.stanzas}'/>${text}</error></iq>`;
    }
    const nodeAttr = node === undefined ? "" : ` node='${node}'`;
    return `${head}<query xmlns='${query.getNS()}'${nodeAttr}>${answer}</query></iq>`;
  }
}

/** A small server: localhost with pubsub (two nodes), a MUC, a component that never answers and one that bounces. */
export function sampleNetwork(): Record<string, FakeEntity> {
  return {
    localhost: {
      info: `<identity category='server' type='im' name='Prosody'/><feature var='${NS.discoInfo}'/><feature var='${NS.discoItems}'/><feature var='urn:xmpp:ping'/>`,
      items: `<item jid='pubsub.localhost' name='PubSub'/><item jid='conference.localhost'/><item jid='ghost.localhost'/><item jid='silent.localhost'/><item jid='directory.localhost'/>`,
    },
    "pubsub.localhost": {
      info: `<identity category='pubsub' type='service' name='Prosody PubSub Service'/><feature var='http://jabber.org/protocol/pubsub'/><feature var='http://jabber.org/protocol/pubsub#publish'/><feature var='${NS.discoInfo}'/>`,
      items: `<item jid='pubsub.localhost' node='stocks' name='Stock ticker'/><item jid='pubsub.localhost' node='news'/>`,
    },
    "pubsub.localhost#stocks": { info: `<identity category='pubsub' type='leaf'/><feature var='http://jabber.org/protocol/pubsub'/>` },
    "pubsub.localhost#news": { info: `<identity category='pubsub' type='leaf' name='News'/>` },
    "conference.localhost": {
      info: `<identity category='conference' type='text' name='Chatrooms'/><feature var='http://jabber.org/protocol/muc'/><feature var='${NS.discoInfo}'/>`,
      items: `<item jid='lobby@conference.localhost' name='Lobby'/>`,
    },
    "ghost.localhost": { info: { error: "remote-server-timeout", text: "Component unavailable" }, items: { error: "remote-server-timeout", text: "Component unavailable" } },
    "silent.localhost": { info: "silent", items: "silent" },
  };
}
