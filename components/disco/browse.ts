import { buildForm, type DiscoInfoResult, type DiscoItem, DiscoInfo, DiscoItems, Handlers, NS } from "annex";
import { DirectoryCache } from "./cache.js";
import { displayName, type Entity, featureIndex, HOSTED, type Snapshot, unreachable } from "./snapshot.js";
import { describeFeature } from "./xep-names.js";

/** FORM_TYPE of the directory's XEP-0128 extended information. */
export const NS_DIRECTORY = "urn:annex:directory:0";

/** The directory's browsable nodes (XEP-0030 §4.2: a node hierarchy under the component's JID). */
export const NODES = {
  services: "services",
  hosted: "hosted",
  unreachable: "unreachable",
  features: "features",
  featurePrefix: "features/",
} as const;

const BRANCH_FEATURES = [NS.discoInfo, NS.discoItems];

/** Answers disco#items/#info on the directory's domain and nodes from the cached crawl. */
@Handlers()
export class DirectoryBrowse {
  constructor(private readonly cache: DirectoryCache) {}

  @DiscoItems()
  async items(node: string | undefined): Promise<DiscoItem[] | undefined> {
    if (node !== undefined && !isDirectoryNode(node)) return undefined;
    const snapshot = await this.cache.current();
    const own = this.cache.domain;
    switch (node) {
      case undefined:
        // The entities themselves, then the branches a browser can open.
        return [
          ...snapshot.entities.filter((e) => e.node === undefined && e.jid !== own).map(asItem),
          { jid: own, node: NODES.services, name: "All services" },
          { jid: own, node: NODES.hosted, name: "Hosted by this Annex process" },
          { jid: own, node: NODES.features, name: "By feature" },
          { jid: own, node: NODES.unreachable, name: "Unreachable" },
        ];
      case NODES.services:
        return snapshot.entities.map(asItem);
      case NODES.hosted:
        return snapshot.entities.filter((e) => e.foundVia.includes(HOSTED)).map(asItem);
      case NODES.unreachable:
        return unreachable(snapshot).map((e) => ({ jid: e.jid, node: e.node, name: `${displayName(e) ?? e.jid}: ${e.error}` }));
      case NODES.features:
        return [...featureIndex(snapshot).keys()].map((f) => ({ jid: own, node: NODES.featurePrefix + f, name: describeFeature(f) }));
      default:
        return offering(snapshot, node)?.map(asItem);
    }
  }

  @DiscoInfo()
  async info(node: string | undefined): Promise<DiscoInfoResult | undefined> {
    if (node === undefined) return { forms: [extendedInfo(await this.cache.current(), this.cache.servers)] };
    if (!isDirectoryNode(node)) return undefined;
    const branch = (name: string): DiscoInfoResult => ({ identities: [{ category: "hierarchy", type: "branch", name }], features: BRANCH_FEATURES });
    switch (node) {
      case NODES.services:
        return branch("All services");
      case NODES.hosted:
        return branch("Hosted by this Annex process");
      case NODES.unreachable:
        return branch("Unreachable");
      case NODES.features:
        return branch("By feature");
      default: {
        // features/<var>: a node exists only for a feature somebody offers.
        const feature = node.slice(NODES.featurePrefix.length);
        return offering(await this.cache.current(), node) ? branch(`Offering ${describeFeature(feature)}`) : undefined;
      }
    }
  }
}

const BRANCHES = new Set<string>([NODES.services, NODES.hosted, NODES.unreachable, NODES.features]);

function isDirectoryNode(node: string): boolean {
  return BRANCHES.has(node) || (node.startsWith(NODES.featurePrefix) && node.length > NODES.featurePrefix.length);
}

function offering(snapshot: Snapshot, node: string): Entity[] | undefined {
  if (!node.startsWith(NODES.featurePrefix)) return undefined;
  return featureIndex(snapshot).get(node.slice(NODES.featurePrefix.length));
}

function asItem(e: Entity): DiscoItem {
  return { jid: e.jid, node: e.node, name: displayName(e) };
}

/** XEP-0128: the crawl's time and counts, as a result form on the directory's disco#info. */
function extendedInfo(snapshot: Snapshot, servers: string[]): ReturnType<typeof buildForm> {
  return buildForm({
    type: "result",
    fields: [
      { var: "FORM_TYPE", type: "hidden", values: [NS_DIRECTORY] },
      { var: "servers", label: "Servers crawled", type: "text-multi", values: servers },
      // XEP-0082 DateTime profile.
      { var: "crawled-at", label: "Last crawl", values: [snapshot.crawledAt.toISOString()] },
      { var: "crawl-duration-ms", label: "Crawl duration (ms)", values: [String(snapshot.durationMs)] },
      { var: "entities", label: "Entities", values: [String(snapshot.entities.length)] },
      { var: "hosted", label: "Hosted by this process", values: [String(snapshot.entities.filter((e) => e.foundVia.includes(HOSTED)).length)] },
      { var: "unreachable", label: "Unreachable", values: [String(unreachable(snapshot).length)] },
      { var: "features", label: "Distinct features", values: [String(featureIndex(snapshot).size)] },
    ],
  });
}
