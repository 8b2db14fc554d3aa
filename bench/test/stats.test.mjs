import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Histogram } from "../lib/histogram.mjs";
import { interleave } from "../lib/scenarios.mjs";
import { summariseReps } from "../lib/stats.mjs";
import { readId } from "../lib/loadgen.mjs";

describe("bench statistics", () => {
  it("histogram quantiles are exact at 1 µs resolution", () => {
    const h = new Histogram(10_000);
    for (let us = 1; us <= 1000; us++) h.recordMs(us / 1000);
    const s = h.summary();
    assert.equal(s.p50Us, 500);
    assert.equal(s.p99Us, 990);
    assert.equal(s.p999Us, 999);
    assert.equal(s.maxUs, 1000);
  });

  it("summarises repetitions as median and min–max, and sums faults", () => {
    const s = summariseReps([
      { repliesPerSec: 10, counts: { lost: 1 } },
      { repliesPerSec: 30, counts: { lost: 0 } },
      { repliesPerSec: 20, counts: { lost: 2 } },
      { error: "variant crashed" },
    ]);
    assert.deepEqual(s.repliesPerSec, { median: 20, min: 10, max: 30, n: 3 });
    assert.equal(s.counts.lost, 3);
    assert.deepEqual(s.failed, ["variant crashed"]);
  });

  it("interleaves variants: rotated, and reversed every other repetition", () => {
    const v = ["F", "A", "B", "C1"];
    assert.deepEqual(interleave(v, 0), ["F", "A", "B", "C1"]);
    assert.deepEqual(interleave(v, 1), ["F", "C1", "B", "A"]);
    assert.deepEqual(interleave(v, 2), ["B", "C1", "F", "A"]);
  });

  it("reads ids in either quote style and rejects non-numeric ones", () => {
    const a = `<message to='x' id='123' type='chat'>`;
    assert.equal(readId(a, 0, a.length - 1), 123);
    const b = `<message id="77" to="x">`;
    assert.equal(readId(b, 0, b.length - 1), 77);
    const c = `<message id='abc'>`;
    assert.equal(readId(c, 0, c.length - 1), -1);
  });
});
