import { AnnexError, ErrorCode } from "../errors.js";
import { StreamParser } from "./parser.js";
import { Element, SerializedXml } from "./xml.js";

export { SerializedXml };

// How Annex writes XML: toXml (ltx's bytes, faster) for element trees, and serialised XML made by a tagged template: for a payload of a fixed shape sent thousands of times a second (a
// game's snapshot), where building an element tree and serialising it again was most of what a stanza cost
// (bench/findings.md: ≈ 2 µs of building, escaping and rope-flattening per stanza against ≈ 0.3 µs for the same
// text from a template). The literal's markup is checked once per call site; every value is escaped, so no value
// can inject markup, exactly as with xml().
//
//   const snapshot = serializedXml`<s xmlns="${NS}" t="${tick}" b="${x},${y}"/>`;
//   sender.send(xml("message", { to, type: "headline" }, snapshot));
//
// The result is a child like any other: the link, fan-out copies and ltx's toString() write its text as it is,
// and the test harness parses what went out, so a test sees elements. Middleware sees an opaque child (it is not
// an Element: getChild() does not look inside it).

/** A value of a template: an attribute value or text (escaped), or in text, serialised XML or an element. */
export type SerializedValue = string | number | boolean | bigint | SerializedXml | Element;

type HoleKind = "attribute" | "text";
const SHAPES = new WeakMap<TemplateStringsArray, readonly HoleKind[]>();

/**
 * Serialised XML from a tagged template. The literal must be one element whose values (`${…}`) stand in
 * attribute values or text, never in names; this is checked the first time each call site runs (an
 * ANNEX_ERR_XML_TEMPLATE error names the fault). Strings and numbers are escaped (the five entities, as ltx
 * escapes attribute values); SerializedXml and Element values are written as XML, in text positions only;
 * null, undefined and other objects are refused (an attribute that may be absent needs a literal without it).
 */
export function serializedXml(strings: TemplateStringsArray, ...values: SerializedValue[]): SerializedXml {
  let kinds = SHAPES.get(strings);
  if (kinds === undefined) {
    kinds = checkTemplate(strings);
    SHAPES.set(strings, kinds);
  }
  let text = strings[0]!;
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    let piece: string;
    if (typeof value === "string") piece = escapeXML(value);
    else if (typeof value === "number") piece = String(value);
    else if (value instanceof SerializedXml || value instanceof Element) {
      if (kinds[i] !== "text") throw templateError(`value ${i} is XML but stands in an attribute value; only text can hold XML`, strings);
      piece = value instanceof SerializedXml ? value.text : toXml(value);
    } else if (typeof value === "boolean" || typeof value === "bigint") piece = String(value);
    else throw templateError(`value ${i} is ${value === null ? "null" : typeof value}; give a string or a number (leave an absent attribute out of the literal)`, strings);
    text += piece + strings[i + 1]!;
  }
  return new SerializedXml(text);
}

/**
 * The same bytes as ltx's `Element.toString()` (same attribute order, quoting and escaping: the five
 * entities in attribute values, & < > in text), built in one pass without a writer callback per token and
 * without running a regular expression over strings that need no escaping (most attribute values).
 */
export function toXml(el: Element): string {
  let s = "<" + el.name;
  const attrs = el.attrs as Record<string, unknown>;
  for (const k in attrs) {
    const v = attrs[k];
    if (v != null) s += " " + k + '="' + escapeXML(typeof v === "string" ? v : (v as number).toString(10)) + '"';
  }
  const children = el.children as unknown[];
  if (children.length === 0) return s + "/>";
  s += ">";
  for (const child of children) {
    if (child == null) continue;
    if (typeof child === "string") s += escapeXMLText(child);
    else if (child instanceof Element) s += toXml(child);
    else if (child instanceof SerializedXml) s += child.text;
    else if ((child as Element).write !== undefined) s += (child as Element).toString();
    else if ((child as { toString?: unknown }).toString) s += escapeXMLText((child as number).toString(10));
  }
  return s + "</" + el.name + ">";
}

