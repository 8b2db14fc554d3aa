import { isDeepStrictEqual } from "node:util";
import { type Element, parseXml } from "../stanza/xml.js";

/** A stanza's namespace as a client or a component writes it: both mean "the stream's default". */
const STREAM_DEFAULTS = new Set(["jabber:client", "jabber:component:accept", "jabber:server"]);

export interface Canonical {
  ns: string;
  name: string;
  attrs: [string, string][];
  text: string;
  children: Canonical[];
}

/**
 * A form of an element in which attribute order, namespace prefixes and whitespace-only text
 * do not show, so two semantically equal stanzas compare equal.
 */
export function canonicalize(input: Element | string): Canonical {
  const el = typeof input === "string" ? parseXml(input) : input;
  const ns = el.getNS() ?? "";
  const attrs = Object.entries(el.attrs as Record<string, unknown>)
    .filter(([k]) => k !== "xmlns" && !k.startsWith("xmlns:"))
    .map(([k, v]): [string, string] => [k, String(v)])
    .sort(([a], [b]) => a.localeCompare(b));
  const children = el.getChildElements();
  return {
    ns: STREAM_DEFAULTS.has(ns) ? "" : ns,
    name: el.getName(),
    attrs,
    text: children.length === 0 ? el.getText() : el.getText().trim(),
    children: children.map((c) => canonicalize(c)),
  };
}

export function xmlEqual(a: Element | string, b: Element | string): boolean {
  return isDeepStrictEqual(canonicalize(a), canonicalize(b));
}

/** Throws an AssertionError showing both stanzas when they are not semantically equal. */
export function assertXmlEqual(actual: Element | string | undefined, expected: Element | string, message?: string): void {
  if (actual !== undefined && xmlEqual(actual, expected)) return;
  const err = new Error(`${message ?? "stanzas differ"}\n  actual:   ${String(actual)}\n  expected: ${String(expected)}`);
  err.name = "AssertionError";
  throw err;
}
