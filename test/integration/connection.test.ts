import assert from "node:assert/strict";
import { createServer } from "node:net";
import { after, before, describe, test } from "node:test";
import { xml } from "@xmpp/client";
import { bindLink, ComponentHost } from "annex";
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
    server: { port: prosody.componentPort },
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
    // Ten at a time (2 MB in flight): ejabberd reads a component's 200 KB stanzas more slowly than Annex writes
    // them, and a 10 MB burst would pass Annex's outbound limit (server.maxQueueBytes, 4 MiB), which refuses
    // the sends beyond it by design. What this test checks is the bytes of each echo.
    for (let start = 0; start < bodies.length; start += 10) {
      const window = bodies.slice(start, start + 10);
      for (const [j, body] of window.entries()) {
        await alice.send(xml("message", { to: "echo.localhost", type: "chat", id: `big-${start + j}` }, xml("body", {}, body)));
      }
      for (const [j, body] of window.entries()) {
        const i = start + j;
        const echo = await alice.waitFor(byId(`big-${i}`), 20_000, `echo ${i}`);
        const got = echo.getChildText("body") ?? "";
        assert.equal(Buffer.byteLength(got), Buffer.byteLength(body), `echo ${i}: length`);
        assert.ok(got === body, `echo ${i} differs`);
      }
    }
    assert.doesNotMatch(annex.output, /the server is not reading/);
  });

  test("the server killed and restarted 5 times, 2 s apart: each time the link is back within 1 s of the listener accepting, at about one attempt a second", async (t) => {
    // The shipped reconnect policy (config() sets no reconnect options): src/connection/backoff.ts.
    const onlineLines = () => annex.output.split("\n").filter((l) => l.includes('"msg":"online"'));
    for (let round = 0; round < 5; round++) {
      const from = annex.output.length;
      const onlineBefore = onlineLines().length;
      const downAt = Date.now();
      await prosody.kill();
      await prosody.launch();
      const listeningAt = Date.now();
      const deadline = listeningAt + 5_000;
      while (onlineLines().length === onlineBefore && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      const online = onlineLines().at(-1);
      assert.ok(onlineLines().length > onlineBefore && online, `round ${round}: not online again within 5 s; output:\n${annex.output.slice(from)}`);
      const onlineAt = (JSON.parse(online) as { time: number }).time;
      // Every failed attempt logs one line with its retry delay.
      const attempts = annex.output.slice(from).split("\n").filter((l) => l.includes('"retryInMs"')).length + 1;
      const outageMs = onlineAt - downAt;
      t.diagnostic(`${kind} round ${round}: down ${outageMs} ms, ${attempts} attempts, online ${onlineAt - listeningAt} ms after the listener was up`);
      assert.ok(onlineAt - listeningAt <= 1_000, `round ${round}: online ${onlineAt - listeningAt} ms after ${kind} listened (bound 1000 ms)`);
      // About one attempt a second: the policy waits at least 0.72 s between attempts after the first quick one.
      assert.ok(attempts <= 2 + Math.ceil(outageMs / 720), `round ${round}: ${attempts} attempts in a ${outageMs} ms outage:\n${annex.output.slice(from)}`);
      const client = await TestClient.connect(prosody, "alice", "pw", `round-${round}`);
      try {
        await client.send(xml("message", { to: "echo.localhost", type: "chat", id: `r${round}` }, xml("body", {}, "back?")));
        await client.waitFor(byId(`r${round}`), 3_000, `round ${round}: the echo`);
      } finally {
        await client.stop();
      }
      await new Promise((r) => setTimeout(r, Math.max(0, 2_000 - (Date.now() - listeningAt))));
    }
    assert.equal(annex.child.exitCode, null, "annex is still running");
    assert.doesNotMatch(annex.output, /unhandled|uncaught/i);
    assert.equal(onlineLines().length, 6, "online once at start and once after each restart");
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
    test("a second instance with the same domain: ejabberd admits it, Annex makes it leave (exit 78), the first answers every echo", async () => {
      await alice.stop();
      alice = await TestClient.connect(prosody, "alice", "pw");
      // ejabberd 23.01 has no conflict for a second ejabberd_service connection on a domain: it registers
      // another route, and the router picks one per stanza (domain_balancing decides how; random by default).
      // The two Annex processes learn of each other from their keepalive probes, and the later one leaves.
      const second = await AnnexProcess.start(config(), { waitOnline: false });
      assert.equal(await second.exited, 78, second.output);
      assert.match(second.output, /shared-domain: another Annex process has served echo\.localhost/);
      const ids = Array.from({ length: 40 }, (_, i) => `both-${i}`);
      for (const id of ids) await alice.send(xml("message", { to: "echo.localhost", type: "chat", id }, xml("body", {}, id)));
      for (const id of ids) await alice.waitFor(byId(id), 5_000, `echo ${id}`);
      for (const id of ids) assert.equal(alice.all(byId(id)).length, 1, `${id} answered once`);
      assert.equal(alice.all((el) => el.attrs.type === "error").length, 0, "no bounce: the route of the process that left is gone");
    });
  }
});

