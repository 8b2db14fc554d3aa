/** Which XMPP server a link talks to, so every fix message can name that server's own configuration. */
export type ServerKind = "prosody" | "ejabberd" | "unknown";

/**
 * Tells the server from its stream header (RFC 6120 §4.7), before any handshake: Prosody's stream ids are
 * UUIDs (util.uuid), ejabberd's are long decimal numbers (p1_rand); both checked against Prosody 0.12 and
 * ejabberd 23.01. Anything else is "unknown" and gets advice for both.
 */
export function serverFromHeader(attrs: Record<string, unknown>): ServerKind {
  const id = typeof attrs.id === "string" ? attrs.id : "";
  if (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id)) return "prosody";
  if (/^\d{6,}$/.test(id)) return "ejabberd";
  return "unknown";
}

/** What the first bytes of a connection say about the port, when they are not an XMPP stream. */
export type NotXmpp = { condition: "http-port" | "tls-port" | "not-xmpp"; seen: string };

/** Looks at the first bytes the server sent; undefined = could be XMPP (starts with "<" after whitespace). */
export function sniffNotXmpp(first: Buffer): NotXmpp | undefined {
  if (first.length === 0) return undefined;
  // TLS records start with content type 0x16 (handshake) or 0x15 (alert), then version 0x03 0x0N (RFC 8446 §5.1).
  if ((first[0] === 0x16 || first[0] === 0x15) && first[1] === 0x03) return { condition: "tls-port", seen: "a TLS record" };
  const text = first.subarray(0, 64).toString("latin1");
  if (/^HTTP\/\d/.test(text)) return { condition: "http-port", seen: JSON.stringify(text.split(/\r?\n/)[0]) };
  const start = text.trimStart();
  if (start.length === 0 || start.startsWith("<")) return undefined;
  return { condition: "not-xmpp", seen: JSON.stringify(start.slice(0, 24).replace(/[^\x20-\x7e]/g, "?")) };
}
