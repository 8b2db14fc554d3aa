import { createHash } from "node:crypto";
import { advanceBall, type Ball, BOOK_FIELD, DEFAULT_PHYSICS, type Field, missedBy, movePaddle, type Physics, type Side, serve } from "./physics.js";
import { Rng } from "./rng.js";
import type { Phase } from "./wire.js";

/**
 * serve: ball frozen (at the centre before a serve, or where it was after a pause) for a count of ticks;
 * play: ball moving; paused: a player is away, nothing moves; over: decided.
 */
export type { Phase };

export type OverReason = "score" | "forfeit";

export type GameEvent =
  | { kind: "point"; tick: number; scorer: Side; score: [number, number] }
  | { kind: "over"; tick: number; winner: Side; reason: OverReason; score: [number, number] };

/** What changed a game from outside, at which tick: enough, with the settings, to replay it exactly. */
export type LogEntry = [tick: number, side: Side, y: number] | [tick: number, op: "pause" | "resume"] | [tick: number, op: "forfeit", side: Side];

export interface GameSettings {
  seed: number;
  tickHz: number;
  pointsToWin: number;
  field?: Field;
  physics?: Physics;
}

/**
 * One game of Pong, authoritative and deterministic: the state after n ticks depends only on the seed and
 * on which paddle targets were set before which tick. No clock, no I/O; the room drives it.
 */
export class Game {
  readonly field: Field;
  readonly physics: Physics;
  readonly tickHz: number;
  readonly pointsToWin: number;
  tick = 0;
  phase: Phase = "serve";
  ball: Ball;
  /** Top edges of the paddles, and where their players want them. */
  readonly paddles: [number, number];
  readonly targets: [number, number];
  readonly score: [number, number] = [0, 0];
  /** Paddle hits in the current rally. */
  rallyHits = 0;
  winner: Side | undefined;
  overReason: OverReason | undefined;
  private readonly rng: Rng;
  private frozenTicks: number;
  /** What a frozen ball does when the count runs out: be served toward a side, or move on. */
  private afterFreeze: { serveToward: Side } | "resume";
  private phaseBeforePause: Phase = "serve";
  private readonly events: GameEvent[] = [];
  /** Every outside change, in order (targets only when they change); recording stops at MAX_LOG entries. */
  readonly log: LogEntry[] = [];
  static readonly MAX_LOG = 200_000;
  readonly settings: GameSettings;

  constructor(settings: GameSettings) {
    this.settings = settings;
    this.field = settings.field ?? BOOK_FIELD;
    this.physics = settings.physics ?? DEFAULT_PHYSICS;
    this.tickHz = settings.tickHz;
    this.pointsToWin = settings.pointsToWin;
    this.rng = new Rng(settings.seed);
    const middle = (this.field.height - this.field.paddleHeight) / 2;
    this.paddles = [middle, middle];
    this.targets = [middle, middle];
    this.ball = { x: this.field.width / 2, y: this.field.height / 2, vx: 0, vy: 0 };
    this.frozenTicks = this.serveDelayTicks;
    // The first serve goes to a side chosen by the seed.
    this.afterFreeze = { serveToward: this.rng.next() < 0.5 ? 0 : 1 };
  }

  get serveDelayTicks(): number {
    return Math.max(1, Math.round(this.physics.serveDelay * this.tickHz));
  }

  /** Where a player wants its paddle (top edge); the paddle gets there at the speed limit. */
  setTarget(side: Side, y: number): void {
    if (this.targets[side] === y) return;
    this.targets[side] = y;
    this.record([this.tick, side, y]);
  }

  /** Plays a game again from its settings and log; ends at the logged game's last tick when `ticks` is given. */
  static replay(settings: GameSettings, log: readonly LogEntry[], ticks: number): Game {
    const g = new Game(settings);
    let i = 0;
    const applyDue = () => {
      for (; i < log.length && log[i]![0] === g.tick; i++) {
        const [, what, value] = log[i]!;
        if (what === "pause") g.pause();
        else if (what === "resume") g.resume();
        else if (what === "forfeit") g.forfeit(value as Side);
        else g.setTarget(what, value as number);
      }
    };
    while (g.tick < ticks && g.phase !== "over") {
      applyDue();
      if (g.phase === "paused") break; // every entry at this tick is applied, and a paused game does not advance
      g.step();
    }
    applyDue();
    return g;
  }

