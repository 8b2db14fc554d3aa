import type { Logger } from "pino";
import { type LoadedConfig, resolveSecret } from "../config/load.js";
import { LinkSupervisor } from "../connection/supervisor.js";
import type { Element } from "../stanza/xml.js";
import { type Catalogue, resolveComponentClass } from "./catalogue.js";
import { ComponentHost } from "./host.js";
import { HostedComponents } from "./hosted.js";

export interface RunningComponent {
  host: ComponentHost;
  link: LinkSupervisor;
}

export interface RunnerOptions {
  catalogue: Catalogue;
  log: Logger;
}

/** Runs every component of a config: one host and one supervised link each. */
export class Runner {
  private constructor(
    readonly components: RunningComponent[],
    private readonly log: Logger,
    private readonly drainMs: number,
  ) {}

  /** Resolves types, secrets and options for every entry; throws ConfigError listing what is wrong. */
  static async create(config: LoadedConfig, options: RunnerOptions): Promise<Runner> {
    const components: RunningComponent[] = [];
    const hosted = new HostedComponents();
    for (const [index, entry] of config.components.entries()) {
      const component = await resolveComponentClass(entry.type, options.catalogue, config.baseDir, index);
      const secret = await resolveSecret(entry, index, config.baseDir);
      const log = options.log.child({ component: entry.domain });
      const { server } = config;
      const link = new LinkSupervisor({
        host: server.host,
        port: server.port,
        domain: entry.domain,
        secret,
        log,
        backoff: { initialMs: server.reconnect.initialMs, maxMs: server.reconnect.maxMs },
        stableMs: server.reconnect.stableMs,
        conflictRetryMs: server.reconnect.conflictRetryMs,
        keepalive: server.keepalive,
        timeoutMs: server.timeoutMs,
        maxStanzaBytes: server.maxStanzaBytes,
        maxQueueBytes: server.maxQueueBytes,
      });
      const host = new ComponentHost({
        component,
        domain: entry.domain,
        type: typeof entry.type === "string" ? entry.type : entry.type.module,
        options: entry.options,
        optionsPath: `components[${index}].options`,
        builtins: entry.builtins,
        maxInFlight: entry.maxInFlight,
        log: options.log,
        transport: link,
        hosted,
      });
      link.on("stanza", (el: Element) => void host.dispatch(el));
      link.on("offline", (reason: string) => host.linkDown(reason));
      components.push({ host, link });
    }
    return new Runner(components, options.log, config.shutdown.drainMs);
  }

  /** Starts every component and connects it; rejects with FatalLinkError if one can never connect. */
  async start(): Promise<void> {
    for (const { host } of this.components) await host.start();
    await Promise.all(this.components.map(({ link }) => link.start()));
    this.log.info({ components: this.components.map((c) => c.host.domain) }, "all components online");
  }

  /** Graceful shutdown of every component, then the streams are closed. */
  async stop(options: { drainMs?: number } = {}): Promise<void> {
    await Promise.all(
      this.components.map(async ({ host, link }) => {
        await host.stop({ drainMs: options.drainMs ?? this.drainMs });
        await link.stop();
      }),
    );
  }
}
