import type { Link } from "../connection/port.js";
import type { Middleware } from "../pipeline/pipeline.js";
import type { Element } from "../stanza/xml.js";
import type { ComponentHost } from "./host.js";

export interface BindOptions {
  /** Middleware that sees every received stanza first (e.g. process-wide counters). */
  inbound?: Middleware[];
  /** Middleware that sees every sent stanza last, right before the link (e.g. counters of what really leaves). */
  outbound?: Middleware[];
}

export interface Binding {
  readonly host: ComponentHost;
  readonly link: Link;
  /** Takes the listeners and middleware out again; the host's sends then fail with ANNEX_ERR_LINK_DOWN. */
  unbind(): void;
}

/**
 * The one place a component host is joined to a link (runner, harness and `annex doctor` all use it):
 * received stanzas go through the host's inbound pipeline to dispatch, sent ones through its outbound
 * pipeline to the link; online/offline become the host's lifecycle hooks.
 */
export function bindLink(host: ComponentHost, link: Link, options: BindOptions = {}): Binding {
  if (link.domain !== host.domain) throw new Error(`cannot bind the component of ${host.domain} to a link for ${link.domain}`);
  const inbound = [...(link.middleware?.inbound ?? []), ...(options.inbound ?? [])];
  const outbound = [...(options.outbound ?? []), ...(link.middleware?.outbound ?? [])];
  host.inbound.prepend(...inbound);
  host.outbound.use(...outbound);
  host.bindSink((stanza) => link.send(stanza));
  const onStanza = (stanza: Element) => void host.receive(stanza);
  const onOnline = () => void host.online();
  const onOffline = (reason: string) => host.linkDown(reason);
  link.on("stanza", onStanza);
  link.on("online", onOnline);
  link.on("offline", onOffline);
  return {
    host,
    link,
    unbind() {
      link.off("stanza", onStanza);
      link.off("online", onOnline);
      link.off("offline", onOffline);
      host.inbound.remove(...inbound);
      host.outbound.remove(...outbound);
      host.bindSink(undefined);
    },
  };
}
