import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Rng } from "../rng.js";
import { FixedStepScheduler, takeSummary } from "../scheduler.js";

/** A fake monotonic clock and timer queue: a timer fires at its due time plus whatever delay `lag` adds. */
class FakeTime {
  now = 1_000;
  private pending: { at: number; fn: () => void; id: number }[] = [];
  private ids = 0;
  constructor(private readonly lag: () => number = () => 0) {}
  readonly clock = { now: () => this.now };
  readonly timers = {
    set: (fn: () => void, ms: number) => {
      const id = ++this.ids;
      this.pending.push({ at: this.now + ms + this.lag(), fn, id });
      return id;
    },
    clear: (id: unknown) => {
      this.pending = this.pending.filter((p) => p.id !== id);
    },
  };
  /** Fires timers in order until `until` returns true. */
  run(until: () => boolean, onFire: () => void = () => undefined): void {
    while (!until()) {
      this.pending.sort((a, b) => a.at - b.at);
      const next = this.pending.shift();
      if (!next) throw new Error("no timer pending");
      this.now = Math.max(this.now, next.at);
      next.fn();
      onFire();
    }
  }
  get armed(): number {
    return this.pending.length;
  }
}

describe("fixed-step scheduler", () => {
  test("no drift over 10 000 ticks at 60 Hz with 0–5 ms timer jitter: every due tick runs, none twice", () => {
    const jitter = new Rng(1);
    const time = new FakeTime(() => jitter.next() * 5);
    const s = new FixedStepScheduler(60, { clock: time.clock, timers: time.timers });
    const start = time.now;
    const seen: number[] = [];
    s.add({ step: (tick) => seen.push(tick) });
    time.run(() => seen.length >= 10_000, () => {
      // After each wake-up the count equals the ticks due by now: the schedule is absolute.
      assert.equal(seen.length, Math.floor((time.now - start) / s.dtMs + 1e-9));
    });
    assert.equal(seen.length, 10_000);
    assert.deepEqual(seen.slice(0, 3), [1, 2, 3]);
    assert.equal(seen[9_999], 10_000, "ticks are numbered without gaps");
    // Simulated time for 10 000 ticks is 10 000 dt plus at most one timer's jitter: no accumulated drift.
    const elapsed = time.now - start;
    assert.ok(elapsed >= 10_000 * s.dtMs - 1e-6 && elapsed < 10_000 * s.dtMs + 5, `elapsed ${elapsed} ms`);
    assert.equal(s.stats.droppedTicks, 0);
    assert.ok(Math.max(...s.stats.lateness) < 5, "lateness is bounded by the jitter, it does not grow");
  });

  test("a late wake-up catches up at most maxCatchUp ticks, then drops and counts the rest and keeps the period", () => {
    const time = new FakeTime();
    const s = new FixedStepScheduler(100, { clock: time.clock, timers: time.timers, maxCatchUp: 5 });
    const start = time.now;
    let ticks = 0;
    s.add({ step: () => ticks++ });
    time.run(() => ticks >= 10);
    assert.equal(time.now - start, 100);
    // A 200 ms stall of the event loop: 20 ticks are due at once.
    time.now += 200;
    time.run(() => ticks >= 15);
    assert.equal(ticks, 15, "five ticks of catch-up in one wake-up");
    assert.equal(s.stats.droppedTicks, 15, "the remaining backlog is dropped, not run back to back");
    const resumedAt = time.now;
    time.run(() => ticks >= 25);
    assert.equal(time.now - resumedAt, 100, "then ticks come every 10 ms again");
  });

  test("sleeps with nothing registered and wakes for the first stepper", () => {
    const time = new FakeTime();
    const s = new FixedStepScheduler(60, { clock: time.clock, timers: time.timers });
    const remove = s.add({ step: () => undefined });
    assert.equal(time.armed, 1);
    remove();
    assert.equal(time.armed, 0);
    assert.equal(s.size, 0);
  });

  test("every registered stepper is stepped on the same tick numbers", () => {
    const time = new FakeTime();
    const s = new FixedStepScheduler(50, { clock: time.clock, timers: time.timers });
    const a: number[] = [];
    const b: number[] = [];
    s.add({ step: (t) => a.push(t) });
    s.add({ step: (t) => b.push(t) });
    time.run(() => a.length >= 20);
    assert.deepEqual(a, b);
  });

  test("takeSummary reports lateness and step percentiles since the last call, then starts afresh", () => {
    const time = new FakeTime(() => 2);
    const s = new FixedStepScheduler(100, { clock: time.clock, timers: time.timers });
    s.add({ step: () => undefined });
    time.run(() => s.stats.ticks >= 100);
    const first = takeSummary(s);
    assert.equal(first.ticks, 100);
    assert.deepEqual(first.latenessMs, { p50: 2, p99: 2, max: 2 }, "every wake-up 2 ms late, and never later");
    assert.deepEqual(takeSummary(s).latenessMs, { p50: 0, p99: 0, max: 0 });
  });
});
