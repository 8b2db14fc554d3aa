import assert from "node:assert/strict";
import { createServer as createHttpServer, type Server } from "node:http";
import { createServer as createTcpServer } from "node:net";
import { after, before, test } from "node:test";
import { xml } from "@xmpp/client";
import { freePort, type ManagedServer, startServer } from "annex/testing";
import { AnnexProcess, byId, describeEachServer, TestClient } from "./support.js";

// Wrong setups an admin makes, on each server: each gets its own one line naming the port or domain and the
// fix in that server's own configuration language, exit 78, from `annex run` and from `annex doctor` alike.

function listen(server: Server | ReturnType<typeof createTcpServer>): Promise<number> {
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as { port: number }).port)));
}

const PORT_HINT = { prosody: "Prosody's component_ports \\(default 5347\\)", ejabberd: "the port of ejabberd's ejabberd_service listener" } as const;
const ANY_SERVER_HINT = "the component listener \\(Prosody: component_ports, default 5347; ejabberd: the ejabberd_service listener's port\\)";

let http: Server;
let httpPort: number;
let ssh: ReturnType<typeof createTcpServer>;
let sshPort: number;

before(async () => {
  http = createHttpServer((_req, res) => res.end("hello"));
  httpPort = await listen(http);
  // A service that speaks first and is not XMPP (an SSH banner).
  ssh = createTcpServer((socket) => {
    socket.on("error", () => undefined); // the client hangs up on it, as it should
    socket.end("SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n");
  });
  sshPort = await listen(ssh);
});

after(() => {
  http?.close();
  ssh?.close();
});

const config = (port: number, domain = "echo.localhost", secret = "s") => ({ server: { port }, components: [{ type: "echo", domain, secret }] });

/** The `annex: <condition>: <advice>` line of `annex run` as doctor's `fix: <advice>` line. */
const asFix = (line: RegExp) => new RegExp(line.source.replace(/^\^annex: [a-z-]+: /, "^\\s+fix: ").replace(/\$$/, ""), "m");

async function runAndDoctor(cfg: unknown, line: RegExp, what: string): Promise<void> {
  const run = await AnnexProcess.start(cfg, { waitOnline: false });
  assert.equal(await run.exited, 78, `${what}:\n${run.output}`);
  assert.match(run.output, line, what);
  assert.doesNotMatch(run.output, /retrying|host-unknown/, `${what}: no retry loop, not the server's next answer`);
  const doctor = await AnnexProcess.start(cfg, { command: ["doctor"], waitOnline: false });
  assert.equal(await doctor.exited, 78, `${what}:\n${doctor.output}`);
  assert.match(doctor.output, asFix(line), `${what}:\n${doctor.output}`);
  assert.doesNotMatch(doctor.output, /all checks passed/);
}

