import { createHash } from "node:crypto";
import { StringDecoder } from "node:string_decoder";
import { Component, xml } from "@xmpp/component-core";
import type { Element } from "../stanza/xml.js";

export interface LinkOptions {
  /** xmpp://host:port of the server's component listener. */
  service: string;
  domain: string;
  secret: string;
  /** Handshake / open / close timeout. */
  timeoutMs?: number;
}

/**
 * One XEP-0114 connection, built on @xmpp/component-core 0.13.1 with its defects fixed:
 * - input is decoded as a stream, so a UTF-8 character split across TCP reads stays whole
 *   (0.13.1 decodes each chunk alone: `data.toString("utf8")`);
 * - the handshake hashes UTF-8, not latin1, so non-ASCII secrets work (0.13.1 uses "binary").
 * A new link is made for every attempt; the supervisor owns reconnection.
 */
export class ComponentLink extends Component {
  private decoder = new StringDecoder("utf8");
  private readonly secret: string;

  constructor(options: LinkOptions) {
    super({ service: options.service, domain: options.domain });
    this.secret = options.secret;
    if (options.timeoutMs) this.timeout = options.timeoutMs;
    this.on("open", (header: Element) => {
      this.authenticate(header.attrs.id as string, this.secret).catch((err: unknown) => this.emit("error", err));
    });
  }

  override async connect(service: string): Promise<void> {
    this.decoder = new StringDecoder("utf8");
    await super.connect(service);
    // Stanzas are small and latency matters more than packet count (Nagle adds up to 40 ms).
    this.socket?.setNoDelay(true);
  }

  override _onData(data: Buffer): void {
    const text = this.decoder.write(data);
    if (!text) return;
    this.emit("input", text);
    this.parser?.write(text);
  }

  // XEP-0114 §3: handshake = lowercase hex SHA-1 of (stream id + secret), over UTF-8 bytes.
  override async authenticate(streamId: string, secret: string): Promise<void> {
    const digest = handshakeDigest(streamId, secret);
    const reply = await this.sendReceive(xml("handshake", {}, digest));
    if (reply.name !== "handshake") throw new Error(`unexpected reply to the handshake: <${reply.name}/>`);
    this._jid(this.options.domain);
    this._status("online", this.jid);
  }
}

export function handshakeDigest(streamId: string, secret: string): string {
  return createHash("sha1").update(Buffer.from(streamId + secret, "utf8")).digest("hex");
}
