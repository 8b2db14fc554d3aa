import pg from "pg";
import { ELO_START, eloUpdate, type Standing } from "./leaderboard.js";
import type { Protocol } from "./protocol.js";
import type { GameResult } from "./room.js";

/**
 * The shared state of a sharded pong service in PostgreSQL (README.md §Shards): live shards and their load
 * (heartbeats), the matchmaking queue, every room with its seats, tokens and watchers, and the leaderboard.
 * Each process keeps its rooms' game state in memory; this is only what the others must be able to find.
 */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS pong_shards (domain TEXT PRIMARY KEY, rooms INTEGER NOT NULL DEFAULT 0, seen TIMESTAMPTZ NOT NULL DEFAULT now());
CREATE SEQUENCE IF NOT EXISTS pong_room_seq;
CREATE TABLE IF NOT EXISTS pong_rooms (id TEXT PRIMARY KEY, shard TEXT NOT NULL, score TEXT NOT NULL DEFAULT '0,0', created TIMESTAMPTZ NOT NULL DEFAULT now());
CREATE INDEX IF NOT EXISTS pong_rooms_shard ON pong_rooms (shard);
CREATE TABLE IF NOT EXISTS pong_seats (
  room TEXT NOT NULL REFERENCES pong_rooms ON DELETE CASCADE, side INTEGER NOT NULL, jid TEXT NOT NULL, bare TEXT NOT NULL,
  protocol TEXT NOT NULL, contact TEXT, token TEXT UNIQUE, name TEXT NOT NULL, bot BOOLEAN NOT NULL DEFAULT false, PRIMARY KEY (room, side));
CREATE INDEX IF NOT EXISTS pong_seats_bare ON pong_seats (bare);
CREATE INDEX IF NOT EXISTS pong_seats_jid ON pong_seats (jid);
CREATE TABLE IF NOT EXISTS pong_watchers (room TEXT NOT NULL REFERENCES pong_rooms ON DELETE CASCADE, jid TEXT NOT NULL, protocol TEXT NOT NULL,
  contact TEXT, PRIMARY KEY (room, jid));
CREATE TABLE IF NOT EXISTS pong_queue (bare TEXT PRIMARY KEY, jid TEXT NOT NULL, protocol TEXT NOT NULL, contact TEXT NOT NULL, name TEXT NOT NULL,
  since TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp());
CREATE TABLE IF NOT EXISTS pong_games (
  id BIGSERIAL PRIMARY KEY, room TEXT NOT NULL, seed BIGINT NOT NULL, winner TEXT NOT NULL, loser TEXT NOT NULL, winner_score INTEGER NOT NULL,
  loser_score INTEGER NOT NULL, reason TEXT NOT NULL, duration_ms INTEGER NOT NULL, finished_at TIMESTAMPTZ NOT NULL, replay TEXT);
