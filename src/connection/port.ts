import type { FatalLinkError } from "../errors.js";
import type { Middleware } from "../pipeline/pipeline.js";
import type { Element } from "../stanza/xml.js";

export type LinkState = "idle" | "connecting" | "online" | "backing-off" | "stopped" | "failed";

/** The events every Link emits. */
export interface LinkEvents {
  /** A stanza from the server for the component's domain. */
  stanza: [stanza: Element];
  /** The link is up (the first time, and after every reconnection). */
  online: [];
  /** The link that was online went down; nothing sent arrives until the next "online". */
  offline: [reason: string];
  state: [state: LinkState];
  /** The server refused the component for good; the link stays down. */
  fatal: [error: FatalLinkError];
}

/**
 * The Link port (the NestJS transport-strategy model): how a component host reaches a server. The TCP
 * LinkSupervisor implements it for the runner and `annex doctor`, the harness's MemoryLink for unit tests;
 * `bindLink` (runtime/bind.ts) is the one place a host is joined to one.
 */
export interface Link {
  readonly domain: string;
  readonly state: LinkState;
  /** Why the link last failed (a stream error condition or socket code), if it did. */
  readonly lastError?: string;
  /** Middleware the link needs in its host's pipelines (e.g. the keepalive filter); bindLink installs it. */
  readonly middleware?: { inbound?: Middleware[]; outbound?: Middleware[] };
  /** Resolves once online the first time; rejects with FatalLinkError if that can never happen. */
  start(): Promise<void>;
  /** Closes the stream and stays down. */
  stop(): Promise<void>;
  /** Writes a stanza; rejects (ANNEX_ERR_LINK_DOWN, ANNEX_ERR_QUEUE_FULL) when it cannot. */
  send(stanza: Element): Promise<void>;
  on<E extends keyof LinkEvents>(event: E, listener: (...args: LinkEvents[E]) => void): unknown;
  off<E extends keyof LinkEvents>(event: E, listener: (...args: LinkEvents[E]) => void): unknown;
}
