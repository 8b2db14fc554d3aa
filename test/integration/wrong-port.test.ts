import assert from "node:assert/strict";
import { createServer as createHttpServer, type Server } from "node:http";
import { createServer as createTcpServer } from "node:net";
import { after, before, describe, test } from "node:test";
import type { ManagedProsody } from "annex/testing";
import { AnnexProcess, startProsody } from "./support.js";

// server.port pointed at the wrong kind of port: each gets its own one line naming the port and what it is
// (not the host-unknown the server would answer next, nor a "retrying" loop), exit 78, from run and doctor.

function listen(server: Server | ReturnType<typeof createTcpServer>): Promise<number> {
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as { port: number }).port)));
}

describe("server.port at a port that is not a component port", () => {
  let prosody: ManagedProsody;
  let http: Server;
  let httpPort: number;
  let ssh: ReturnType<typeof createTcpServer>;
  let sshPort: number;

  before(async () => {
    prosody = await startProsody([{ domain: "echo.localhost", secret: "s" }], []);
    http = createHttpServer((_req, res) => res.end("hello"));
    httpPort = await listen(http);
    // A service that speaks first and is not XMPP (an SSH banner).
    ssh = createTcpServer((socket) => socket.end("SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n"));
    sshPort = await listen(ssh);
  });

  after(async () => {
    await prosody?.stop();
    http?.close();
    ssh?.close();
  });

  const config = (port: number) => ({ server: { port }, components: [{ type: "echo", domain: "echo.localhost", secret: "s" }] });

  const cases = () => [
    { what: "Prosody's client port", port: prosody.c2sPort, line: new RegExp(`^annex: client-port: xmpp://127\\.0\\.0\\.1:${prosody.c2sPort} is a client port \\(it answered with a jabber:client stream\\), not a component port: set server\\.port to Prosody's component_ports \\(default 5347\\)$`, "m") },
    { what: "an HTTP port", port: httpPort, line: new RegExp(`^annex: http-port: xmpp://127\\.0\\.0\\.1:${httpPort} is an HTTP port \\(it answered "HTTP/1\\.1 400 Bad Request"\\), not an XMPP component port: set server\\.port to the component listener`, "m") },
    { what: "a port that speaks something else", port: sshPort, line: new RegExp(`^annex: not-xmpp: xmpp://127\\.0\\.0\\.1:${sshPort} is not an XMPP component port \\(it sent "SSH-2\\.0-OpenSSH_9\\.2p1 De"\\)`, "m") },
  ];

  test("annex run: one line naming the port and what it is, exit 78, no retry loop", async () => {
    for (const { what, port, line } of cases()) {
      const p = await AnnexProcess.start(config(port), { waitOnline: false });
      assert.equal(await p.exited, 78, `${what}:\n${p.output}`);
      assert.match(p.output, line, what);
      assert.doesNotMatch(p.output, /retrying|host-unknown/, what);
    }
  });

  test("annex doctor says the same as its fix", async () => {
    for (const { what, port, line } of cases()) {
      const p = await AnnexProcess.start(config(port), { command: ["doctor"], waitOnline: false });
      assert.equal(await p.exited, 78, `${what}:\n${p.output}`);
      const fix = new RegExp(line.source.replace(/^\^annex: [a-z-]+: /, "^\\s+fix: ").replace(/\$$/, ""), "m");
      assert.match(p.output, fix, `${what}:\n${p.output}`);
      assert.doesNotMatch(p.output, /all checks passed/);
    }
  });
});
