import {
  buildRsm,
  Component,
  DiscoInfo,
  type DiscoInfoResult,
  type Element,
  type IncomingIq,
  Inject,
  Iq,
  parseRsm,
  presenceSubscription,
  rateLimit,
  StanzaError,
  tryParseJid,
  xml,
} from "annex";
import { FeedDiscoItems } from "./disco-items.js";
import { FeedOptionsSchema } from "./options.js";
import { approvalRequest, createNode, FeedOwner } from "./owner.js";
import { FeedPresence } from "./presence.js";
import { FeedPrivilege } from "./privilege.js";
import { errors, feature, NS_PUBSUB } from "./pubsub/errors.js";
import { metaDataForm } from "./pubsub/metadata.js";
import { checkPublishOptions } from "./pubsub/publish-options.js";
import { optionsFormIn, parseSubscriptionOptions } from "./pubsub/subscription-options.js";
import { FeedService, DEFAULT_SUBSCRIPTION_OPTIONS } from "./service.js";
import { defaultSubscriptionOptions, rejectSubid, subscriptionOptions, userAffiliations, setSubscriptionOptions } from "./subscriber.js";
import type { FeedItem } from "./store/store.js";

/**
 * XEP-0060 features this service implements (§10 Feature Summary); disco#info lists exactly these, and the
 * conformance test (test/integration/feed-conformance.test.ts) checks each against the use cases that pass.
 * access-presence is added at run time, only when the server grants XEP-0356 roster access (see discoInfo).
 * Not here: access-roster (roster groups), multi-subscribe (one subscription per JID and node, no subids),
 * collections, get-pending (ad-hoc), filtered-notifications.
 */
export const FEED_FEATURES = [
  "access-authorize",
  "access-open",
  "access-whitelist",
  "config-node",
  "create-and-configure",
  "create-nodes",
  "delete-items",
  "delete-nodes",
  "instant-nodes",
  "item-ids",
  "last-published",
  "manage-subscriptions",
  "member-affiliation",
  "meta-data",
  "modify-affiliations",
  "outcast-affiliation",
  "persistent-items",
  "presence-notifications",
  "publish",
  "publish-options",
  "publisher-affiliation",
  "purge-nodes",
  "retract-items",
  "retrieve-affiliations",
  "retrieve-default",
  "retrieve-default-sub",
  "retrieve-items",
  "retrieve-subscriptions",
  "rsm",
  "subscribe",
  "subscription-notifications",
  "subscription-options",
].map(feature);

/**
 * The feed: a XEP-0060 publish-subscribe service on its own domain (the interoperable subset),
 * with item-id RSM paging (XEP-0059), durable storage, retention, temporary subscriptions and
 * bounded notification queues. Nodes come from the configuration.
 */
@Component({
  identity: { category: "pubsub", type: "service", name: "Annex feed" },
  features: [...FEED_FEATURES, "http://jabber.org/protocol/rsm"],
  handlers: [FeedPresence, FeedOwner, FeedDiscoItems, FeedPrivilege],
  providers: [FeedService],
  plugins: [presenceSubscription(), rateLimit()],
  options: FeedOptionsSchema,
})
export class Feed {
  constructor(@Inject(FeedService) private readonly feed: FeedService) {}

  // XEP-0060 §5.6, §6.5: subscriptions and items retrieval.
  @Iq({ type: "get", child: "pubsub", xmlns: NS_PUBSUB })
  async get(iq: IncomingIq): Promise<Element> {
    await this.feed.ready();
    const action = firstAction(iq.payload);
    switch (action.name) {
      case "items":
        return this.items(iq, action);
      case "subscriptions":
        return this.subscriptions(iq, action);
      case "options":
        return subscriptionOptions(this.feed, iq, action);
      case "default":
        return defaultSubscriptionOptions(this.feed, action);
      case "affiliations":
        return userAffiliations(this.feed, iq, action);
      default:
        throw unsupported(action.name);
    }
  }