const ATTR_SPECIAL = /["&'<>]/;
const ATTR_TABLE: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;" };
const TEXT_SPECIAL = /[&<>]/;

/** ltx's escapeXML, with a scan first: values without special characters are returned as they are. */
export function escapeXML(s: string): string {
  if (!ATTR_SPECIAL.test(s)) return s;
  return s.replace(/["&'<>]/g, (c) => ATTR_TABLE[c]!);
}

/** ltx's escapeXMLText (& < > only), with the same scan first. */
function escapeXMLText(s: string): string {
  if (!TEXT_SPECIAL.test(s)) return s;
  return s.replace(/[&<>]/g, (c) => ATTR_TABLE[c]!);
}

/** Marks a hole in the literal: private-use characters cannot start an XML name (XML 1.0 §2.3) and carry the index. */
const HOLE = /\uE000(\d+)\uE001/g;
const HAS_HOLE = /\uE000\d+\uE001/;
const hole = (i: number) => `\uE000${i}\uE001`;

/** Parses the literal with its holes marked, and says for each hole whether it is in an attribute or in text. */
function checkTemplate(strings: TemplateStringsArray): HoleKind[] {
  const marked = strings.reduce((text, piece, i) => text + (i === 0 ? "" : hole(i - 1)) + piece, "");
  const trimmed = marked.trim();
  // Text in a CDATA section is not unescaped by the reader, so an escaped value would arrive changed.
  if (strings.length > 1 && marked.includes("<![CDATA[")) throw templateError("a template with values cannot hold a CDATA section", strings);
  if (!trimmed.startsWith("<") || !trimmed.endsWith(">")) throw templateError("the literal must be one element, with nothing before or after it", strings);
  let root: Element;
  try {
    root = parseOne(marked);
  } catch (err) {
    throw templateError((err instanceof Error ? err.message : String(err)).replace(HOLE, "${…}"), strings);
  }
  const kinds: HoleKind[] = new Array(strings.length - 1);
  const note = (text: string, kind: HoleKind) => {
    for (const m of text.matchAll(HOLE)) kinds[Number(m[1])] = kind;
  };
  const walk = (el: Element) => {
    if (HAS_HOLE.test(el.name)) throw templateError(`a value stands in an element name (<${el.name.replace(HOLE, "${…}")}>)`, strings);
    for (const [name, value] of Object.entries(el.attrs as Record<string, string>)) {
      if (HAS_HOLE.test(name)) throw templateError(`a value stands in an attribute name of <${el.name}>`, strings);
      note(value, "attribute");
    }
    for (const child of el.children) {
      if (typeof child === "string") note(child, "text");
      else walk(child as Element);
    }
  };
  walk(root);
  for (let i = 0; i < kinds.length; i++) {
    if (kinds[i] === undefined) throw templateError(`value ${i} stands where XML keeps no value (inside a tag, between attributes)`, strings);
  }
  return kinds;
}

/** Exactly one element from `text`, with the stream parser's strict checks (RFC 6120 §11.1 restricted XML included). */
function parseOne(text: string): Element {
  const parser = new StreamParser();
  const found: Element[] = [];
  let error: Error | undefined;
  parser.on("element", (el: Element) => found.push(el));
  parser.on("error", (err: Error) => (error = err));
  parser.write(`<annex-serialized>${text}</annex-serialized>`);
  if (error) throw error;
  if (found.length !== 1) throw new Error(found.length === 0 ? "no element" : `${found.length} elements, not one`);
  const el = found[0]!;
  el.parent = null;
  return el;
}

function templateError(fault: string, strings: TemplateStringsArray): AnnexError {
  const literal = strings.join("${…}");
  return new AnnexError(ErrorCode.XmlTemplate, `serializedXml: ${fault}, in ${JSON.stringify(literal.length > 120 ? literal.slice(0, 117) + "…" : literal)}`);
}
