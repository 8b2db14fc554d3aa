import { StanzaError } from "./errors.js";
import { type Element, xml } from "./xml.js";

// XEP-0059 result set management.
export const NS_RSM = "http://jabber.org/protocol/rsm";

export interface RsmRequest {
  /** Page size (§2.1); undefined = the responder's default. */
  max?: number;
  /** Items after this UID (§2.2, paging forwards). */
  after?: string;
  /** Items before this UID; `true` for an empty <before/>, the last page (§2.5). */
  before?: string | true;
  /** Start at this index (§2.6, out-of-order paging). */
  index?: number;
}

export interface RsmResult {
  first?: string;
  /** Index of the first item in the full set (§2.1 <first index=…>). */
  firstIndex?: number;
  last?: string;
  /** Number of items in the full set (§2.4). */
  count?: number;
}

/** Reads the `<set/>` child of an element, if any; bad numbers are a bad-request. */
export function parseRsm(parent: Element): RsmRequest | undefined {
  const set = parent.getChild("set", NS_RSM);
  if (!set) return undefined;
  const request: RsmRequest = {};
  const max = set.getChildText("max");
  if (max !== null) request.max = nonNegativeInt(max, "max");
  const after = set.getChild("after");
  if (after) request.after = after.getText();
  const before = set.getChild("before");
  if (before) request.before = before.getText() === "" ? true : before.getText();
  const index = set.getChildText("index");
  if (index !== null) request.index = nonNegativeInt(index, "index");
  if (request.after !== undefined && request.before !== undefined) throw new StanzaError("bad-request", "RSM <after/> and <before/> cannot be combined");
  return request;
}

/** Builds the responder's `<set/>` (§2.1); an empty page carries only the count (§2.7). */
export function buildRsm(result: RsmResult): Element {
  return xml(
    "set",
    { xmlns: NS_RSM },
    result.first === undefined ? null : xml("first", { index: result.firstIndex }, result.first),
    result.last === undefined ? null : xml("last", {}, result.last),
    result.count === undefined ? null : xml("count", {}, result.count),
  );
}

/** Builds a requester's `<set/>`. */
export function buildRsmRequest(request: RsmRequest): Element {
  return xml(
    "set",
    { xmlns: NS_RSM },
    request.max === undefined ? null : xml("max", {}, request.max),
    request.after === undefined ? null : xml("after", {}, request.after),
    request.before === undefined ? null : xml("before", {}, request.before === true ? "" : request.before),
    request.index === undefined ? null : xml("index", {}, request.index),
  );
}

function nonNegativeInt(text: string, what: string): number {
  if (!/^\d{1,9}$/.test(text.trim())) throw new StanzaError("bad-request", `RSM <${what}/> must be a non-negative integer, not ${JSON.stringify(text)}`);
  return Number(text.trim());
}
