import { randomUUID } from "node:crypto";
import { xml, type Element } from "../stanza/xml.js";
import { NS } from "../stanza/namespaces.js";

export interface KeepaliveOptions {
  /** Probe after this long without input. */
  intervalMs: number;
  /** Declare the link dead when the probe has no answer after this long. */
  timeoutMs: number;
}

export const DEFAULT_KEEPALIVE: KeepaliveOptions = { intervalMs: 30_000, timeoutMs: 10_000 };

const ID_PREFIX = "annex-keepalive-";

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

  /** True for our own probe coming back; the caller swallows it instead of dispatching it. */
  isOwnProbe(stanza: Element): boolean {
    return stanza.name === "iq" && typeof stanza.attrs.id === "string" && stanza.attrs.id.startsWith(ID_PREFIX) && stanza.attrs.from === this.domain;
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
    // XEP-0199 §4.1 ping, to ourselves through the server: proves both directions work.
    const probe = xml("iq", { type: "get", id: `${ID_PREFIX}${randomUUID()}`, from: this.domain, to: this.domain }, xml("ping", { xmlns: NS.ping }));
    this.send(probe).catch(() => undefined);
  }
}
