/**
 * Why an attempt failed, as far as the delay before the next one cares:
 * - "unreachable": nothing answered (connection refused or reset, timeout, the link dropped); a restarting
 *   server is like this until its listener accepts again, so asking about once a second costs nothing;
 * - "refused": the server accepted the connection and refused the stream or handshake with a stream error
 *   (RFC 6120 §4.9); asking again soon will be refused again, so these back off exponentially at once.
 */
export type FailureKind = "unreachable" | "refused";

export interface BackoffOptions {
  /** Delay before the first attempt of an outage (a dropped link may be back at once); never above maxMs. */
  initialMs: number;
  /** The cap for every delay. */
  maxMs: number;
  /** For an outage up to this long, an unreachable server is tried about once a second (default 60 s). */
  promptWindowMs?: number;
  /** The longest delay between attempts in the prompt window (default 900 ms; jittered down by up to 20%). */
  promptIntervalMs?: number;
  /** Returns a number in [0, 1); injectable for tests. */
  random?: () => number;
  /** The clock; injectable for tests. */
  now?: () => number;
}

export const DEFAULT_PROMPT_WINDOW_MS = 60_000;
export const DEFAULT_PROMPT_INTERVAL_MS = 900;

/**
 * The reconnect policy. An outage starts with the first failure after a reset (the supervisor resets once a
 * link has stayed up for its stableMs):
 * - the first attempt comes after about initialMs;
 * - while the outage is younger than promptWindowMs, an unreachable server is tried every 0.8-1 × promptIntervalMs,
 *   so the link is back within about a second of the listener accepting again, at about one attempt a second;
 * - after that, and from the first refusal on, delays double toward maxMs (equal jitter: half fixed, half random),
 *   so a server that is gone for long, or that refuses the handshake, is not hammered.
 * Jitter spreads many components restarting against one server.
 */
export class Backoff {
  private attempt = 0;
  private refusals = 0;
  private lateAttempts = 0;
  private outageStart: number | undefined;
  private readonly random: () => number;
  private readonly now: () => number;

  constructor(private readonly options: BackoffOptions) {
    this.random = options.random ?? Math.random;
    this.now = options.now ?? Date.now;
  }

  /** The delay before the next attempt, after a failure of the given kind. */
  next(kind: FailureKind = "unreachable"): number {
    const { maxMs } = this.options;
    const now = this.now();
    this.outageStart ??= now;
    const first = this.attempt === 0;
    this.attempt++;
    const prompt = Math.min(maxMs, this.options.promptIntervalMs ?? DEFAULT_PROMPT_INTERVAL_MS);
    const initial = Math.min(maxMs, this.options.initialMs);
    if (kind === "refused") {
      // Doubling from one prompt interval: 0.45-0.9 s, 0.9-1.8 s, ... up to the cap.
      const ceiling = Math.min(maxMs, Math.max(prompt, initial) * 2 ** this.refusals++);
      return this.equalJitter(ceiling);
    }
    if (first) return this.equalJitter(initial);
    if (now - this.outageStart < (this.options.promptWindowMs ?? DEFAULT_PROMPT_WINDOW_MS)) {
      return Math.floor(prompt * (0.8 + 0.2 * this.random()));
    }
    const ceiling = Math.min(maxMs, prompt * 2 ** ++this.lateAttempts);
    return this.equalJitter(ceiling);
  }

  /** The link was up long enough: the next failure starts a new outage. */
  reset(): void {
    this.attempt = 0;
    this.refusals = 0;
    this.lateAttempts = 0;
    this.outageStart = undefined;
  }

  /** Attempts in the current outage. */
  get attempts(): number {
    return this.attempt;
  }

  private equalJitter(ceiling: number): number {
    return Math.floor(ceiling / 2 + (ceiling / 2) * this.random());
  }
}