CREATE TABLE IF NOT EXISTS pong_players (jid TEXT PRIMARY KEY, rating DOUBLE PRECISION NOT NULL, wins INTEGER NOT NULL DEFAULT 0, losses INTEGER NOT NULL DEFAULT 0);
`;

/** A seat as every process can see it. `contact`: the domain the player talks to when it is not the room's shard. */
export interface SeatRow {
  room: string;
  side: 0 | 1;
  jid: string;
  bare: string;
  protocol: Protocol;
  contact: string | null;
  token: string | null;
  name: string;
  bot: boolean;
}

export interface RoomRow {
  id: string;
  shard: string;
  score: string;
  seats: SeatRow[];
}

export interface QueuedRow {
  bare: string;
  jid: string;
  protocol: Protocol;
  contact: string;
  name: string;
  /** Milliseconds waited so far (by the database's clock). */
  waitedMs: number;
}

/** Someone to tell that a room is gone: a seated player or a watcher. */
export interface ListenerRow {
  room: string;
  jid: string;
  protocol: Protocol;
  contact: string | null;
  score: string;
}

export class ClusterStore {
  private readonly pool: pg.Pool;

  constructor(url: string) {
    this.pool = new pg.Pool({ connectionString: url, max: 4 });
    // An idle client's error (server restart) must not crash the process; the next query reports it.
    this.pool.on("error", () => undefined);
  }

  /** Creates the tables once; several processes starting together take turns (a transaction-level advisory lock). */
  async init(): Promise<void> {
    await this.transaction(async (q) => {
      await q("SELECT pg_advisory_xact_lock(hashtext('annex-pong-schema'))");
      await q(SCHEMA);
    });
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  // --- shards ---

  /** A shard is alive: its load now (rooms it runs), and the scores of its rooms for disco#items and the lobby. */
  async heartbeat(domain: string, scores: { id: string; score: string }[]): Promise<void> {
    await this.pool.query(`INSERT INTO pong_shards (domain, rooms, seen) VALUES ($1, $2, now())
      ON CONFLICT (domain) DO UPDATE SET rooms = $2, seen = now()`, [domain, scores.length]);
    if (scores.length > 0) {
      await this.pool.query(`UPDATE pong_rooms r SET score = v.score FROM unnest($1::text[], $2::text[]) AS v(id, score) WHERE r.id = v.id AND r.score <> v.score`,
        [scores.map((s) => s.id), scores.map((s) => s.score)]);
    }
  }

  /** The live shard with the fewest rooms (rooms placed since its last heartbeat counted too), or undefined. */
  async leastLoaded(deadAfterMs: number, maxRooms: number): Promise<string | undefined> {
    const { rows } = await this.pool.query<{ domain: string }>(`SELECT domain FROM (SELECT s.domain, (SELECT count(*) FROM pong_rooms r WHERE r.shard = s.domain) AS n
      FROM pong_shards s WHERE s.seen > now() - make_interval(secs => $1::double precision / 1000)) live
      WHERE n < $2 ORDER BY n ASC, random() LIMIT 1`, [deadAfterMs, maxRooms]);
    return rows[0]?.domain;
  }

  async liveShards(deadAfterMs: number): Promise<{ domain: string; rooms: number }[]> {
    const { rows } = await this.pool.query<{ domain: string; rooms: number }>(`SELECT domain, rooms FROM pong_shards
      WHERE seen > now() - make_interval(secs => $1::double precision / 1000) ORDER BY domain`, [deadAfterMs]);
    return rows;
  }

  /**
   * Forgets the shards that missed their heartbeats (or `domain` itself, a shard starting again) with all their
   * rooms, and returns who was in those rooms, to be told. Claimed with DELETE … RETURNING, so one process tells.
   */
  async forgetShards(deadAfterMs: number, domain?: string): Promise<{ shards: string[]; listeners: ListenerRow[] }> {
    return this.transaction(async (q) => {
      const gone = domain !== undefined
        ? await q("DELETE FROM pong_shards WHERE domain = $1 RETURNING domain", [domain])
        : await q("DELETE FROM pong_shards WHERE seen <= now() - make_interval(secs => $1::double precision / 1000) RETURNING domain", [deadAfterMs]);
      const shards = (gone.rows as { domain: string }[]).map((r) => r.domain);
      if (domain !== undefined && !shards.includes(domain)) shards.push(domain);
      if (shards.length === 0) return { shards, listeners: [] };
      const { rows } = await q(`SELECT s.room, s.jid, s.protocol, s.contact, r.score FROM pong_seats s JOIN pong_rooms r ON r.id = s.room
          WHERE r.shard = ANY($1) AND NOT s.bot
        UNION ALL SELECT w.room, w.jid, w.protocol, w.contact, r.score FROM pong_watchers w JOIN pong_rooms r ON r.id = w.room WHERE r.shard = ANY($1)`, [shards]);
      await q("DELETE FROM pong_rooms WHERE shard = ANY($1)", [shards]);
      return { shards, listeners: rows as ListenerRow[] };
    });
  }

  // --- rooms ---

  async nextRoomId(): Promise<string> {
    const { rows } = await this.pool.query<{ n: string }>("SELECT nextval('pong_room_seq') AS n");
    return `r${rows[0]!.n}`;
  }

  /**
   * Chooses the live shard with the fewest rooms (below `maxRooms`) and records the room there, in one transaction
   * under a lock every placing process takes: rooms placed at the same moment see each other, so a burst of
   * check-ins spreads over the shards instead of all going to the one that was emptiest a moment before.
   * Returns the shard, or undefined when none is live with room to spare.
   */
  async placeRoom(id: string, deadAfterMs: number, maxRooms: number, seats: (shard: string) => Omit<SeatRow, "room">[]): Promise<string | undefined> {
    return this.transaction(async (q) => {
      await q("SELECT pg_advisory_xact_lock(hashtext('annex-pong-place'))");
      const { rows } = await q(`SELECT domain FROM (SELECT s.domain, (SELECT count(*) FROM pong_rooms r WHERE r.shard = s.domain) AS n
        FROM pong_shards s WHERE s.seen > now() - make_interval(secs => $1::double precision / 1000)) live
        WHERE n < $2 ORDER BY n ASC, random() LIMIT 1`, [deadAfterMs, maxRooms]);
      const shard = (rows[0] as { domain: string } | undefined)?.domain;
      if (shard === undefined) return undefined;
      await q("INSERT INTO pong_rooms (id, shard) VALUES ($1, $2)", [id, shard]);
      for (const s of seats(shard)) {
        await q("INSERT INTO pong_seats (room, side, jid, bare, protocol, contact, token, name, bot) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)",
          [id, s.side, s.jid, s.bare, s.protocol, s.contact, s.token, s.name, s.bot]);
      }
      return shard;
    });
  }

  async removeRoom(id: string): Promise<void> {
    await this.pool.query("DELETE FROM pong_rooms WHERE id = $1", [id]);
  }

  /** A seat changed hands: a new address (rejoin), another account (token), another protocol or contact. */
  async reseat(room: string, side: number, seat: { jid: string; bare: string; protocol: Protocol; contact: string | null }): Promise<void> {
    await this.pool.query("UPDATE pong_seats SET jid = $3, bare = $4, protocol = $5, contact = $6 WHERE room = $1 AND side = $2",
      [room, side, seat.jid, seat.bare, seat.protocol, seat.contact]);
  }

  async watch(room: string, jid: string, protocol: Protocol, contact: string | null): Promise<void> {
    await this.pool.query(`INSERT INTO pong_watchers (room, jid, protocol, contact) VALUES ($1,$2,$3,$4)
      ON CONFLICT (room, jid) DO UPDATE SET protocol = $3, contact = $4`, [room, jid, protocol, contact]);
  }

  async unwatch(jid: string): Promise<void> {
    await this.pool.query("DELETE FROM pong_watchers WHERE jid = $1", [jid]);
  }

  async roomById(id: string): Promise<RoomRow | undefined> {
    return (await this.roomsWhere("r.id = $1", [id]))[0];
  }

  /** The room where a seat is held by this account, this full JID, or this token. */
  async roomOfSeat(by: "bare" | "jid" | "token", value: string): Promise<{ room: RoomRow; side: 0 | 1 } | undefined> {
    const { rows } = await this.pool.query<{ room: string; side: 0 | 1 }>(`SELECT room, side FROM pong_seats WHERE ${by} = $1 AND NOT bot LIMIT 1`, [value]);
    if (!rows[0]) return undefined;
    const room = await this.roomById(rows[0].room);
    return room && { room, side: rows[0].side };
  }

  /** The room a JID watches, if any. */
  async watchedBy(jid: string): Promise<string | undefined> {
    const { rows } = await this.pool.query<{ shard: string }>("SELECT r.shard FROM pong_watchers w JOIN pong_rooms r ON r.id = w.room WHERE w.jid = $1 LIMIT 1", [jid]);
    return rows[0]?.shard;
  }

  async rooms(): Promise<RoomRow[]> {
    return this.roomsWhere("true", []);
  }

  async watcherCounts(): Promise<Map<string, number>> {
    const { rows } = await this.pool.query<{ room: string; n: string }>("SELECT room, count(*) AS n FROM pong_watchers GROUP BY room");
    return new Map(rows.map((r) => [r.room, Number(r.n)]));
  }

  private async roomsWhere(where: string, values: unknown[]): Promise<RoomRow[]> {
    const { rows } = await this.pool.query<{ id: string; shard: string; score: string; seats: SeatRow[] }>(`SELECT r.id, r.shard, r.score,
      coalesce(json_agg(json_build_object('room', s.room, 'side', s.side, 'jid', s.jid, 'bare', s.bare, 'protocol', s.protocol, 'contact', s.contact,
        'token', s.token, 'name', s.name, 'bot', s.bot) ORDER BY s.side) FILTER (WHERE s.room IS NOT NULL), '[]') AS seats
      FROM pong_rooms r LEFT JOIN pong_seats s ON s.room = r.id WHERE ${where} GROUP BY r.id ORDER BY r.created, r.id`, values);
    return rows;
  }

  // --- the queue ---

  /**
   * A player checks in: meets the one who waited longest (removed from the queue, returned) or joins the queue
   * itself (undefined). Atomic across processes (FOR UPDATE SKIP LOCKED), so nobody is matched twice.
   */
  async meetOrWait(me: Omit<QueuedRow, "waitedMs">): Promise<QueuedRow | undefined> {
    return this.transaction(async (q) => {
      // One check-in at a time across all processes: two players checking in at once must meet, not both wait.
      await q("SELECT pg_advisory_xact_lock(hashtext('annex-pong-queue'))");
      const { rows } = await q(`DELETE FROM pong_queue WHERE bare = (SELECT bare FROM pong_queue WHERE bare <> $1 ORDER BY since, bare LIMIT 1 FOR UPDATE SKIP LOCKED)
        RETURNING bare, jid, protocol, contact, name, (extract(epoch FROM clock_timestamp() - since) * 1000)::float8 AS "waitedMs"`, [me.bare]);
      if (rows[0]) return rows[0] as QueuedRow;
      await q(`INSERT INTO pong_queue (bare, jid, protocol, contact, name) VALUES ($1,$2,$3,$4,$5)
        ON CONFLICT (bare) DO UPDATE SET jid = $2, protocol = $3, contact = $4, name = $5`, [me.bare, me.jid, me.protocol, me.contact, me.name]);
      return undefined;
    });
  }

  /** Joins the queue, or updates the entry of an account already in it (a new address, protocol or name). */
  async enqueue(me: Omit<QueuedRow, "waitedMs">): Promise<void> {
    await this.pool.query(`INSERT INTO pong_queue (bare, jid, protocol, contact, name) VALUES ($1,$2,$3,$4,$5)
      ON CONFLICT (bare) DO UPDATE SET jid = $2, protocol = $3, contact = $4, name = $5`, [me.bare, me.jid, me.protocol, me.contact, me.name]);
  }

  async queue(): Promise<QueuedRow[]> {
    const { rows } = await this.pool.query<QueuedRow>(`SELECT bare, jid, protocol, contact, name,
      (extract(epoch FROM clock_timestamp() - since) * 1000)::float8 AS "waitedMs" FROM pong_queue ORDER BY since, bare`);
    return rows;
  }

  /** Takes a player out of the queue (by full JID); returns its row if it was there. */
  async unqueue(jid: string): Promise<QueuedRow | undefined> {
    const { rows } = await this.pool.query<QueuedRow>("DELETE FROM pong_queue WHERE jid = $1 RETURNING bare, jid, protocol, contact, name, 0::float8 AS \"waitedMs\"", [jid]);
    return rows[0];
  }

  async queuedBare(bare: string): Promise<QueuedRow | undefined> {
    const { rows } = await this.pool.query<QueuedRow>("SELECT bare, jid, protocol, contact, name, 0::float8 AS \"waitedMs\" FROM pong_queue WHERE bare = $1", [bare]);
    return rows[0];
  }

  // --- the leaderboard ---

  /** One finished game: its row and both players' ratings in one transaction (rows locked: shards finish games at once). */
  async record(r: GameResult, isGuest: (jid: string) => boolean): Promise<void> {
    await this.transaction(async (q) => {
      await q(`INSERT INTO pong_games (room, seed, winner, loser, winner_score, loser_score, reason, duration_ms, finished_at, replay)
        VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)`, [r.room, r.seed, r.winner, r.loser, r.winnerScore, r.loserScore, r.reason, r.durationMs,
        r.finishedAt.toISOString(), r.replay ? JSON.stringify(r.replay) : null]);
      const { rows } = await q("SELECT jid, rating FROM pong_players WHERE jid = ANY($1) ORDER BY jid FOR UPDATE", [[r.winner, r.loser]]);
      const rating = new Map((rows as { jid: string; rating: number }[]).map((row) => [row.jid, row.rating]));
      const [w, l] = eloUpdate(rating.get(r.winner) ?? ELO_START, rating.get(r.loser) ?? ELO_START);
      const upsert = `INSERT INTO pong_players (jid, rating, wins, losses) VALUES ($1, $2, $3, 1 - $3)
        ON CONFLICT (jid) DO UPDATE SET rating = $2, wins = pong_players.wins + $3, losses = pong_players.losses + 1 - $3`;
      if (!isGuest(r.winner)) await q(upsert, [r.winner, w, 1]);
      if (!isGuest(r.loser)) await q(upsert, [r.loser, l, 0]);
    });
  }

  async top(max: number): Promise<Standing[]> {
    const { rows } = await this.pool.query<Standing>("SELECT jid, rating, wins, losses FROM pong_players ORDER BY rating DESC, wins DESC, jid LIMIT $1", [max]);
    return rows;
  }

  async gamesPlayed(): Promise<number> {
    const { rows } = await this.pool.query<{ n: string }>("SELECT count(*) AS n FROM pong_games");
    return Number(rows[0]!.n);
  }

  private async transaction<T>(body: (q: (text: string, values?: unknown[]) => Promise<pg.QueryResult>) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query("BEGIN");
      const result = await body((text, values) => client.query(text, values));
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
