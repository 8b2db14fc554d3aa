import assert from "node:assert/strict";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { Page } from "playwright-core";
import { openPage, type Rig, screenshotDir, startRig, stopRig } from "./browser.js";

// What players and viewers expect of the pong page (issue 18): names instead of addresses, a lobby with
// who waits and the running games (live scores, one click to watch), a rematch at game over, sound that
// can be muted, and a leaderboard that fits a 390 px phone.
// ANNEX_SCREENSHOTS_DIR=<folder> keeps the pictures there (`make screenshots` writes the README's).

const PONG = "pong.localhost";

interface PongHandle {
  frame(): { ball: { x: number; y: number }; phase: string } | undefined;
  state(): { mode: string; room: string; side: 0 | 1 | undefined; names: [string, string]; jid: string; field: { width: number; height: number }; lobby: { waiting: string[]; games: { room: string; names: [string, string]; score: [number, number] }[] } };
}
declare const annexPong: PongHandle;

/** The drawn ball once it has not moved for 300 ms (JSON), polled in the page. */
const settledBall = async (page: Page): Promise<string> => {
  const handle = await page.waitForFunction(() => {
    const memo = window as unknown as { settle?: { ball: string; since: number } };
    const ball = JSON.stringify(annexPong.frame()?.ball);
    if (memo.settle?.ball !== ball) memo.settle = { ball, since: performance.now() };
    return performance.now() - memo.settle.since >= 300 ? ball : false;
  }, undefined, { timeout: 10_000, polling: 50 });
  return (await handle.jsonValue()) as string;
};
const state = (page: Page) => page.evaluate(() => annexPong.state());
const waitMode = (page: Page, mode: string, timeout = 10_000) => page.waitForFunction((m) => annexPong.state().mode === m, mode, { timeout });
const connected = (page: Page) => page.waitForFunction(() => !(document.getElementById("find") as HTMLButtonElement).disabled, undefined, { timeout: 15_000 });

async function setName(page: Page, name: string): Promise<void> {
  await page.getByLabel("Your name").fill(name);
  await page.getByLabel("Your name").press("Tab"); // "change" fires when the field loses focus
}

