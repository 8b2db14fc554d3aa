import { randomUUID } from "node:crypto";
import { xml, type Element } from "../stanza/xml.js";
import { NS } from "../stanza/namespaces.js";
import type { Middleware } from "../pipeline/pipeline.js";

export interface KeepaliveOptions {
  /** Probe after this long without input. */
  intervalMs: number;
  /** Declare the link dead when the probe has no answer after this long. */
  timeoutMs: number;
}

export const DEFAULT_KEEPALIVE: KeepaliveOptions = { intervalMs: 30_000, timeoutMs: 10_000 };

const ID_PREFIX = "annex-keepalive-";

/**
 * Which connection came first, carried in every probe id: `<ms since epoch>.<random token>` of the moment this
 * link first came online (kept across reconnections, so a long-serving process keeps its seniority). Two
 * connections on one domain compare claims through their probes alone: the later one leaves.
 */
export interface Claim {
  at: number;
  token: string;
}

export function formatClaim(claim: Claim): string {
  return `${claim.at}.${claim.token}`;
}

/** The claim inside a probe id, or undefined for a probe of an Annex without claims. */
export function claimOf(id: string): Claim | undefined {
  const match = /^annex-keepalive-(\d+)\.([0-9a-f]+)-/.exec(id);
  return match ? { at: Number(match[1]), token: match[2]! } : undefined;
}

/** True when `a` came first (ties, which need the same millisecond, go to the smaller token). */
export function isSenior(a: Claim, b: Claim): boolean {
  return a.at < b.at || (a.at === b.at && a.token < b.token);
}

/**
 * Detects a half-open link: after `intervalMs` of silence it sends a XEP-0199 ping addressed to our
 * own domain, which the server must route back to us. Any input counts as proof of life; no input
 * within `timeoutMs` of the probe means the link is dead. Server-agnostic (no server module needed).
 */
export class Keepalive {
  private lastInput = Date.now();
  private probeSentAt: number | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly domain: string,
    private readonly options: KeepaliveOptions,
    private readonly send: (probe: Element) => Promise<void>,
    private readonly onDead: (silentMs: number) => void,
    /** Ids of the probes sent lately (shared by the link's successive keepalives), to tell ours from another connection's. */
    private readonly sent: string[] = [],
    /** This link's claim on the domain, carried in every probe id. */
    private readonly claim: () => string = () => "0.0",
  ) {}

  start(): void {
    this.lastInput = Date.now();
    const tick = Math.max(10, Math.min(this.options.intervalMs, this.options.timeoutMs) / 4);
    this.timer = setInterval(() => this.check(), tick);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.probeSentAt = undefined;
  }

  /** Called for every piece of input from the server. */
  sawInput(): void {
    this.lastInput = Date.now();
    this.probeSentAt = undefined;
  }


  private check(): void {
    const now = Date.now();
    if (this.probeSentAt !== undefined) {
      if (now - this.probeSentAt >= this.options.timeoutMs) {
        this.stop();
        this.onDead(now - this.lastInput);
      }
      return;
    }
    if (now - this.lastInput < this.options.intervalMs) return;
    this.probeSentAt = now;
    this.sendProbe();
  }

  /**
   * Probes that only carry our claim (no answer is waited for): sent on coming online and when another
   * connection shows up, so that with the server spreading them at random one reaches the other connection.
   */
  announce(count: number): void {
    for (let i = 0; i < count; i++) this.sendProbe();
  }

  private sendProbe(): void {
    // XEP-0199 §4.1 ping, to ourselves through the server: proves both directions work.
    const id = `${ID_PREFIX}${this.claim()}-${randomUUID()}`;
    this.sent.push(id);
    if (this.sent.length > 32) this.sent.shift();
    const probe = xml("iq", { type: "get", id, from: this.domain, to: this.domain }, xml("ping", { xmlns: NS.ping }));
    this.send(probe).catch(() => undefined);
  }
}

/** True for the answer to one of our own probes (an IQ from our domain with the probe's id prefix). */
export function isKeepaliveProbe(stanza: Element, domain: string): boolean {
  return stanza.name === "iq" && typeof stanza.attrs.id === "string" && stanza.attrs.id.startsWith(ID_PREFIX) && stanza.attrs.from === domain;
}

/**
 * Inbound middleware: our probes come back through the server and are proof of life already counted by
 * sawInput(); they end here instead of reaching dispatch. A probe that is not ours can only come from another
 * connection on the same domain (ejabberd admits one and spreads the domain's stanzas over both): `foreign`
 * is told, so the admin hears of it.
 */
export function keepaliveFilter(domain: string, isOwn: (id: string) => boolean, foreign: (id: string) => void): Middleware {
  return (passage, next) => {
    if (!isKeepaliveProbe(passage.stanza, domain)) return next();
    const id = passage.stanza.attrs.id as string;
    if (!isOwn(id)) foreign(id);
    return undefined;
  };
}
