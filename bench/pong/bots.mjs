// The load generator of `bench.mjs fake`, in a process of its own (pinned to the other core by the parent): a
// stand-in for the XEP-0114 component port and 2 × rooms bot players behind it. It costs less than what it
// measures: no XML parser (stanzas are split on "</message>", attributes found with indexOf, as
// bench/lib/loadgen.mjs does), inputs built from string templates and written once per interval.
//
// IPC with the parent: it sends { port } once listening; then { cmd: "join" | "count" | "stop-count" | "exit" };
// it answers "stop-count" with { snapshots, bad, unexpected, players }.
import { createHash } from "node:crypto";
import net from "node:net";
import { StringDecoder } from "node:string_decoder";

const [, , roomsArg, secret, domain, nsArg, inputHzArg] = process.argv;
const rooms = Number(roomsArg);
const NS = nsArg;
const INPUT_HZ = Number(inputHzArg);
const STREAM_ID = "bench-stream";

const players = [];
const byJid = new Map();
for (let i = 0; i < rooms * 2; i++) {
  const p = { jid: `p${i}@bench.test/bot`, seq: 0, ballY: 300, snapshots: 0 };
  players.push(p);
  byJid.set(p.jid, p);
}

let socket;
let online = false;
let counting = false;
let bad = 0;
let unexpected = 0;
/** IQs and presences from the component (its keepalive and claim probes): not game traffic. */
let others = 0;
let buffer = "";

function onStanza(stanza) {
  const at = stanza.indexOf(' to="');
  if (at === -1) return void bad++;
  const to = stanza.slice(at + 5, stanza.indexOf('"', at + 5));
  const player = byJid.get(to);
  if (!player) return void unexpected++;
  const s = stanza.indexOf("<s ");
  if (s === -1) return; // start, events: not snapshots
  const b = stanza.indexOf(' b="', s);
  if (b === -1) return void bad++;
  // b="x,y,vx,vy": the ball's y is the second field.
  const comma = stanza.indexOf(",", b);
  const y = Number(stanza.slice(comma + 1, stanza.indexOf(",", comma + 1)));
  if (Number.isNaN(y)) return void bad++;
  player.ballY = y;
  if (counting) player.snapshots++;
}

function onText(text) {
  buffer += text;
  if (!online) {
    const hs = buffer.indexOf("<handshake>");
    const end = buffer.indexOf("</handshake>");
    if (hs !== -1 && end !== -1) {
      const digest = buffer.slice(hs + 11, end);
      const expected = createHash("sha1").update(STREAM_ID + secret, "utf8").digest("hex");
      socket.write(digest === expected ? "<handshake/>" : "<stream:error><not-authorized xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>");
      online = digest === expected;
      buffer = buffer.slice(end + 12);
      if (online) process.send({ online: true });
    } else if (buffer.includes("<stream:stream") && !buffer.includes("</stream:stream") && !socket.headerSent) {
      socket.headerSent = true;
      socket.write(`<?xml version='1.0'?><stream:stream xmlns:stream='http://etherx.jabber.org/streams' xmlns='jabber:component:accept' from='${domain}' id='${STREAM_ID}'>`);
    }
    return;
  }
  // Stanza by stanza: messages are scanned; anything else (the link's keepalive and claim probes, IQs) is skipped
  // whole, so its attributes are never taken for a message's.
  let from = 0;
  for (;;) {
    const start = buffer.indexOf("<", from);
    if (start === -1) break;
    // The start tag must be whole before its name is judged: a read can end inside "<mess".
    const tagEnd = buffer.indexOf(">", start);
    if (tagEnd === -1) break;
    const name = buffer.startsWith("<message", start) ? "message" : /^<(iq|presence)[\s/>]/.exec(buffer.slice(start, start + 10))?.[1];
    if (name === undefined) {
      bad++;
      from = buffer.length; // unknown markup: drop what we have (counted) rather than misread it
      break;
    }
    let end;
    if (buffer[tagEnd - 1] === "/") end = tagEnd + 1;
    else {
      const close = buffer.indexOf(`</${name}>`, tagEnd);
      if (close === -1) break;
      end = close + name.length + 3;
    }
    if (name === "message") onStanza(buffer.slice(start, end));
    else others++;
    from = end;
  }
  buffer = from === 0 ? buffer : buffer.slice(from);
}

const server = net.createServer((s) => {
  socket = s;
  s.setNoDelay(true);
  const decoder = new StringDecoder("utf8");
  s.on("data", (d) => onText(decoder.write(d)));
  s.on("error", () => undefined);
});
server.listen(0, "127.0.0.1", () => process.send({ port: server.address().port }));

const message = (from, payload) => `<message from="${from}" to="${domain}" type="headline">${payload}</message>`;
// INPUT_SLICES=n spreads the inputs over the interval as independent players' would arrive: the players are cut
// into n groups, one group writing every interval/n ms (each player still at INPUT_HZ). The default, 1, is the
// worst case the reports use: every input of every player in one write (2 000 at 1 000 rooms). Spreading them
// (n = 10) cost the component more CPU (more, smaller reads) and did not change tick lateness beyond the noise.
const SLICES = Number(process.env.INPUT_SLICES ?? 1);
let inputs;
function join() {
  socket.write(players.map((p) => message(p.jid, `<join xmlns="${NS}"/>`)).join(""));
  let slice = 0;
  inputs = setInterval(() => {
    let out = "";
    for (let i = slice; i < players.length; i += SLICES) {
      const p = players[i];
      const y = Math.max(0, Math.min(500, Math.round(p.ballY - 50 + (Math.random() - 0.5) * 60)));
      out += message(p.jid, `<in xmlns="${NS}" seq="${++p.seq}" y="${y}"/>`);
    }
    slice = (slice + 1) % SLICES;
    socket.write(out);
  }, 1000 / INPUT_HZ / SLICES);
}

// The bench that started us is gone (its IPC channel closed): so is the measurement.
process.on("disconnect", () => process.exit(0));

process.on("message", (m) => {
  if (m.cmd === "join") join();
  else if (m.cmd === "count") counting = true;
  else if (m.cmd === "stop-count") {
    counting = false;
    const snapshots = players.reduce((n, p) => n + p.snapshots, 0);
    const silent = players.filter((p) => p.snapshots === 0).length;
    process.send({ snapshots, bad, unexpected, silent, others, players: players.length });
  } else if (m.cmd === "exit") {
    clearInterval(inputs);
    socket?.destroy();
    server.close();
    process.exit(0);
  }
});
