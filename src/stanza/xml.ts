import { Element, clone, parse } from "ltx";

export { Element };

/** Children accepted by {@link xml}: elements, text, and nothing (skipped). */
export type XmlChild = Element | string | number | null | undefined | false | XmlChild[];

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
    else el.cnode(child);
  }
}

/** Parses one XML element from a string (throws on malformed XML). */
export function parseXml(text: string): Element {
  return parse(text) as Element;
}

/** A deep copy of an element. */
export function cloneElement(el: Element): Element {
  return clone(el) as Element;
}
