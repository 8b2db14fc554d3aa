import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type Element, xml } from "annex";
import { Notifier } from "../notifier.js";

/** A link we control: each send waits until released. */
function slowLink() {
  const sent: Element[] = [];
  const waiting: (() => void)[] = [];
  return {
    sent,
    waiting,
    send: (el: Element) =>
      new Promise<void>((resolve) => {
        sent.push(el);
        waiting.push(resolve);
      }),
    releaseAll() {
      for (const r of waiting.splice(0)) r();
    },
  };
}

const event = (node: string, n: number) => xml("message", { to: "alice@localhost" }, xml("item", { node, n }));

describe("feed: per-subscriber bounds and latest-value coalescing", () => {
  test("a slow subscriber holds at most maxInFlight + maxQueued; older values of a node are coalesced and counted", async () => {
    const link = slowLink();
    const notifier = new Notifier(link.send, { maxInFlight: 2, maxQueued: 3 });
    for (let n = 0; n < 10; n++) notifier.notify("alice@localhost", "stocks", event("stocks", n));
    assert.equal(link.sent.length, 2, "only maxInFlight handed to the link");
    assert.equal(notifier.queued("alice@localhost"), 3);
    assert.equal(notifier.coalescedFor("alice@localhost"), 5);
    assert.equal(notifier.stats.coalesced, 5);
    while (link.waiting.length > 0) {
      link.releaseAll();
      await new Promise((r) => setImmediate(r));
    }
    await notifier.settled();
    // 0 and 1 went out at once; of the rest, the newest three survived, in order.
    assert.deepEqual(link.sent.map((s) => s.getChild("item")!.attrs.n), ["0", "1", "7", "8", "9"]);
  });

  test("coalescing prefers the same node and never drops retractions", async () => {
    const link = slowLink();
    const notifier = new Notifier(link.send, { maxInFlight: 1, maxQueued: 2 });
    notifier.notify("a", "x", event("x", 0));
    notifier.notify("a", "y", event("y", 1));
    notifier.notify("a", "z", event("z", 2), false); // a retraction
    notifier.notify("a", "y", event("y", 3));
    while (link.waiting.length > 0) {
      link.releaseAll();
      await new Promise((r) => setImmediate(r));
    }
    await notifier.settled();
    assert.deepEqual(link.sent.map((s) => s.getChild("item")!.attrs.n), ["0", "2", "3"]);
    assert.equal(notifier.stats.coalesced, 1);
  });

  test("a fast subscriber is not affected by a slow one", async () => {
    let release!: () => void;
    const sent: string[] = [];
    const notifier = new Notifier(
      (el) => {
        sent.push(el.attrs.to as string);
        return el.attrs.to === "slow" ? new Promise<void>((r) => (release = r)) : Promise.resolve();
      },
      { maxInFlight: 1, maxQueued: 1 },
    );
    for (let n = 0; n < 5; n++) {
      notifier.notify("slow", "x", xml("message", { to: "slow" }));
      notifier.notify("fast", "x", xml("message", { to: "fast" }));
      await new Promise((r) => setImmediate(r));
    }
    assert.equal(sent.filter((t) => t === "fast").length, 5);
    assert.equal(notifier.coalescedFor("fast"), 0);
    assert.equal(notifier.coalescedFor("slow"), 3);
    release();
  });
});

describe("feed: one payload to many subscribers (notifyAll, through the Sender's fan-out)", () => {
  test("the copies due in one tick leave in one fan-out, each with its own to and id; per-subscriber bounds still apply", async () => {
    const calls: { to: readonly string[]; ids: readonly string[]; template: string }[] = [];
    const waiting: (() => void)[] = [];
    const sendMany = (template: Element, to: readonly string[], ids: readonly string[]) => {
      calls.push({ to, ids, template: template.toString() });
      return to.map(() => new Promise<void>((resolve) => waiting.push(resolve)));
    };
    const single = slowLink();
    const notifier = new Notifier(single.send, { maxInFlight: 1, maxQueued: 5 }, undefined, sendMany);
    const payload = (n: number) => xml("message", { to: "x@localhost", id: `n${n}` }, xml("item", { node: "stocks", n }));
    notifier.notify("slow@localhost", "stocks", event("stocks", 99)); // slow@ is busy with its own notification
    notifier.notifyAll(["a@localhost", "b@localhost", "slow@localhost"], "stocks", payload(1));
    await Promise.resolve();
    assert.equal(calls.length, 1);
    assert.deepEqual(calls[0]!.to, ["a@localhost", "b@localhost"], "slow@ waits behind its own in-flight notification");
    assert.deepEqual(calls[0]!.ids, ["n1-1", "n1-2"]);
    single.releaseAll();
    await new Promise((r) => setImmediate(r));
    assert.equal(calls.length, 2);
    assert.deepEqual(calls[1]!.to, ["slow@localhost"]);
    assert.deepEqual(calls[1]!.ids, ["n1-3"], "ids stay unique across the fan-outs of one payload");
    for (const r of waiting.splice(0)) r();
    await notifier.settled();
    assert.equal(notifier.stats.sent, 4);
  });

  test("without a fan-out each subscriber gets a copy of its own (to and id set), and a failed copy is counted", async () => {
    const sent: Element[] = [];
    const notifier = new Notifier((el) => {
      sent.push(el);
      return el.attrs.to === "bad@localhost" ? Promise.reject(new Error("refused")) : Promise.resolve();
    }, { maxInFlight: 2, maxQueued: 2 });
    notifier.notifyAll(["a@localhost", "bad@localhost"], "n", xml("message", { id: "n7" }, xml("item", { node: "n" })));
    await notifier.settled();
    assert.deepEqual(sent.map((s) => [s.attrs.to, s.attrs.id]), [["a@localhost", "n7-1"], ["bad@localhost", "n7-2"]]);
    assert.equal(notifier.stats.sent, 1);
    assert.equal(notifier.stats.failed, 1);
  });
});
