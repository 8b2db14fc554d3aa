import { randomBytes, randomInt } from "node:crypto";
import { performance } from "node:perf_hooks";
import { type Element, StanzaError, TokenBuckets } from "annex";
import { Bot } from "./bot.js";
import { Game, type GameEvent, type GameSettings, type LogEntry } from "./game.js";
import { type DropCounters, noDrops } from "./limits.js";
import type { PongOptions } from "./options.js";
import { BOOK_FIELD, clamp, pacedPhysics, type Side } from "./physics.js";
import { type Protocol, bookPayload, compact, gameMessage, px } from "./protocol.js";
import type { Clock } from "./scheduler.js";
import { Nicknames } from "./names.js";

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

interface Seat {
  /** The full JID the game talks to; only it may move this paddle. */
  jid: string;
  bare: string;
  protocol: Protocol;
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

/** Pauses a player may ask for in one game: enough for a break, too few to stall an opponent. */
export const PAUSES_PER_GAME = 2;

interface Waiting {
  jid: string;
  bare: string;
  protocol: Protocol;
  sinceMs: number;
}

export interface Room {
  readonly id: string;
  readonly seed: number;
  readonly game: Game;
  readonly seats: [Seat, Seat];
  readonly spectators: Map<string, Protocol>;
  /** Staggers this room's snapshot ticks against other rooms' (gameloop.md §d1). */
  readonly slot: number;
  /** A pause a player asked for: whose, and the tick at which the game goes on by itself. */
  requestedPause?: { side: Side; until: number };
}

export interface ArenaDeps {
  domain: string;
  options: PongOptions;
  send: (stanza: Element) => void;
  onResult: (result: GameResult) => void;
  /** Told when the arena needs ticks (a room or a waiting player) and when it does not. */
  onActivity?: (active: boolean) => void;
  clock?: Clock;
  /** The per-sender input budget; default a bucket set of its own at options.inputRateHz / inputBurst. */
  inputLimit?: TokenBuckets;
}

const realClock: Clock = { now: () => performance.now() };

/**
 * All games of one pong component: the matchmaking queue, rooms, seats and spectators, input checks,
 * and what each tick sends. Protocol-neutral inside; speaks the book's table or the compact protocol
 * to each JID according to what that JID checked in with.
 */
export class Arena {
  readonly rooms = new Map<string, Room>();
  readonly drops: DropCounters = noDrops();
  inputsAccepted = 0;
  /** Snapshots sent (one per recipient), for operators and the benchmark. */
  snapshotsSent = 0;
  /** Players' names (XEP-0172 nicks), shown instead of addresses. */
  readonly nicks = new Nicknames();
  private readonly waiting: Waiting[] = [];
  private readonly seatByJid = new Map<string, { room: Room; side: Side }>();
  private readonly seatByBare = new Map<string, { room: Room; side: Side }>();
  private readonly spectating = new Map<string, Room>();
  private readonly buckets: TokenBuckets;
  private readonly clock: Clock;
  private readonly sendEvery: number;
  private readonly graceTicks: number;
  private tick = 0;
  private roomCount = 0;
  private active = false;

  constructor(private readonly deps: ArenaDeps) {
    const o = deps.options;
    this.clock = deps.clock ?? realClock;
    this.buckets = deps.inputLimit ?? new TokenBuckets({ perSecond: o.inputRateHz, burst: o.inputBurst }, () => this.clock.now());
    this.sendEvery = Math.max(1, Math.round(o.tickHz / o.snapshotHz));
    this.graceTicks = Math.round(o.graceSeconds * o.tickHz);
  }

  get options(): PongOptions {
    return this.deps.options;
  }

  get waitingCount(): number {
    return this.waiting.length;
  }

  /** False when `jid` has used up its stanza budget; the caller drops the stanza. */
  allow(jid: string): boolean {
    if (this.buckets.take(jid)) return true;
    this.drops.rateLimited++;
    return false;
  }