  // XEP-0060 §6.1, §6.2, §7.1, §7.2: subscribe, unsubscribe, publish, retract.
  @Iq({ type: "set", child: "pubsub", xmlns: NS_PUBSUB })
  async set(iq: IncomingIq): Promise<Element | undefined> {
    await this.feed.ready();
    const action = firstAction(iq.payload);
    switch (action.name) {
      case "create":
        return createNode(this.feed, iq, action);
      case "options":
        return setSubscriptionOptions(this.feed, iq, action);
      case "subscribe":
        return this.subscribe(iq, action);
      case "unsubscribe":
        return this.unsubscribe(iq, action);
      case "publish":
        return this.publish(iq, action);
      case "retract":
        return this.retract(iq, action);
      default:
        throw unsupported(action.name);
    }
  }

  // XEP-0060 §5.3-5.4: a node is a leaf with a meta-data form.
  @DiscoInfo()
  async discoInfo(node: string | undefined): Promise<DiscoInfoResult | undefined> {
    // XEP-0060 §4.5: the presence model works only with the owner's roster (XEP-0356 roster privilege).
    if (node === undefined) return this.feed.ownerPresenceAvailable ? { features: [feature("access-presence")] } : undefined;
    const options = this.feed.nodes.get(node);
    if (!options) return undefined;
    return {
      identities: [{ category: "pubsub", type: "leaf" }],
      features: [NS_PUBSUB],
      forms: [metaDataForm(node, options, this.feed.subscriptionsOf(node).length)],
    };
  }

  private async items(iq: IncomingIq, action: Element): Promise<Element> {
    const node = this.feed.node(action.attrs.node as string | undefined, "items");
    this.feed.checkAccess(node, iq.from);
    await this.feed.checkOwnerPresence(node, iq.from);
    // XEP-0060 §6.5.9.3 (and the authorize model, §4.5): only subscribers, not pending ones.
    const mustSubscribe = node.itemsRequireSubscription || node.access === "authorize";
    if (mustSubscribe && this.feed.affiliation(node, iq.from) === "none" && !this.feed.subscriptionsFor(iq.from, node.name).some((s) => s.state === "subscribed")) {
      throw errors.itemsNotSubscribed(node.name);
    }
    rejectSubid(action);
    if (!node.persistItems) throw errors.notPersistent(node.name);
    const answer = (items: FeedItem[], set?: Element) =>
      xml("pubsub", { xmlns: NS_PUBSUB }, xml("items", { node: node.name }, items.map((i) => this.feed.itemElement(i))), set ?? null);

    // XEP-0060 §6.5.8: specific items; unknown ids are simply absent (not an error).
    const ids = action.getChildren("item").map((i) => i.attrs.id as string | undefined);
    if (ids.length > 0) {
      if (ids.some((id) => !id)) throw new StanzaError("bad-request", "every <item/> in an items request needs an id");
      return answer(await this.feed.itemsById(node.name, ids as string[]));
    }

    const cap = this.feed.options.maxPageSize;
    const maxItems = parseMaxItems(action.attrs.max_items as string | undefined);
    const rsm = parseRsm(iq.payload);
    if (rsm) {
      // XEP-0059: ids are the UIDs; the order is publish order, oldest first.
      const max = Math.min(rsm.max ?? maxItems ?? cap, cap);
      const page = await this.feed.page(node.name, { max, after: rsm.after, before: rsm.before, index: rsm.index });
      const first = page.items[0];
      const set = buildRsm({ first: first?.id, firstIndex: first ? page.firstIndex : undefined, last: page.items.at(-1)?.id, count: page.count });
      return answer(page.items, set);
    }
    // XEP-0060 §6.5.7: max_items = the N most recent; with none, everything up to the page cap.
    // A truncated answer says so with an RSM set (§6.5.4) so the client can page back.
    const page = await this.feed.page(node.name, { max: Math.min(maxItems ?? cap, cap), before: true });
    const truncated = page.count > page.items.length && (maxItems === undefined || maxItems > page.items.length);
    const first = page.items[0];
    return answer(page.items, truncated ? buildRsm({ first: first?.id, firstIndex: page.firstIndex, last: page.items.at(-1)?.id, count: page.count }) : undefined);
  }

