import "./style.css";
import { type Jid, type XmlElement, xml } from "@xmpp/client";
import { Chart } from "./chart.js";
import { FEATURE_RSM, type Item, itemsIq, nodeInfoIq, parseEvent, parsePage, parseUnit, readableId, subscribeIq, unsubscribeIq } from "./pubsub.js";
import { Series } from "./series.js";
import { errorText, Session, settingsFrom } from "../../../web/shared/session.js";

// The feed page (Practical XMPP ch. 6, done so nothing is lost): finds the feed service and its nodes by
// disco, subscribes with directed presence first (a temporary subscription, XEP-0060 §12.4), loads the
// latest page with RSM, charts live items, pages back on demand, and after a reconnect fetches what it
// missed with <after>lastSeenId</after>, so the chart has no gap.
// Query parameters: ?feed=<service>, ?node=<node>, plus ?domain=, ?anon=, ?ws= (session.ts).

const PAGE = 50;

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const ui = {
  status: $("status"), node: $<HTMLSelectElement>("node"), older: $<HTMLButtonElement>("older"), chart: $("chart"), latest: $("latest"), summary: $("summary"), items: $("items"),
  window: $<HTMLSelectElement>("window"), pause: $<HTMLButtonElement>("pause"),
};

const params = new URLSearchParams(location.search);
const settings = settingsFrom(location, params);
const series = new Series();
const chart = new Chart(ui.chart);
/** The chart's time window in seconds ("all": everything loaded); chosen on the page, remembered here. */
const WINDOW_KEY = "annex-feed-window";
ui.window.value = params.get("window") ?? localStorage.getItem(WINDOW_KEY) ?? "300";
if (!ui.window.value) ui.window.value = "300";
/** While paused the chart and table stand still; items still arrive and are counted. */
let paused = false;
let arrivedWhilePaused = 0;
/** Older items loaded by "Load older items" (the status tells them apart from live ones). */
let olderLoaded = 0;

let service = params.get("feed") ?? "";
let node = params.get("node") ?? "";
/** Notifications that arrive while a page or catch-up is being fetched; merged (by id) afterwards. */
let held: Item[] | undefined;
let subscribedAs: { node: string; jid: string } | undefined;
let noOlder = false;
let gaps = 0;
/** One step at a time: connecting, switching node and paging never interleave. */
let queue: Promise<void> = Promise.resolve();
const serially = (step: () => Promise<void>) => (queue = queue.then(step).catch((err: unknown) => status(errorText(err), "error")));

function status(text: string, kind: "ok" | "busy" | "error" = "ok"): void {
  ui.status.textContent = text;
  ui.status.className = `status ${kind}`;
}

const session = new Session(settings, {
  status,
  online: (jid, info) => serially(() => online(jid, info.first)),
  stanza,
});

async function online(jid: Jid, first: boolean): Promise<void> {
  await session.send(xml("presence", {}));
  if (!service) {
    status("Looking for the feed service…", "busy");
    service = await session.findService(FEATURE_RSM, `feed.${settings.domain}`);
  }
  // Directed presence before subscribing makes the subscription temporary (components/feed/README.md):
  // it ends when this page goes away, so visitors leave no stale subscriptions behind.
  await session.send(xml("presence", { to: service }));
  if (first) await listNodes();
  if (!node) return status(`Connected; ${service} has no nodes to show.`, "error");
  const resuming = series.last !== undefined;
  held = [];
  await subscribe(jid.toString());
  if (resuming) await catchUp();
  else await loadLatest();
  if (first) await loadUnit();
  showStatus(resuming ? "Reconnected; caught up." : undefined);
}

/** The one line that says where the page stands: live or paused, and what history it holds. */
function showStatus(note?: string): void {
  const where = `${node} on ${service}`;
  const history = olderLoaded ? ` · ${olderLoaded} older item${olderLoaded === 1 ? "" : "s"} loaded${noOlder ? " (back to the start)" : ""}` : "";
  const gapText = gaps ? ` · ${gaps} gap${gaps > 1 ? "s" : ""}: items expired while away` : "";
  if (paused) status(`Paused: ${where}; ${arrivedWhilePaused} new item${arrivedWhilePaused === 1 ? "" : "s"} since. Resume to show them.${history}`, "busy");
  else status(`${note ? `${note} ` : ""}Live: ${where}${history}${gapText}`, "ok");
}

async function loadUnit(): Promise<void> {
  const unit = await session.request(nodeInfoIq(service, node)).then(parseUnit, () => undefined);
  chart.setUnit(unit);
  redraw();
}

async function listNodes(): Promise<void> {
  const nodes = (await session.discoItems(service)).filter((i) => i.node);
  ui.node.replaceChildren(...nodes.map((n) => new Option(n.name && n.name !== n.node ? `${n.name} (${n.node})` : n.node!, n.node!)));
  if (!node) node = nodes.find((n) => n.node === "stock-data")?.node ?? nodes[0]?.node ?? "";
  if (node && !nodes.some((n) => n.node === node)) ui.node.append(new Option(node, node));
  ui.node.value = node;
  ui.node.disabled = nodes.length === 0;
}

async function subscribe(jid: string): Promise<void> {
  status(`Subscribing to ${node}…`, "busy");
  await session.request(subscribeIq(service, node, jid));
  subscribedAs = { node, jid };
}