  /**
   * A player asks to play. Rejoins its own game if it has one (same account, or the seat's token from
   * `<start token>` for a new address, e.g. an anonymous guest after a reconnection); else plays the
   * computer at once when asked to, or waits for, or meets, an opponent.
   */
  checkIn(jid: string, bare: string, protocol: Protocol, request: { opponent?: "bot"; token?: string } = {}): void {
    if (request.token !== undefined) return this.rejoinByToken(request.token, jid, bare, protocol);
    const seated = this.seatByBare.get(bare);
    if (seated) return this.rejoin(seated.room, seated.side, jid, protocol);
    if (request.opponent === "bot") return this.playBot(jid, bare, protocol);
    const queued = this.waiting.find((w) => w.bare === bare);
    if (queued) {
      Object.assign(queued, { jid, protocol });
      return this.sendQueued(queued, 0);
    }
    if (this.rooms.size >= this.options.maxRooms) {
      // The book's answer to one check-in too many (Practical XMPP ch. 9, sendGameFullMessage).
      throw new StanzaError("conflict", { type: "cancel", text: "Game is currently full" });
    }
    const opponent = this.waiting.shift();
    const me: Waiting = { jid, bare, protocol, sinceMs: this.clock.now() };
    if (!opponent) {
      this.waiting.push(me);
      this.sendQueued(me, 0);
      return this.updateActivity();
    }
    this.sendQueued(me, 1);
    this.open(opponent, me);
  }

  /** A paddle target from `jid`. Throws a StanzaError for input worth telling the sender about. */
  input(jid: string, rawY: string | undefined, rawSeq: string | undefined, protocol: Protocol): void {
    const ref = this.seatByJid.get(jid);
    if (!ref) {
      this.drops.notSeated++;
      throw new StanzaError("forbidden", { type: "auth", text: "only a seated player may move a paddle; check in first" });
    }
    const { room, side } = ref;
    const seat = room.seats[side];
    const y = rawY === undefined || rawY.trim() === "" ? NaN : Number(rawY);
    if (!Number.isFinite(y)) {
      this.drops.invalid++;
      throw new StanzaError("bad-request", { type: "modify", text: `paddle y must be a number, got ${JSON.stringify(rawY ?? "")}` });
    }
    const { height, paddleHeight } = room.game.field;
    if (y < 0 || y > height) {
      this.drops.outOfRange++;
      throw new StanzaError("bad-request", { type: "modify", text: `paddle y ${y} is outside the field (0 to ${height})` });
    }
    let seq: number | undefined;
    if (protocol === "compact") {
      seq = rawSeq === undefined ? NaN : Number(rawSeq);
      if (!Number.isSafeInteger(seq) || seq < 0) {
        this.drops.invalid++;
        throw new StanzaError("bad-request", { type: "modify", text: `seq must be a non-negative integer, got ${JSON.stringify(rawSeq ?? "")}` });
      }
      if (seq <= Math.max(seat.lastSeq, seat.pendingSeq ?? -1)) {
        this.drops.stale++;
        return;
      }
    }
    if (room.game.phase === "paused" || room.game.phase === "over") {
      this.drops.wrongPhase++;
      return;
    }
    // Inputs are only queued; the next tick applies the latest one (gameloop.md §d1).
    seat.pendingY = clamp(y, 0, height - paddleHeight);
    if (seq !== undefined) seat.pendingSeq = seq;
    this.inputsAccepted++;
  }

  spectate(jid: string, roomId: string, protocol: Protocol): void {
    const room = this.rooms.get(roomId);
    if (!room) throw new StanzaError("item-not-found", { text: `no running game with id ${JSON.stringify(roomId)}` });
    if (room.seats.some((s) => s.jid === jid)) throw new StanzaError("not-allowed", { text: "a player cannot spectate its own game" });
    this.spectating.get(jid)?.spectators.delete(jid);
    room.spectators.set(jid, protocol);
    this.spectating.set(jid, room);
    this.snapshotTo(room, jid, protocol, undefined);
  }

  /** An explicit goodbye: a player forfeits, a spectator or waiting player is removed. */
  leave(jid: string): void {
    this.unwait(jid);
    this.unspectate(jid);
    const ref = this.seatByJid.get(jid);
    if (ref) {
      ref.room.game.forfeit(ref.side);
      this.afterStep(ref.room);
    }
  }