  private subscriptions(iq: IncomingIq, action: Element): Element {
    const nodeName = action.attrs.node as string | undefined;
    if (nodeName !== undefined) this.feed.node(nodeName, "subscriptions");
    const subs = this.feed.subscriptionsFor(iq.from, nodeName);
    return xml(
      "pubsub",
      { xmlns: NS_PUBSUB },
      xml("subscriptions", { node: nodeName }, subs.map((s) => xml("subscription", { node: s.node, jid: s.jid, subscription: s.state }))),
    );
  }

  private async subscribe(iq: IncomingIq, action: Element): Promise<Element> {
    const node = this.feed.node(action.attrs.node as string | undefined, "subscribe");
    const jid = subscriberJid(iq, action);
    this.feed.checkAccess(node, iq.from);
    await this.feed.checkOwnerPresence(node, iq.from);
    // XEP-0060 §6.3.7: subscribe and configure in one request.
    const x = optionsFormIn(iq.payload);
    const parsed = x ? parseSubscriptionOptions(x, { ...DEFAULT_SUBSCRIPTION_OPTIONS }) : undefined;
    // XEP-0060 §12.4: pubsub#expire=presence asks for a temporary subscription; a subscriber that sent us
    // directed presence gets one too, so a web page that goes away leaves no subscription behind.
    const temporary = parsed?.temporary ?? this.feed.present.has(iq.from.toString());
    // XEP-0060 §6.1.2, §8.6: on an authorize node the subscription is pending until an owner approves it.
    const existing = this.feed.subscription(node.name, jid);
    const pending = node.access === "authorize" && this.feed.affiliation(node, iq.from) === "none" && existing?.state !== "subscribed";
    const sub = await this.feed.subscribe(node.name, jid, { temporary: temporary && !pending, boundTo: iq.from.toString(), state: pending ? "pending" : "subscribed", options: parsed?.options });
    iq.log.info({ node: node.name, jid, temporary: sub.temporary, state: sub.state }, "subscribed");
    if (sub.state === "pending") {
      if (!existing) for (const request of approvalRequest(this.feed, node, jid)) this.feed.send(request);
      return xml("pubsub", { xmlns: NS_PUBSUB }, xml("subscription", { node: node.name, jid, subscription: "pending" }));
    }
    const sendLast = node.sendLastPublishedItem ?? this.feed.options.sendLastPublishedItem;
    if (sendLast === "on_sub" && node.persistItems && sub.options.deliver) {
      const last = await this.feed.latest(node.name);
      if (last) this.feed.sendLastItem(sub, last);
    }
    // XEP-0060 §6.1.6: the result carries the subscription (no subid: one subscription per JID and node).
    return xml("pubsub", { xmlns: NS_PUBSUB }, xml("subscription", { node: node.name, jid, subscription: "subscribed" }));
  }

  private async unsubscribe(iq: IncomingIq, action: Element): Promise<undefined> {
    const node = this.feed.node(action.attrs.node as string | undefined, "unsubscribe");
    const jid = subscriberJid(iq, action, "unsubscribe");
    rejectSubid(action);
    if (!(await this.feed.unsubscribe(node.name, jid))) throw errors.notSubscribed(node.name, jid);
    iq.log.info({ node: node.name, jid }, "unsubscribed");
    return undefined;
  }

