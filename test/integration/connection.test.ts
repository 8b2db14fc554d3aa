import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { xml } from "@xmpp/client";
import { ComponentHost } from "annex";
import { freePort, type ManagedServer, startServer } from "annex/testing";
import { pino } from "pino";
import { Echo } from "../../components/echo/index.js";
import { LinkSupervisor } from "../../src/connection/supervisor.js";
import { RawComponentServer } from "./raw-component-server.js";
import { AnnexProcess, byId, describeEachServer, TestClient } from "./support.js";

const silent = pino({ level: "silent" });

/** A body of `bytes` UTF-8 bytes mixing 1-, 2-, 3- and 4-byte characters. */
function mixedUtf8(bytes: number, seed: number): string {
  const alphabet = ["a", "Z", "7", "é", "ß", "Ж", "€", "世", "界", "🎉", "𝄞", "🔑"];
  let out = "";
  let size = 0;
  let i = seed;
  while (size < bytes - 4) {
    const ch = alphabet[i++ % alphabet.length] as string;
    out += ch;
    size += Buffer.byteLength(ch);
  }
  return out;
}

describeEachServer("the component link against a real server", (kind) => {
  let prosody: ManagedServer;
  let annex: AnnexProcess;
  let alice: TestClient;
  const config = () => ({
    server: { port: prosody.componentPort, reconnect: { initialMs: 100, maxMs: 2_000, stableMs: 1_000, conflictRetryMs: 60_000 } },
    components: [{ type: "echo", domain: "echo.localhost", secret: "pässwörd€" }],
  });

  before(async () => {
    prosody = await startServer(kind, { components: [{ domain: "echo.localhost", secret: "pässwörd€" }], users: [{ username: "alice", password: "pw" }] });
    annex = await AnnexProcess.start(config());
    alice = await TestClient.connect(prosody, "alice", "pw");
  });

  after(async () => {
    await alice?.stop();
    await annex?.stop();
    await prosody?.stop();
  });

  test("50 echoes of a 200 KB body of mixed 1-4-byte UTF-8 arrive byte-identical", async () => {
    const bodies = Array.from({ length: 50 }, (_, i) => mixedUtf8(200_000, i));
    for (const [i, body] of bodies.entries()) {
      await alice.send(xml("message", { to: "echo.localhost", type: "chat", id: `big-${i}` }, xml("body", {}, body)));
    }
    for (const [i, body] of bodies.entries()) {
      const echo = await alice.waitFor(byId(`big-${i}`), 20_000, `echo ${i}`);
      const got = echo.getChildText("body") ?? "";
      assert.equal(Buffer.byteLength(got), Buffer.byteLength(body), `echo ${i}: length`);
      assert.ok(got === body, `echo ${i} differs`);
    }
  });

  test("the server killed and restarted 5 times: echo is back within 3 s of it listening each time", async () => {
    for (let round = 0; round < 5; round++) {
      await prosody.kill();
      await prosody.launch();
      const client = await TestClient.connect(prosody, "alice", "pw", `round-${round}`);
      try {
        // Ask until an echo comes back; the deadline is the requirement.
        const deadline = Date.now() + 3_000;
        let echoed = false;
        for (let attempt = 0; !echoed && Date.now() < deadline; attempt++) {
          await client.send(xml("message", { to: "echo.localhost", type: "chat", id: `r${round}-${attempt}` }, xml("body", {}, "back?")));
          echoed = await client.waitFor(byId(`r${round}-${attempt}`), 250).then(() => true, () => false);
        }
        assert.ok(echoed, `round ${round}: no echo within 3 s of ${kind} listening`);
      } finally {
        await client.stop();
      }
      // Stay online long enough to count as stable (stableMs), so the backoff starts over.
      await new Promise((r) => setTimeout(r, 1_100));
    }
    assert.equal(annex.child.exitCode, null, "annex is still running");
    assert.doesNotMatch(annex.output, /unhandled|uncaught/i);
    assert.equal(annex.output.match(/"msg":"online"/g)?.length, 6, "online once at start and once after each restart");
  });

  if (kind === "prosody") {
    test("a second instance with the same domain gets the conflict advice and does not take over", async () => {
      await alice.stop();
      alice = await TestClient.connect(prosody, "alice", "pw");
      const second = await AnnexProcess.start(config(), { waitOnline: false });
      try {
        await second.waitForOutput(/another instance is already connected as echo\.localhost.*component_conflict_resolve/, 10_000);
        await alice.send(xml("message", { to: "echo.localhost", type: "chat", id: "after-conflict" }, xml("body", {}, "who answers?")));
        await alice.waitFor(byId("after-conflict"));
        assert.doesNotMatch(second.output, /all components online/);
        assert.equal(second.child.exitCode, null, "the second instance keeps retrying slowly, it does not exit");
      } finally {
        assert.equal(await second.stop(), 0);
      }
    });
  } else {
    test("a second instance with the same domain is admitted too: ejabberd spreads the domain's stanzas over both", async () => {
      await alice.stop();
      alice = await TestClient.connect(prosody, "alice", "pw");
      // ejabberd 23.01 has no conflict for a second ejabberd_service connection on a domain: it registers
      // another route, and the router picks one per stanza (domain_balancing decides how; random by default).
      const metricsPort = await freePort();
      const second = await AnnexProcess.start(config(), { env: { ANNEX_METRICS_PORT: String(metricsPort) } });
      const messagesIn = async () => {
        const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
        return Number(/annex_stanzas_in_total\{component="echo\.localhost",kind="message"\} (\d+)/.exec(text)?.[1] ?? 0);
      };
      try {
        assert.doesNotMatch(second.output, /another instance is already connected/);
        // Each echo is answered exactly once, by one of the two processes.
        const ids = Array.from({ length: 40 }, (_, i) => `both-${i}`);
        for (const id of ids) await alice.send(xml("message", { to: "echo.localhost", type: "chat", id }, xml("body", {}, id)));
        for (const id of ids) await alice.waitFor(byId(id), 5_000, `echo ${id}`);
        for (const id of ids) assert.equal(alice.all(byId(id)).length, 1, `${id} answered once`);
        const bySecond = await messagesIn();
        assert.ok(bySecond > 0 && bySecond < ids.length, `both processes got a share (the second one ${bySecond} of ${ids.length})`);
      } finally {
        assert.equal(await second.stop(), 0);
      }
    });
  }
});

