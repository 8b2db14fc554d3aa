import type { ClassifiedFailure } from "../errors.js";

export type { ClassifiedFailure, FailureClass } from "../errors.js";

/** Classifies an error from a connection attempt; the secret is never part of the message. */
export function classifyFailure(err: unknown, domain: string, service: string): ClassifiedFailure {
  const e = err as { condition?: string; code?: string; message?: string; name?: string };
  // A stream error names its condition (RFC 6120 §4.9.3); a socket error its code; a plain close has neither.
  const condition = e?.condition ?? e?.code ?? "disconnected";
  switch (condition) {
    // RFC 6120 §4.9.3.12 / XEP-0114 §3: the handshake digest did not match.
    case "not-authorized":
      return {
        kind: "fatal",
        condition,
        advice: `the server rejected the secret for ${domain}: check that the component's secret matches component_secret under Component "${domain}" in the server's config`,
      };
    // RFC 6120 §4.9.3.6: the server hosts no component of that name.
    case "host-unknown":
      return {
        kind: "fatal",
        condition,
        advice: `the server at ${service} does not know ${domain}: add Component "${domain}" with a component_secret to its config (Prosody) and reload it`,
      };
    // RFC 6120 §4.9.3.5: the domain was hosted and no longer is.
    case "host-gone":
      return {
        kind: "fatal",
        condition,
        advice: `the server at ${service} no longer hosts ${domain}: check the Component "${domain}" line in its config`,
      };
    // RFC 6120 §4.9.3.10 / §4.9.3.25: the server does not speak jabber:component:accept as we do; retrying cannot help.
    case "invalid-namespace":
    case "unsupported-version":
      return {
        kind: "fatal",
        condition,
        advice: `the server at ${service} refused the component stream for ${domain} (${condition}): is ${service} a component port (XEP-0114), not a client port?`,
      };
    // RFC 6120 §4.9.3.3: another connection already holds the domain.
    case "conflict":
      return {
        kind: "conflict",
        condition,
        advice: `another instance is already connected as ${domain}: stop it, or set component_conflict_resolve = "kick_old" in Prosody's config to let the newest win; retrying slowly`,
      };
    default:
      return { kind: "retry", condition, advice: `connection to ${service} as ${domain} failed (${e?.message || condition}); retrying` };
  }
}