  /**
   * A seated player asks for a pause between points: at once if the ball waits for a serve, else at the
   * next serve. It lasts until that player resumes, or `pauseSeconds` at most.
   */
  requestPause(jid: string): void {
    const ref = this.seatByJid.get(jid);
    if (!ref) throw new StanzaError("forbidden", { type: "auth", text: "only a seated player may ask for a pause" });
    if (this.options.pauseSeconds === 0) throw new StanzaError("not-allowed", { text: "this service takes no pause requests (pauseSeconds is 0)" });
    const seat = ref.room.seats[ref.side];
    if ((seat.pausesUsed ?? 0) >= PAUSES_PER_GAME) throw new StanzaError("not-allowed", { text: `a player may ask for ${PAUSES_PER_GAME} pauses a game` });
    seat.pauseRequested = true;
    this.startRequestedPause(ref.room);
  }

  /** The player who asked for the pause goes on (or takes back a request that has not started yet). */
  resumeRequest(jid: string): void {
    const ref = this.seatByJid.get(jid);
    if (!ref) throw new StanzaError("forbidden", { type: "auth", text: "only a seated player may resume a game" });
    const seat = ref.room.seats[ref.side];
    if (seat.pauseRequested) {
      seat.pauseRequested = false;
      return;
    }
    if (ref.room.requestedPause?.side !== ref.side) throw new StanzaError("unexpected-request", { type: "cancel", text: "the game is not paused at your request" });
    this.endRequestedPause(ref.room);
  }

  private startRequestedPause(room: Room): void {
    if (room.requestedPause || room.game.phase !== "serve") return;
    const side = ([0, 1] as const).find((s) => room.seats[s].pauseRequested);
    if (side === undefined) return;
    const seat = room.seats[side];
    seat.pauseRequested = false;
    seat.pausesUsed = (seat.pausesUsed ?? 0) + 1;
    const seconds = this.options.pauseSeconds;
    room.requestedPause = { side, until: this.tick + Math.round(seconds * this.options.tickHz) };
    room.game.pause();
    this.broadcast(room, () => bookPayload("paused", { side, graceseconds: seconds }),
      () => compact("ev", { k: "pause", side, by: "request", grace: seconds, t: room.game.tick }));
  }

  private endRequestedPause(room: Room): void {
    room.requestedPause = undefined;
    // A player who is away keeps the game paused (the grace rules apply).
    if (room.game.phase !== "paused" || room.seats.some((s) => s.awaySince !== undefined)) return;
    room.game.resume();
    this.broadcast(room, () => bookPayload("resumed"), () => compact("ev", { k: "resume", t: room.game.tick }));
  }

  /** RFC 6121 §4.6: the user's server sends this to everyone it sent directed presence when it goes offline. */
  unavailable(jid: string): void {
    this.unwait(jid);
    this.unspectate(jid);
    const ref = this.seatByJid.get(jid);
    if (!ref || ref.room.seats[ref.side].awaySince !== undefined) return;
    ref.room.seats[ref.side].awaySince = this.tick;
    ref.room.game.pause();
    this.broadcast(ref.room, () => bookPayload("paused", { side: ref.side, graceseconds: this.options.graceSeconds }),
      () => compact("ev", { k: "pause", side: ref.side, grace: this.options.graceSeconds, t: ref.room.game.tick }));
  }

  /** Available presence: a player coming back (from any resource of the same account) resumes its game. */
  available(jid: string, bare: string): void {
    const ref = this.seatByBare.get(bare);
    if (ref && ref.room.seats[ref.side].awaySince !== undefined) this.rejoin(ref.room, ref.side, jid, ref.room.seats[ref.side].protocol);
  }

  /** One fixed step for every room; called by the shared scheduler. */
  step(): void {
    this.tick++;
    for (const room of this.rooms.values()) {
      const { game } = room;
      for (const side of [0, 1] as const) {
        const seat = room.seats[side];
        const target = seat.bot ? seat.bot.decide(game) : seat.pendingY;
        if (target !== undefined) game.setTarget(side, target);
        seat.pendingY = undefined;
        if (seat.pendingSeq !== undefined) [seat.lastSeq, seat.pendingSeq] = [seat.pendingSeq, undefined];
        if (seat.awaySince !== undefined && this.tick - seat.awaySince >= this.graceTicks) game.forfeit(side);
      }
      if (room.requestedPause && this.tick >= room.requestedPause.until) this.endRequestedPause(room);
      game.step();
      this.afterStep(room);
      if (this.rooms.has(room.id)) this.startRequestedPause(room);
      if (this.rooms.has(room.id) && game.phase !== "paused" && (this.tick + room.slot) % this.sendEvery === 0) this.snapshot(room);
    }
    if (this.tick % this.options.tickHz === 0) this.housekeeping();
  }

