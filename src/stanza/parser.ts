import { EventEmitter } from "node:events";
import { Element } from "./xml.js";

// The stream parser: bytes from the server (already decoded to text) into the stream header and one Element
// per top-level stanza, with the events @xmpp/connection listens for ("start", "element", "end", "error").
//
// It replaces ltx's SAX parser plus @xmpp/xml's tree builder on the receive path, where they were the largest
// single cost of a busy component (bench/findings.md: 10.6 % of the pong process at 1 000 rooms, char by char
// through a state machine with four events per element). This one finds markup with indexOf, slices names and
// attribute values once, and builds the tree as it goes; test/unit/parser.test.ts checks that it gives the same
// trees as ltx on every well-formed input, split at every byte.
//
// Where ltx accepted what XMPP forbids, this one refuses, with the stream error RFC 6120 names:
// - comments, processing instructions (other than the XML declaration before the stream header), DTDs and
//   entity references other than the five predefined ones: <restricted-xml/> (RFC 6120 §11.1);
// - a duplicated attribute, `<` in an attribute value, a stray `&`, a mismatched end tag, text before the
//   stream header: <not-well-formed/> (RFC 6120 §4.9.3.13; XML 1.0 §3.1, §4.1).
// Like ltx it does not normalise line ends or attribute whitespace (XML 1.0 §2.11, §3.3.3): servers escape
// what matters, and the bytes a handler sees stay the bytes that were sent.

export type XmlErrorCondition = "not-well-formed" | "restricted-xml" | "policy-violation";

/** Malformed or restricted input: the stream cannot go on (RFC 6120 §4.9: stream errors are unrecoverable). */
export class XmlStreamError extends Error {
  override readonly name = "XMLError";
  constructor(
    message: string,
    readonly condition: XmlErrorCondition,
  ) {
    super(message);
  }
}

const LT = 60; // <
const GT = 62; // >
const SLASH = 47; // /
const EQ = 61; // =
const BANG = 33; // !
const QUESTION = 63; // ?
const AMP = 38; // &
const DQUOTE = 34; // "
const SQUOTE = 39; // '

const HAS_AMP = 1;
const HAS_LT = 2;

/** A token that runs past the end of what has arrived: keep it and wait for more. */
const INCOMPLETE = -1;

export class StreamParser extends EventEmitter {
  /**
   * The largest stanza accepted, in characters: one larger, whole or still arriving, closes the stream with
   * policy-violation (RFC 6120 §4.9.3.14) and is not announced. Judged per stanza, so a read of many small
   * stanzas passes whatever its size. The link sets it from server.maxStanzaBytes.
   */
  maxStanzaLength = Number.POSITIVE_INFINITY;
  /** The stream header, once it has arrived. */
  root: Element | null = null;
  /** The element being filled: the root between stanzas, else the innermost open element of a stanza. */
  private cursor: Element | null = null;
  /** Input not yet consumed (a token cut by the end of a read). */
  private rest = "";
  /** How far `rest` is known to hold no `<` (a long text node arriving in pieces is scanned once). */
  private textScanned = 0;
  private stopped = false;
  /** Characters of the open top-level stanza consumed by earlier writes (0 when none is open). */
  private stanzaChars = 0;
  /** Where the open stanza began in the text being parsed (0: in an earlier write; -1: none is open). */
  private stanzaFrom = -1;
  /** What the last token completed, announced once the read position is past it (a listener may throw). */
  private readyStart: Element | null = null;
  private readyElement: Element | null = null;
  private readyEnd: Element | null = null;

  /**
   * Characters of the stanza being received, as far as it has come (with what waits for the next write; 0
   * between stanzas): what a size limit must judge, rather than the size of a read holding many small stanzas.
   */
  get openStanzaLength(): number {
    return this.stanzaChars + this.rest.length;
  }

