import { type Element, type IncomingIq, tryParseJid, xml } from "annex";
import { errors, NS_PUBSUB, pubsubError } from "./pubsub/errors.js";
import { optionsFormIn, parseSubscriptionOptions, subscriptionOptionsForm } from "./pubsub/subscription-options.js";
import { DEFAULT_SUBSCRIPTION_OPTIONS, type FeedService, type Subscription } from "./service.js";

// Subscriber use cases beyond subscribe/unsubscribe/items: subscription options (XEP-0060 §6.3, §6.4)
// and the entity's own affiliations (§5.7).

/**
 * XEP-0060 §6.1.6: this service keeps one subscription per JID and node and hands out no subscription ids
 * (no multi-subscribe), so subid-required never applies; a request naming a subid names one that is not
 * valid: not-acceptable + invalid-subid (§6.2.3.5, §6.3.4.5, §6.5.9.2).
 */
export function rejectSubid(action: Element): void {
  const subid = action.attrs.subid as string | undefined;
  if (subid !== undefined) throw pubsubError("not-acceptable", "modify", "invalid-subid", `subscription id ${JSON.stringify(subid)} is not valid: this service does not use subscription ids`);
}

/** XEP-0060 §6.3.4: the subscription an options request is about, with its error cases. */
function optionsTarget(feed: FeedService, iq: IncomingIq, action: Element): Subscription {
  const node = feed.node(action.attrs.node as string | undefined, "options");
  const jid = action.attrs.jid as string | undefined;
  // §6.3.4.3: no subscriber JID.
  if (!jid) throw pubsubError("bad-request", "modify", "jid-required", "<options/> needs the jid of the subscription");
  const parsed = tryParseJid(jid);
  if (!parsed) throw errors.invalidJid(jid, iq.from.toString());
  // §6.3.4.1: another entity's subscription.
  if (parsed.bare().toString() !== iq.from.bare().toString() && !feed.isAdmin(iq.from)) throw errors.forbidden(`${iq.from.bare().toString()} may not see or change the options of ${jid}`);
  rejectSubid(action);
  const sub = feed.subscription(node.name, parsed.toString());
  // §6.3.4.2: no such subscriber (unexpected-request, type modify as in the XEP's example).
  if (!sub) throw pubsubError("unexpected-request", "modify", "not-subscribed", `${jid} is not subscribed to node ${JSON.stringify(node.name)}`);
  return sub;
}

// XEP-0060 §6.3.2: the options form of a subscription.
export function subscriptionOptions(feed: FeedService, iq: IncomingIq, action: Element): Element {
  const sub = optionsTarget(feed, iq, action);
  return xml("pubsub", { xmlns: NS_PUBSUB }, xml("options", { node: sub.node, jid: action.attrs.jid as string }, subscriptionOptionsForm(sub.options, sub.temporary)));
}

// XEP-0060 §6.3.5: submit the options form; they apply at once and are stored with the subscription.
export async function setSubscriptionOptions(feed: FeedService, iq: IncomingIq, action: Element): Promise<undefined> {
  const sub = optionsTarget(feed, iq, action);
  const x = optionsFormIn(iq.payload);
  if (!x) throw pubsubError("bad-request", "modify", "invalid-options", "an options request needs a jabber:x:data form");
  const parsed = parseSubscriptionOptions(x, sub.options);
  // A change between persistent and temporary (pubsub#expire=presence) re-files the subscription.
  if (parsed.temporary !== undefined && parsed.temporary !== sub.temporary) {
    await feed.unsubscribe(sub.node, sub.jid);
    await feed.subscribe(sub.node, sub.jid, { temporary: parsed.temporary, boundTo: iq.from.toString(), state: sub.state, options: parsed.options });
  } else {
    await feed.setSubscriptionOptions(sub, parsed.options);
  }
  iq.log.info({ node: sub.node, jid: sub.jid }, "subscription options set");
  return undefined;
}

// XEP-0060 §6.4: the default subscription options (of the service, or of a node).
export function defaultSubscriptionOptions(feed: FeedService, action: Element): Element {
  const nodeName = action.attrs.node as string | undefined;
  if (nodeName !== undefined) feed.node(nodeName, "default");
  return xml("pubsub", { xmlns: NS_PUBSUB }, xml("default", { node: nodeName }, subscriptionOptionsForm(DEFAULT_SUBSCRIPTION_OPTIONS, false)));
}

// XEP-0060 §5.7: the sender's affiliations, with every node or one.
export function userAffiliations(feed: FeedService, iq: IncomingIq, action: Element): Element {
  const only = action.attrs.node as string | undefined;
  if (only !== undefined) feed.node(only, "affiliations");
  const entries: Element[] = [];
  for (const [name, node] of feed.nodes) {
    if (only !== undefined && name !== only) continue;
    const affiliation = feed.affiliation(node, iq.from.bare());
    if (affiliation !== "none") entries.push(xml("affiliation", { node: name, affiliation }));
  }
  return xml("pubsub", { xmlns: NS_PUBSUB }, xml("affiliations", { node: only }, entries));
}