  private rejoinByToken(token: string, jid: string, bare: string, protocol: Protocol): void {
    for (const room of this.rooms.values()) {
      const side = room.seats.findIndex((s) => s.token !== undefined && s.token === token);
      if (side === -1) continue;
      const seat = room.seats[side as Side];
      if (this.seatByBare.get(seat.bare)?.room === room) this.seatByBare.delete(seat.bare);
      seat.bare = bare;
      this.seatByBare.set(bare, { room, side: side as Side });
      return this.rejoin(room, side as Side, jid, protocol);
    }
    throw new StanzaError("item-not-found", { type: "cancel", text: "no game holds this token: it ended, or the grace period passed" });
  }

  /** "Play the computer": a room with a bot opponent right away (skill from options.bot, else 0.7). */
  private playBot(jid: string, bare: string, protocol: Protocol): void {
    if (this.rooms.size >= this.options.maxRooms) throw new StanzaError("conflict", { type: "cancel", text: "Game is currently full" });
    this.unwait(jid);
    const n = this.roomCount + 1;
    const skill = this.options.bot?.skill ?? 0.7;
    this.open({ jid, bare, protocol, sinceMs: this.clock.now() }, { jid: `bot@${this.deps.domain}`, bot: new Bot(1, skill, (this.options.seed ?? randomInt(0, 2 ** 32)) + n * 7919, this.options.tickHz) });
  }

  /** Rooms for disco#items. */
  list(): { id: string; name: string }[] {
    return [...this.rooms.values()].map((r) => ({ id: r.id, name: `${this.seatName(r.seats[0])} vs ${this.seatName(r.seats[1])} (${r.game.score.join("–")})` }));
  }

  /** The lobby: who waits (oldest first) and every running game with its players' names and score. */
  lobby(): { waiting: string[]; games: { id: string; names: [string, string]; score: [number, number]; spectators: number }[] } {
    return {
      waiting: this.waiting.map((w) => this.nicks.nameOf(w.bare)),
      games: [...this.rooms.values()].map((r) => ({ id: r.id, names: [this.seatName(r.seats[0]), this.seatName(r.seats[1])], score: [r.game.score[0], r.game.score[1]], spectators: r.spectators.size })),
    };
  }

  private seatName(seat: Seat): string {
    return this.nicks.nameOf(seat.bare, seat.bot !== undefined);
  }

  private open(left: Waiting, right: Waiting | { bot: Bot; jid: string }): void {
    const n = ++this.roomCount;
    const seed = this.options.seed !== undefined ? this.options.seed + n : randomInt(0, 2 ** 32);
    const game = new Game({ seed, tickHz: this.options.tickHz, pointsToWin: this.options.pointsToWin, physics: pacedPhysics(this.options.pace) });
    const seat = (w: Waiting): Seat => ({ jid: w.jid, bare: w.bare, protocol: w.protocol, lastSeq: -1, token: randomBytes(16).toString("hex") });
    const second: Seat = "bot" in right ? { jid: right.jid, bare: right.jid, protocol: "book", bot: right.bot, lastSeq: -1 } : seat(right);
    const room: Room = { id: `r${n}`, seed, game, seats: [seat(left), second], spectators: new Map(), slot: n % this.sendEvery };
    this.rooms.set(room.id, room);
    for (const side of [0, 1] as const) {
      const s = room.seats[side];
      if (s.bot) continue;
      this.seatByJid.set(s.jid, { room, side });
      this.seatByBare.set(s.bare, { room, side });
      if (s.protocol === "compact") this.deps.send(gameMessage(this.deps.domain, s.jid, this.startPayload(room, side)));
    }
    this.updateActivity();
  }

