import type { Game } from "./game.js";
import { paddleFace, type Side } from "./physics.js";
import { Rng } from "./rng.js";

/**
 * A computer player: predicts where the ball will meet its paddle face (walls included) and heads there,
 * with a reaction delay and an aiming error that shrink as `skill` goes from 0 to 1. It only sets a target,
 * like a human client, so the server's paddle speed limit applies to it too. Seeded, so bot games replay.
 */
export class Bot {
  private readonly rng: Rng;
  private readonly reactionTicks: number;
  private aimError = 0;
  private lastVx = 0;

  constructor(readonly side: Side, readonly skill: number, seed: number, tickHz: number) {
    this.rng = new Rng(seed);
    // 0.4 s of reaction at skill 0, one tick at skill 1.
    this.reactionTicks = Math.max(1, Math.round((1 - skill) * 0.4 * tickHz));
  }

  /** The target (paddle top) for this tick, or undefined to keep the previous one. */
  decide(game: Game): number | undefined {
    if (game.tick % this.reactionTicks !== 0) return undefined;
    const { field, ball } = game;
    const coming = this.side === 0 ? ball.vx < 0 : ball.vx > 0;
    if (Math.sign(ball.vx) !== Math.sign(this.lastVx)) {
      // A new approach: pick how far off this one will be (up to 1.5 paddle heights at skill 0).
      this.aimError = this.rng.signed() * (1 - this.skill) * field.paddleHeight * 1.5;
      this.lastVx = ball.vx;
    }
    if (!coming || game.phase !== "play") return (field.height - field.paddleHeight) / 2;
    return this.meetY(game) + this.aimError - field.paddleHeight / 2;
  }

  private meetY(game: Game): number {
    const { field, ball } = game;
    const r = field.ballRadius;
    const face = paddleFace(this.side, field);
    const travel = Math.abs((face - ball.x) / ball.vx);
    const span = field.height - 2 * r;
    let y = ball.y - r + ball.vy * travel;
    y = ((y % (2 * span)) + 2 * span) % (2 * span);
    if (y > span) y = 2 * span - y;
    return y + r;
  }
}
