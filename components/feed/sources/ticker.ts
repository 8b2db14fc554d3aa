import { StanzaError, xml } from "annex";
import type { TickerSource } from "../options.js";
import { NS_JSON } from "../pubsub/errors.js";
import type { FeedSink } from "../publish.js";

/** mulberry32: a small seeded PRNG, so a seeded ticker produces the same walk every run. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface Tick {
  value: number;
  change: number;
}

/**
 * The book's fake stock value (Practical XMPP ch. 6): starts at 500, moves by at most 10 per tick,
 * small steps far more likely than large ones, never below 0.
 */
export class ValueWalk {
  private value: number;

  constructor(
    start: number,
    private readonly random: () => number,
  ) {
    this.value = start;
  }

  next(): Tick {
    // Cubing a uniform number weights the step toward 0: P(step <= 2) is about 0.6.
    const step = Math.round(10 * this.random() ** 3);
    const direction = this.random() < 0.5 ? -1 : 1;
    const previous = this.value;
    this.value = Math.max(0, previous + direction * step);
    return { value: this.value, change: this.value - previous };
  }
}

/** Publishes a ValueWalk tick as XEP-0335 JSON `{value, change, timestamp}` every intervalMs. */
export class Ticker {
  private timer?: NodeJS.Timeout;
  private busy = false;

  private constructor(
    private readonly service: FeedSink,
    private readonly source: TickerSource,
    private readonly walk: ValueWalk,
  ) {}

  static start(service: FeedSink, source: TickerSource): Ticker {
    const random = seededRandom(source.seed ?? Math.floor(Math.random() * 2 ** 32));
    const ticker = new Ticker(service, source, new ValueWalk(source.start, random));
    ticker.timer = setInterval(() => void ticker.tick(), source.intervalMs);
    service.log.info({ node: source.node, intervalMs: source.intervalMs, seed: source.seed }, "ticker started");
    return ticker;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
  }

  private async tick(): Promise<void> {
    // A slow store must not pile up ticks: skip while the previous one is being committed.
    if (this.busy) return;
    this.busy = true;
    const { value, change } = this.walk.next();
    const json = JSON.stringify({ value, change, timestamp: new Date().toISOString() });
    try {
      await this.service.publish(this.source.node, { payload: xml("json", { xmlns: NS_JSON }, json), publisher: this.service.domain });
    } catch (err) {
      if (err instanceof StanzaError && err.condition === "resource-constraint") this.service.log.debug({ node: this.source.node }, "ticker over the node's rate limit; tick skipped");
      else this.service.log.error({ err, node: this.source.node }, "ticker publish failed");
    } finally {
      this.busy = false;
    }
  }
}