  private rejoin(room: Room, side: Side, jid: string, protocol: Protocol): void {
    const seat = room.seats[side];
    this.seatByJid.delete(seat.jid);
    Object.assign(seat, { jid, protocol, sentOpponentY: undefined });
    this.seatByJid.set(jid, { room, side });
    this.deps.send(gameMessage(this.deps.domain, jid, protocol === "book" ? this.dimensions(room.game, side) : this.startPayload(room, side)));
    if (seat.awaySince === undefined) return;
    seat.awaySince = undefined;
    if (room.seats.some((s) => s.awaySince !== undefined) || room.requestedPause) return;
    room.game.resume();
    this.broadcast(room, () => bookPayload("resumed"), () => compact("ev", { k: "resume", t: room.game.tick }));
  }

  /** Sends the events of the last step and closes the room when the game is over. */
  private afterStep(room: Room): void {
    const events = room.game.drainEvents();
    // The result is stored before anyone is told the game is over, so a crash cannot lose a game players saw end.
    if (room.game.phase === "over") this.close(room);
    for (const ev of events) this.announce(room, ev);
  }

  /**
   * The component lost its link to the server: no player can reach it, so every running game pauses as if
   * both players had gone offline; each resumes when its players check in again (the grace rules apply).
   */
  pauseAll(): void {
    for (const room of this.rooms.values()) {
      for (const seat of room.seats) {
        if (seat.bot || seat.awaySince !== undefined) continue;
        seat.awaySince = this.tick;
      }
      if (room.game.phase !== "over") room.game.pause();
    }
  }

  private announce(room: Room, ev: GameEvent): void {
    const [p1, p2] = ev.score;
    if (ev.kind === "point") {
      this.broadcast(room, () => bookPayload("scoreupdate", { player1: p1, player2: p2 }),
        () => compact("ev", { k: "point", who: ev.scorer, sc: `${p1},${p2}`, t: ev.tick }));
    } else {
      this.broadcast(room, () => bookPayload("gameover", { winner: ev.winner, reason: ev.reason, player1: p1, player2: p2 }),
        () => compact("ev", { k: "over", winner: ev.winner, reason: ev.reason, sc: `${p1},${p2}`, t: ev.tick }));
    }
  }

  private close(room: Room): void {
    const { game } = room;
    const winner = game.winner!;
    const loser = winner === 0 ? 1 : 0;
    this.dispose(room);
    this.deps.onResult({
      room: room.id,
      seed: room.seed,
      winner: room.seats[winner].bare,
      loser: room.seats[loser].bare,
      winnerScore: game.score[winner],
      loserScore: game.score[loser],
      reason: game.overReason!,
      durationMs: Math.round((game.tick * 1000) / game.tickHz),
      replay: game.replayable ? { settings: game.settings, ticks: game.tick, log: game.log } : null,
      finishedAt: new Date(),
    });
  }

  /** Empty and finished rooms are removed at once, with every index entry pointing at them. */
  private dispose(room: Room): void {
    for (const s of room.seats) {
      if (this.seatByJid.get(s.jid)?.room === room) this.seatByJid.delete(s.jid);
      if (this.seatByBare.get(s.bare)?.room === room) this.seatByBare.delete(s.bare);
    }
    for (const jid of room.spectators.keys()) this.spectating.delete(jid);
    this.rooms.delete(room.id);
    this.updateActivity();
  }

  private snapshot(room: Room): void {
    for (const side of [0, 1] as const) {
      const seat = room.seats[side];
      if (!seat.bot && seat.awaySince === undefined) this.snapshotTo(room, seat.jid, seat.protocol, side);
    }
    for (const [jid, protocol] of room.spectators) this.snapshotTo(room, jid, protocol, undefined);
  }

  /** One update to one JID: the book's ballposition (+ opponentpaddleupdate on change), or one compact `<s/>`. */
  private snapshotTo(room: Room, jid: string, protocol: Protocol, side: Side | undefined): void {
    const { game } = room;
    const send = (payload: Element) => this.deps.send(gameMessage(this.deps.domain, jid, payload));
    this.snapshotsSent++;
    if (protocol === "compact") {
      const { x, y, vx, vy } = game.ball;
      const phase = game.phase === "serve" ? "serve" : game.phase;
      return send(compact("s", { r: room.id, t: game.tick, a: side === undefined ? undefined : room.seats[side].lastSeq,
        b: `${px(x)},${px(y)},${px(vx)},${px(vy)}`, p: `${px(game.paddles[0])},${px(game.paddles[1])}`, sc: game.score.join(","), ph: phase }));
    }
    send(bookPayload("ballposition", { x: px(game.ball.x), y: px(game.ball.y) }));
    if (side === undefined) return send(bookPayload("paddlepositions", { player1: px(game.paddles[0]), player2: px(game.paddles[1]) }));
    const seat = room.seats[side];
    const opponentY = px(game.paddles[side === 0 ? 1 : 0]);
    if (seat.sentOpponentY === opponentY) return;
    seat.sentOpponentY = opponentY;
    send(bookPayload("opponentpaddleupdate", { y: opponentY }));
  }

