import { type Element, serializedXml } from "annex";
import type { Payload, SeatStart, SnapshotSeat, WireCodec, WireEvent } from "./codec.js";
import type { Game } from "./game.js";
import { COMPACT_NS, compact, px } from "./protocol.js";

function start(s: SeatStart): Element {
  const f = s.field;
  return compact("start", { r: s.room, side: s.side, opp: s.opponent, oppnick: s.opponentName, field: `${f.width},${f.height}`,
    paddle: `${f.paddleWidth},${f.paddleHeight},${f.paddleMargin}`, ball: f.ballRadius, hz: s.tickHz,
    snap: s.snapshotHz, to: s.pointsToWin, a: s.ack, token: s.token, at: s.at });
}

/** The compact protocol (`urn:annex:pong:1`, PROTOCOL.md): the whole state in one `<s/>`, inputs with sequence numbers. */
export const compactCodec: WireCodec = {
  protocol: "compact",
  parseSeq(raw) {
    const seq = raw === undefined ? NaN : Number(raw);
    if (!Number.isSafeInteger(seq) || seq < 0) return { error: `seq must be a non-negative integer, got ${JSON.stringify(raw ?? "")}` };
    return { seq };
  },
  queued: (side) => compact("queued", { side }),
  opened: start,
  rejoined: start,
  snapshot(roomId: string, game: Game, seat: SnapshotSeat | undefined): Payload[] {
    // The per-tick hot path (40 000 a second at 1 000 rooms): serialised by a template, no element tree; the
    // attributes in the order compact() gives them. `a` only to a player. codec.test.ts checks these bytes are
    // the ones the element would serialise to.
    const { ball, paddles, score } = game;
    return [
      seat === undefined
        ? serializedXml`<s xmlns="${COMPACT_NS}" r="${roomId}" t="${game.tick}" b="${px(ball.x)},${px(ball.y)},${px(ball.vx)},${px(ball.vy)}" p="${px(paddles[0])},${px(paddles[1])}" sc="${score[0]},${score[1]}" ph="${game.phase}"/>`
        : serializedXml`<s xmlns="${COMPACT_NS}" r="${roomId}" t="${game.tick}" a="${seat.lastSeq}" b="${px(ball.x)},${px(ball.y)},${px(ball.vx)},${px(ball.vy)}" p="${px(paddles[0])},${px(paddles[1])}" sc="${score[0]},${score[1]}" ph="${game.phase}"/>`,
    ];
  },
  event(ev: WireEvent): Element {
    switch (ev.k) {
      case "point":
        return compact("ev", { k: "point", who: ev.who, sc: ev.score.join(","), t: ev.tick });
      case "over":
        return compact("ev", { k: "over", winner: ev.winner, reason: ev.reason, sc: ev.score.join(","), t: ev.tick });
      case "pause":
        return ev.byRequest
          ? compact("ev", { k: "pause", side: ev.side, by: "request", grace: ev.grace, t: ev.tick })
          : compact("ev", { k: "pause", side: ev.side, grace: ev.grace, t: ev.tick });
      case "resume":
        return compact("ev", { k: "resume", t: ev.tick });
      case "lost":
        return compact("ev", { k: "over", reason: "server-lost", sc: ev.score.join(",") });
    }
  },
  queueTimeout: () => compact("ev", { k: "timeout" }),
};
