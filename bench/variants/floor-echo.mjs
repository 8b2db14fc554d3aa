// Variant C1, the floor: an XEP-0114 echo with no XML parser at all (research §4.1).
// It does the handshake by hand, splits the input on </message>, swaps to/from with indexOf/slice and
// writes once per input chunk. Input is decoded as a stream, so split UTF-8 characters stay whole.
// usage: node floor-echo.mjs <host:port> <domain>   (secret in $BENCH_SECRET)
import net from "node:net";
import { StringDecoder } from "node:string_decoder";
import { attr, componentStreamHeader, handshakeDigest } from "../lib/xep0114.mjs";

const [hostPort, domain] = process.argv.slice(2);
const [host, port] = hostPort.split(":");
const secret = process.env.BENCH_SECRET ?? "";
const socket = net.connect({ host, port: Number(port) });
socket.setNoDelay(true);
const decoder = new StringDecoder("utf8");
let buf = "";
let stage = "header"; // header -> handshake -> online

socket.on("connect", () => socket.write(componentStreamHeader(domain)));
socket.on("data", (d) => {
  buf += decoder.write(d);
  if (stage === "header") {
    const open = buf.indexOf("<stream:stream");
    const openEnd = open < 0 ? -1 : buf.indexOf(">", open);
    if (openEnd < 0) return;
    socket.write(`<handshake>${handshakeDigest(attr(buf.slice(open, openEnd + 1), "id"), secret)}</handshake>`);
    buf = buf.slice(openEnd + 1);
    stage = "handshake";
  }
  if (stage === "handshake") {
    if (buf.includes("<stream:error")) {
      console.error(`floor: refused: ${buf}`);
      process.exit(1);
    }
    const hs = buf.indexOf("<handshake");
    const hsEnd = hs < 0 ? -1 : buf.indexOf(">", hs);
    if (hsEnd < 0) return;
    buf = buf.slice(hsEnd + 1);
    stage = "online";
  }
  let out = "";
  let pos = 0;
  for (;;) {
    const start = buf.indexOf("<message", pos);
    if (start < 0) break;
    const close = buf.indexOf("</message>", start);
    if (close < 0) {
      pos = start;
      break;
    }
    const openEnd = buf.indexOf(">", start);
    const end = close + 10;
    // Never answer an error (RFC 6120 §8.3.1), or loops start.
    const type = buf.indexOf(" type=", start);
    if (!(type >= 0 && type < openEnd && buf.startsWith("error", type + 7))) out += swapped(buf, start, openEnd) + buf.slice(openEnd, end);
    pos = end;
  }
  buf = buf.slice(pos);
  if (out) socket.write(out);
});
socket.on("error", (err) => {
  console.error(`floor: ${err.message}`);
  process.exit(1);
});
socket.on("close", () => process.exit(0));
process.on("SIGTERM", () => socket.end("</stream:stream>"));

/** The opening tag [start, openEnd) with the values of from and to exchanged (either order, either quote). */
function swapped(buf, start, openEnd) {
  const f = valueSpan(buf, start, openEnd, " from=");
  const t = valueSpan(buf, start, openEnd, " to=");
  const [a, b] = f[0] < t[0] ? [f, t] : [t, f];
  return buf.slice(start, a[0]) + buf.slice(b[0], b[1]) + buf.slice(a[1], b[0]) + buf.slice(a[0], a[1]) + buf.slice(b[1], openEnd);
}

function valueSpan(buf, start, openEnd, name) {
  const at = buf.indexOf(name, start);
  if (at < 0 || at > openEnd) return [openEnd, openEnd];
  const q = at + name.length;
  const close = buf.indexOf(buf[q], q + 1);
  return [q + 1, close];
}
