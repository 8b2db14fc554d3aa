import { type LoadedConfig, resolveSecret } from "../config/load.js";
import { classifyFailure } from "../connection/classify.js";
import { ComponentLink } from "../connection/link.js";
import { isListening } from "../ops/net.js";
import { NS } from "../stanza/namespaces.js";
import { type Element, xml } from "../stanza/xml.js";
import { type CliIo, EXIT } from "./io.js";

interface Check {
  ok: boolean;
  what: string;
  fix?: string;
}

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
      checks.push({ ok: false, what: `nothing accepts connections on ${host}:${port}`, fix: `start the server, and check component_ports = { ${port} } and component_interfaces = { "${host}" } in its config` });
    } else {
      checks.push({ ok: true, what: `${host}:${port} accepts connections` });
      checks.push(...(await checkComponent(config, index, service)));
    }
    failures += checks.filter((c) => !c.ok).length;
    io.out(`${entry.domain}`);
    for (const c of checks) io.out(`  ${c.ok ? "ok  " : "FAIL"} ${c.what}${c.fix ? `\n       fix: ${c.fix}` : ""}`);
  }
  io.out(failures === 0 ? "all checks passed" : `${failures} check(s) failed`);
  return failures === 0 ? EXIT.ok : EXIT.config;
}

async function checkComponent(config: LoadedConfig, index: number, service: string): Promise<Check[]> {
  const entry = config.components[index]!;
  let secret: string;
  try {
    secret = await resolveSecret(entry, index, config.baseDir);
  } catch (err) {
    return [{ ok: false, what: "the secret could not be read", fix: (err as Error).message }];
  }
  const link = new ComponentLink({ service, domain: entry.domain, secret, timeoutMs: config.server.timeoutMs });
  let failure: unknown;
  link.on("error", (err: unknown) => {
    failure ??= err;
  });
  try {
    await link.start();
  } catch (err) {
    link.socket?.destroy();
    const c = classifyFailure(failure ?? err, entry.domain, service);
    if (c.kind === "conflict") return [{ ok: true, what: `the handshake is accepted, but another connection holds ${entry.domain} (is Annex already running? then this is fine)` }];
    return [{ ok: false, what: `the handshake failed (${c.condition})`, fix: c.advice }];
  }
  const checks: Check[] = [{ ok: true, what: "the handshake is accepted (secret and Component line match)" }];
  const serverDomain = entry.domain.split(".").slice(1).join(".");
  try {
    const items = await ask(link, xml("iq", { type: "get", id: "doctor-items", from: entry.domain, to: serverDomain }, xml("query", { xmlns: NS.discoItems })), config.server.timeoutMs);
    const listed = items.getChild("query")?.getChildren("item").some((i) => i.attrs.jid === entry.domain);
    checks.push(
      listed
        ? { ok: true, what: `${serverDomain} lists ${entry.domain} in its disco#items` }
        : { ok: false, what: `${serverDomain} answers disco#items but does not list ${entry.domain}`, fix: `clients browsing ${serverDomain} will not find it: make it a subdomain of a VirtualHost, or add it to disco_items in Prosody's config` },
    );
  } catch (err) {
    checks.push({ ok: false, what: `${serverDomain} did not answer disco#items (${(err as Error).message})`, fix: `check that ${serverDomain} is a VirtualHost of this server with mod_disco enabled` });
  }
  await link.stop().catch(() => undefined);
  return checks;
}

function ask(link: ComponentLink, iq: Element, timeoutMs: number): Promise<Element> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      link.off("stanza", onStanza);
      reject(new Error(`no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    const onStanza = (el: Element) => {
      if (el.attrs.id !== iq.attrs.id) return;
      clearTimeout(timer);
      link.off("stanza", onStanza);
      if (el.attrs.type === "result") resolve(el);
      else reject(new Error(el.getChild("error")?.getChildElements()[0]?.name ?? "error"));
    };
    link.on("stanza", onStanza);
    link.send(iq).catch(reject);
  });
}
