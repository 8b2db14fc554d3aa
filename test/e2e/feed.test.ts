import assert from "node:assert/strict";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { xml } from "@xmpp/client";
import type { Page } from "playwright-core";
import { describeEachServer, TestClient } from "../integration/support.js";
import { openPage, type Rig, screenshotDir, startRig, stopRig } from "./browser.js";

// The feed page in a real browser against the feed component through a real Prosody, and through a real ejabberd
// (its WebSocket, ejabberd_http_ws, its anonymous host, and the pages served by mod_http_fileserver).

const FEED = "feed.localhost";
const NODE = "stock-data";
const PUBSUB = "http://jabber.org/protocol/pubsub";
const RSM = "http://jabber.org/protocol/rsm";

interface FeedHandle {
  ids(): string[];
  values(): number[];
  charted(): number;
  xRange(): [number, number];
  yLabel(): string;
  state(): { service: string; node: string; jid: string; gaps: number; noOlder: boolean };
  dropConnection(): void;
}
declare const annexFeed: FeedHandle;

describeEachServer("feed page in chromium", (kind) => {
  let rig: Rig;
  let reader: TestClient;
  let shots: string;
  let readmeShots: string;

  before(async () => {
    rig = await startRig({
      server: kind,
      // The book's ticker, 25 items a second, so history and live updates come quickly.
      components: [{ type: "feed", domain: FEED, options: { storage: "memory", nodes: { [NODE]: { title: "Stock ticker", unit: "USD" } }, sources: [{ type: "ticker", node: NODE, intervalMs: 40, seed: 7 }] } }],
      users: [{ username: "reader", password: "reader-pw" }],
    });
    reader = await TestClient.connect(rig.server, "reader", "reader-pw");
    shots = await screenshotDir();
    // ANNEX_SCREENSHOTS_DIR keeps the README's picture (`make screenshots`).
    readmeShots = process.env.ANNEX_SCREENSHOTS_DIR ?? shots;
    await mkdir(readmeShots, { recursive: true });
    // More than one page of history (the page loads 50 at a time), so paging back has something to load.
    await waitForCount(80);
  });

  after(async () => {
    await reader?.stop();
    const code = await stopRig(rig);
    assert.equal(code, 0, `annex should stop cleanly; output:\n${rig?.annex.output}`);
    // ejabberd 23.01 may send a frame after its WebSocket close frame when the page drops its socket (the test
    // does, on purpose); chromium logs that as a console error (RFC 6455 §5.5.1: nothing after Close). That is
    // the server's, and the page recovers from it (the test above); every other error counts.
    const serverCloseQuirk = /WebSocket connection to 'ws:\/\/[^']+\/xmpp-websocket' failed: Data frame received after close$/;
    const errors = kind === "ejabberd" ? rig.pageErrors.filter((e) => !serverCloseQuirk.test(e)) : rig.pageErrors;
    assert.deepEqual(errors, [], "no errors in the pages");
  });

  /** The feed's own list of items, oldest first, paged backward with RSM from the latest page. */
  async function feedItems(): Promise<{ id: string; value: number }[]> {
    const all: { id: string; value: number }[] = [];
    let before = "";
    for (;;) {
      const res = await reader.xmpp.iqCaller.request(xml("iq", { type: "get", to: FEED },
        xml("pubsub", { xmlns: PUBSUB }, xml("items", { node: NODE }), xml("set", { xmlns: RSM }, xml("max", {}, "100"), xml("before", {}, before || undefined)))));
      const pubsub = res.getChild("pubsub", PUBSUB)!;
      const items = pubsub.getChild("items")!.getChildren("item").map((i) => ({ id: String(i.attrs.id), value: (JSON.parse(i.getChild("json")!.getText()) as { value: number }).value }));
      all.unshift(...items);
      const first = pubsub.getChild("set", RSM)?.getChild("first");
      if (items.length < 100 || first?.attrs.index === "0") return all;
      before = items[0]!.id;
    }
  }

  async function waitForCount(n: number): Promise<void> {
    for (;;) {
      const res = await reader.xmpp.iqCaller.request(xml("iq", { type: "get", to: FEED },
        xml("pubsub", { xmlns: PUBSUB }, xml("items", { node: NODE }), xml("set", { xmlns: RSM }, xml("max", {}, "0")))));
      if (Number(res.getChild("pubsub", PUBSUB)?.getChild("set", RSM)?.getChildText("count")) >= n) return;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** The page's items are one unbroken run of the feed's items: same ids, same order, same values. */
  async function assertNoGap(page: Page): Promise<string[]> {
    const { ids, values } = await page.evaluate(() => ({ ids: annexFeed.ids(), values: annexFeed.values() }));
    const feed = await feedItems();
    const start = feed.findIndex((i) => i.id === ids[0]);
    assert.ok(start >= 0, `the page's first item ${ids[0]} is one the feed published`);
    const run = feed.slice(start, start + ids.length);
    assert.deepEqual(ids, run.map((i) => i.id), "the page holds the feed's items in order with no gap and no duplicate");
    assert.deepEqual(values, run.map((i) => i.value), "and their values");
    return ids;
  }

  test("loads history, charts at least 5 live items within 3 s, pages back, and has no gap after its WebSocket drops", async (t) => {
    const page = await openPage(rig, "/feed/");
    await page.waitForFunction(() => document.getElementById("status")?.textContent?.startsWith("Live:"), undefined, { timeout: 10_000 });
    const state = await page.evaluate(() => annexFeed.state());
    assert.equal(state.service, FEED, "found the feed by disco");
    assert.equal(state.node, NODE);
    assert.match(state.jid, /@anon\.localhost\//, "logged in anonymously");
    assert.equal(await page.locator("#node option").count(), 1, "the node list comes from disco#items");

    // History: the latest page of 50.
    const history = await page.evaluate(() => annexFeed.charted());
    assert.ok(history >= 50, `history charted (${history} points)`);
    // Live: the issue asks for 5 updates within 3 s (the ticker sends 25 a second).
    await page.waitForFunction((n) => annexFeed.charted() >= n + 5, history, { timeout: 3000 });
    await assertNoGap(page);
    await page.screenshot({ path: join(shots, "feed-live.png") });

    // Back in time: one more page before the first item.
    const firstBefore = (await page.evaluate(() => annexFeed.ids()))[0];
    await page.getByRole("button", { name: "Load older items" }).click();
    await page.waitForFunction((first) => annexFeed.ids()[0] !== first, firstBefore, { timeout: 5000 });
    const paged = await assertNoGap(page);
    assert.ok(paged.indexOf(firstBefore!) >= 30, `older items were prepended (the old first item is now at ${paged.indexOf(firstBefore!)})`);

    // A network drop: the page gets a new anonymous session, resubscribes and fetches what it missed.
    const before = await page.evaluate(() => ({ jid: annexFeed.state().jid, count: annexFeed.ids().length }));
    await page.evaluate(() => annexFeed.dropConnection());
    await page.waitForFunction((jid) => annexFeed.state().jid !== jid && document.getElementById("status")?.textContent?.startsWith("Reconnected"), before.jid, { timeout: 10_000 });
    const rejoined = await page.evaluate(() => annexFeed.ids().length);
    await page.waitForFunction((n) => annexFeed.ids().length >= n + 10, rejoined, { timeout: 5000 });
    const ids = await assertNoGap(page);
    t.diagnostic(`page held ${before.count} items before the drop, ${rejoined} right after the catch-up, ${ids.length} at the end; screenshots in ${shots}`);
    assert.equal((await page.evaluate(() => annexFeed.state())).gaps, 0);
    await page.screenshot({ path: join(shots, "feed-after-reconnect.png") });
  });

  test("the chart scrolls a chosen time window with the unit on its axis, pauses and resumes; ids are readable; the status tells live from older", async () => {
    const page = await openPage(rig, "/feed/");
    await page.waitForFunction(() => document.getElementById("status")?.textContent?.startsWith("Live:"), undefined, { timeout: 10_000 });
    await page.waitForFunction(() => annexFeed.yLabel() === "value (USD)", undefined, { timeout: 5000 });
    // uPlot draws the axis label on its canvas; the legend below the chart names the series the same way.
    assert.match((await page.locator("#chart .u-legend").textContent())!, /value \(USD\)/, "the series is labelled with the unit");

    // A one-minute window ends at the newest item and moves with it.
    await page.locator("#window").selectOption("60");
    await page.waitForFunction(() => { const [a, b] = annexFeed.xRange(); return Math.abs(b - a - 60) < 0.001; }, undefined, { timeout: 3000 });
    const [, end] = await page.evaluate(() => annexFeed.xRange());
    await page.waitForFunction((e) => annexFeed.xRange()[1] > e, end, { timeout: 3000 });
    await page.screenshot({ path: join(readmeShots, "feed-window.png") });

    // Paused: the chart stands still while items keep coming; the status says so; Resume shows them.
    await page.getByRole("button", { name: "Pause" }).click();
    const frozen = await page.evaluate(() => annexFeed.charted());
    await page.waitForFunction(() => /^Paused: .*; [1-9]\d* new items? since/.test(document.getElementById("status")!.textContent ?? ""), undefined, { timeout: 3000 });
    assert.equal(await page.evaluate(() => annexFeed.charted()), frozen, "nothing moves while paused");
    await page.getByRole("button", { name: "Resume" }).click();
    await page.waitForFunction((n) => annexFeed.charted() > n, frozen, { timeout: 3000 });
    assert.match((await page.locator("#status").textContent())!, /^Live: /);

    // Ids without the feed's zero padding (the full id is the cell's tooltip).
    const id = (await page.locator("#items tr td:nth-child(3)").first().textContent())!;
    assert.match(id, /^#[1-9]\d*$/);
    assert.match((await page.locator("#items tr td:nth-child(3)").first().getAttribute("title"))!, /^\d+$/);

    // Older items: the window widens to everything loaded, and the status says what is older and what live.
    await page.getByRole("button", { name: "Load older items" }).click();
    await page.waitForFunction(() => /older items? loaded/.test(document.getElementById("status")!.textContent ?? ""), undefined, { timeout: 5000 });
    assert.equal(await page.locator("#window").inputValue(), "all");
    assert.match((await page.locator("#status").textContent())!, /Live: stock-data on feed\.localhost · \d+ older items? loaded/);
  });

  test("fits a narrow window", async () => {
    const page = await openPage(rig, "/feed/", { width: 360, height: 740 });
    await page.waitForFunction(() => document.getElementById("status")?.textContent?.startsWith("Live:"), undefined, { timeout: 10_000 });
    await page.waitForFunction(() => annexFeed.charted() > 0);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.equal(overflow, 0, "no horizontal scrolling at 360 px");
    await page.screenshot({ path: join(shots, "feed-narrow.png"), fullPage: true });
  });
});
