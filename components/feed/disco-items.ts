import { buildRsm, Handlers, Inject, type IncomingIq, Iq, NS, parseRsm, StanzaError, xml, type Element } from "annex";
import { FeedService } from "./service.js";

/**
 * XEP-0030 disco#items for the feed, answered here (instead of by the built-in) so that a node's items are
 * paged with RSM (XEP-0059 §2.5 applied to disco#items; XEP-0060 §5.5): ids are the UIDs, publish order,
 * oldest first, as for pubsub items. Without a <set/> the newest page is returned with a <set/> saying so.
 */
@Handlers()
export class FeedDiscoItems {
  constructor(@Inject(FeedService) private readonly feed: FeedService) {}

  @Iq({ type: "get", child: "query", xmlns: NS.discoItems })
  async items(iq: IncomingIq): Promise<Element> {
    await this.feed.ready();
    const node = iq.node;
    const domain = this.feed.domain;
    // XEP-0060 §5.2: the service's nodes.
    if (node === undefined) {
      return xml("query", { xmlns: NS.discoItems }, [...this.feed.nodes].map(([name, n]) => xml("item", { jid: domain, node: name, name: n.title })));
    }
    const options = this.feed.nodes.get(node);
    // XEP-0030 §4.3: an unknown node is item-not-found.
    if (!options) throw new StanzaError("item-not-found", { type: "cancel", text: `no node ${JSON.stringify(node)}` });
    if (!options.persistItems) return xml("query", { xmlns: NS.discoItems, node });
    const cap = this.feed.options.maxPageSize;
    const rsm = parseRsm(iq.payload);
    const request = rsm ? { max: Math.min(rsm.max ?? cap, cap), after: rsm.after, before: rsm.before, index: rsm.index } : { max: cap, before: true as const };
    const page = await this.feed.page(node, request);
    const first = page.items[0];
    const set = buildRsm({ first: first?.id, firstIndex: first ? page.firstIndex : undefined, last: page.items.at(-1)?.id, count: page.count });
    // XEP-0060 §5.5: each item is named by its id (the item's jid is the service).
    return xml("query", { xmlns: NS.discoItems, node }, page.items.map((i) => xml("item", { jid: domain, name: i.id })), set);
  }
}
