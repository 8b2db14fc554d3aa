import { type Element, parseXml } from "annex";

/** A copy of a shared payload for one subscriber, when no fan-out is given (tests). */
function copyOf(template: Element, to: string, id: string): Element {
  const copy = parseXml(template.toString());
  copy.attrs.to = to;
  copy.attrs.id = id;
  return copy;
}

export interface NotifierBounds {
  /** Notifications to one subscriber awaiting the link at once. */
  maxInFlight: number;
  /** Notifications to one subscriber waiting behind those; beyond it, coalescing applies. */
  maxQueued: number;
}

interface Pending {
  node: string;
  stanza: Element;
  /** An item notification: a newer one for the same node may replace it (latest value wins). */
  coalescible: boolean;
  /** Set when `stanza` is one payload for many subscribers (notifyAll): sent through one fan-out. */
  shared?: SharedPayload;
}

/** One notification payload for many subscribers; the subscribers whose turn has come this tick wait in `due`. */
interface SharedPayload {
  template: Element;
  due: { jid: string; sub: SubscriberQueue }[];
  /** Copies handed out so far (each copy's id is the template's id and this number). */
  copies: number;
  flushScheduled: boolean;
}

/** Sends one template to many addressees (Sender.fanOut): one promise per addressee, in order; each copy's id from `ids`. */
export type SendMany = (template: Element, to: readonly string[], ids: readonly string[]) => Promise<void>[];

interface SubscriberQueue {
  inFlight: number;
  queue: Pending[];
  coalesced: number;
}

export interface NotifierStats {
  sent: number;
  coalesced: number;
  failed: number;
}

/**
 * Delivers notifications with a bound per subscriber, so one slow subscriber cannot make the
 * feed hold an unbounded backlog for it. When a subscriber's queue is full, a new item notification
 * replaces the queued one for the same node (latest-value coalescing); every replacement is counted.
 * A subscriber that missed items catches up with RSM <after>lastSeenId.
 */
export class Notifier {
  readonly stats: NotifierStats = { sent: 0, coalesced: 0, failed: 0 };
  private readonly subscribers = new Map<string, SubscriberQueue>();
  private idle: (() => void)[] = [];

  constructor(
    private readonly send: (stanza: Element) => Promise<void>,
    private readonly bounds: NotifierBounds,
    private readonly onError: (err: unknown, jid: string) => void = () => undefined,
    /** Fan-out for notifyAll (the Sender's); without it each copy is sent on its own. */
    private readonly sendMany?: SendMany,
  ) {}

  notify(jid: string, node: string, stanza: Element, coalescible = true): void {
    const sub = this.subscribers.get(jid) ?? { inFlight: 0, queue: [], coalesced: 0 };
    this.subscribers.set(jid, sub);
    sub.queue.push({ node, stanza, coalescible });
    if (sub.queue.length > this.bounds.maxQueued) this.coalesce(sub, node);
    this.pump(jid, sub);
  }

  /**
   * One notification to many subscribers (the same payload; `stanza`'s own `to` is replaced per copy, and each
   * copy's id is the stanza's id with "-<n>" appended, so an error can still be matched to its copy). Each
   * subscriber's bounds and coalescing apply as with notify(); the copies whose turn comes in the same tick leave
   * through one fan-out: the payload is serialised once (Sender.fanOut).
   */
  notifyAll(jids: readonly string[], node: string, stanza: Element, coalescible = true): void {
    const shared: SharedPayload = { template: stanza, due: [], copies: 0, flushScheduled: false };
    for (const jid of jids) {
      const sub = this.subscribers.get(jid) ?? { inFlight: 0, queue: [], coalesced: 0 };
      this.subscribers.set(jid, sub);
      sub.queue.push({ node, stanza, coalescible, shared });
      if (sub.queue.length > this.bounds.maxQueued) this.coalesce(sub, node);
      this.pump(jid, sub);
    }
  }

  /** How many notifications to this subscriber were replaced by newer ones. */
  coalescedFor(jid: string): number {
    return this.subscribers.get(jid)?.coalesced ?? 0;
  }

  /** Notifications waiting (not yet handed to the link) for this subscriber. */
  queued(jid: string): number {
    return this.subscribers.get(jid)?.queue.length ?? 0;
  }

  /** Drops whatever is queued for a subscriber that is gone. */
  forget(jid: string): void {
    const sub = this.subscribers.get(jid);
    if (sub) sub.queue = [];
  }

  /** Resolves when nothing is queued or in flight (tests, shutdown). */
  settled(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  private coalesce(sub: SubscriberQueue, node: string): void {
    // Latest value wins: drop the oldest queued item notification of the same node, else of any node.
    let victim = sub.queue.findIndex((p, i) => i < sub.queue.length - 1 && p.coalescible && p.node === node);
    if (victim === -1) victim = sub.queue.findIndex((p, i) => i < sub.queue.length - 1 && p.coalescible);
    if (victim === -1) return; // only retractions/purges queued: those are never dropped
    sub.queue.splice(victim, 1);
    sub.coalesced++;
    this.stats.coalesced++;
  }

  private pump(jid: string, sub: SubscriberQueue): void {
    while (sub.inFlight < this.bounds.maxInFlight && sub.queue.length > 0) {
      const next = sub.queue.shift()!;
      sub.inFlight++;
      if (next.shared) {
        // Its turn has come: it leaves with the other subscribers of this payload whose turn came this tick.
        next.shared.due.push({ jid, sub });
        if (!next.shared.flushScheduled) {
          next.shared.flushScheduled = true;
          queueMicrotask(() => this.flush(next.shared!));
        }
        continue;
      }
      this.track(jid, sub, this.send(next.stanza));
    }
  }

  private flush(shared: SharedPayload): void {
    shared.flushScheduled = false;
    const due = shared.due;
    shared.due = [];
    const base = (shared.template.attrs.id as string | undefined) ?? "n";
    const ids = due.map(() => `${base}-${(++shared.copies).toString(36)}`);
    const to = due.map((d) => d.jid);
    const sent = this.sendMany ? this.sendMany(shared.template, to, ids) : to.map((jid, i) => this.send(copyOf(shared.template, jid, ids[i]!)));
    for (let i = 0; i < due.length; i++) this.track(due[i]!.jid, due[i]!.sub, sent[i]!);
  }

  private track(jid: string, sub: SubscriberQueue, sent: Promise<void>): void {
    sent
      .then(
        () => void this.stats.sent++,
        (err: unknown) => {
          this.stats.failed++;
          this.onError(err, jid);
        },
      )
      .finally(() => {
        sub.inFlight--;
        this.pump(jid, sub);
        if (sub.inFlight === 0 && sub.queue.length === 0 && sub.coalesced === 0) this.subscribers.delete(jid);
        if (this.isIdle()) for (const resolve of this.idle.splice(0)) resolve();
      });
  }

  private isIdle(): boolean {
    for (const sub of this.subscribers.values()) if (sub.inFlight > 0 || sub.queue.length > 0) return false;
    return true;
  }
}
