import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import type { DispatchHooks } from "../dispatch/dispatcher.js";
import type { Middleware } from "../pipeline/pipeline.js";
import type { Element } from "../stanza/xml.js";

const PREFIX = "annex_";

export type KindCounts = { message: number; presence: number; iq: number };
export interface StanzaCounts {
  in: KindCounts;
  out: KindCounts;
}

/** The process's metrics (Prometheus text format), shared by every component of a runner. */
export class AnnexMetrics {
  readonly registry = new Registry();
  readonly stanzasIn: Counter<"component" | "kind">;
  readonly stanzasOut: Counter<"component" | "kind">;
  readonly handlerDuration: PlainHistogram<"component" | "handler" | "outcome">;
  readonly errorsSent: Counter<"component" | "condition">;
  readonly overloaded: Counter<"component" | "kind">;
  readonly refused: Counter<"component" | "handler">;
  readonly reconnects: Counter<"component">;
  readonly connectionState: Gauge<"component" | "state">;
  readonly queueBytes: Gauge<"component">;
  readonly handlersRunning: Gauge<"component">;
  readonly stanzasWaiting: Gauge<"component">;
  private readonly stanzaCounts = new Map<string, StanzaCounts>();

  constructor(options: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    // Node.js and process metrics under their conventional names (process_cpu_seconds_total, nodejs_heap_size_used_bytes…),
    // unprefixed, as stock dashboards and alerts expect; Annex's own series carry annex_.
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry });
    const stanzaCounts = this.stanzaCounts;
    const exportCounts = (direction: "in" | "out") =>
      function (this: Counter<"component" | "kind">) {
        // Counted as plain integers per stanza (cheap), turned into series when scraped.
        this.reset();
        for (const [component, counts] of stanzaCounts) for (const [kind, n] of Object.entries(counts[direction])) if (n > 0) this.inc({ component, kind }, n);
      };
    this.stanzasIn = new Counter({ name: `${PREFIX}stanzas_in_total`, help: "Stanzas received from the server", labelNames: ["component", "kind"], registers, collect: exportCounts("in") });
    this.stanzasOut = new Counter({ name: `${PREFIX}stanzas_out_total`, help: "Stanzas sent to the server", labelNames: ["component", "kind"], registers, collect: exportCounts("out") });
    this.handlerDuration = new PlainHistogram({
      name: `${PREFIX}handler_duration_seconds`,
      help: "Time spent in each handler",
      labelNames: ["component", "handler", "outcome"],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registry: this.registry,
    });
    this.errorsSent = new Counter({ name: `${PREFIX}stanza_errors_sent_total`, help: "Stanza errors sent, by condition", labelNames: ["component", "condition"], registers });
    this.overloaded = new Counter({ name: `${PREFIX}overloaded_total`, help: "Stanzas refused because too many handlers were running", labelNames: ["component", "kind"], registers });
    this.refused = new Counter({ name: `${PREFIX}guard_refused_total`, help: "Stanzas a guard refused (messages and presence dropped, IQs answered with the guard's error)", labelNames: ["component", "handler"], registers });
    this.reconnects = new Counter({ name: `${PREFIX}reconnects_total`, help: "Connection attempts after the first", labelNames: ["component"], registers });
    this.connectionState = new Gauge({ name: `${PREFIX}connection_state`, help: "1 for the link's current state", labelNames: ["component", "state"], registers });
    this.queueBytes = new Gauge({ name: `${PREFIX}outbound_queue_bytes`, help: "Bytes waiting to be written to the server", labelNames: ["component"], registers });
    this.handlersRunning = new Gauge({ name: `${PREFIX}handlers_in_flight`, help: "Handlers running now (at most maxInFlight)", labelNames: ["component"], registers });
    this.stanzasWaiting = new Gauge({ name: `${PREFIX}dispatch_queued`, help: "Stanzas waiting for a handler slot (at most maxQueued)", labelNames: ["component"], registers });
  }

  /** The stanza counters of one component, incremented on the hot path and exported at scrape time. */
  countStanzas(component: string): StanzaCounts {
    let counts = this.stanzaCounts.get(component);
    if (!counts) {
      counts = { in: { message: 0, presence: 0, iq: 0 }, out: { message: 0, presence: 0, iq: 0 } };
      this.stanzaCounts.set(component, counts);
    }
    return counts;
  }

  /**
   * The pipeline members that count one component's traffic: inbound sees each received stanza first,
   * outbound each sent stanza last (what really leaves), including the stanza errors sent.
   */
  middlewareFor(component: string): { inbound: Middleware; outbound: Middleware } {
    const counts = this.countStanzas(component);
    let batch: Promise<void> | undefined;
    let tally: SentTally | undefined;
    return {
      inbound: ({ stanza }, next) => {
        counts.in[stanza.name as "message"]++;
        return next();
      },
      // Counted once the link took the stanza, so a refused send is not counted as sent. The stanzas the link
      // takes in one tick share its batch's promise (connection/transport.ts): they are tallied together and
      // counted by one reaction to that promise, not one promise and microtask each.
      outbound: ({ stanza }, next) => {
        const sent = next();
        if (sent !== batch || tally === undefined) {
          batch = sent;
          const own = (tally = { message: 0, presence: 0, iq: 0, errors: [] });
          // Once settled, a later stanza with the same promise (a sink that reuses a settled one) starts a new tally.
          const settle = (took: boolean) => {
            if (tally === own) tally = undefined;
            if (took) this.countSent(component, counts, own);
          };
          sent.then(() => settle(true), () => settle(false));
        }
        tally[stanza.name as "message"]++;
        if (stanza.attrs.type === "error") tally.errors.push(errorCondition(stanza));
        return sent;
      },
    };
  }

  private countSent(component: string, counts: StanzaCounts, tally: SentTally): void {
    counts.out.message += tally.message;
    counts.out.presence += tally.presence;
    counts.out.iq += tally.iq;
    for (const condition of tally.errors) this.errorsSent.inc({ component, condition });
  }

  /** What the dispatcher reports for one component. */
  hooksFor(component: string): DispatchHooks {
    // The labelled children of each handler, by outcome: a stanza costs one lookup by the handler's name (the
    // route's own string, its hash kept), not a key built per stanza and label hashing.
    const children = new Map<string, { ok: { observe(seconds: number): void }; error: { observe(seconds: number): void } }>();
    return {
      handled: (handler, _kind, seconds, outcome) => {
        let pair = children.get(handler);
        if (!pair) {
          pair = { ok: this.handlerDuration.labels({ component, handler, outcome: "ok" }), error: this.handlerDuration.labels({ component, handler, outcome: "error" }) };
          children.set(handler, pair);
        }
        pair[outcome].observe(seconds);
      },
      refused: (handler) => this.refused.inc({ component, handler }),
      overloaded: (kind) => this.overloaded.inc({ component, kind }),
    };
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }
}

