// The load generator's hot path: pre-built stanza strings out, replies found by indexOf, no XML parse.
// Every id is sent once; its send (or scheduled) time sits in a Float64Array and its state in a Uint8Array,
// so a reply is matched, timed and checked (lost, duplicate, corrupt, wrong) without allocation.
import { performance } from "node:perf_hooks";
import { Histogram } from "./histogram.mjs";

export const CHECK_OK = 0;
export const CHECK_CORRUPT = 1; // the payload differs from what was sent (e.g. a damaged body)
export const CHECK_WRONG = 2; // a reply of the wrong kind (e.g. a result where an error was due)

const UNSENT = 0;
const OUTSTANDING = 1;
const ANSWERED = 2;

export class LoadGenerator {
  /**
   * @param link {socket, decoder, rest} from links.mjs (an authenticated XEP-0114 stream)
   * @param workload {stanza(id): string, check(buf, start, openEnd, end, id): number, sliceBytes?: number}
   */
  constructor(link, workload, { capacity = 1 << 22 } = {}) {
    this.socket = link.socket;
    this.decoder = link.decoder;
    this.workload = workload;
    this.capacity = capacity;
    this.sentAt = new Float64Array(capacity);
    this.state = new Uint8Array(capacity);
    this.histogram = new Histogram();
    this.nextId = 1;
    this.buf = "";
    this.window = 0; // > 0: closed loop, keep this many outstanding
    this.sendLimit = Infinity; // closed loop stops once this many were sent since the last reset
    this.sending = false;
    this.recordFrom = 0; // latencies are recorded for ids in [recordFrom, recordTo)
    this.recordTo = 0;
    this.closed = false;
    this.onAnswer = null; // optional hook (id, ok) for closed-loop scenarios
    this.outstanding = 0;
    this.resetCounters();
    this.socket.on("data", (d) => this.onData(this.decoder.write(d)));
    this.socket.on("close", () => (this.closed = true));
    this.socket.on("error", () => (this.closed = true));
    if (link.rest) this.onData(link.rest);
  }

  /**
   * Starts a new measurement: counters, histogram, and the id range that lost replies are counted in.
   * Latencies are recorded for every id sent from now until stopRecording(), whenever their replies come.
   */
  resetCounters() {
    this.baseId = this.nextId ?? 1;
    this.recordFrom = this.baseId;
    this.recordTo = Number.MAX_SAFE_INTEGER;
    this.sent = 0;
    this.answered = 0; // first replies of any kind
    this.ok = 0;
    this.corrupt = 0;
    this.wrong = 0;
    this.errors = 0; // type='error' replies where a normal reply was due
    this.duplicates = 0;
    this.unexpected = 0; // replies with an id never sent (or outside the ring)
    this.probes = 0; // the component's own keepalive/claim pings (not replies)
    // `outstanding` is not reset: stanzas sent before still count against the window until answered.
    this.histogram?.reset();
  }

  /** Sends `count` new stanzas in one write; their latency is measured from `at` (default: now). */
  send(count, at) {
    if (this.closed || count <= 0) return 0;
    const t = at ?? performance.now();
    let out = "";
    let n = 0;
    for (; n < count && this.nextId < this.capacity; n++) {
      const id = this.nextId++;
      this.sentAt[id] = t;
      this.state[id] = OUTSTANDING;
      out += this.workload.stanza(id);
    }
    this.sent += n;
    this.outstanding += n;
    this.write(out);
    return n;
  }

  /** Open loop: sends ids whose scheduled times are given by `timeOf(i)` for i in [from, to). */
  sendScheduled(from, to, timeOf) {
    if (this.closed) return;
    let out = "";
    for (let i = from; i < to && this.nextId < this.capacity; i++) {
      const id = this.nextId++;
      this.sentAt[id] = timeOf(i);
      this.state[id] = OUTSTANDING;
      out += this.workload.stanza(id);
      this.sent++;
      this.outstanding++;
    }
    this.write(out);
  }

  write(out) {
    if (!out) return;
    const slice = this.workload.sliceBytes;
    if (!slice) {
      this.socket.write(out);
      return;
    }
    // Each slice its own write: the receiver sees boundaries inside multi-byte characters.
    const bytes = Buffer.from(out, "utf8");
    const gap = this.workload.sliceGapMs;
    for (let i = 0; i < bytes.length; i += slice) {
      const part = bytes.subarray(i, i + slice);
      if (!gap) {
        this.socket.write(part);
        continue;
      }
      // Spaced slices stay in order across writes: each waits for the slot after the previous one.
      const now = performance.now();
      const at = Math.max(now, this.nextSliceAt ?? 0);
      this.nextSliceAt = at + gap;
      setTimeout(() => this.socket.write(part), at - now);
    }
  }

