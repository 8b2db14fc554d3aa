// Short sound effects made with Web Audio (no files to load): a paddle hit, a point, a win and a loss.
// Muting is remembered in this browser (localStorage). The audio context starts on the first click, as
// browsers only allow sound after a user gesture.

export type Effect = "hit" | "wall" | "point" | "win" | "lose";

const TONES: Record<Effect, [frequency: number, seconds: number][]> = {
  hit: [[660, 0.05]],
  wall: [[440, 0.04]],
  point: [[523, 0.09], [392, 0.12]],
  win: [[523, 0.1], [659, 0.1], [784, 0.2]],
  lose: [[392, 0.12], [311, 0.12], [262, 0.25]],
};
const MUTED_KEY = "annex-pong-muted";

export class Sounds {
  private context: AudioContext | undefined;
  muted: boolean;

  constructor() {
    this.muted = localStorage.getItem(MUTED_KEY) === "1";
    window.addEventListener("pointerdown", () => this.unlock(), { once: true });
    window.addEventListener("keydown", () => this.unlock(), { once: true });
  }

  toggle(): boolean {
    this.muted = !this.muted;
    localStorage.setItem(MUTED_KEY, this.muted ? "1" : "0");
    if (!this.muted) this.unlock();
    return this.muted;
  }

  play(effect: Effect): void {
    const ctx = this.context;
    if (this.muted || !ctx || ctx.state !== "running") return;
    let at = ctx.currentTime;
    for (const [frequency, seconds] of TONES[effect]) {
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.type = "square";
      osc.frequency.value = frequency;
      gain.gain.setValueAtTime(0.06, at);
      gain.gain.exponentialRampToValueAtTime(0.0001, at + seconds);
      osc.connect(gain).connect(ctx.destination);
      osc.start(at);
      osc.stop(at + seconds);
      at += seconds;
    }
  }

  private unlock(): void {
    if (this.muted) return;
    this.context ??= new AudioContext();
    void this.context.resume().catch(() => undefined);
  }
}
