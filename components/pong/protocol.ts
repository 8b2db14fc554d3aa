import { type Element, type SerializedXml, serializedXml, xml } from "annex";

import { BOOK_NS, COMPACT_NS, HINTS_NS } from "./wire.js";

export { BOOK_NS, COMPACT_NS, HINTS_NS };

export type Protocol = "book" | "compact";

/**
 * Every game stanza we send is a bodiless `headline` with `no-store`: RFC 6121 §5.2.2 lets a server drop a
 * headline to an offline resource instead of storing it, and XEP-0334 asks it not to archive (gameloop.md §0.4).
 */
export function gameMessage(from: string, to: string, payload: Element | SerializedXml): Element {
  return xml("message", { from, to, type: "headline" }, payload, NO_STORE);
}

/** XEP-0334 §4.3, the same in every game stanza: serialised once, shared by all. */
const NO_STORE = serializedXml`<no-store xmlns="${HINTS_NS}"/>`;

/** `<pong xmlns='xmpp:game:pong'><action>name</action><key>value</key>…</pong>`, action names lower-case. */
export function bookPayload(action: string, fields: Record<string, string | number> = {}): Element {
  return xml("pong", { xmlns: BOOK_NS }, xml("action", {}, action), ...Object.entries(fields).map(([k, v]) => xml(k, {}, String(v))));
}

/** The action of a book payload, matched case-insensitively (the message table). */
export function bookAction(pong: Element): string {
  return (pong.getChildText("action") ?? "").trim().toLowerCase();
}

/** The book's `paddleposition` carries `<y>`; the printed component read `<position><y>`, so both are accepted. */
export function bookPaddleY(pong: Element): string | undefined {
  return pong.getChildText("y") ?? pong.getChild("position")?.getChildText("y") ?? undefined;
}

export function compact(name: string, attrs: Record<string, string | number | undefined>): Element {
  return xml(name, { xmlns: COMPACT_NS, ...Object.fromEntries(Object.entries(attrs).filter(([, v]) => v !== undefined).map(([k, v]) => [k, String(v)])) });
}

/** Integers on the wire: clients interpolate, and whole pixels keep snapshots short. */
export const px = (v: number) => Math.round(v);

/** Between pong processes of one service (PROTOCOL.md §Shards): relays, room hand-offs. Not for clients. */
export const SHARD_NS = "urn:annex:pong:shard:1";

/**
 * A game payload for `player`, sent by a shard to the front door that relays it (the player's client knows only the
 * front door's address, and a component may only send from its own domain: XEP-0114 §3, RFC 6120 §8.1.2.1).
 */
export function relayMessage(from: string, via: string, player: string, payload: Element | SerializedXml): Element {
  return xml("message", { from, to: via, type: "headline" }, xml("relay", { xmlns: SHARD_NS, to: player }, payload), NO_STORE);
}
