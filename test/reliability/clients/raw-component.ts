import { createHash } from "node:crypto";
import { connect, type Socket } from "node:net";

/**
 * A bare XEP-0114 component connection over a raw socket, with no library in the way: it can send
 * exactly what a misbehaving component would (e.g. a `from` outside its domain) and shows the
 * server's raw answer.
 */
export class RawComponent {
  received = "";
  readonly closed: Promise<void>;

  private constructor(private readonly socket: Socket) {
    socket.setEncoding("utf8");
    socket.on("data", (d: string) => (this.received += d));
    socket.on("error", () => undefined);
    this.closed = new Promise((resolve) => socket.once("close", () => resolve()));
  }

  /** Opens the stream and completes the handshake (XEP-0114 §3: hex SHA-1 of stream id + secret). */
  static async connect(port: number, domain: string, secret: string): Promise<RawComponent> {
    const socket = connect(port, "127.0.0.1");
    await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
    const c = new RawComponent(socket);
    socket.write(`<?xml version='1.0'?><stream:stream xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams' to='${domain}'>`);
    await c.waitFor(/<stream:stream[^>]*\bid=['"]([^'"]+)['"]/, "the stream header");
    const id = /<stream:stream[^>]*\bid=['"]([^'"]+)['"]/.exec(c.received)![1]!;
    socket.write(`<handshake>${createHash("sha1").update(id + secret, "utf8").digest("hex")}</handshake>`);
    await c.waitFor(/<handshake\s*\/>|<handshake><\/handshake>/, "the handshake answer");
    return c;
  }

  send(text: string): void {
    this.socket.write(text);
  }

  async waitFor(pattern: RegExp, what: string, timeoutMs = 5_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pattern.test(this.received)) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; received: ${this.received}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  close(): void {
    this.socket.destroy();
  }
}
