import { z } from "zod";

/**
 * Several pong processes as one service (README.md §Shards): the front door runs on `frontDoor` (the public
 * domain, active/standby), every other entry with the same `cluster` is a shard on its own domain.
 */
export const ClusterOptionsSchema = z.object({
  /** The shared directory, queue, tokens and leaderboard. */
  postgres: z.string().regex(/^postgres(ql)?:\/\/.+/, 'must look like "postgres://user@host:port/database"'),
  /** The public domain players address (e.g. pong.example.org); the entry with this domain is the front door. */
  frontDoor: z.string().min(1),
  /** How often a shard writes its load into PostgreSQL. */
  heartbeatMs: z.number().int().min(100).max(60_000).default(1000),
  /** A shard silent this long is dead: its games end with `server-lost` and it gets no new rooms. */
  deadAfterMs: z.number().int().min(300).max(600_000).default(3000),
}).strict().refine((c) => c.deadAfterMs > c.heartbeatMs, { message: "deadAfterMs must exceed heartbeatMs (else live shards are taken for dead)", path: ["deadAfterMs"] });

export type ClusterOptions = z.infer<typeof ClusterOptionsSchema>;

/** The pong component's `options` (the config contract plus the keys documented in README.md). */
export const PongOptionsSchema = z
  .object({
    /** First to this many points wins (the book: 10). */
    pointsToWin: z.number().int().min(1).max(1000).default(10),
    /** Games running at once; one more check-in gets the book's "Game is currently full". */
    maxRooms: z.number().int().min(1).default(1000),
    /** Simulation rate. */
    tickHz: z.number().int().min(10).max(1000).default(60),
    /** Snapshot rate to players and spectators; must divide into the tick rate (sent every round(tickHz/snapshotHz) ticks). */
    snapshotHz: z.number().int().min(1).default(20),
    /** How long a player who went offline may take to come back before forfeiting. */
    graceSeconds: z.number().min(0).default(30),
    /** "sqlite:<path>" for a file (WAL); omitted = in memory (lost on restart). */
    leaderboard: z.string().regex(/^sqlite:.+$/, 'must look like "sqlite:<path>"').optional(),
    /** Publish each finished game to this XEP-0060 node. */
    resultsFeed: z.object({ service: z.string().min(1), node: z.string().min(1).default("pong-results") }).strict().optional(),
    /** Per-sender input budget (token bucket): sustained rate and burst. */
    inputRateHz: z.number().positive().default(30),
    inputBurst: z.number().int().min(1).default(30),
    /** Larger game stanzas are refused with policy-violation. */
    maxStanzaBytes: z.number().int().min(256).default(2048),
    /** A player waiting this long for an opponent is dropped from the queue (told so). */
    queueTimeoutSeconds: z.number().positive().default(300),
    /** A computer opponent for a player who has waited `afterSeconds` alone; skill 0 (hopeless) … 1 (near perfect). */
    bot: z.object({ skill: z.number().min(0).max(1).default(0.7), afterSeconds: z.number().min(0).default(10) }).strict().optional(),
    /** Game speed factor: ball and paddle speeds × pace, serve delay ÷ pace (1 = the normal game). */
    pace: z.number().min(0.1).max(10).default(1),
    /** Log the loop's lateness/step percentiles, rooms and drop counters every this many seconds; 0 = never. */
    statsSeconds: z.number().min(0).default(60),
    /**
     * Guests' domains (e.g. the server's anonymous host): a guest gets a new address on every visit, so its
     * games are stored and rate its opponent (the guest counts as a newcomer, 1500), but the guest is not
     * put on the leaderboard, which stays a table of accounts.
     */
    guestDomains: z.array(z.string().min(1)).default([]),
    /** Longest pause a player may ask for between points (PROTOCOL.md §Pause); 0 = no pause requests. */
    pauseSeconds: z.number().min(0).max(600).default(60),
    /** Fixes room seeds (room n gets seed + n) so games can be replayed in tests; omitted = random seeds. */
    seed: z.number().int().optional(),
    /** This entry is one process of a sharded service (front door or shard); omitted = one process does everything. */
    cluster: ClusterOptionsSchema.optional(),
  })
  .strict()
  .refine((o) => !(o.cluster && o.leaderboard), { message: "a sharded service keeps its leaderboard in cluster.postgres: remove leaderboard", path: ["leaderboard"] })
  .refine((o) => o.snapshotHz <= o.tickHz, { message: "snapshotHz must not exceed tickHz", path: ["snapshotHz"] });

export type PongOptions = z.infer<typeof PongOptionsSchema>;
