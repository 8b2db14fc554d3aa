import type { Element } from "annex";
import type { Bot } from "./bot.js";
import type { Payload, SeatStart, WireCodec, WireEvent } from "./codec.js";
import type { Game, GameEvent, GameSettings, LogEntry } from "./game.js";
import type { DropCounters } from "./limits.js";
import type { PongOptions } from "./options.js";
import { clamp, type Side } from "./physics.js";

/** A finished game, for the leaderboard and the results feed. */
export interface GameResult {
  room: string;
  seed: number;
  winner: string;
  loser: string;
  winnerScore: number;
  loserScore: number;
  reason: "score" | "forfeit";
  durationMs: number;
  /** Settings, last tick and input log: `Game.replay` reproduces the game exactly (null: log too long to keep). */
  replay: { settings: GameSettings; ticks: number; log: LogEntry[] } | null;
  finishedAt: Date;
}

export interface Seat {
  readonly side: Side;
  /** The full JID the game talks to; only it may move this paddle. */
  jid: string;
  bare: string;
  /** How this seat is spoken to (what its address checked in with). */
  codec: WireCodec;
  /** The front door that relays for this seat (a book client of a shard; PROTOCOL.md §Shards); undefined: direct. */
  via?: string;
  bot?: Bot;
  /** Tick at which the player went offline; undefined while present. */
  awaySince?: number;
  lastSeq: number;
  /** Lets a new address take this seat back (a guest reconnects with a new JID); only the player is told it. */
  token?: string;
  pendingY?: number;
  pendingSeq?: number;
  /** Last opponent paddle y sent to a book client (opponentpaddleupdate only on change). */
  sentOpponentY?: number;
  /** Asked for a pause that starts at the next serve (PROTOCOL.md §Pause). */
  pauseRequested?: boolean;
  /** Pauses this player asked for in this game. */
  pausesUsed?: number;
}

/**
 * A seat with every field present from the start, in one order: all seats then share one hidden class, so the
 * per-tick code reading them (step, snapshot, input) stays monomorphic instead of meeting a shape per history.
 */
function uniformSeat(s: Seat): Seat {
  return { side: s.side, jid: s.jid, bare: s.bare, codec: s.codec, via: s.via, bot: s.bot, awaySince: s.awaySince, lastSeq: s.lastSeq,
    token: s.token, pendingY: s.pendingY, pendingSeq: s.pendingSeq, sentOpponentY: s.sentOpponentY, pauseRequested: s.pauseRequested, pausesUsed: s.pausesUsed };
}

/** Someone told about a room: how it is spoken to, and through which front door (undefined: directly). */
export interface Listener {
  codec: WireCodec;
  via?: string;
}

/** Pauses a player may ask for in one game: enough for a break, too few to stall an opponent. */
export const PAUSES_PER_GAME = 2;

/** What a room needs from whoever runs it: where stanzas go, the settings, names, counters. */
export interface RoomHost {
  readonly options: PongOptions;
  readonly drops: DropCounters;
  readonly stats: { inputsAccepted: number; snapshotsSent: number };
  /** One game payload to one address (in a game message from the room's domain, or relayed by `via`). */
  send(to: string, payload: Payload, via?: string): void;
  /** One game payload to several addresses spoken to directly: built once, serialised once (Sender.fanOut). */
  sendMany(to: readonly string[], payload: Payload): void;
  /** A seat's name for the other players (nick, "the computer", or the address). */
  nameOf(seat: Seat): string;
  /** The address that runs this room, when a player may have checked in elsewhere (shards); else undefined. */
  readonly address?: string;
}

/** Why an input was not applied (counted; the first three are told to the sender). */
export type InputRefusal = { drop: "invalid" | "outOfRange"; text: string } | { drop: "stale" | "wrongPhase" };

/**
 * One game: its two seats and spectators, the grace period of an away player, requested pauses, the fixed
 * step and what each step sends. Knows nothing of other rooms or of how players were matched.
 */
export class Room {
  readonly spectators = new Map<string, Listener>();
  /** A pause a player asked for: whose, and the tick at which the game goes on by itself. */
  requestedPause?: { side: Side; until: number };

  /** The two seats, each made uniform (see uniformSeat). */
  readonly seats: [Seat, Seat];

  constructor(
    private readonly host: RoomHost,
    readonly id: string,
    readonly seed: number,
    readonly game: Game,
    seats: [Seat, Seat],
    /** Staggers this room's snapshot ticks against other rooms' (gameloop.md §d1). */
    readonly slot: number,
  ) {
    this.seats = [uniformSeat(seats[0]), uniformSeat(seats[1])];
  }

  get over(): boolean {
    return this.game.phase === "over";
  }

