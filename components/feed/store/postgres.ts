import { randomUUID } from "node:crypto";
import pg from "pg";
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
  type StoreChange,
  type StoredNode,
  type StoredSubscription,
  type SubscriptionRow,
  temporaryColumns,
  toSubscription,
  UnknownItemError,
} from "./store.js";

const SCHEMA = `
CREATE SEQUENCE IF NOT EXISTS feed_item_seq;
CREATE TABLE IF NOT EXISTS feed_items (
  node TEXT NOT NULL, id TEXT NOT NULL, seq BIGINT NOT NULL, publisher TEXT NOT NULL,
  published BIGINT NOT NULL, payload TEXT NOT NULL, PRIMARY KEY (node, id));
CREATE UNIQUE INDEX IF NOT EXISTS feed_items_order ON feed_items (node, seq);
CREATE TABLE IF NOT EXISTS feed_subscriptions (node TEXT NOT NULL, jid TEXT NOT NULL, PRIMARY KEY (node, jid));
ALTER TABLE feed_subscriptions ADD COLUMN IF NOT EXISTS state TEXT NOT NULL DEFAULT 'subscribed';
ALTER TABLE feed_subscriptions ADD COLUMN IF NOT EXISTS options TEXT;
CREATE TABLE IF NOT EXISTS feed_nodes (name TEXT PRIMARY KEY, config TEXT, deleted BOOLEAN NOT NULL DEFAULT false);
ALTER TABLE feed_subscriptions ADD COLUMN IF NOT EXISTS temporary BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE feed_subscriptions ADD COLUMN IF NOT EXISTS bound_to TEXT;
ALTER TABLE feed_subscriptions ADD COLUMN IF NOT EXISTS holder TEXT;
ALTER TABLE feed_subscriptions ADD COLUMN IF NOT EXISTS lease_until BIGINT;
CREATE TABLE IF NOT EXISTS feed_presence (jid TEXT PRIMARY KEY, holder TEXT NOT NULL, lease_until BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS feed_presence_access (jid TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS feed_notified (node TEXT PRIMARY KEY, seq BIGINT NOT NULL);
`;

/** The LISTEN/NOTIFY channel of subscription and presence-access changes. */
const CHANNEL = "annex_feed_changes";
const SUB_COLUMNS = "node, jid, state, options, temporary, bound_to, holder, lease_until";
/** Persistent ones, and temporary ones whose lease still runs ($1 = now). */
const LIVE = "(NOT temporary OR lease_until > $1)";
/** Wait before listening again after the listening connection was lost. */
const RELISTEN_MS = 1_000;

/** A change as sent over NOTIFY: who made it (so a process skips its own) and what. */
type Notice = StoreChange & { origin: string };

interface Row {
  node: string;
  id: string;
  seq: string;
  publisher: string;
  published: string;
  payload: string;
}

// BIGINT comes back as a string; our seqs and times fit in a double.
function toItem(row: Row): FeedItem {
  return { node: row.node, id: row.id, seq: Number(row.seq), publisher: row.publisher, published: Number(row.published), payload: row.payload };
}

type Query = (text: string, values?: unknown[]) => Promise<pg.QueryResult>;

/**
 * PostgreSQL, so several feed processes can serve one set of nodes. A publish is one transaction
 * that locks the node (advisory lock) so retention and "node full" see a consistent count, and is
 * acknowledged after COMMIT (synchronous_commit is on by default).
 */
export class PostgresStore implements FeedStore {
  readonly kind = "postgres";
  private readonly pool: pg.Pool;
  /** This store's id in NOTIFY payloads. */
  private readonly origin = randomUUID();
  private listener?: pg.Client;
  private closed = false;

  constructor(private readonly url: string) {
    this.pool = new pg.Pool({ connectionString: url, max: 4 });
    // An idle client's error (server restart) must not crash the process; the next query reports it.
    this.pool.on("error", () => undefined);
  }

