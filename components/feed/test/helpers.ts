import assert from "node:assert/strict";
import { type Element, xml } from "annex";
import { createHarness, type Harness } from "annex/testing";
import { Feed } from "../feed.js";
import { FeedService } from "../service.js";

export const DOMAIN = "feed.localhost";
export const PUBSUB = "http://jabber.org/protocol/pubsub";
export const OWNER = "http://jabber.org/protocol/pubsub#owner";
export const EVENT = "http://jabber.org/protocol/pubsub#event";
export const ERRORS = "http://jabber.org/protocol/pubsub#errors";
export const STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas";
export const RSM = "http://jabber.org/protocol/rsm";
export const ALICE = "alice@localhost/web";
export const PUBLISHER = "ticker@localhost/bot";
export const OWNER_JID = "admin@localhost";

export const baseNodes = {
  stocks: { title: "Stocks", publishers: ["ticker@localhost"], owners: [OWNER_JID], payloadNamespace: "urn:xmpp:json:0" },
  news: { publishers: ["ticker@localhost"], owners: [OWNER_JID] },
};

/** A started harness with the memory store. */
export async function feedHarness(options: Record<string, unknown> = {}): Promise<Harness> {
  const h = createHarness(Feed, { domain: DOMAIN, from: ALICE, options: { storage: "memory", nodes: baseNodes, ...options } });
  await h.start();
  return h;
}

let n = 0;
/** An IQ to the feed: `<iq type from id><pubsub xmlns>inner</pubsub></iq>`. */
export function pubsubIq(type: "get" | "set", inner: string, from = ALICE, ns = PUBSUB): string {
  return `<iq type='${type}' id='q${++n}' from='${from}' to='${DOMAIN}'><pubsub xmlns='${ns}'>${inner}</pubsub></iq>`;
}

export const json = (value: unknown) => `<json xmlns='urn:xmpp:json:0'>${JSON.stringify(value)}</json>`;

export async function publish(h: Harness, node: string, payload: string, id?: string): Promise<string> {
  const reply = (await h.inject(pubsubIq("set", `<publish node='${node}'><item${id ? ` id='${id}'` : ""}>${payload}</item></publish>`, PUBLISHER))).find((s) => s.name === "iq");
  assert.equal(reply?.attrs.type, "result", reply?.toString());
  return reply!.getChild("pubsub")!.getChild("publish")!.getChild("item")!.attrs.id as string;
}

/** The single reply to one request. */
export async function ask(h: Harness, stanza: string): Promise<Element> {
  const out = await h.inject(stanza);
  const replies = out.filter((s) => s.name === "iq");
  assert.equal(replies.length, 1, out.map(String).join("\n"));
  return replies[0]!;
}

/** Asserts an IQ error: type, condition and (optionally) the pubsub#errors child. */
export function assertError(reply: Element, type: string, condition: string, app?: string, appAttrs?: Record<string, string>): void {
  assert.equal(reply.attrs.type, "error", reply.toString());
  const error = reply.getChild("error")!;
  assert.equal(error.attrs.type, type, reply.toString());
  assert.ok(error.getChild(condition, STANZAS), `expected ${condition}: ${reply}`);
  if (app) {
    const el = error.getChild(app, ERRORS);
    assert.ok(el, `expected pubsub#errors ${app}: ${reply}`);
    for (const [k, v] of Object.entries(appAttrs ?? {})) assert.equal(el.attrs[k], v);
  } else {
    assert.equal(error.getChildElements().filter((c) => c.getNS() === ERRORS).length, 0, reply.toString());
  }
  assert.ok(error.getChildText("text", STANZAS), `errors carry a text: ${reply}`);
}

/** Lets queued notifications go out. */
export async function settle(h: Harness): Promise<void> {
  await new Promise((r) => setImmediate(r));
  await h.host.instance(FeedService).notifier.settled();
}

export const notificationsTo = (h: Harness, to: string) =>
  h.sent.filter((s) => s.name === "message" && s.attrs.to === to && s.getChild("event", EVENT));

export { xml };
