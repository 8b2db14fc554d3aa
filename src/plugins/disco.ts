import { inject } from "tsyringe";
import { Handlers, Iq } from "../handlers/decorators.js";
import { definePlugin } from "../handlers/plugin.js";
import type { IncomingIq } from "../dispatch/incoming.js";
import { StanzaError } from "../stanza/errors.js";
import { NS } from "../stanza/namespaces.js";
import { type Element, xml } from "../stanza/xml.js";
import { DiscoCatalog } from "./disco-catalog.js";

/** XEP-0030 service discovery, answered from the registry so it cannot drift from the handlers. */
@Handlers()
export class DiscoBuiltin {
  constructor(@inject(DiscoCatalog) private readonly catalog: DiscoCatalog) {}

  // XEP-0030 §3.1: identities and features of the entity (or of one of its nodes).
  @Iq({ type: "get", child: "query", xmlns: NS.discoInfo })
  async info(iq: IncomingIq): Promise<Element> {
    const node = iq.node;
    const info = await this.catalog.info(node, iq);
    // XEP-0030 §3.2: an unknown node is item-not-found.
    if (!info) throw new StanzaError("item-not-found", `no node ${JSON.stringify(node)}`);
    return xml(
      "query",
      { xmlns: NS.discoInfo, node },
      (info.identities ?? []).map((i) => xml("identity", { category: i.category, type: i.type, name: i.name, "xml:lang": i.lang })),
      (info.features ?? []).map((f) => xml("feature", { var: f })),
      info.forms ?? [],
    );
  }

  // XEP-0030 §4.1: the items of the entity (or of one of its nodes).
  @Iq({ type: "get", child: "query", xmlns: NS.discoItems })
  async items(iq: IncomingIq): Promise<Element> {
    const node = iq.node;
    const items = await this.catalog.items(node, iq);
    if (!items) throw new StanzaError("item-not-found", `no node ${JSON.stringify(node)}`);
    return xml(
      "query",
      { xmlns: NS.discoItems, node },
      items.map((i) => xml("item", { jid: i.jid, node: i.node, name: i.name })),
    );
  }
}

/** XEP-0030: disco#info and disco#items of the domain and its nodes, from the registry and the @Disco* providers. */
export const discoPlugin = definePlugin({
  name: "disco",
  description: "XEP-0030: Service Discovery",
  handlers: [DiscoBuiltin],
  providers: [DiscoCatalog],
});