/**
 * A Prometheus histogram counted in plain numbers on the hot path and turned into series only when scraped, for
 * handler durations (one observation per stanza): prom-client's Histogram hashes the label set on every
 * observe(), even through a child from labels() (≈ 1 µs a stanza, most of the metrics' cost in the pong profile,
 * bench/findings.md). It sits in the prom-client registry like prom-client's own metrics (the registry asks a
 * metric for get(), getForPromString() and reset()) and scrapes to the same text as a prom-client Histogram.
 */
export class PlainHistogram<L extends string> {
  readonly name: string;
  readonly help: string;
  readonly type = "histogram";
  readonly aggregator = "sum";
  private readonly labelNames: readonly L[];
  private readonly buckets: readonly number[];
  private readonly series = new Map<string, HistogramSeries<L>>();

  constructor(options: { name: string; help: string; labelNames: readonly L[]; buckets: readonly number[]; registry: Registry }) {
    this.name = options.name;
    this.help = options.help;
    this.labelNames = options.labelNames;
    this.buckets = [...options.buckets].sort((a, b) => a - b);
    options.registry.registerMetric(this as never);
  }

  /** The series of one label set: keep it, and call its observe() per value (no label hashing there). */
  labels(labels: Record<L, string>): { observe(value: number): void } {
    const key = this.labelNames.map((n) => labels[n]).join("\u0000");
    let series = this.series.get(key);
    if (!series) {
      series = new HistogramSeries({ ...labels }, this.buckets);
      this.series.set(key, series);
    }
    return series;
  }

