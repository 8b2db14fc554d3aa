import { EventEmitter } from "node:events";
import type { Server } from "node:http";
import type { Logger } from "pino";
import { ConfigError, ConfigProblems } from "../config/errors.js";
import { type LoadedConfig, resolveSecret, resolveStandby, resolveTls } from "../config/load.js";
import { type FatalLinkError, LinkSupervisor } from "../connection/supervisor.js";
import type { AnnexError } from "../errors.js";
import type { DomainLease, LeaseFactory, LeaseRequest } from "../lease/lease.js";
import { postgresLease } from "../lease/postgres.js";
import { unlistedRouteClasses } from "../handlers/registry.js";
import { type HealthReport, startOpsServer } from "../ops/http.js";
import { AnnexMetrics, Metrics } from "../ops/metrics.js";
import { BUILTIN_PLUGINS } from "../plugins/index.js";
import { bindLink } from "./bind.js";
import { type Catalogue, resolveComponentClass } from "./catalogue.js";
import { ComponentHost } from "./host.js";
import { HostedComponents } from "./hosted.js";

/** One config entry's running parts: replaced by fresh ones each time a standby entry takes over its domain. */
export interface RunningComponent {
  host: ComponentHost;
  link: LinkSupervisor;
}

export interface RunnerOptions {
  catalogue: Catalogue;
  log: Logger;
  /** Makes the lease of each entry with `standby`; default a PostgreSQL advisory lock (postgresLease). */
  lease?: LeaseFactory;
}

export interface RunnerEvents {
  /** A component's server refused it for good (its link is down for good). */
  fatal: [error: FatalLinkError, domain: string];
  /** A standby entry got its domain's lease and is starting. */
  active: [domain: string];
  /** A serving entry lost its lease: it was stopped at once and waits as a standby again. */
  "lease-lost": [error: AnnexError, domain: string];
}

/** A config entry: how to build its parts, and (with `standby`) the lease that decides when it serves. */
class Slot {
  current: RunningComponent;
  /** Waiting for the lease (only entries with `standby`). */
  waiting = false;
  activations = 0;

  constructor(
    readonly domain: string,
    private readonly build: () => RunningComponent,
    readonly lease: DomainLease | undefined,
  ) {
    this.current = build();
    this.waiting = lease !== undefined;
  }

  /** Fresh parts for the next activation: a stopped host or link does not start again. */
  rebuild(): RunningComponent {
    this.current = this.build();
    return this.current;
  }
}

/**
 * Runs every component of a config: one host and one supervised link each, plus /metrics and /healthz. An entry
 * with `standby` waits for its domain's lease before anything of it starts, and goes back to waiting if it loses it.
 */
export class Runner extends EventEmitter<RunnerEvents> {
  private opsServer: Server | undefined;
  private readonly stopping = new AbortController();

  private constructor(
    private readonly slots: Slot[],
    readonly metrics: AnnexMetrics,
    private readonly config: LoadedConfig,
    private readonly log: Logger,
  ) {
    super();
  }

  /** The current parts of every entry (a waiting standby's are built but not started). */
  get components(): RunningComponent[] {
    return this.slots.map((slot) => slot.current);
  }

