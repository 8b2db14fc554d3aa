/// <reference path="../../types/xmpp.d.ts" preserve="true" />
import { createHash } from "node:crypto";
import { once } from "node:events";
import { isIP, type Socket } from "node:net";
import { StringDecoder } from "node:string_decoder";
import { connect as tlsConnect } from "node:tls";
import { Component, xml } from "@xmpp/component-core";
import type { Element } from "../stanza/xml.js";
import { errors } from "../errors.js";
import { serialize } from "../pipeline/fanout.js";
import { StreamParser, XmlStreamError } from "../stanza/parser.js";
import { type ServerKind, serverFromHeader, sniffNotXmpp } from "./server-kind.js";

export interface TransportOptions {
  /** xmpp://host:port of the server's component listener. */
  service: string;
  domain: string;
  secret: string;
  /** Handshake / open / close timeout. */
  timeoutMs?: number;
  /** Largest incoming stanza accepted; Prosody's own component limit is 512 KiB. */
  maxStanzaBytes?: number;
  /** Bytes that may wait for the socket when the server reads slowly; beyond, sends are refused. */
  maxQueueBytes?: number;
  /** TLS from the first byte (ejabberd_service with `tls: true`, or a TLS terminator in front of the port). */
  tls?: TransportTls;
}

export interface TransportTls {
  /** PEM CA certificate(s) to trust instead of the system's (a private CA or a self-signed server). */
  ca?: string;
  /** The name the certificate must carry; default the host (unless it is an IP address). */
  servername?: string;
  /** false accepts any certificate: only for tests on loopback. */
  rejectUnauthorized?: boolean;
}

export interface TransportCounters {
  bytesIn: number;
  bytesOut: number;
}

/**
 * Stanzas written in one tick, handed to the socket as one string: one write, one callback and one promise
 * for all of them instead of one each (a pong tick at 1 000 rooms writes ≈ 670 stanzas; bench/findings.md).
 */
class Batch {
  readonly parts: string[] = [];
  bytes = 0;
  readonly done: Promise<void>;
  resolve!: () => void;
  reject!: (err: Error) => void;

  constructor() {
    this.done = new Promise<void>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }
}

export const DEFAULT_MAX_STANZA_BYTES = 512 * 1024;
export const DEFAULT_MAX_QUEUE_BYTES = 4 * 1024 * 1024;
/** Characters of received text parsed (and dispatched) in one turn of the event loop at most (parseInTurns). */
const PARSE_SLICE = 16 * 1024;

/**
 * Makes V8 flatten a string now. A stanza built with `+` is a rope of its pieces (dozens per stanza); joined
 * into the batch at the tick's end, after thousands of others were built, its pieces had left the CPU's caches
 * and the join read them cold: 13 % of a pong process at 1 000 rooms, 1.4 µs a stanza (0.4 µs flattened here,
 * where the pieces are still warm; bench/findings.md). charCodeAt flattens a rope in V8 (the runtime's
 * StringCharCodeAt); its result is kept so that no compiler drops the call.
 */
let flattenSink = 0;
function flattenNow(s: string): void {
  flattenSink ^= s.charCodeAt(0);
}

/**
 * One XEP-0114 connection, built on @xmpp/component-core 0.13.1 with its defects fixed:
 * - input is decoded as a stream, so a UTF-8 character split across TCP reads stays whole
 *   (0.13.1 decodes each chunk alone: `data.toString("utf8")`);
 * - the handshake hashes UTF-8, not latin1, so non-ASCII secrets work (0.13.1 uses "binary");
 * - writes honour back-pressure: once the socket's buffer is full, further writes wait in a queue
 *   bounded in bytes, and are refused past it (0.13.1 ignores write()'s return value);
 * - a tick's first stanza is written at once and the tick's others in one write at its end (one syscall, one
 *   callback and one promise for all of them; 0.13.1 makes each its own);
 * - an incoming stanza larger than the limit closes the stream with policy-violation (0.13.1 has no cap);
 * - a large read is parsed a slice per turn of the event loop, so timers run during a burst (parseInTurns);
 * - input is parsed by Annex's StreamParser (stanza/parser.ts), half the cost of ltx's, and malformed or
 *   restricted XML closes the stream with the specific condition (0.13.1 sends bad-format for all, and lets
 *   ltx throw out of the socket's data handler on an unknown entity).
 * This is the transport (the wire): one attempt, one TCP connection. A new one is made for every attempt;
 * the LinkSupervisor (the Link port's implementation) owns reconnection and keepalive.
 */
