// Opening an XEP-0114 stream for the load generator, in both modes:
// direct (we are the server, the component under test connects to us) and through Prosody
// (we are a second component, load.localhost). After the handshake the socket belongs to the generator.
import net from "node:net";
import { randomBytes } from "node:crypto";
import { StringDecoder } from "node:string_decoder";
import { attr, componentStreamHeader, handshakeDigest, serverStreamHeader } from "./xep0114.mjs";

/**
 * Reads from `socket` until `step(text)` returns a value other than undefined; resolves with that value.
 * `text` is everything decoded so far; the step returns { value, consumed } once it has what it waits for.
 */
function readUntil(socket, decoder, initial, step, timeoutMs, what) {
  return new Promise((resolve, reject) => {
    let text = initial;
    const done = (fn, arg) => {
      clearTimeout(timer);
      socket.off("data", onData);
      socket.off("close", onClose);
      socket.off("error", onError);
      fn(arg);
    };
    const check = () => {
      let r;
      try {
        r = step(text);
      } catch (err) {
        return done(reject, err);
      }
      if (r) done(resolve, { ...r, rest: text.slice(r.consumed) });
    };
    const onData = (d) => {
      text += decoder.write(d);
      check();
    };
    const onClose = () => done(reject, new Error(`connection closed while waiting for ${what}; got: ${text.slice(0, 300)}`));
    const onError = (err) => done(reject, err);
    const timer = setTimeout(() => done(reject, new Error(`timed out waiting for ${what}; got: ${text.slice(0, 300)}`)), timeoutMs);
    socket.on("data", onData);
    socket.on("close", onClose);
    socket.on("error", onError);
    check();
  });
}

/** Finds the complete `<stream:stream ...>` opening tag. */
function streamHeaderStep(text) {
  const start = text.indexOf("<stream:stream");
  if (start < 0) return undefined;
  const end = text.indexOf(">", start);
  if (end < 0) return undefined;
  return { tag: text.slice(start, end + 1), consumed: end + 1 };
}

/**
 * Direct mode: a listening XEP-0114 "server" on 127.0.0.1 (a free port) that accepts components for `domain`
 * whose handshake matches `secret`. `accept()` resolves with the next authenticated connection.
 */
export async function listenDirect({ domain, secret, timeoutMs = 30_000 }) {
  const waiting = [];
  const ready = [];
  const server = net.createServer((socket) => {
    socket.setNoDelay(true);
    negotiateAsServer(socket, domain, secret, timeoutMs).then(
      (link) => (waiting.length ? waiting.shift().resolve(link) : ready.push(link)),
      (err) => {
        socket.destroy();
        if (waiting.length) waiting.shift().reject(err);
      },
    );
  });
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  return {
    port: server.address().port,
    accept() {
      if (ready.length) return Promise.resolve(ready.shift());
      return new Promise((resolve, reject) => waiting.push({ resolve, reject }));
    },
    close() {
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

async function negotiateAsServer(socket, domain, secret, timeoutMs) {
  const decoder = new StringDecoder("utf8");
  const header = await readUntil(socket, decoder, "", streamHeaderStep, timeoutMs, "the component's stream header");
  const to = attr(header.tag, "to");
  if (to !== domain) {
    // XEP-0114 §3 / RFC 6120 §4.9.3.6: an unknown domain is host-unknown.
    socket.end(`${serverStreamHeader(domain, "x")}<stream:error><host-unknown xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error></stream:stream>`);
    throw new Error(`component asked for ${to}, expected ${domain}`);
  }
  const id = randomBytes(8).toString("hex");
  socket.write(serverStreamHeader(domain, id));
  const hs = await readUntil(
    socket,
    decoder,
    header.rest,
    (text) => {
      const start = text.indexOf("<handshake");
      if (start < 0) return undefined;
      const close = text.indexOf("</handshake>", start);
      if (close < 0) return undefined;
      const open = text.indexOf(">", start);
      return { digest: text.slice(open + 1, close).trim(), consumed: close + "</handshake>".length };
    },
    timeoutMs,
    "the handshake",
  );
  if (hs.digest !== handshakeDigest(id, secret)) {
    // XEP-0114 §3: a wrong digest is not-authorized.
    socket.end("<stream:error><not-authorized xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error></stream:stream>");
    throw new Error("the component's handshake digest is wrong");
  }
  socket.write("<handshake/>");
  return { socket, decoder, rest: hs.rest };
}

/** Through-Prosody mode: connect as a component (`domain`, e.g. load.localhost) and authenticate. */
export async function connectComponent({ host = "127.0.0.1", port, domain, secret, timeoutMs = 10_000 }) {
  const socket = net.connect({ host, port });
  await new Promise((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  socket.setNoDelay(true);
  const decoder = new StringDecoder("utf8");
  socket.write(componentStreamHeader(domain));
  const header = await readUntil(socket, decoder, "", streamHeaderStep, timeoutMs, "the server's stream header");
  const id = attr(header.tag, "id");
  if (!id) throw new Error(`the server's stream header has no id: ${header.tag}`);
  socket.write(`<handshake>${handshakeDigest(id, secret)}</handshake>`);
  const hs = await readUntil(
    socket,
    decoder,
    header.rest,
    (text) => {
      if (text.includes("<stream:error")) throw new Error(`the server refused the component: ${text.slice(0, 300)}`);
      const at = text.indexOf("<handshake");
      if (at < 0) return undefined;
      const end = text.indexOf(">", at);
      if (end < 0) return undefined;
      return { consumed: end + 1 };
    },
    timeoutMs,
    "the handshake reply",
  );
  return { socket, decoder, rest: hs.rest };
}
