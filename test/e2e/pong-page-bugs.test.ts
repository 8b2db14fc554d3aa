import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Page } from "playwright-core";
import { openPage, type Rig, startRig, stopRig } from "./browser.js";

// The pong page bugs found by trying it as players do (issue 18), each checked in a real chromium:
// the score going backwards, an error replacing "Game over", the loser's wording, the spectator's help
// text, the resume wording against the computer, the ball under the serve banner, the header's height,
// and accounts with non-ASCII passwords.

const PONG = "pong.localhost";
const COMPUTER = "pong-computer.localhost";

interface PongHandle {
  frame(): { ball: { x: number; y: number }; paddles: [number, number]; score: [number, number]; phase: string; serveIn: number | undefined } | undefined;
  state(): { mode: string; room: string; side: 0 | 1 | undefined; names: [string, string]; jid: string; pong: string; returns: number };
  dropConnection(): void;
}
declare const annexPong: PongHandle;

const statusText = async (page: Page) => (await page.locator("#status").textContent()) ?? "";
const state = (page: Page) => page.evaluate(() => annexPong.state());
const waitMode = (page: Page, mode: string, timeout = 10_000) => page.waitForFunction((m) => annexPong.state().mode === m, mode, { timeout });
const connected = (page: Page) => page.waitForFunction(() => !(document.getElementById("find") as HTMLButtonElement).disabled, undefined, { timeout: 15_000 });

/** Every text the score element showed, from page load on (a MutationObserver, so no change is missed). */
const RECORD_SCORES = `
  window.addEventListener("DOMContentLoaded", () => {
    const seen = (window.__scores = []);
    const el = document.getElementById("score");
    new MutationObserver(() => seen.push(el.textContent)).observe(el, { childList: true, characterData: true, subtree: true });
  });`;

/** A slow uplink: every frame the page sends leaves 300 ms late, so moves are still in flight at game over. */
const SLOW_UPLINK = `
  const send = WebSocket.prototype.send;
  WebSocket.prototype.send = function (data) { setTimeout(() => { if (this.readyState === 1) send.call(this, data); }, 300); };`;

/** The heights the header had, from page load on. */
const RECORD_HEADER = `
  window.addEventListener("DOMContentLoaded", () => {
    const heights = (window.__headerHeights = []);
    new ResizeObserver((entries) => { for (const e of entries) heights.push(Math.round(e.borderBoxSize[0].blockSize)); }).observe(document.querySelector("header"));
  });`;