export class TcpTransport extends Component {
  readonly counters: TransportCounters = { bytesIn: 0, bytesOut: 0 };
  private decoder = new StringDecoder("utf8");
  private pendingText: string[] = [];
  private readonly secret: string;
  private readonly tls: TransportTls | undefined;
  private readonly maxStanzaBytes: number;
  private readonly maxQueueBytes: number;
  /** Characters of markup-free reads waiting for the next `<` (see _onData). */
  private pendingChars = 0;
  /** The server sent a stanza over maxStanzaBytes: the stream is closing, and nothing more is read. */
  private oversized = false;
  /** This tick's stanzas, written on the next tick. */
  private pending: Batch | undefined;
  /** Earlier ticks' batches, waiting for the socket to drain. */
  private queue: Batch[] = [];
  /** Characters of `pending` and `queue`: accepted, not yet handed to the socket (see write). */
  private queueBytes = 0;
  private congested = false;
  /** A stanza went to the socket at once this tick (the tick's first); the others wait for the tick's end. */
  private tickOpen = false;
  private tickEndScheduled = false;
  private readonly endTick = (): void => {
    this.tickEndScheduled = false;
    this.tickOpen = false;
    this.writeBatch();
  };
  /** The part of a read not parsed yet (parseInTurns): while there is some, reading is stopped. */
  private unparsed = "";
  /** No byte from the server yet on this connection: the first ones tell whether the port is XMPP at all. */
  private firstBytes = true;
  /** The server on the other end, from its stream header ("unknown" until it arrives). */
  server: ServerKind = "unknown";

  constructor(options: TransportOptions) {
    super({ service: options.service, domain: options.domain });
    this.secret = options.secret;
    this.tls = options.tls;
    this.maxStanzaBytes = options.maxStanzaBytes ?? DEFAULT_MAX_STANZA_BYTES;
    this.maxQueueBytes = options.maxQueueBytes ?? DEFAULT_MAX_QUEUE_BYTES;
    if (options.timeoutMs) this.timeout = options.timeoutMs;
    this.on("open", (header: Element) => {
      this.server = serverFromHeader(header.attrs);
      // RFC 6120 §4.7.5 / XEP-0114 §3: a component port answers in jabber:component:accept. A client port answers
      // in jabber:client (and then host-unknown or invalid-namespace, which would hide what really happened).
      if (header.attrs.xmlns === "jabber:client") {
        this.emit("error", Object.assign(new Error("the server answered with a client stream"), { condition: "client-port" }));
        this.socket?.destroy();
        return;
      }
      this.authenticate(header.attrs.id as string, this.secret).catch((err: unknown) => this.emit("error", err));
    });
    this.on("disconnect", () => this.failQueued(errors.linkDown("the connection closed")));
  }

  /** Bytes waiting for the socket (this tick's batch, our queue, and the socket's own buffer). */
  get queuedBytes(): number {
    return this.queueBytes + (this.socket?.writableLength ?? 0);
  }

  override async connect(service: string): Promise<void> {
    this.decoder = new StringDecoder("utf8");
    this.pendingText = [];
    this.pendingChars = 0;
    this.oversized = false;
    this.unparsed = "";
    this.firstBytes = true;
    if (this.tls) await this.connectTls(service, this.tls);
    else await super.connect(service);
    // Stanzas are small and latency matters more than packet count (Nagle adds up to 40 ms).
    this.socket?.setNoDelay(true);
  }

  /**
   * The same stream over TLS (RFC 6120 §5 security, from the first byte like XEP-0368's direct TLS): the socket
   * is handed to @xmpp/connection only once the TLS handshake is done and the certificate verified.
   */
  private async connectTls(service: string, options: TransportTls): Promise<void> {
    this._status("connecting", service);
    const { host, port } = this.socketParameters(service) as { host: string; port: number };
    const socket = tlsConnect({
      host,
      port,
      ca: options.ca,
      servername: options.servername ?? (isIP(host) ? undefined : host),
      rejectUnauthorized: options.rejectUnauthorized ?? true,
    });
    try {
      await once(socket, "secureConnect");
    } catch (err) {
      socket.destroy();
      throw err;
    }
    this._attachSocket(socket as never);
    this._status("connect");
  }

  /** RFC 6120 §4.9.3: the specific condition (not-well-formed, restricted-xml) rather than bad-format. */
  override _onParserError(error: Error): void {
    void this._streamError(error instanceof XmlStreamError ? error.condition : "bad-format");
    this._detachParser();
    this.emit("error", error);
  }

