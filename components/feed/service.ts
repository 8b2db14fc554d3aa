import { ComponentConfig, type Element, Inject, type JID, Logger, Metrics, type OnStart, type OnStop, parseJid, parseXml, PresenceRoster, RateLimits, Sender, Service, xml } from "annex";
import { Notifier } from "./notifier.js";
import { type FeedOptions, type NodeOptions, NodeOptionsSchema } from "./options.js";
import { errors, NS_PUBSUB_EVENT } from "./pubsub/errors.js";
import { Mirror } from "./sources/mirror.js";
import { startSources, type RunningSource } from "./sources/index.js";
import { describeStorage, openStore } from "./store/open.js";
import { type FeedItem, type FeedStore, generatedId, NodeFullError, type Page, type PageRequest, type Retention, UnknownItemError } from "./store/store.js";

/** A subscription as the service holds it; temporary ones live only in memory (XEP-0060 §12.4). */
export interface Subscription {
  node: string;
  jid: string;
  temporary: boolean;
  /** The full JID whose unavailable presence ends a temporary subscription. */
  boundTo?: string;
}

export interface PublishRequest {
  id?: string;
  payload: Element;
  /** Who publishes: a JID, or the feed's domain for its own sources. */
  publisher: string;
}

/**
 * The feed's state and rules, shared by its XMPP handlers, presence tracking and sources:
 * nodes from the config, the store, subscriptions, notifications and retention.
 */
@Service()
export class FeedService implements OnStart, OnStop {
  readonly nodes = new Map<string, NodeOptions>();
  readonly notifier: Notifier;
  private store?: FeedStore;
  private opening?: Promise<FeedStore>;
  private readonly subs = new Map<string, Map<string, Subscription>>();
  /** Full JIDs that sent us directed available presence (RFC 6121 §4.6). */
  readonly present = new Set<string>();
  private sweep?: NodeJS.Timeout;
  private sources: RunningSource[] = [];
  mirror?: Mirror;
  private ephemeralSeq = 0;
  private metricsTimer?: NodeJS.Timeout;
  private readonly meters;

  constructor(
    readonly log: Logger,
    readonly config: ComponentConfig<FeedOptions>,
    readonly sender: Sender,
    metrics: Metrics,
    /** Who has a presence subscription to the feed (the presence-subscription plugin's roster): the presence access model. */
    @Inject(PresenceRoster) private readonly roster: PresenceRoster,
    @Inject(RateLimits) private readonly limits: RateLimits,
  ) {
    this.meters = {
      published: metrics.counter("feed_items_published_total", "Items published (and committed), by node", ["node"]),
      subscribers: metrics.gauge("feed_subscribers", "Subscriptions, by node and kind", ["node", "kind"]),
      notifications: metrics.gauge("feed_notifications", "Notifications since start: sent, coalesced (latest value won), failed", ["outcome"]),
    };
    for (const [name, node] of Object.entries(config.options.nodes)) this.nodes.set(name, normalised(node));
    // A source's node exists even when the config does not describe it.
    for (const source of config.options.sources) if (!this.nodes.has(source.node)) this.nodes.set(source.node, NodeOptionsSchema.parse({}));
    this.notifier = new Notifier((s) => this.sender.send(s), config.options.notifications, (err, jid) => this.log.debug({ err, jid }, "notification not sent"));
  }

  get domain(): string {
    return this.config.domain;
  }

  get options(): FeedOptions {
    return this.config.options;
  }

  async onStart(): Promise<void> {
    await this.ready();
    const everySeconds = this.options.retentionSweepSeconds;
    this.sweep = setInterval(() => void this.trimAll().catch((err: unknown) => this.log.error({ err }, "retention sweep failed")), everySeconds * 1000);
    this.sweep.unref();
    this.metricsTimer = setInterval(() => this.updateGauges(), 1000);
    this.metricsTimer.unref();
    if (this.options.mirror) {
      this.mirror = new Mirror(this.options.mirror, this.sender, this.log, this.domain);
      this.mirror.start([...this.nodes.keys()]);
    }
    this.sources = await startSources(this);
  }

  async onStop(): Promise<void> {
    clearInterval(this.metricsTimer);
    clearInterval(this.sweep);
    this.mirror?.stop();
    for (const source of this.sources.splice(0)) await source.stop().catch((err: unknown) => this.log.error({ err }, "source did not stop cleanly"));
    await this.notifier.settled();
    // The slow-subscriber accounting: how many notifications were replaced by newer values.
    this.log.info({ notifications: this.notifier.stats, mirror: this.mirror?.stats }, "feed stopped");
    await this.store?.close();
    this.store = undefined;
    this.opening = undefined;
  }

