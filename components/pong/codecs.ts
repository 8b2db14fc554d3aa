import { bookCodec } from "./codec-book.js";
import { compactCodec } from "./codec-compact.js";
import type { WireCodec } from "./codec.js";
import type { Protocol } from "./protocol.js";

// The choice of codec lives apart from the interface (codec.ts), which both codecs implement: no import circle.

/** The codec for what an address checked in with. */
export function codecFor(protocol: Protocol): WireCodec {
  return protocol === "book" ? bookCodec : compactCodec;
}