/** The latest page: XEP-0059 §2.5 `<before/>`. */
async function loadLatest(): Promise<void> {
  status(`Loading the latest items of ${node}…`, "busy");
  const page = parsePage(await session.request(itemsIq(service, node, PAGE, { before: "" })));
  series.prepend(page.items);
  noOlder = page.items.length < PAGE || page.firstIndex === 0;
  release();
}

/** Everything after the last item we have: XEP-0059 §2.2 `<after>`, page by page until the end. */
async function catchUp(): Promise<void> {
  status(`Fetching what ${node} published while we were away…`, "busy");
  for (;;) {
    const after = series.last!.id;
    let page;
    try {
      page = parsePage(await session.request(itemsIq(service, node, PAGE, { after })));
    } catch (err) {
      // The feed answers item-not-found when that id was trimmed meanwhile: refetch from the latest page.
      if ((err as { condition?: string }).condition !== "item-not-found") throw err;
      gaps++;
      series.clear();
      noOlder = false;
      return loadLatest();
    }
    series.append(page.items);
    if (page.items.length < PAGE) break;
  }
  release();
}

/** Merges the notifications held back during a fetch, then lets new ones through. */
function release(): void {
  if (held) series.append(held);
  held = undefined;
  redraw();
}

async function older(): Promise<void> {
  const first = series.first;
  if (!first) return;
  ui.older.disabled = true;
  status(`Loading items before ${first.id}…`, "busy");
  const page = parsePage(await session.request(itemsIq(service, node, PAGE, { before: first.id })));
  const added = series.prepend(page.items);
  olderLoaded += added;
  noOlder = page.items.length < PAGE || page.firstIndex === 0;
  // Older items lie outside a "last N minutes" window: show everything, so the click shows something.
  const windowed = ui.window.value !== "all";
  if (windowed) ui.window.value = "all";
  showStatus(`Loaded ${added} older item${added === 1 ? "" : "s"}${windowed ? " (showing everything loaded)" : ""}.`);
  redraw();
}

async function switchNode(next: string): Promise<void> {
  if (next === node) return;
  if (subscribedAs) await session.request(unsubscribeIq(service, subscribedAs.node, subscribedAs.jid)).catch(() => undefined);
  subscribedAs = undefined;
  node = next;
  series.clear();
  noOlder = false;
  olderLoaded = 0;
  held = [];
  redraw();
  await subscribe(session.jid);
  await loadLatest();
  await loadUnit();
  showStatus();
}

function stanza(el: XmlElement): void {
  if (el.name !== "message" || el.attrs.from !== service) return;
  const items = parseEvent(el, node);
  if (!items) return;
  if (held) held.push(...items);
  else {
    const added = series.append(items);
    if (added > 0 && paused) {
      arrivedWhilePaused += added;
      showStatus();
    } else if (added > 0) redraw();
  }
}

/** The chart's x range: the window ending at the newest item (the feed's clock, not this browser's). */
function windowRange(): [number, number] | undefined {
  const seconds = Number(ui.window.value);
  const last = series.last;
  if (!Number.isFinite(seconds) || !last) return undefined;
  return [last.time - seconds, last.time];
}

function redraw(): void {
  if (paused) return;
  const columns = series.columns();
  chart.show(columns, windowRange());
  const last = series.last;
  ui.latest.textContent = last ? `${node}: ${last.text}` : "No items yet.";
  ui.summary.textContent = series.items.length ? `${series.items.length} items since ${new Date(series.first!.time * 1000).toLocaleTimeString()}` : "";
  ui.items.replaceChildren(...series.items.slice(-10).reverse().map((i) => {
    const tr = document.createElement("tr");
    for (const v of [new Date(i.time * 1000).toLocaleTimeString(), i.text, readableId(i.id)]) tr.insertCell().textContent = v;
    tr.cells[2]!.title = i.id;
    return tr;
  }));
  ui.older.disabled = noOlder || !series.first;
  ui.older.textContent = noOlder ? "No older items" : "Load older items";
}

ui.older.addEventListener("click", () => serially(older));
ui.window.addEventListener("change", () => {
  localStorage.setItem(WINDOW_KEY, ui.window.value);
  redraw();
});
ui.pause.addEventListener("click", () => {
  paused = !paused;
  if (paused) chart.settle();
  arrivedWhilePaused = 0;
  ui.pause.textContent = paused ? "Resume" : "Pause";
  ui.pause.setAttribute("aria-pressed", String(paused));
  redraw();
  showStatus();
});
ui.node.addEventListener("change", () => serially(() => switchNode(ui.node.value)));

// A console/test handle: the ids and values the page holds (in order), the chart's size, and a way to
// drop the WebSocket as a network failure would.
(window as unknown as { annexFeed: unknown }).annexFeed = {
  ids: () => series.items.map((i) => i.id),
  values: () => series.items.map((i) => i.value),
  charted: () => chart.length,
  xRange: () => chart.xRange,
  yLabel: () => chart.yLabel,
  state: () => ({ service, node, jid: session.jid, gaps, noOlder }),
  dropConnection: () => session.dropConnection(),
};

session.start().catch(() => undefined);
