import { type Element, xml } from "annex";
import type { SeatStart, SnapshotSeat, WireCodec, WireEvent } from "./codec.js";
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
  snapshot(roomId: string, game: Game, seat: SnapshotSeat | undefined): Element[] {
    const { x, y, vx, vy } = game.ball;
    // The per-tick hot path: the attributes written out in their wire order (what compact() would give, without
    // its entries/filter/fromEntries per stanza); `a` only to a player.
    const attrs: Record<string, string> = { xmlns: COMPACT_NS, r: roomId, t: String(game.tick) };
    if (seat !== undefined) attrs.a = String(seat.lastSeq);
    attrs.b = `${px(x)},${px(y)},${px(vx)},${px(vy)}`;
    attrs.p = `${px(game.paddles[0])},${px(game.paddles[1])}`;
    attrs.sc = `${game.score[0]},${game.score[1]}`;
    attrs.ph = game.phase;
    return [xml("s", attrs)];
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
