import { ComponentConfig, type Element, Inject, type JID, Logger, Metrics, type OnStart, type OnStop, parseJid, parseXml, PresenceRoster, RateLimits, Sender, Service, xml } from "annex";
import { Notifier } from "./notifier.js";
import { type FeedOptions, type NodeOptions, NodeOptionsSchema } from "./options.js";
import { errors, NS_PUBSUB_EVENT } from "./pubsub/errors.js";
import { Mirror } from "./sources/mirror.js";
import { inOwnersRoster } from "./owner-roster.js";
import type { FeedSink, PublishRequest } from "./publish.js";
import { startSources, type RunningSource } from "./sources/index.js";
import { describeStorage, openStore } from "./store/open.js";
import { type FeedItem, type FeedStore, generatedId, NodeFullError, type Page, type PageRequest, type Retention, type SubscriptionState, UnknownItemError } from "./store/store.js";

/** XEP-0060 §6.3 subscription options (pubsub#subscribe_options). */
export interface SubscriptionOptions {
  /** pubsub#deliver: false = the subscription stays but nothing is delivered. */
  deliver: boolean;
  /** pubsub#include_body: notifications carry a human-readable <body/>. */
  includeBody: boolean;
  /** pubsub#expire: an XEP-0082 date-time after which the subscription ends (epoch ms); "presence" is `temporary`. */
  expiresAt?: number;
}

export const DEFAULT_SUBSCRIPTION_OPTIONS: SubscriptionOptions = { deliver: true, includeBody: false };

/** A subscription as the service holds it; temporary ones live only in memory (XEP-0060 §12.4). */
export interface Subscription {
  node: string;
  jid: string;
  temporary: boolean;
  /** The full JID whose unavailable presence ends a temporary subscription. */
  boundTo?: string;
  /** XEP-0060 §4.2: pending = waiting for an owner's approval (authorize access model). */
  state: SubscriptionState;
  options: SubscriptionOptions;
}

/** XEP-0060 §4.1 affiliations this service supports. */
export type Affiliation = "owner" | "publisher" | "member" | "outcast" | "none";

export type FeedNode = NodeOptions & { name: string };

export type { PublishRequest } from "./publish.js";

/**
 * The feed's state and rules, shared by its XMPP handlers, presence tracking and sources:
 * nodes from the config, the store, subscriptions, notifications and retention.
 */
