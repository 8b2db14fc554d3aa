// The feed's storage contract. Every adapter (memory, SQLite, PostgreSQL) implements it and passes
// the same suite (components/feed/test/store-suite.ts). The store owns ordering, ids and paging so
// that an adapter shared by several feed processes (PostgreSQL) stays consistent.

/** One stored item. `seq` orders items in a node: a (re-)publish gets a new, larger seq. */
export interface FeedItem {
  node: string;
  id: string;
  /** The serialised payload element (exactly one XML element). */
  payload: string;
  /** The bare or full JID that published it. */
  publisher: string;
  /** Milliseconds since the epoch, when it was (last) published. */
  published: number;
  seq: number;
}

export interface NewItem {
  /** The publisher's item id; absent = the store makes a monotonic, sortable one. */
  id?: string;
  payload: string;
  publisher: string;
  /** Defaults to now. */
  published?: number;
}

/** Per-node retention, applied on publish and by {@link FeedStore.trim}. */
export interface Retention {
  /** Keep at most this many items (the newest). */
  maxItems?: number;
  /** Drop items published longer ago than this. */
  maxAgeMs?: number;
  /** When the node holds maxItems, refuse a new item instead of evicting the oldest (XEP-0060 publish_node_full). */
  rejectWhenFull?: boolean;
}

export interface PublishResult {
  item: FeedItem;
  /** An item with this id existed and was overwritten (XEP-0060 §7.1.2). */
  replaced: boolean;
  /** How many items retention removed in the same transaction. */
  evicted: number;
}

/**
 * XEP-0059 request over the node's items in publish order (oldest first), keyed on item ids.
 * No after/before/index = from the start.
 */
export interface PageRequest {
  max: number;
  after?: string;
  /** An id, or true for the last page (XEP-0059 §2.5). */
  before?: string | true;
  index?: number;
}

export interface Page {
  /** Oldest first. */
  items: FeedItem[];
  /** All items in the node. */
  count: number;
  /** Position of items[0] in the node (XEP-0059 <first index=…>); meaningful only when items is not empty. */
  firstIndex: number;
}

export type SubscriptionState = "subscribed" | "pending";

export interface StoredSubscription {
  node: string;
  jid: string;
  /** XEP-0060 §4.2: "pending" waits for an owner's approval (authorize access model, §8.6). */
  state: SubscriptionState;
  /** The subscription options (XEP-0060 §6.3) as JSON; absent = the defaults. */
  options?: string;
  /** XEP-0060 §12.4: a temporary (presence-bound) subscription; absent = persistent. */
  temporary?: Lease & { boundTo: string };
}

/**
 * Presence-bound state (temporary subscriptions, who sent us available presence) is held under a lease:
 * the live feed process renews it; when nobody does (the process died and no standby took over),
 * it ends by itself once leaseUntil has passed.
 */
export interface Lease {
  /** The feed process that renews it (a random id per start). */
  holder: string;
  /** Epoch ms after which it is gone unless renewed. */
  leaseUntil: number;
}

/** A subscription as the SQL stores keep it (SQLite and PostgreSQL share the columns). */
export interface SubscriptionRow {
  node: string;
  jid: string;
  state: SubscriptionState;
  options: string | null;
  temporary: boolean | number;
  bound_to: string | null;
  holder: string | null;
  lease_until: number | string | null;
}

export const toSubscription = (r: SubscriptionRow): StoredSubscription => ({
  node: r.node,
  jid: r.jid,
  state: r.state,
  ...(r.options === null ? {} : { options: r.options }),
  ...(r.temporary ? { temporary: { boundTo: r.bound_to ?? r.jid, holder: r.holder ?? "", leaseUntil: Number(r.lease_until ?? 0) } } : {}),
});

/** The SQL columns of a subscription's temporary part, in the order the SQL stores bind them. */
export const temporaryColumns = (sub: StoredSubscription): [boolean, string | null, string | null, number | null] =>
  sub.temporary ? [true, sub.temporary.boundTo, sub.temporary.holder, sub.temporary.leaseUntil] : [false, null, null, null];

/**
 * What another process changed (PostgreSQL LISTEN/NOTIFY): the service re-reads that part of its cache.
 * "resync" = changes may have been missed (the listening connection was lost): re-read everything.
 */
export type StoreChange = { kind: "subscription"; node: string } | { kind: "presence-access" } | { kind: "presence" } | { kind: "resync" };

/** A node's configuration as changed over XMPP (XEP-0060 §8.1-8.4), or the mark that it was deleted. */
export interface StoredNode {
  name: string;
  /** The node's configuration as JSON (the feed's NodeOptions); absent when deleted. */
  config?: string;
  /** A node from the configuration file that was deleted over XMPP stays deleted across restarts. */
  deleted: boolean;
}

/** The item named in <after/> or <before/> is not (or no longer) in the node: the client must refetch. */
export class UnknownItemError extends Error {
  readonly code = "FEED_UNKNOWN_ITEM";
  constructor(
    readonly node: string,
    readonly id: string,
  ) {
    super(`no item ${JSON.stringify(id)} in node ${JSON.stringify(node)}`);
    this.name = "UnknownItemError";
  }
}

