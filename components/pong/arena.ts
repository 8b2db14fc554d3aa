import { randomBytes, randomInt } from "node:crypto";
import { performance } from "node:perf_hooks";
import { type Element, parseXml, StanzaError, TokenBuckets } from "annex";
import { Bot } from "./bot.js";
import type { Payload, WireCodec } from "./codec.js";
import { codecFor } from "./codecs.js";
import { MemoryRoomDirectory, type SeatRef } from "./directory.js";
import { Game } from "./game.js";
import { type DropCounters, noDrops } from "./limits.js";
import { type CheckInRequest, Matchmaker, type Waiting } from "./matchmaker.js";
import type { PongOptions } from "./options.js";
import { pacedPhysics, type Side } from "./physics.js";
import { type Protocol, gameMessage, relayMessage } from "./protocol.js";
import { type GameResult, PAUSES_PER_GAME, Room, type RoomHost, type Seat } from "./room.js";
import type { Clock } from "./scheduler.js";
import { Nicknames } from "./names.js";

export { type GameResult, PAUSES_PER_GAME, Room };

export interface ArenaDeps {
  domain: string;
  options: PongOptions;
  send: (stanza: Element) => void;
  /** One stanza to many addresses (`template` is addressed to the first; Sender.fanOut); default: `send` for each. */
  sendMany?: (template: Element, to: readonly string[]) => void;
  onResult: (result: GameResult) => void;
  /** Told when the arena needs ticks (a room or a waiting player) and when it does not. */
  onActivity?: (active: boolean) => void;
  clock?: Clock;
  /** The per-sender input budget; default a bucket set of its own at options.inputRateHz / inputBurst. */
  inputLimit?: TokenBuckets;
  /** Told `<start at>` (this process is one shard of several; PROTOCOL.md §Shards). */
  address?: string;
  /** A seat changed hands (rejoin from a new address or account); shards write it to the shared directory. */
  onReseat?: (room: Room, seat: Seat) => void;
}

/** A room another process matched, to be run here (a shard): its id, seed and seats. */
export interface RoomSpec {
  id: string;
  seed: number;
  seats: [SeatSpec, SeatSpec];
}

export type SeatSpec = { bot: true } | { bot?: false; jid: string; bare: string; protocol: Protocol; via?: string; token: string; /** XEP-0172 nick, if known. */ nick?: string };

const realClock: Clock = { now: () => performance.now() };

/** A seat's secret (PROTOCOL.md `<start token>`). */
export const newToken = () => randomBytes(16).toString("hex");

/**
 * All games of one pong component: wires the matchmaker (queue, bot fallback, rejoin) to the room directory
 * and the rooms (room.ts), steps every room once per tick, checks inputs, and keeps the per-address indexes
 * (which full JID holds which seat or watches which room). Each address is spoken to through its codec.
 */
export class Arena {
  readonly drops: DropCounters = noDrops();
  readonly stats = { inputsAccepted: 0, snapshotsSent: 0 };
  /** Players' names (XEP-0172 nicks), shown instead of addresses. */
  readonly nicks = new Nicknames();
  readonly directory = new MemoryRoomDirectory();
  readonly matchmaker: Matchmaker;
  private readonly seatByJid = new Map<string, SeatRef>();
  private readonly spectating = new Map<string, Room>();
  private readonly buckets: TokenBuckets;
  private readonly clock: Clock;
  private readonly sendEvery: number;
  private readonly graceTicks: number;
  private readonly roomHost: RoomHost;
  private tick = 0;
  private roomCount = 0;
  private active = false;

  constructor(private readonly deps: ArenaDeps) {
    const o = deps.options;
    this.clock = deps.clock ?? realClock;
    this.buckets = deps.inputLimit ?? new TokenBuckets({ perSecond: o.inputRateHz, burst: o.inputBurst }, () => this.clock.now());
    this.sendEvery = Math.max(1, Math.round(o.tickHz / o.snapshotHz));
    this.graceTicks = Math.round(o.graceSeconds * o.tickHz);
    this.roomHost = {
      options: o,
      drops: this.drops,
      stats: this.stats,
      send: (to, payload, via) => this.sendTo(to, payload, via),
      sendMany: (to, payload) => this.sendToMany(to, payload),
      nameOf: (seat) => this.seatName(seat),
      address: deps.address,
    };
    this.matchmaker = new Matchmaker({
      options: o,
      clock: this.clock,
      directory: this.directory,
      send: (to, payload, via) => this.sendTo(to, payload, via),
      open: (left, right) => this.open(left, right),
      rejoin: (ref, jid, codec, via) => this.rejoin(ref, jid, codec, via),
    });
  }