  /** Resolves types, secrets and options for every entry; throws ConfigError listing what is wrong. */
  static async create(config: LoadedConfig, options: RunnerOptions): Promise<Runner> {
    const metrics = new AnnexMetrics();
    const hosted = new HostedComponents();
    const slots: Slot[] = [];
    // Every file, module, secret and options problem of every entry is gathered and thrown as one ConfigError.
    const problems = new ConfigProblems();
    const tls = await problems.check(() => resolveTls(config));
    const makeLease = options.lease ?? ((request: LeaseRequest) => postgresLease({ ...request, log: options.log.child({ component: request.domain }) }));
    for (const [index, entry] of config.components.entries()) {
      const component = await problems.check(() => resolveComponentClass(entry.type, options.catalogue, config.baseDir, index));
      const secret = await problems.check(() => resolveSecret(entry, index, config.baseDir));
      const standby = await problems.check(() => resolveStandby(entry, index));
      if (component === undefined) continue;
      const domain = entry.domain;
      const { server } = config;
      const log = options.log.child({ component: domain }, entry.log.level ? { level: entry.log.level } : {});
      const makeHost = () =>
        new ComponentHost({
          component,
          domain,
          type: typeof entry.type === "string" ? entry.type : entry.type.module,
          options: entry.options,
          optionsPath: `components[${index}].options`,
          builtins: entry.builtins,
          plugins: entry.plugins,
          maxInFlight: entry.maxInFlight,
          maxQueued: entry.maxQueued,
          logLevel: entry.log.level,
          log: options.log,
          hosted,
          hooks: metrics.hooksFor(domain),
          metrics: new Metrics(metrics.registry, domain),
        });
      if (secret === undefined) {
        // No link without a secret, but the entry's options are still checked, to be listed with the rest.
        await problems.check(makeHost);
        continue;
      }
      const build = (): RunningComponent => {
        const host = makeHost();
        const link = new LinkSupervisor({
          host: server.host,
          port: server.port,
          domain,
          secret,
          log,
          backoff: { initialMs: server.reconnect.initialMs, maxMs: server.reconnect.maxMs },
          stableMs: server.reconnect.stableMs,
          conflictRetryMs: server.reconnect.conflictRetryMs,
          keepalive: server.keepalive,
          timeoutMs: server.timeoutMs,
          maxStanzaBytes: server.maxStanzaBytes,
          maxQueueBytes: server.maxQueueBytes,
          tls,
        });
        // Counting is a pipeline member: plain integers per stanza, exported when /metrics is scraped.
        const counters = metrics.middlewareFor(domain);
        bindLink(host, link, { inbound: [counters.inbound], outbound: [counters.outbound] });
        link.on("state", (state: string) => {
          runner.updateStateMetric();
          if (state === "connecting" && link.reconnects > 0) metrics.reconnects.inc({ component: domain });
        });
        return { host, link };
      };
      // The first parts are built here, so a bad `options` object is one more problem of the list.
      const slot = await problems.check(() => new Slot(domain, build, standby ? makeLease(standby) : undefined));
      if (slot) slots.push(slot);
    }
    problems.throwIfAny();
    const runner = new Runner(slots, metrics, config, options.log);
    return runner;
  }

  /** The state an entry reports: its link's, or "standby" while it waits for its lease. */
  private stateOf(slot: Slot): string {
    return slot.waiting ? "standby" : slot.current.link.state;
  }

  private updateStateMetric(): void {
    this.metrics.connectionState.reset();
    for (const slot of this.slots) this.metrics.connectionState.set({ component: slot.domain, state: this.stateOf(slot) }, 1);
  }

  /** Every component's state; ok when each is online, or a standby waiting for its lease (its role in the pair). */
  health(): HealthReport {
    const report: HealthReport = { ok: true, components: {} };
    for (const slot of this.slots) {
      const { link } = slot.current;
      const state = this.stateOf(slot);
      // The last error only matters while not online; after a recovery it would mislead.
      const lastError = state === "online" || state === "standby" ? undefined : link.lastError;
      report.components[slot.domain] = { state, ...(lastError ? { lastError } : {}) };
      if (state !== "online" && state !== "standby") report.ok = false;
    }
    return report;
  }

  /** The Prometheus text for /metrics. */
  async metricsText(): Promise<string> {
    for (const { host, link } of this.components) {
      const component = host.domain;
      this.metrics.queueBytes.set({ component }, link.stats().queuedBytes);
      this.metrics.handlersRunning.set({ component }, host.dispatcher.inFlightCount);
      this.metrics.stanzasWaiting.set({ component }, host.dispatcher.queuedCount);
    }
    return this.metrics.text();
  }

