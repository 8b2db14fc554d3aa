import Database from "better-sqlite3";
import type { GameResult } from "./room.js";

export interface Standing {
  jid: string;
  rating: number;
  wins: number;
  losses: number;
}

/** Elo (FIDE-style): everyone starts at 1500; K = 32; expected score E = 1 / (1 + 10^((Rb − Ra)/400)). */
export const ELO_START = 1500;
export const ELO_K = 32;

export function eloUpdate(winner: number, loser: number): [number, number] {
  const expected = 1 / (1 + 10 ** ((loser - winner) / 400));
  const delta = ELO_K * (1 - expected);
  return [winner + delta, loser - delta];
}

/**
 * Finished games and per-account standings in SQLite: `"sqlite:<path>"` (WAL, survives restarts) or in
 * memory. One transaction per game, so a crash never leaves a game counted for one player only.
 */
export class Leaderboard {
  private readonly db: Database.Database;

  /** `isGuest`: players who are never put on the table (options.guestDomains). */
  constructor(location: string | undefined, private readonly isGuest: (jid: string) => boolean = () => false) {
    const path = location === undefined ? ":memory:" : location.replace(/^sqlite:/, "");
    this.db = new Database(path);
    if (path !== ":memory:") this.db.pragma("journal_mode = WAL");
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS games (
        id INTEGER PRIMARY KEY, room TEXT NOT NULL, seed INTEGER NOT NULL, winner TEXT NOT NULL, loser TEXT NOT NULL,
        winner_score INTEGER NOT NULL, loser_score INTEGER NOT NULL, reason TEXT NOT NULL, duration_ms INTEGER NOT NULL,
        finished_at TEXT NOT NULL,
        replay TEXT); -- JSON {settings, ticks, log}: Game.replay() reproduces the game; NULL if the log grew too long
      CREATE TABLE IF NOT EXISTS players (
        jid TEXT PRIMARY KEY, rating REAL NOT NULL, wins INTEGER NOT NULL DEFAULT 0, losses INTEGER NOT NULL DEFAULT 0);`);
  }

  record(r: GameResult): void {
    const get = this.db.prepare<[string], { rating: number }>("SELECT rating FROM players WHERE jid = ?");
    const upsert = this.db.prepare(`INSERT INTO players (jid, rating, wins, losses) VALUES (@jid, @rating, @win, 1 - @win)
      ON CONFLICT(jid) DO UPDATE SET rating = @rating, wins = wins + @win, losses = losses + 1 - @win`);
    this.db.transaction(() => {
      this.db.prepare(`INSERT INTO games (room, seed, winner, loser, winner_score, loser_score, reason, duration_ms, finished_at, replay)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(r.room, r.seed, r.winner, r.loser, r.winnerScore, r.loserScore, r.reason, r.durationMs,
        r.finishedAt.toISOString(), r.replay ? JSON.stringify(r.replay) : null);
      const [w, l] = eloUpdate(get.get(r.winner)?.rating ?? ELO_START, get.get(r.loser)?.rating ?? ELO_START);
      if (!this.isGuest(r.winner)) upsert.run({ jid: r.winner, rating: w, win: 1 });
      if (!this.isGuest(r.loser)) upsert.run({ jid: r.loser, rating: l, win: 0 });
    })();
  }

  /** The best `max` accounts by rating (ties: more wins first, then JID). */
  top(max: number): Standing[] {
    return this.db.prepare<[number], Standing>("SELECT jid, rating, wins, losses FROM players ORDER BY rating DESC, wins DESC, jid LIMIT ?").all(max);
  }

  /** The replay record of a stored game (by row id, 1 = first game). */
  replayOf(id: number): GameResult["replay"] | undefined {
    const row = this.db.prepare<[number], { replay: string | null }>("SELECT replay FROM games WHERE id = ?").get(id);
    if (!row) return undefined;
    return row.replay === null ? null : (JSON.parse(row.replay) as NonNullable<GameResult["replay"]>);
  }

  get gamesPlayed(): number {
    return (this.db.prepare("SELECT count(*) AS n FROM games").get() as { n: number }).n;
  }

  close(): void {
    this.db.close();
  }
}
