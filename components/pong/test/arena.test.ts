import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type Element, parseXml } from "annex";
import { Arena, type GameResult } from "../arena.js";
import { PongOptionsSchema } from "../options.js";
import { COMPACT_NS } from "../protocol.js";

function arena(options: Record<string, unknown> = {}) {
  const clock = { t: 0, now() { return this.t; } };
  const sent: Element[] = [];
  const results: GameResult[] = [];
  const activity: boolean[] = [];
  const a = new Arena({
    domain: "pong.localhost",
    options: PongOptionsSchema.parse({ seed: 9, ...options }),
    // As a link would carry it: serialised, and parsed by the other side (snapshots are serialised XML).
    send: (s) => sent.push(parseXml(s.toString())),
    onResult: (r) => results.push(r),
    onActivity: (x) => activity.push(x),
    clock,
  });
  return { a, clock, sent, results, activity };
}

describe("pong arena", () => {
  test("per-sender token bucket: a burst of 30, then 30 per second; each sender has its own", () => {
    const { a, clock } = arena({ inputRateHz: 30, inputBurst: 30 });
    let allowed = 0;
    for (let i = 0; i < 100; i++) if (a.allow("alice@localhost/a")) allowed++;
    assert.equal(allowed, 30);
    assert.equal(a.drops.rateLimited, 70);
    assert.ok(a.allow("bob@localhost/b"), "another sender is not affected");
    clock.t += 500;
    allowed = 0;
    for (let i = 0; i < 100; i++) if (a.allow("alice@localhost/a")) allowed++;
    assert.equal(allowed, 15, "half a second refills 15 tokens");
  });

  test("a player waiting past queueTimeoutSeconds is told and removed", () => {
    const { a, clock, sent, activity } = arena({ queueTimeoutSeconds: 5 });
    a.checkIn("alice@localhost/a", "alice@localhost", "compact");
    assert.deepEqual(activity, [true], "a waiting player needs ticks (for the timeout)");
    clock.t = 4_000;
    for (let i = 0; i < 60; i++) a.step();
    assert.equal(a.waitingCount, 1);
    clock.t = 5_000;
    for (let i = 0; i < 60; i++) a.step();
    assert.equal(a.waitingCount, 0);
    const ev = sent.at(-1)!.getChild("ev", COMPACT_NS)!;
    assert.equal(ev.attrs.k, "timeout");
    assert.deepEqual(activity, [true, false], "and the arena stops asking for ticks");
  });

  test("snapshots of different rooms go out on different ticks (staggered)", () => {
    const { a, sent } = arena({ snapshotHz: 20 });
    for (let i = 0; i < 6; i++) a.checkIn(`p${i}@localhost/x`, `p${i}@localhost`, "compact");
    sent.length = 0;
    const perTick: string[][] = [];
    for (let t = 0; t < 3; t++) {
      const from = sent.length;
      a.step();
      perTick.push([...new Set(sent.slice(from).map((s) => s.getChild("s", COMPACT_NS)?.attrs.r).filter(Boolean) as string[])]);
    }
    assert.deepEqual(perTick.map((r) => r.length), [1, 1, 1], "three rooms, one per tick");
    assert.equal(new Set(perTick.flat()).size, 3);
  });

  test("a rejoin by check-in from a new resource takes over the seat and gets the game state", () => {
    const { a, sent } = arena();
    a.checkIn("alice@localhost/a", "alice@localhost", "book");
    a.checkIn("bob@localhost/b", "bob@localhost", "book");
    a.checkIn("alice@localhost/tablet", "alice@localhost", "compact");
    const start = sent.at(-1)!;
    assert.equal(start.attrs.to, "alice@localhost/tablet");
    assert.equal(start.getChild("start", COMPACT_NS)?.attrs.side, "0");
    assert.equal(a.rooms.size, 1);
    assert.throws(() => a.input("alice@localhost/a", "10", undefined, "book"), /seated/);
    a.input("alice@localhost/tablet", "10", "1", "compact");
    assert.equal(a.inputsAccepted, 1);
  });
});