  /** Keeps `window` stanzas in flight (closed loop). */
  fill() {
    if (this.sending && this.window > 0 && this.outstanding < this.window) this.send(Math.min(this.window - this.outstanding, this.sendLimit - this.sent));
  }

  onData(text) {
    if (!text) return;
    const now = performance.now();
    let buf = this.buf.length ? this.buf + text : text;
    let pos = 0;
    for (;;) {
      const start = buf.indexOf("<", pos);
      if (start < 0) {
        pos = buf.length;
        break;
      }
      const openEnd = buf.indexOf(">", start);
      if (openEnd < 0) {
        pos = start;
        break;
      }
      const c1 = buf.charCodeAt(start + 1);
      if (c1 === 47 /* '/' */) {
        // </stream:stream>: the other side closed the stream.
        this.closed = true;
        pos = openEnd + 1;
        continue;
      }
      if (c1 === 63 /* '?' */ || buf.startsWith("stream:", start + 1)) {
        pos = openEnd + 1;
        continue;
      }
      let end;
      if (buf.charCodeAt(openEnd - 1) === 47 /* self-closing */) {
        end = openEnd + 1;
      } else {
        let nameEnd = start + 1;
        for (;;) {
          const c = buf.charCodeAt(nameEnd);
          if (c === 32 || c === 62 || c === 47 || c === 9 || c === 10 || c === 13) break;
          nameEnd++;
        }
        const closeTag = "</" + buf.slice(start + 1, nameEnd) + ">";
        const close = buf.indexOf(closeTag, openEnd);
        if (close < 0) {
          pos = start;
          break;
        }
        end = close + closeTag.length;
      }
      this.onStanza(buf, start, openEnd, end, now);
      pos = end;
    }
    this.buf = pos >= buf.length ? "" : buf.slice(pos);
    this.fill();
  }

  onStanza(buf, start, openEnd, end, now) {
    // Annex's link pings its own domain through the server (keepalive, and its claim on the domain for the first
    // seconds online: src/connection/keepalive.ts): traffic of the link, not a reply, so not "unexpected".
    const probe = buf.indexOf("annex-keepalive-", start);
    if (probe !== -1 && probe < openEnd && buf.startsWith("<iq", start)) {
      this.probes++;
      return;
    }
    const id = readId(buf, start, openEnd);
    if (id <= 0 || id >= this.capacity || this.state[id] === UNSENT) {
      this.unexpected++;
      return;
    }
    if (this.state[id] === ANSWERED) {
      this.duplicates++;
      return;
    }
    this.state[id] = ANSWERED;
    this.outstanding--;
    this.answered++;
    if (isErrorType(buf, start, openEnd) && !this.workload.errorsExpected) {
      this.errors++;
      return;
    }
    const verdict = this.workload.check(buf, start, openEnd, end, id);
    if (verdict === CHECK_OK) {
      this.ok++;
      if (id >= this.recordFrom && id < this.recordTo) this.histogram.recordMs(now - this.sentAt[id]);
    } else if (verdict === CHECK_CORRUPT) this.corrupt++;
    else this.wrong++;
    if (this.onAnswer) this.onAnswer(id, verdict === CHECK_OK);
  }

  /** Ids sent from now on are not timed (their replies are still counted and checked). */
  stopRecording() {
    this.recordTo = this.nextId;
  }

  /** Ids sent since the last reset that have no reply yet. */
  countLost() {
    let lost = 0;
    for (let id = this.baseId; id < this.nextId; id++) if (this.state[id] === OUTSTANDING) lost++;
    return lost;
  }

  /** Waits until nothing is outstanding, or `timeoutMs`. */
  async drain(timeoutMs) {
    const deadline = performance.now() + timeoutMs;
    while (this.outstanding > 0 && !this.closed && performance.now() < deadline) await sleep(5);
  }

  counts() {
    return {
      sent: this.sent,
      ok: this.ok,
      lost: this.countLost(),
      corrupt: this.corrupt,
      wrong: this.wrong,
      errors: this.errors,
      duplicates: this.duplicates,
      unexpected: this.unexpected,
      probes: this.probes,
    };
  }

  close() {
    this.sending = false;
    this.socket.destroy();
  }
}

export function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

/** The numeric id attribute of the opening tag [start, openEnd], or -1. */
export function readId(buf, start, openEnd) {
  let at = buf.indexOf(" id=", start);
  if (at < 0 || at > openEnd) return -1;
  at += 5; // past the quote
  let id = 0;
  let digits = 0;
  for (;;) {
    const c = buf.charCodeAt(at++) - 48;
    if (c < 0 || c > 9) break;
    id = id * 10 + c;
    digits++;
  }
  return digits ? id : -1;
}

function isErrorType(buf, start, openEnd) {
  const at = buf.indexOf(" type=", start);
  return at >= 0 && at < openEnd && buf.startsWith("error", at + 7);
}
