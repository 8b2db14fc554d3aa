import assert from "node:assert/strict";
import { test } from "node:test";
import { ALICE, BOB, bookMsg, compactMsg, compactOf, DOMAIN, pongHarness, toOf } from "./helpers.js";

// The snapshot broadcast: spectators of one codec share one payload per room per tick (Sender.fanOut);
// what each of them receives is still a whole stanza of its own, the same as a one-by-one send gave.
test("spectators get one shared snapshot per tick, fanned out: same payload, each addressed to its spectator", async () => {
  const { h, pong } = pongHarness();
  await h.inject(bookMsg(ALICE, "playercheckingin"));
  await h.inject(bookMsg(BOB, "playercheckingin"));
  const compactFans = ["s1@localhost/a", "s2@localhost/b", "s3@localhost/c'&"];
  const bookFans = ["b1@localhost/a", "b2@localhost/b"];
  // The third address needs XML escaping (in the injected stanza, and again in every copy we send it).
  for (const jid of compactFans) await h.inject(compactMsg(jid.replace("&", "&amp;").replace("'", "&apos;"), "spectate", { r: "r1" }));
  for (const jid of bookFans) await h.inject(bookMsg(jid, "spectate", { room: "r1" }));
  const sentBefore = pong.arena.snapshotsSent;
  const from = h.sent.length;
  for (let i = 0; i < 3; i++) pong.arena.step(); // one snapshot tick at 20 Hz of 60
  const out = h.sent.slice(from);
  const compactOut = out.filter((s) => compactFans.includes(toOf(s)));
  assert.deepEqual(compactOut.map(toOf), compactFans);
  const payloads = compactOut.map((s) => compactOf(s, "s")!.toString());
  assert.equal(new Set(payloads).size, 1, "every compact spectator got the same payload");
  assert.equal(compactOf(compactOut[0]!, "s")!.attrs.a, undefined);
  for (const s of compactOut) assert.equal(s.attrs.from, DOMAIN);
  const bookOut = out.filter((s) => bookFans.includes(toOf(s)));
  assert.deepEqual(bookOut.map(toOf), [bookFans[0], bookFans[1], bookFans[0], bookFans[1]], "ballposition to each, then paddlepositions to each");
  // Each spectator counts as one snapshot, as before (the book's two payloads are one snapshot).
  assert.ok(out.some((s) => toOf(s) === ALICE) && out.some((s) => toOf(s) === BOB));
  assert.equal(pong.arena.snapshotsSent - sentBefore, 2 + compactFans.length + bookFans.length);
});