  override _onData(data: Buffer): void {
    this.counters.bytesIn += data.length;
    if (this.firstBytes) {
      this.firstBytes = false;
      const notXmpp = sniffNotXmpp(data);
      if (notXmpp) {
        this.emit("error", Object.assign(new Error(`the server sent ${notXmpp.seen}`), notXmpp));
        this.socket?.destroy();
        return;
      }
    }
    if (this.oversized) return;
    const text = this.decoder.write(data);
    if (!text) return;
    this.emit("input", text);
    // The parser re-joins a partial text node with every new chunk (quadratic on a large body arriving in many
    // reads). A chunk without markup can end nothing, so it waits and the parser gets the node in one write.
    if (text.indexOf("<") === -1 && text.indexOf(">") === -1) {
      this.pendingText.push(text);
      this.pendingChars += text.length;
      this.checkStanzaSize();
      return;
    }
    const whole = this.pendingText.length > 0 ? this.pendingText.join("") + text : text;
    this.pendingText = [];
    this.pendingChars = 0;
    this.parseInTurns(whole);
  }

  /**
   * Parses a read (and so dispatches its stanzas) at most PARSE_SLICE characters per turn of the event loop.
   * Parsing is synchronous: a 64 KiB read of small stanzas (470 game inputs) is several milliseconds of
   * handlers, and libuv goes on reading what the kernel holds in the same turn, so a burst held every timer (a
   * game's tick) back for all of it. Past a slice, reading stops and the rest of the text waits for the next
   * turn, after that turn's timers; nothing is lost or reordered (unread bytes wait in the socket).
   */
  private parseInTurns(text: string): void {
    if (this.unparsed !== "") {
      // Reading is stopped while a read is parsed in turns; a read the stream had taken already queues behind it.
      this.unparsed += text;
      return;
    }
    const rest = this.writeSlice(text);
    if (rest === "") return;
    this.unparsed = rest;
    this.socket?.pause();
    this.nextTurn();
  }

  /** Writes the text up to the first `>` past PARSE_SLICE (no token is cut) and returns what is left. */
  private writeSlice(text: string): string {
    const cut = text.length > PARSE_SLICE ? text.indexOf(">", PARSE_SLICE) : -1;
    const whole = cut === -1 || cut === text.length - 1;
    this.parser?.write(whole ? text : text.slice(0, cut + 1));
    return whole ? "" : text.slice(cut + 1);
  }

  /**
   * Markup-free reads wait here for the next `<` (the parser judges what it was given, StreamParser.maxStanzaLength):
   * with what the parser holds of the open stanza they must stay within maxStanzaBytes, counted in characters.
   */
  private checkStanzaSize(): void {
    if (this.oversized) return;
    const open = ((this.parser as Partial<StreamParser> | null)?.openStanzaLength ?? 0) + this.pendingChars;
    if (open <= this.maxStanzaBytes) return;
    this.oversized = true;
    this.pendingText = [];
    this.pendingChars = 0;
    this.unparsed = "";
    this.emit("error", Object.assign(new Error(`an incoming stanza exceeds ${this.maxStanzaBytes} characters (server.maxStanzaBytes)`), { condition: "policy-violation" }));
    // RFC 6120 §4.9.3.14: policy-violation, then close the stream.
    void this._streamError("policy-violation");
  }

  private nextTurn(): void {
    // Two immediates: the first runs in this turn's check phase, before any timer; the second in the next turn's,
    // after its timers.
    setImmediate(() => setImmediate(this.parseNextSlice));
  }

  /**
   * The socket closed with text of a read still waiting for its turn: it was received, so it is parsed now,
   * before @xmpp/connection's own close listener takes the parser away (the stanzas a server sends just before
   * it closes the stream are not lost).
   */
  private readonly parseAllOnClose = (): void => {
    const text = this.unparsed;
    this.unparsed = "";
    if (text !== "") this.parser?.write(text);
  };

  override _attachParser(parser: { write(data: string): void }): void {
    // The parser judges each stanza's size (StreamParser.maxStanzaLength): a stanza over it closes the stream.
    if (parser instanceof StreamParser) parser.maxStanzaLength = this.maxStanzaBytes;
    super._attachParser(parser);
  }

  override _attachSocket(socket: Socket): void {
    socket.on("close", this.parseAllOnClose);
    super._attachSocket(socket);
  }

  private readonly parseNextSlice = (): void => {
    const text = this.unparsed;
    this.unparsed = "";
    // The connection closed meanwhile: its parser is gone, and so is what it had not read.
    if (this.parser === null) return;
    const rest = this.writeSlice(text);
    if (rest !== "") {
      this.unparsed = rest;
      this.nextTurn();
      return;
    }
    const socket = this.socket;
    if (socket && !socket.destroyed) socket.resume();
  };

