import { randomBytes } from "node:crypto";
import { EventEmitter } from "node:events";
import type { Logger } from "pino";
import { errors, FatalLinkError } from "../errors.js";
import type { Middleware } from "../pipeline/pipeline.js";
import type { Element } from "../stanza/xml.js";
import { Backoff } from "./backoff.js";
import { classifyFailure } from "./classify.js";
import { type Claim, claimOf, formatClaim, isSenior, Keepalive, type KeepaliveOptions, DEFAULT_KEEPALIVE, keepaliveFilter } from "./keepalive.js";
import type { Link, LinkState } from "./port.js";
import type { ServerKind } from "./server-kind.js";
import { TcpTransport, type TransportCounters, type TransportTls } from "./transport.js";

export type { LinkState };

/**
 * Probes sent when announcing: ejabberd routes each to one of the domain's connections at random, so with two
 * connections at least one of 4 reaches the other with probability 1 - 1/16.
 */
const ANNOUNCE_PROBES = 4;
/**
 * After coming online, announce this many times a second apart: a busy link sends no keepalive probes (any
 * input is proof of life), so the announcements are how a connection already on the domain hears of us.
 */
const ANNOUNCE_ROUNDS = 10;
export { FatalLinkError };

export interface SupervisorOptions {
  host: string;
  port: number;
  domain: string;
  secret: string;
  log: Logger;
  backoff?: { initialMs?: number; maxMs?: number };
  /** Delay between attempts while another instance holds the domain. */
  conflictRetryMs?: number;
  /** An online period this long resets the backoff. */
  stableMs?: number;
  timeoutMs?: number;
  /** Half-open detection; `false` switches it off. */
  keepalive?: KeepaliveOptions | false;
  maxStanzaBytes?: number;
  maxQueueBytes?: number;
  /** TLS from the first byte; default plain TCP. */
  tls?: TransportTls;
  /**
   * One attempt, no reconnection: any failure (classified as usual) rejects start() with a
   * FatalLinkError. For probes such as `annex doctor`.
   */
  once?: boolean;
}

export interface LinkStats extends TransportCounters {
  state: LinkState;
  reconnects: number;
  lastError: string | undefined;
  queuedBytes: number;
}

/**
 * The TCP implementation of the Link port: keeps one component connected with a fresh TcpTransport per
 * attempt (so the host name is resolved again), classified failures (fatal / conflict / retry) and jittered
 * exponential backoff. Emits the LinkEvents; its keepalive filter is middleware for the bound host.
 */
export class LinkSupervisor extends EventEmitter implements Link {
  state: LinkState = "idle";
  reconnects = 0;
  lastError: string | undefined;
  readonly middleware: { inbound: Middleware[] };
  /** The server this link talks to, from the last stream header it sent ("unknown" before one arrives). */
  server: ServerKind = "unknown";
  private link: TcpTransport | undefined;
  private timer: NodeJS.Timeout | undefined;
  private onlineSince = 0;
  private keepalive: Keepalive | undefined;
  /** Counters of links that are gone, so stats cover the process's life. */
  private readonly past: TransportCounters = { bytesIn: 0, bytesOut: 0 };
  private readonly backoff: Backoff;
  private readonly log: Logger;

  constructor(private readonly options: SupervisorOptions) {
    super();
    this.log = options.log;
    this.backoff = new Backoff({ initialMs: options.backoff?.initialMs ?? 250, maxMs: options.backoff?.maxMs ?? 30_000 });
    this.middleware = { inbound: [keepaliveFilter(options.domain, (id) => this.probeIds.includes(id), (id) => this.sharedDomain(id))] };
  }

  get domain(): string {
    return this.options.domain;
  }

  get service(): string {
    return `xmpp://${this.options.host}:${this.options.port}`;
  }

  /** Starts connecting; resolves once online the first time, rejects with FatalLinkError if that can never happen. */
  start(): Promise<void> {
    const ready = new Promise<void>((resolve, reject) => {
      const onOnline = () => {
        this.off("fatal", onFatal);
        resolve();
      };
      const onFatal = (err: FatalLinkError) => {
        this.off("online", onOnline);
        reject(err);
      };
      this.once("online", onOnline);
      this.once("fatal", onFatal);
    });
    void this.attempt();
    return ready;
  }