  /** Tells each human seat that the game begins (in its protocol). */
  open(): void {
    for (const side of [0, 1] as const) {
      const seat = this.seats[side];
      if (seat.bot) continue;
      const payload = seat.codec.opened(this.startOf(side));
      if (payload) this.host.send(seat.jid, payload, seat.via);
    }
  }

  /** `jid` takes the seat (a new address of the same player, or the same one coming back), and gets the game state. */
  rejoin(side: Side, jid: string, codec: WireCodec, via?: string): void {
    const seat = this.seats[side];
    Object.assign(seat, { jid, codec, via, sentOpponentY: undefined });
    this.host.send(jid, codec.rejoined(this.startOf(side)), via);
    if (seat.awaySince === undefined) return;
    seat.awaySince = undefined;
    if (this.seats.some((s) => s.awaySince !== undefined) || this.requestedPause) return;
    this.game.resume();
    this.broadcast({ k: "resume", tick: this.game.tick });
  }

  /**
   * A paddle target for `side`; `seq` already parsed by the sender's codec. Queued, not applied: the next tick
   * applies the latest (gameloop.md §d1). Returns why it was refused, or undefined.
   */
  input(side: Side, y: number, seq: number | undefined): InputRefusal | undefined {
    const seat = this.seats[side];
    const { height, paddleHeight } = this.game.field;
    if (y < 0 || y > height) return { drop: "outOfRange", text: `paddle y ${y} is outside the field (0 to ${height})` };
    if (seq !== undefined && seq <= Math.max(seat.lastSeq, seat.pendingSeq ?? -1)) return { drop: "stale" };
    if (this.game.phase === "paused" || this.game.phase === "over") return { drop: "wrongPhase" };
    seat.pendingY = clamp(y, 0, height - paddleHeight);
    if (seq !== undefined) seat.pendingSeq = seq;
    return undefined;
  }

  spectate(jid: string, listener: Listener): void {
    this.spectators.set(jid, listener);
    this.snapshotTo(jid, listener, undefined);
  }

  forfeit(side: Side): void {
    this.game.forfeit(side);
  }

  /** A player went offline (RFC 6121 §4.6): the game pauses until it is back or its grace period ends. */
  away(side: Side, tick: number): void {
    if (this.seats[side].awaySince !== undefined) return;
    this.seats[side].awaySince = tick;
    this.game.pause();
    this.broadcast({ k: "pause", side, grace: this.host.options.graceSeconds, byRequest: false, tick: this.game.tick });
    // The paused state as the last snapshot (see startRequestedPause), not the ball the client carries on.
    this.snapshot();
  }

  /** The component lost its link: as if both players had gone offline. */
  pauseAll(tick: number): void {
    for (const seat of this.seats) {
      if (seat.bot || seat.awaySince !== undefined) continue;
      seat.awaySince = tick;
    }
    if (this.game.phase !== "over") this.game.pause();
  }

  /** A seated player asks for a pause: at once if the ball waits for a serve, else at the next serve. */
  requestPause(side: Side): string | undefined {
    if (this.host.options.pauseSeconds === 0) return "this service takes no pause requests (pauseSeconds is 0)";
    const seat = this.seats[side];
    if ((seat.pausesUsed ?? 0) >= PAUSES_PER_GAME) return `a player may ask for ${PAUSES_PER_GAME} pauses a game`;
    seat.pauseRequested = true;
    return undefined;
  }

  /** The player who asked for the pause goes on (or takes back a request); false: not paused at its request. */
  resumeRequest(side: Side): boolean {
    const seat = this.seats[side];
    if (seat.pauseRequested) {
      seat.pauseRequested = false;
      return true;
    }
    if (this.requestedPause?.side !== side) return false;
    this.endRequestedPause();
    return true;
  }

  startRequestedPause(tick: number): void {
    if (this.requestedPause || this.game.phase !== "serve") return;
    const side = ([0, 1] as const).find((s) => this.seats[s].pauseRequested);
    if (side === undefined) return;
    const seat = this.seats[side];
    seat.pauseRequested = false;
    seat.pausesUsed = (seat.pausesUsed ?? 0) + 1;
    const seconds = this.host.options.pauseSeconds;
    this.requestedPause = { side, until: tick + Math.round(seconds * this.host.options.tickHz) };
    this.game.pause();
    this.broadcast({ k: "pause", side, grace: seconds, byRequest: true, tick: this.game.tick });
    // No snapshot goes out while paused, so the pictures show the last one until the game goes on: make that the
    // paused state. Without it a pause at the serve after a point left the ball drawn behind the goal line.
    this.snapshot();
  }

