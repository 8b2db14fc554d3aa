import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Backoff, type FailureKind } from "../../src/connection/backoff.js";

/** Runs the policy on a fake clock: each delay is waited, plus `attemptMs` for the attempt itself. */
function schedule(b: Backoff, clock: { t: number }, kinds: FailureKind[], attemptMs = 5): number[] {
  return kinds.map((kind) => {
    const delay = b.next(kind);
    clock.t += delay + attemptMs;
    return delay;
  });
}

describe("reconnect policy", () => {
  const policy = (random: () => number, clock: { t: number }, extra: Partial<ConstructorParameters<typeof Backoff>[0]> = {}) =>
    new Backoff({ initialMs: 250, maxMs: 30_000, random, now: () => clock.t, ...extra });

  test("an outage up to 60 s: the first retry within 250 ms, then one attempt every 0.72-0.9 s", () => {
    for (const r of [0, 0.5, 0.999999]) {
      const clock = { t: 0 };
      const delays = schedule(policy(() => r, clock), clock, Array(70).fill("unreachable"));
      assert.ok(delays[0]! >= 125 && delays[0]! <= 250, `first ${delays[0]}`);
      const prompt = delays.slice(1).filter((_, i) => i < 60);
      for (const d of prompt) assert.ok(d >= 720 && d <= 900, `prompt delay ${d} (random ${r})`);
      // Once the listener accepts, the next attempt is at most 900 ms away: back within 1 s.
      assert.ok(Math.max(...prompt) < 1000);
    }
  });

  test("past 60 s of outage the delays double toward the 30 s cap and stay there", () => {
    const clock = { t: 0 };
    const b = policy(() => 0.999999, clock);
    const delays = schedule(b, clock, Array(100).fill("unreachable"));
    const lateFrom = delays.findIndex((_, i) => delays.slice(0, i).reduce((a, d) => a + d + 5, 0) >= 60_000);
    const late = delays.slice(lateFrom, lateFrom + 8);
    assert.deepEqual(late, [1799, 3599, 7199, 14399, 28799, 29999, 29999, 29999]);
    assert.ok(delays.slice(lateFrom).every((d) => d <= 30_000));
    // Attempts in the first 60 s: about one a second, never more than one per 0.72 s.
    assert.ok(lateFrom <= 1 + Math.ceil(60_000 / 720), `${lateFrom} attempts in the prompt window`);
  });

  test("a server that refuses the handshake is never hammered: delays double from 0.45-0.9 s, even inside the window", () => {
    const clock = { t: 0 };
    const delays = schedule(policy(() => 0.999999, clock), clock, Array(8).fill("refused"));
    assert.deepEqual(delays, [899, 1799, 3599, 7199, 14399, 28799, 29999, 29999]);
    const low = { t: 0 };
    assert.equal(policy(() => 0, low).next("refused"), 450, "half the ceiling at least");
  });

  test("reset starts a new outage: quick first retry and a fresh window", () => {
    const clock = { t: 0 };
    const b = policy(() => 0.999999, clock);
    schedule(b, clock, Array(90).fill("unreachable"));
    assert.ok(b.next() > 1000, "late in a long outage");
    b.reset();
    assert.equal(b.attempts, 0);
    assert.equal(b.next(), 249);
    assert.equal(b.next(), 899);
    assert.equal(b.next("refused"), 899, "refusals count from the reset too");
  });

  test("maxMs below the prompt interval caps every delay", () => {
    const clock = { t: 0 };
    const delays = schedule(policy(() => 0.999999, clock, { initialMs: 50, maxMs: 100 }), clock, ["unreachable", "unreachable", "refused", "refused", "refused"]);
    assert.ok(delays.every((d) => d <= 100), delays.join());
  });
});
