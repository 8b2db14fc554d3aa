import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, test } from "node:test";
import { classifyFailure } from "../../src/connection/classify.js";
import { serverFromHeader, sniffNotXmpp } from "../../src/connection/server-kind.js";
import { once } from "node:events";
import { connect, createServer, type Socket } from "node:net";
import { handshakeDigest, TcpTransport } from "../../src/connection/transport.js";
import { StreamParser } from "../../src/stanza/parser.js";
import { LinkSupervisor } from "../../src/connection/supervisor.js";
import { xml } from "annex";
import { pino } from "pino";

describe("handshake (XEP-0114 §3)", () => {
  test("the digest is SHA-1 over the UTF-8 bytes of stream id + secret", () => {
    const expected = createHash("sha1").update(Buffer.from("abc123pässwörd€", "utf8")).digest("hex");
    assert.equal(handshakeDigest("abc123", "pässwörd€"), expected);
    // @xmpp/component-core 0.13.1 hashes latin1 ("binary"), which differs for this secret.
    assert.notEqual(handshakeDigest("abc123", "pässwörd€"), createHash("sha1").update("abc123pässwörd€", "binary").digest("hex"));
  });
});

describe("failure classification", () => {
  const classify = (condition: string) => classifyFailure({ condition }, "echo.localhost", "xmpp://127.0.0.1:5347");
  test("a wrong secret is fatal and points at component_secret, without the secret", () => {
    const c = classify("not-authorized");
    assert.equal(c.kind, "fatal");
    assert.match(c.advice, /secret/);
    assert.match(c.advice, /component_secret under Component "echo.localhost"/);
  });
  test("an unknown component domain is fatal and points at the Component line", () => {
    const c = classify("host-unknown");
    assert.equal(c.kind, "fatal");
    assert.match(c.advice, /add Component "echo.localhost"/);
  });
  test("a conflict retries slowly and says how to resolve it", () => {
    const c = classify("conflict");
    assert.equal(c.kind, "conflict");
    assert.match(c.advice, /component_conflict_resolve/);
  });
  test("every RFC 6120 §4.9.3 stream error condition is classified", () => {
    const fatal = new Set(["not-authorized", "host-unknown", "host-gone", "invalid-namespace", "unsupported-version"]);
    const all = [
      "bad-format", "bad-namespace-prefix", "conflict", "connection-timeout", "host-gone", "host-unknown", "improper-addressing",
      "internal-server-error", "invalid-from", "invalid-namespace", "invalid-xml", "not-authorized", "not-well-formed",
      "policy-violation", "remote-connection-failed", "reset", "resource-constraint", "restricted-xml", "see-other-host",
      "system-shutdown", "undefined-condition", "unsupported-encoding", "unsupported-feature", "unsupported-stanza-type", "unsupported-version",
    ];
    for (const condition of all) {
      const c = classify(condition);
      const expected = fatal.has(condition) ? "fatal" : condition === "conflict" ? "conflict" : "retry";
      assert.equal(c.kind, expected, condition);
      assert.equal(c.condition, condition);
      assert.ok(c.advice.includes("echo.localhost"), `${condition}: the advice names the domain`);
    }
  });

  test("network errors and other stream errors are retried", () => {
    assert.equal(classifyFailure(Object.assign(new Error("refused"), { code: "ECONNREFUSED" }), "e", "s").kind, "retry");
    assert.equal(classify("system-shutdown").kind, "retry");
  });
});

test("a stanza sent while the link is down is refused with a clear error, not silently lost", async () => {
  const link = new LinkSupervisor({ host: "127.0.0.1", port: 1, domain: "echo.localhost", secret: "x", log: pino({ level: "silent" }) });
  await assert.rejects(link.send(xml("message", { to: "a@localhost", from: "echo.localhost" })), { code: "ANNEX_ERR_LINK_DOWN", message: /not online \(state idle\)/ });
});

