/// <reference path="../../types/xmpp.d.ts" preserve="true" />
import jid, { JID } from "@xmpp/jid";
import { JidError } from "../errors.js";

export { JID, JidError };

// Stanzas come from and go to the same few addresses again and again; parsing is the costly part.
const cache = new Map<string, JID>();
const CACHE_SIZE = 10_000;

/** Parses a JID string (RFC 7622); throws `JidError` on an empty or malformed address. Do not mutate the result. */
export function parseJid(address: string): JID {
  const hit = cache.get(address);
  if (hit) return hit;
  // An address read from a stanza is a slice of the whole chunk the parser got (up to 64 KiB): kept as a cache
  // key, or in the parsed JID's parts, it would keep that chunk alive. The cache keeps its own copy instead.
  const own = ownCopy(address);
  const parsed = parseUncached(own);
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

/** Like {@link parseJid} but returns undefined for a missing or malformed address. */
export function tryParseJid(address: string | undefined): JID | undefined {
  if (!address) return undefined;
  try {
    return parseJid(address);
  } catch {
    return undefined;
  }
}
