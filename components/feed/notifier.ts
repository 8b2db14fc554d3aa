import type { Element } from "annex";

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
}

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
  ) {}

  notify(jid: string, node: string, stanza: Element, coalescible = true): void {
    const sub = this.subscribers.get(jid) ?? { inFlight: 0, queue: [], coalesced: 0 };
    this.subscribers.set(jid, sub);
    sub.queue.push({ node, stanza, coalescible });
    if (sub.queue.length > this.bounds.maxQueued) this.coalesce(sub, node);
    this.pump(jid, sub);
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
      this.send(next.stanza)
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
  }

  private isIdle(): boolean {
    for (const sub of this.subscribers.values()) if (sub.inFlight > 0 || sub.queue.length > 0) return false;
    return true;
  }
}