/** A new item was refused because the node holds maxItems and rejects when full. */
export class NodeFullError extends Error {
  readonly code = "FEED_NODE_FULL";
  constructor(
    readonly node: string,
    readonly maxItems: number,
  ) {
    super(`node ${JSON.stringify(node)} is full (${maxItems} items)`);
    this.name = "NodeFullError";
  }
}

export interface FeedStore {
  /** "memory", "sqlite" or "postgres". */
  readonly kind: string;
  /** Creates tables if needed. */
  init(): Promise<void>;
  /** Stores (or overwrites) an item and applies retention; resolves only once durably committed. */
  publish(node: string, item: NewItem, retention?: Retention): Promise<PublishResult>;
  /** The items with these ids (unknown ids are skipped), oldest first. */
  getItems(node: string, ids: string[]): Promise<FeedItem[]>;
  /** One page of the node; throws UnknownItemError for an unknown after/before id. */
  page(node: string, request: PageRequest): Promise<Page>;
  /** The newest item. */
  latest(node: string): Promise<FeedItem | undefined>;
  count(node: string): Promise<number>;
  /** Removes one item; false when it was not there. */
  retract(node: string, id: string): Promise<boolean>;
  /** Removes every item of the node; returns how many. */
  purge(node: string): Promise<number>;
  /** Applies retention now (the periodic sweep); returns how many items were removed. */
  trim(node: string, retention: Retention, now?: number): Promise<number>;
  /** The items after this seq, oldest first (the notifier's catch-up after a takeover). */
  itemsAfterSeq(node: string, seq: number, max: number): Promise<FeedItem[]>;
  /** Persistent subscriptions. add (state subscribed, no options) → false when it already existed; remove → false when absent. */
  addSubscription(node: string, jid: string): Promise<boolean>;
  removeSubscription(node: string, jid: string): Promise<boolean>;
  /** Every subscription (of one node), persistent and temporary; temporary ones whose lease ran out (at `now`) are left out. */
  subscriptions(node?: string, now?: number): Promise<StoredSubscription[]>;
  /** Creates or replaces a subscription with its state, options and (for a temporary one) its binding and lease. */
  saveSubscription(sub: StoredSubscription): Promise<void>;
  /** XEP-0060 §12.4: ends the temporary subscriptions bound to this full JID (or of it); returns them. */
  endTemporary(fullJid: string): Promise<StoredSubscription[]>;
  /** The live holder extends its leases (temporary subscriptions and presence) to leaseUntil; returns how many. */
  renewLeases(holder: string, leaseUntil: number): Promise<number>;
  /** A process that takes over the domain takes every lease still running at `now` as its own. */
  adoptLeases(holder: string, leaseUntil: number, now: number): Promise<number>;
  /** Removes temporary subscriptions and presence whose lease ran out by `now`; returns how many. */
  expireLeases(now: number): Promise<number>;
  /** RFC 6121 §4.6: this full JID sent the feed directed available presence (held under a lease). */
  setPresent(fullJid: string, lease: Lease): Promise<void>;
  /** Its unavailable presence came; false when it was not present. */
  removePresent(fullJid: string): Promise<boolean>;
  /** Full JIDs present (lease still running at `now`). */
  present(now?: number): Promise<string[]>;
  /** The presence-access set: bare JIDs with a presence subscription to the feed (the service-presence access model). */
  setPresenceAccess(bareJid: string, granted: boolean): Promise<void>;
  presenceAccess(): Promise<string[]>;
  /**
   * The last-published bookkeeping: the seq of the newest item of the node whose notifications were handed
   * to the link. Only grows. A process taking over notifies what was committed after it.
   */
  markNotified(node: string, seq: number): Promise<void>;
  notifiedUpTo(node: string): Promise<number | undefined>;
  /**
   * Calls `onChange` for every subscription or presence-access change another process commits
   * (PostgreSQL: LISTEN/NOTIFY). Absent on stores one process owns (memory; SQLite is read again by the resync).
   */
  watch?(onChange: (change: StoreChange) => void): Promise<void>;
  /** Creates or replaces a node's configuration (and clears a deletion mark). */
  saveNode(name: string, config: string): Promise<void>;
  /** Removes the node's items, subscriptions and configuration; `tombstone` keeps a deletion mark. */
  deleteNode(name: string, tombstone: boolean): Promise<void>;
  /** Every node configuration and deletion mark, by name. */
  storedNodes(): Promise<StoredNode[]>;
  close(): Promise<void>;
}

/** Generated item ids: the item's sequence number, zero-padded so that string order is publish order. */
export function generatedId(seq: number): string {
  return seq.toString().padStart(16, "0");
}

/** Which items retention removes: returns the cutoff for age and how many to drop for count. */
export function ageCutoff(retention: Retention, now: number): number | undefined {
  return retention.maxAgeMs === undefined ? undefined : now - retention.maxAgeMs;
}
