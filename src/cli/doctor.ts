import { pino } from "pino";
import { type LoadedConfig, resolveSecret, resolveTls } from "../config/load.js";
import { LinkSupervisor } from "../connection/supervisor.js";
import { ErrorCode, FatalLinkError } from "../errors.js";
import { Component } from "../handlers/decorators.js";
import { isListening } from "../ops/net.js";
import { bindLink } from "../runtime/bind.js";
import { ComponentHost } from "../runtime/host.js";
import { NS } from "../stanza/namespaces.js";
import { xml } from "../stanza/xml.js";
import { type CliIo, EXIT } from "./io.js";

interface Check {
  ok: boolean;
  what: string;
  fix?: string;
  /** Neither a pass nor a failure: what could not be checked, and why. */
  note?: boolean;
}

/** What doctor connects as: a component with no routes and no built-ins, only there to send requests. */
@Component({ identity: { category: "component", type: "generic", name: "annex doctor" } })
class DoctorProbe {}

/**
 * `annex doctor`: for each component, is the server reachable, does the handshake pass, and does
 * the server's disco know the component. Each failure comes with the exact fix.
 */
export async function doctor(config: LoadedConfig, io: CliIo): Promise<number> {
  const { host, port } = config.server;
  const service = `xmpp://${host}:${port}`;
  let failures = 0;
  const reachable = await isListening(port, host);
  for (const [index, entry] of config.components.entries()) {
    const checks: Check[] = [];
    if (!reachable) {
      checks.push({ ok: false, what: `nothing accepts connections on ${host}:${port}`, fix: `start the server, and check its component listener: Prosody: component_ports = { ${port} } and component_interfaces = { "${host}" }; ejabberd: an ejabberd_service listener with port: ${port} and ip: "${host}"` });
    } else {
      checks.push({ ok: true, what: `${host}:${port} accepts connections` });
      const live = await liveState(config, entry.domain);
      if (live === "online") {
        // A second connection would be refused (Prosody: conflict) or, worse, take part of the live one's
        // traffic (ejabberd balances a domain over its connections): check through the running instance instead.
        checks.push({ ok: true, what: `a running Annex serves ${entry.domain} (its /healthz on ${config.metrics.host}:${config.metrics.port} says online): the handshake works; doctor does not connect a second time` });
        checks.push({ ok: true, what: `not checked while it runs: whether the server's disco#items lists ${entry.domain} (stop that Annex and run doctor again to check it)` });
      } else if (live === "standby") {
        // Its partner holds the lease and serves the domain; a connection from here would compete with it.
        checks.push({ ok: true, what: `the Annex on ${config.metrics.host}:${config.metrics.port} is a standby for ${entry.domain} (another process holds its lease and serves it): doctor does not connect; run it next to the active one` });
      } else {
        if (live) checks.push({ ok: true, what: `a running Annex knows ${entry.domain} but is not online (its /healthz says ${live}): checking the connection myself` });
        checks.push(...(await checkComponent(config, index, service)));
      }
    }
    failures += checks.filter((c) => !c.ok).length;
    io.out(`${entry.domain}`);
    for (const c of checks) io.out(`  ${c.note ? "note" : c.ok ? "ok  " : "FAIL"} ${c.what}${c.fix ? `\n       fix: ${c.fix}` : ""}`);
  }
  io.out(failures === 0 ? "all checks passed" : `${failures} check(s) failed`);
  return failures === 0 ? EXIT.ok : EXIT.config;
}

/** The state the configured metrics port's /healthz reports for `domain`, if an Annex answers there. */
async function liveState(config: LoadedConfig, domain: string): Promise<string | undefined> {
  const { host, port } = config.metrics;
  if (port === 0) return undefined;
  try {
    const response = await fetch(`http://${host}:${port}/healthz`, { signal: AbortSignal.timeout(1_000) });
    const report = (await response.json()) as { components?: Record<string, { state?: string }> };
    return report.components?.[domain]?.state;
  } catch {
    return undefined;
  }
}

async function checkComponent(config: LoadedConfig, index: number, service: string): Promise<Check[]> {
  const entry = config.components[index]!;
  let secret: string;
  try {
    secret = await resolveSecret(entry, index, config.baseDir);
  } catch (err) {
    return [{ ok: false, what: "the secret could not be read", fix: (err as Error).message }];
  }
  let tls: Awaited<ReturnType<typeof resolveTls>>;
  try {
    tls = await resolveTls(config);
  } catch (err) {
    return [{ ok: false, what: "the TLS settings could not be read", fix: (err as Error).message }];
  }
  const log = pino({ level: "silent" });
  // One attempt, no keepalive: the same link and binding as `annex run`, so requests are matched on id and sender.
  const link = new LinkSupervisor({ host: config.server.host, port: config.server.port, domain: entry.domain, secret, log, timeoutMs: config.server.timeoutMs, keepalive: false, once: true, tls });
  const host = new ComponentHost({ component: DoctorProbe, domain: entry.domain, log, builtins: { disco: false, ping: false, version: false, time: false }, iqTimeoutMs: config.server.timeoutMs });
  const binding = bindLink(host, link);
  try {
    await link.start();
  } catch (err) {
    binding.unbind();
    await link.stop();
    if (!(err instanceof FatalLinkError) || err.code !== ErrorCode.LinkFatal) throw err;
    const c = err.failure;
    if (c.kind === "conflict") return [{ ok: true, what: `the handshake is accepted, but another connection holds ${entry.domain} (is Annex already running? then this is fine)` }];
    return [{ ok: false, what: `the handshake failed (${c.condition})`, fix: c.advice }];
  }
  const checks: Check[] = [{ ok: true, what: "the handshake is accepted (secret and Component line match)" }];
  const serverDomain = entry.domain.split(".").slice(1).join(".");
  try {
    const items = await host.sender.request(xml("iq", { type: "get", to: serverDomain }, xml("query", { xmlns: NS.discoItems })), { timeoutMs: config.server.timeoutMs });
    const listed = items.getChild("query")?.getChildren("item").some((i) => i.attrs.jid === entry.domain);
    checks.push(
      listed
        ? { ok: true, what: `${serverDomain} lists ${entry.domain} in its disco#items` }
        : { ok: false, what: `${serverDomain} answers disco#items but does not list ${entry.domain}`, fix: `clients browsing ${serverDomain} will not find it: make it a subdomain of a VirtualHost, or add it to disco_items in Prosody's config` },
    );
  } catch (err) {
    if (link.server === "ejabberd" && (err as { code?: string }).code === ErrorCode.IqTimeout) {
      // ejabberd admits a second connection on a domain and spreads the domain's stanzas over both, so the
      // answer may have gone to a running instance: that is not a failure doctor can honestly report.
      checks.push({
        ok: true,
        note: true,
        what: `${serverDomain} did not answer disco#items on this connection; on ejabberd a running Annex for ${entry.domain} may have received the answer (ejabberd spreads a domain's stanzas over its connections): set metrics.port so doctor checks through its /healthz instead`,
      });
    } else {
      checks.push({ ok: false, what: `${serverDomain} did not answer disco#items (${(err as Error).message})`, fix: `check that ${serverDomain} is a VirtualHost of this server with mod_disco enabled` });
    }
  }
  await host.stop({ drainMs: 0 });
  binding.unbind();
  await link.stop().catch(() => undefined);
  return checks;
}
