import { inject } from "tsyringe";
import { z } from "zod";
import { Service } from "../handlers/decorators.js";
import type { GuardFn } from "../handlers/metadata.js";
import { definePlugin } from "../handlers/plugin.js";
import type { IncomingStanza } from "../dispatch/incoming.js";

/** A sustained rate and how many may come at once. */
export interface Rate {
  perSecond: number;
  /** Tokens saved up at most; default max(1, perSecond). */
  burst?: number;
}

/**
 * One token bucket per key (a sender, a node…): `perSecond` tokens a second, at most `burst` saved up.
 * Idle buckets can be forgotten so the map stays small.
 */
export class TokenBuckets {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private perSecond: number;
  private burst: number;

  constructor(rate: Rate, private readonly now: () => number = Date.now) {
    this.perSecond = rate.perSecond;
    this.burst = rate.burst ?? Math.max(1, rate.perSecond);
  }

  /** Takes one token for the key; false = over the limit (nothing taken). */
  take(key: string): boolean {
    const now = this.now();
    let bucket = this.buckets.get(key);
    if (bucket === undefined) {
      // Stored once; later takes change it in place (one map lookup a stanza, not two).
      bucket = { tokens: this.burst, at: now };
      this.buckets.set(key, bucket);
    }
    bucket.tokens = Math.min(this.burst, bucket.tokens + ((now - bucket.at) / 1000) * this.perSecond);
    bucket.at = now;
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  /** Changes the rate from now on (a reconfigured node); saved tokens are kept up to the new burst. */
  setRate(rate: Rate): void {
    this.perSecond = rate.perSecond;
    this.burst = rate.burst ?? Math.max(1, rate.perSecond);
  }

  /** Drops buckets that have refilled completely (their key has been quiet long enough). */
  forgetIdle(): void {
    const now = this.now();
    const full = (this.burst / this.perSecond) * 1000;
    for (const [key, b] of this.buckets) if (now - b.at >= full) this.buckets.delete(key);
  }

  get size(): number {
    return this.buckets.size;
  }
}

const RateLimitOptions = z.strictObject({
  /** Named limits, e.g. { "input": { "perSecond": 30, "burst": 60 } }; code may define more. */
  limits: z.record(z.string(), z.strictObject({ perSecond: z.number().positive(), burst: z.number().min(1).optional() })).default({}),
});
export type RateLimitOptions = z.infer<typeof RateLimitOptions> & { clock?: () => number };

export const RATE_LIMIT_OPTIONS = Symbol.for("annex:plugin:rate-limit:options");

/** The component's named token-bucket sets (inject it); a limit from the config wins over the code's default rate. */
@Service()
export class RateLimits {
  private readonly sets = new Map<string, TokenBuckets>();

  constructor(@inject(RATE_LIMIT_OPTIONS) private readonly options: RateLimitOptions) {}

  /** The buckets of one named limit, made on first use with `rate` (or the config's rate for that name). */
  limit(name: string, rate: Rate): TokenBuckets {
    let set = this.sets.get(name);
    if (!set) {
      set = new TokenBuckets(this.options.limits[name] ?? rate, this.options.clock);
      this.sets.set(name, set);
    }
    return set;
  }

  /** Forgets idle buckets of every limit (call it from a periodic housekeeping task). */
  forgetIdle(): void {
    for (const set of this.sets.values()) set.forgetIdle();
  }
}

/**
 * A guard that takes a token from the named limit for each stanza, keyed by its sender's full JID
 * unless `key` says otherwise; a stanza without one is refused (dropped, or `forbidden` for an IQ).
 */
export function rateLimited(name: string, rate: Rate, key: (stanza: IncomingStanza) => string = (s) => s.from.toString()): GuardFn<IncomingStanza> {
  return (stanza, { resolve }) => resolve(RateLimits).limit(name, rate).take(key(stanza));
}

/** Token-bucket rate limits: the RateLimits service and the rateLimited() guard. */
export function rateLimit(defaults: Partial<RateLimitOptions> = {}) {
  return definePlugin<RateLimitOptions>({
    name: "rate-limit",
    description: "token-bucket rate limits",
    providers: [RateLimits],
    options: RateLimitOptions as unknown as z.ZodType<RateLimitOptions>,
    optionsToken: RATE_LIMIT_OPTIONS,
    defaults,
  });
}
