/// <reference path="../../types/xmpp.d.ts" preserve="true" />
import jid, { JID } from "@xmpp/jid";
import { JidError } from "../errors.js";

export { JID, JidError };

// Stanzas come from and go to the same few addresses again and again; parsing is the costly part.
/** An address parsed, and the cache's own copy of its text. */
export interface ParsedAddress {
  readonly jid: JID;
  /** The same characters as the address looked up, in a flat string of the cache's own. */
  readonly address: string;
}

const cache = new Map<string, ParsedAddress>();
const CACHE_SIZE = 10_000;

/** Parses a JID string (RFC 7622); throws `JidError` on an empty or malformed address. Do not mutate the result. */
export function parseJid(address: string): JID {
  return parseAddress(address).jid;
}

/**
 * parseJid, also giving the cache's own copy of the address. An address read from a stanza is a slice of the
 * read it came in (up to 64 KiB): as a map key it is slow to hash and compare (V8 compares a slice with another
 * string 2–3 × slower than a flat one) and it keeps that read alive. The dispatcher gives
 * handlers the own copy as the stanza's `from`, so their maps, the rate limiter and this cache find it at once.
 */
export function parseAddress(address: string): ParsedAddress {
  const hit = cache.get(address);
  if (hit) return hit;
  // Kept as a cache key, or in the parsed JID's parts, a slice would keep its read alive: the cache keeps a copy.
  const own = ownCopy(address);
  const parsed: ParsedAddress = { jid: parseUncached(own), address: own };
  if (cache.size >= CACHE_SIZE) cache.clear();
  cache.set(own, parsed);
  return parsed;
}

/** A flat copy of the string's UTF-16 code units (lossless, lone surrogates included). */
function ownCopy(s: string): string {
  return Buffer.from(s, "utf16le").toString("utf16le");
}

function parseUncached(address: string): JID {
  let parsed: JID;
  try {
    parsed = jid(address);
  } catch {
    throw new JidError(address);
  }
  if (!isWellFormed(address, parsed)) throw new JidError(address);
  return parsed;
}

// RFC 7622 §3.1: the domainpart is required; a localpart or resourcepart, when its separator
// is present, must not be empty; the localpart excludes " & ' / : < > @ and spaces (§3.3.1).
function isWellFormed(address: string, parsed: JID): boolean {
  if (!parsed.domain || /[\s@/]/.test(parsed.domain)) return false;
  const slash = address.indexOf("/");
  const bare = slash === -1 ? address : address.slice(0, slash);
  if (slash !== -1 && !parsed.resource) return false;
  const at = bare.indexOf("@");
  if (at !== -1 && (at === 0 || /["&'/:<>@\s]/.test(bare.slice(0, at)))) return false;
  return true;
}

/** Like {@link parseAddress} but returns undefined for a missing or malformed address. */
export function tryParseAddress(address: string | undefined): ParsedAddress | undefined {
  if (!address) return undefined;
  try {
    return parseAddress(address);
  } catch {
    return undefined;
  }
}

/** Like {@link parseJid} but returns undefined for a missing or malformed address. */
export function tryParseJid(address: string | undefined): JID | undefined {
  return tryParseAddress(address)?.jid;
}