  stats(): LinkStats {
    const live = this.link?.counters ?? { bytesIn: 0, bytesOut: 0 };
    return {
      state: this.state,
      reconnects: this.reconnects,
      lastError: this.lastError,
      queuedBytes: this.link?.queuedBytes ?? 0,
      bytesIn: this.past.bytesIn + live.bytesIn,
      bytesOut: this.past.bytesOut + live.bytesOut,
    };
  }

  send(stanza: Element): Promise<void> {
    const link = this.link;
    if (this.state !== "online" || !link) return Promise.reject(errors.linkDown(`not online (state ${this.state})`));
    return link.send(stanza);
  }

  /** Closes the stream (</stream:stream>) and stops reconnecting. */
  async stop(): Promise<void> {
    clearTimeout(this.timer);
    clearInterval(this.announceTimer);
    this.keepalive?.stop();
    const link = this.link;
    this.setState("stopped");
    if (link) this.retire(link);
    if (link && link.status !== "offline") {
      try {
        await link.stop();
      } catch (err) {
        this.log.debug({ err }, "error while closing the stream");
      }
    }
  }

  private async attempt(): Promise<void> {
    if (this.state === "stopped" || this.state === "failed") return;
    this.setState("connecting");
    const { domain, secret, timeoutMs, maxStanzaBytes, maxQueueBytes, tls } = this.options;
    const link = new TcpTransport({ service: this.service, domain, secret, timeoutMs, maxStanzaBytes, maxQueueBytes, tls });
    this.link = link;
    let failure: unknown;
    link.on("error", (err: unknown) => {
      failure ??= err;
    });
    link.on("open", () => {
      this.server = link.server;
    });
    link.on("input", () => this.keepalive?.sawInput());
    link.on("stanza", (el: Element) => this.emit("stanza", el));
    link.on("disconnect", () => {
      if (this.link === link && this.state === "online") this.dropped(failure ?? new Error("connection closed"));
    });
    try {
      await link.start();
    } catch (err) {
      if (this.link !== link) return;
      this.retire(link);
      link.removeAllListeners("disconnect");
      link.socket?.destroy();
      // Accepted, then closed without a byte (not even a stream header): what a TLS-only port does to plain text.
      if (failure === undefined && link.counters.bytesIn === 0 && !(err as { code?: string }).code) {
        failure = Object.assign(new Error("the server closed the connection without sending anything"), { condition: "no-stream" });
      }
      return this.failed(failure ?? err, true);
    }
    if (this.link !== link) return;
    failure = undefined;
    this.onlineSince = Date.now();
    this.claim ??= { at: this.onlineSince, token: this.claimToken };
    this.startKeepalive(link);
    this.setState("online");
    this.log.info({ service: this.service, reconnects: this.reconnects }, "online");
    this.emit("online");
    // Say that this connection serves the domain, at once and for a few seconds: a connection already there
    // answers in kind, and whichever came later leaves.
    this.announceOnline(link);
  }

  private lastSharedWarning = 0;
  private lastAnnounce = 0;
  /** Our recent keepalive probe ids, kept across reconnections so a late one is still known as ours. */
  private readonly probeIds: string[] = [];
  /** When this link first came online, and a token: its seniority on the domain (see Claim). */
  private claim: Claim | undefined;
  private readonly claimToken = randomBytes(4).toString("hex");

