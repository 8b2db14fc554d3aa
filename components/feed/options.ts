import { tryParseJid } from "annex";
import { z } from "zod";

// The feed's `options` (config contract of issue 6; README.md documents every key).

const Jid = z.string().refine((s) => tryParseJid(s) !== undefined, { error: (i) => `expected a JID such as alice@localhost, not ${JSON.stringify(i.input)}` });
/** XEP-0060 NodeIDs are opaque; we keep them printable and URL-safe so the HTTP ingest can name them. */
const NodeName = z.string().regex(/^[A-Za-z0-9._~:@!$'()*+,;=-]{1,200}$/, "expected a node name of letters, digits and URL-safe punctuation");

const Rate = z.strictObject({
  /** Sustained publishes per second for the node. */
  perSecond: z.number().positive(),
  /** Publishes allowed at once above the sustained rate; default max(1, perSecond). */
  burst: z.int().positive().optional(),
});

export const NodeOptionsSchema = z.strictObject({
  title: z.string().optional(),
  /** The unit of the items' numeric `value` (e.g. "USD"), for charts: in the meta-data form as urn:annex:feed:unit. */
  unit: z.string().min(1).max(16).optional(),
  /** JIDs (bare: any resource; full: that resource) allowed to publish and retract over XMPP. */
  publishers: z.array(Jid).default([]),
  /** JIDs allowed owner operations (purge, subscription list). */
  owners: z.array(Jid).default([]),
  /** Keep at most this many items (newest). */
  maxItems: z.int().positive().default(10_000),
  /** Drop items older than this. */
  maxAgeSeconds: z.number().positive().optional(),
  /** XEP-0060 publish_node_full: evict the oldest (default) or reject new items when maxItems is reached. */
  whenFull: z.enum(["evict", "reject"]).default("evict"),
  /**
   * XEP-0060 §4.5 access models: open, whitelist, authorize (owners approve each subscription, §8.6),
   * presence (the entity is subscribed to a node owner's presence: needs the server to grant the feed XEP-0356
   * roster access), or service-presence: the entity has a presence subscription to this feed's domain (not the
   * XEP's model, so not advertised as access-presence).
   */
  access: z.enum(["open", "presence", "service-presence", "whitelist", "authorize"]).default("open"),
  /** Who may subscribe and retrieve on a whitelist node (bare JIDs): the node's members (XEP-0060 §4.1). */
  whitelist: z.array(Jid).default([]),
  /** XEP-0060 §4.1 outcasts: may not subscribe or retrieve. */
  outcasts: z.array(Jid).default([]),
  /** XEP-0060 pubsub#publish_model: who may publish besides owners and publishers. */
  publishModel: z.enum(["publishers", "subscribers", "open"]).default("publishers"),
  /** pubsub#notify_retract: notify subscribers of every retraction (a retract with notify='true' always does). */
  notifyRetract: z.boolean().default(false),
  /** pubsub#notify_delete: notify subscribers when the node is deleted (XEP-0060 §8.4.2). */
  notifyDelete: z.boolean().default(true),
  /** pubsub#deliver_payloads: false = notifications carry item ids only. */
  deliverPayloads: z.boolean().default(true),
  /** pubsub#presence_based_delivery: notify only subscribers that are present (sent presence to the feed). */
  presenceBasedDelivery: z.boolean().default(false),
  /** pubsub#send_last_published_item for this node; default the feed's sendLastPublishedItem. */
  sendLastPublishedItem: z.enum(["on_sub", "never"]).optional(),
  /** A node from the configuration file may be deleted over XMPP only when this is true. */
  deletable: z.boolean().default(false),
  /** Items may be retrieved only by subscribers (XEP-0060 §6.5.9.2). */
  itemsRequireSubscription: z.boolean().default(false),
  /** false = notifications only, nothing stored (XEP-0060 pubsub#persist_items). */
  persistItems: z.boolean().default(true),
  /** Required namespace of item payloads (XEP-0060 pubsub#type), e.g. urn:xmpp:json:0. */
  payloadNamespace: z.string().min(1).optional(),
  /** Per-node publish rate limit (every publisher together: XMPP, HTTP, sources). */
  rate: Rate.optional(),
});

const Ticker = z.strictObject({
  type: z.literal("ticker"),
  node: NodeName.default("stock-data"),
  intervalMs: z.int().min(10).default(250),
  /** Seed of the value walk, for reproducible data; default random. */
  seed: z.int().optional(),
  /** Starting value (the book starts at 500). */
  start: z.number().min(0).default(500),
});

const Http = z
  .strictObject({
    port: z.int().min(0).max(65535),
    host: z.string().min(1).default("127.0.0.1"),
    token: z.string().min(1).optional(),
    /** A file holding the bearer token (one trailing newline dropped); relative to the working directory. */
    tokenFile: z.string().min(1).optional(),
    /** Largest accepted request body, in bytes. */
    maxBodyBytes: z.int().positive().default(65_536),
  })
  .refine((h) => (h.token === undefined) !== (h.tokenFile === undefined), { error: "expected exactly one of token or tokenFile" });

const Mirror = z.strictObject({
  /** The external XEP-0060 service, e.g. pubsub.localhost. */
  service: z.string().min(1),
  /** Nodes to mirror; default every node. */
  nodes: z.array(NodeName).optional(),
  /** pubsub#max_items sent as a publish-option (the node on the external service is created with it). */
  maxItems: z.int().positive().optional(),
  timeoutMs: z.int().positive().default(5_000),
});

export const FeedOptionsSchema = z.strictObject({
  /** Who may create nodes over XMPP (XEP-0060 §8.1): the admins, any user of a local domain, or nobody. */
  createNodes: z.enum(["admins", "local", "nobody"]).default("admins"),
  /** Service admins: may create nodes and act as owners of every node. */
  admins: z.array(Jid).default([]),
  /** The domains whose users are "local" for createNodes; default the feed domain's parent (feed.localhost → localhost). */
  localDomains: z.array(z.string().min(1)).optional(),
  /** "sqlite:<path>", "memory" or "postgres://…"; default sqlite:data/<domain>.sqlite. */
  storage: z.string().regex(/^(memory|sqlite:.+|postgres(ql)?:\/\/.+)$/, 'expected "memory", "sqlite:<path>" or "postgres://…"').optional(),
  nodes: z.record(NodeName, NodeOptionsSchema).default({}),
  sources: z.array(z.discriminatedUnion("type", [Ticker])).default([]),
  http: Http.optional(),
  mirror: Mirror.optional(),
  /** XEP-0060 §6.1.7: send the node's last item to a new subscriber. */
  sendLastPublishedItem: z.enum(["on_sub", "never"]).default("on_sub"),
  /** Most items in one retrieval answer; larger requests are paged (XEP-0060 §6.5.7). */
  maxPageSize: z.int().positive().max(10_000).default(100),
  /** Largest item payload accepted (serialised bytes). */
  maxPayloadBytes: z.int().positive().default(65_536),
  /** Seconds between retention sweeps (age limits apply even when nobody publishes). */
  retentionSweepSeconds: z.number().positive().default(60),
  /**
   * Seconds a temporary (presence-bound) subscription or directed presence outlives the process that holds it:
   * the live process renews its leases every third of this; a standby that takes over adopts the running ones.
   */
  leaseSeconds: z.number().min(3).max(86_400).default(60),
  /** Seconds between full re-reads of subscriptions and presence from the store (the bound when a change notice is missed). */
  resyncSeconds: z.number().positive().max(86_400).default(30),
  /** Per-subscriber bounds: notifications in flight, then queued; beyond that, latest-value coalescing per node. */
  notifications: z
    .strictObject({ maxInFlight: z.int().positive().default(8), maxQueued: z.int().positive().default(32) })
    .default({ maxInFlight: 8, maxQueued: 32 }),
});

export type FeedOptions = z.infer<typeof FeedOptionsSchema>;
export type NodeOptions = z.infer<typeof NodeOptionsSchema>;
export type TickerSource = z.infer<typeof Ticker>;
export type HttpOptions = z.infer<typeof Http>;
export type MirrorOptions = z.infer<typeof Mirror>;
export type RateOptions = z.infer<typeof Rate>;