  get options(): PongOptions {
    return this.deps.options;
  }

  /** The running games by id. */
  get rooms(): ReadonlyMap<string, Room> {
    return this.directory.byId;
  }

  get waitingCount(): number {
    return this.matchmaker.size;
  }

  get inputsAccepted(): number {
    return this.stats.inputsAccepted;
  }

  /** Snapshots sent (one per recipient), for operators and the benchmark. */
  get snapshotsSent(): number {
    return this.stats.snapshotsSent;
  }

  /** False when `jid` has used up its stanza budget; the caller drops the stanza. */
  allow(jid: string): boolean {
    if (this.buckets.take(jid)) return true;
    this.drops.rateLimited++;
    return false;
  }

  /** A player asks to play (Matchmaker.checkIn). */
  checkIn(jid: string, bare: string, protocol: Protocol, request: CheckInRequest = {}, via?: string): void {
    try {
      this.matchmaker.checkIn(jid, bare, codecFor(protocol), request, via);
    } finally {
      this.updateActivity();
    }
  }

  /** A paddle target from `jid`. Throws a StanzaError for input worth telling the sender about. */
  input(jid: string, rawY: string | undefined, rawSeq: string | undefined, protocol: Protocol): void {
    const ref = this.seatByJid.get(jid);
    if (!ref) {
      this.drops.notSeated++;
      throw new StanzaError("forbidden", { type: "auth", text: "only a seated player may move a paddle; check in first" });
    }
    const y = rawY === undefined || rawY.trim() === "" ? NaN : Number(rawY);
    if (!Number.isFinite(y)) {
      this.drops.invalid++;
      throw new StanzaError("bad-request", { type: "modify", text: `paddle y must be a number, got ${JSON.stringify(rawY ?? "")}` });
    }
    const { height } = ref.room.game.field;
    if (y < 0 || y > height) {
      this.drops.outOfRange++;
      throw new StanzaError("bad-request", { type: "modify", text: `paddle y ${y} is outside the field (0 to ${height})` });
    }
    const seq = codecFor(protocol).parseSeq(rawSeq);
    if (seq.error !== undefined) {
      this.drops.invalid++;
      throw new StanzaError("bad-request", { type: "modify", text: seq.error });
    }
    const refused = ref.room.input(ref.side, y, seq.seq);
    if (!refused) {
      this.stats.inputsAccepted++;
      return;
    }
    this.drops[refused.drop]++;
    if ("text" in refused) throw new StanzaError("bad-request", { type: "modify", text: refused.text });
  }

  spectate(jid: string, roomId: string, protocol: Protocol, via?: string): void {
    const room = this.directory.get(roomId);
    if (!room) throw new StanzaError("item-not-found", { text: `no running game with id ${JSON.stringify(roomId)}` });
    if (room.seats.some((s) => s.jid === jid)) throw new StanzaError("not-allowed", { text: "a player cannot spectate its own game" });
    this.unspectate(jid);
    this.spectating.set(jid, room);
    room.spectate(jid, { codec: codecFor(protocol), via });
  }

  /** An explicit goodbye: a player forfeits, a spectator or waiting player is removed. */
  leave(jid: string): void {
    this.matchmaker.unwait(jid);
    this.unspectate(jid);
    const ref = this.seatByJid.get(jid);
    if (ref) {
      ref.room.forfeit(ref.side);
      this.afterStep(ref.room);
    }
    this.updateActivity();
  }

