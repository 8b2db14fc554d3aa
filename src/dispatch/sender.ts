import { parseJid, tryParseJid } from "../stanza/jid.js";
import type { Element } from "../stanza/xml.js";
import { errors } from "./errors.js";
import type { IqCaller } from "./iq-caller.js";

/** Where stanzas go: the server link, or the unit-test harness. */
export interface Transport {
  send(stanza: Element): Promise<void>;
}

const STANZAS = new Set(["message", "presence", "iq"]);

/**
 * The component's only way out. Injectable into handler classes.
 * Every outbound stanza gets a `from` in the component's domain and must name a `to`
 * (XEP-0114 §3; Prosody closes the stream with invalid-from otherwise).
 */
export class Sender {
  /** JIDs we told we are available (so shutdown can say unavailable to each, RFC 6121 §4.5). */
  readonly availableTo = new Set<string>();
  private stopped = false;

  constructor(
    readonly domain: string,
    private readonly transport: Transport,
    private readonly iqCaller: IqCaller,
  ) {}

  send(stanza: Element): Promise<void> {
    try {
      if (this.stopped) throw errors.stopping();
      this.stamp(stanza);
    } catch (err) {
      return Promise.reject(err);
    }
    this.trackPresence(stanza);
    return this.transport.send(stanza);
  }

  /** Sends an IQ get/set and resolves with the result from the addressee (rejects with its StanzaError). */
  async request(iq: Element, options: { timeoutMs?: number } = {}): Promise<Element> {
    this.stamp(iq);
    const response = this.iqCaller.track(iq, options.timeoutMs);
    try {
      await this.send(iq);
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

  private stamp(stanza: Element): void {
    if (!STANZAS.has(stanza.name)) throw errors.notStanza(stanza.name);
    const from = (stanza.attrs.from as string | undefined) ?? this.domain;
    const fromJid = tryParseJid(from);
    if (!fromJid || fromJid.domain !== this.domain) throw errors.foreignFrom(from, this.domain);
    stanza.attrs.from = from;
    const to = stanza.attrs.to as string | undefined;
    if (!to) throw errors.noTo(stanza.name);
    parseJid(to);
  }

  private trackPresence(stanza: Element): void {
    if (stanza.name !== "presence") return;
    const to = stanza.attrs.to as string;
    const type = stanza.attrs.type as string | undefined;
    if (type === undefined) this.availableTo.add(`${stanza.attrs.from} ${to}`);
    else if (type === "unavailable") this.availableTo.delete(`${stanza.attrs.from} ${to}`);
  }
}
