import { EventEmitter } from "node:events";
import type { Link, LinkState } from "../connection/port.js";
import { errors } from "../errors.js";
import { serialize } from "../pipeline/fanout.js";
import { type Element, parseXml } from "../stanza/xml.js";

/**
 * A Link with no socket, for the unit-test harness: what the component sends is serialised (as the TCP link does) and parsed
 * again (what a server would receive) and handed to `onSent`; `deliver` plays the server's part.
 */
export class MemoryLink extends EventEmitter implements Link {
  state: LinkState = "idle";

  constructor(
    readonly domain: string,
    private readonly onSent: (stanza: Element) => void,
  ) {
    super();
  }

  async start(): Promise<void> {
    this.setState("online");
    this.emit("online");
  }

  async stop(): Promise<void> {
    this.setState("stopped");
  }

  send(stanza: Element): Promise<void> {
    if (this.state !== "online") return Promise.reject(errors.linkDown(`not online (state ${this.state})`));
    // The bytes the TCP link would write (a fan-out copy's spliced ones included), parsed as the server would.
    this.onSent(parseXml(serialize(stanza)));
    return Promise.resolve();
  }

  /** The server dropped the link (the host's onOffline hooks run; pending requests reject). */
  drop(reason = "dropped by the test"): void {
    this.setState("backing-off");
    this.emit("offline", reason);
  }

  /** The link is back (onOnline hooks run). */
  restore(): void {
    this.setState("online");
    this.emit("online");
  }

  private setState(state: LinkState): void {
    this.state = state;
    this.emit("state", state);
  }
}
