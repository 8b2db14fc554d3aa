import { DEFAULT_FIELD, type Field, type Phase, type Snapshot } from "./protocol.js";

// What to draw at a given moment, from the server's snapshots (research/gameloop.md §d):
// - everything the server decides (ball, opponent paddle) is drawn ~100 ms in the past, interpolated
//   between the two snapshots around that moment, so 20 Hz snapshots look like smooth motion;
// - the player's own paddle is predicted: the last server position, moved toward the inputs the server
//   has not applied yet (seq > ack), then toward the current target, at the paddle speed limit.

export interface Frame {
  ball: { x: number; y: number };
  paddles: [number, number];
  score: [number, number];
  phase: Phase;
  /** Seconds until the serve, while the ball is frozen before one. */
  serveIn: number | undefined;
}

interface Received {
  snap: Snapshot;
  /** performance.now() when it arrived. */
  at: number;
}

interface SentInput {
  seq: number;
  y: number;
  at: number;
}

/** The server's paddle speed limit at pace 1 (components/pong/README.md); learnt upward from snapshots. */
const BASE_PADDLE_SPEED = 900;
const BASE_SERVE_SPEED = 400;
const BASE_SERVE_DELAY_S = 1;
const BUFFER = 40;

export class ViewModel {
  field: Field = DEFAULT_FIELD;
  tickHz = 60;
  snapshotHz = 20;
  /** Our side when playing; undefined when watching. */
  side: 0 | 1 | undefined;
  /** Where the player wants its paddle (top edge). */
  target: number | undefined;
  private buffer: Received[] = [];
  private pending: SentInput[] = [];
  private offsets: number[] = [];
  private paddleSpeed = BASE_PADDLE_SPEED;
  private pace = 1;
  private serveStartTick: number | undefined;
  /**
   * The highest score shown so far (a point event's, or a drawn frame's). The drawn frame is ~100 ms old,
   * so its snapshot can still carry the score from before a point event that was already shown: within a
   * game the score only goes forward, never back to the delayed frame's.
   */
  private knownScore: [number, number] = [0, 0];

  reset(field: Field, tickHz: number, snapshotHz: number, side: 0 | 1 | undefined): void {
    Object.assign(this, { field, tickHz, snapshotHz, side });
    this.buffer = [];
    this.pending = [];
    this.offsets = [];
    this.target = undefined;
    this.serveStartTick = undefined;
    this.knownScore = [0, 0];
  }

  /** A point or game-over event's score: shown at once, and never undone by an older frame. */
  scored(score: [number, number]): void {
    this.knownScore = [Math.max(this.knownScore[0], score[0]), Math.max(this.knownScore[1], score[1])];
  }

  /** Render delay: about 100 ms, and never less than two snapshot intervals (one lost snapshot is bridged). */
  get delayMs(): number {
    return Math.max(100, 2000 / this.snapshotHz);
  }

  get latest(): Snapshot | undefined {
    return this.buffer[this.buffer.length - 1]?.snap;
  }

  sent(seq: number, y: number, at: number): void {
    this.pending.push({ seq, y, at });
  }

  push(snap: Snapshot, at: number): void {
    const prev = this.latest;
    if (prev && snap.tick === prev.tick && snap.phase !== prev.phase) {
      // The same tick told again as it stands after a pause began (the server sends the paused state once):
      // it replaces the one before, so the picture freezes where the game froze.
      this.buffer[this.buffer.length - 1] = { snap, at };
      return;
    }
    if (prev && snap.tick <= prev.tick) return; // reordered or duplicate: the newer one is already here
    if (prev) this.learnSpeeds(prev, snap);
    if (snap.phase === "serve" && prev?.phase !== "serve") this.serveStartTick = prev ? prev.tick + 1 : snap.tick;
    this.buffer.push({ snap, at });
    if (this.buffer.length > BUFFER) this.buffer.shift();
    // Arrival time minus server time; the smallest recent value is the least-delayed path (clock offset).
    this.offsets.push(at - (snap.tick * 1000) / this.tickHz);
    if (this.offsets.length > BUFFER) this.offsets.shift();
    if (snap.ack !== undefined) this.pending = this.pending.filter((p) => p.seq > snap.ack!);
  }

