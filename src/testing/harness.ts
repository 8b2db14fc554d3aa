import { AsyncLocalStorage } from "node:async_hooks";
import { pino } from "pino";
import type { HandlerClass } from "../handlers/metadata.js";
import type { BuiltinSwitches } from "../plugins/index.js";
import { bindLink } from "../runtime/bind.js";
import { ComponentHost } from "../runtime/host.js";
import type { HostedComponents } from "../runtime/hosted.js";
import { type Element, parseXml } from "../stanza/xml.js";
import { MemoryLink } from "./memory-link.js";

export interface HarnessOptions {
  /** The component's domain; default "component.localhost". */
  domain?: string;
  /** The component's `options` as the config file would give them. */
  options?: unknown;
  builtins?: BuiltinSwitches;
  /** Plugin options as the config file's `plugins` object would give them. */
  plugins?: Record<string, unknown>;
  /** `from` for injected stanzas that have none; default "user@localhost/test". */
  from?: string;
  /** A pino level for the component's logs; default "silent". */
  logLevel?: string;
  iqTimeoutMs?: number;
  maxInFlight?: number;
  maxQueued?: number;
  /** Share one list between harnesses to test a component that lists its siblings. */
  hosted?: HostedComponents;
}

/**
 * Runs a component in-process with no socket (the Fastify inject() model):
 * `inject(xml)` dispatches a stanza and returns what the component sent while handling it.
 */
export class Harness {
  readonly host: ComponentHost;
  /** The harness's link: `link.drop()` / `link.restore()` play a server connection going down and up. */
  readonly link: MemoryLink;
  /** Every stanza the component sent since the harness was made. */
  readonly sent: Element[] = [];
  private readonly defaultFrom: string;
  /** Attributes each send to the inject() whose handling caused it, even when handlers overlap. */
  private readonly causedBy = new AsyncLocalStorage<Element[]>();

  constructor(component: HandlerClass, options: HarnessOptions = {}) {
    const domain = options.domain ?? "component.localhost";
    this.defaultFrom = options.from ?? "user@localhost/test";
    this.host = new ComponentHost({
      component,
      domain,
      options: options.options,
      builtins: options.builtins,
      plugins: options.plugins,
      iqTimeoutMs: options.iqTimeoutMs,
      hosted: options.hosted,
      maxInFlight: options.maxInFlight,
      maxQueued: options.maxQueued,
      log: pino({ level: options.logLevel ?? "silent" }),
    });
    this.link = new MemoryLink(domain, (received) => {
      this.sent.push(received);
      this.causedBy.getStore()?.push(received);
    });
    // The same binding the runner uses; the harness's link is online from the start.
    bindLink(this.host, this.link);
    this.link.state = "online";
  }

  get domain(): string {
    return this.host.domain;
  }

  /** Runs onStart, then onOnline (the harness's "link" is always up). */
  async start(): Promise<void> {
    await this.host.start();
    // The link is online already; awaiting the hooks here (not through the event) makes start() deterministic.
    await this.host.online();
  }

  stop(options: { drainMs?: number } = {}): Promise<void> {
    return this.host.stop(options);
  }

  /** Dispatches one stanza (XML text or element) and returns the stanzas its handling sent. */
  async inject(stanza: string | Element): Promise<Element[]> {
    const el = typeof stanza === "string" ? parseXml(stanza) : stanza;
    el.attrs.from ??= this.defaultFrom;
    el.attrs.to ??= this.domain;
    const out: Element[] = [];
    await this.causedBy.run(out, () => this.host.receive(el));
    return out;
  }
}

export function createHarness(component: HandlerClass, options?: HarnessOptions): Harness {
  return new Harness(component, options);
}
