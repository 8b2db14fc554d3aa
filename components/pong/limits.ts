import type { Clock } from "./scheduler.js";

/**
 * One token bucket per sender (gameloop.md §d6): `rate` tokens a second, at most `burst` saved up.
 * A stanza without a token is dropped. Idle buckets are forgotten so the map stays small.
 */
export class TokenBuckets {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly rate: number,
    private readonly burst: number,
    private readonly clock: Clock,
  ) {}

  allow(key: string): boolean {
    const now = this.clock.now();
    const b = this.buckets.get(key) ?? { tokens: this.burst, at: now };
    b.tokens = Math.min(this.burst, b.tokens + ((now - b.at) / 1000) * this.rate);
    b.at = now;
    this.buckets.set(key, b);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  /** Drops buckets that have refilled completely (their sender has been quiet long enough). */
  forgetIdle(): void {
    const now = this.clock.now();
    const full = (this.burst / this.rate) * 1000;
    for (const [key, b] of this.buckets) if (now - b.at >= full) this.buckets.delete(key);
  }

  get size(): number {
    return this.buckets.size;
  }
}

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
