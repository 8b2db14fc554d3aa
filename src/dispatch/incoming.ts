import type { ComponentConfig, Logger } from "../handlers/tokens.js";
import { stanzaType } from "../handlers/registry.js";
import type { JID } from "../stanza/jid.js";
import { type Element, type XmlChild, xml } from "../stanza/xml.js";
import type { Sender } from "./sender.js";

/** What each handler call gets besides the stanza: a per-stanza logger and the ways out. */
export interface StanzaContext {
  /** Makes the per-stanza child logger; called at most once, and only if the handler logs. */
  log: () => Logger;
  sender: Sender;
  config: ComponentConfig;
}

/** A received stanza with its parsed addresses and context; handlers receive a subclass of it. */
export abstract class IncomingStanza {
  readonly from: JID;
  readonly to: JID;
  readonly id: string | undefined;
  readonly type: string;
  readonly config: ComponentConfig;
  private readonly sender: Sender;
  private readonly makeLog: () => Logger;
  private childLog: Logger | undefined;

  constructor(
    readonly element: Element,
    addresses: { from: JID; to: JID },
    context: StanzaContext,
  ) {
    this.from = addresses.from;
    this.to = addresses.to;
    this.id = element.attrs.id as string | undefined;
    this.type = stanzaType(element);
    this.makeLog = context.log;
    this.config = context.config;
    this.sender = context.sender;
  }

  /** pino child logger with {component, id, from, kind}; made on first use (most stanzas log nothing). */
  get log(): Logger {
    this.childLog ??= this.makeLog();
    return this.childLog;
  }

  /** Sends another stanza (stamped with our domain as `from` when it has none). */
  send(stanza: Element): Promise<void> {
    return this.sender.send(stanza);
  }

  /** Sends an IQ get/set and waits for the addressee's result. */
  request(iq: Element, options?: { timeoutMs?: number }): Promise<Element> {
    return this.sender.request(iq, options);
  }
}

export interface MessageReply {
  body?: string;
  /** Defaults to the incoming message's type. */
  type?: string;
  children?: XmlChild[];
}

export class IncomingMessage extends IncomingStanza {
  get body(): string | undefined {
    return this.element.getChildText("body") ?? undefined;
  }

  get thread(): string | undefined {
    return this.element.getChildText("thread") ?? undefined;
  }

  /** A message back to the sender from the address it was sent to; keeps the id and the thread (RFC 6121 §5.2.5). */
  reply(options: MessageReply = {}): Element {
    const thread = this.element.getChild("thread");
    return xml(
      "message",
      { from: this.to.toString(), to: this.from.toString(), type: options.type ?? this.type, id: this.id },
      options.body === undefined ? null : xml("body", {}, options.body),
      thread ? xml("thread", thread.attrs.parent ? { parent: thread.attrs.parent as string } : {}, thread.getText()) : null,
      options.children ?? [],
    );
  }
}

export class IncomingPresence extends IncomingStanza {
  /** A presence back to the sender from the address it was sent to; type undefined = available. */
  reply(type?: string, ...children: XmlChild[]): Element {
    return xml("presence", { from: this.to.toString(), to: this.from.toString(), type }, ...children);
  }
}

export class IncomingIq extends IncomingStanza {
  /** The request's single child element. */
  get payload(): Element {
    return this.element.getChildElements()[0] as Element;
  }

  /** The `node` attribute of the payload, if any (disco, pubsub, commands). */
  get node(): string | undefined {
    return this.payload.attrs.node as string | undefined;
  }
}

export type Incoming = IncomingMessage | IncomingPresence | IncomingIq;
