import type { DiscoItem, HostedComponent } from "annex";
import { describeFailure, type InfoAnswer } from "./disco-client.js";
import { limiter } from "./limit.js";
import { type Entity, entityKey, HOSTED, type ServerResult, type Snapshot } from "./snapshot.js";

/** The two queries a crawl needs (DiscoClient in production). */
export interface DiscoQueries {
  info(jid: string, node?: string): Promise<InfoAnswer>;
  items(jid: string, node?: string): Promise<DiscoItem[]>;
}

export interface CrawlPlan {
  servers: string[];
  hosted: HostedComponent[];
  /** The directory's own domain: described from this process, never asked over the network (it would ask itself). */
  ownDomain: string;
  concurrency: number;
  maxNodesPerItem: number;
}

/**
 * The walk of "Practical XMPP" ch. 6, bounded: disco#info and disco#items on each server, disco#info and
 * disco#items on each item it lists, and disco#info on one level of nodes those items list.
 * Every query has its own timeout (in DiscoQueries); a failure is kept on the entity, never dropped.
 */
export async function crawl(queries: DiscoQueries, plan: CrawlPlan): Promise<Snapshot> {
  const started = Date.now();
  const run = limiter(plan.concurrency);
  const entities = new Map<string, Entity>();
  /** Keys already asked about in this crawl (an entity listed twice is queried once). */
  const asked = new Set<string>([plan.ownDomain]);
  const firstAsk = (e: Entity): boolean => {
    const key = entityKey(e);
    if (asked.has(key)) return false;
    asked.add(key);
    return true;
  };

  const ensure = (jid: string, node: string | undefined, via: string, listedName?: string): Entity => {
    const key = entityKey({ jid, node });
    const known = entities.get(key);
    if (known) {
      if (!known.foundVia.includes(via)) known.foundVia.push(via);
      known.listedName ??= listedName;
      return known;
    }
    const entity: Entity = { jid, node, listedName, foundVia: [via], identities: [], features: [] };
    entities.set(key, entity);
    return entity;
  };

  // The components of this process are known without asking; what the server says about them (below) wins.
  for (const h of plan.hosted) {
    const entity = ensure(h.domain, undefined, HOSTED);
    entity.identities = h.identities;
    entity.features = [...h.features].sort();
  }

  const describe = async (entity: Entity, withItems: boolean): Promise<void> => {
    const [info, items] = await Promise.allSettled([
      run(() => queries.info(entity.jid, entity.node)),
      withItems ? run(() => queries.items(entity.jid, entity.node)) : Promise.resolve(undefined),
    ]);
    if (info.status === "fulfilled") {
      entity.identities = info.value.identities;
      entity.features = info.value.features;
      delete entity.error;
    } else {
      entity.error = describeFailure(info.reason);
    }
    if (items.status === "fulfilled") entity.items = items.value;
    else entity.itemsError = describeFailure(items.reason);
  };

  /** An item listed by a server: described, and one level of the nodes it lists described too. */
  const explore = async (entity: Entity): Promise<void> => {
    await describe(entity, entity.node === undefined);
    const nodes = (entity.items ?? []).filter((i) => i.node !== undefined).slice(0, plan.maxNodesPerItem);
    await Promise.all(
      nodes.map(async (n) => {
        const child = ensure(n.jid, n.node, entity.jid, n.name);
        if (firstAsk(child)) await describe(child, false);
      }),
    );
  };

  // First every server (its own info and items), then what each lists: a server listed by another is asked once.
  const serverEntities = plan.servers.map((domain) => ensure(domain, undefined, domain));
  await Promise.all(serverEntities.filter(firstAsk).map((server) => describe(server, true)));
  const listed = serverEntities.flatMap((server) => (server.items ?? []).map((item) => ensure(item.jid, item.node, server.jid, item.name)));
  await Promise.all(listed.filter(firstAsk).map(explore));
  const servers: ServerResult[] = serverEntities.map((s) => (s.itemsError === undefined ? { domain: s.jid } : { domain: s.jid, error: s.itemsError }));

  const sorted = [...entities.values()].sort((a, b) => entityKey(a).localeCompare(entityKey(b)));
  return { crawledAt: new Date(started), durationMs: Date.now() - started, servers, entities: sorted };
}
