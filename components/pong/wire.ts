/**
 * The constants the server and the browser page share: namespaces, the field, the protocol's names.
 * One module for both (the page bundles it), so they cannot drift apart. No imports: it runs anywhere.
 */

/** The book's namespace (Practical XMPP ch. 9); payload `<pong xmlns=BOOK_NS><action>…</action>…</pong>`. */
export const BOOK_NS = "xmpp:game:pong";
/** The compact protocol (PROTOCOL.md): attributes, one element per stanza. Ours, so versioned. */
export const COMPACT_NS = "urn:annex:pong:1";
/** XEP-0334 §4.3: game traffic is neither archived nor stored offline. */
export const HINTS_NS = "urn:xmpp:hints";
/** XEP-0172 user nickname: the player's name, beside the check-in (§4.3) and in presence (§4.2). */
export const NICK_NS = "http://jabber.org/protocol/nick";

/** The playing field, in the book's pixels (Practical XMPP ch. 9: 800×600, paddles 20×100, margin 10, ball r=3). */
export interface Field {
  width: number;
  height: number;
  paddleWidth: number;
  paddleHeight: number;
  paddleMargin: number;
  ballRadius: number;
}

/** PROTOCOL.md: "field 800×600"; a spectator gets no `<start>`, so a client draws this. */
export const BOOK_FIELD: Field = { width: 800, height: 600, paddleWidth: 20, paddleHeight: 100, paddleMargin: 10, ballRadius: 3 };

/** serve (ball frozen), play, paused (nothing moves), over (decided): the `ph` of a compact snapshot. */
export type Phase = "serve" | "play" | "paused" | "over";