  private endRequestedPause(): void {
    this.requestedPause = undefined;
    // A player who is away keeps the game paused (the grace rules apply).
    if (this.game.phase !== "paused" || this.seats.some((s) => s.awaySince !== undefined)) return;
    this.game.resume();
    this.broadcast({ k: "resume", tick: this.game.tick });
  }

  /** Bots decide, queued inputs apply, away players past their grace forfeit, the game steps. */
  step(tick: number, graceTicks: number): void {
    const { game } = this;
    // Once per room per tick (60 000 calls a second at 1 000 rooms): plain loop, no destructuring.
    for (let side: Side = 0; side < 2; side = (side + 1) as Side) {
      const seat = this.seats[side];
      const target = seat.bot ? seat.bot.decide(game) : seat.pendingY;
      if (target !== undefined) game.setTarget(side, target);
      seat.pendingY = undefined;
      if (seat.pendingSeq !== undefined) {
        seat.lastSeq = seat.pendingSeq;
        seat.pendingSeq = undefined;
      }
      if (seat.awaySince !== undefined && tick - seat.awaySince >= graceTicks) game.forfeit(side);
    }
    if (this.requestedPause && tick >= this.requestedPause.until) this.endRequestedPause();
    game.step();
  }

  /** The step's events (points, game over), oldest first; the room tells its players with `announce`. */
  drainEvents(): GameEvent[] {
    return this.game.drainEvents();
  }

  announce(ev: GameEvent): void {
    if (ev.kind === "point") this.broadcast({ k: "point", who: ev.scorer, score: ev.score, tick: ev.tick });
    else this.broadcast({ k: "over", winner: ev.winner, reason: ev.reason, score: ev.score, tick: ev.tick });
  }

  result(): GameResult {
    const { game } = this;
    const winner = game.winner!;
    const loser = winner === 0 ? 1 : 0;
    return {
      room: this.id,
      seed: this.seed,
      winner: this.seats[winner].bare,
      loser: this.seats[loser].bare,
      winnerScore: game.score[winner],
      loserScore: game.score[loser],
      reason: game.overReason!,
      durationMs: Math.round((game.tick * 1000) / game.tickHz),
      replay: game.replayable ? { settings: game.settings, ticks: game.tick, log: game.log } : null,
      finishedAt: new Date(),
    };
  }

  /** The `<start>` facts for one seat. */
  startOf(side: Side): SeatStart {
    const opponent = this.seats[side === 0 ? 1 : 0];
    const o = this.host.options;
    return { room: this.id, side, opponent: opponent.bare, opponentName: this.host.nameOf(opponent), field: this.game.field, tickHz: o.tickHz,
      snapshotHz: o.snapshotHz, pointsToWin: o.pointsToWin, ack: this.seats[side].lastSeq, token: this.seats[side].token, at: this.host.address };
  }

  // --- snapshots (the per-tick broadcast) ---

  snapshot(): void {
    // A player's snapshot is its own (the compact ack, the book's opponent paddle on change): one each.
    for (const side of [0, 1] as const) {
      const seat = this.seats[side];
      if (!seat.bot && seat.awaySince === undefined) this.snapshotTo(seat.jid, seat, side);
    }
    if (this.spectators.size === 0) return;
    // Spectators of one codec get the same payload: built once per room per tick and fanned out (serialised once,
    // only the address spliced per copy). Relayed ones (via a front door) are wrapped per copy, so go one by one.
    let byCodec: Map<WireCodec, string[]> | undefined;
    for (const [jid, listener] of this.spectators) {
      if (listener.via !== undefined) {
        this.snapshotTo(jid, listener, undefined);
        continue;
      }
      byCodec ??= new Map();
      const jids = byCodec.get(listener.codec);
      if (jids) jids.push(jid);
      else byCodec.set(listener.codec, [jid]);
    }
    if (!byCodec) return;
    for (const [codec, jids] of byCodec) {
      this.host.stats.snapshotsSent += jids.length;
      for (const payload of codec.snapshot(this.id, this.game, undefined)) this.host.sendMany(jids, payload);
    }
  }

  /** One update to one JID, in its codec (the book's ballposition + opponentpaddleupdate on change, or one compact `<s/>`). */
  private snapshotTo(jid: string, { codec, via }: Listener, side: Side | undefined): void {
    this.host.stats.snapshotsSent++;
    const seat = side === undefined ? undefined : this.seats[side];
    for (const payload of codec.snapshot(this.id, this.game, seat)) this.host.send(jid, payload, via);
  }

  /** An event to both players and every spectator, each in its own protocol. */
  broadcast(ev: WireEvent): void {
    const to = [...this.seats.filter((s) => !s.bot && s.awaySince === undefined).map((s) => [s.jid, s as Listener] as const), ...this.spectators];
    for (const [jid, { codec, via }] of to) this.host.send(jid, codec.event(ev), via);
  }
}