describe("the component link against faulty servers", () => {
  test("a half-open link (server silent, socket open) is detected by keepalive and reconnected", async () => {
    const server = await RawComponentServer.start(() => {
      // Say nothing, ever: the socket stays open, as after a network partition.
    });
    const link = new LinkSupervisor({ host: "127.0.0.1", port: server.port, domain: "echo.localhost", secret: "x", log: silent, keepalive: { intervalMs: 300, timeoutMs: 300 }, backoff: { initialMs: 50, maxMs: 100 } });
    try {
      await link.start();
      const startedAt = Date.now();
      while (server.handshakes < 2 && Date.now() - startedAt < 5_000) await new Promise((r) => setTimeout(r, 20));
      assert.equal(server.handshakes, 2, "the link reconnected after the keepalive timeout");
      assert.ok(link.reconnects >= 1);
    } finally {
      await link.stop();
      await server.close();
    }
  });

  test("an oversized incoming stanza closes the stream with policy-violation, and the link reconnects", async () => {
    const received: string[] = [];
    const server = await RawComponentServer.start((socket) => {
      socket.on("data", (d) => received.push(d.toString()));
      if (server0.handshakes === 1) socket.write(`<message from='user@localhost' to='echo.localhost'><body>${"y".repeat(600 * 1024)}</body></message>`);
    });
    const server0 = server;
    const link = new LinkSupervisor({ host: "127.0.0.1", port: server.port, domain: "echo.localhost", secret: "x", log: silent, keepalive: false, backoff: { initialMs: 50, maxMs: 100 } });
    try {
      await link.start();
      const startedAt = Date.now();
      while (server.handshakes < 2 && Date.now() - startedAt < 5_000) await new Promise((r) => setTimeout(r, 20));
      assert.equal(server.handshakes, 2, "reconnected after closing the stream");
      assert.match(received.join(""), /<stream:error><policy-violation xmlns="urn:ietf:params:xml:ns:xmpp-streams"\/><\/stream:error>/);
      assert.equal(link.lastError, "policy-violation");
    } finally {
      await link.stop();
      await server.close();
    }
  });

  test("a server that stops reading: the outbound queue and memory stay bounded for 20 s of traffic", async () => {
    const body = "x".repeat(2_000);
    let flood: NodeJS.Timeout | undefined;
    const server = await RawComponentServer.start((socket) => {
      socket.pause(); // never read what the component sends
      let n = 0;
      flood = setInterval(() => {
        let chunk = "";
        for (let i = 0; i < 20; i++) chunk += `<message from='user@localhost/x' to='echo.localhost' type='chat' id='f${n++}'><body>${body}</body></message>`;
        socket.write(chunk);
      }, 10);
    });
    const maxQueueBytes = 1024 * 1024;
    const link = new LinkSupervisor({ host: "127.0.0.1", port: server.port, domain: "echo.localhost", secret: "x", log: silent, keepalive: false, maxQueueBytes });
    const host = new ComponentHost({ component: Echo, domain: "echo.localhost", log: silent, transport: link });
    link.on("stanza", (el) => void host.dispatch(el));
    try {
      await link.start();
      global.gc?.();
      const heapBefore = process.memoryUsage().heapUsed;
      let maxQueued = 0;
      let maxHeap = 0;
      const end = Date.now() + 20_000;
      while (Date.now() < end) {
        await new Promise((r) => setTimeout(r, 250));
        maxQueued = Math.max(maxQueued, link.stats().queuedBytes);
        maxHeap = Math.max(maxHeap, process.memoryUsage().heapUsed);
      }
      const stats = link.stats();
      assert.ok(stats.stanzasIn > 20_000, `the server really flooded us (${stats.stanzasIn} stanzas in)`);
      // Our queue is capped; the socket's own buffer adds at most one high-water mark and one stanza.
      assert.ok(maxQueued <= maxQueueBytes + 64 * 1024, `queued at most ${maxQueued} bytes`);
      assert.ok(maxHeap - heapBefore < 64 * 1024 * 1024, `heap grew by ${Math.round((maxHeap - heapBefore) / 1e6)} MB`);
    } finally {
      clearInterval(flood);
      await host.stop({ drainMs: 0 });
      await link.stop();
      await server.close();
    }
  });
});
