import { errors } from "../errors.js";
import type { Middleware, Passage, Pipeline, StanzaSink } from "../pipeline/pipeline.js";
import { StanzaTemplate } from "../pipeline/fanout.js";
import { type JID, parseJid, tryParseJid } from "../stanza/jid.js";
import type { Element } from "../stanza/xml.js";
import type { IqCaller } from "./iq-caller.js";

const STANZAS = new Set(["message", "presence", "iq"]);

/** An addressee of a fan-out: a JID string (checked like any `to`) or a JID already parsed (no re-parse). */
export type Addressee = string | JID;

/**
 * The component's only way out. Injectable into handler classes.
 * Every outbound stanza gets a `from` in the component's domain and must name a `to`
 * (XEP-0114 §3; Prosody closes the stream with invalid-from otherwise), then passes the outbound
 * pipeline, then goes to the sink the host is bound to (the link).
 */
export class Sender {
  private stopped = false;
  private sink: StanzaSink = () => Promise.reject(errors.linkDown("the component is not bound to a link"));
  /** One closure for every passage's `send` instead of one per stanza. */
  private readonly resend = (stanza: Element): Promise<void> => this.send(stanza);

  constructor(
    readonly domain: string,
    private readonly outbound: Pipeline,
    private readonly iqCaller: IqCaller,
  ) {}

  /** Where stanzas go after the outbound pipeline; set by bindLink. */
  bind(sink: StanzaSink | undefined): void {
    this.sink = sink ?? (() => Promise.reject(errors.linkDown("the component is not bound to a link")));
  }

  send(stanza: Element): Promise<void> {
    try {
      if (this.stopped) throw errors.stopping();
      this.stamp(stanza);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.pass(stanza);
  }

  /**
   * Sends one payload to many addressees: the template (a stanza whose `to`, if any, only says where the
   * attribute goes) is checked and serialised once; each copy gets its own `to` (and `ids[i]` as its `id`
   * when `ids` is given), passes the outbound pipeline as a stanza of its own (middleware sees, counts and may
   * drop each copy; see pipeline/fanout.ts for what it may change), and is written with the template's bytes
   * and its escaped address spliced in. Returns one promise per addressee, in order, each settling as
   * `send()` of that copy would: a malformed address rejects with JidError for that copy only, a full link
   * queue with ANNEX_ERR_QUEUE_FULL. Copies are handed to the link in order, so back-pressure applies per copy.
   */
  fanOut(template: Element, to: readonly Addressee[], ids?: readonly string[]): Promise<void>[] {
    if (ids !== undefined && ids.length !== to.length) throw new Error(`fanOut: ${to.length} addressees but ${ids.length} ids`);
    let prepared: StanzaTemplate;
    try {
      if (this.stopped) throw errors.stopping();
      this.stampFrom(template);
      prepared = new StanzaTemplate(template, { ownIds: ids !== undefined });
    } catch (err) {
      return to.map(() => Promise.reject(err));
    }
    const sent: Promise<void>[] = new Array(to.length);
    for (let i = 0; i < to.length; i++) {
      const addressee = to[i]!;
      let address: string;
      if (typeof addressee === "string") {
        try {
          parseJid(addressee);
        } catch (err) {
          sent[i] = Promise.reject(err);
          continue;
        }
        address = addressee;
      } else address = addressee.toString();
      sent[i] = this.pass(prepared.copy(address, ids?.[i]));
    }
    return sent;
  }

  /**
   * For stanzas the framework built itself from addresses it parsed (the dispatcher's replies): the same
   * checks as send(), without parsing `from` and `to` again.
   */
  sendBuilt(stanza: Element, from: JID): Promise<void> {
    if (this.stopped) return Promise.reject(errors.stopping());
    if (from.domain !== this.domain) return Promise.reject(errors.foreignFrom(from.toString(), this.domain));
    if (!stanza.attrs.to) return Promise.reject(errors.noTo(stanza.name));
    return this.pass(stanza);
  }

  /** Sends an IQ get/set and resolves with the result from the addressee (rejects with its StanzaError). */
  async request(iq: Element, options: { timeoutMs?: number } = {}): Promise<Element> {
    if (this.stopped) throw errors.stopping();
    this.stamp(iq);
    const response = this.iqCaller.track(iq, options.timeoutMs);
    try {
      await this.pass(iq);
    } catch (err) {
      // Not sent, so no answer can come: forget it now (else its timeout would reject with nobody listening).
      this.iqCaller.forget(iq.attrs.id as string);
      response.catch(() => undefined);
      throw err;
    }
    return response;
  }

  /** After this, send() rejects; used by shutdown once the last stanzas are out. */
  close(): void {
    this.stopped = true;
  }

  /** Runs an already stamped stanza through the outbound pipeline to the sink. */
  private pass(stanza: Element): Promise<void> {
    const passage: Passage = { stanza, direction: "outbound", domain: this.domain, send: this.resend };
    return this.outbound.run(passage, this.sink);
  }

  private stamp(stanza: Element): void {
    this.stampFrom(stanza);
    const to = stanza.attrs.to as string | undefined;
    if (!to) throw errors.noTo(stanza.name);
    parseJid(to);
  }

  private stampFrom(stanza: Element): void {
    if (!STANZAS.has(stanza.name)) throw errors.notStanza(stanza.name);
    const from = stanza.attrs.from as string | undefined;
    // The component's own domain (almost every stanza) needs no parse to be known ours.
    if (from === undefined || from === this.domain) {
      stanza.attrs.from = this.domain;
      return;
    }
    const fromJid = tryParseJid(from);
    if (!fromJid || fromJid.domain !== this.domain) throw errors.foreignFrom(from, this.domain);
  }
}

/**
 * Outbound middleware that remembers whom the component told it is available (RFC 6121 §4.5), so shutdown
 * can say unavailable to each of them and to nobody else.
 */
export class PresenceTracker {
  /** "from to" pairs that saw our available presence last. */
  readonly availableTo = new Set<string>();

  readonly middleware: Middleware = ({ stanza }, next) => {
    if (stanza.name === "presence") {
      const key = `${stanza.attrs.from} ${stanza.attrs.to}`;
      const type = stanza.attrs.type as string | undefined;
      if (type === undefined) this.availableTo.add(key);
      else if (type === "unavailable") this.availableTo.delete(key);
    }
    return next();
  };

  /** Each (from, to) pair that still believes we are online. */
  pairs(): [from: string, to: string][] {
    return [...this.availableTo].map((pair) => pair.split(" ") as [string, string]);
  }
}