  private async publish(iq: IncomingIq, action: Element): Promise<Element> {
    const node = this.feed.node(action.attrs.node as string | undefined, "publish");
    if (!this.feed.isPublisher(node, iq.from)) throw errors.forbidden(`${iq.from.bare().toString()} may not publish to node ${JSON.stringify(node.name)}`);
    checkPublishOptions(iq.payload, node);
    const items = action.getChildren("item");
    if (items.length === 0) throw errors.itemRequired(`publish to node ${JSON.stringify(node.name)} needs an <item/>`);
    if (items.length > 1) throw errors.invalidPayload("publish one <item/> at a time");
    const item = items[0]!;
    const payloads = item.getChildElements();
    if (payloads.length !== 1) throw errors.invalidPayload(`an item needs exactly one payload element, this one has ${payloads.length}`);
    const payload = payloads[0]!;
    if (node.payloadNamespace && payload.getNS() !== node.payloadNamespace) {
      throw errors.invalidPayload(`node ${JSON.stringify(node.name)} takes ${node.payloadNamespace} payloads, not ${payload.getNS() || "no namespace"}`);
    }
    const id = item.attrs.id as string | undefined;
    if (id === "") throw new StanzaError("bad-request", "an item id must not be empty");
    const stored = await this.feed.publish(node.name, { id, payload, publisher: iq.from.toString() });
    // XEP-0060 §7.1.2: the result names the item id (the one we generated when none was given).
    return xml("pubsub", { xmlns: NS_PUBSUB }, xml("publish", { node: node.name }, xml("item", { id: stored.id })));
  }

  private async retract(iq: IncomingIq, action: Element): Promise<undefined> {
    const node = this.feed.node(action.attrs.node as string | undefined, "retract");
    if (!this.feed.isPublisher(node, iq.from)) throw errors.forbidden(`${iq.from.bare().toString()} may not retract from node ${JSON.stringify(node.name)}`);
    const ids = action.getChildren("item").map((i) => i.attrs.id as string | undefined);
    if (ids.length === 0 || ids.some((id) => !id)) throw errors.itemRequired("retract needs an <item id=…/>");
    if (!node.persistItems) throw errors.notPersistent(node.name);
    const notify = action.attrs.notify === "1" || action.attrs.notify === "true";
    for (const id of ids as string[]) {
      // XEP-0060 §7.2.3.3: retracting an item that does not exist is item-not-found.
      if (!(await this.feed.retract(node.name, id, notify))) throw new StanzaError("item-not-found", { type: "cancel", text: `no item ${JSON.stringify(id)} in node ${JSON.stringify(node.name)}` });
    }
    return undefined;
  }
}

/** The action is the first child of <pubsub/> (options, publish-options and RSM follow it). */
function firstAction(pubsub: Element): Element {
  const action = pubsub.getChildElements()[0];
  if (!action) throw new StanzaError("bad-request", "<pubsub/> needs an action element such as <items/> or <subscribe/>");
  return action;
}

function unsupported(name: string): StanzaError {
  return new StanzaError("bad-request", `unknown pubsub action <${name}/>`);
}

/**
 * XEP-0060 §6.1.3.1: the jid to subscribe must be the sender's bare JID or the sender itself (else
 * bad-request + invalid-jid); §6.2.3.3: unsubscribing someone else is forbidden.
 */
function subscriberJid(iq: IncomingIq, action: Element, kind: "subscribe" | "unsubscribe" = "subscribe"): string {
  const jid = action.attrs.jid as string | undefined;
  if (!jid) throw errors.invalidJid("", iq.from.toString());
  const parsed = tryParseJid(jid);
  if (!parsed) throw errors.invalidJid(jid, iq.from.toString());
  if (parsed.bare().toString() !== iq.from.bare().toString()) {
    if (kind === "unsubscribe") throw errors.forbidden(`${iq.from.bare().toString()} may not unsubscribe ${jid}`);
    throw errors.invalidJid(jid, iq.from.toString());
  }
  return parsed.toString();
}

function parseMaxItems(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,9}$/.test(value) || Number(value) === 0) throw new StanzaError("bad-request", `max_items must be a positive integer, not ${JSON.stringify(value)}`);
  return Number(value);
}
