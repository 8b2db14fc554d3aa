/** Why game stanzas were refused or dropped, counted for operators (and asserted by the tests). */
export interface DropCounters {
  /** A paddle input from a JID that has no seat (spectators, strangers, the book's hijacking bot). */
  notSeated: number;
  /** Not a number, or a missing/invalid sequence number. */
  invalid: number;
  /** A number outside the field. */
  outOfRange: number;
  /** A sequence number not above the last one accepted. */
  stale: number;
  /** Over the sender's token bucket. */
  rateLimited: number;
  /** Sent while the game was paused or over. */
  wrongPhase: number;
  /** Larger than maxStanzaBytes. */
  oversized: number;
}

export const noDrops = (): DropCounters => ({ notSeated: 0, invalid: 0, outOfRange: 0, stale: 0, rateLimited: 0, wrongPhase: 0, oversized: 0 });

/** The parts of an ltx element the size bound reads (structural, so this file needs no import). */
interface SizedElement {
  name: string;
  attrs: Record<string, unknown>;
  children: unknown[];
}

/**
 * The UTF-8 size of `element` as ltx's `toString()` writes it, or `undefined` when a cheap upper bound already
 * shows it is at most `limit` bytes (every game input, so the guard does not serialise each one). The bound:
 * names and attribute keys at most 3 bytes per UTF-16 unit; an attribute value at most 6 per unit (`&quot;`
 * is the longest escape, a non-ASCII unit is at most 3 bytes), text at most 5 (`&amp;`); plus the markup
 * characters. Anything the bound cannot see through (a non-string value, an unknown child) is serialised.
 */
export function stanzaBytesOver(element: SizedElement, limit: number): number | undefined {
  const bound = boundOf(element, limit);
  if (bound !== undefined && bound <= limit) return undefined;
  return Buffer.byteLength(String(element));
}

function boundOf(el: SizedElement, limit: number): number | undefined {
  // "<name" + ">" + "</name>" (or "/>")
  let total = el.name.length * 6 + 5;
  for (const key in el.attrs) {
    const value = el.attrs[key];
    if (value === undefined || value === null) continue;
    if (typeof value !== "string") return undefined;
    total += key.length * 3 + 4 + value.length * 6; // ` key="value"`
  }
  for (const child of el.children) {
    if (typeof child === "string") total += child.length * 5;
    else if (child !== null && typeof child === "object" && "name" in child && "attrs" in child && "children" in child) {
      const inner = boundOf(child as SizedElement, limit);
      if (inner === undefined) return undefined;
      total += inner;
    } else return undefined;
    if (total > limit) return total;
  }
  return total;
}
