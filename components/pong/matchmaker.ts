import { StanzaError } from "annex";
import type { WireCodec } from "./codec.js";
import type { RoomDirectory, SeatRef } from "./directory.js";
import type { PongOptions } from "./options.js";
import type { Side } from "./physics.js";
import type { Clock } from "./scheduler.js";

/** A player in the queue. */
export interface Waiting {
  jid: string;
  bare: string;
  codec: WireCodec;
  /** The front door relaying for this player (PROTOCOL.md §Shards), if any. */
  via?: string;
  sinceMs: number;
}

export interface CheckInRequest {
  /** Play the computer at once. */
  opponent?: "bot";
  /** A seat's token from `<start token>`: take that seat back from this (new) address. */
  token?: string;
}

export interface MatchmakerDeps {
  options: PongOptions;
  clock: Clock;
  directory: RoomDirectory;
  /** One game payload to one address. */
  send(to: string, payload: ReturnType<WireCodec["queued"]>, via?: string): void;
  /** Opens a room for two players, or for one player and the computer. */
  open(left: Waiting, right: Waiting | "bot"): void;
  /** Seats `jid` in the seat it holds (or opened with a token) and tells it the game state. */
  rejoin(ref: SeatRef, jid: string, codec: WireCodec, via?: string): void;
}

/** The book's answer to one check-in too many (Practical XMPP ch. 9, sendGameFullMessage). */
const full = () => new StanzaError("conflict", { type: "cancel", text: "Game is currently full" });

/**
 * Who plays whom: the queue (oldest first), rejoin of a seated account or of a seat's token, a computer
 * opponent on request or after `bot.afterSeconds` alone, and dropping players who waited too long.
 */
export class Matchmaker {
  private readonly waiting: Waiting[] = [];

  constructor(private readonly deps: MatchmakerDeps) {}

  get size(): number {
    return this.waiting.length;
  }

  /** The queue, oldest first. */
  queue(): readonly Waiting[] {
    return this.waiting;
  }

  /**
   * A player asks to play. Rejoins its own game if it has one (same account, or the seat's token for a new
   * address, e.g. an anonymous guest after a reconnection); else plays the computer at once when asked to,
   * or waits for, or meets, an opponent.
   */
  checkIn(jid: string, bare: string, codec: WireCodec, request: CheckInRequest = {}, via?: string): void {
    const { directory, options } = this.deps;
    if (request.token !== undefined) return this.rejoinByToken(request.token, jid, bare, codec, via);
    const seated = directory.seatOf(bare);
    if (seated) return this.deps.rejoin(seated, jid, codec, via);
    if (request.opponent === "bot") {
      if (directory.size >= options.maxRooms) throw full();
      this.unwait(jid);
      return this.deps.open({ jid, bare, codec, via, sinceMs: this.deps.clock.now() }, "bot");
    }
    const queued = this.waiting.find((w) => w.bare === bare);
    if (queued) {
      Object.assign(queued, { jid, codec, via });
      return this.sendQueued(queued, 0);
    }
    if (directory.size >= options.maxRooms) throw full();
    const opponent = this.waiting.shift();
    const me: Waiting = { jid, bare, codec, via, sinceMs: this.deps.clock.now() };
    if (!opponent) {
      this.waiting.push(me);
      return this.sendQueued(me, 0);
    }
    this.sendQueued(me, 1);
    this.deps.open(opponent, me);
  }

  /** Removes `jid` from the queue; true if it was there. */
  unwait(jid: string): boolean {
    const i = this.waiting.findIndex((w) => w.jid === jid);
    if (i >= 0) this.waiting.splice(i, 1);
    return i >= 0;
  }

  /** Once a second: computer opponents for lonely players, and the queue timeout. */
  housekeeping(): void {
    const now = this.deps.clock.now();
    const { options, directory } = this.deps;
    const bot = options.bot;
    for (const w of [...this.waiting]) {
      const waitedMs = now - w.sinceMs;
      if (bot && waitedMs >= bot.afterSeconds * 1000 && directory.size < options.maxRooms) {
        this.unwait(w.jid);
        this.deps.open(w, "bot");
      } else if (waitedMs >= options.queueTimeoutSeconds * 1000) {
        this.unwait(w.jid);
        this.deps.send(w.jid, w.codec.queueTimeout(`no opponent within ${options.queueTimeoutSeconds} s; check in again to keep waiting`), w.via);
      }
    }
  }

  private rejoinByToken(token: string, jid: string, bare: string, codec: WireCodec, via?: string): void {
    const ref = this.deps.directory.seatByToken(token);
    if (!ref) throw new StanzaError("item-not-found", { type: "cancel", text: "no game holds this token: it ended, or the grace period passed" });
    const seat = ref.room.seats[ref.side];
    this.deps.directory.reseat(ref, seat.bare, bare);
    seat.bare = bare;
    this.deps.rejoin(ref, jid, codec, via);
  }

  private sendQueued(w: Waiting, side: Side): void {
    this.deps.send(w.jid, w.codec.queued(side), w.via);
  }
}
