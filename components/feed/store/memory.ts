import {
  ageCutoff,
  type FeedItem,
  type FeedStore,
  generatedId,
  type NewItem,
  NodeFullError,
  type Page,
  type PageRequest,
  type PublishResult,
  type Retention,
  type Lease,
  type StoredNode,
  type StoredSubscription,
  UnknownItemError,
} from "./store.js";

/** A node's items, kept sorted by seq (publish order), with an id index. */
class NodeItems {
  readonly list: FeedItem[] = [];
  readonly byId = new Map<string, FeedItem>();

  /** Index of the first item whose seq is >= seq (binary search). */
  lowerBound(seq: number): number {
    let lo = 0;
    let hi = this.list.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.list[mid]!.seq < seq) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  remove(id: string): boolean {
    const item = this.byId.get(id);
    if (!item) return false;
    this.byId.delete(id);
    this.list.splice(this.lowerBound(item.seq), 1);
    return true;
  }

  removeOldest(n: number): number {
    const gone = this.list.splice(0, Math.max(0, n));
    for (const item of gone) this.byId.delete(item.id);
    return gone.length;
  }
}

/** Keeps everything in process memory: for tests and throw-away feeds. Nothing survives a restart. */
export class MemoryStore implements FeedStore {
  readonly kind = "memory";
  private readonly nodes = new Map<string, NodeItems>();
  private readonly subs = new Map<string, Map<string, StoredSubscription>>();
  private readonly nodeConfigs = new Map<string, StoredNode>();
  private readonly presentJids = new Map<string, Lease>();
  private readonly access = new Set<string>();
  private readonly notified = new Map<string, number>();
  private seq = 0;

  async init(): Promise<void> {}

  async publish(node: string, item: NewItem, retention: Retention = {}): Promise<PublishResult> {
    const items = this.items(node);
    const now = item.published ?? Date.now();
    let evicted = this.trimNow(items, { maxAgeMs: retention.maxAgeMs }, now);
    const replaced = item.id !== undefined && items.byId.has(item.id);
    if (!replaced && retention.rejectWhenFull && retention.maxItems !== undefined && items.list.length >= retention.maxItems) {
      throw new NodeFullError(node, retention.maxItems);
    }
    const seq = ++this.seq;
    const stored: FeedItem = { node, id: item.id ?? generatedId(seq), payload: item.payload, publisher: item.publisher, published: now, seq };
    if (replaced) items.remove(stored.id);
    items.list.push(stored);
    items.byId.set(stored.id, stored);
    evicted += this.trimNow(items, { maxItems: retention.maxItems }, now);
    return { item: stored, replaced, evicted };
  }

  async getItems(node: string, ids: string[]): Promise<FeedItem[]> {
    const items = this.items(node);
    const found = [...new Set(ids)].map((id) => items.byId.get(id)).filter((x): x is FeedItem => x !== undefined);
    return found.sort((a, b) => a.seq - b.seq);
  }

  async page(node: string, request: PageRequest): Promise<Page> {
    const { list, byId } = this.items(node);
    const count = list.length;
    const max = Math.max(0, request.max);
    const positionOf = (id: string) => {
      const item = byId.get(id);
      if (!item) throw new UnknownItemError(node, id);
      return this.items(node).lowerBound(item.seq);
    };
    let start: number;
    let end: number;
    if (request.after !== undefined) {
      start = positionOf(request.after) + 1;
      end = Math.min(count, start + max);
    } else if (request.before !== undefined) {
      end = request.before === true ? count : positionOf(request.before);
      start = Math.max(0, end - max);
    } else {
      start = Math.min(count, request.index ?? 0);
      end = Math.min(count, start + max);
    }
    return { items: list.slice(start, end), count, firstIndex: start };
  }

  async latest(node: string): Promise<FeedItem | undefined> {
    return this.items(node).list.at(-1);
  }

  async count(node: string): Promise<number> {
    return this.items(node).list.length;
  }

  async retract(node: string, id: string): Promise<boolean> {
    return this.items(node).remove(id);
  }

  async purge(node: string): Promise<number> {
    const items = this.items(node);
    return items.removeOldest(items.list.length);
  }

  async trim(node: string, retention: Retention, now = Date.now()): Promise<number> {
    return this.trimNow(this.items(node), retention, now);
  }

  async addSubscription(node: string, jid: string): Promise<boolean> {
    const map = this.subs.get(node) ?? new Map<string, StoredSubscription>();
    this.subs.set(node, map);
    if (map.has(jid)) return false;
    map.set(jid, { node, jid, state: "subscribed" });
    return true;
  }

  async saveSubscription(sub: StoredSubscription): Promise<void> {
    const map = this.subs.get(sub.node) ?? new Map<string, StoredSubscription>();
    this.subs.set(sub.node, map);
    map.set(sub.jid, {
      node: sub.node,
      jid: sub.jid,
      state: sub.state,
      ...(sub.options === undefined ? {} : { options: sub.options }),
      ...(sub.temporary === undefined ? {} : { temporary: { ...sub.temporary } }),
    });
  }