  /**
   * A seated player asks for a pause between points: at once if the ball waits for a serve, else at the
   * next serve. It lasts until that player resumes, or `pauseSeconds` at most.
   */
  requestPause(jid: string): void {
    const ref = this.seatByJid.get(jid);
    if (!ref) throw new StanzaError("forbidden", { type: "auth", text: "only a seated player may ask for a pause" });
    const refused = ref.room.requestPause(ref.side);
    if (refused) throw new StanzaError("not-allowed", { text: refused });
    ref.room.startRequestedPause(this.tick);
  }

  /** The player who asked for the pause goes on (or takes back a request that has not started yet). */
  resumeRequest(jid: string): void {
    const ref = this.seatByJid.get(jid);
    if (!ref) throw new StanzaError("forbidden", { type: "auth", text: "only a seated player may resume a game" });
    if (!ref.room.resumeRequest(ref.side)) throw new StanzaError("unexpected-request", { type: "cancel", text: "the game is not paused at your request" });
  }

  /** RFC 6121 §4.6: the user's server sends this to everyone it sent directed presence when it goes offline. */
  unavailable(jid: string): void {
    this.matchmaker.unwait(jid);
    this.unspectate(jid);
    const ref = this.seatByJid.get(jid);
    if (ref) ref.room.away(ref.side, this.tick);
    this.updateActivity();
  }

  /** Available presence: a player coming back (from any resource of the same account) resumes its game. */
  available(jid: string, bare: string, via?: string): void {
    const ref = this.directory.seatOf(bare);
    if (ref && ref.room.seats[ref.side].awaySince !== undefined) this.rejoin(ref, jid, ref.room.seats[ref.side].codec, via);
  }

  /** Whether a check-in would take a seat back here (by token, else by account). */
  holdsSeat(bare: string, token: string | undefined): boolean {
    return (token !== undefined ? this.directory.seatByToken(token) : this.directory.seatOf(bare)) !== undefined;
  }

  /** Whether `jid` holds a seat or watches a game here (else a shard forwards its stanza to where it plays). */
  isHere(jid: string): boolean {
    return this.seatByJid.has(jid) || this.spectating.has(jid);
  }

  /** Runs a room another process matched (this process is the shard chosen for it). */
  openRoom(spec: RoomSpec): void {
    // The process that matched the players knew their nicks; the opponent is named in <start oppnick> here.
    for (const s of spec.seats) if (!s.bot && s.nick !== undefined && s.nick !== s.bare) this.nicks.set(s.bare, s.nick);
    const [left, right] = spec.seats.map((s, side): Seat | "bot" => s.bot
      ? "bot"
      : { side: side as Side, jid: s.jid, bare: s.bare, codec: codecFor(s.protocol), via: s.via, lastSeq: -1, token: s.token });
    if (left === "bot" || left === undefined || right === undefined) throw new Error(`room ${spec.id}: the left seat must be a player`);
    this.place(spec.id, spec.seed, left, right);
  }

  /**
   * The component lost its link to the server: no player can reach it, so every running game pauses as if
   * both players had gone offline; each resumes when its players check in again (the grace rules apply).
   */
  pauseAll(): void {
    for (const room of this.directory.rooms()) room.pauseAll(this.tick);
  }

  /** One fixed step for every room; called by the shared scheduler. */
  step(): void {
    this.tick++;
    for (const room of [...this.directory.rooms()]) {
      room.step(this.tick, this.graceTicks);
      this.afterStep(room);
      if (room.over) continue;
      room.startRequestedPause(this.tick);
      if (room.game.phase !== "paused" && (this.tick + room.slot) % this.sendEvery === 0) room.snapshot();
    }
    if (this.tick % this.options.tickHz === 0) this.housekeeping();
  }

  /** Rooms for disco#items. */
  list(): { id: string; name: string }[] {
    return [...this.directory.rooms()].map((r) => ({ id: r.id, name: `${this.seatName(r.seats[0])} vs ${this.seatName(r.seats[1])} (${r.game.score.join("–")})` }));
  }

  /** The lobby: who waits (oldest first) and every running game with its players' names and score. */
  lobby(): { waiting: string[]; games: { id: string; names: [string, string]; score: [number, number]; spectators: number }[] } {
    return {
      waiting: this.matchmaker.queue().map((w) => this.nicks.nameOf(w.bare)),
      games: [...this.directory.rooms()].map((r) => ({ id: r.id, names: [this.seatName(r.seats[0]), this.seatName(r.seats[1])], score: [r.game.score[0], r.game.score[1]], spectators: r.spectators.size })),
    };
  }