  /**
   * Another connection's keepalive probe reached us: two connections serve this domain (ejabberd admits both
   * and spreads the domain's stanzas over them, so each would get part of the traffic and of the other's
   * answers, and its own keepalive could fail). One connection per domain is the rule: the one that came
   * later leaves with a fatal error (exit 78); the senior one stays, and announces itself so that the other
   * learns of it soon.
   */
  private sharedDomain(id: string): void {
    const { domain, once, keepalive } = this.options;
    // A one-shot probe such as `annex doctor` sends no probes and leaves by itself.
    if (once || keepalive === false || !this.claim || this.state !== "online") return;
    const theirs = claimOf(id);
    const now = Date.now();
    if (theirs && isSenior(theirs, this.claim)) {
      const since = new Date(theirs.at).toISOString();
      const advice = `another Annex process has served ${domain} through this server since ${since}, and ejabberd spreads a domain's stanzas over all its connections: this process leaves so that one connection serves the domain. Run one process per domain; for failover give both processes the same "standby" setting, for more capacity give each its own domain (docs/admin.md, "Running several Annex processes")`;
      this.setState("failed");
      this.lastError = "shared-domain";
      this.keepalive?.stop();
      this.log.error({ condition: "shared-domain" }, advice);
      const link = this.link;
      if (link) {
        this.retire(link);
        link.removeAllListeners("disconnect");
        void link.stop().catch(() => undefined);
      }
      this.emit("offline", "shared-domain");
      this.emit("fatal", new FatalLinkError({ kind: "fatal", condition: "shared-domain", advice }));
      return;
    }
    if (now - this.lastAnnounce >= 1_000) {
      this.lastAnnounce = now;
      this.keepalive?.announce(ANNOUNCE_PROBES);
    }
    if (now - this.lastSharedWarning < 60_000) return;
    this.lastSharedWarning = now;
    this.log.error(
      { condition: "shared-domain" },
      theirs
        ? `a second connection serves ${domain} through this server (a keepalive probe that is not ours arrived here): this one came first and keeps the domain; the other process is told by our probes and leaves (exit 78)`
        : `another connection serves ${domain} through this server (a keepalive probe that is not ours arrived here): the server spreads the domain's stanzas over both connections, so each process gets part of the traffic and of the other's answers; run one Annex per domain (docs/admin.md, "Running several Annex processes")`,
    );
  }

  private announceTimer: NodeJS.Timeout | undefined;

  private announceOnline(link: TcpTransport): void {
    clearInterval(this.announceTimer);
    let rounds = 0;
    const round = () => {
      if (this.link !== link || this.state !== "online" || ++rounds > ANNOUNCE_ROUNDS) return clearInterval(this.announceTimer);
      this.keepalive?.announce(ANNOUNCE_PROBES);
    };
    round();
    this.announceTimer = setInterval(round, 1_000);
    this.announceTimer.unref();
  }

  private startKeepalive(link: TcpTransport): void {
    const options = this.options.keepalive ?? DEFAULT_KEEPALIVE;
    if (options === false) return;
    this.keepalive?.stop();
    this.keepalive = new Keepalive(this.options.domain, options, (probe) => link.send(probe), (silentMs) => {
      if (this.link !== link) return;
      this.log.warn({ silentMs }, "the server stopped answering (half-open link?): reconnecting");
      // The socket may never report the failure itself: end it here.
      link.socket?.destroy(Object.assign(new Error(`no answer to a keepalive probe for ${silentMs} ms`), { code: "ETIMEDOUT" }));
    }, this.probeIds, () => formatClaim(this.claim!));
    this.keepalive.start();
  }

  /** Forgets the current link, keeping its counters. */
  private retire(link: TcpTransport): void {
    for (const key of Object.keys(this.past) as (keyof TransportCounters)[]) this.past[key] += link.counters[key];
    if (this.link === link) this.link = undefined;
  }

  private dropped(err: unknown): void {
    this.keepalive?.stop();
    if (this.link) this.retire(this.link);
    if (Date.now() - this.onlineSince >= (this.options.stableMs ?? 10_000)) this.backoff.reset();
    this.emit("offline", err instanceof Error ? err.message : String(err));
    this.failed(err);
  }

  /** `inHandshake`: the attempt never came online (a stream error then is the server refusing us). */
  private failed(err: unknown, inHandshake = false): void {
    if (this.state === "stopped") return;
    const failure = classifyFailure(err, this.options.domain, this.service, this.server);
    this.lastError = failure.condition;
    if (failure.kind === "fatal" || this.options.once) {
      this.setState("failed");
      this.log.error({ condition: failure.condition }, failure.advice);
      this.emit("fatal", new FatalLinkError(failure));
      return;
    }
    // RFC 6120 §4.9: a stream error names its condition; a socket error (nothing listening yet) does not.
    const refused = inHandshake && (err as { condition?: unknown })?.condition !== undefined;
    const delay = failure.kind === "conflict" ? (this.options.conflictRetryMs ?? 60_000) : this.backoff.next(refused ? "refused" : "unreachable");
    const log = failure.kind === "conflict" ? this.log.error.bind(this.log) : this.log.warn.bind(this.log);
    log({ condition: failure.condition, retryInMs: delay }, failure.advice);
    this.setState("backing-off");
    this.timer = setTimeout(() => {
      this.reconnects++;
      void this.attempt();
    }, delay);
  }

  private setState(state: LinkState): void {
    if (this.state === state) return;
    this.state = state;
    this.emit("state", state);
  }
}
