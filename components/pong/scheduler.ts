import { performance } from "node:perf_hooks";

/** A monotonic clock in milliseconds (performance.now by default; tests pass a fake one). */
export interface Clock {
  now(): number;
}

/** One-shot timers (setTimeout by default; tests pass fake ones). */
export interface Timers {
  set(fn: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

/** Something stepped once per tick: a component's set of rooms. */
export interface Stepper {
  step(tick: number): void;
}

export interface SchedulerStats {
  ticks: number;
  /** Ticks skipped because the process fell further behind than the catch-up bound. */
  droppedTicks: number;
  /** How late each wake-up was against its absolute target, ms (most recent `sampleLimit`). */
  lateness: number[];
  /** How long each tick's steps took, ms (most recent `sampleLimit`). */
  stepMs: number[];
}

const realClock: Clock = { now: () => performance.now() };
const realTimers: Timers = {
  set: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref?.(); // the XMPP connection keeps the process alive, not the game loop
    return t;
  },
  clear: (h) => clearTimeout(h as NodeJS.Timeout),
};

/**
 * A fixed-timestep scheduler on an absolute schedule (gameloop.md §d1): tick k is due at epoch + k·dt, so timer
 * lateness never accumulates (node-gameloop re-anchors on `now` and drifts). A late wake-up runs the ticks that
 * are due, at most `maxCatchUp` of them; beyond that the schedule is re-anchored and the skipped ticks counted
 * (spiral-of-death guard). It sleeps when nothing is registered.
 */
export class FixedStepScheduler {
  readonly dtMs: number;
  private readonly steppers = new Set<Stepper>();
  private readonly clock: Clock;
  private readonly timers: Timers;
  private readonly maxCatchUp: number;
  private readonly sampleLimit: number;
  private epoch = 0;
  /** Index of the next tick since `epoch`. */
  private k = 0;
  private tick = 0;
  private timer: unknown;
  readonly stats: SchedulerStats = { ticks: 0, droppedTicks: 0, lateness: [], stepMs: [] };
  private readonly wakeListeners = new Set<(latenessMs: number) => void>();

  constructor(readonly hz: number, options: { clock?: Clock; timers?: Timers; maxCatchUp?: number; sampleLimit?: number } = {}) {
    this.dtMs = 1000 / hz;
    this.clock = options.clock ?? realClock;
    this.timers = options.timers ?? realTimers;
    this.maxCatchUp = options.maxCatchUp ?? 5;
    this.sampleLimit = options.sampleLimit ?? 10_000;
  }

  get size(): number {
    return this.steppers.size;
  }

  /** Registers a stepper; returns the function that unregisters it. */
  /** Calls `listener(latenessMs)` on every wake-up (metrics); returns the function that removes it. */
  onWake(listener: (latenessMs: number) => void): () => void {
    this.wakeListeners.add(listener);
    return () => this.wakeListeners.delete(listener);
  }

  add(stepper: Stepper): () => void {
    this.steppers.add(stepper);
    if (this.steppers.size === 1) this.startSchedule();
    return () => {
      this.steppers.delete(stepper);
      if (this.steppers.size === 0) this.stopSchedule();
    };
  }

  private startSchedule(): void {
    this.epoch = this.clock.now();
    this.k = 1;
    this.arm();
  }

  private stopSchedule(): void {
    if (this.timer !== undefined) this.timers.clear(this.timer);
    this.timer = undefined;
  }

  private due(): number {
    return this.epoch + this.k * this.dtMs;
  }

  private arm(): void {
    if (this.timer !== undefined) return; // already armed (a stepper was added during a wake-up)
    this.timer = this.timers.set(() => this.wake(), Math.max(0, this.due() - this.clock.now()));
  }

  private wake(): void {
    this.timer = undefined;
    const now = this.clock.now();
    this.record(this.stats.lateness, now - this.due());
    for (const listener of this.wakeListeners) listener(now - this.due());
    for (let n = 0; n < this.maxCatchUp && now >= this.due() && this.steppers.size > 0; n++, this.k++) {
      const t0 = this.clock.now();
      this.tick++;
      this.stats.ticks++;
      for (const s of this.steppers) s.step(this.tick);
      this.record(this.stats.stepMs, this.clock.now() - t0);
    }
    if (now >= this.due()) {
      // Too far behind to catch up: drop the backlog rather than run ever more ticks back to back.
      const skipped = Math.floor((now - this.due()) / this.dtMs) + 1;
      this.stats.droppedTicks += skipped;
      this.k += skipped;
    }
    if (this.steppers.size > 0) this.arm();
  }

  private record(samples: number[], value: number): void {
    samples.push(value);
    if (samples.length > this.sampleLimit) samples.splice(0, samples.length - this.sampleLimit);
  }
}

export interface LoopSummary {
  ticks: number;
  droppedTicks: number;
  latenessMs: { p50: number; p99: number; max: number };
  stepMs: { p50: number; p99: number; max: number };
}

function percentiles(samples: number[]): { p50: number; p99: number; max: number } {
  if (samples.length === 0) return { p50: 0, p99: 0, max: 0 };
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  const round = (v: number) => Math.round(v * 1000) / 1000;
  return { p50: round(at(0.5)), p99: round(at(0.99)), max: round(sorted[sorted.length - 1]!) };
}

/** Percentiles of the samples since the last call, which are then cleared (for periodic logging). */
export function takeSummary(s: FixedStepScheduler): LoopSummary {
  const summary = { ticks: s.stats.ticks, droppedTicks: s.stats.droppedTicks, latenessMs: percentiles(s.stats.lateness), stepMs: percentiles(s.stats.stepMs) };
  s.stats.lateness.length = 0;
  s.stats.stepMs.length = 0;
  return summary;
}

const shared = new Map<number, FixedStepScheduler>();

/** The process's scheduler for a tick rate: every room of every pong component at that rate shares it. */
export function sharedScheduler(hz: number): FixedStepScheduler {
  let s = shared.get(hz);
  if (!s) shared.set(hz, (s = new FixedStepScheduler(hz)));
  return s;
}
