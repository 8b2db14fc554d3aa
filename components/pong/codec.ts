import type { Element, SerializedXml } from "annex";
import type { Game } from "./game.js";
import type { Field, Side } from "./physics.js";
import type { Protocol } from "./protocol.js";

/** A game payload: an element, or (on the per-tick path) XML serialised once by a template. */
export type Payload = Element | SerializedXml;

/** Something a room tells everyone in it, protocol-neutral; a codec turns it into its own payload. */
export type WireEvent =
  | { k: "point"; who: Side; score: readonly [number, number]; tick: number }
  | { k: "over"; winner: Side; reason: string; score: readonly [number, number]; tick: number }
  | { k: "pause"; side: Side; grace: number; byRequest: boolean; tick: number }
  | { k: "resume"; tick: number }
  /** The shard running the game died (PROTOCOL.md §Shards): the game ends unrated, nobody wins. */
  | { k: "lost"; score: readonly [number, number] };

/** What a seated player is told when its game starts (or it takes its seat back). */
export interface SeatStart {
  room: string;
  side: Side;
  opponent: string;
  opponentName: string;
  field: Field;
  tickHz: number;
  snapshotHz: number;
  pointsToWin: number;
  /** Last input seq applied for this seat (-1: none). */
  ack: number;
  token?: string;
  /** The address that runs the room when it is not the one the player checked in with (a shard; PROTOCOL.md §Shards). */
  at?: string;
}

/** The per-recipient state a codec may keep between snapshots (the book sends the opponent's paddle on change only). */
export interface SnapshotSeat {
  side: Side;
  lastSeq: number;
  sentOpponentY?: number;
}

/**
 * One wire protocol: what the server sends in it. Chosen per seat (and per spectator) by what that address
 * checked in with, so rooms, the matchmaker and the component never branch on the protocol.
 */
export interface WireCodec {
  readonly protocol: Protocol;
  /** The input's sequence number: `{}` when the protocol has none, `{ error }` for a bad one. */
  parseSeq(raw: string | undefined): { seq?: number; error?: string };
  /** Checked in, waiting (or about to meet an opponent) on `side`. */
  queued(side: Side): Element;
  /** The game begins; undefined when the protocol says nothing at that moment (the book: the ball just moves). */
  opened(start: SeatStart): Element | undefined;
  /** Back in a running game (rejoin from a new address or after being away). */
  rejoined(start: SeatStart): Element;
  /** One update of the game state to one recipient (`seat` undefined: a spectator). */
  snapshot(roomId: string, game: Game, seat: SnapshotSeat | undefined): Payload[];
  event(ev: WireEvent): Element;
  /** Dropped from the queue after waiting too long. */
  queueTimeout(text: string): Element;
}