  private seatName(seat: Seat): string {
    return this.nicks.nameOf(seat.bare, seat.bot !== undefined);
  }

  private sendToMany(to: readonly string[], payload: Payload): void {
    if (to.length === 0) return;
    if (this.deps.sendMany) return this.deps.sendMany(gameMessage(this.deps.domain, to[0]!, payload), to);
    for (const jid of to) this.deps.send(gameMessage(this.deps.domain, jid, parseXml(payload.toString())));
  }

  private sendTo(to: string, payload: Payload, via?: string): void {
    this.deps.send(via === undefined ? gameMessage(this.deps.domain, to, payload) : relayMessage(this.deps.domain, via, to, payload));
  }

  private open(left: Waiting, right: Waiting | "bot"): void {
    const n = this.roomCount + 1;
    const o = this.options;
    const seed = o.seed !== undefined ? o.seed + n : randomInt(0, 2 ** 32);
    const seat = (w: Waiting, side: Side): Seat => ({ side, jid: w.jid, bare: w.bare, codec: w.codec, via: w.via, lastSeq: -1, token: newToken() });
    this.place(`r${n}`, seed, seat(left, 0), right === "bot" ? "bot" : seat(right, 1));
  }

  private place(id: string, seed: number, left: Seat, right: Seat | "bot"): void {
    const n = ++this.roomCount;
    const o = this.options;
    const game = new Game({ seed, tickHz: o.tickHz, pointsToWin: o.pointsToWin, physics: pacedPhysics(o.pace) });
    const second: Seat = right === "bot"
      ? { side: 1, jid: `bot@${this.deps.domain}`, bare: `bot@${this.deps.domain}`, codec: codecFor("book"), lastSeq: -1,
        bot: new Bot(1, o.bot?.skill ?? 0.7, (o.seed ?? randomInt(0, 2 ** 32)) + n * 7919, o.tickHz) }
      : right;
    const room = new Room(this.roomHost, id, seed, game, [left, second], n % this.sendEvery);
    this.directory.add(room);
    for (const s of room.seats) if (!s.bot) this.seatByJid.set(s.jid, { room, side: s.side });
    room.open();
    this.updateActivity();
  }

  private rejoin(ref: SeatRef, jid: string, codec: WireCodec, via?: string): void {
    this.seatByJid.delete(ref.room.seats[ref.side].jid);
    this.seatByJid.set(jid, ref);
    ref.room.rejoin(ref.side, jid, codec, via);
    this.deps.onReseat?.(ref.room, ref.room.seats[ref.side]);
  }

  /** Sends the events of the last step and closes the room when the game is over. */
  private afterStep(room: Room): void {
    const events = room.drainEvents();
    // The result is stored before anyone is told the game is over, so a crash cannot lose a game players saw end.
    if (room.over) this.close(room);
    for (const ev of events) room.announce(ev);
  }

  private close(room: Room): void {
    this.dispose(room);
    this.deps.onResult(room.result());
  }

  /** Finished rooms are removed at once, with every index entry pointing at them. */
  private dispose(room: Room): void {
    for (const s of room.seats) if (this.seatByJid.get(s.jid)?.room === room) this.seatByJid.delete(s.jid);
    for (const jid of room.spectators.keys()) this.spectating.delete(jid);
    this.directory.remove(room);
    this.updateActivity();
  }

  /** Once a second: the queue's timeouts and bot opponents, forgetting idle rate buckets. */
  private housekeeping(): void {
    this.matchmaker.housekeeping();
    this.buckets.forgetIdle();
    this.updateActivity();
  }

  private unspectate(jid: string): void {
    this.spectating.get(jid)?.spectators.delete(jid);
    this.spectating.delete(jid);
  }

  private updateActivity(): void {
    const active = this.directory.size > 0 || this.matchmaker.size > 0;
    if (active === this.active) return;
    this.active = active;
    this.deps.onActivity?.(active);
  }
}