  write(data: string): void {
    if (this.stopped) return;
    const s = this.rest.length === 0 ? data : this.rest + data;
    const len = s.length;
    let pos = 0;
    let scanFrom = this.textScanned;
    this.rest = "";
    this.textScanned = 0;
    this.stanzaFrom = this.cursor !== null && this.cursor !== this.root ? 0 : -1;
    try {
      while (pos < len) {
        const lt = s.indexOf("<", scanFrom > pos ? scanFrom : pos);
        scanFrom = 0;
        if (lt === -1) {
          // Text runs to the end of the read: it ends with the next `<` (entities are decoded then, whole).
          this.rest = s.slice(pos);
          this.textScanned = this.rest.length;
          this.countOpenStanza(pos);
          return;
        }
        if (lt > pos) this.text(s, pos, lt);
        pos = lt;
        if (lt + 1 >= len) break;
        const c = s.charCodeAt(lt + 1);
        let end: number;
        if (c === SLASH) end = this.endTag(s, lt);
        else if (c === BANG) end = this.bang(s, lt);
        else if (c === QUESTION) end = this.instruction(s, lt);
        else end = this.startTag(s, lt);
        if (end === INCOMPLETE) break;
        pos = end;
        if (this.readyElement !== null) this.measureWholeStanza(pos);
        if (this.readyStart !== null || this.readyElement !== null || this.readyEnd !== null) this.announce();
        if (this.stopped) return;
      }
      if (pos < len) this.rest = s.slice(pos);
      this.countOpenStanza(pos);
    } catch (err) {
      if (!(err instanceof XmlStreamError)) {
        // A listener threw (the parser itself throws only XmlStreamError): what it had not read yet is kept.
        this.rest = s.slice(pos);
        throw err;
      }
      this.stopped = true;
      this.rest = "";
      this.emit("error", err);
    }
  }

  /** The open stanza's characters up to `consumed` (the rest is counted while it waits), within the limit. */
  private countOpenStanza(consumed: number): void {
    if (this.stanzaFrom >= 0) this.stanzaChars += consumed - this.stanzaFrom;
    if (this.openStanzaLength > this.maxStanzaLength) throw this.tooLarge();
  }

  /** The stanza that ended at `end` is whole: its size is judged before it is announced. */
  private measureWholeStanza(end: number): void {
    const size = this.stanzaChars + (end - this.stanzaFrom);
    this.stanzaFrom = -1;
    this.stanzaChars = 0;
    if (size > this.maxStanzaLength) {
      this.readyElement = null;
      throw this.tooLarge();
    }
  }

  private tooLarge(): XmlStreamError {
    return new XmlStreamError(`an incoming stanza exceeds ${this.maxStanzaLength} characters (server.maxStanzaBytes)`, "policy-violation");
  }

  private announce(): void {
    const { readyStart, readyElement, readyEnd } = this;
    this.readyStart = this.readyElement = this.readyEnd = null;
    if (readyStart !== null) this.emit("start", readyStart);
    if (readyElement !== null) this.emit("element", readyElement);
    if (readyEnd !== null) this.emit("end", readyEnd);
  }

  end(data?: string): void {
    if (data) this.write(data);
  }

  /** Character data between `from` and the `<` at `to`. */
  private text(s: string, from: number, to: number): void {
    const cursor = this.cursor;
    if (cursor === null || cursor === this.root) {
      // Between stanzas only whitespace belongs (the keepalive, RFC 6120 §4.6.1); it is no stanza's.
      if (cursor === null && !isWhitespace(s, from, to)) {
        throw new XmlStreamError(`text before the stream header: ${JSON.stringify(s.slice(from, Math.min(to, from + 40)))}`, "not-well-formed");
      }
      return;
    }
    const raw = s.slice(from, to);
    cursor.children.push(raw.indexOf("&") === -1 ? raw : unescape(raw));
  }

