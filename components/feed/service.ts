import { randomUUID } from "node:crypto";
import { ComponentConfig, type Element, Inject, type JID, Logger, Metrics, type OnOnline, type OnStart, type OnStop, parseJid, parseXml, PresenceRoster, RateLimits, Sender, Service, xml } from "annex";
import { Notifier } from "./notifier.js";
import { type FeedOptions, type NodeOptions, NodeOptionsSchema } from "./options.js";
import { errors, NS_PUBSUB_EVENT } from "./pubsub/errors.js";
import { Mirror } from "./sources/mirror.js";
import { inOwnersRoster } from "./owner-roster.js";
import type { FeedSink, PublishRequest } from "./publish.js";
import { startSources, type RunningSource } from "./sources/index.js";
import { describeStorage, openStore } from "./store/open.js";
import {
  type FeedItem,
  type FeedStore,
  generatedId,
  NodeFullError,
  type Page,
  type PageRequest,
  type Retention,
  type StoreChange,
  type StoredSubscription,
  type SubscriptionState,
  UnknownItemError,
} from "./store/store.js";

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

/** A subscription as the service holds it (a cache of the store's; temporary ones are held under a lease, XEP-0060 §12.4). */
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

/** How often the notified marks are written at most on SQLite (see markNotified). */
const SQLITE_MARK_EVERY_MS = 20;
/** Items notified at once by the catch-up after a takeover. */
const CATCH_UP_BATCH = 500;

/**
 * The feed's state and rules, shared by its XMPP handlers, presence tracking and sources:
 * nodes from the config, the store, subscriptions, notifications and retention.
 *
 * Every subscription, temporary subscription, directed presence and presence-access grant is written to the
 * store before it takes effect; the maps here are a cache of the store, re-read for a node when another process
 * announces a change (PostgreSQL LISTEN/NOTIFY) and entirely every `resyncSeconds`.
 */
