// Latency histogram with 1 µs buckets (research §4.1), cheap enough to record on the hot path.

export class Histogram {
  constructor(maxUs = 2_000_000) {
    this.counts = new Uint32Array(maxUs + 1);
    this.maxUs = maxUs;
    this.reset();
  }

  reset() {
    this.counts.fill(0);
    this.n = 0;
    this.sum = 0;
    this.max = 0;
    this.overflow = 0;
  }

  /** Records one latency in milliseconds (performance.now() differences). */
  recordMs(ms) {
    let us = Math.round(ms * 1000);
    if (us < 0) us = 0;
    if (us > this.max) this.max = us;
    this.sum += us;
    this.n++;
    if (us > this.maxUs) {
      this.overflow++;
      us = this.maxUs;
    }
    this.counts[us]++;
  }

  /** The smallest latency (µs) at or below which fraction `q` (0..1) of the samples fall. */
  quantileUs(q) {
    if (this.n === 0) return NaN;
    const rank = Math.max(1, Math.ceil(q * this.n));
    let seen = 0;
    for (let us = 0; us <= this.maxUs; us++) {
      seen += this.counts[us];
      if (seen >= rank) return us;
    }
    return this.maxUs;
  }

  summary() {
    return {
      samples: this.n,
      meanUs: this.n ? Math.round(this.sum / this.n) : NaN,
      p50Us: this.quantileUs(0.5),
      p99Us: this.quantileUs(0.99),
      p999Us: this.quantileUs(0.999),
      maxUs: this.max,
    };
  }
}
