import { type ErrorCondition, type ErrorType, StanzaError, xml } from "annex";

export const NS_PUBSUB = "http://jabber.org/protocol/pubsub";
export const NS_PUBSUB_OWNER = "http://jabber.org/protocol/pubsub#owner";
export const NS_PUBSUB_EVENT = "http://jabber.org/protocol/pubsub#event";
export const NS_PUBSUB_ERRORS = "http://jabber.org/protocol/pubsub#errors";
export const NS_JSON = "urn:xmpp:json:0";

/** A XEP-0060 feature name: http://jabber.org/protocol/pubsub#<name>. */
export const feature = (name: string) => `${NS_PUBSUB}#${name}`;

/** A stanza error carrying a XEP-0060 §7/§6 application condition (pubsub#errors). */
export function pubsubError(condition: ErrorCondition, type: ErrorType, app: string | undefined, text: string, attrs: Record<string, string> = {}): StanzaError {
  return new StanzaError(condition, { type, text, application: app ? xml(app, { xmlns: NS_PUBSUB_ERRORS, ...attrs }) : undefined });
}

// The research's error table (pubsub.md §4), one constructor per row, so every path names its row.
export const errors = {
  /** XEP-0060 §6.1.3.12, §6.5.9.11, §7.1.3.3: the node does not exist. */
  noNode: (node: string) => new StanzaError("item-not-found", { type: "cancel", text: `no node ${JSON.stringify(node)} on this service` }),
  /** XEP-0060 §6.1.3.1: the subscribe/unsubscribe jid is not the sender's bare JID. */
  invalidJid: (jid: string, sender: string) => pubsubError("bad-request", "modify", "invalid-jid", `jid ${JSON.stringify(jid)} does not match the sender ${sender}`),
  /** XEP-0060 §7.1.3.1, §7.2.3.1, §8.5.3.2: insufficient privileges. */
  forbidden: (what: string) => new StanzaError("forbidden", { type: "auth", text: what }),
  /** XEP-0060 §6.1.3.2: presence access model and no presence subscription. */
  presenceRequired: (node: string) =>
    pubsubError("not-authorized", "auth", "presence-subscription-required", `node ${JSON.stringify(node)} is for entities subscribed to this service's presence`),
  /** XEP-0060 §6.1.3.2, §4.5 presence model: not subscribed to a node owner's presence. */
  ownerPresenceRequired: (node: string) =>
    pubsubError("not-authorized", "auth", "presence-subscription-required", `node ${JSON.stringify(node)} is for entities subscribed to its owner's presence`),
  /** XEP-0060 §6.1.3.4: whitelist access model, not on the list. */
  closedNode: (node: string) => pubsubError("not-allowed", "cancel", "closed-node", `node ${JSON.stringify(node)} is open only to its whitelist`),
  /** XEP-0060 §6.5.9.2: items only for subscribers. */
  itemsNotSubscribed: (node: string) => pubsubError("not-authorized", "auth", "not-subscribed", `subscribe to node ${JSON.stringify(node)} to retrieve its items`),
  /** XEP-0060 §6.2.3.2: unsubscribe without a subscription. */
  notSubscribed: (node: string, jid: string) => pubsubError("unexpected-request", "cancel", "not-subscribed", `${jid} is not subscribed to node ${JSON.stringify(node)}`),
  /** XEP-0060 §6.5.9.5: the node keeps no items. */
  notPersistent: (node: string) =>
    pubsubError("feature-not-implemented", "cancel", "unsupported", `node ${JSON.stringify(node)} does not keep items`, { feature: "persistent-items" }),
  /** XEP-0060 §7.1.3.4 */
  payloadTooBig: (size: number, max: number) => pubsubError("not-acceptable", "modify", "payload-too-big", `the payload is ${size} bytes; at most ${max} are accepted`),
  /** XEP-0060 §7.1.3.5: not exactly one payload element, or the wrong namespace. */
  invalidPayload: (text: string) => pubsubError("bad-request", "modify", "invalid-payload", text),
  /** XEP-0060 §7.1.5: publish-options that do not match the node. */
  preconditionNotMet: (text: string) => pubsubError("conflict", "cancel", "precondition-not-met", text),
  /** XEP-0060 §7.1.3 (publish_node_full = reject). */
  nodeFull: (node: string, max: number) => pubsubError("conflict", "cancel", "node-full", `node ${JSON.stringify(node)} holds its maximum of ${max} items`),
  /** XEP-0060 §7.1.3.6, §7.2.3.4: no <item/> where one is required. */
  itemRequired: (text: string) => pubsubError("bad-request", "modify", "item-required", text),
  /** XEP-0060 §6.1.3.3, §7.1.3.6: no node attribute. */
  nodeRequired: (action: string) => pubsubError("bad-request", "modify", "nodeid-required", `<${action}/> needs a node attribute`),
  /** XEP-0060 §4.6 / §6.1.3.9 etc.: what this service does not do. */
  unsupported: (name: string, what: string) => pubsubError("feature-not-implemented", "cancel", "unsupported", `this service does not support ${what}`, { feature: name }),
  /** XEP-0059 §2.6: the UID is not (any longer) in the node; the client must refetch. */
  unknownRsmItem: (node: string, id: string) =>
    new StanzaError("item-not-found", { type: "cancel", text: `item ${JSON.stringify(id)} is not (or no longer) in node ${JSON.stringify(node)}; fetch the latest page again` }),
  /** The node's publish rate limit. */
  rateLimited: (node: string) => new StanzaError("resource-constraint", { type: "wait", text: `node ${JSON.stringify(node)} is publishing too fast; retry shortly` }),
};