@Service()
export class FeedService implements OnStart, OnOnline, OnStop, FeedSink {
  readonly nodes = new Map<string, NodeOptions>();
  readonly notifier: Notifier;
  private store?: FeedStore;
  private opening?: Promise<FeedStore>;
  private readonly subs = new Map<string, Map<string, Subscription>>();
  /** Full JIDs that sent us directed available presence (RFC 6121 §4.6): a cache of the store's. */
  readonly present = new Set<string>();
  /** This process's id on the leases it holds (temporary subscriptions, presence). */
  readonly holder = randomUUID();
  private leaseTimer?: NodeJS.Timeout;
  private resyncTimer?: NodeJS.Timeout;
  private stopRoster?: () => void;
  /** Local subscription writes per node: a re-read that overlaps one is done again (it may have read too early). */
  private readonly writes = new Map<string, number>();
  /** Per node, the newest seq committed before this process started: the catch-up notifies up to it, live publishes after it. */
  private readonly catchUpTo = new Map<string, number>();
  private caughtUp = false;
  /** Fan-outs waiting for the next turn of the event loop (see defer). */
  private readonly deferred: (() => void)[] = [];
  /** Notified marks are written one after another, newest last. */
  private marking: Promise<void> = Promise.resolve();
  /** Marks not yet written: the newest seq per node (written together, at most every MARK_EVERY_MS). */
  private readonly pendingMarks = new Map<string, number>();
  private markTimer?: NodeJS.Timeout;
  private markInFlight = false;
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
    // The lease: renewed three times per lease period, so one missed renewal does not end anything.
    const leaseMs = this.options.leaseSeconds * 1000;
    this.leaseTimer = setInterval(() => void this.renewLeases().catch((err: unknown) => this.log.warn({ err }, "lease renewal failed")), leaseMs / 3);
    this.leaseTimer.unref();
    this.resyncTimer = setInterval(() => void this.resync().catch((err: unknown) => this.log.warn({ err }, "subscription re-read failed")), this.options.resyncSeconds * 1000);
    this.resyncTimer.unref();
    if (this.options.mirror) {
      this.mirror = new Mirror(this.options.mirror, this.sender, this.log, this.domain);
      this.mirror.start([...this.nodes.keys()]);
    }
    this.sources = await startSources(this);
  }

  /** After a takeover: notifications of items committed but not yet notified when the previous process died. */
  async onOnline(): Promise<void> {
    if (this.caughtUp) return;
    this.caughtUp = true;
    await this.catchUp().catch((err: unknown) => this.log.error({ err }, "notification catch-up failed"));
  }

  async onStop(): Promise<void> {
    clearInterval(this.metricsTimer);
    clearInterval(this.sweep);
    clearInterval(this.leaseTimer);
    clearInterval(this.resyncTimer);
    this.stopRoster?.();
    this.mirror?.stop();
    for (const source of this.sources.splice(0)) await source.stop().catch((err: unknown) => this.log.error({ err }, "source did not stop cleanly"));
    // Fan-outs deferred by the last publishes go out before the queues are awaited.
    await new Promise((resolve) => setImmediate(resolve));
    await this.notifier.settled();
    this.flushMarks();
    await this.marking;
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
      // This process serves the domain now (a standby starts only once it holds the domain): the leases of the
      // previous process's temporary subscriptions and presence become ours before they run out.
      const leaseUntil = Date.now() + this.options.leaseSeconds * 1000;
      const adopted = await store.adoptLeases(this.holder, leaseUntil, Date.now());
      await this.loadFrom(store);
      for (const bare of await store.presenceAccess()) this.roster.record("subscribed", bare);
      this.stopRoster = this.roster.onChange((change, bare) => {
        void store.setPresenceAccess(bare, change === "subscribed").catch((err: unknown) => this.log.error({ err, jid: bare }, "presence-access grant not stored"));
      });
      for (const [name, node] of this.nodes) {
        if (!node.persistItems) continue;
        const latest = (await store.latest(name))?.seq ?? 0;
        this.catchUpTo.set(name, latest);
        // A node never notified before (a new node, or a store from before the mark): nothing to catch up.
        if ((await store.notifiedUpTo(name)) === undefined && latest > 0) await store.markNotified(name, latest);
      }
      await store.watch?.((change) => void this.changed(change).catch((err: unknown) => this.log.warn({ err, change }, "could not re-read after a change")));
      this.log.info({ storage: describeStorage(storage), nodes: [...this.nodes.keys()], adoptedLeases: adopted }, "feed store open");
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
    const store = await this.ready();
    const options = sameOptions(sub.options, DEFAULT_SUBSCRIPTION_OPTIONS) ? undefined : JSON.stringify(sub.options);
    const temporary = sub.temporary ? { boundTo: sub.boundTo ?? sub.jid, holder: this.holder, leaseUntil: this.leaseUntil() } : undefined;
    this.wrote(sub.node);
    await store.saveSubscription({ node: sub.node, jid: sub.jid, state: sub.state, options, ...(temporary ? { temporary } : {}) });
  }

  private leaseUntil(): number {
    return Date.now() + this.options.leaseSeconds * 1000;
  }

  private wrote(node: string): void {
    this.writes.set(node, (this.writes.get(node) ?? 0) + 1);
  }

  /** Renews this process's leases and ends those nobody renewed (a process that died without a successor). */
  async renewLeases(now = Date.now()): Promise<void> {
    const store = await this.ready();
    await store.renewLeases(this.holder, now + this.options.leaseSeconds * 1000);
    if ((await store.expireLeases(now)) > 0) await this.resync(now);
  }

  // ---- the cache of the store ----

  /** Replaces the cached subscriptions and presence with the store's. */
  private async loadFrom(store: FeedStore, now = Date.now()): Promise<void> {
    const writes = new Map(this.writes);
    const subs = await store.subscriptions(undefined, now);
    const present = await store.present(now);
    const byNode = new Map<string, StoredSubscription[]>();
    for (const sub of subs) byNode.set(sub.node, [...(byNode.get(sub.node) ?? []), sub]);
    for (const node of new Set([...this.subs.keys(), ...byNode.keys()])) {
      if ((this.writes.get(node) ?? 0) !== (writes.get(node) ?? 0)) continue; // a local write overlapped: keep the newer cache
      this.fill(node, byNode.get(node) ?? []);
    }
    this.present.clear();
    for (const jid of present) this.present.add(jid);
  }

  private fill(node: string, stored: StoredSubscription[]): void {
    if (!this.nodes.has(node)) return;
    const bucket = new Map<string, Subscription>();
    for (const sub of stored) bucket.set(sub.jid, fromStored(sub));
    if (bucket.size === 0) this.subs.delete(node);
    else this.subs.set(node, bucket);
  }

  /** Another process changed the store: re-read what it names. */
  private async changed(change: StoreChange): Promise<void> {
    const store = await this.ready();
    switch (change.kind) {
      case "subscription": {
        for (let attempt = 0; attempt < 5; attempt++) {
          const before = this.writes.get(change.node) ?? 0;
          const stored = await store.subscriptions(change.node);
          if ((this.writes.get(change.node) ?? 0) !== before) continue;
          this.fill(change.node, stored);
          return;
        }
        return;
      }
      case "presence": {
        const present = await store.present();
        this.present.clear();
        for (const jid of present) this.present.add(jid);
        return;
      }
      case "presence-access":
        return this.resyncRoster(store);
      case "resync":
        return this.resync();
    }
  }

  private async resyncRoster(store: FeedStore): Promise<void> {
    const granted = new Set(await store.presenceAccess());
    for (const bare of this.roster.list()) if (!granted.has(bare)) this.roster.record("unsubscribed", bare);
    for (const bare of granted) if (!this.roster.has(bare)) this.roster.record("subscribed", bare);
  }

  /** Re-reads every subscription, presence and presence-access grant (the bound when a change notice was missed). */
  async resync(now = Date.now()): Promise<void> {
    const store = await this.ready();
    await this.loadFrom(store, now);
    await this.resyncRoster(store);
  }

  // ---- directed presence (RFC 6121 §4.6) ----

  async markPresent(fullJid: string): Promise<void> {
    const store = await this.ready();
    await store.setPresent(fullJid, { holder: this.holder, leaseUntil: this.leaseUntil() });
    this.present.add(fullJid);
  }

  async markAbsent(fullJid: string): Promise<void> {
    const store = await this.ready();
    this.present.delete(fullJid);
    await store.removePresent(fullJid);
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
    this.catchUpTo.delete(name);
  }

  async unsubscribe(node: string, jid: string): Promise<boolean> {
    const store = await this.ready();
    const sub = this.bucket(node).get(jid);
    if (!sub) return false;
    this.bucket(node).delete(jid);
    this.wrote(node);
    await store.removeSubscription(node, jid);
    if (this.bucket(node).size === 0) this.subs.delete(node);
    if (this.subscriptionsForJid(jid).length === 0) this.notifier.forget(jid);
    return true;
  }

  /** XEP-0060 §12.4: the entity went offline; its temporary subscriptions end (in the store too). Returns how many. */
  async endTemporary(fullJid: string): Promise<number> {
    const store = await this.ready();
    for (const subs of this.subs.values()) {
      for (const [jid, sub] of subs) {
        if (sub.temporary && (sub.boundTo === fullJid || sub.jid === fullJid)) {
          this.wrote(sub.node);
          subs.delete(jid);
          this.notifier.forget(jid);
        }
      }
    }
    // The store's answer counts, also for subscriptions another process took.
    return (await store.endTemporary(fullJid)).length;
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
    // The acknowledgement does not wait behind the fan-out: who gets it is fixed now, at the commit (a later
    // subscriber gets the item as its last published one instead), but the notifications are built and queued
    // on the next turn of the event loop, after the caller's answer (the IQ result, the HTTP response) went out.
    const recipients = this.recipients(nodeName);
    this.defer(() => this.fanOut(node, item, recipients));
    return item;
  }

  /** XEP-0060 §7.1.2: every publish, overwrite included, is notified (with the payload unless deliver_payloads is off, §7.1.2.2). */
  private fanOut(node: FeedNode, item: FeedItem, recipients = this.recipients(node.name)): void {
    if (!this.nodes.has(node.name)) return;
    this.deliver(node.name, recipients, () => xml("items", { node: node.name }, node.deliverPayloads ? this.itemElement(item) : xml("item", { id: item.id })), true, item);
    this.mirror?.publish(node.name, item);
    if (node.persistItems) this.markNotified(node.name, item.seq);
  }

  /**
   * The last-published bookkeeping: this item's notifications are queued. Written off the publish path. On
   * PostgreSQL (where a standby takes over) at once, one write in flight at a time, the marks that came
   * meanwhile in the next: an item fanned out within about one round trip before a kill -9 is notified again
   * by the successor. On SQLite (one process) coalesced to one write every SQLITE_MARK_EVERY_MS, so its
   * synchronous commit is not paid per item.
   */
  private markNotified(node: string, seq: number): void {
    this.pendingMarks.set(node, Math.max(seq, this.pendingMarks.get(node) ?? 0));
    if (this.store?.kind === "postgres") {
      if (!this.markInFlight) this.flushMarks();
    } else {
      this.markTimer ??= setTimeout(() => this.flushMarks(), SQLITE_MARK_EVERY_MS);
    }
  }

  private flushMarks(): void {
    clearTimeout(this.markTimer);
    this.markTimer = undefined;
    const store = this.store;
    if (!store || this.pendingMarks.size === 0) return;
    const marks = [...this.pendingMarks];
    this.pendingMarks.clear();
    this.markInFlight = true;
    this.marking = this.marking
      .then(async () => {
        for (const [node, seq] of marks) await store.markNotified(node, seq);
      })
      .catch((err: unknown) => this.log.warn({ err }, "notified mark not stored"))
      .finally(() => {
        this.markInFlight = false;
        if (this.pendingMarks.size > 0 && store.kind === "postgres") this.flushMarks();
      });
  }

  /**
   * Notifies, oldest first, the items committed after the node's notified mark and before this process started:
   * published and acknowledged by a process that died before their notifications went out.
   */
  private async catchUp(): Promise<void> {
    const store = await this.ready();
    for (const [name, upTo] of this.catchUpTo) {
      const node = this.nodes.get(name);
      const stored = await store.notifiedUpTo(name);
      if (!node || stored === undefined) continue;
      let mark: number = stored;
      let notified = 0;
      while (mark < upTo) {
        const items: FeedItem[] = (await store.itemsAfterSeq(name, mark, CATCH_UP_BATCH)).filter((i) => i.seq <= upTo);
        if (items.length === 0) break;
        for (const item of items) this.fanOut({ ...node, name }, item);
        notified += items.length;
        mark = items.at(-1)!.seq;
      }
      if (notified > 0) this.log.info({ node: name, items: notified }, "notified items the previous process had not");
    }
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
    this.defer(() => this.notifier.notify(sub.jid, sub.node, this.notification(sub.jid, event, { body, delay: item.published }), true));
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

  /** Every event goes out deferred and in order (a publish's notifications before a later retract's). */
  private broadcast(nodeName: string, event: () => Element, coalescible: boolean, item?: FeedItem): void {
    const recipients = this.recipients(nodeName);
    this.defer(() => this.deliver(nodeName, recipients, event, coalescible, item));
  }

  /** Runs `work` on the next turn of the event loop, after what is being answered now, in the order deferred. */
  private defer(work: () => void): void {
    this.deferred.push(work);
    if (this.deferred.length > 1) return;
    setImmediate(() => {
      for (const next of this.deferred.splice(0)) {
        try {
          next();
        } catch (err) {
          this.log.error({ err }, "notification fan-out failed");
        }
      }
    });
  }

  /** The subscriptions that get the node's notifications now. */
  private recipients(nodeName: string): Subscription[] {
    const node = this.nodes.get(nodeName);
    const now = Date.now();
    return this.subscriptionsOf(nodeName).filter((sub) => this.receives(sub, node, now));
  }

  private deliver(nodeName: string, recipients: Subscription[], event: () => Element, coalescible: boolean, item?: FeedItem): void {
    for (const sub of recipients) {
      const body = sub.options.includeBody && item ? itemBody(nodeName, item.id) : undefined;
      this.notifier.notify(sub.jid, nodeName, this.notification(sub.jid, event(), { body }), coalescible);
    }
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

function fromStored(sub: StoredSubscription): Subscription {
  return {
    node: sub.node,
    jid: sub.jid,
    state: sub.state,
    temporary: sub.temporary !== undefined,
    ...(sub.temporary ? { boundTo: sub.temporary.boundTo } : {}),
    options: parseStoredOptions(sub.options),
  };
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