  async itemsAfterSeq(node: string, seq: number, max: number): Promise<FeedItem[]> {
    const items = this.items(node);
    const start = items.lowerBound(seq + 1);
    return items.list.slice(start, start + Math.max(0, max));
  }

  async endTemporary(fullJid: string): Promise<StoredSubscription[]> {
    const ended: StoredSubscription[] = [];
    for (const map of this.subs.values()) {
      for (const [jid, sub] of map) {
        if (sub.temporary && (sub.temporary.boundTo === fullJid || jid === fullJid)) {
          map.delete(jid);
          ended.push(sub);
        }
      }
    }
    return ended;
  }

  async renewLeases(holder: string, leaseUntil: number): Promise<number> {
    let renewed = 0;
    for (const lease of this.leases()) {
      if (lease.holder !== holder) continue;
      lease.leaseUntil = leaseUntil;
      renewed++;
    }
    return renewed;
  }

  async adoptLeases(holder: string, leaseUntil: number, now: number): Promise<number> {
    let adopted = 0;
    for (const lease of this.leases()) {
      if (lease.leaseUntil <= now) continue;
      lease.holder = holder;
      lease.leaseUntil = leaseUntil;
      adopted++;
    }
    return adopted;
  }

  async expireLeases(now: number): Promise<number> {
    let removed = 0;
    for (const map of this.subs.values()) {
      for (const [jid, sub] of map) {
        if (sub.temporary && sub.temporary.leaseUntil <= now) {
          map.delete(jid);
          removed++;
        }
      }
    }
    for (const [jid, lease] of this.presentJids) {
      if (lease.leaseUntil <= now) {
        this.presentJids.delete(jid);
        removed++;
      }
    }
    return removed;
  }

  async setPresent(fullJid: string, lease: Lease): Promise<void> {
    this.presentJids.set(fullJid, { ...lease });
  }

  async removePresent(fullJid: string): Promise<boolean> {
    return this.presentJids.delete(fullJid);
  }

  async present(now = Date.now()): Promise<string[]> {
    return [...this.presentJids].filter(([, lease]) => lease.leaseUntil > now).map(([jid]) => jid).sort();
  }

  async setPresenceAccess(bareJid: string, granted: boolean): Promise<void> {
    if (granted) this.access.add(bareJid);
    else this.access.delete(bareJid);
  }

  async presenceAccess(): Promise<string[]> {
    return [...this.access].sort();
  }

  async markNotified(node: string, seq: number): Promise<void> {
    this.notified.set(node, Math.max(seq, this.notified.get(node) ?? 0));
  }

  async notifiedUpTo(node: string): Promise<number | undefined> {
    return this.notified.get(node);
  }

  /** Every lease held in this store (mutable: renewing changes them in place). */
  private *leases(): Generator<Lease> {
    for (const map of this.subs.values()) for (const sub of map.values()) if (sub.temporary) yield sub.temporary;
    yield* this.presentJids.values();
  }

  async saveNode(name: string, config: string): Promise<void> {
    this.nodeConfigs.set(name, { name, config, deleted: false });
  }

  async deleteNode(name: string, tombstone: boolean): Promise<void> {
    this.nodes.delete(name);
    this.subs.delete(name);
    this.notified.delete(name);
    if (tombstone) this.nodeConfigs.set(name, { name, deleted: true });
    else this.nodeConfigs.delete(name);
  }

  async storedNodes(): Promise<StoredNode[]> {
    return [...this.nodeConfigs.values()].sort((a, b) => a.name.localeCompare(b.name)).map((n) => ({ ...n }));
  }

  async removeSubscription(node: string, jid: string): Promise<boolean> {
    return this.subs.get(node)?.delete(jid) ?? false;
  }

  async subscriptions(node?: string, now = Date.now()): Promise<StoredSubscription[]> {
    const out: StoredSubscription[] = [];
    for (const [n, subs] of this.subs) {
      if (node !== undefined && n !== node) continue;
      for (const sub of subs.values()) if (!sub.temporary || sub.temporary.leaseUntil > now) out.push({ ...sub, ...(sub.temporary ? { temporary: { ...sub.temporary } } : {}) });
    }
    return out.sort((a, b) => a.node.localeCompare(b.node) || a.jid.localeCompare(b.jid));
  }

  async close(): Promise<void> {}

  private items(node: string): NodeItems {
    let items = this.nodes.get(node);
    if (!items) {
      items = new NodeItems();
      this.nodes.set(node, items);
    }
    return items;
  }

  private trimNow(items: NodeItems, retention: Retention, now: number): number {
    let removed = 0;
    const cutoff = ageCutoff(retention, now);
    if (cutoff !== undefined) {
      // Publish times normally grow with seq, but a publisher may give its own; check every item.
      for (const item of items.list.filter((i) => i.published < cutoff)) if (items.remove(item.id)) removed++;
    }
    if (retention.maxItems !== undefined) removed += items.removeOldest(items.list.length - retention.maxItems);
    return removed;
  }
}
