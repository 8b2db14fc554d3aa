import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { Page } from "playwright-core";
import { describeEachServer } from "../integration/support.js";
import { openPage, type Rig, screenshotDir, startRig, stopRig } from "./browser.js";

// The pong page in a real browser: two pages play each other, a third watches, one plays the computer,
// and an account's page returns to its game after its WebSocket drops. On Prosody and on ejabberd (its
// WebSocket, ejabberd_http_ws, its anonymous host, the page served by mod_http_fileserver, same origin).

const PONG = "pong.localhost";
const BOT = "pong-bot.localhost";
const LONG = "pong-long.localhost";

interface PongHandle {
  frame(): { ball: { x: number; y: number }; paddles: [number, number]; score: [number, number]; phase: string } | undefined;
  state(): { mode: string; room: string; side: 0 | 1 | undefined; names: [string, string]; jid: string; pong: string; returns: number };
  dropConnection(): void;
}
declare const annexPong: PongHandle;

const statusText = (page: Page) => page.locator("#status").textContent();
const state = (page: Page) => page.evaluate(() => annexPong.state());
const waitMode = (page: Page, mode: string, timeout = 10_000) => page.waitForFunction((m) => annexPong.state().mode === m, mode, { timeout });
const connected = (page: Page) => page.waitForFunction(() => !(document.getElementById("find") as HTMLButtonElement).disabled, undefined, { timeout: 10_000 });