  /**
   * Starts the HTTP endpoints (if configured), then every component; resolves once every entry without
   * `standby` is online (standby entries wait for their lease in the background), rejects with FatalLinkError
   * if one can never connect.
   */
  async start(): Promise<void> {
    const { port, host } = this.config.metrics;
    if (port > 0) {
      try {
        this.opsServer = await startOpsServer(host, port, { metrics: () => this.metricsText(), health: () => this.health() });
      } catch (err) {
        throw metricsListenProblem(err, host, port);
      }
      this.log.info({ url: `http://${host}:${port}/metrics` }, "metrics and /healthz listening");
    }
    for (const cls of unlistedRouteClasses([...BUILTIN_PLUGINS])) {
      this.log.warn({ class: cls.name }, `${cls.name} has route decorators but no component lists it (in @Component({ handlers }) or a plugin): its routes never run`);
    }
    this.updateStateMetric();
    const direct = this.slots.filter((slot) => !slot.lease);
    for (const slot of direct) await slot.current.host.start();
    for (const slot of this.slots.filter((s) => s.lease)) void this.serveWhenLeased(slot);
    await Promise.all(direct.map((slot) => this.connect(slot)));
    if (direct.length > 0) this.log.info({ components: direct.map((s) => s.domain) }, "all components online");
  }

  private async connect(slot: Slot): Promise<void> {
    const { link } = slot.current;
    link.on("fatal", (err: FatalLinkError) => this.emit("fatal", err, slot.domain));
    await link.start();
  }

  /** A standby entry's loop: wait for the lease, serve, and on losing it stop at once and wait again. */
  private async serveWhenLeased(slot: Slot): Promise<void> {
    const lease = slot.lease!;
    const signal = this.stopping.signal;
    const log = this.log.child({ component: slot.domain });
    while (!signal.aborted) {
      slot.waiting = true;
      this.updateStateMetric();
      log.info({ lease: lease.key }, `standby: waiting for the lease on ${lease.key} before serving ${slot.domain}`);
      try {
        await lease.acquire(signal);
      } catch (err) {
        if (signal.aborted) return;
        log.error({ err }, "standby: giving up on the lease");
        return;
      }
      const parts = slot.activations++ === 0 ? slot.current : slot.rebuild();
      const lost = new Promise<AnnexError>((resolve) => lease.onLost(resolve));
      slot.waiting = false;
      log.info({ lease: lease.key }, `lease on ${lease.key} acquired: serving ${slot.domain}`);
      this.emit("active", slot.domain);
      try {
        await parts.host.start();
        // Not awaited: the lease can be lost while the link is still trying to connect.
        this.connect(slot).catch(() => undefined);
      } catch (err) {
        log.error({ err }, `${slot.domain} failed to start after taking over; giving the lease back`);
        await lease.release();
        await parts.link.stop();
        return;
      }
      const reason = await Promise.race([lost, new Promise<undefined>((resolve) => signal.addEventListener("abort", () => resolve(undefined), { once: true }))]);
      if (!reason) return;
      // Fencing: another process may already hold the lease; nothing more goes out from this one.
      log.error({ code: reason.code }, reason.message);
      this.emit("lease-lost", reason, slot.domain);
      await Promise.all([parts.link.stop(), parts.host.stop({ drainMs: 0 })]);
    }
  }

  /** Graceful shutdown of every component, then the streams, the leases and the HTTP endpoints are closed. */
  async stop(options: { drainMs?: number } = {}): Promise<void> {
    this.stopping.abort();
    await Promise.all(
      this.slots.map(async (slot) => {
        const { host, link } = slot.current;
        await host.stop({ drainMs: options.drainMs ?? this.config.shutdown.drainMs });
        await link.stop();
        await slot.lease?.release();
      }),
    );
    const server = this.opsServer;
    this.opsServer = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** A /metrics port that cannot be opened is a config problem: named by its key, with the fix. */
function metricsListenProblem(err: unknown, host: string, port: number): unknown {
  const code = (err as NodeJS.ErrnoException).code;
  const fix = "set metrics.port (or ANNEX_METRICS_PORT, --metrics-port) to a free port, or 0 to serve no metrics";
  if (code === "EADDRINUSE") return new ConfigError([`metrics.port: ${host}:${port} is already in use by another process (EADDRINUSE): ${fix}`]);
  if (code === "EACCES") return new ConfigError([`metrics.port: not allowed to listen on ${host}:${port} (EACCES; ports below 1024 need privileges): ${fix}`]);
  if (code === "EADDRNOTAVAIL" || code === "ENOTFOUND") return new ConfigError([`metrics.host: ${host} is not an address of this machine (${code}): set metrics.host (or ANNEX_METRICS_HOST) to one, e.g. 127.0.0.1`]);
  return err;
}
