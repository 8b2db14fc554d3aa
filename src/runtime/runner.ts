import type { Server } from "node:http";
import type { Logger } from "pino";
import { type LoadedConfig, resolveSecret, resolveTls } from "../config/load.js";
import { LinkSupervisor } from "../connection/supervisor.js";
import { unlistedRouteClasses } from "../handlers/registry.js";
import { type HealthReport, startOpsServer } from "../ops/http.js";
import { createLogger } from "../ops/logger.js";
import { AnnexMetrics, Metrics } from "../ops/metrics.js";
import { BUILTIN_PLUGINS } from "../plugins/index.js";
import { bindLink } from "./bind.js";
import { type Catalogue, resolveComponentClass } from "./catalogue.js";
import { ComponentHost } from "./host.js";
import { HostedComponents } from "./hosted.js";

export interface RunningComponent {
  host: ComponentHost;
  link: LinkSupervisor;
}

export interface RunnerOptions {
  /** Component types by name (`annex run` passes the bundled packages); default none, so only `{module}` types. */
  catalogue?: Catalogue;
  /** Default: the config's `log` settings through createLogger (JSON, or pretty on a terminal). */
  log?: Logger;
}

/** Runs every component of a config: one host and one supervised link each, plus /metrics and /healthz. */
export class Runner {
  private opsServer: Server | undefined;

  private constructor(
    readonly components: RunningComponent[],
    readonly metrics: AnnexMetrics,
    private readonly config: LoadedConfig,
    private readonly log: Logger,
  ) {}

  /** Resolves types, secrets and options for every entry; throws ConfigError listing what is wrong. */
  static async create(config: LoadedConfig, given: RunnerOptions = {}): Promise<Runner> {
    const options = { catalogue: given.catalogue ?? {}, log: given.log ?? createLogger(config.log.level, config.log.pretty) };
    const metrics = new AnnexMetrics();
    const hosted = new HostedComponents();
    const components: RunningComponent[] = [];
    const tls = await resolveTls(config);
    for (const [index, entry] of config.components.entries()) {
      const component = await resolveComponentClass(entry.type, options.catalogue, config.baseDir, index);
      const secret = await resolveSecret(entry, index, config.baseDir);
      const domain = entry.domain;
      const { server } = config;
      const log = options.log.child({ component: domain }, entry.log.level ? { level: entry.log.level } : {});
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
      const host = new ComponentHost({
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
      // Counting is a pipeline member: plain integers per stanza, exported when /metrics is scraped.
      const counters = metrics.middlewareFor(domain);
      bindLink(host, link, { inbound: [counters.inbound], outbound: [counters.outbound] });
      link.on("state", (state: string) => {
        metrics.connectionState.reset();
        for (const c of components) metrics.connectionState.set({ component: c.host.domain, state: c.link.state }, 1);
        if (state === "connecting" && link.reconnects > 0) metrics.reconnects.inc({ component: domain });
      });
      components.push({ host, link });
    }
    return new Runner(components, metrics, config, options.log);
  }

  /** Every component's link state; ok only when all are online. */
  health(): HealthReport {
    const report: HealthReport = { ok: true, components: {} };
    for (const { host, link } of this.components) {
      // The last error only matters while not online; after a recovery it would mislead.
      const lastError = link.state === "online" ? undefined : link.lastError;
      report.components[host.domain] = { state: link.state, ...(lastError ? { lastError } : {}) };
      if (link.state !== "online") report.ok = false;
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

  /** Starts the HTTP endpoints (if configured), then every component; rejects with FatalLinkError if one can never connect. */
  async start(): Promise<void> {
    const { port, host } = this.config.metrics;
    if (port > 0) {
      this.opsServer = await startOpsServer(host, port, { metrics: () => this.metricsText(), health: () => this.health() });
      this.log.info({ url: `http://${host}:${port}/metrics` }, "metrics and /healthz listening");
    }
    for (const cls of unlistedRouteClasses([...BUILTIN_PLUGINS])) {
      this.log.warn({ class: cls.name }, `${cls.name} has route decorators but no component lists it (in @Component({ handlers }) or a plugin): its routes never run`);
    }
    for (const { host } of this.components) await host.start();
    await Promise.all(this.components.map(({ link }) => link.start()));
    this.log.info({ components: this.components.map((c) => c.host.domain) }, "all components online");
  }

  /** Graceful shutdown of every component, then the streams and the HTTP endpoints are closed. */
  async stop(options: { drainMs?: number } = {}): Promise<void> {
    await Promise.all(
      this.components.map(async ({ host, link }) => {
        await host.stop({ drainMs: options.drainMs ?? this.config.shutdown.drainMs });
        await link.stop();
      }),
    );
    const server = this.opsServer;
    this.opsServer = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

