import { type XmlElement, xml } from "@xmpp/client";

// The XEP-0060 requests the feed page makes, with XEP-0059 result set management (components/feed/README.md).

export const NS_PUBSUB = "http://jabber.org/protocol/pubsub";
export const NS_PUBSUB_EVENT = "http://jabber.org/protocol/pubsub#event";
export const NS_RSM = "http://jabber.org/protocol/rsm";
export const NS_JSON = "urn:xmpp:json:0";
/** Advertised by services that page items with RSM (XEP-0060 §6.5.4); the feed does, Prosody 0.12's pubsub does not. */
export const FEATURE_RSM = "http://jabber.org/protocol/pubsub#rsm";

export interface Item {
  id: string;
  /** Seconds since the epoch: the payload's `timestamp`, else when the page got it. */
  time: number;
  /** The payload's numeric `value` (the book's ticker), NaN for other payloads. */
  value: number;
  /** A short text for the table. */
  text: string;
}

export interface Page {
  items: Item[];
  first: string | undefined;
  firstIndex: number | undefined;
  last: string | undefined;
  count: number | undefined;
}

/** XEP-0060 §6.1.1 subscribe (the JID must be ours); with directed presence first it is temporary (§12.4). */
export const subscribeIq = (service: string, node: string, jid: string) =>
  xml("iq", { type: "set", to: service }, xml("pubsub", { xmlns: NS_PUBSUB }, xml("subscribe", { node, jid })));

/** XEP-0060 §6.2.1 unsubscribe. */
export const unsubscribeIq = (service: string, node: string, jid: string) =>
  xml("iq", { type: "set", to: service }, xml("pubsub", { xmlns: NS_PUBSUB }, xml("unsubscribe", { node, jid })));

/**
 * XEP-0060 §6.5.4 items with an RSM set (XEP-0059 §2): `{ before: "" }` is the latest page (§2.5),
 * `{ before: id }` the page before that item, `{ after: id }` the page after it (§2.2).
 */
export function itemsIq(service: string, node: string, max: number, at: { before: string } | { after: string }): XmlElement {
  const where = "before" in at ? xml("before", {}, at.before || undefined) : xml("after", {}, at.after);
  return xml("iq", { type: "get", to: service }, xml("pubsub", { xmlns: NS_PUBSUB }, xml("items", { node }), xml("set", { xmlns: NS_RSM }, xml("max", {}, String(max)), where)));
}

export function parsePage(iq: XmlElement): Page {
  const pubsub = iq.getChild("pubsub", NS_PUBSUB);
  const set = pubsub?.getChild("set", NS_RSM);
  const first = set?.getChild("first");
  const count = set?.getChildText("count");
  return {
    items: (pubsub?.getChild("items")?.getChildren("item") ?? []).map(parseItem),
    first: first?.getText() || undefined,
    firstIndex: first?.attrs.index === undefined ? undefined : Number(first.attrs.index),
    last: set?.getChildText("last") ?? undefined,
    count: count === null || count === undefined ? undefined : Number(count),
  };
}

/** Items of a notification (XEP-0060 §7.1.2.1) for `node`, or undefined when the message is not one. */
export function parseEvent(msg: XmlElement, node: string): Item[] | undefined {
  const items = msg.getChild("event", NS_PUBSUB_EVENT)?.getChild("items");
  if (!items || items.attrs.node !== node) return undefined;
  return items.getChildren("item").map(parseItem);
}

function parseItem(item: XmlElement): Item {
  const id = item.attrs.id ?? "";
  const payload = item.getChildElements()[0];
  const now = Date.now() / 1000;
  if (payload?.is("json", NS_JSON)) {
    try {
      const data = JSON.parse(payload.getText()) as { value?: unknown; timestamp?: unknown; change?: unknown };
      const t = typeof data.timestamp === "string" ? Date.parse(data.timestamp) / 1000 : NaN;
      const value = typeof data.value === "number" ? data.value : NaN;
      const change = typeof data.change === "number" ? ` (${data.change >= 0 ? "+" : ""}${data.change})` : "";
      return { id, time: Number.isFinite(t) ? t : now, value, text: Number.isFinite(value) ? `${value}${change}` : payload.getText().slice(0, 120) };
    } catch {
      return { id, time: now, value: NaN, text: "(malformed JSON)" };
    }
  }
  return { id, time: now, value: NaN, text: payload ? payload.toString().slice(0, 120) : "(no payload)" };
}

/** XEP-0030 disco#info of a node: its meta-data form (XEP-0060 §5.4) carries the feed's unit field. */
export const nodeInfoIq = (service: string, node: string) =>
  xml("iq", { type: "get", to: service }, xml("query", { xmlns: "http://jabber.org/protocol/disco#info", node }));
export const UNIT_FIELD = "urn:annex:feed:unit";

/** The unit of a node's values from its disco#info answer, when the feed says one. */
export function parseUnit(iq: XmlElement): string | undefined {
  const form = iq.getChild("query", "http://jabber.org/protocol/disco#info")?.getChild("x", "jabber:x:data");
  const field = form?.getChildren("field").find((f) => f.attrs.var === UNIT_FIELD);
  return field?.getChildText("value") ?? undefined;
}

/** Item ids as people read them: the feed's zero-padded sequence numbers without the padding ("#123"). */
export function readableId(id: string): string {
  return /^\d+$/.test(id) ? `#${id.replace(/^0+(?=\d)/, "")}` : id;
}
