/**
 * Pong physics: pure functions over plain data, no clock, no I/O.
 *
 * Determinism: positions and velocities are IEEE-754 doubles, but the step uses only +, −, ×, ÷ and
 * Math.sqrt, which the standard requires to be correctly rounded, and no trigonometry (whose results
 * may differ between engines). The same seed and inputs therefore give bit-identical states.
 */

import { BOOK_FIELD, type Field } from "./wire.js";

export { BOOK_FIELD, type Field };

/** Speeds in px/s; the values follow gameloop.md §c (suggestions 5–8). */
export interface Physics {
  serveSpeed: number;
  /** Speed factor per paddle hit. */
  speedUp: number;
  maxSpeed: number;
  paddleSpeed: number;
  /** sin of the largest return angle from the horizontal (60°): |vx| stays ≥ speed/2, so rallies progress. */
  sinMaxBounce: number;
  /** sin of the largest serve angle (30°): a serve never goes steep, let alone vertical (the book's bug). */
  sinMaxServe: number;
  /** Ball frozen at the centre before each serve, seconds. */
  serveDelay: number;
}

export const DEFAULT_PHYSICS: Physics = {
  serveSpeed: 400,
  speedUp: 1.05,
  maxSpeed: 1100,
  paddleSpeed: 900,
  sinMaxBounce: 0.8660254037844386, // sin 60°
  sinMaxServe: 0.5, // sin 30°
  serveDelay: 1,
};

/** The same game played `pace` times faster: speeds × pace, serve delay ÷ pace (for demos and fast tests). */
export function pacedPhysics(pace: number, base: Physics = DEFAULT_PHYSICS): Physics {
  return { ...base, serveSpeed: base.serveSpeed * pace, maxSpeed: base.maxSpeed * pace, paddleSpeed: base.paddleSpeed * pace, serveDelay: base.serveDelay / pace };
}

export interface Ball {
  x: number;
  y: number;
  vx: number;
  vy: number;
}

/** 0 = left, 1 = right (the book's `side`). */
export type Side = 0 | 1;

/** Moves a paddle's top edge toward its target by at most `maxStep` (no teleporting), inside the field. */
export function movePaddle(y: number, target: number, maxStep: number, field: Field): number {
  const goal = clamp(target, 0, field.height - field.paddleHeight);
  if (Math.abs(goal - y) <= maxStep) return goal;
  return goal > y ? y + maxStep : y - maxStep;
}

/** The x of a paddle's face, the plane the ball's edge must cross to be hit. */
export function paddleFace(side: Side, field: Field): number {
  return side === 0 ? field.paddleMargin + field.paddleWidth : field.width - field.paddleMargin - field.paddleWidth;
}

export interface BallStepResult {
  ball: Ball;
  /** Which paddles hit the ball during the step, in order. */
  hits: Side[];
}

/**
 * Advances the ball by `dt` seconds with swept collision: the path is cut at the earliest wall or paddle-face
 * crossing, resolved, and continued with the time left, so no speed can carry the ball through a paddle.
 * A paddle only collides while the ball moves toward it (gameloop.md §c.4), which rules out double hits and
 * catching a ball already behind the face.
 */
export function stepBall(start: Ball, paddles: readonly [number, number], dt: number, field: Field, physics: Physics): BallStepResult {
  const ball = { x: start.x, y: start.y, vx: start.vx, vy: start.vy };
  const hits: Side[] = [];
  advanceBall(ball, paddles, dt, field, physics, hits);
  return { ball, hits };
}

/**
 * stepBall on the ball itself, as the tick loop needs it: moves `ball` in place and returns how many times a
 * paddle hit it (each hit's side also pushed to `hits` when given). It runs for every room every tick (60 000
 * times a second at 1 000 rooms), so it allocates nothing but a bounce's result.
 */
export function advanceBall(ball: Ball, paddles: readonly [number, number], dt: number, field: Field, physics: Physics, hits?: Side[]): number {
  const r = field.ballRadius;
  let hitCount = 0;
  let passedLeft = false;
  let passedRight = false;
  let remaining = dt;
  for (let i = 0; i < 16 && remaining > 0; i++) {
    const dx = ball.vx * remaining;
    const dy = ball.vy * remaining;
    let t = Infinity;
    let event: "wall" | Side | undefined;
    if (dy < 0 && ball.y + dy < r) {
      t = (r - ball.y) / dy;
      event = "wall";
    } else if (dy > 0 && ball.y + dy > field.height - r) {
      t = (field.height - r - ball.y) / dy;
      event = "wall";
    }
    for (let side: Side = 0; side < 2; side = (side + 1) as Side) {
      if (side === 0 ? passedLeft : passedRight) continue;
      const face = paddleFace(side, field);
      const edge = side === 0 ? ball.x - r : ball.x + r;
      const towards = side === 0 ? dx < 0 : dx > 0;
      const crosses = side === 0 ? edge >= face && edge + dx < face : edge <= face && edge + dx > face;
      if (!towards || !crosses) continue;
      const tp = (face - edge) / dx;
      if (tp < t) {
        t = tp;
        event = side;
      }
    }
    if (event === undefined) {
      ball.x += dx;
      ball.y += dy;
      break;
    }
    ball.x += dx * t;
    ball.y += dy * t;
    remaining -= remaining * t;
    if (event === "wall") {
      ball.y = ball.vy < 0 ? r : field.height - r;
      ball.vy = -ball.vy;
      continue;
    }
    const top = paddles[event];
    if (ball.y < top - r || ball.y > top + field.paddleHeight + r) {
      // missed: the ball goes on behind the face
      if (event === 0) passedLeft = true;
      else passedRight = true;
      continue;
    }
    Object.assign(ball, bounce(ball, event, top, field, physics));
    hitCount++;
    hits?.push(event);
  }
  return hitCount;
}

/** Return angle from where the ball met the paddle (gameloop.md §c.5), faster by `speedUp` up to the cap. */
export function bounce(ball: Ball, side: Side, paddleTop: number, field: Field, physics: Physics): Ball {
  const half = field.paddleHeight / 2;
  const offset = clamp((ball.y - (paddleTop + half)) / (half + field.ballRadius), -1, 1);
  const speed = Math.min(Math.sqrt(ball.vx * ball.vx + ball.vy * ball.vy) * physics.speedUp, physics.maxSpeed);
  const vy = speed * offset * physics.sinMaxBounce;
  const vx = Math.sqrt(speed * speed - vy * vy) * (side === 0 ? 1 : -1);
  const x = side === 0 ? paddleFace(0, field) + field.ballRadius : paddleFace(1, field) - field.ballRadius;
  return { x, y: ball.y, vx, vy };
}

/** A serve from the centre toward `toward` (the side that just missed), angle uniform within ±asin(sinMaxServe). */
export function serve(toward: Side, random: number, field: Field, physics: Physics): Ball {
  const speed = physics.serveSpeed;
  const vy = speed * random * physics.sinMaxServe;
  const vx = Math.sqrt(speed * speed - vy * vy) * (toward === 0 ? -1 : 1);
  return { x: field.width / 2, y: field.height / 2, vx, vy };
}

/** The side that missed, once the ball is fully past a goal line (gameloop.md §c.9). */
export function missedBy(ball: Ball, field: Field): Side | undefined {
  if (ball.x + field.ballRadius < 0) return 0;
  if (ball.x - field.ballRadius > field.width) return 1;
  return undefined;
}

export function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}