  /** Series values in the Prometheus text layout prom-client uses (le first, then the series' labels). */
  async getForPromString(): Promise<{ name: string; help: string; type: string; aggregator: string; values: HistogramValue[] }> {
    const values: HistogramValue[] = [];
    const bucket = `${this.name}_bucket`;
    for (const s of this.series.values()) {
      let cumulative = 0;
      for (let i = 0; i < this.buckets.length; i++) {
        cumulative += s.counts[i]!;
        values.push({ labels: { le: this.buckets[i]! }, sharedLabels: s.labels, value: cumulative, metricName: bucket });
      }
      values.push({ labels: { le: "+Inf" }, sharedLabels: s.labels, value: s.count, metricName: bucket });
      values.push({ labels: {}, sharedLabels: s.labels, value: s.sum, metricName: `${this.name}_sum` });
      values.push({ labels: {}, sharedLabels: s.labels, value: s.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  /** The same with each value's labels in one object (the registry's JSON form). */
  async get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: HistogramValue[] }> {
    const data = await this.getForPromString();
    return { ...data, values: data.values.map(({ labels, sharedLabels, ...rest }) => ({ ...rest, labels: { ...labels, ...sharedLabels } })) };
  }

  reset(): void {
    this.series.clear();
  }
}

interface HistogramValue {
  labels: Record<string, string | number>;
  sharedLabels?: Record<string, string>;
  value: number;
  metricName: string;
}

class HistogramSeries<L extends string> {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(
    readonly labels: Record<L, string>,
    private readonly bounds: readonly number[],
  ) {
    this.counts = new Float64Array(bounds.length);
  }

  observe(value: number): void {
    if (!Number.isFinite(value)) return;
    this.sum += value;
    this.count++;
    const { bounds } = this;
    for (let i = 0; i < bounds.length; i++) {
      if (value <= bounds[i]!) {
        this.counts[i]!++;
        return;
      }
    }
  }
}

export type Labels = Record<string, string | number>;

/**
 * Metrics a component adds (injectable as `Metrics`): names get the `annex_` prefix and every series
 * a `component` label, so two components of one type report side by side.
 */
export class Metrics {
  constructor(
    private readonly registry: Registry,
    private readonly component: string,
  ) {}

  /** The Prometheus text of the registry these metrics live in (what /metrics serves). */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  counter(name: string, help: string, labelNames: string[] = []): { inc(labels?: Labels, value?: number): void } {
    const metric = this.metric(name, () => new Counter({ name: PREFIX + name, help, labelNames: ["component", ...labelNames], registers: [this.registry] }));
    return { inc: (labels = {}, value = 1) => metric.inc({ ...labels, component: this.component }, value) };
  }

  gauge(name: string, help: string, labelNames: string[] = []): { set(value: number, labels?: Labels): void; inc(labels?: Labels, value?: number): void; dec(labels?: Labels, value?: number): void } {
    const metric = this.metric(name, () => new Gauge({ name: PREFIX + name, help, labelNames: ["component", ...labelNames], registers: [this.registry] }));
    return {
      set: (value, labels = {}) => metric.set({ ...labels, component: this.component }, value),
      inc: (labels = {}, value = 1) => metric.inc({ ...labels, component: this.component }, value),
      dec: (labels = {}, value = 1) => metric.dec({ ...labels, component: this.component }, value),
    };
  }

  histogram(name: string, help: string, buckets: number[], labelNames: string[] = []): { observe(value: number, labels?: Labels): void } {
    const metric = this.metric(name, () => new Histogram({ name: PREFIX + name, help, buckets, labelNames: ["component", ...labelNames], registers: [this.registry] }));
    return { observe: (value, labels = {}) => metric.observe({ ...labels, component: this.component }, value) };
  }

  private metric<T>(name: string, make: () => T): T {
    return (this.registry.getSingleMetric(PREFIX + name) as T | undefined) ?? make();
  }
}

export { Registry };

/** Stanzas handed to the link with one promise, counted when it settles. */
interface SentTally {
  message: number;
  presence: number;
  iq: number;
  /** The condition of each stanza error among them. */
  errors: string[];
}

/** RFC 6120 §8.3.2: the condition is the error element's child in the stanzas namespace. */
function errorCondition(stanza: Element): string {
  return stanza.getChild("error")?.getChildElements().find((c) => c.getNS() === "urn:ietf:params:xml:ns:xmpp-stanzas")?.name ?? "undefined-condition";
}