test("input split anywhere (inside characters, inside a long text node) reaches the parser intact", async () => {
  const { TcpTransport } = await import("../../src/connection/transport.js");
  const link = new TcpTransport({ service: "xmpp://127.0.0.1:1", domain: "echo.localhost", secret: "x" });
  const body = "aé€𝄞".repeat(20_000);
  const stanza = `<message from='a@localhost/r' to='echo.localhost'><body>${body}</body></message>`;
  const writes: string[] = [];
  (link as unknown as { parser: { write(s: string): void } }).parser = { write: (s) => writes.push(s) };
  const bytes = Buffer.from(stanza, "utf8");
  for (let i = 0; i < bytes.length; i += 1000) link._onData(bytes.subarray(i, i + 1000));
  // A read past 16 Ki characters is parsed a slice per turn of the event loop: let the turns pass.
  for (let turn = 0; turn < 10; turn++) await new Promise((resolve) => setImmediate(resolve));
  assert.equal(writes.join(""), stanza, "every character intact, in order");
  assert.ok(writes.length < 10, `the long text node reached the parser in a few writes (${writes.length}), not one per read`);
});

describe("server-aware advice and wrong ports", () => {
  const domain = "echo.localhost";
  const service = "xmpp://127.0.0.1:5347";
  test("the server is told apart by its stream id (Prosody: a UUID; ejabberd: a long number)", () => {
    assert.equal(serverFromHeader({ id: "6f78026a-78d0-428a-8a9b-14c683961cf2" }), "prosody");
    assert.equal(serverFromHeader({ id: "3514853264031550147" }), "ejabberd");
    assert.equal(serverFromHeader({ id: "abc" }), "unknown");
    assert.equal(serverFromHeader({}), "unknown");
  });

  test("each server's fix names its own configuration", () => {
    assert.match(classifyFailure({ condition: "not-authorized" }, domain, service, "prosody").advice, /^Prosody rejected the secret for echo\.localhost: .*component_secret under Component "echo\.localhost"/);
    const ej = classifyFailure({ condition: "not-authorized" }, domain, service, "ejabberd").advice;
    assert.match(ej, /^ejabberd refused echo\.localhost: check that echo\.localhost is listed under hosts of the ejabberd_service listener/);
    assert.doesNotMatch(ej, /component_secret|Prosody/);
    assert.match(classifyFailure({ condition: "conflict" }, domain, service, "prosody").advice, /component_conflict_resolve = "kick_old"/);
    assert.doesNotMatch(classifyFailure({ condition: "conflict" }, domain, service, "ejabberd").advice, /component_conflict_resolve/);
  });

  test("ejabberd's own host as a component domain is fatal, not a slow retry", () => {
    const c = classifyFailure({ condition: "conflict", text: "Unable to register route on existing local domain" }, "localhost", service, "ejabberd");
    assert.equal(c.kind, "fatal");
    assert.match(c.advice, /^ejabberd already serves localhost as one of its own hosts/);
  });

  test("the first bytes tell an HTTP port, a TLS port and other non-XMPP ports from a component port", () => {
    assert.deepEqual(sniffNotXmpp(Buffer.from("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")), { condition: "http-port", seen: '"HTTP/1.1 400 Bad Request"' });
    assert.equal(sniffNotXmpp(Buffer.from([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x46]))?.condition, "tls-port");
    assert.equal(sniffNotXmpp(Buffer.from("SSH-2.0-OpenSSH_9.2\r\n"))?.condition, "not-xmpp");
    assert.equal(sniffNotXmpp(Buffer.from("  <?xml version='1.0'?><stream:stream")), undefined);
    assert.match(classifyFailure({ condition: "tls-port", seen: "a TLS record" }, domain, service, "unknown").advice, /speaks TLS first \(it sent a TLS record\): set server\.tls/);
    for (const condition of ["client-port", "http-port", "not-xmpp"]) {
      const c = classifyFailure({ condition, seen: "x" }, domain, "xmpp://127.0.0.1:5222", "prosody");
      assert.equal(c.kind, "fatal", condition);
      assert.match(c.advice, /^xmpp:\/\/127\.0\.0\.1:5222 .*set server\.port to Prosody's component_ports \(default 5347\)/, condition);
    }
  });
});

describe("TLS failures", () => {
  test("an untrusted certificate and a plain port behind server.tls are fatal with the setting to change", () => {
    const untrusted = classifyFailure(Object.assign(new Error("self-signed certificate"), { code: "DEPTH_ZERO_SELF_SIGNED_CERT" }), "echo.localhost", "xmpp://10.0.0.2:5347");
    assert.equal(untrusted.kind, "fatal");
    assert.match(untrusted.advice, /^the TLS certificate of xmpp:\/\/10\.0\.0\.2:5347 is not trusted \(DEPTH_ZERO_SELF_SIGNED_CERT: self-signed certificate\): set server\.tls\.caFile/);
    const plain = classifyFailure(Object.assign(new Error("wrong version number"), { code: "ERR_SSL_WRONG_VERSION_NUMBER" }), "echo.localhost", "xmpp://127.0.0.1:5347");
    assert.equal(plain.kind, "fatal");
    assert.match(plain.advice, /does not speak TLS .*remove server\.tls/);
  });
});

describe("reading a burst", () => {
  test("a tick's stanzas leave as one batch of their UTF-8 bytes, in order, whatever their characters and sizes", async () => {
    const { transport, serverSide, counters, close } = await transportOnSocket();
    const received: Buffer[] = [];
    serverSide.on("data", (d: Buffer) => received.push(d));
    const shown: string[] = [];
    transport.on("output", (text: string) => shown.push(text));
    try {
      // Several ticks: one stanza alone, a few, and many (the batch's buffer grows past its first size), with
      // one-, two-, three- and four-byte UTF-8 and a lone surrogate (written as U+FFFD, as socket.write does).
      const ticks = [1, 3, 400, 2];
      const texts: string[] = [];
      for (const [t, n] of ticks.entries()) {
        const sent: Promise<void>[] = [];
        for (let i = 0; i < n; i++) {
          const body = ["plain", "é", "€", "😀", "\uD800", "x".repeat(i === 7 ? 100_000 : i)][i % 6]!;
          const text = `<message to="p${i}@x" id="${t}-${i}"><body>${body}</body></message>`;
          texts.push(text);
          sent.push(transport.write(text));
        }
        await Promise.all(sent);
      }
      const expected = Buffer.from(texts.join(""));
      for (let waited = 0; Buffer.concat(received).length < expected.length && waited < 200; waited++) await new Promise((r) => setTimeout(r, 5));
      assert.ok(Buffer.concat(received).equals(expected), "the bytes of every stanza, in order");
      assert.equal(counters.bytesOut, expected.length, "bytesOut counts UTF-8 bytes");
      assert.deepEqual(shown, texts, "the output event shows each stanza");
    } finally {
      close();
    }
  });

  test("maxStanzaBytes judges each stanza, not each read: a burst of small stanzas passes, one stanza over it closes the stream with policy-violation", async () => {
    const { transport, serverSide, close } = await transportOnSocket({ maxStanzaBytes: 2_000 });
    const fromServer: string[] = [];
    serverSide.on("data", (d: Buffer) => fromServer.push(d.toString()));
    const errors: (Error & { condition?: string })[] = [];
    transport.on("error", (err: Error) => errors.push(err));
    const ids: string[] = [];
    transport.on("element", (el: { name: string; attrs: Record<string, string> }) => el.name === "message" && ids.push(el.attrs.id!));
    try {
      const header = "<?xml version='1.0'?><stream:stream xmlns:stream='http://etherx.jabber.org/streams' xmlns='jabber:component:accept' id='s1'><handshake/>";
      // 600 stanzas of ≈ 150 characters in one write (≈ 90 000 characters, 45 × the limit).
      let burst = header;
      for (let i = 0; i < 600; i++) burst += `<message from="p${i}@x" to="pong.localhost" id="${i}"><body>${"b".repeat(80)}</body></message>`;
      serverSide.write(burst);
      for (let waited = 0; ids.length < 600 && waited < 400; waited++) await new Promise((r) => setTimeout(r, 5));
      assert.equal(ids.length, 600, "every small stanza arrived");
      assert.equal(errors.length, 0, errors.map((e) => e.message).join("; "));
      // One stanza of 3 000 characters, in three reads, the middle one without markup.
      serverSide.write(`<message from="big@x" to="pong.localhost" id="big"><body>${"c".repeat(900)}`);
      await new Promise((r) => setTimeout(r, 20));
      serverSide.write("d".repeat(1_000));
      await new Promise((r) => setTimeout(r, 20));
      serverSide.write(`${"e".repeat(1_100)}</body></message><message from="after@x" to="pong.localhost" id="after"/>`);
      for (let waited = 0; errors.length === 0 && waited < 200; waited++) await new Promise((r) => setTimeout(r, 5));
      assert.equal(errors[0]?.condition, "policy-violation");
      assert.match(errors[0]!.message, /exceeds 2000 characters \(server\.maxStanzaBytes\)/);
      for (let waited = 0; !fromServer.join("").includes("policy-violation") && waited < 200; waited++) await new Promise((r) => setTimeout(r, 5));
      assert.match(fromServer.join(""), /<stream:error><policy-violation xmlns=['"]urn:ietf:params:xml:ns:xmpp-streams['"]\/>/);
      assert.ok(!ids.includes("big") && !ids.includes("after"), "nothing is dispatched past the oversized stanza");
    } finally {
      close();
    }
  });

  test("1 MB of stanzas at once is parsed in turns: a timer due meanwhile runs between two slices, and every stanza arrives in order", async () => {
    const total = 10_000;
    let burst = "<?xml version='1.0'?><stream:stream xmlns:stream='http://etherx.jabber.org/streams' xmlns='jabber:component:accept' id='b1'><handshake/>";
    for (let i = 0; i < total; i++) burst += `<message from="p${i}@players.localhost/r" to="pong.localhost" id="${i}"><in xmlns="urn:annex:pong:1" y="${i % 500}"/></message>`;
    assert.ok(burst.length > 1_000_000);
    // The whole burst waits in the kernel before the first read, as when a server forwards a backlog at once.
    const { transport, socket, serverSide, close } = await transportOnSocket({ paused: true });
    serverSide.end(burst);
    for (let waited = 0; serverSide.writableLength > 0 && waited < 100; waited++) await new Promise((r) => setTimeout(r, 5));
    socket.resume();
    const ids: number[] = [];
    let seenWhenTimerRan: number | undefined;
    try {
      await new Promise<void>((resolve) => {
        transport.on("element", (el: { name: string; attrs: Record<string, string> }) => {
          if (el.name !== "message") return;
          if (ids.length === 0) {
            setTimeout(() => (seenWhenTimerRan = ids.length), 0);
            // The timer is certainly due before this read is done (setTimeout(0) waits 1 ms).
            for (const until = Date.now() + 3; Date.now() < until; );
          }
          ids.push(Number(el.attrs.id));
          if (ids.length === total) resolve();
        });
      });
      assert.deepEqual(ids, Array.from({ length: total }, (_, i) => i));
      // A read is parsed 16 Ki characters per turn: the timer runs once the first slice's stanzas are dispatched
      // (without turns, libuv went on reading what the kernel held, three 64 KiB reads here, before any timer).
      const perSlice = burst.slice(0, 16_384 + 200).split("</message>").length;
      assert.ok(seenWhenTimerRan !== undefined && seenWhenTimerRan <= perSlice, `the timer ran after ${seenWhenTimerRan} of ${total} stanzas (a slice holds at most ${perSlice})`);
    } finally {
      close();
    }
  });
});

/**
 * A TcpTransport on a connected socket, with its parser, and the other end of that socket: the test speaks for the
 * server (no stream opened, no handshake unless it writes them).
 */
async function transportOnSocket(options: { maxStanzaBytes?: number; paused?: boolean } = {}) {
  let serverSide: Socket | undefined;
  const server = createServer((s) => (serverSide = s));
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as { port: number };
  const transport = new TcpTransport({ service: `xmpp://127.0.0.1:${port}`, domain: "pong.localhost", secret: "x", maxStanzaBytes: options.maxStanzaBytes });
  const socket = connect(port, "127.0.0.1");
  await once(socket, "connect");
  if (options.paused) socket.pause();
  const wire = transport as unknown as { _attachSocket(s: unknown): void; _attachParser(p: unknown): void; counters: { bytesOut: number } };
  wire._attachSocket(socket);
  wire._attachParser(new StreamParser());
  while (!serverSide) await new Promise((r) => setTimeout(r, 1));
  return {
    transport,
    socket,
    serverSide: serverSide as Socket,
    counters: wire.counters,
    close: () => {
      socket.destroy();
      server.close();
    },
  };
}
