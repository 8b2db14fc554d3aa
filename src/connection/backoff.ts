export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  /** Returns a number in [0, 1); injectable for tests. */
  random?: () => number;
}

/**
 * Exponential backoff with full jitter (delay uniform in [0, min(max, initial·2^n)]),
 * so a server restart is not met by every component at the same instant.
 */
export class Backoff {
  private attempt = 0;
  constructor(private readonly options: BackoffOptions) {}

  next(): number {
    const ceiling = Math.min(this.options.maxMs, this.options.initialMs * 2 ** this.attempt);
    this.attempt++;
    const random = this.options.random ?? Math.random;
    return Math.max(Math.floor(this.options.initialMs / 4), Math.floor(random() * ceiling));
  }

  reset(): void {
    this.attempt = 0;
  }

  get attempts(): number {
    return this.attempt;
  }
}
