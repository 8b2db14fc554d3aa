import { randomUUID } from "node:crypto";
import { type JID, tryParseJid } from "../stanza/jid.js";
import { StanzaError } from "../stanza/errors.js";
import type { Element } from "../stanza/xml.js";
import { errors } from "../errors.js";

interface Pending {
  to: JID;
  resolve: (el: Element) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

/** Tracks our own IQ requests and settles each with its response. */
export class IqCaller {
  private readonly pending = new Map<string, Pending>();

  constructor(private readonly defaultTimeoutMs = 30_000) {}

  get size(): number {
    return this.pending.size;
  }

  /** Registers the request; the caller sends it. Resolves with the result IQ, rejects with a StanzaError. */
  track(iq: Element, timeoutMs = this.defaultTimeoutMs): Promise<Element> {
    const type = iq.attrs.type;
    if (iq.name !== "iq" || (type !== "get" && type !== "set")) throw errors.iqNotRequest();
    iq.attrs.id ??= randomUUID();
    const id = iq.attrs.id as string;
    const to = tryParseJid(iq.attrs.to as string | undefined);
    if (!to) throw errors.noTo("iq");
    return new Promise<Element>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(errors.iqTimeout(to.toString(), timeoutMs));
      }, timeoutMs);
      this.pending.set(id, { to, resolve, reject, timer });
    });
  }

  /**
   * Settles a pending request with a result/error IQ. RFC 6120 §8.2.3: the response carries the request's id;
   * it must also come from the entity we asked (xmpp.js matches on id alone), else it is not ours.
   */
  settle(response: Element): boolean {
    const id = response.attrs.id as string | undefined;
    const entry = id === undefined ? undefined : this.pending.get(id);
    if (!entry || id === undefined) return false;
    const from = tryParseJid(response.attrs.from as string | undefined);
    if (!from || !from.equals(entry.to)) return false;
    this.pending.delete(id);
    clearTimeout(entry.timer);
    if (response.attrs.type === "result") entry.resolve(response);
    else entry.reject(StanzaError.fromStanza(response) ?? new StanzaError("undefined-condition"));
    return true;
  }

  /** Drops a request that was never sent. */
  forget(id: string): void {
    const entry = this.pending.get(id);
    if (!entry) return;
    clearTimeout(entry.timer);
    this.pending.delete(id);
    entry.reject(new Error("not sent"));
  }

  /** Rejects every pending request (link down, shutdown): none is left hanging. */
  rejectAll(error: Error): void {
    for (const [id, entry] of this.pending) {
      clearTimeout(entry.timer);
      entry.reject(error);
      this.pending.delete(id);
    }
  }
}