describe("pong page: names, lobby, rematch, sound, leaderboard on a phone", () => {
  let rig: Rig;
  let shots: string;

  before(async () => {
    rig = await startRig({ components: [{ type: "pong", domain: PONG, options: { pointsToWin: 5, pace: 2, tickHz: 60, snapshotHz: 20 } }] });
    shots = process.env.ANNEX_SCREENSHOTS_DIR ?? (await screenshotDir());
    await mkdir(shots, { recursive: true });
  });

  after(async () => {
    const code = await stopRig(rig);
    assert.equal(code, 0, `annex should stop cleanly; output:\n${rig?.annex.output}`);
    assert.deepEqual(rig.pageErrors, [], "no errors in the pages");
  });

  test("players are named, the lobby shows who waits and the game with its score, a viewer watches with one click, and both players get a rematch", async (t) => {
    const a = await openPage(rig, "/pong/");
    const b = await openPage(rig, "/pong/");
    const viewer = await openPage(rig, "/pong/", { width: 390, height: 844 });
    const carol = await openPage(rig, "/pong/");
    await Promise.all([connected(a), connected(b), connected(viewer), connected(carol)]);
    await setName(a, "Alice");
    await setName(b, "Bob");
    await setName(carol, "Carol");

    await a.getByRole("button", { name: "Find an opponent" }).click();
    await waitMode(a, "queued");
    await viewer.waitForFunction(() => document.getElementById("waiting")!.textContent === "Waiting for an opponent: Alice", undefined, { timeout: 5000 });

    await b.getByRole("button", { name: "Find an opponent" }).click();
    await Promise.all([waitMode(a, "playing"), waitMode(b, "playing")]);
    const { room, side } = await state(a);
    assert.equal(await a.locator(side === 0 ? "#left-name" : "#right-name").textContent(), "Alice (you)");
    assert.equal(await a.locator(side === 0 ? "#right-name" : "#left-name").textContent(), "Bob");
    assert.match((await a.locator("#status").textContent())!, /against Bob/);

    // The lobby lists the game by name; the viewer clicks once to watch it.
    const entry = viewer.locator(`#lobby-games li[data-room="${room}"]`);
    await entry.waitFor({ timeout: 5000 });
    assert.match((await entry.locator(".players").textContent())!, /^(Alice vs Bob|Bob vs Alice)$/);
    // Someone else waits meanwhile: the lobby shows both.
    await carol.getByRole("button", { name: "Find an opponent" }).click();
    await viewer.waitForFunction(() => document.getElementById("waiting")!.textContent === "Waiting for an opponent: Carol", undefined, { timeout: 5000 });
    await viewer.screenshot({ path: join(shots, "pong-lobby.png"), fullPage: true });
    await carol.getByRole("button", { name: "Leave" }).click();
    await entry.getByRole("button", { name: /^Watch / }).click();
    await waitMode(viewer, "watching");
    assert.deepEqual([...(await state(viewer)).names].sort(), ["Alice", "Bob"]);

    // b parks its paddle at the top: points come quickly. The lobby's score follows the game (asked every 2 s).
    await b.locator("#field").focus();
    await b.keyboard.down("ArrowUp");
    await viewer.waitForFunction((r) => annexPong.state().lobby.games.some((g) => g.room === r && g.score[0] + g.score[1] > 0), room, { timeout: 30_000 });
    await a.screenshot({ path: join(shots, "pong-game.png") });
    await Promise.all([waitMode(a, "over", 60_000), waitMode(b, "over", 60_000)]);
    await b.keyboard.up("ArrowUp");

    // Game over: a rematch button for both players; the leaderboard names them.
    for (const page of [a, b]) assert.ok(await page.getByRole("button", { name: "Rematch" }).isVisible(), "a rematch button");
    await a.waitForFunction(() => /Alice/.test(document.getElementById("leaderboard")!.textContent ?? "") && /Bob/.test(document.getElementById("leaderboard")!.textContent ?? ""), undefined, { timeout: 5000 });
    await a.screenshot({ path: join(shots, "pong-game-over.png") });
    await a.getByRole("button", { name: "Rematch" }).click();
    await b.getByRole("button", { name: "Rematch" }).click();
    await Promise.all([waitMode(a, "playing"), waitMode(b, "playing")]);
    assert.notEqual((await state(a)).room, room, "a new game");
    assert.ok((await state(a)).names.includes("Bob"), "against Bob again");
    // a leaves (forfeits): the rematch ends for both.
    await a.getByRole("button", { name: "Leave" }).click();
    await waitMode(b, "over");
    t.diagnostic(`screenshots in ${shots}`);
  });

  test("a player asks for a pause between points and resumes when ready", async () => {
    const page = await openPage(rig, "/pong/");
    await connected(page);
    await page.getByRole("button", { name: "Play the computer" }).click();
    await waitMode(page, "playing");
    // Asked for during the rally (the drawn ball is in play): the pause starts at the next serve, once the point is
    // over (the player's paddle stays put, so the computer wins it soon). An ask during a serve pauses at once
    // (components/pong/test/pause.test.ts).
    await page.waitForFunction(() => annexPong.frame()?.phase === "play", undefined, { timeout: 10_000 });
    await page.getByRole("button", { name: "Pause" }).click();
    // (The point may end at that very moment: then the pause has begun already.)
    assert.match((await page.locator("#status").textContent())!, /^(Pause asked for|Paused at your request)/);
    await page.waitForFunction(() => /^Paused at your request/.test(document.getElementById("status")!.textContent ?? ""), undefined, { timeout: 30_000 });
    // The page draws the ball ~100 ms in the past (web/view-model.ts), so the picture still moves for that long
    // after the pause event: the frozen ball is the one that has stayed put for 300 ms.
    const frozen = await settledBall(page);
    // The server sends the paused state: the ball is drawn where the game froze it, inside the field (a pause at
    // the serve after a point once left it drawn behind the goal line).
    const { x, y } = JSON.parse(frozen) as { x: number; y: number };
    const { field } = await state(page);
    assert.ok(x >= 0 && x <= field.width && y >= 0 && y <= field.height, `the paused ball ${frozen} is inside the ${field.width}×${field.height} field`);
    await page.waitForTimeout(600);
    assert.equal(await page.evaluate(() => JSON.stringify(annexPong.frame()?.ball)), frozen, "nothing moves while paused");
    await page.getByRole("button", { name: "Resume" }).click();
    await page.waitForFunction(() => document.getElementById("status")!.textContent === "The pause is over; the game goes on.", undefined, { timeout: 5000 });
    await page.waitForFunction((f) => JSON.stringify(annexPong.frame()?.ball) !== f, frozen, { timeout: 5000 });
    assert.equal(await page.getByRole("button", { name: "Pause" }).textContent(), "Pause");
    await page.getByRole("button", { name: "Leave" }).click();
  });

  test("the leaderboard fits a 390 px phone without breaking a word", async () => {
    const page = await openPage(rig, "/pong/", { width: 390, height: 844 });
    await connected(page);
    await page.waitForFunction(() => document.querySelectorAll("#leaderboard tr td.player").length >= 2, undefined, { timeout: 5000 });
    const layout = await page.evaluate(() => ({
      overflow: document.documentElement.scrollWidth - document.documentElement.clientWidth,
      tableRight: document.querySelector(".standings")!.getBoundingClientRect().right,
      // Each cell on one line: its height is that of one line of text (plus padding), however long the name.
      rows: [...document.querySelectorAll("#leaderboard tr")].map((tr) => [...(tr as HTMLTableRowElement).cells].map((c) => c.getBoundingClientRect().height)),
      lineHeight: parseFloat(getComputedStyle(document.querySelector("#leaderboard td")!).lineHeight),
    }));
    assert.equal(layout.overflow, 0, "no horizontal scrolling");
    assert.ok(layout.tableRight <= 390, `the table ends inside the screen (${layout.tableRight})`);
    for (const cells of layout.rows) for (const h of cells) assert.ok(h < layout.lineHeight * 2, `a cell wrapped: heights ${JSON.stringify(layout.rows)}, line ${layout.lineHeight}`);
  });

  test("sound effects can be muted, and stay muted after a reload", async () => {
    const page = await openPage(rig, "/pong/");
    await connected(page);
    const sound = page.locator("#sound");
    assert.equal(await sound.getAttribute("aria-pressed"), "true");
    await sound.click();
    assert.equal(await sound.getAttribute("aria-pressed"), "false");
    assert.match((await sound.textContent())!, /Sound: off/);
    await page.reload();
    await connected(page);
    assert.equal(await page.locator("#sound").getAttribute("aria-pressed"), "false", "remembered in this browser");
  });
});