describeEachServer("pong page in chromium", (kind) => {
  let rig: Rig;
  let shots: string;
  // The two WebSocket-drop returns (about 30 s each) run on Prosody only: ejabberd's WebSocket after a drop is
  // covered by the feed page's test (test/e2e/feed.test.ts), and the game between pages by the two tests here.
  const withReturns = kind === "prosody";

  before(async () => {
    // pace 2: the same game twice as fast, so a game to 3 takes seconds but leaves time to watch it.
    const game = { pointsToWin: 3, pace: 2, tickHz: 60, snapshotHz: 20, graceSeconds: 20 };
    rig = await startRig({
      server: kind,
      components: [
        { type: "pong", domain: PONG, options: game },
        // A bot that would only turn up after an hour: "Play the computer" must ask for it (<join opponent='bot'/>).
        { type: "pong", domain: BOT, options: { ...game, pointsToWin: 1, bot: { skill: 0.3, afterSeconds: 3600 } } },
        // A normal-speed game to 10, so it is still running when the connection comes back.
        ...(withReturns ? [{ type: "pong", domain: LONG, options: { ...game, pointsToWin: 10, pace: 1 } }] : []),
      ],
      users: withReturns ? [{ username: "carol", password: "carol-pw" }, { username: "dave", password: "dave-pw" }] : [],
    });
    shots = await screenshotDir();
  });

  after(async () => {
    const code = await stopRig(rig);
    assert.equal(code, 0, `annex should stop cleanly; output:\n${rig?.annex.output}`);
    assert.deepEqual(rig.pageErrors, [], "no errors in the pages");
  });

  test("two pages play each other to game over, a spectator watches, and all show the same score", async (t) => {
    const [a, b, c] = [await openPage(rig, "/pong/"), await openPage(rig, "/pong/"), await openPage(rig, "/pong/")];
    await Promise.all([connected(a), connected(b), connected(c)]);
    assert.equal((await state(a)).pong, PONG, "found pong by disco");
    assert.match((await state(a)).jid, /@anon\.localhost\//, "logged in anonymously");

    await a.getByRole("button", { name: "Find an opponent" }).click();
    await waitMode(a, "queued");
    await b.getByRole("button", { name: "Find an opponent" }).click();
    await Promise.all([waitMode(a, "playing"), waitMode(b, "playing")]);
    const [sa, sb] = [await state(a), await state(b)];
    assert.equal(sa.room, sb.room, "the same game");
    assert.notEqual(sa.side, sb.side);
    const aBare = sa.jid.split("/")[0]!;
    assert.ok((await b.locator(".scoreboard").textContent())!.includes(aBare), "b shows a's name");
    // a holds ↑ (keyboard play): its paddle goes to the top and stays there.
    await a.locator("#field").focus();
    await a.keyboard.down("ArrowUp");

    // A spectator finds the game in the lobby and watches it with one click.
    await c.locator(`#lobby-games li[data-room="${sa.room}"] button`).click({ timeout: 5000 });
    await c.waitForFunction(() => annexPong.frame() !== undefined, undefined, { timeout: 5000 });

    // b and the spectator see a's paddle get to the top.
    await b.waitForFunction((side) => (annexPong.frame()?.paddles[side] ?? Infinity) < 20, sa.side!, { timeout: 5000 });
    await c.waitForFunction((side) => (annexPong.frame()?.paddles[side] ?? Infinity) < 20, sa.side!, { timeout: 5000 });
    await a.screenshot({ path: join(shots, "pong-player.png") });
    await c.screenshot({ path: join(shots, "pong-spectator.png") });

    // With one paddle parked at the top, points come quickly; play to the end.
    await Promise.all([waitMode(a, "over", 60_000), waitMode(b, "over", 60_000), waitMode(c, "over", 60_000)]);
    await a.keyboard.up("ArrowUp");
    const scores = await Promise.all([a, b, c].map((p) => p.locator("#score").textContent()));
    t.diagnostic(`final score on the three pages: ${scores.join(" | ")}; screenshots in ${shots}`);
    assert.equal(new Set(scores).size, 1, "all pages show the same final score");
    assert.match(scores[0]!, /^(3 : [012]|[012] : 3)$/);
    const results = await Promise.all([a, b].map((p) => statusText(p)));
    assert.equal(results.filter((s) => /you win/.test(s!)).length, 1, `one winner: ${results.join(" / ")}`);
    await b.screenshot({ path: join(shots, "pong-game-over.png") });
    // The finished game is on the leaderboard.
    await a.waitForFunction((jid) => document.getElementById("leaderboard")!.textContent!.includes(jid), aBare, { timeout: 5000 });
  });

  test("a page plays the computer, in a narrow window", async () => {
    const page = await openPage(rig, `/pong/?pong=${BOT}`, { width: 360, height: 740 });
    await connected(page);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.equal(overflow, 0, "no horizontal scrolling at 360 px");
    await page.getByRole("button", { name: "Play the computer" }).click();
    await waitMode(page, "playing");
    assert.ok((await page.locator(".scoreboard").textContent())!.includes("the computer"));
    // Mouse play: the paddle follows the pointer.
    const box = (await page.locator("#field").boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + box.height * 0.85);
    const side = (await state(page)).side!;
    await page.waitForFunction((s) => (annexPong.frame()?.paddles[s] ?? 0) > 400, side, { timeout: 5000 });
    await page.screenshot({ path: join(shots, "pong-computer-narrow.png"), fullPage: true });
    await waitMode(page, "over", 60_000);
    assert.match((await page.locator("#score").textContent())!, /^(1 : 0|0 : 1)$/);
  });

  if (withReturns) {
    test("a guest's page returns to its game from a new anonymous address after its WebSocket drops", async () => {
      const [a, b] = [await openPage(rig, `/pong/?pong=${LONG}`), await openPage(rig, `/pong/?pong=${LONG}`)];
      for (const page of [a, b]) {
        await connected(page);
        await page.getByRole("button", { name: "Find an opponent" }).click();
        await page.waitForFunction(() => ["queued", "playing"].includes(annexPong.state().mode), undefined, { timeout: 10_000 });
      }
      await Promise.all([waitMode(a, "playing"), waitMode(b, "playing")]);
      const { room, jid } = await state(a);
      await a.evaluate(() => annexPong.dropConnection());
      await a.waitForFunction(() => annexPong.state().returns > 0, undefined, { timeout: 15_000 });
      const after = await state(a);
      assert.notEqual(after.jid.split("/")[0], jid.split("/")[0], "a new anonymous address");
      assert.equal(after.room, room, "the same game, taken back with the seat's token");
      assert.equal(after.mode, "playing");
      // Snapshots flow again once both seats are back (a frame needs two of them to interpolate).
      await a.waitForFunction(() => annexPong.frame() !== undefined, undefined, { timeout: 10_000 });
      const x = await a.evaluate(() => annexPong.frame()!.ball.x);
      await a.waitForFunction((v) => annexPong.frame()?.ball.x !== v, x, { timeout: 10_000 });
      for (const page of [a, b]) await page.getByRole("button", { name: "Leave" }).click().catch(() => undefined);
    });

    test("an account's page returns to its game after its WebSocket drops", async () => {
      const [a, b] = [await openPage(rig, `/pong/?pong=${LONG}`), await openPage(rig, `/pong/?pong=${LONG}`)];
      for (const [page, user] of [[a, "carol"], [b, "dave"]] as const) {
        await connected(page);
        await page.locator("summary").click();
        await page.getByLabel("Address").fill(`${user}@localhost`);
        await page.getByLabel("Password").fill(`${user}-pw`);
        await page.getByRole("button", { name: "Sign in" }).click();
        await page.waitForFunction((u) => annexPong.state().jid.startsWith(`${u}@localhost/`) && !(document.getElementById("find") as HTMLButtonElement).disabled, user, { timeout: 10_000 });
        await page.getByRole("button", { name: "Find an opponent" }).click();
        // The second player goes from queued to playing at once.
        await page.waitForFunction(() => ["queued", "playing"].includes(annexPong.state().mode), undefined, { timeout: 10_000 });
      }
      await Promise.all([waitMode(a, "playing"), waitMode(b, "playing")]);
      const room = (await state(a)).room;

      // The same account (and resource) comes back; pong re-seats it by its bare JID.
      await a.evaluate(() => annexPong.dropConnection());
      await a.waitForFunction(() => annexPong.state().returns > 0, undefined, { timeout: 10_000 });
      assert.equal((await state(a)).room, room, "the same game");
      assert.equal((await state(a)).mode, "playing");
      // The game goes on: new snapshots reach the page after the return.
      // Snapshots flow again once both seats are back (a frame needs two of them to interpolate).
      await a.waitForFunction(() => annexPong.frame() !== undefined, undefined, { timeout: 10_000 });
      const tick = await a.evaluate(() => annexPong.frame()!.ball.x);
      await a.waitForFunction((x) => annexPong.frame()?.ball.x !== x, tick, { timeout: 10_000 });
      await a.screenshot({ path: join(shots, "pong-after-reconnect.png") });
    });
  }
});
