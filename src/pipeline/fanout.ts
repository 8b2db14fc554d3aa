import { escapeXML, toXml } from "../stanza/serialized.js";
import { Element } from "../stanza/xml.js";

// Fan-out: one payload to many addressees. Serialising an element tree is most of what an outbound stanza
// costs (ltx walks the tree and escapes every attribute and text node); when a hundred stanzas differ only
// in `to` (and perhaps `id`), the tree is serialised once with placeholders and each copy's bytes are the
// template's pieces with that copy's escaped address spliced in.
//
// Each copy is still an ordinary Element for the outbound middleware (its own attrs and its own list of
// children, the children themselves shared with the template), carrying its spliced bytes under a symbol.
// The link writes those bytes only if the copy is as it was made: a middleware that changed the copy's
// attributes or its list of children (caps appends <c/> to a presence) gets that copy serialised afresh.
// Changing the inside of a shared child would change every copy and is not detected: middleware must not.

const WIRE = Symbol("annex.wire");
/** Placeholders: NUL cannot occur in XML (XML 1.0 §2.2), so it cannot collide with real content. */
const TO_MARK = "\u0000annex-to\u0000";
const ID_MARK = "\u0000annex-id\u0000";

interface Wire {
  readonly bytes: string;
  readonly template: StanzaTemplate;
  readonly to: string;
  readonly id: string | undefined;
  readonly children: readonly unknown[];
}

type WithWire = Element & { [WIRE]?: Wire };

/**
 * A stanza serialised once, to be copied to many addressees. Made from an element that already has its
 * `from` (the Sender stamps it); the template's own `to` (and `id`, when copies get their own) only mark
 * where those attributes go, so each copy's bytes equal what `copy.toString()` would give.
 */
export class StanzaTemplate {
  readonly name: string;
  private readonly attrs: Record<string, string>;
  private readonly children: readonly unknown[];
  /** The serialised template cut at the placeholders: pieces[0] slot[0] pieces[1] slot[1] pieces[2]. */
  private readonly pieces: string[] = [];
  private readonly slots: ("to" | "id")[] = [];
  private readonly ownIds: boolean;
  private readonly attrCount: number;

  constructor(template: Element, options: { ownIds?: boolean } = {}) {
    this.name = template.name;
    this.children = template.children;
    const attrs: Record<string, string> = { ...(template.attrs as Record<string, string>) };
    // A new attribute goes last, as `stanza.attrs.to = …` on a one-by-one stanza would put it.
    attrs.to = TO_MARK;
    if (options.ownIds) attrs.id = ID_MARK;
    this.attrs = attrs;
    this.ownIds = options.ownIds === true;
    this.attrCount = Object.keys(attrs).length;
    const shell = new Element(template.name);
    shell.attrs = attrs;
    shell.children = template.children;
    const text = shell.toString();
    const marks = [
      { slot: "to" as const, at: text.indexOf(TO_MARK) },
      ...(options.ownIds ? [{ slot: "id" as const, at: text.indexOf(ID_MARK) }] : []),
    ].sort((a, b) => a.at - b.at);
    let from = 0;
    for (const { slot, at } of marks) {
      this.pieces.push(text.slice(from, at));
      this.slots.push(slot);
      from = at + (slot === "to" ? TO_MARK.length : ID_MARK.length);
    }
    this.pieces.push(text.slice(from));
    // A placeholder inside the content (impossible in XML that parsed) would make the splice wrong: give up on it.
    if (this.pieces.some((p) => p.includes(TO_MARK) || p.includes(ID_MARK))) this.pieces.length = 0;
  }

  /** A copy addressed to `to` (an address already checked by the caller), with its own `id` if the template gives copies their own. */
  copy(to: string, id?: string): Element {
    if (this.ownIds && id === undefined) throw new Error("this template gives every copy its own id: pass one");
    const attrs: Record<string, string> = { ...this.attrs, to };
    if (id !== undefined) attrs.id = id;
    const el = new Element(this.name) as WithWire;
    el.attrs = attrs;
    el.children = this.children.slice() as Element["children"];
    if (this.pieces.length > 0) {
      el[WIRE] = { bytes: this.splice(to, id), template: this, to, id, children: el.children };
    }
    return el;
  }

  private splice(to: string, id: string | undefined): string {
    const { pieces, slots } = this;
    let bytes = pieces[0]!;
    for (let i = 0; i < slots.length; i++) bytes += escapeXML(slots[i] === "to" ? to : (id as string)) + pieces[i + 1]!;
    return bytes;
  }

  /** Whether a copy still has exactly the attributes and children it was made with. */
  unchanged(el: Element, wire: Wire): boolean {
    const attrs = el.attrs as Record<string, unknown>;
    if (attrs.to !== wire.to) return false;
    let count = 0;
    for (const key in attrs) {
      count++;
      if (key === "to") continue;
      if (key === "id" && this.ownIds) {
        if (attrs.id !== wire.id) return false;
        continue;
      }
      if (attrs[key] !== this.attrs[key]) return false;
    }
    if (count !== this.attrCount) return false;
    const children = el.children;
    if (children !== wire.children || children.length !== this.children.length) return false;
    for (let i = 0; i < children.length; i++) if (children[i] !== this.children[i]) return false;
    return true;
  }
}

/**
 * The bytes to write for an outbound stanza: a fan-out copy's spliced bytes when it is unchanged,
 * else the element serialised. The link's write path calls this instead of `toString()`.
 */
export function serialize(stanza: Element): string {
  const wire = (stanza as WithWire)[WIRE];
  if (wire !== undefined && wire.template.unchanged(stanza, wire)) return wire.bytes;
  return toXml(stanza);
}
