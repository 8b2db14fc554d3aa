import { Element, parse } from "ltx";

export { Element };

/**
 * XML text that is one well-formed element, written to the wire as it is (see serializedXml in
 * stanza/serialized.ts, which makes it). Immutable: one instance may be the child of many stanzas.
 */
export class SerializedXml {
  /** Made by serializedXml (stanza/serialized.ts), which checks the markup and escapes the values; parseXml(text) gives its tree. */
  constructor(readonly text: string) {}

  /** ltx's writer protocol (Element.write calls it for each child). */
  write(writer: (text: string) => void): void {
    writer(this.text);
  }

  toString(): string {
    return this.text;
  }
}

/** Children accepted by {@link xml}: elements, serialised XML, text, and nothing (skipped). */
export type XmlChild = Element | SerializedXml | string | number | null | undefined | false | XmlChild[];

/**
 * Builds an element. Attribute values and text are escaped by ltx when serialised,
 * so no caller can inject markup (unlike string concatenation).
 * Attributes whose value is undefined or null are left out.
 */
export function xml(name: string, attrs?: Record<string, string | number | undefined | null> | null, ...children: XmlChild[]): Element {
  const clean: Record<string, string> = {};
  if (attrs) {
    for (const key in attrs) {
      const value = attrs[key];
      if (value !== undefined && value !== null) clean[key] = typeof value === "string" ? value : String(value);
    }
  }
  // What ltx's createElement would build, without its second pass over the attributes (Object.entries and a
  // copy into a fresh object): `clean` already holds only strings. Every outbound stanza is built here.
  const el = new Element(name);
  el.attrs = clean;
  appendChildren(el, children);
  return el;
}

function appendChildren(el: Element, children: XmlChild[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) appendChildren(el, child);
    else if (typeof child === "string" || typeof child === "number") el.t(String(child));
    // Shared by many stanzas: not given a parent (ltx's cnode would point it at the last one).
    else if (child instanceof SerializedXml) el.children.push(child as unknown as Element);
    else el.cnode(child);
  }
}

/** Parses one XML element from a string (throws on malformed XML). */
export function parseXml(text: string): Element {
  return parse(text) as Element;
}

/** A deep copy of an element. */
export function cloneElement(el: Element): Element {
  // ltx's clone, except that a SerializedXml child (immutable) is shared rather than rebuilt as an Element.
  const copy = new (el.constructor as typeof Element)(el.name, el.attrs);
  for (const child of el.children) {
    if (child instanceof Element) copy.cnode(cloneElement(child));
    else if ((child as unknown) instanceof SerializedXml) copy.children.push(child);
    else copy.cnode(child);
  }
  return copy;
}
