import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
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
  type Lease,
  type Retention,
  type StoredNode,
  type StoredSubscription,
  type SubscriptionRow,
  temporaryColumns,
  toSubscription,
  UnknownItemError,
} from "./store.js";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS feed_items (
  node TEXT NOT NULL, id TEXT NOT NULL, seq INTEGER NOT NULL, publisher TEXT NOT NULL,
  published INTEGER NOT NULL, payload TEXT NOT NULL, PRIMARY KEY (node, id));
CREATE UNIQUE INDEX IF NOT EXISTS feed_items_order ON feed_items (node, seq);
CREATE TABLE IF NOT EXISTS feed_counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO feed_counters (name, value) VALUES ('seq', 0);
CREATE TABLE IF NOT EXISTS feed_subscriptions (node TEXT NOT NULL, jid TEXT NOT NULL, PRIMARY KEY (node, jid));
CREATE TABLE IF NOT EXISTS feed_nodes (name TEXT PRIMARY KEY, config TEXT, deleted INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS feed_presence (jid TEXT PRIMARY KEY, holder TEXT NOT NULL, lease_until INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS feed_presence_access (jid TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS feed_notified (node TEXT PRIMARY KEY, seq INTEGER NOT NULL);
`;

/** Columns added after the first release; a file from before gets them on open. */
const SUBSCRIPTION_COLUMNS: Record<string, string> = {
  state: "ALTER TABLE feed_subscriptions ADD COLUMN state TEXT NOT NULL DEFAULT 'subscribed'",
  options: "ALTER TABLE feed_subscriptions ADD COLUMN options TEXT",
  temporary: "ALTER TABLE feed_subscriptions ADD COLUMN temporary INTEGER NOT NULL DEFAULT 0",
  bound_to: "ALTER TABLE feed_subscriptions ADD COLUMN bound_to TEXT",
  holder: "ALTER TABLE feed_subscriptions ADD COLUMN holder TEXT",
  lease_until: "ALTER TABLE feed_subscriptions ADD COLUMN lease_until INTEGER",
};

const SUB_COLUMNS = "node, jid, state, options, temporary, bound_to, holder, lease_until";
/** Persistent ones, and temporary ones whose lease still runs. */
const LIVE = "(temporary = 0 OR lease_until > @now)";

interface Row {
  node: string;
  id: string;
  seq: number;
  publisher: string;
  published: number;
  payload: string;
}

/**
 * The embedded default: one SQLite file in WAL mode. better-sqlite3 is synchronous, so a publish
 * returns only after its transaction committed; with synchronous=FULL the commit is on disk before
 * the publisher gets its result (a kill -9 or power loss after the ack loses nothing).
 */
export class SqliteStore implements FeedStore {
  readonly kind = "sqlite";
  private db!: Database.Database;
  private statements!: ReturnType<SqliteStore["prepare"]>;

  /**
   * `synchronous: "OFF"` is only for bulk loads by tools and tests (e.g. pre-filling a node before
   * the feed starts); the feed itself always opens with FULL.
   */
  constructor(
    readonly path: string,
    private readonly options: { synchronous?: "FULL" | "OFF" } = {},
  ) {}

  async init(): Promise<void> {
    if (this.path !== ":memory:") mkdirSync(dirname(this.path), { recursive: true });
    this.db = new Database(this.path);
    this.db.pragma("journal_mode = WAL");
    this.db.pragma(`synchronous = ${this.options.synchronous ?? "FULL"}`);
    this.db.pragma("busy_timeout = 5000");
    this.db.exec(SCHEMA);
    const have = new Set((this.db.pragma("table_info(feed_subscriptions)") as { name: string }[]).map((c) => c.name));
    for (const [column, ddl] of Object.entries(SUBSCRIPTION_COLUMNS)) if (!have.has(column)) this.db.exec(ddl);
    this.statements = this.prepare();
  }

  private prepare() {
    const db = this.db;
    return {
      nextSeq: db.prepare("UPDATE feed_counters SET value = value + 1 WHERE name = 'seq' RETURNING value"),
      exists: db.prepare("SELECT seq FROM feed_items WHERE node = ? AND id = ?"),
      upsert: db.prepare(
        `INSERT INTO feed_items (node, id, seq, publisher, published, payload) VALUES (@node, @id, @seq, @publisher, @published, @payload)
         ON CONFLICT (node, id) DO UPDATE SET seq = excluded.seq, publisher = excluded.publisher, published = excluded.published, payload = excluded.payload`,
      ),
      count: db.prepare("SELECT count(*) AS n FROM feed_items WHERE node = ?"),
      countBefore: db.prepare("SELECT count(*) AS n FROM feed_items WHERE node = ? AND seq < ?"),
      after: db.prepare("SELECT * FROM feed_items WHERE node = ? AND seq > ? ORDER BY seq ASC LIMIT ?"),
      before: db.prepare("SELECT * FROM feed_items WHERE node = ? AND seq < ? ORDER BY seq DESC LIMIT ?"),
      fromIndex: db.prepare("SELECT * FROM feed_items WHERE node = ? ORDER BY seq ASC LIMIT ? OFFSET ?"),
      latest: db.prepare("SELECT * FROM feed_items WHERE node = ? ORDER BY seq DESC LIMIT 1"),
      byId: db.prepare("SELECT * FROM feed_items WHERE node = ? AND id = ?"),
      retract: db.prepare("DELETE FROM feed_items WHERE node = ? AND id = ?"),
      purge: db.prepare("DELETE FROM feed_items WHERE node = ?"),
      trimAge: db.prepare("DELETE FROM feed_items WHERE node = ? AND published < ?"),
      trimCount: db.prepare(
        "DELETE FROM feed_items WHERE node = ? AND seq <= (SELECT seq FROM feed_items WHERE node = ? ORDER BY seq DESC LIMIT 1 OFFSET ?)",
      ),
      addSub: db.prepare("INSERT OR IGNORE INTO feed_subscriptions (node, jid) VALUES (?, ?)"),
      removeSub: db.prepare("DELETE FROM feed_subscriptions WHERE node = ? AND jid = ?"),
      subs: db.prepare(`SELECT ${SUB_COLUMNS} FROM feed_subscriptions WHERE ${LIVE} ORDER BY node, jid`),
      subsOf: db.prepare(`SELECT ${SUB_COLUMNS} FROM feed_subscriptions WHERE node = @node AND ${LIVE} ORDER BY jid`),
      saveSub: db.prepare(
        `INSERT INTO feed_subscriptions (${SUB_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (node, jid) DO UPDATE SET state = excluded.state, options = excluded.options,
         temporary = excluded.temporary, bound_to = excluded.bound_to, holder = excluded.holder, lease_until = excluded.lease_until`,
      ),
      afterSeq: db.prepare("SELECT * FROM feed_items WHERE node = ? AND seq > ? ORDER BY seq ASC LIMIT ?"),
      endTemporary: db.prepare(`DELETE FROM feed_subscriptions WHERE temporary = 1 AND (bound_to = @jid OR jid = @jid) RETURNING ${SUB_COLUMNS}`),
      renewSubs: db.prepare("UPDATE feed_subscriptions SET lease_until = ? WHERE temporary = 1 AND holder = ?"),
      renewPresence: db.prepare("UPDATE feed_presence SET lease_until = ? WHERE holder = ?"),
      adoptSubs: db.prepare("UPDATE feed_subscriptions SET holder = ?, lease_until = ? WHERE temporary = 1 AND lease_until > ?"),
      adoptPresence: db.prepare("UPDATE feed_presence SET holder = ?, lease_until = ? WHERE lease_until > ?"),
      expireSubs: db.prepare("DELETE FROM feed_subscriptions WHERE temporary = 1 AND lease_until <= ?"),
      expirePresence: db.prepare("DELETE FROM feed_presence WHERE lease_until <= ?"),
      setPresent: db.prepare("INSERT INTO feed_presence (jid, holder, lease_until) VALUES (?, ?, ?) ON CONFLICT (jid) DO UPDATE SET holder = excluded.holder, lease_until = excluded.lease_until"),
      removePresent: db.prepare("DELETE FROM feed_presence WHERE jid = ?"),
      present: db.prepare("SELECT jid FROM feed_presence WHERE lease_until > ? ORDER BY jid"),
      grantAccess: db.prepare("INSERT OR IGNORE INTO feed_presence_access (jid) VALUES (?)"),
      revokeAccess: db.prepare("DELETE FROM feed_presence_access WHERE jid = ?"),
      access: db.prepare("SELECT jid FROM feed_presence_access ORDER BY jid"),
      markNotified: db.prepare("INSERT INTO feed_notified (node, seq) VALUES (?, ?) ON CONFLICT (node) DO UPDATE SET seq = max(seq, excluded.seq)"),
      notified: db.prepare("SELECT seq FROM feed_notified WHERE node = ?"),
      forgetNotified: db.prepare("DELETE FROM feed_notified WHERE node = ?"),
      saveNode: db.prepare("INSERT INTO feed_nodes (name, config, deleted) VALUES (?, ?, 0) ON CONFLICT (name) DO UPDATE SET config = excluded.config, deleted = 0"),
      tombstone: db.prepare("INSERT INTO feed_nodes (name, config, deleted) VALUES (?, NULL, 1) ON CONFLICT (name) DO UPDATE SET config = NULL, deleted = 1"),
      forgetNode: db.prepare("DELETE FROM feed_nodes WHERE name = ?"),
      dropSubs: db.prepare("DELETE FROM feed_subscriptions WHERE node = ?"),
      nodes: db.prepare("SELECT name, config, deleted FROM feed_nodes ORDER BY name"),
    };
  }

  async publish(node: string, item: NewItem, retention: Retention = {}): Promise<PublishResult> {
    const s = this.statements;
    const now = item.published ?? Date.now();
    const run = this.db.transaction((): PublishResult => {
      let evicted = this.trimSync(node, { maxAgeMs: retention.maxAgeMs }, now);
      const replaced = item.id !== undefined && s.exists.get(node, item.id) !== undefined;
      if (!replaced && retention.rejectWhenFull && retention.maxItems !== undefined && this.countSync(node) >= retention.maxItems) {
        throw new NodeFullError(node, retention.maxItems);
      }
      const seq = (s.nextSeq.get() as { value: number }).value;
      const stored: FeedItem = { node, id: item.id ?? generatedId(seq), payload: item.payload, publisher: item.publisher, published: now, seq };
      s.upsert.run(stored);
      evicted += this.trimSync(node, { maxItems: retention.maxItems }, now);
      return { item: stored, replaced, evicted };
    });
    // IMMEDIATE takes the write lock up front, so two processes sharing the file cannot interleave.
    return run.immediate();
  }

  async getItems(node: string, ids: string[]): Promise<FeedItem[]> {
    const found = [...new Set(ids)].map((id) => this.statements.byId.get(node, id) as Row | undefined).filter((r): r is Row => r !== undefined);
    return found.sort((a, b) => a.seq - b.seq);
  }

  async page(node: string, request: PageRequest): Promise<Page> {
    const s = this.statements;
    const max = Math.max(0, request.max);
    const read = this.db.transaction((): Page => {
      const count = this.countSync(node);
      const seqOf = (id: string) => {
        const row = s.exists.get(node, id) as { seq: number } | undefined;
        if (!row) throw new UnknownItemError(node, id);
        return row.seq;
      };
      if (request.after !== undefined) {
        const seq = seqOf(request.after);
        const firstIndex = (s.countBefore.get(node, seq) as { n: number }).n + 1;
        return { items: s.after.all(node, seq, max) as Row[], count, firstIndex };
      }
      if (request.before !== undefined) {
        const seq = request.before === true ? Number.MAX_SAFE_INTEGER : seqOf(request.before);
        const items = (s.before.all(node, seq, max) as Row[]).reverse();
        const before = request.before === true ? count : (s.countBefore.get(node, seq) as { n: number }).n;
        return { items, count, firstIndex: before - items.length };
      }
      const index = Math.min(count, request.index ?? 0);
      return { items: s.fromIndex.all(node, max, index) as Row[], count, firstIndex: index };
    });
    return read();
  }

  async latest(node: string): Promise<FeedItem | undefined> {
    return this.statements.latest.get(node) as Row | undefined;
  }

  async count(node: string): Promise<number> {
    return this.countSync(node);
  }

  async retract(node: string, id: string): Promise<boolean> {
    return this.statements.retract.run(node, id).changes > 0;
  }

  async purge(node: string): Promise<number> {
    return this.statements.purge.run(node).changes;
  }

  async trim(node: string, retention: Retention, now = Date.now()): Promise<number> {
    return this.db.transaction(() => this.trimSync(node, retention, now)).immediate();
  }

  async addSubscription(node: string, jid: string): Promise<boolean> {
    return this.statements.addSub.run(node, jid).changes > 0;
  }

  async removeSubscription(node: string, jid: string): Promise<boolean> {
    return this.statements.removeSub.run(node, jid).changes > 0;
  }

  async subscriptions(node?: string, now = Date.now()): Promise<StoredSubscription[]> {
    return ((node === undefined ? this.statements.subs.all({ now }) : this.statements.subsOf.all({ node, now })) as SubscriptionRow[]).map(toSubscription);
  }

  async saveSubscription(sub: StoredSubscription): Promise<void> {
    const [temporary, boundTo, holder, leaseUntil] = temporaryColumns(sub);
    this.statements.saveSub.run(sub.node, sub.jid, sub.state, sub.options ?? null, temporary ? 1 : 0, boundTo, holder, leaseUntil);
  }

  async itemsAfterSeq(node: string, seq: number, max: number): Promise<FeedItem[]> {
    return this.statements.afterSeq.all(node, seq, Math.max(0, max)) as Row[];
  }

  async endTemporary(fullJid: string): Promise<StoredSubscription[]> {
    return (this.statements.endTemporary.all({ jid: fullJid }) as SubscriptionRow[]).map(toSubscription);
  }

  async renewLeases(holder: string, leaseUntil: number): Promise<number> {
    const s = this.statements;
    return this.db.transaction(() => s.renewSubs.run(leaseUntil, holder).changes + s.renewPresence.run(leaseUntil, holder).changes).immediate();
  }

  async adoptLeases(holder: string, leaseUntil: number, now: number): Promise<number> {
    const s = this.statements;
    return this.db.transaction(() => s.adoptSubs.run(holder, leaseUntil, now).changes + s.adoptPresence.run(holder, leaseUntil, now).changes).immediate();
  }

  async expireLeases(now: number): Promise<number> {
    const s = this.statements;
    return this.db.transaction(() => s.expireSubs.run(now).changes + s.expirePresence.run(now).changes).immediate();
  }

  async setPresent(fullJid: string, lease: Lease): Promise<void> {
    this.statements.setPresent.run(fullJid, lease.holder, lease.leaseUntil);
  }

  async removePresent(fullJid: string): Promise<boolean> {
    return this.statements.removePresent.run(fullJid).changes > 0;
  }

  async present(now = Date.now()): Promise<string[]> {
    return (this.statements.present.all(now) as { jid: string }[]).map((r) => r.jid);
  }

  async setPresenceAccess(bareJid: string, granted: boolean): Promise<void> {
    (granted ? this.statements.grantAccess : this.statements.revokeAccess).run(bareJid);
  }

  async presenceAccess(): Promise<string[]> {
    return (this.statements.access.all() as { jid: string }[]).map((r) => r.jid);
  }

  async markNotified(node: string, seq: number): Promise<void> {
    this.statements.markNotified.run(node, seq);
  }

  async notifiedUpTo(node: string): Promise<number | undefined> {
    return (this.statements.notified.get(node) as { seq: number } | undefined)?.seq;
  }

  async saveNode(name: string, config: string): Promise<void> {
    this.statements.saveNode.run(name, config);
  }

  async deleteNode(name: string, tombstone: boolean): Promise<void> {
    const s = this.statements;
    this.db
      .transaction(() => {
        s.purge.run(name);
        s.dropSubs.run(name);
        s.forgetNotified.run(name);
        if (tombstone) s.tombstone.run(name);
        else s.forgetNode.run(name);
      })
      .immediate();
  }

  async storedNodes(): Promise<StoredNode[]> {
    return (this.statements.nodes.all() as { name: string; config: string | null; deleted: number }[]).map((r) => ({
      name: r.name,
      ...(r.config === null ? {} : { config: r.config }),
      deleted: r.deleted === 1,
    }));
  }

  async close(): Promise<void> {
    if (this.db?.open) this.db.close();
  }

  private countSync(node: string): number {
    return (this.statements.count.get(node) as { n: number }).n;
  }

  private trimSync(node: string, retention: Retention, now: number): number {
    let removed = 0;
    const cutoff = ageCutoff(retention, now);
    if (cutoff !== undefined) removed += this.statements.trimAge.run(node, cutoff).changes;
    if (retention.maxItems !== undefined) removed += this.statements.trimCount.run(node, node, retention.maxItems).changes;
    return removed;
  }
}