  /** One fixed step of 1/tickHz seconds. */
  step(): void {
    if (this.phase === "paused" || this.phase === "over") return;
    this.tick++;
    const dt = 1 / this.tickHz;
    const maxStep = this.physics.paddleSpeed * dt;
    this.paddles[0] = movePaddle(this.paddles[0], this.targets[0], maxStep, this.field);
    this.paddles[1] = movePaddle(this.paddles[1], this.targets[1], maxStep, this.field);
    if (this.phase === "serve") {
      if (--this.frozenTicks > 0) return;
      if (this.afterFreeze !== "resume") {
        this.ball = serve(this.afterFreeze.serveToward, this.rng.signed(), this.field, this.physics);
        this.rallyHits = 0;
      }
      this.phase = "play";
      return;
    }
    // In place: the ball is the game's own (serve and point give it a new one; nobody keeps the old one).
    this.rallyHits += advanceBall(this.ball, this.paddles, dt, this.field, this.physics);
    const missed = missedBy(this.ball, this.field);
    if (missed !== undefined) this.point(missed === 0 ? 1 : 0, missed);
  }

  pause(): void {
    if (this.phase === "paused" || this.phase === "over") return;
    this.phaseBeforePause = this.phase;
    this.phase = "paused";
    this.record([this.tick, "pause"]);
  }

  /** Back from a pause: the ball stays frozen for one serve delay, then carries on (or is served). */
  resume(): void {
    if (this.phase !== "paused") return;
    this.record([this.tick, "resume"]);
    this.phase = "serve";
    if (this.phaseBeforePause === "play") this.afterFreeze = "resume";
    this.frozenTicks = this.serveDelayTicks;
  }

  /** Ends the game in the other side's favour (a player left for good). */
  forfeit(loser: Side): void {
    if (this.phase === "over") return;
    this.record([this.tick, "forfeit", loser]);
    this.finish(loser === 0 ? 1 : 0, "forfeit");
  }

  /** Events since the last call (points, game over), oldest first. */
  drainEvents(): GameEvent[] {
    return this.events.splice(0);
  }

  /** A digest of everything that determines the future, for replay checks. */
  hash(): string {
    const state = [this.tick, this.phase, this.ball.x, this.ball.y, this.ball.vx, this.ball.vy, ...this.paddles, ...this.targets, ...this.score,
      this.rallyHits, this.frozenTicks, JSON.stringify(this.afterFreeze), this.rng.seed, this.winner ?? -1];
    // JSON keeps doubles exactly (shortest round-trip form), so equal hashes mean bit-equal states.
    return createHash("sha256").update(JSON.stringify(state)).digest("hex").slice(0, 16);
  }

  /** False once the log hit MAX_LOG (a very long game): it can no longer be replayed. */
  get replayable(): boolean {
    return this.log.length < Game.MAX_LOG;
  }

  private record(entry: LogEntry): void {
    if (this.log.length < Game.MAX_LOG) this.log.push(entry);
  }

  private point(scorer: Side, missed: Side): void {
    this.score[scorer]++;
    this.events.push({ kind: "point", tick: this.tick, scorer, score: [...this.score] });
    if (this.score[scorer] >= this.pointsToWin) return this.finish(scorer, "score");
    // Reset to the centre and serve toward the side that just missed (gameloop.md §c.8).
    this.ball = { x: this.field.width / 2, y: this.field.height / 2, vx: 0, vy: 0 };
    this.phase = "serve";
    this.frozenTicks = this.serveDelayTicks;
    this.afterFreeze = { serveToward: missed };
  }

  private finish(winner: Side, reason: OverReason): void {
    this.phase = "over";
    this.winner = winner;
    this.overReason = reason;
    this.events.push({ kind: "over", tick: this.tick, winner, reason, score: [...this.score] });
  }
}
