// Replaces @xmpp/base64 in the browser bundle (scripts/build-web.mjs aliases it here). Its browser build
// is plain btoa/atob, which take Latin-1 "binary strings": a PLAIN response with "älice-pw" went out as
// Latin-1 bytes (the server says malformed-request) and "пароль1" threw "outside of the Latin1 range".
// SASL PLAIN's message is UTF-8 (RFC 4616 §2), and so are the other strings xmpp.js encodes in a
// browser (the ANONYMOUS trace, RFC 4505 §2): encode the string's UTF-8 bytes, decode back to UTF-8.

export function encode(text: string): string {
  let binary = "";
  for (const byte of new TextEncoder().encode(text)) binary += String.fromCharCode(byte);
  return globalThis.btoa(binary);
}

export function decode(base64: string): string {
  const binary = globalThis.atob(base64);
  const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
  return new TextDecoder().decode(bytes);
}