describeEachServer("wrong setups get their own line", (kind) => {
  let server: ManagedServer;
  before(async () => {
    server = await startServer(kind, { components: [{ domain: "echo.localhost", secret: "s" }], users: [{ username: "alice", password: "alice-pw" }] });
  });
  after(async () => {
    await server?.stop();
  });

  test("server.port at the client (c2s) port: says so, names the component port setting of this server", async () => {
    const line = new RegExp(`^annex: client-port: xmpp://127\\.0\\.0\\.1:${server.c2sPort} is a client port \\(it answered with a jabber:client stream\\), not a component port: set server\\.port to ${PORT_HINT[kind]}$`, "m");
    await runAndDoctor(config(server.c2sPort), line, "c2s port");
  });

  test("server.port at an HTTP port or at another protocol: says what answered", async () => {
    await runAndDoctor(config(httpPort), new RegExp(`^annex: http-port: xmpp://127\\.0\\.0\\.1:${httpPort} is an HTTP port \\(it answered "HTTP/1\\.1 400 Bad Request"\\), not an XMPP component port: set server\\.port to ${ANY_SERVER_HINT}$`, "m"), "HTTP port");
    await runAndDoctor(config(sshPort), new RegExp(`^annex: not-xmpp: xmpp://127\\.0\\.0\\.1:${sshPort} is not an XMPP component port \\(it sent "SSH-2\\.0-OpenSSH_9\\.2p1 De"\\): set server\\.port to ${ANY_SERVER_HINT}$`, "m"), "SSH port");
  });

  if (kind === "prosody") {
    test("a component domain that is one of Prosody's VirtualHosts: the fix says a component cannot share a host's name", async () => {
      // Prosody answers a VirtualHost's name as it answers an unknown one, so one line covers both.
      const line = /^annex: host-unknown: the server at xmpp:\/\/127\.0\.0\.1:\d+ does not know localhost: add Component "localhost" with a component_secret to its config \(Prosody\) and reload it; if localhost is one of its VirtualHosts, a component cannot share that name: give the component a domain of its own \(e\.g\. a subdomain of localhost\)$/m;
      const run = await AnnexProcess.start(config(server.componentPort, "localhost"), { waitOnline: false });
      assert.equal(await run.exited, 78, run.output);
      assert.match(run.output, line);
      const doctor = await AnnexProcess.start(config(server.componentPort, "localhost"), { command: ["doctor"], waitOnline: false });
      assert.equal(await doctor.exited, 78, doctor.output);
      assert.match(doctor.output, asFix(line));
    });
  }

  if (kind === "ejabberd") {
    test("a component domain that is one of ejabberd's own hosts is fatal (exit 78), not a 60-second retry", async () => {
      const line = /^annex: conflict: ejabberd already serves localhost as one of its own hosts, so no component can take it: give the component a domain that is not in ejabberd's hosts list \(e\.g\. a subdomain\), or remove localhost from hosts$/m;
      const started = Date.now();
      await runAndDoctor(config(server.componentPort, "localhost"), line, "local domain");
      assert.ok(Date.now() - started < 10_000, "no slow retry");
    });
  }

  if (kind === "ejabberd") {
    test("two processes on one domain (ejabberd admits both): the later one leaves with exit 78, the first keeps serving", async () => {
      // The default keepalive (a probe after 30 s of silence): what tells the two apart is the announcements
      // each connection makes in its first seconds online, and the first one's answer to them.
      const cfg = config(server.componentPort);
      const first = await AnnexProcess.start(cfg);
      try {
        const started = Date.now();
        const second = await AnnexProcess.start(cfg, { waitOnline: false });
        assert.equal(await second.exited, 78, second.output);
        const took = Date.now() - started;
        assert.match(second.output, /^annex: shared-domain: another Annex process has served echo\.localhost through this server since \d{4}-\d\d-\d\dT[\d:.]+Z, and ejabberd spreads a domain's stanzas over all its connections: this process leaves so that one connection serves the domain\. Run one process per domain; for failover give both processes the same "standby" setting, for more capacity give each its own domain \(docs\/admin\.md, "Running several Annex processes"\)$/m);
        assert.ok(took < 10_000, `the later process left after ${took} ms`);
        // The first one may or may not have received one of the second's probes before it left (ejabberd routes
        // each at random); if it did, it said it keeps the domain. It never leaves itself.
        assert.doesNotMatch(first.output, /this process leaves/);
        // The first one still serves, alone again: an echo comes back, and its keepalive holds (no half-open reconnect).
        const alice = await TestClient.connect(server, "alice", "alice-pw");
        try {
          await alice.send(xml("message", { to: "echo.localhost", type: "chat" }, xml("body", {}, "still there?")));
          const reply = await alice.waitFor((el) => el.name === "message" && el.attrs.type !== "error", 5_000, "the echo");
          assert.equal(reply.getChildText("body"), "still there?");
        } finally {
          await alice.stop();
        }
        await new Promise((r) => setTimeout(r, 1_000));
        assert.doesNotMatch(first.output, /half-open|reconnecting/, first.output);
      } finally {
        assert.equal(await first.stop(), 0, first.output);
      }
    });

    test("doctor next to a running Annex without a metrics port never reports a failure that is not true", async () => {
      const running = await AnnexProcess.start(config(server.componentPort));
      try {
        // ejabberd admits doctor as a second connection and spreads the answers: each run passes or notes it.
        for (let i = 0; i < 3; i++) {
          const doctor = await AnnexProcess.start(config(server.componentPort), { command: ["doctor"], waitOnline: false });
          assert.equal(await doctor.exited, 0, doctor.output);
          assert.doesNotMatch(doctor.output, /FAIL/);
          assert.match(doctor.output, /ok {3}localhost lists echo\.localhost in its disco#items|note localhost did not answer disco#items on this connection; on ejabberd a running Annex for echo\.localhost may have received the answer/);
        }
      } finally {
        assert.equal(await running.stop(), 0, running.output);
      }
    });
  }

  test("doctor next to a running Annex checks through its /healthz and does not connect a second time", async () => {
    const metricsPort = await freePort();
    const cfg = { ...config(server.componentPort), metrics: { port: metricsPort } };
    const running = await AnnexProcess.start(cfg);
    const alice = await TestClient.connect(server, "alice", "alice-pw");
    try {
      const doctor = await AnnexProcess.start(cfg, { command: ["doctor"], waitOnline: false });
      assert.equal(await doctor.exited, 0, doctor.output);
      assert.match(doctor.output, /ok {3}a running Annex serves echo\.localhost \(its \/healthz on 127\.0\.0\.1:\d+ says online\): the handshake works; doctor does not connect a second time/);
      assert.match(doctor.output, /ok {3}not checked while it runs: whether the server's disco#items lists echo\.localhost/);
      assert.doesNotMatch(doctor.output, /conflict|FAIL/);
      assert.doesNotMatch(running.output, /"reconnects":[1-9]/, "the running instance was not disturbed");
      // Every reply still reaches the client: doctor took no part of the domain's traffic.
      for (let i = 0; i < 5; i++) {
        await alice.send(xml("iq", { to: "echo.localhost", type: "get", id: `live-${i}` }, xml("ping", { xmlns: "urn:xmpp:ping" })));
        assert.equal((await alice.waitFor(byId(`live-${i}`))).attrs.type, "result");
      }
    } finally {
      await alice.stop();
      assert.equal(await running.stop(), 0, running.output);
    }
  });
});
