import { ComponentConfig, HostedComponents, Logger, NS, type OnStart, type OnStop, Sender, Service, xml } from "annex";
import { crawl } from "./crawler.js";
import { DiscoClient } from "./disco-client.js";
import { defaultServers, type DirectorySettings } from "./options.js";
import { diffSnapshots, hasChanges, type Snapshot, unreachable } from "./snapshot.js";

/**
 * The directory's crawl results, refreshed on a timer (started in onStart, cleared in onStop) and on demand.
 * One instance per directory (a service, so the component's container holds exactly one).
 */
@Service()
export class DirectoryCache implements OnStart, OnStop {
  readonly settings: DirectorySettings;
  readonly servers: string[];
  client: DiscoClient;
  private snapshot: Snapshot | undefined;
  private running: Promise<Snapshot> | undefined;
  private queued: Promise<Snapshot> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private retryMs = 1_000;

  constructor(
    private readonly config: ComponentConfig<DirectorySettings>,
    private readonly sender: Sender,
    private readonly hosted: HostedComponents,
    private readonly log: Logger,
  ) {
    this.settings = config.options;
    this.servers = config.options.servers ?? defaultServers(config.domain);
    this.client = new DiscoClient(sender, this.settings.queryTimeoutMs);
  }

  get domain(): string {
    return this.config.domain;
  }

  onStart(): void {
    if (this.servers.length === 0) this.log.warn("no server to crawl: set options.servers (the domain has no parent domain)");
    this.stopped = false;
    this.client = new DiscoClient(this.sender, this.settings.queryTimeoutMs);
    this.schedule(0);
  }

  onStop(): void {
    this.stopped = true;
    this.client.close();
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** The last crawl's result, or undefined before the first one finished. */
  get latest(): Snapshot | undefined {
    return this.snapshot;
  }

  /** The last crawl, crawling now if there is none yet (a query arriving proves the link is up). */
  async current(): Promise<Snapshot> {
    return this.snapshot ?? this.refresh();
  }

  /**
   * Crawls again. A crawl already running started before this call, so one more follows it;
   * callers arriving meanwhile share that next crawl.
   */
  refresh(): Promise<Snapshot> {
    if (!this.running) return this.start();
    this.queued ??= this.running
      .catch(() => undefined)
      .then(() => {
        this.queued = undefined;
        return this.start();
      });
    return this.queued;
  }

  private start(): Promise<Snapshot> {
    const run = this.crawlOnce().finally(() => {
      if (this.running === run) this.running = undefined;
    });
    this.running = run;
    return run;
  }

  private async crawlOnce(): Promise<Snapshot> {
    const next = await crawl(this.client, {
      servers: this.servers,
      hosted: this.hosted.list(),
      ownDomain: this.domain,
      concurrency: this.settings.concurrency,
      maxNodesPerItem: this.settings.maxNodesPerItem,
    });
    this.logChanges(this.snapshot, next);
    this.snapshot = next;
    return next;
  }

  private logChanges(before: Snapshot | undefined, after: Snapshot): void {
    const counts = { entities: after.entities.length, unreachable: unreachable(after).map((e) => e.jid), durationMs: after.durationMs };
    if (!before) return this.log.info(counts, "directory crawled");
    const changes = diffSnapshots(before, after);
    if (hasChanges(changes)) this.log.info({ ...changes, ...counts }, "directory changed");
    else this.log.debug(counts, "directory crawled again, no change");
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.tick(), ms);
  }

  private async tick(): Promise<void> {
    if (!(await this.linkUp())) {
      // Started before the link is online (or it is reconnecting): try again soon, backing off.
      this.schedule(this.retryMs);
      this.retryMs = Math.min(this.retryMs * 2, this.settings.refreshIntervalMs);
      return;
    }
    this.retryMs = 1_000;
    try {
      await this.refresh();
    } catch (err) {
      this.log.error({ err }, "directory crawl failed");
    }
    this.schedule(this.settings.refreshIntervalMs);
  }

  /**
   * Whether stanzas can go out now: a ping to the first server (XEP-0199 §4.3), sent without waiting for
   * its answer. Sender.request() before the link is online would leave its tracked response to reject
   * unobserved later, so a timer-driven crawl checks with a plain send first.
   */
  private async linkUp(): Promise<boolean> {
    const server = this.servers[0];
    if (server === undefined) return true;
    try {
      await this.sender.send(xml("iq", { type: "get", to: server, id: `directory-probe-${Date.now()}` }, xml("ping", { xmlns: NS.ping })));
      return true;
    } catch (err) {
      this.log.debug({ err }, "link not up yet; the crawl waits");
      return false;
    }
  }
}
