import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { COMPACT_NS } from "../protocol.js";
import { NICK_NS } from "../names.js";
import { ALICE, BOB, compactOf, DOMAIN, errorCondition, errorText, pongHarness, toOf } from "./helpers.js";

// Names, not addresses (issue 18): XEP-0172 nicks in the check-in or presence, "the computer", the lobby
// query, and guests kept off the leaderboard.

const GUEST = "x1y2@anon.localhost/web";
const BOOK_NS = "xmpp:game:pong";

/** A compact <join/> with a XEP-0172 nick beside it (§4.3: a nick with the first message). */
const joinAs = (from: string, nick: string, attrs = "") =>
  `<message from='${from}' to='${DOMAIN}' type='headline' id='j'><join xmlns='${COMPACT_NS}'${attrs}/><nick xmlns='${NICK_NS}'>${nick}</nick></message>`;
const iq = (from: string, payload: string) => `<iq type='get' id='q' from='${from}' to='${DOMAIN}'>${payload}</iq>`;

describe("pong: names", () => {
  test("a nick in the check-in names the player to its opponent, in disco#items and in the lobby", async () => {
    const { h } = pongHarness();
    await h.inject(joinAs(ALICE, "  Alice   the Great "));
    const lobbyWhileWaiting = (await h.inject(iq(BOB, `<lobby xmlns='${COMPACT_NS}'/>`)))[0]!;
    assert.deepEqual(lobbyWhileWaiting.getChild("lobby", COMPACT_NS)!.getChildren("waiting").map((w) => w.attrs.name), ["Alice the Great"]);
    await h.inject(joinAs(BOB, "Bob"));
    const starts = h.sent.filter((s) => compactOf(s, "start")).map((s) => [toOf(s), compactOf(s, "start")!.attrs.oppnick]);
    assert.deepEqual(Object.fromEntries(starts), { [ALICE]: "Bob", [BOB]: "Alice the Great" });
    const [items] = await h.inject(iq(BOB, "<query xmlns='http://jabber.org/protocol/disco#items'/>"));
    assert.equal(items!.getChild("query")!.getChildren("item")[0]!.attrs.name, "Alice the Great vs Bob (0–0)");
    const lobby = (await h.inject(iq(BOB, `<lobby xmlns='${COMPACT_NS}'/>`)))[0]!.getChild("lobby", COMPACT_NS)!;
    assert.deepEqual(lobby.getChildren("waiting"), []);
    assert.deepEqual(lobby.getChildren("game").map((g) => g.attrs), [{ r: "r1", left: "Alice the Great", right: "Bob", sc: "0,0", watchers: "0" }]);
  });

  test("the computer is “the computer”, and a player without a nick is its address", async () => {
    const { h } = pongHarness();
    await h.inject(`<message from='${ALICE}' to='${DOMAIN}' type='headline'><join xmlns='${COMPACT_NS}' opponent='bot'/></message>`);
    const start = h.sent.map((s) => compactOf(s, "start")).find(Boolean)!;
    assert.equal(start.attrs.oppnick, "the computer");
    const [items] = await h.inject(iq(BOB, "<query xmlns='http://jabber.org/protocol/disco#items'/>"));
    assert.equal(items!.getChild("query")!.getChildren("item")[0]!.attrs.name, "alice@localhost vs the computer (0–0)");
  });

  test("a nick in presence to the component names the player too (XEP-0172 §4.2)", async () => {
    const { h } = pongHarness();
    await h.inject(`<presence from='${ALICE}' to='${DOMAIN}'><nick xmlns='${NICK_NS}'>Ally</nick></presence>`);
    await h.inject(`<message from='${ALICE}' to='${DOMAIN}' type='headline'><join xmlns='${COMPACT_NS}'/></message>`);
    const lobby = (await h.inject(iq(BOB, `<lobby xmlns='${COMPACT_NS}'/>`)))[0]!.getChild("lobby", COMPACT_NS)!;
    assert.deepEqual(lobby.getChildren("waiting").map((w) => w.attrs.name), ["Ally"]);
  });

  for (const [nick, text] of [
    ["   ", "the nick (XEP-0172) is empty"],
    ["x".repeat(33), "the nick (XEP-0172) is longer than 32 characters"],
    ["bad\u202Ename", "the nick (XEP-0172) contains control characters"],
  ] as const) {
    test(`an unusable nick is a bad-request: ${text}`, async () => {
      const { h, pong } = pongHarness();
      const [reply] = await h.inject(joinAs(ALICE, nick));
      assert.equal(errorCondition(reply), "bad-request");
      assert.equal(errorText(reply), text);
      assert.equal(pong.arena.waitingCount, 0, "not checked in");
    });
  }

  test("guests play rated games but stay off the leaderboard; nicks show on it", async () => {
    const { h, pong } = pongHarness({ guestDomains: ["anon.localhost"] });
    await h.inject(joinAs(GUEST, "Guesty"));
    await h.inject(joinAs(ALICE, "Alice"));
    pong.arena.leave(GUEST); // the guest forfeits: alice wins
    await h.inject(joinAs(ALICE, "Alice"));
    await h.inject(joinAs(BOB, "Bob"));
    pong.arena.leave(BOB);
    const [reply] = await h.inject(iq(ALICE, `<leaderboard xmlns='${BOOK_NS}'/>`));
    const players = reply!.getChild("leaderboard", BOOK_NS)!.getChildren("player").map((p) => [p.attrs.jid, p.attrs.nick, p.attrs.wins]);
    assert.deepEqual(players, [["alice@localhost", "Alice", "2"], ["bob@localhost", "Bob", "0"]]);
    assert.equal(pong.leaderboard.gamesPlayed, 2, "the guest's game is stored");
    const [top] = await h.inject(`<message type='chat' id='t' from='${BOB}' to='${DOMAIN}'><body>top</body></message>`);
    assert.deepEqual(top!.getChildText("body")!.split("\n").map((l) => l.replace(/ \d+ /, " R ")), ["1. Alice (alice@localhost) R (2–0)", "2. Bob (bob@localhost) R (0–1)"]);
  });
});
