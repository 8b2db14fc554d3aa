import type { Renderer } from "./renderer.js";
import type { ViewModel } from "./view-model.js";

// Mouse, touch and keyboard all set one thing: where the player wants its paddle (`view.target`).
// The server moves the paddle there at its speed limit, and the page predicts that movement.

/** Keyboard: field px per second while a key is held, and the jump of Page Up / Page Down. */
const KEY_SPEED = 700;
const UP = new Set(["ArrowUp", "w", "W"]);
const DOWN = new Set(["ArrowDown", "s", "S"]);

export class Controls {
  private held = 0;
  private lastUpdate: number | undefined;

  constructor(private readonly canvas: HTMLCanvasElement, private readonly renderer: Renderer, private readonly view: ViewModel, private readonly playing: () => boolean) {
    canvas.addEventListener("pointermove", (e) => this.point(e.clientY));
    canvas.addEventListener("pointerdown", (e) => {
      canvas.focus({ preventScroll: true });
      this.point(e.clientY);
    });
    window.addEventListener("keydown", (e) => this.key(e, true));
    window.addEventListener("keyup", (e) => this.key(e, false));
    window.addEventListener("blur", () => (this.held = 0));
  }

  /** Moves the target while an arrow key is held; called every animation frame. */
  update(now: number): void {
    const dt = this.lastUpdate === undefined ? 0 : Math.min(0.1, (now - this.lastUpdate) / 1000);
    this.lastUpdate = now;
    if (this.held !== 0 && this.playing()) this.nudge(this.held * KEY_SPEED * dt);
  }

  private point(clientY: number): void {
    if (!this.playing()) return;
    this.view.target = this.clamp(this.renderer.paddleTopAt(clientY, this.view.field));
  }

  private key(e: KeyboardEvent, down: boolean): void {
    if (!this.playing()) return;
    // Arrow keys keep their meaning in form fields.
    const t = e.target as HTMLElement | null;
    if (t && (t.tagName === "INPUT" || t.tagName === "SELECT" || t.tagName === "TEXTAREA")) return;
    const dir = UP.has(e.key) ? -1 : DOWN.has(e.key) ? 1 : 0;
    if (dir !== 0) {
      e.preventDefault();
      this.held = down ? dir : this.held === dir ? 0 : this.held;
    } else if (down && (e.key === "PageUp" || e.key === "PageDown")) {
      e.preventDefault();
      this.nudge((e.key === "PageUp" ? -1 : 1) * this.view.field.paddleHeight * 1.5);
    }
  }

  private nudge(dy: number): void {
    const from = this.view.target ?? this.view.latest?.paddles[this.view.side ?? 0] ?? (this.view.field.height - this.view.field.paddleHeight) / 2;
    this.view.target = this.clamp(from + dy);
  }

  private clamp(y: number): number {
    return Math.min(Math.max(y, 0), this.view.field.height - this.view.field.paddleHeight);
  }
}