@Service()
export class FeedService implements OnStart, OnStop, FeedSink {
  readonly nodes = new Map<string, NodeOptions>();
  readonly notifier: Notifier;
  private store?: FeedStore;
  private opening?: Promise<FeedStore>;
  private readonly subs = new Map<string, Map<string, Subscription>>();
  /** Full JIDs that sent us directed available presence (RFC 6121 §4.6). */
  readonly present = new Set<string>();
  /** Server domains that granted us XEP-0356 roster access (for the XEP-0060 presence access model). */
  readonly rosterServers = new Set<string>();
  private sweep?: NodeJS.Timeout;
  private sources: RunningSource[] = [];
  mirror?: Mirror;
  private ephemeralSeq = 0;
  private metricsTimer?: NodeJS.Timeout;
  private readonly meters;
  /** Nodes from the configuration file (they may be deleted over XMPP only when `deletable`). */
  readonly configNodes = new Set<string>();
  private notificationSeq = 0;

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
    for (const name of this.nodes.keys()) this.configNodes.add(name);
    // A source's node exists even when the config does not describe it.
    for (const source of config.options.sources) {
      if (!this.nodes.has(source.node)) this.nodes.set(source.node, NodeOptionsSchema.parse({}));
      this.configNodes.add(source.node);
    }
    this.notifier = new Notifier((s) => this.sender.send(s), config.options.notifications, (err, jid) => this.log.debug({ err, jid }, "notification not sent"), (template, to, ids) => this.sender.fanOut(template, to, ids));
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
      // Node configurations changed over XMPP win over the file; a deleted file node stays deleted.
      for (const stored of await store.storedNodes()) {
        if (stored.deleted) {
          this.nodes.delete(stored.name);
          continue;
        }
        const parsed = NodeOptionsSchema.safeParse(JSON.parse(stored.config ?? "{}"));
        if (parsed.success) this.nodes.set(stored.name, normalised(parsed.data));
        else this.log.error({ node: stored.name, issues: parsed.error.issues }, "stored node configuration is invalid; the node is skipped");
      }
      for (const sub of await store.subscriptions()) {
        if (!this.nodes.has(sub.node)) continue;
        this.bucket(sub.node).set(sub.jid, { node: sub.node, jid: sub.jid, state: sub.state, temporary: false, options: parseStoredOptions(sub.options) });
      }
      this.log.info({ storage: describeStorage(storage), nodes: [...this.nodes.keys()] }, "feed store open");
      this.store = store;
      return store;
    })();
    // A store that could not be opened (database down) is tried again on the next use.
    this.opening.catch(() => (this.opening = undefined));
    return this.opening;
  }

  node(name: string | undefined, action: string): FeedNode {
    if (name === undefined || name === "") throw errors.nodeRequired(action);
    const node = this.nodes.get(name);
    if (!node) throw errors.noNode(name);
    return { ...node, name };
  }

  retention(node: NodeOptions): Retention {
    return { maxItems: node.maxItems, maxAgeMs: node.maxAgeSeconds === undefined ? undefined : node.maxAgeSeconds * 1000, rejectWhenFull: node.whenFull === "reject" };
  }

  // ---- access (XEP-0060 §4.5) ----

  isAdmin(jid: JID): boolean {
    return matchesAny(this.admins, jid);
  }

  private get admins(): string[] {
    return this.options.admins.map((j) => parseJid(j).toString());
  }

  /** XEP-0060 §4.1: the entity's affiliation with the node (service admins act as owners). */
  affiliation(node: NodeOptions, jid: JID): Affiliation {
    if (matchesAny(node.owners, jid) || this.isAdmin(jid)) return "owner";
    if (matchesAny(node.outcasts, jid)) return "outcast";
    if (matchesAny(node.publishers, jid)) return "publisher";
    if (matchesAny(node.whitelist, jid)) return "member";
    return "none";
  }

  /** Publish and retract rights: owners and publishers, plus everyone the node's publish_model admits. */
  isPublisher(node: FeedNode, jid: JID): boolean {
    const affiliation = this.affiliation(node, jid);
    if (affiliation === "owner" || affiliation === "publisher") return true;
    if (affiliation === "outcast") return false;
    if (node.publishModel === "open") return true;
    if (node.publishModel === "subscribers") return this.subscriptionsFor(jid, node.name).some((s) => s.state === "subscribed");
    return false;
  }

  isOwner(node: NodeOptions, jid: JID): boolean {
    return this.affiliation(node, jid) === "owner";
  }

  /** Subscribe and retrieve rights under the node's access model (XEP-0060 §4.5, §6.1.3, §6.5.9). */
  checkAccess(node: FeedNode, jid: JID): void {
    const affiliation = this.affiliation(node, jid);
    // XEP-0060 §6.1.3.8, §6.5.9.10: outcasts are blocked.
    if (affiliation === "outcast") throw errors.forbidden(`${jid.bare().toString()} is an outcast of node ${JSON.stringify(node.name)}`);
    if (affiliation !== "none") return;
    const bare = jid.bare().toString();
    if (node.access === "whitelist") throw errors.closedNode(node.name);
    // The presence-subscription plugin's roster: who subscribed to the feed's own presence.
    if (node.access === "service-presence" && !this.roster.has(bare)) throw errors.presenceRequired(node.name);
    // The presence model is checked against the owners' rosters (async): see checkOwnerPresence.
  }

  /** XEP-0060 §4.5, §6.1.3.2: on a presence node, only entities the owner has a presence subscription from. */
  async checkOwnerPresence(node: FeedNode, jid: JID): Promise<void> {
    if (node.access !== "presence" || this.affiliation(node, jid) !== "none") return;
    if (!(await inOwnersRoster(this, node.owners, jid))) throw errors.ownerPresenceRequired(node.name);
  }

  /** The presence access model can be offered: some server granted us roster access (XEP-0356). */
  get ownerPresenceAvailable(): boolean {
    return this.rosterServers.size > 0;
  }

  /** May this entity create nodes (the createNodes option, XEP-0060 §8.1)? */
  mayCreate(jid: JID): boolean {
    if (this.isAdmin(jid)) return true;
    if (this.options.createNodes !== "local") return false;
    const local = this.options.localDomains ?? [this.domain.split(".").slice(1).join(".") || this.domain];
    return jid.local !== undefined && jid.local !== "" && local.includes(jid.domain);
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

  async subscribe(
    node: string,
    jid: string,
    options: { temporary: boolean; boundTo?: string; state?: SubscriptionState; options?: SubscriptionOptions },
  ): Promise<Subscription> {
    const existing = this.bucket(node).get(jid);
    // An existing persistent subscription stays persistent (and keeps its state: a pending one stays pending).
    if (existing && !existing.temporary) {
      if (options.options) await this.setSubscriptionOptions(existing, options.options);
      return existing;
    }
    const sub: Subscription = {
      node,
      jid,
      temporary: options.temporary,
      boundTo: options.temporary ? options.boundTo : undefined,
      state: options.state ?? "subscribed",
      options: options.options ?? { ...DEFAULT_SUBSCRIPTION_OPTIONS },
    };
    await this.persist(sub);
    this.bucket(node).set(jid, sub);
    return sub;
  }

  /** The subscription of exactly this JID to the node. */
  subscription(node: string, jid: string): Subscription | undefined {
    return this.subs.get(node)?.get(jid);
  }

  async setSubscriptionOptions(sub: Subscription, options: SubscriptionOptions): Promise<void> {
    sub.options = options;
    await this.persist(sub);
  }

  async setSubscriptionState(sub: Subscription, state: SubscriptionState): Promise<void> {
    sub.state = state;
    await this.persist(sub);
  }

  private async persist(sub: Subscription): Promise<void> {
    if (sub.temporary) return;
    const store = await this.ready();
    const options = sameOptions(sub.options, DEFAULT_SUBSCRIPTION_OPTIONS) ? undefined : JSON.stringify(sub.options);
    await store.saveSubscription({ node: sub.node, jid: sub.jid, state: sub.state, options });
  }

  // ---- node lifecycle (XEP-0060 §8.1-8.4) ----

  /** Creates (or reconfigures) a node and stores its configuration; takes effect at once. */
  async saveNode(name: string, options: NodeOptions): Promise<FeedNode> {
    const store = await this.ready();
    const node = normalised(options);
    await store.saveNode(name, JSON.stringify(node));
    this.nodes.set(name, node);
    return { ...node, name };
  }

  /** XEP-0060 §8.4: deletes the node, its items and subscriptions; subscribers get the delete event when notify_delete. */
  async deleteNode(name: string): Promise<void> {
    const store = await this.ready();
    const node = this.node(name, "delete");
    // §8.4.2: the delete event goes out before the subscriptions are gone.
    if (node.notifyDelete) this.broadcast(name, () => xml("delete", { node: name }), false);
    await store.deleteNode(name, this.configNodes.has(name));
    for (const sub of this.subscriptionsOf(name)) if (this.subscriptionsForJid(sub.jid).length === 1) this.notifier.forget(sub.jid);
    this.subs.delete(name);
    this.nodes.delete(name);
  }

  async unsubscribe(node: string, jid: string): Promise<boolean> {
    const store = await this.ready();
    const sub = this.bucket(node).get(jid);
    if (!sub) return false;
    this.bucket(node).delete(jid);
    if (!sub.temporary) await store.removeSubscription(node, jid);
    if (this.bucket(node).size === 0) this.subs.delete(node);
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
    // XEP-0060 §7.1.2: every publish, overwrite included, is notified (with the payload unless deliver_payloads is off, §7.1.2.2).
    this.broadcast(nodeName, () => xml("items", { node: nodeName }, node.deliverPayloads ? this.itemElement(item) : xml("item", { id: item.id })), true, item);
    this.mirror?.publish(nodeName, item);
    return item;
  }

  async retract(nodeName: string, id: string, notify: boolean): Promise<boolean> {
    const store = await this.ready();
    const removed = await store.retract(nodeName, id);
    // XEP-0060 §7.2.2: notify when asked to, or always when the node's notify_retract is on.
    if (removed && (notify || this.nodes.get(nodeName)?.notifyRetract)) this.broadcast(nodeName, () => xml("items", { node: nodeName }, xml("retract", { id })), false);
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

  /**
   * XEP-0060 §7.1.2.1: a headline message with the event to one subscriber. It carries an id (§7.1.2: SHOULD,
   * so a client can match errors to it), and a <body/> when the subscriber asked for one (pubsub#include_body).
   */
  notification(to: string, event: Element, extra: { body?: string; delay?: number } = {}): Element {
    return xml(
      "message",
      { from: this.domain, to, type: "headline", id: `n${Date.now().toString(36)}-${(++this.notificationSeq).toString(36)}` },
      extra.body === undefined ? null : xml("body", {}, extra.body),
      xml("event", { xmlns: NS_PUBSUB_EVENT }, event),
      // XEP-0060 §6.1.7 (SHOULD): the last published item says when it was published (XEP-0203).
      extra.delay === undefined ? null : xml("delay", { xmlns: "urn:xmpp:delay", stamp: new Date(extra.delay).toISOString(), from: this.domain }),
    );
  }

  /** XEP-0060 §6.1.7: the last item to a new subscriber (through its queue, after the IQ result), stamped with its publish time. */
  sendLastItem(sub: Subscription, item: FeedItem): void {
    const node = this.nodes.get(sub.node);
    const event = xml("items", { node: sub.node }, node?.deliverPayloads === false ? xml("item", { id: item.id }) : this.itemElement(item));
    const body = sub.options.includeBody ? itemBody(sub.node, item.id) : undefined;
    setImmediate(() => this.notifier.notify(sub.jid, sub.node, this.notification(sub.jid, event, { body, delay: item.published }), true));
  }

  /** XEP-0060 §8.6, §8.8.4: tells an entity the state of its subscription. */
  notifySubscriptionState(node: string, jid: string, state: SubscriptionState | "none"): void {
    this.notifier.notify(jid, node, this.notification(jid, xml("subscription", { node, jid, subscription: state })), false);
  }

  /** Sends a stanza outside the subscriber queues (e.g. an approval request to an owner). */
  send(stanza: Element): void {
    void this.sender.send(stanza).catch((err: unknown) => this.log.warn({ err }, "could not send"));
  }

  async trimAll(now = Date.now()): Promise<number> {
    const store = await this.ready();
    let removed = 0;
    for (const [name, node] of this.nodes) if (node.persistItems) removed += await store.trim(name, this.retention(node), now);
    await this.expireSubscriptions(now);
    if (removed > 0) this.log.debug({ removed }, "retention removed items");
    return removed;
  }

  /** pubsub#expire: subscriptions whose date-time has passed end (checked on delivery and by the sweep). */
  async expireSubscriptions(now = Date.now()): Promise<number> {
    let ended = 0;
    for (const sub of [...this.subs.values()].flatMap((m) => [...m.values()])) {
      if (sub.options.expiresAt !== undefined && sub.options.expiresAt <= now) {
        await this.unsubscribe(sub.node, sub.jid);
        ended++;
      }
    }
    return ended;
  }

  /** Who gets a node's notifications: subscribed (not pending), delivery on, not expired, present when the node asks for presence. */
  private receives(sub: Subscription, node: NodeOptions | undefined, now: number): boolean {
    if (sub.state !== "subscribed" || !sub.options.deliver) return false;
    if (sub.options.expiresAt !== undefined && sub.options.expiresAt <= now) return false;
    // pubsub#presence_based_delivery: only to entities that sent us available presence (the resource itself, or any resource of a bare JID).
    if (node?.presenceBasedDelivery && !this.isPresent(sub.jid)) return false;
    return true;
  }

  isPresent(jid: string): boolean {
    if (this.present.has(jid)) return true;
    for (const full of this.present) if (full.startsWith(`${jid}/`)) return true;
    return false;
  }

  private broadcast(nodeName: string, event: () => Element, coalescible: boolean, item?: FeedItem): void {
    const node = this.nodes.get(nodeName);
    const now = Date.now();
    // One payload for everyone who gets the same one (with or without the item's body): serialised once (fan-out).
    const withBody: string[] = [];
    const without: string[] = [];
    for (const sub of this.subscriptionsOf(nodeName)) {
      if (!this.receives(sub, node, now)) continue;
      (sub.options.includeBody && item ? withBody : without).push(sub.jid);
    }
    if (without.length > 0) this.notifier.notifyAll(without, nodeName, this.notification(without[0]!, event()), coalescible);
    if (withBody.length > 0) this.notifier.notifyAll(withBody, nodeName, this.notification(withBody[0]!, event(), { body: itemBody(nodeName, item!.id) }), coalescible);
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
  const canon = (list: string[]) => [...new Set(list.map((j) => parseJid(j).toString()))];
  return { ...node, publishers: canon(node.publishers), owners: canon(node.owners), whitelist: canon(node.whitelist), outcasts: canon(node.outcasts) };
}

/** pubsub#include_body: the human-readable line that goes with a notification. */
function itemBody(node: string, id: string): string {
  return `New item ${id} in node ${node}`;
}

function parseStoredOptions(json: string | undefined): SubscriptionOptions {
  if (json === undefined) return { ...DEFAULT_SUBSCRIPTION_OPTIONS };
  return { ...DEFAULT_SUBSCRIPTION_OPTIONS, ...(JSON.parse(json) as Partial<SubscriptionOptions>) };
}

function sameOptions(a: SubscriptionOptions, b: SubscriptionOptions): boolean {
  return a.deliver === b.deliver && a.includeBody === b.includeBody && a.expiresAt === b.expiresAt;
}

/** A bare JID in a list matches every resource of it; a full JID only itself. */
function matchesAny(list: string[], jid: JID): boolean {
  const full = jid.toString();
  const bare = jid.bare().toString();
  return list.some((entry) => entry === full || entry === bare);
}
