import type { Field } from "./protocol.js";
import type { Frame } from "./view-model.js";

// Draws a frame on the canvas in field coordinates; the canvas's backing store follows its CSS size and
// the device pixel ratio, so the field stays sharp in a narrow window and on high-density screens.

const COLORS = { field: "#0b1a2b", line: "#5b7089", paddle: "#f2f5f8", own: "#ffd34d", ball: "#ffffff", text: "#f2f5f8" };

export class Renderer {
  private readonly ctx: CanvasRenderingContext2D;

  constructor(private readonly canvas: HTMLCanvasElement) {
    this.ctx = canvas.getContext("2d")!;
  }

  /** Field y (top edge of a paddle of `paddleHeight`) under a pointer at clientY, so the paddle centres on it. */
  paddleTopAt(clientY: number, field: Field): number {
    const rect = this.canvas.getBoundingClientRect();
    const y = ((clientY - rect.top) / rect.height) * field.height;
    return y - field.paddleHeight / 2;
  }

  draw(field: Field, frame: Frame | undefined, ownSide: 0 | 1 | undefined, message: string | undefined): void {
    const { canvas, ctx } = this;
    const ratio = window.devicePixelRatio || 1;
    const width = Math.max(1, Math.round(canvas.clientWidth * ratio));
    const height = Math.max(1, Math.round((canvas.clientWidth * field.height / field.width) * ratio));
    if (canvas.width !== width || canvas.height !== height) [canvas.width, canvas.height] = [width, height];
    ctx.setTransform(width / field.width, 0, 0, height / field.height, 0, 0);
    ctx.fillStyle = COLORS.field;
    ctx.fillRect(0, 0, field.width, field.height);
    ctx.strokeStyle = COLORS.line;
    ctx.lineWidth = 4;
    ctx.setLineDash([14, 14]);
    ctx.beginPath();
    ctx.moveTo(field.width / 2, 0);
    ctx.lineTo(field.width / 2, field.height);
    ctx.stroke();
    ctx.setLineDash([]);
    if (frame) {
      for (const side of [0, 1] as const) {
        ctx.fillStyle = side === ownSide ? COLORS.own : COLORS.paddle;
        const x = side === 0 ? field.paddleMargin : field.width - field.paddleMargin - field.paddleWidth;
        ctx.fillRect(x, frame.paddles[side], field.paddleWidth, field.paddleHeight);
      }
      if (frame.phase !== "over") {
        ctx.fillStyle = COLORS.ball;
        ctx.beginPath();
        // The book's ball (radius 3) is hard to see on a phone; draw it at least 6 field px wide.
        ctx.arc(frame.ball.x, frame.ball.y, Math.max(field.ballRadius, 6), 0, Math.PI * 2);
        ctx.fill();
      }
    }
    if (message) {
      // In the upper quarter, not the middle: a serve starts from the centre, and the ball must stay in sight.
      const { top, height: bannerHeight } = bannerRect(field);
      ctx.fillStyle = "rgba(11, 26, 43, 0.8)";
      ctx.fillRect(0, top, field.width, bannerHeight);
      ctx.fillStyle = COLORS.text;
      ctx.font = "bold 44px system-ui, sans-serif";
      ctx.textAlign = "center";
      ctx.textBaseline = "middle";
      ctx.fillText(message, field.width / 2, top + bannerHeight / 2, field.width - 40);
    }
  }
}

/** Where the message banner goes, in field coordinates: clear of the centre, where every serve starts. */
export function bannerRect(field: Field): { top: number; height: number } {
  const height = Math.min(100, field.height / 5);
  return { top: field.height / 4 - height / 2, height };
}
