import type { Element } from "annex";
import type { Payload, SeatStart, SnapshotSeat, WireCodec, WireEvent } from "./codec.js";
import type { Game } from "./game.js";
import { BOOK_FIELD, type Field, type Side } from "./physics.js";
import { bookPayload, px } from "./protocol.js";

/** The book's `dimensions` (Practical XMPP ch. 9), `paddley` being the paddles' starting top edge. */
function dimensions(f: Field, side: Side): Element {
  return bookPayload("dimensions", { width: f.width, height: f.height, paddlewidth: f.paddleWidth, paddleheight: f.paddleHeight,
    paddlemargin: f.paddleMargin, paddley: (f.height - f.paddleHeight) / 2, ballradius: f.ballRadius, side });
}

/** The book's table (`xmpp:game:pong`, README.md): one element per value, no sequence numbers. */
export const bookCodec: WireCodec = {
  protocol: "book",
  parseSeq: () => ({}),
  queued: (side) => dimensions(BOOK_FIELD, side),
  // The book's client already got `dimensions` at check-in; the ball starting to move is the start.
  opened: () => undefined,
  rejoined: (start: SeatStart) => dimensions(start.field, start.side),
  snapshot(_roomId: string, game: Game, seat: SnapshotSeat | undefined): Payload[] {
    const ball = bookPayload("ballposition", { x: px(game.ball.x), y: px(game.ball.y) });
    if (seat === undefined) return [ball, bookPayload("paddlepositions", { player1: px(game.paddles[0]), player2: px(game.paddles[1]) })];
    const opponentY = px(game.paddles[seat.side === 0 ? 1 : 0]);
    if (seat.sentOpponentY === opponentY) return [ball];
    seat.sentOpponentY = opponentY;
    return [ball, bookPayload("opponentpaddleupdate", { y: opponentY })];
  },
  event(ev: WireEvent): Element {
    switch (ev.k) {
      case "point":
        return bookPayload("scoreupdate", { player1: ev.score[0], player2: ev.score[1] });
      case "over":
        return bookPayload("gameover", { winner: ev.winner, reason: ev.reason, player1: ev.score[0], player2: ev.score[1] });
      case "pause":
        return bookPayload("paused", { side: ev.side, graceseconds: ev.grace });
      case "resume":
        return bookPayload("resumed");
      case "lost":
        return bookPayload("gameover", { reason: "server-lost", player1: ev.score[0], player2: ev.score[1] });
    }
  },
  queueTimeout: (text) => bookPayload("queuetimeout", { text }),
};
