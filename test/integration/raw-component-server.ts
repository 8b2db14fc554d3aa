import { createServer, type Server, type Socket } from "node:net";

/**
 * A bare XEP-0114 server for fault tests that a real Prosody cannot be made to do on demand:
 * it accepts the handshake, then goes silent (a half-open link) or stops reading (a slow server).
 * Only the fault tests use it; everything else talks to a real Prosody.
 */
export class RawComponentServer {
  readonly sockets: Socket[] = [];
  handshakes = 0;

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(onOnline: (socket: Socket) => void): Promise<RawComponentServer> {
    let self: RawComponentServer | undefined;
    const server = createServer((socket) => {
      self?.sockets.push(socket);
      let buffered = "";
      let online = false;
      socket.on("error", () => undefined);
      socket.on("data", (data) => {
        if (online) return;
        buffered += data.toString();
        if (buffered.includes("<stream:stream") && !buffered.includes("id='annex-test'")) {
          // XEP-0114 §3 example 2: the server's stream header with an id for the digest.
          socket.write("<?xml version='1.0'?><stream:stream xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams' id='annex-test'>");
          buffered += "id='annex-test'";
        }
        if (/<handshake>[0-9a-f]{40}<\/handshake>/.test(buffered)) {
          online = true;
          if (self) self.handshakes++;
          socket.write("<handshake/>");
          onOnline(socket);
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const address = server.address();
    self = new RawComponentServer(server, typeof address === "object" && address ? address.port : 0);
    return self;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