  /** The store, opened (and the persistent subscriptions loaded) on first use. */
  ready(): Promise<FeedStore> {
    this.opening ??= (async () => {
      const storage = this.options.storage ?? `sqlite:data/${this.domain}.sqlite`;
      const store = await openStore(storage);
      for (const sub of await store.subscriptions()) this.bucket(sub.node).set(sub.jid, { ...sub, temporary: false });
      this.log.info({ storage: describeStorage(storage), nodes: [...this.nodes.keys()] }, "feed store open");
      this.store = store;
      return store;
    })();
    // A store that could not be opened (database down) is tried again on the next use.
    this.opening.catch(() => (this.opening = undefined));
    return this.opening;
  }

  node(name: string | undefined, action: string): NodeOptions & { name: string } {
    if (name === undefined || name === "") throw errors.nodeRequired(action);
    const node = this.nodes.get(name);
    if (!node) throw errors.noNode(name);
    return { ...node, name };
  }

  retention(node: NodeOptions): Retention {
    return { maxItems: node.maxItems, maxAgeMs: node.maxAgeSeconds === undefined ? undefined : node.maxAgeSeconds * 1000, rejectWhenFull: node.whenFull === "reject" };
  }

  // ---- access (XEP-0060 §4.5) ----

  isPublisher(node: NodeOptions, jid: JID): boolean {
    return matchesAny(node.publishers, jid) || matchesAny(node.owners, jid);
  }

  isOwner(node: NodeOptions, jid: JID): boolean {
    return matchesAny(node.owners, jid);
  }

  /** Subscribe and retrieve rights under the node's access model. */
  checkAccess(node: NodeOptions & { name: string }, jid: JID): void {
    if (this.isPublisher(node, jid)) return;
    const bare = jid.bare().toString();
    if (node.access === "whitelist" && !node.whitelist.some((w) => w === bare || w === jid.toString())) throw errors.closedNode(node.name);
    if (node.access === "presence" && !this.roster.has(bare)) throw errors.presenceRequired(node.name);
  }

  /** Gauges for /metrics, refreshed every second (and readable in tests). */
  updateGauges(): void {
    for (const node of this.nodes.keys()) {
      const subs = this.subscriptionsOf(node);
      const temporary = subs.filter((s) => s.temporary).length;
      this.meters.subscribers.set(temporary, { node, kind: "temporary" });
      this.meters.subscribers.set(subs.length - temporary, { node, kind: "persistent" });
    }
    for (const [outcome, count] of Object.entries(this.notifier.stats)) this.meters.notifications.set(count, { outcome });
  }

  // ---- subscriptions ----

  subscriptionsOf(node: string): Subscription[] {
    return [...(this.subs.get(node)?.values() ?? [])];
  }

  /** Subscriptions of a bare JID or any of its resources, optionally for one node. */
  subscriptionsFor(jid: JID, node?: string): Subscription[] {
    const bare = jid.bare().toString();
    const out: Subscription[] = [];
    for (const [name, subs] of this.subs) {
      if (node !== undefined && name !== node) continue;
      for (const sub of subs.values()) if (sub.jid === bare || sub.jid.startsWith(`${bare}/`)) out.push(sub);
    }
    return out;
  }

  async subscribe(node: string, jid: string, options: { temporary: boolean; boundTo?: string }): Promise<Subscription> {
    const store = await this.ready();
    const existing = this.bucket(node).get(jid);
    // An existing persistent subscription stays persistent.
    if (existing && !existing.temporary) return existing;
    const sub: Subscription = { node, jid, temporary: options.temporary, boundTo: options.temporary ? options.boundTo : undefined };
    if (!sub.temporary) await store.addSubscription(node, jid);
    this.bucket(node).set(jid, sub);
    return sub;
  }

  async unsubscribe(node: string, jid: string): Promise<boolean> {
    const store = await this.ready();
    const sub = this.bucket(node).get(jid);
    if (!sub) return false;
    this.bucket(node).delete(jid);
    if (!sub.temporary) await store.removeSubscription(node, jid);
    if (this.subscriptionsForJid(jid).length === 0) this.notifier.forget(jid);
    return true;
  }

  /** XEP-0060 §12.4: the entity went offline; its temporary subscriptions end. Returns how many. */
  endTemporary(fullJid: string): number {
    let ended = 0;
    for (const subs of this.subs.values()) {
      for (const [jid, sub] of subs) {
        if (sub.temporary && (sub.boundTo === fullJid || sub.jid === fullJid)) {
          subs.delete(jid);
          this.notifier.forget(jid);
          ended++;
        }
      }
    }
    return ended;
  }

  // ---- items ----

