// The few XEP-0114 pieces the load generator and the floor variant need, by hand (no XML parser).
import { createHash } from "node:crypto";

export const NS_ACCEPT = "jabber:component:accept";
export const NS_STREAM = "http://etherx.jabber.org/streams";

// XEP-0114 §3: handshake = lowercase hex SHA-1 of (stream id + secret), over UTF-8.
export function handshakeDigest(streamId, secret) {
  return createHash("sha1").update(Buffer.from(streamId + secret, "utf8")).digest("hex");
}

/** The component's opening stream header (XEP-0114 §3, step 1). */
export function componentStreamHeader(domain) {
  return `<?xml version='1.0'?><stream:stream xmlns='${NS_ACCEPT}' xmlns:stream='${NS_STREAM}' to='${domain}'>`;
}

/** The server's reply header (XEP-0114 §3, step 2), carrying the stream id the digest is made with. */
export function serverStreamHeader(domain, id) {
  return `<?xml version='1.0'?><stream:stream xmlns:stream='${NS_STREAM}' xmlns='${NS_ACCEPT}' from='${domain}' id='${id}'>`;
}

/** Value of attribute `name` inside an opening tag `tag` (either quote style), or undefined. */
export function attr(tag, name) {
  const re = new RegExp(`\\s${name}=(['"])([^'"]*)\\1`);
  const m = re.exec(tag);
  return m ? m[2] : undefined;
}
