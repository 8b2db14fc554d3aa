import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseXml } from "annex";
import { compactCodec } from "../codec-compact.js";
import type { Game } from "../game.js";
import { COMPACT_NS, compact, px } from "../protocol.js";

describe("compact codec: the snapshot serialised by a template", () => {
  test("gives the bytes the element would (compact()), for players and spectators, over 2 000 random states", () => {
    let seed = 11;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const phases = ["serve", "play", "paused", "over"];
    for (let n = 0; n < 2000; n++) {
      const game = {
        tick: Math.floor(next() * 1e6),
        ball: { x: next() * 820 - 10, y: next() * 620 - 10, vx: next() * 20 - 10, vy: next() * 20 - 10 },
        paddles: [next() * 500, next() * 500],
        score: [Math.floor(next() * 12), Math.floor(next() * 12)],
        phase: phases[n % phases.length],
      } as unknown as Game;
      const room = n % 7 === 0 ? `r<${n}>&"x"` : `r${n}`;
      const seat = n % 2 === 0 ? undefined : { side: 0 as const, lastSeq: n % 5 === 0 ? -1 : Math.floor(next() * 1e5) };
      const [made] = compactCodec.snapshot(room, game, seat);
      const { ball, paddles, score } = game;
      const element = compact("s", {
        r: room, t: game.tick, a: seat?.lastSeq,
        b: `${px(ball.x)},${px(ball.y)},${px(ball.vx)},${px(ball.vy)}`, p: `${px(paddles[0]!)},${px(paddles[1]!)}`,
        sc: `${score[0]},${score[1]}`, ph: game.phase,
      });
      assert.equal(made!.toString(), element.toString(), `state ${n}`);
      assert.equal(parseXml(made!.toString()).attrs.xmlns, COMPACT_NS);
    }
  });
});
