/** Why game stanzas were refused or dropped, counted for operators (and asserted by the tests). */
export interface DropCounters {
  /** A paddle input from a JID that has no seat (spectators, strangers, the book's hijacking bot). */
  notSeated: number;
  /** Not a number, or a missing/invalid sequence number. */
  invalid: number;
  /** A number outside the field. */
  outOfRange: number;
  /** A sequence number not above the last one accepted. */
  stale: number;
  /** Over the sender's token bucket. */
  rateLimited: number;
  /** Sent while the game was paused or over. */
  wrongPhase: number;
  /** Larger than maxStanzaBytes. */
  oversized: number;
}

export const noDrops = (): DropCounters => ({ notSeated: 0, invalid: 0, outOfRange: 0, stale: 0, rateLimited: 0, wrongPhase: 0, oversized: 0 });
