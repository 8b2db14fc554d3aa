// A tiny in-process component for testing the generator: it connects to listenDirect like a real variant,
// echoes messages (to/from swapped) and can drop, duplicate or damage chosen replies.
import { connectComponent } from "../lib/links.mjs";

/**
 * fate(id) -> "ok" | "drop" | "dup" | "corrupt"; decodeEachChunkAlone mimics @xmpp/component 0.13.1
 * (each TCP chunk decoded on its own, so a character split across reads is damaged).
 */
export async function startFakeVariant({ port, domain, secret, fate = () => "ok", decodeEachChunkAlone = false, answer }) {
  const link = await connectComponent({ port, domain, secret });
  const { socket, decoder } = link;
  socket.removeAllListeners("data");
  let buf = link.rest;
  socket.on("data", (d) => {
    buf += decodeEachChunkAlone ? d.toString("utf8") : decoder.write(d);
    let out = "";
    for (;;) {
      const start = buf.indexOf("<");
      if (start < 0) break;
      const name = /^<(\w+)/.exec(buf.slice(start))?.[1];
      const endTag = `</${name}>`;
      const close = buf.indexOf(endTag, start);
      if (close < 0) break;
      const stanza = buf.slice(start, close + endTag.length);
      buf = buf.slice(close + endTag.length);
      const id = Number(/ id='(\d+)'/.exec(stanza)[1]);
      const reply = answer ? answer(stanza, id) : swap(stanza);
      const f = fate(id);
      if (f === "drop") continue;
      if (f === "corrupt") out += reply.replace("<body>", "<body>!");
      else out += f === "dup" ? reply + reply : reply;
    }
    if (out) socket.write(out);
  });
  return { close: () => socket.destroy(), write: (text) => socket.write(text) };
}

function swap(stanza) {
  const from = / from='([^']*)'/.exec(stanza)[1];
  const to = / to='([^']*)'/.exec(stanza)[1];
  return stanza.replace(` from='${from}'`, ` from='\u0000'`).replace(` to='${to}'`, ` to='${from}'`).replace(` from='\u0000'`, ` from='${to}'`);
}