  async init(): Promise<void> {
    await this.transaction(async (q) => {
      // Two processes starting at once must not race on CREATE … IF NOT EXISTS.
      await q("SELECT pg_advisory_xact_lock(hashtext('annex-feed-schema'))");
      await q(SCHEMA);
    });
  }

  async publish(node: string, item: NewItem, retention: Retention = {}): Promise<PublishResult> {
    const now = item.published ?? Date.now();
    return this.transaction(async (q) => {
      await q("SELECT pg_advisory_xact_lock(hashtext($1))", [`annex-feed:${node}`]);
      let evicted = await this.trimWith(q, node, { maxAgeMs: retention.maxAgeMs }, now);
      const replaced = item.id !== undefined && (await q("SELECT 1 FROM feed_items WHERE node = $1 AND id = $2", [node, item.id])).rowCount! > 0;
      if (!replaced && retention.rejectWhenFull && retention.maxItems !== undefined && (await this.countWith(q, node)) >= retention.maxItems) {
        throw new NodeFullError(node, retention.maxItems);
      }
      const seq = Number((await q("SELECT nextval('feed_item_seq') AS seq")).rows[0].seq);
      const stored: FeedItem = { node, id: item.id ?? generatedId(seq), payload: item.payload, publisher: item.publisher, published: now, seq };
      await q(
        `INSERT INTO feed_items (node, id, seq, publisher, published, payload) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (node, id) DO UPDATE SET seq = EXCLUDED.seq, publisher = EXCLUDED.publisher, published = EXCLUDED.published, payload = EXCLUDED.payload`,
        [node, stored.id, seq, stored.publisher, now, stored.payload],
      );
      evicted += await this.trimWith(q, node, { maxItems: retention.maxItems }, now);
      return { item: stored, replaced, evicted };
    });
  }

  async getItems(node: string, ids: string[]): Promise<FeedItem[]> {
    const { rows } = await this.pool.query("SELECT * FROM feed_items WHERE node = $1 AND id = ANY($2) ORDER BY seq", [node, [...new Set(ids)]]);
    return (rows as Row[]).map(toItem);
  }