describe("the component link against faulty servers", () => {
  test("a server that refuses every stream with a stream error is not hammered: the delays double from 0.45-0.9 s", async () => {
    // Answers each stream header with a stream error (RFC 6120 §4.9.3.8 internal-server-error: not fatal for Annex).
    const streams: number[] = [];
    const refusing = createServer((socket) => {
      socket.on("error", () => undefined);
      socket.once("data", () => {
        streams.push(Date.now());
        socket.end("<?xml version='1.0'?><stream:stream xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams' id='x'><stream:error><internal-server-error xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error></stream:stream>");
      });
    });
    await new Promise<void>((resolve) => refusing.listen(0, "127.0.0.1", resolve));
    const port = (refusing.address() as { port: number }).port;
    const delays: number[] = [];
    const log = pino({ level: "warn" }, { write: (line: string) => void delays.push(JSON.parse(line).retryInMs as number) });
    const link = new LinkSupervisor({ host: "127.0.0.1", port, domain: "echo.localhost", secret: "x", log, keepalive: false });
    try {
      void link.start().catch(() => undefined);
      const deadline = Date.now() + 6_000;
      while (streams.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      const [a, b] = delays.filter((d) => d !== undefined);
      assert.equal(link.lastError, "internal-server-error");
      assert.ok(a! >= 450 && a! <= 900, `first refusal: retry in ${a} ms`);
      assert.ok(b! >= 900 && b! <= 1800, `second refusal: retry in ${b} ms`);
      assert.ok(streams.length >= 3 && streams[2]! - streams[0]! >= 1350, `three streams ${streams.map((t) => t - streams[0]!)} ms apart`);
    } finally {
      await link.stop();
      await new Promise<void>((resolve) => refusing.close(() => resolve()));
    }
  });

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

  /**
   * A server that sends `bad` once, after the first handshake: the link must close the stream with `condition`
   * (RFC 6120 §4.9), dispatch nothing of it, and connect again.
   */
  async function closesTheStreamWith(condition: string, bad: string): Promise<void> {
    const received: string[] = [];
    const server: RawComponentServer = await RawComponentServer.start((socket) => {
      socket.on("data", (d) => received.push(d.toString()));
      if (server.handshakes === 1) socket.write(bad);
    });
    const link = new LinkSupervisor({ host: "127.0.0.1", port: server.port, domain: "echo.localhost", secret: "x", log: silent, keepalive: false, backoff: { initialMs: 50, maxMs: 100 } });
    const stanzas: string[] = [];
    link.on("stanza", (el: { toString(): string }) => stanzas.push(el.toString()));
    try {
      await link.start();
      const startedAt = Date.now();
      while (server.handshakes < 2 && Date.now() - startedAt < 5_000) await new Promise((r) => setTimeout(r, 20));
      assert.equal(server.handshakes, 2, "reconnected after closing the stream");
      assert.ok(received.join("").includes(`<stream:error><${condition} xmlns="urn:ietf:params:xml:ns:xmpp-streams"/></stream:error>`), `closed with ${condition}`);
      assert.equal(link.lastError, condition);
      assert.deepEqual(stanzas, [], "nothing of it was dispatched");
    } finally {
      await link.stop();
      await server.close();
    }
  }

  test("an oversized incoming stanza closes the stream with policy-violation, and the link reconnects", () =>
    closesTheStreamWith("policy-violation", `<message from='user@localhost' to='echo.localhost'><body>${"y".repeat(600 * 1024)}</body></message>`));

  test("restricted XML (a comment) closes the stream with restricted-xml, not bad-format, and the link reconnects", () =>
    closesTheStreamWith("restricted-xml", `<message from='user@localhost' to='echo.localhost'><!-- RFC 6120 §11.1 --><body>x</body></message>`));

  test("XML that is not well-formed (an attribute given twice) closes the stream with not-well-formed", () =>
    closesTheStreamWith("not-well-formed", `<message from='user@localhost' to='echo.localhost' to='other.localhost'><body>x</body></message>`));

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
    const host = new ComponentHost({ component: Echo, domain: "echo.localhost", log: silent });
    bindLink(host, link);
    let stanzasIn = 0;
    link.on("stanza", () => stanzasIn++);
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
      assert.ok(stanzasIn > 20_000, `the server really flooded us (${stanzasIn} stanzas in)`);
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