  private startTag(s: string, lt: number): number {
    const len = s.length;
    let i = lt + 1;
    let c = 0;
    let hash = 0;
    while (i < len) {
      c = s.charCodeAt(i);
      if (c <= 32 || c === SLASH || c === GT) break;
      hash = (hash * 31 + c) | 0;
      i++;
    }
    if (i >= len) return INCOMPLETE;
    if (i === lt + 1) throw new XmlStreamError(`an element without a name at ${JSON.stringify(s.slice(lt, lt + 20))}`, "not-well-formed");
    const name = intern(s, lt + 1, i, hash);
    const attrs: Record<string, string> = {};
    let selfClosing = false;
    for (;;) {
      while (i < len && (c = s.charCodeAt(i)) <= 32) i++;
      if (i >= len) return INCOMPLETE;
      if (c === GT) {
        i++;
        break;
      }
      if (c === SLASH) {
        if (i + 1 >= len) return INCOMPLETE;
        if (s.charCodeAt(i + 1) !== GT) throw new XmlStreamError(`<${name}>: "/" not followed by ">"`, "not-well-formed");
        selfClosing = true;
        i += 2;
        break;
      }
      const nameStart = i;
      hash = 0;
      while (i < len) {
        c = s.charCodeAt(i);
        if (c <= 32 || c === EQ || c === GT || c === SLASH) break;
        hash = (hash * 31 + c) | 0;
        i++;
      }
      if (i >= len) return INCOMPLETE;
      const attr = intern(s, nameStart, i, hash);
      while (i < len && (c = s.charCodeAt(i)) <= 32) i++;
      if (i >= len) return INCOMPLETE;
      if (c !== EQ) throw new XmlStreamError(`<${name}>: attribute ${attr} has no value`, "not-well-formed");
      i++;
      while (i < len && (c = s.charCodeAt(i)) <= 32) i++;
      if (i >= len) return INCOMPLETE;
      if (c !== DQUOTE && c !== SQUOTE) throw new XmlStreamError(`<${name}>: the value of ${attr} is not quoted`, "not-well-formed");
      // One pass to the closing quote, noting what the value holds (values are short: a loop beats three indexOfs).
      const quote = c;
      let close = i + 1;
      let special = 0;
      for (; close < len; close++) {
        c = s.charCodeAt(close);
        if (c === quote) break;
        if (c === AMP) special |= HAS_AMP;
        else if (c === LT) special |= HAS_LT;
      }
      if (close >= len) return INCOMPLETE;
      // XML 1.0 §3.1 (AttValue): no `<` in a value; WFC Unique Att Spec: no attribute twice (a second `to` must
      // not quietly win over the first).
      if ((special & HAS_LT) !== 0) throw new XmlStreamError(`<${name}>: "<" in the value of ${attr}`, "not-well-formed");
      if (attrs[attr] !== undefined && Object.hasOwn(attrs, attr)) throw new XmlStreamError(`<${name}>: attribute ${attr} given twice`, "not-well-formed");
      // A slice, as ltx gave (a value kept for long keeps its read, ≤ 64 KiB, alive; the dispatcher swaps `from`
      // for the JID cache's own copy). Interning repeated values (from, to, type, xmlns) was tried: it cost ≈ 1 µs
      // a game input, more than the map lookups it made cheaper (bench/findings.md).
      const value = special !== 0 ? unescape(s.slice(i + 1, close)) : s.slice(i + 1, close);
      // `__proto__` is a legal XML name; plain assignment would not make it an attribute.
      if (attr === "__proto__") Object.defineProperty(attrs, attr, { value, enumerable: true, writable: true, configurable: true });
      else attrs[attr] = value;
      i = close + 1;
    }
    const el = new Element(name);
    el.attrs = attrs;
    const cursor = this.cursor;
    if (cursor === null) {
      this.root = this.cursor = el;
      this.readyStart = el;
      if (selfClosing) this.finish(el);
    } else if (cursor === this.root) {
      // A stanza begins; its parent is set when it is whole (as @xmpp/xml does), which marks it top-level.
      this.cursor = el;
      this.stanzaFrom = lt;
      this.stanzaChars = 0;
      if (selfClosing) this.finish(el);
    } else {
      cursor.children.push(el);
      el.parent = cursor;
      if (!selfClosing) this.cursor = el;
    }
    return i;
  }

  private endTag(s: string, lt: number): number {
    const gt = s.indexOf(">", lt + 2);
    if (gt === -1) return INCOMPLETE;
    let nameEnd = gt;
    while (nameEnd > lt + 2 && s.charCodeAt(nameEnd - 1) <= 32) nameEnd--;
    const cursor = this.cursor;
    if (cursor === null) throw new XmlStreamError(`an end tag before the stream header: ${s.slice(lt, gt + 1)}`, "not-well-formed");
    // Compared in place: the common case allocates no name.
    if (nameEnd - (lt + 2) !== cursor.name.length || !s.startsWith(cursor.name, lt + 2)) {
      throw new XmlStreamError(`${cursor.name} must be closed, got ${s.slice(lt, gt + 1)}`, "not-well-formed");
    }
    this.finish(cursor);
    return gt + 1;
  }

  /** The element at the cursor is whole. */
  private finish(el: Element): void {
    if (el === this.root) {
      this.stopped = true;
      this.readyEnd = el;
      return;
    }
    if (el.parent === null) {
      el.parent = this.root;
      this.cursor = this.root;
      this.readyElement = el;
      return;
    }
    this.cursor = el.parent;
  }

  /** `<!`: a CDATA section inside a stanza is text; anything else (a comment, a DTD) is restricted. */
  private bang(s: string, lt: number): number {
    if (s.length < lt + 9) {
      // Not enough to tell yet, unless what came already rules CDATA out.
      return "<![CDATA[".startsWith(s.slice(lt)) ? INCOMPLETE : this.restricted(s, lt);
    }
    if (!s.startsWith("<![CDATA[", lt)) return this.restricted(s, lt);
    const close = s.indexOf("]]>", lt + 9);
    if (close === -1) return INCOMPLETE;
    const cursor = this.cursor;
    if (cursor === null || cursor === this.root) throw new XmlStreamError("a CDATA section outside any stanza", "not-well-formed");
    if (close > lt + 9) cursor.children.push(s.slice(lt + 9, close));
    return close + 3;
  }

