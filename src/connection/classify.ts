import type { ClassifiedFailure } from "../errors.js";
import type { ServerKind } from "./server-kind.js";

export type { ClassifiedFailure, FailureClass } from "../errors.js";

/** The parts of an error a classification reads; `text` is the stream error's <text/> (RFC 6120 §4.9.2). */
interface FailureLike {
  condition?: string;
  code?: string;
  message?: string;
  text?: string;
  /** For the wrong-port conditions: what the port sent instead. */
  seen?: string;
}

/** What a component port is called in each server's config. */
function componentPortHint(server: ServerKind): string {
  if (server === "prosody") return "Prosody's component_ports (default 5347)";
  if (server === "ejabberd") return "the port of ejabberd's ejabberd_service listener";
  return "the component listener (Prosody: component_ports, default 5347; ejabberd: the ejabberd_service listener's port)";
}

/**
 * Classifies an error from a connection attempt into fatal / conflict / retry, with one line of advice that
 * names the configuration of the server it came from (`server`, from its stream header). The secret is never
 * part of the message.
 */
export function classifyFailure(err: unknown, domain: string, service: string, server: ServerKind = "unknown"): ClassifiedFailure {
  const e = (err ?? {}) as FailureLike;
  // A stream error names its condition (RFC 6120 §4.9.3); a socket error its code; a plain close has neither.
  const condition = e.condition ?? e.code ?? "disconnected";
  const fatal = (advice: string): ClassifiedFailure => ({ kind: "fatal", condition, advice });
  switch (condition) {
    // RFC 6120 §4.9.3.12 / XEP-0114 §3: the handshake digest did not match.
    case "not-authorized":
      if (server === "prosody") return fatal(`Prosody rejected the secret for ${domain}: check that the component's secret matches component_secret under Component "${domain}" in Prosody's config`);
      if (server === "ejabberd") {
        // ejabberd 23.01 answers not-authorized both for a wrong password and for a domain missing from the listener's hosts.
        return fatal(`ejabberd refused ${domain}: check that ${domain} is listed under hosts of the ejabberd_service listener on that port, with password equal to the component's secret`);
      }
      return fatal(`the server rejected the secret for ${domain}: check the component's secret against the server's (Prosody: component_secret under Component "${domain}"; ejabberd: password under hosts of the ejabberd_service listener)`);
    // RFC 6120 §4.9.3.6: the server hosts no component of that name.
    case "host-unknown":
      if (server === "ejabberd") return fatal(`ejabberd at ${service} does not know ${domain}: add it under hosts of the ejabberd_service listener, with a password`);
      // Prosody answers a VirtualHost's name exactly like an unknown one ("does not match any configured
      // external components"), so the advice covers both: a component cannot take a host's name.
      return fatal(`the server at ${service} does not know ${domain}: add Component "${domain}" with a component_secret to its config (Prosody) and reload it; if ${domain} is one of its VirtualHosts, a component cannot share that name: give the component a domain of its own (e.g. a subdomain of ${domain})`);
    // RFC 6120 §4.9.3.5: the domain was hosted and no longer is.
    case "host-gone":
      return fatal(`the server at ${service} no longer hosts ${domain}: check the ${server === "ejabberd" ? "hosts of the ejabberd_service listener" : `Component "${domain}" line`} in its config`);
    // RFC 6120 §4.9.3.10 / §4.9.3.25: the server does not speak jabber:component:accept as we do; retrying cannot help.
    case "invalid-namespace":
    case "unsupported-version":
      return fatal(`the server at ${service} refused the component stream for ${domain} (${condition}): is it a client port? set server.port to ${componentPortHint(server)}`);
    // Our own conditions for a port that is not a component port (see server-kind.ts and transport.ts).
    case "client-port":
      return fatal(`${service} is a client port (it answered with a jabber:client stream), not a component port: set server.port to ${componentPortHint(server)}`);
    case "http-port":
      return fatal(`${service} is an HTTP port (it answered ${e.seen ?? "HTTP"}), not an XMPP component port: set server.port to ${componentPortHint(server)}`);
    case "tls-port":
      return fatal(`${service} speaks TLS first (it sent ${e.seen ?? "a TLS record"}): set server.tls (with server.tls.caFile if its certificate is private), or point server.port at a plain component port`);
    // Node's TLS errors (OpenSSL's verify codes): the server's certificate is not one we trust.
    case "DEPTH_ZERO_SELF_SIGNED_CERT":
    case "SELF_SIGNED_CERT_IN_CHAIN":
    case "UNABLE_TO_VERIFY_LEAF_SIGNATURE":
    case "UNABLE_TO_GET_ISSUER_CERT_LOCALLY":
    case "CERT_HAS_EXPIRED":
    case "ERR_TLS_CERT_ALTNAME_INVALID":
      return fatal(`the TLS certificate of ${service} is not trusted (${condition}: ${e.message ?? ""}): set server.tls.caFile to the CA that signed it, and server.tls.servername to the name it carries`);
    // A TLS hello answered in plain text: the port does not speak TLS.
    case "ERR_SSL_WRONG_VERSION_NUMBER":
    case "ERR_SSL_PACKET_LENGTH_TOO_LONG":
      return fatal(`${service} does not speak TLS (the TLS handshake got a plain-text answer): remove server.tls, or point server.port at the TLS listener`);
    case "not-xmpp":
      return fatal(`${service} is not an XMPP component port (it sent ${e.seen ?? "something that is not XML"}): set server.port to ${componentPortHint(server)}`);
    // Accepted and closed without a stream header: a TLS-only listener (ejabberd_service with tls: true closes
    // silently on plain text) or an address the server refuses. Might be passing, so it is retried.
    case "no-stream":
      return { kind: "retry", condition, advice: `${service} closed the connection without sending an XMPP stream header: if that port expects TLS, set server.tls; otherwise check that the server accepts connections from this address; retrying` };
    // RFC 6120 §4.9.3.3: the domain is taken.
    case "conflict":
      // ejabberd 23.01: a component domain that is also one of ejabberd's own hosts can never register.
      if (/existing local domain/i.test(e.text ?? "")) {
        return fatal(`ejabberd already serves ${domain} as one of its own hosts, so no component can take it: give the component a domain that is not in ejabberd's hosts list (e.g. a subdomain), or remove ${domain} from hosts`);
      }
      if (server === "ejabberd") {
        return { kind: "conflict", condition, advice: `ejabberd refused a second connection as ${domain}: stop the other instance, or set up domain_balancing with component_number for several; retrying slowly` };
      }
      return {
        kind: "conflict",
        condition,
        advice: `another instance is already connected as ${domain}: stop it, or set component_conflict_resolve = "kick_old" in Prosody's config to let the newest win; retrying slowly`,
      };
    default:
      return { kind: "retry", condition, advice: `connection to ${service} as ${domain} failed (${e.message || condition}); retrying` };
  }
}