  // XEP-0114 §3: handshake = lowercase hex SHA-1 of (stream id + secret), over UTF-8 bytes.
  override async authenticate(streamId: string, secret: string): Promise<void> {
    const digest = handshakeDigest(streamId, secret);
    const reply = await this.sendReceive(xml("handshake", {}, digest));
    if (reply.name !== "handshake") throw new Error(`unexpected reply to the handshake: <${reply.name}/>`);
    this._jid(this.options.domain);
    this._status("online", this.jid);
  }

  /**
   * One stanza to the wire: its bytes (a fan-out copy brings them already spliced, pipeline/fanout.ts) straight
   * to write(), without 0.13.1's async wrapper and its "send" event (nobody here listens to it).
   */
  override send(element: Element): Promise<void> {
    // XEP-0114 §3: every stanza needs a 'from' (the Sender stamps it; this covers the link's own probes).
    if (!element.attrs.from && this.jid && this.isStanza(element)) element.attrs.from = this.jid.toString();
    element.parent = this.root;
    return this.write(serialize(element));
  }

  override write(data: string): Promise<void> {
    // RFC 6120 §4.4: nothing more is sent once our closing tag is out.
    if (this.status === "closing") return Promise.reject(errors.linkDown("the stream is closing"));
    if (!this.socket) return Promise.reject(errors.linkDown("not connected"));
    // Counted in characters while it waits: one byte each for ASCII, what stanzas mostly are (a UTF-8 count of
    // every stanza was 2.7 % of a busy pong process; the written batch is counted in bytes, once, in writeNow).
    const bytes = data.length;
    // Back-pressure: what waits for the socket (this tick's batch and the batches held back while the socket
    // drains) is bounded; past that, a send is refused and nothing already accepted is lost.
    if (this.queueBytes + bytes > this.maxQueueBytes) return Promise.reject(errors.queueFull(this.queueBytes, this.maxQueueBytes));
    flattenNow(data);
    if (!this.tickEndScheduled) {
      this.tickEndScheduled = true;
      process.nextTick(this.endTick);
    }
    if (!this.tickOpen && !this.congested && this.queue.length === 0 && this.pending === undefined) {
      // The tick's first stanza leaves at once: a peer waiting for it (a request, a closed loop) can go on while
      // this tick's other stanzas are made; those leave together at the tick's end.
      this.tickOpen = true;
      const lead = new Batch();
      lead.parts.push(data);
      lead.bytes = bytes;
      this.queueBytes += bytes;
      this.writeNow(lead);
      return lead.done;
    }
    let batch = this.pending;
    if (batch === undefined) batch = this.pending = new Batch();
    batch.parts.push(data);
    batch.bytes += bytes;
    this.queueBytes += bytes;
    return batch.done;
  }

  /** End of the tick: the batch goes to the socket, or behind the others while the socket drains. */
  private writeBatch(): void {
    const batch = this.pending;
    this.pending = undefined;
    if (batch === undefined) return;
    if (this.congested || this.queue.length > 0) this.queue.push(batch);
    else this.writeNow(batch);
  }

  private writeNow(batch: Batch): void {
    const socket = this.socket;
    this.queueBytes -= batch.bytes;
    if (!socket) return batch.reject(errors.linkDown("not connected"));
    const data = batch.parts.length === 1 ? batch.parts[0]! : batch.parts.join("");
    const flushed = socket.write(data, (err) => {
      if (err) return batch.reject(err);
      this.counters.bytesOut += Buffer.byteLength(data);
      if (this.listenerCount("output") > 0) for (const part of batch.parts) this.emit("output", part);
      batch.resolve();
    });
    if (!flushed) {
      this.congested = true;
      socket.once("drain", () => this.flush());
    }
  }

  private flush(): void {
    this.congested = false;
    while (!this.congested && this.queue.length > 0) this.writeNow(this.queue.shift() as Batch);
  }

  private failQueued(err: Error): void {
    const batches = this.pending === undefined ? this.queue : [...this.queue, this.pending];
    this.pending = undefined;
    this.queue = [];
    this.queueBytes = 0;
    this.congested = false;
    for (const batch of batches) batch.reject(err);
  }
}

// @xmpp/connection makes `new this.Parser()` for every stream it opens.
(TcpTransport.prototype as unknown as { Parser: typeof StreamParser }).Parser = StreamParser;

export function handshakeDigest(streamId: string, secret: string): string {
  return createHash("sha1").update(Buffer.from(streamId + secret, "utf8")).digest("hex");
}