  frame(now: number): Frame | undefined {
    const last = this.buffer[this.buffer.length - 1];
    if (!last) return undefined;
    const offset = Math.min(...this.offsets);
    const renderTick = ((now - this.delayMs - offset) * this.tickHz) / 1000;
    const { ball, paddles } = this.interpolate(renderTick);
    const shown = this.buffer.filter((r) => r.snap.tick <= renderTick).pop()?.snap ?? this.buffer[0]!.snap;
    if (this.side !== undefined) paddles[this.side] = this.predictOwn(last, now);
    const serveIn = shown.phase === "serve" && this.serveStartTick !== undefined
      ? Math.max(0, BASE_SERVE_DELAY_S / this.pace - (renderTick - this.serveStartTick) / this.tickHz)
      : undefined;
    this.scored(shown.score);
    return { ball, paddles, score: [...this.knownScore], phase: shown.phase, serveIn };
  }

  private interpolate(renderTick: number): { ball: { x: number; y: number }; paddles: [number, number] } {
    const i = this.buffer.findIndex((r) => r.snap.tick > renderTick);
    if (i === -1) {
      // Nothing newer yet (a late snapshot): carry the ball on along its velocity for at most 100 ms.
      const s = this.buffer[this.buffer.length - 1]!.snap;
      const dt = s.phase === "play" ? Math.min(0.1, Math.max(0, (renderTick - s.tick) / this.tickHz)) : 0;
      const y = clamp(s.ball.y + s.ball.vy * dt, this.field.ballRadius, this.field.height - this.field.ballRadius);
      return { ball: { x: s.ball.x + s.ball.vx * dt, y }, paddles: [...s.paddles] };
    }
    const b = this.buffer[i]!.snap;
    if (i === 0) return { ball: { x: b.ball.x, y: b.ball.y }, paddles: [...b.paddles] };
    const a = this.buffer[i - 1]!.snap;
    // Across a point or a serve the ball jumps: show the earlier state until the later one is due.
    if (a.score[0] !== b.score[0] || a.score[1] !== b.score[1] || a.phase !== b.phase) return { ball: { x: a.ball.x, y: a.ball.y }, paddles: [...a.paddles] };
    const f = (renderTick - a.tick) / (b.tick - a.tick);
    return {
      ball: { x: lerp(a.ball.x, b.ball.x, f), y: lerp(a.ball.y, b.ball.y, f) },
      paddles: [lerp(a.paddles[0], b.paddles[0], f), lerp(a.paddles[1], b.paddles[1], f)],
    };
  }

  /** The server's position at the last snapshot, replayed forward through the inputs it had not applied yet. */
  private predictOwn(last: Received, now: number): number {
    const side = this.side!;
    let y = last.snap.paddles[side];
    let t = last.at;
    const speed = this.paddleSpeed / 1000;
    let heading: number | undefined = this.pending.length > 0 ? undefined : this.target;
    for (const input of this.pending) {
      if (heading !== undefined && input.at > t) y = moveToward(y, heading, speed * (input.at - t), this.field);
      t = Math.max(t, input.at);
      heading = input.y;
    }
    heading = this.target ?? heading;
    if (heading !== undefined) y = moveToward(y, heading, speed * Math.max(0, now - t), this.field);
    return y;
  }

  /** Observed speeds can only be below the true limits, so the estimates only go up (a faster `pace`). */
  private learnSpeeds(a: Snapshot, b: Snapshot): void {
    const dt = (b.tick - a.tick) / this.tickHz;
    if (dt <= 0) return;
    for (const s of [0, 1] as const) this.paddleSpeed = Math.max(this.paddleSpeed, Math.abs(b.paddles[s] - a.paddles[s]) / dt);
    // A serve leaves the centre at serveSpeed × pace (after a pause the ball keeps its old speed instead).
    if (a.phase === "serve" && b.phase === "play" && a.ball.x === this.field.width / 2) this.pace = Math.max(0.1, Math.hypot(b.ball.vx, b.ball.vy) / BASE_SERVE_SPEED);
  }
}

function moveToward(y: number, target: number, maxStep: number, field: Field): number {
  const goal = clamp(target, 0, field.height - field.paddleHeight);
  if (Math.abs(goal - y) <= maxStep) return goal;
  return goal > y ? y + maxStep : y - maxStep;
}

const lerp = (a: number, b: number, f: number) => a + (b - a) * f;
const clamp = (v: number, lo: number, hi: number) => (v < lo ? lo : v > hi ? hi : v);
