// What the generator sends and how it checks each reply. Every check compares against what was sent
// for that id (body text, addressee, reply kind), so a damaged, misrouted or wrong reply is counted.
import { CHECK_CORRUPT, CHECK_OK, CHECK_WRONG } from "./loadgen.mjs";

export const LOAD_DOMAIN = "load.localhost";
export const ECHO_JID = "bot@echo.localhost";
const FILLER = "the quick brown fox jumps over the lazy dog 0123456789 ".repeat(20);

/** The reply's `to` must be the sender u<k>@load.localhost of this id. */
function addressedBack(buf, start, openEnd, id) {
  const at = buf.indexOf(" to=", start);
  return at >= 0 && at < openEnd && buf.startsWith(`u${id & 15}@${LOAD_DOMAIN}`, at + 5);
}

/** The text between <body…> and </body> inside [from, end), or undefined. */
function bodySpan(buf, from, end) {
  const bs = buf.indexOf("<body", from);
  if (bs < 0 || bs >= end) return undefined;
  const open = buf.indexOf(">", bs) + 1;
  const close = buf.indexOf("</body>", open);
  if (close < 0 || close > end) return undefined;
  return [open, close];
}

/**
 * M(n) of research §4.1: a chat message with an n-byte ASCII body that starts with its id,
 * from one of 16 JIDs. The reply must carry the same id and body, addressed back to the sender.
 */
export function echoWorkload({ bodyBytes = 100 } = {}) {
  const bodyFor = (id) => {
    const head = `${id}:`;
    return head + FILLER.slice(0, Math.max(0, bodyBytes - head.length));
  };
  return {
    name: `echo-${bodyBytes}B`,
    bodyFor,
    stanza: (id) => `<message from='u${id & 15}@${LOAD_DOMAIN}/r' to='${ECHO_JID}' id='${id}' type='chat'><body>${bodyFor(id)}</body></message>`,
    check(buf, start, openEnd, end, id) {
      if (!buf.startsWith("message", start + 1)) return CHECK_WRONG;
      const span = bodySpan(buf, openEnd, end);
      if (!span || !addressedBack(buf, start, openEnd, id)) return CHECK_CORRUPT;
      const expected = bodyFor(id);
      return span[1] - span[0] === expected.length && buf.startsWith(expected, span[0]) ? CHECK_OK : CHECK_CORRUPT;
    },
  };
}

const MIX = "aé€𝄞"; // 1-, 2-, 3- and 4-byte UTF-8 code points (research §4.2 S5)

/** A body of about `bytes` UTF-8 bytes: an ASCII lead of 0..6 chars (shifts where slices cut) then the mix. */
export function nonAsciiBody(id, bytes) {
  const lead = "x".repeat(id % 7);
  return lead + id + ":" + MIX.repeat(Math.ceil(bytes / Buffer.byteLength(MIX)));
}

/**
 * S5: large non-ASCII bodies. In direct mode `sliceBytes` makes the generator write each stanza in
 * slices, so the component reads boundaries inside characters. The echoed body must be identical.
 * `sliceGapMs` spaces the slices out in time: without it the kernel may join slices written back to back into
 * one read (the generator's own tests need the boundaries for certain).
 */
export function largeWorkload({ bytes, sliceBytes, sliceGapMs }) {
  const bodies = new Map();
  return {
    name: `large-${bytes}B`,
    sliceBytes,
    sliceGapMs,
    bodies,
    stanza(id) {
      const body = nonAsciiBody(id, bytes);
      bodies.set(id, body);
      return `<message from='u${id & 15}@${LOAD_DOMAIN}/r' to='${ECHO_JID}' id='${id}' type='chat'><body>${body}</body></message>`;
    },
    check(buf, start, openEnd, end, id) {
      if (!buf.startsWith("message", start + 1)) return CHECK_WRONG;
      const expected = bodies.get(id);
      bodies.delete(id);
      const span = bodySpan(buf, openEnd, end);
      if (!span || !addressedBack(buf, start, openEnd, id)) return CHECK_CORRUPT;
      return span[1] - span[0] === expected.length && buf.startsWith(expected, span[0]) ? CHECK_OK : CHECK_CORRUPT;
    },
  };
}

export const UNKNOWN_NS = "urn:bench:unregistered";

/**
 * S4: IQ gets over `namespaces` registered namespaces (urn:bench:0..n-1, spread evenly), and 1 in 20
 * (5 %) to an unregistered one, which must be answered with service-unavailable (RFC 6120 §8.4).
 */
export function iqWorkload({ namespaces }) {
  const wrongKinds = new Map();
  const isUnknown = (id) => id % 20 === 0;
  const nsOf = (id) => (isUnknown(id) ? UNKNOWN_NS : `urn:bench:${(Math.imul(id, 2654435761) >>> 0) % namespaces}`);
  const noteWrong = (what, sample) => {
    const seen = wrongKinds.get(what);
    wrongKinds.set(what, { count: (seen?.count ?? 0) + 1, sample: seen?.sample ?? sample?.slice(0, 300) });
  };
  return {
    name: `iq-${namespaces}ns`,
    errorsExpected: true,
    wrongKinds,
    nsOf,
    stanza: (id) => `<iq type='get' id='${id}' to='${ECHO_JID}' from='u${id & 15}@${LOAD_DOMAIN}/r'><query xmlns='${nsOf(id)}'/></iq>`,
    check(buf, start, openEnd, end, id) {
      if (!buf.startsWith("iq", start + 1)) return noteWrong("not an iq"), CHECK_WRONG;
      if (!addressedBack(buf, start, openEnd, id)) return CHECK_CORRUPT;
      const at = buf.indexOf(" type=", start);
      const isResult = buf.startsWith("result", at + 7);
      if (!isUnknown(id)) return isResult ? CHECK_OK : (noteWrong("error for a registered namespace", buf.slice(start, end)), CHECK_WRONG);
      if (isResult) return noteWrong("result for an unregistered namespace"), CHECK_WRONG;
      const su = buf.indexOf("<service-unavailable", openEnd);
      if (su >= 0 && su < end) return CHECK_OK;
      const cond = /<([a-z-]+) xmlns=['"]urn:ietf:params:xml:ns:xmpp-stanzas['"]/.exec(buf.slice(openEnd, end));
      noteWrong(`unregistered namespace answered with ${cond ? cond[1] : "an error without a condition"}`);
      return CHECK_WRONG;
    },
  };
}
