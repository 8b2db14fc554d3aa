import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { xml } from "annex";
import { stanzaBytesOver } from "../limits.js";

const exact = (el: object) => Buffer.byteLength(String(el));

describe("stanzaBytesOver (the game guard's size check)", () => {
  test("a compact input is cleared by the bound without being serialised", () => {
    const el = xml("message", { from: "p1@example.test/bot", to: "pong.example.test", type: "normal" }, xml("in", { xmlns: "urn:annex:pong:1", seq: "17", y: "248" }));
    assert.equal(stanzaBytesOver(el, 2048), undefined);
    assert.ok(exact(el) <= 2048);
  });

  test("when the bound cannot clear a stanza it returns ltx's exact UTF-8 size", () => {
    const cases = [
      xml("message", { from: "a@b/c" }, xml("junk", {}, "x".repeat(3000))),
      xml("message", { from: "a@b/c", note: `"'<>&`.repeat(40) }, "é€😀 & <tag>".repeat(30)),
      xml("message", { from: "a@b/c" }, xml("a", { v: "ü".repeat(100) }, xml("b", {}, "\u00e9".repeat(100)))),
    ];
    for (const el of cases) {
      const bytes = stanzaBytesOver(el, 256);
      assert.equal(bytes, exact(el));
    }
  });

  test("whatever it clears is within the limit, escapes and non-ASCII included", () => {
    const seen = { cleared: 0, counted: 0 };
    for (let n = 0; n < 200; n += 7) {
      const el = xml("message", { from: "a@b/c", q: `"&'`.repeat(n % 13) }, xml("t", {}, "é<&".repeat(n)), "😀".repeat(n % 11));
      const bytes = stanzaBytesOver(el, 600);
      if (bytes === undefined) assert.ok(exact(el) <= 600, `cleared ${exact(el)} bytes`);
      else assert.equal(bytes, exact(el));
      seen[bytes === undefined ? "cleared" : "counted"]++;
    }
    assert.ok(seen.cleared > 0 && seen.counted > 0, JSON.stringify(seen));
  });
});