  /** Stores (when the node keeps items), then notifies subscribers and the mirror. Resolves after the commit. */
  async publish(nodeName: string, request: PublishRequest): Promise<FeedItem> {
    const node = this.node(nodeName, "publish");
    const payload = request.payload.toString();
    if (Buffer.byteLength(payload) > this.options.maxPayloadBytes) throw errors.payloadTooBig(Buffer.byteLength(payload), this.options.maxPayloadBytes);
    if (node.rate && !this.limits.limit(`publish ${nodeName}`, node.rate).take(nodeName)) throw errors.rateLimited(nodeName);
    let item: FeedItem;
    if (node.persistItems) {
      const store = await this.ready();
      try {
        ({ item } = await store.publish(nodeName, { id: request.id, payload, publisher: request.publisher }, this.retention(node)));
      } catch (err) {
        if (err instanceof NodeFullError) throw errors.nodeFull(nodeName, err.maxItems);
        throw err;
      }
    } else {
      const seq = ++this.ephemeralSeq;
      item = { node: nodeName, id: request.id ?? `${Date.now()}-${generatedId(seq)}`, payload, publisher: request.publisher, published: Date.now(), seq };
    }
    this.meters.published.inc({ node: nodeName });
    // XEP-0060 §7.1.2: every publish, overwrite included, is notified with the payload.
    this.broadcast(nodeName, () => xml("items", { node: nodeName }, this.itemElement(item)), true);
    this.mirror?.publish(nodeName, item);
    return item;
  }

  async retract(nodeName: string, id: string, notify: boolean): Promise<boolean> {
    const store = await this.ready();
    const removed = await store.retract(nodeName, id);
    // XEP-0060 §7.2.2: notify only when asked to.
    if (removed && notify) this.broadcast(nodeName, () => xml("items", { node: nodeName }, xml("retract", { id })), false);
    return removed;
  }

  async purge(nodeName: string): Promise<number> {
    const store = await this.ready();
    const removed = await store.purge(nodeName);
    // XEP-0060 §8.5.2
    this.broadcast(nodeName, () => xml("purge", { node: nodeName }), false);
    return removed;
  }

  async page(nodeName: string, request: PageRequest): Promise<Page> {
    const store = await this.ready();
    try {
      return await store.page(nodeName, request);
    } catch (err) {
      if (err instanceof UnknownItemError) throw errors.unknownRsmItem(nodeName, err.id);
      throw err;
    }
  }

  async itemsById(nodeName: string, ids: string[]): Promise<FeedItem[]> {
    return (await this.ready()).getItems(nodeName, ids);
  }

  async latest(nodeName: string): Promise<FeedItem | undefined> {
    return (await this.ready()).latest(nodeName);
  }

  async count(nodeName: string): Promise<number> {
    return (await this.ready()).count(nodeName);
  }

  /** `<item id=…>payload</item>` */
  itemElement(item: FeedItem): Element {
    return xml("item", { id: item.id }, parseXml(item.payload));
  }

  /** XEP-0060 §7.1.2.1: a headline message with the event to one subscriber. */
  notification(to: string, event: Element): Element {
    return xml("message", { from: this.domain, to, type: "headline" }, xml("event", { xmlns: NS_PUBSUB_EVENT }, event));
  }

  /** XEP-0060 §6.1.7: the last item to a new subscriber (through its queue, after the IQ result). */
  sendLastItem(sub: Subscription, item: FeedItem): void {
    setImmediate(() => this.notifier.notify(sub.jid, sub.node, this.notification(sub.jid, xml("items", { node: sub.node }, this.itemElement(item))), true));
  }

  async trimAll(now = Date.now()): Promise<number> {
    const store = await this.ready();
    let removed = 0;
    for (const [name, node] of this.nodes) if (node.persistItems) removed += await store.trim(name, this.retention(node), now);
    if (removed > 0) this.log.debug({ removed }, "retention removed items");
    return removed;
  }

  private broadcast(node: string, event: () => Element, coalescible: boolean): void {
    for (const sub of this.subscriptionsOf(node)) this.notifier.notify(sub.jid, node, this.notification(sub.jid, event()), coalescible);
  }

  private bucket(node: string): Map<string, Subscription> {
    let subs = this.subs.get(node);
    if (!subs) {
      subs = new Map();
      this.subs.set(node, subs);
    }
    return subs;
  }

  private subscriptionsForJid(jid: string): Subscription[] {
    return [...this.subs.values()].flatMap((m) => (m.has(jid) ? [m.get(jid)!] : []));
  }
}

/** JIDs in the node's lists in canonical form (RFC 7622: localpart and domain compare case-insensitively). */
function normalised(node: NodeOptions): NodeOptions {
  const canon = (list: string[]) => list.map((j) => parseJid(j).toString());
  return { ...node, publishers: canon(node.publishers), owners: canon(node.owners), whitelist: canon(node.whitelist) };
}

/** A bare JID in a list matches every resource of it; a full JID only itself. */
function matchesAny(list: string[], jid: JID): boolean {
  const full = jid.toString();
  const bare = jid.bare().toString();
  return list.some((entry) => entry === full || entry === bare);
}
