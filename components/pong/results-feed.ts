import { type Element, type Sender, xml } from "annex";
import type { GameResult } from "./room.js";
import { BOOK_NS } from "./protocol.js";

const PUBSUB = "http://jabber.org/protocol/pubsub";

/** The item payload for a finished game: `<result xmlns='xmpp:game:pong' …/>`. */
export function resultPayload(r: GameResult): Element {
  return xml("result", {
    xmlns: BOOK_NS, room: r.room, winner: r.winner, loser: r.loser, score: `${r.winnerScore}-${r.loserScore}`,
    reason: r.reason, duration: String(r.durationMs), finished: r.finishedAt.toISOString(), seed: String(r.seed),
  });
}

/** XEP-0060 §7.1.1: publish one item, id = room + finish time, through the XMPP network (not shared memory). */
export async function publishResult(sender: Sender, feed: { service: string; node: string }, r: GameResult): Promise<Element> {
  const item = xml("item", { id: `${r.room}-${r.finishedAt.getTime()}` }, resultPayload(r));
  return sender.request(xml("iq", { type: "set", to: feed.service }, xml("pubsub", { xmlns: PUBSUB }, xml("publish", { node: feed.node }, item))), { timeoutMs: 10_000 });
}