  /** `<?`: the XML declaration before the stream header is allowed; any other instruction is restricted. */
  private instruction(s: string, lt: number): number {
    if (this.root !== null) return this.restricted(s, lt);
    // `<?xml` and a space (XML 1.0 §2.8); until six characters have come it may still become one.
    if (s.length < lt + 6) return "<?xml".startsWith(s.slice(lt, lt + 5)) ? INCOMPLETE : this.restricted(s, lt);
    if (!s.startsWith("<?xml", lt) || s.charCodeAt(lt + 5) > 32) return this.restricted(s, lt);
    const close = s.indexOf("?>", lt + 5);
    return close === -1 ? INCOMPLETE : close + 2;
  }

  private restricted(s: string, lt: number): never {
    // RFC 6120 §11.1: no comments, processing instructions, DTDs or entity declarations in an XMPP stream.
    throw new XmlStreamError(`XMPP does not allow ${JSON.stringify(s.slice(lt, lt + 12))}… in a stream (RFC 6120 §11.1)`, "restricted-xml");
  }
}

/**
 * Element and attribute names seen before, by a hash of their characters: the same few names (message, from,
 * to, type, xmlns…) come in every stanza, and a known one costs no new string (nor V8's internalising it as a
 * property key). Only short names are kept: a slice shorter than 13 characters is a copy in V8, a longer one
 * would keep the whole read it came from alive.
 */
const NAMES: (string | undefined)[] = new Array(1024).fill(undefined);

function intern(s: string, from: number, to: number, hash: number): string {
  const slot = hash & 1023;
  const known = NAMES[slot];
  if (known !== undefined && sameChars(known, s, from, to)) return known;
  const fresh = s.slice(from, to);
  if (fresh.length <= 12) NAMES[slot] = fresh;
  return fresh;
}

/** Whether `known` holds exactly the characters of s[from, to) (a loop: these strings are short). */
function sameChars(known: string, s: string, from: number, to: number): boolean {
  if (known.length !== to - from) return false;
  for (let i = 0; i < known.length; i++) if (known.charCodeAt(i) !== s.charCodeAt(from + i)) return false;
  return true;
}

function isWhitespace(s: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c !== 32 && c !== 10 && c !== 13 && c !== 9) return false;
  }
  return true;
}

function predefined(name: string): string | undefined {
  switch (name) {
    case "amp":
      return "&";
    case "lt":
      return "<";
    case "gt":
      return ">";
    case "quot":
      return '"';
    case "apos":
      return "'";
  }
  return undefined;
}

/** Entity and character references decoded (XML 1.0 §4.1, §4.6); RFC 6120 §11.1 allows no others. */
export function unescape(raw: string): string {
  let out = "";
  let from = 0;
  for (let amp = raw.indexOf("&"); amp !== -1; amp = raw.indexOf("&", from)) {
    const semi = raw.indexOf(";", amp + 1);
    const ref = semi === -1 ? "" : raw.slice(amp + 1, semi);
    if (semi === -1 || ref.length === 0 || ref.length > 10) {
      throw new XmlStreamError(`a "&" that starts no reference: ${JSON.stringify(raw.slice(amp, amp + 12))}`, "not-well-formed");
    }
    let char: string | undefined;
    if (ref.charCodeAt(0) === 35 /* # */) {
      const hex = ref.charCodeAt(1) === 120; /* x */
      const digits = ref.slice(hex ? 2 : 1);
      const code = (hex ? /^[0-9a-fA-F]+$/ : /^[0-9]+$/).test(digits) ? Number.parseInt(digits, hex ? 16 : 10) : NaN;
      if (!isXmlChar(code)) throw new XmlStreamError(`&${ref}; is not a character XML allows (XML 1.0 §2.2)`, "not-well-formed");
      char = String.fromCodePoint(code);
    } else {
      char = predefined(ref);
      if (char === undefined) throw new XmlStreamError(`&${ref}; is not one of XML's five predefined entities (RFC 6120 §11.1)`, "restricted-xml");
    }
    out += raw.slice(from, amp) + char;
    from = semi + 1;
  }
  return out + raw.slice(from);
}

/** XML 1.0 §2.2 Char: #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]. */
function isXmlChar(code: number): boolean {
  return code === 0x9 || code === 0xa || code === 0xd || (code >= 0x20 && code <= 0xd7ff) || (code >= 0xe000 && code <= 0xfffd) || (code >= 0x10000 && code <= 0x10ffff);
}
