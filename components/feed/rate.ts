import type { RateOptions } from "./options.js";

/** A token bucket per node: `perSecond` sustained, `burst` at once. */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Takes one token for the node; false = over the limit (nothing taken). */
  take(node: string, rate: RateOptions | undefined): boolean {
    if (!rate) return true;
    const burst = rate.burst ?? Math.max(1, rate.perSecond);
    const now = this.now();
    const bucket = this.buckets.get(node) ?? { tokens: burst, at: now };
    bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.at) / 1000) * rate.perSecond);
    bucket.at = now;
    this.buckets.set(node, bucket);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }
}
