import { ManagedEjabberd } from "./ejabberd.js";
import { ManagedProsody } from "./prosody.js";

/** The XMPP servers Annex is tested against. */
export const SERVER_KINDS = ["prosody", "ejabberd"] as const;
export type ServerKind = (typeof SERVER_KINDS)[number];
export type ManagedServer = ManagedProsody | ManagedEjabberd;

/** What a test needs from a server, said once for both (each renders it in its own config language). */
export interface ServerOptions {
  host?: string;
  /** Component domains with their secrets (Prosody: Component + component_secret; ejabberd: ejabberd_service hosts + password). */
  components?: { domain: string; secret: string }[];
  users?: { username: string; password: string }[];
  /**
   * The server's own XEP-0060 service at this JID. `publishers` (component domains) may create nodes on it and publish
   * (Prosody: admins + autocreate_on_publish; ejabberd: an acl in pubsub_createnode).
   */
  pubsub?: { service: string; publishers?: string[] };
  /** A XEP-0045 service at this JID. */
  muc?: { service: string };
  /** Bare JIDs with admin rights on the server. */
  admins?: string[];
  /** Extra items in the server's own disco#items (Prosody: disco_items with a name; ejabberd: mod_disco extra_domains, no name). */
  discoItems?: { jid: string; name: string }[];
  web?: { anonymousHost?: string; filesDir?: string };
  /** Prosody only: extra Lua lines (global section / after the hosts). */
  prosody?: { extraGlobal?: string; extraHosts?: string };
  /** ejabberd only: `global_routes` of the component listener (default false). */
  ejabberd?: { globalRoutes?: boolean };
}

/**
 * The test servers to run against: both, or the ones named in ANNEX_TEST_SERVER ("prosody", "ejabberd",
 * or "prosody,ejabberd"). An unknown name is an error, not a silently smaller run.
 */
export function testServerKinds(env: NodeJS.ProcessEnv = process.env): ServerKind[] {
  const wanted = env.ANNEX_TEST_SERVER?.trim();
  if (!wanted) return [...SERVER_KINDS];
  const kinds = wanted.split(",").map((s) => s.trim());
  for (const kind of kinds) {
    if (!(SERVER_KINDS as readonly string[]).includes(kind)) throw new Error(`ANNEX_TEST_SERVER: unknown server "${kind}" (use ${SERVER_KINDS.join(", ")} or a comma-separated list)`);
  }
  return kinds as ServerKind[];
}

/** Starts a private server of the given kind with the same meaning for every option. */
export async function startServer(kind: ServerKind, o: ServerOptions = {}): Promise<ManagedServer> {
  if (kind === "ejabberd") {
    return ManagedEjabberd.start({
      host: o.host,
      components: o.components,
      users: o.users,
      pubsub: o.pubsub,
      muc: o.muc,
      admins: o.admins,
      discoExtraDomains: o.discoItems?.map((i) => i.jid),
      web: o.web,
      globalRoutes: o.ejabberd?.globalRoutes,
    });
  }
  const lua = (s: string) => JSON.stringify(s);
  const hosts: string[] = [];
  if (o.pubsub) {
    hosts.push(`Component ${lua(o.pubsub.service)} "pubsub"`);
    // mod_pubsub: admins may create and publish anywhere; autocreate_on_publish makes the node on first publish.
    if (o.pubsub.publishers?.length) hosts.push(`  admins = { ${o.pubsub.publishers.map(lua).join("; ")} }`, "  autocreate_on_publish = true");
  }
  if (o.muc) hosts.push(`Component ${lua(o.muc.service)} "muc"`);
  // Reopening the VirtualHost scopes disco_items to the server alone.
  if (o.discoItems?.length) hosts.push(`VirtualHost ${lua(o.host ?? "localhost")}`, `  disco_items = { ${o.discoItems.map((i) => `{ ${lua(i.jid)}, ${lua(i.name)} }`).join("; ")} }`);
  const global = [o.admins?.length ? `admins = { ${o.admins.map(lua).join("; ")} }` : "", o.prosody?.extraGlobal ?? ""].filter(Boolean).join("\n");
  return ManagedProsody.start({
    host: o.host,
    components: o.components,
    users: o.users,
    web: o.web,
    extraGlobal: global || undefined,
    extraHosts: [...hosts, o.prosody?.extraHosts ?? ""].filter(Boolean).join("\n") || undefined,
  });
}