  /** An event to both players and every spectator, each in its own protocol. */
  private broadcast(room: Room, book: () => Element, compactPayload: () => Element): void {
    const to = [...room.seats.filter((s) => !s.bot && s.awaySince === undefined).map((s) => [s.jid, s.protocol] as const), ...room.spectators];
    for (const [jid, protocol] of to) this.deps.send(gameMessage(this.deps.domain, jid, protocol === "book" ? book() : compactPayload()));
  }

  private sendQueued(w: Waiting, side: Side): void {
    const payload = w.protocol === "book"
      ? this.dimensions(undefined, side)
      : compact("queued", { side });
    this.deps.send(gameMessage(this.deps.domain, w.jid, payload));
  }

  /** The book's `dimensions` (Practical XMPP ch. 9), `paddley` being the paddles' starting top edge. */
  private dimensions(game: Game | undefined, side: Side): Element {
    const f = game?.field ?? BOOK_FIELD;
    return bookPayload("dimensions", { width: f.width, height: f.height, paddlewidth: f.paddleWidth, paddleheight: f.paddleHeight,
      paddlemargin: f.paddleMargin, paddley: (f.height - f.paddleHeight) / 2, ballradius: f.ballRadius, side });
  }

  private startPayload(room: Room, side: Side): Element {
    const f = room.game.field;
    return compact("start", { r: room.id, side, opp: room.seats[side === 0 ? 1 : 0].bare, oppnick: this.seatName(room.seats[side === 0 ? 1 : 0]), field: `${f.width},${f.height}`,
      paddle: `${f.paddleWidth},${f.paddleHeight},${f.paddleMargin}`, ball: f.ballRadius, hz: this.options.tickHz,
      snap: this.options.snapshotHz, to: this.options.pointsToWin, a: room.seats[side].lastSeq, token: room.seats[side].token });
  }

  /** Once a second: queue timeouts, bot opponents for lonely players, forgetting idle rate buckets. */
  private housekeeping(): void {
    const now = this.clock.now();
    const bot = this.options.bot;
    for (const w of [...this.waiting]) {
      const waitedMs = now - w.sinceMs;
      if (bot && waitedMs >= bot.afterSeconds * 1000 && this.rooms.size < this.options.maxRooms) {
        this.unwait(w.jid);
        const n = this.roomCount + 1;
        this.open(w, { jid: `bot@${this.deps.domain}`, bot: new Bot(1, bot.skill, (this.options.seed ?? randomInt(0, 2 ** 32)) + n * 7919, this.options.tickHz) });
      } else if (waitedMs >= this.options.queueTimeoutSeconds * 1000) {
        this.unwait(w.jid);
        const text = `no opponent within ${this.options.queueTimeoutSeconds} s; check in again to keep waiting`;
        this.deps.send(gameMessage(this.deps.domain, w.jid, w.protocol === "book" ? bookPayload("queuetimeout", { text }) : compact("ev", { k: "timeout" })));
      }
    }
    this.buckets.forgetIdle();
    this.updateActivity();
  }

  private unwait(jid: string): void {
    const i = this.waiting.findIndex((w) => w.jid === jid);
    if (i >= 0) this.waiting.splice(i, 1);
    this.updateActivity();
  }

  private unspectate(jid: string): void {
    this.spectating.get(jid)?.spectators.delete(jid);
    this.spectating.delete(jid);
  }

  private updateActivity(): void {
    const active = this.rooms.size > 0 || this.waiting.length > 0;
    if (active === this.active) return;
    this.active = active;
    this.deps.onActivity?.(active);
  }
}