describe("pong page bugs (issue 18) in chromium", () => {
  let rig: Rig;

  before(async () => {
    const game = { tickHz: 60, snapshotHz: 20, graceSeconds: 20 };
    rig = await startRig({
      components: [
        // To 5 at twice the speed: several points in a few seconds, each a chance for the score to go back.
        { type: "pong", domain: PONG, options: { ...game, pointsToWin: 5, pace: 2 } },
        // The computer only when asked for; a long game at normal speed, still running after a reconnect.
        { type: "pong", domain: COMPUTER, options: { ...game, pointsToWin: 10, pace: 1, bot: { skill: 0.3, afterSeconds: 3600 } } },
      ],
      users: [{ username: "erin", password: "älice-pw" }, { username: "frank", password: "пароль1" }],
    });
  });

  after(async () => {
    const code = await stopRig(rig);
    assert.equal(code, 0, `annex should stop cleanly; output:\n${rig?.annex.output}`);
    assert.deepEqual(rig.pageErrors, [], "no errors in the pages");
  });

  test("a two-player game: the score never goes backwards, a move in flight at the end leaves “Game over”, the loser reads “You lose”, a spectator is not told of a yellow paddle", async () => {
    const a = await openPage(rig, "/pong/", undefined, RECORD_SCORES + SLOW_UPLINK);
    const b = await openPage(rig, "/pong/", undefined, RECORD_SCORES);
    const c = await openPage(rig, "/pong/", undefined, RECORD_SCORES);
    await Promise.all([connected(a), connected(b), connected(c)]);
    await a.getByRole("button", { name: "Find an opponent" }).click();
    await waitMode(a, "queued");
    await b.getByRole("button", { name: "Find an opponent" }).click();
    await Promise.all([waitMode(a, "playing"), waitMode(b, "playing")]);
    const room = (await state(a)).room;

    await c.locator(`#lobby-games li[data-room="${room}"] button`).click({ timeout: 5000 });
    await waitMode(c, "watching");
    const help = (await c.locator("#help").textContent()) ?? "";

    // b parks its paddle at the top; a keeps moving its mouse near the bottom, so moves leave all game long.
    await b.locator("#field").focus();
    await b.keyboard.down("ArrowUp");
    const box = (await a.locator("#field").boundingBox())!;
    let wiggle = 0;
    while ((await state(a)).mode === "playing") {
      await a.mouse.move(box.x + box.width / 2, box.y + box.height * (0.7 + 0.2 * (wiggle++ % 2)));
      await a.waitForTimeout(30);
    }
    await Promise.all([waitMode(a, "over", 60_000), waitMode(b, "over", 60_000), waitMode(c, "over", 60_000)]);
    await b.keyboard.up("ArrowUp");
    // The last moves reach the server after the end and are refused; wait for those refusals to come back.
    await a.waitForTimeout(1500);

    // Each finding is collected, so one run tells every bug of this game at once.
    const problems: string[] = [];
    for (const [name, page] of [["a", a], ["b", b], ["spectator", c]] as const) {
      const seen = await page.evaluate(() => (window as unknown as { __scores: string[] }).__scores);
      const scores = seen.map((s) => s.split(":").map((n) => Number(n.trim())) as [number, number]);
      if (scores.length < 5) problems.push(`${name} did not see the points: ${seen.join(", ")}`);
      for (let i = 1; i < scores.length; i++) {
        const [prev, next] = [scores[i - 1]!, scores[i]!];
        if (next[0] < prev[0] || next[1] < prev[1]) problems.push(`${name}'s score went backwards: ${seen.slice(Math.max(0, i - 2), i + 2).join(" → ")} (all: ${seen.join(", ")})`);
      }
    }
    const [sa, sb] = [await statusText(a), await statusText(b)];
    if (!/^Game over: you (win|lose) /.test(sa)) problems.push(`a move in flight at the end replaced the result: "${sa}"`);
    // Scores read left–right, like the scoreboard.
    const result = (word: string) => new RegExp(`^Game over: you ${word} (5–[0-4]|[0-4]–5)\\.$`);
    if (![sa, sb].some((s) => result("win").test(s))) problems.push(`nobody reads "you win": "${sa}" / "${sb}"`);
    if (![sa, sb].some((s) => result("lose").test(s))) problems.push(`the loser is not told "you lose": "${sa}" / "${sb}"`);
    if (/your paddle is yellow/i.test(help)) problems.push(`a spectator is told of its yellow paddle: "${help}"`);
    assert.deepEqual(problems, []);
  });

  test("after a drop in a game against the computer the page says the player is back, not “both players”", async () => {
    const page = await openPage(rig, `/pong/?pong=${COMPUTER}`);
    await connected(page);
    await page.getByRole("button", { name: "Play the computer" }).click();
    await waitMode(page, "playing");
    await page.evaluate(() => annexPong.dropConnection());
    await page.waitForFunction(() => annexPong.state().returns > 0, undefined, { timeout: 15_000 });
    await page.waitForFunction(() => /goes on/.test(document.getElementById("status")!.textContent ?? ""), undefined, { timeout: 10_000 });
    const text = await statusText(page);
    assert.equal(text, "You are back; the game goes on.");
    await page.getByRole("button", { name: "Leave" }).click();
  });

  test("the ball stays in sight while the “Serve in” banner shows", async () => {
    const page = await openPage(rig, `/pong/?pong=${COMPUTER}`);
    await connected(page);
    await page.getByRole("button", { name: "Play the computer" }).click();
    await waitMode(page, "playing");
    // Read the canvas while a serve is counted down: the ball's pixels (drawn white) must still be white.
    const pixels = await (await page.waitForFunction(() => {
      const f = annexPong.frame();
      if (!f || f.phase !== "serve" || !(f.serveIn! > 0.2)) return false;
      const canvas = document.getElementById("field") as HTMLCanvasElement;
      const ctx = canvas.getContext("2d")!;
      const [sx, sy] = [canvas.width / 800, canvas.height / 600];
      return [[0, 0], [-3, 0], [3, 0], [0, -3], [0, 3]].map(([dx, dy]) => [...ctx.getImageData(Math.round((f.ball.x + dx!) * sx), Math.round((f.ball.y + dy!) * sy), 1, 1).data.slice(0, 3)]);
    }, undefined, { timeout: 10_000, polling: "raf" })).jsonValue() as number[][];
    for (const rgb of pixels) assert.ok(rgb.every((v) => v > 200), `the ball is covered: pixels ${JSON.stringify(pixels)}`);
    await page.getByRole("button", { name: "Leave" }).click();
  });

  test("the header keeps its height on a 390 px phone while the status text changes", async () => {
    const page = await openPage(rig, `/pong/?pong=${COMPUTER}`, { width: 390, height: 844 }, RECORD_HEADER);
    await connected(page);
    await page.getByRole("button", { name: "Play the computer" }).click();
    await waitMode(page, "playing");
    await page.waitForTimeout(500);
    await page.getByRole("button", { name: "Leave" }).click();
    await page.waitForFunction(() => annexPong.state().mode !== "playing", undefined, { timeout: 10_000 });
    await page.waitForTimeout(300);
    const heights = await page.evaluate(() => (window as unknown as { __headerHeights: number[] }).__headerHeights);
    assert.ok(heights.length >= 1, "the header was laid out");
    assert.deepEqual([...new Set(heights)], [heights[0]], `the header changed height: ${heights.join(", ")}`);
  });

  for (const [user, password] of [["erin", "älice-pw"], ["frank", "пароль1"]] as const) {
    test(`an account with the non-ASCII password ${JSON.stringify(password)} signs in (SASL PLAIN is UTF-8)`, async () => {
      const page = await openPage(rig, "/pong/");
      await connected(page);
      await page.locator("summary").click();
      await page.getByLabel("Address").fill(`${user}@localhost`);
      await page.getByLabel("Password").fill(password);
      await page.getByRole("button", { name: "Sign in" }).click();
      await page.waitForFunction((u) => annexPong.state().jid.startsWith(`${u}@localhost/`) && !(document.getElementById("find") as HTMLButtonElement).disabled, user, { timeout: 10_000 })
        .catch(async (err: Error) => assert.fail(`${user} did not sign in: status "${await statusText(page)}" (${err.message})`));
    });
  }
});