  async page(node: string, request: PageRequest): Promise<Page> {
    const max = Math.max(0, request.max);
    // One snapshot for the count and the page, so <count> and <first index> agree with the items.
    return this.transaction(async (q) => {
      const count = await this.countWith(q, node);
      const seqOf = async (id: string) => {
        const { rows } = await q("SELECT seq FROM feed_items WHERE node = $1 AND id = $2", [node, id]);
        if (rows.length === 0) throw new UnknownItemError(node, id);
        return Number(rows[0].seq);
      };
      const countBefore = async (seq: number) => Number((await q("SELECT count(*) AS n FROM feed_items WHERE node = $1 AND seq < $2", [node, seq])).rows[0].n);
      if (request.after !== undefined) {
        const seq = await seqOf(request.after);
        const { rows } = await q("SELECT * FROM feed_items WHERE node = $1 AND seq > $2 ORDER BY seq ASC LIMIT $3", [node, seq, max]);
        return { items: (rows as Row[]).map(toItem), count, firstIndex: (await countBefore(seq)) + 1 };
      }
      if (request.before !== undefined) {
        const seq = request.before === true ? Number.MAX_SAFE_INTEGER : await seqOf(request.before);
        const { rows } = await q("SELECT * FROM feed_items WHERE node = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3", [node, seq, max]);
        const items = (rows as Row[]).map(toItem).reverse();
        const before = request.before === true ? count : await countBefore(seq);
        return { items, count, firstIndex: before - items.length };
      }
      const index = Math.min(count, request.index ?? 0);
      const { rows } = await q("SELECT * FROM feed_items WHERE node = $1 ORDER BY seq ASC LIMIT $2 OFFSET $3", [node, max, index]);
      return { items: (rows as Row[]).map(toItem), count, firstIndex: index };
    }, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
  }

  async latest(node: string): Promise<FeedItem | undefined> {
    const { rows } = await this.pool.query("SELECT * FROM feed_items WHERE node = $1 ORDER BY seq DESC LIMIT 1", [node]);
    return rows[0] ? toItem(rows[0] as Row) : undefined;
  }

  async count(node: string): Promise<number> {
    return this.countWith((t, v) => this.pool.query(t, v), node);
  }

  async retract(node: string, id: string): Promise<boolean> {
    return ((await this.pool.query("DELETE FROM feed_items WHERE node = $1 AND id = $2", [node, id])).rowCount ?? 0) > 0;
  }

  async purge(node: string): Promise<number> {
    return (await this.pool.query("DELETE FROM feed_items WHERE node = $1", [node])).rowCount ?? 0;
  }

  async trim(node: string, retention: Retention, now = Date.now()): Promise<number> {
    return this.transaction(async (q) => {
      await q("SELECT pg_advisory_xact_lock(hashtext($1))", [`annex-feed:${node}`]);
      return this.trimWith(q, node, retention, now);
    });
  }

  async addSubscription(node: string, jid: string): Promise<boolean> {
    return this.transaction(async (q) => {
      const r = await q("INSERT INTO feed_subscriptions (node, jid) VALUES ($1, $2) ON CONFLICT DO NOTHING", [node, jid]);
      await this.announce(q, { kind: "subscription", node });
      return (r.rowCount ?? 0) > 0;
    });
  }

  async removeSubscription(node: string, jid: string): Promise<boolean> {
    return this.transaction(async (q) => {
      const r = await q("DELETE FROM feed_subscriptions WHERE node = $1 AND jid = $2", [node, jid]);
      await this.announce(q, { kind: "subscription", node });
      return (r.rowCount ?? 0) > 0;
    });
  }

  async subscriptions(node?: string, now = Date.now()): Promise<StoredSubscription[]> {
    const r =
      node === undefined
        ? await this.pool.query(`SELECT ${SUB_COLUMNS} FROM feed_subscriptions WHERE ${LIVE} ORDER BY node, jid`, [now])
        : await this.pool.query(`SELECT ${SUB_COLUMNS} FROM feed_subscriptions WHERE ${LIVE} AND node = $2 ORDER BY jid`, [now, node]);
    return (r.rows as SubscriptionRow[]).map(toSubscription);
  }

  async saveSubscription(sub: StoredSubscription): Promise<void> {
    await this.transaction(async (q) => {
      await q(
        `INSERT INTO feed_subscriptions (${SUB_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (node, jid) DO UPDATE SET state = EXCLUDED.state,
         options = EXCLUDED.options, temporary = EXCLUDED.temporary, bound_to = EXCLUDED.bound_to, holder = EXCLUDED.holder, lease_until = EXCLUDED.lease_until`,
        [sub.node, sub.jid, sub.state, sub.options ?? null, ...temporaryColumns(sub)],
      );
      await this.announce(q, { kind: "subscription", node: sub.node });
    });
  }

  async itemsAfterSeq(node: string, seq: number, max: number): Promise<FeedItem[]> {
    const { rows } = await this.pool.query("SELECT * FROM feed_items WHERE node = $1 AND seq > $2 ORDER BY seq ASC LIMIT $3", [node, seq, Math.max(0, max)]);
    return (rows as Row[]).map(toItem);
  }

  async endTemporary(fullJid: string): Promise<StoredSubscription[]> {
    return this.transaction(async (q) => {
      const { rows } = await q(`DELETE FROM feed_subscriptions WHERE temporary AND (bound_to = $1 OR jid = $1) RETURNING ${SUB_COLUMNS}`, [fullJid]);
      const ended = (rows as SubscriptionRow[]).map(toSubscription);
      for (const node of new Set(ended.map((s) => s.node))) await this.announce(q, { kind: "subscription", node });
      return ended;
    });
  }

  async renewLeases(holder: string, leaseUntil: number): Promise<number> {
    return this.transaction(async (q) => {
      const subs = await q("UPDATE feed_subscriptions SET lease_until = $1 WHERE temporary AND holder = $2", [leaseUntil, holder]);
      const present = await q("UPDATE feed_presence SET lease_until = $1 WHERE holder = $2", [leaseUntil, holder]);
      return (subs.rowCount ?? 0) + (present.rowCount ?? 0);
    });
  }

  async adoptLeases(holder: string, leaseUntil: number, now: number): Promise<number> {
    return this.transaction(async (q) => {
      const subs = await q("UPDATE feed_subscriptions SET holder = $1, lease_until = $2 WHERE temporary AND lease_until > $3", [holder, leaseUntil, now]);
      const present = await q("UPDATE feed_presence SET holder = $1, lease_until = $2 WHERE lease_until > $3", [holder, leaseUntil, now]);
      return (subs.rowCount ?? 0) + (present.rowCount ?? 0);
    });
  }

  async expireLeases(now: number): Promise<number> {
    return this.transaction(async (q) => {
      const { rows } = await q("DELETE FROM feed_subscriptions WHERE temporary AND lease_until <= $1 RETURNING node", [now]);
      const present = await q("DELETE FROM feed_presence WHERE lease_until <= $1", [now]);
      for (const node of new Set((rows as { node: string }[]).map((r) => r.node))) await this.announce(q, { kind: "subscription", node });
      if ((present.rowCount ?? 0) > 0) await this.announce(q, { kind: "presence" });
      return rows.length + (present.rowCount ?? 0);
    });
  }

  async setPresent(fullJid: string, lease: Lease): Promise<void> {
    await this.transaction(async (q) => {
      await q("INSERT INTO feed_presence (jid, holder, lease_until) VALUES ($1, $2, $3) ON CONFLICT (jid) DO UPDATE SET holder = EXCLUDED.holder, lease_until = EXCLUDED.lease_until", [
        fullJid,
        lease.holder,
        lease.leaseUntil,
      ]);
      await this.announce(q, { kind: "presence" });
    });
  }

  async removePresent(fullJid: string): Promise<boolean> {
    return this.transaction(async (q) => {
      const r = await q("DELETE FROM feed_presence WHERE jid = $1", [fullJid]);
      await this.announce(q, { kind: "presence" });
      return (r.rowCount ?? 0) > 0;
    });
  }

  async present(now = Date.now()): Promise<string[]> {
    const { rows } = await this.pool.query("SELECT jid FROM feed_presence WHERE lease_until > $1 ORDER BY jid", [now]);
    return (rows as { jid: string }[]).map((r) => r.jid);
  }

  async setPresenceAccess(bareJid: string, granted: boolean): Promise<void> {
    await this.transaction(async (q) => {
      if (granted) await q("INSERT INTO feed_presence_access (jid) VALUES ($1) ON CONFLICT DO NOTHING", [bareJid]);
      else await q("DELETE FROM feed_presence_access WHERE jid = $1", [bareJid]);
      await this.announce(q, { kind: "presence-access" });
    });
  }

  async presenceAccess(): Promise<string[]> {
    const { rows } = await this.pool.query("SELECT jid FROM feed_presence_access ORDER BY jid");
    return (rows as { jid: string }[]).map((r) => r.jid);
  }

  async markNotified(node: string, seq: number): Promise<void> {
    await this.pool.query("INSERT INTO feed_notified (node, seq) VALUES ($1, $2) ON CONFLICT (node) DO UPDATE SET seq = GREATEST(feed_notified.seq, EXCLUDED.seq)", [node, seq]);
  }

  async notifiedUpTo(node: string): Promise<number | undefined> {
    const { rows } = await this.pool.query("SELECT seq FROM feed_notified WHERE node = $1", [node]);
    return rows[0] ? Number(rows[0].seq) : undefined;
  }

  /**
   * LISTEN on a connection of its own. PostgreSQL delivers a NOTIFY when its transaction commits, so another
   * process learns of a change one network round trip after the commit. If the connection is lost, notices
   * sent meanwhile are gone: the listener gets "resync" once it listens again (every RELISTEN_MS until then).
   */
  async watch(onChange: (change: StoreChange) => void): Promise<void> {
    const listen = async (): Promise<void> => {
      const client = new pg.Client({ connectionString: this.url });
      client.on("notification", (msg) => {
        if (msg.channel !== CHANNEL || !msg.payload) return;
        const notice = JSON.parse(msg.payload) as Notice;
        if (notice.origin === this.origin) return;
        const { origin: _origin, ...change } = notice;
        onChange(change as StoreChange);
      });
      const again = () => {
        if (this.closed || this.listener !== client) return;
        this.listener = undefined;
        setTimeout(() => void relisten(), RELISTEN_MS).unref();
      };
      client.on("error", again);
      client.on("end", again);
      await client.connect();
      await client.query(`LISTEN ${CHANNEL}`);
      this.listener = client;
    };
    const relisten = async (): Promise<void> => {
      if (this.closed) return;
      try {
        await listen();
        onChange({ kind: "resync" });
      } catch {
        setTimeout(() => void relisten(), RELISTEN_MS).unref();
      }
    };
    await listen();
  }

  async saveNode(name: string, config: string): Promise<void> {
    await this.pool.query("INSERT INTO feed_nodes (name, config, deleted) VALUES ($1, $2, false) ON CONFLICT (name) DO UPDATE SET config = EXCLUDED.config, deleted = false", [
      name,
      config,
    ]);
  }

  async deleteNode(name: string, tombstone: boolean): Promise<void> {
    await this.transaction(async (q) => {
      await q("SELECT pg_advisory_xact_lock(hashtext($1))", [`annex-feed:${name}`]);
      await q("DELETE FROM feed_items WHERE node = $1", [name]);
      await q("DELETE FROM feed_subscriptions WHERE node = $1", [name]);
      await q("DELETE FROM feed_notified WHERE node = $1", [name]);
      await this.announce(q, { kind: "subscription", node: name });
      if (tombstone) await q("INSERT INTO feed_nodes (name, config, deleted) VALUES ($1, NULL, true) ON CONFLICT (name) DO UPDATE SET config = NULL, deleted = true", [name]);
      else await q("DELETE FROM feed_nodes WHERE name = $1", [name]);
    });
  }

  async storedNodes(): Promise<StoredNode[]> {
    const { rows } = await this.pool.query("SELECT name, config, deleted FROM feed_nodes ORDER BY name");
    return (rows as { name: string; config: string | null; deleted: boolean }[]).map((r) => ({ name: r.name, ...(r.config === null ? {} : { config: r.config }), deleted: r.deleted }));
  }

  async close(): Promise<void> {
    this.closed = true;
    const listener = this.listener;
    this.listener = undefined;
    await listener?.end().catch(() => undefined);
    await this.pool.end();
  }

  /** NOTIFY in the writing transaction: delivered to the other processes when (and only if) it commits. */
  private async announce(q: Query, change: StoreChange): Promise<void> {
    await q("SELECT pg_notify($1, $2)", [CHANNEL, JSON.stringify({ ...change, origin: this.origin } satisfies Notice)]);
  }

  private async countWith(q: Query, node: string): Promise<number> {
    return Number((await q("SELECT count(*) AS n FROM feed_items WHERE node = $1", [node])).rows[0].n);
  }

  private async trimWith(q: Query, node: string, retention: Retention, now: number): Promise<number> {
    let removed = 0;
    const cutoff = ageCutoff(retention, now);
    if (cutoff !== undefined) removed += (await q("DELETE FROM feed_items WHERE node = $1 AND published < $2", [node, cutoff])).rowCount ?? 0;
    if (retention.maxItems !== undefined) {
      const r = await q(
        "DELETE FROM feed_items WHERE node = $1 AND seq <= (SELECT seq FROM feed_items WHERE node = $1 ORDER BY seq DESC LIMIT 1 OFFSET $2)",
        [node, retention.maxItems],
      );
      removed += r.rowCount ?? 0;
    }
    return removed;
  }

  private async transaction<T>(work: (q: Query) => Promise<T>, begin = "BEGIN"): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query(begin);
      const result = await work((text, values) => client.query(text, values as unknown[]));
      await client.query("COMMIT");
      return result;
    } catch (err) {
      await client.query("ROLLBACK").catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }
}
