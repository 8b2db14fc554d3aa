import { buildForm, type Element, formType, formValues, Handlers, Inject, type IncomingIq, type IncomingMessage, Iq, Message, parseForm, StanzaError, tryParseJid, xml } from "annex";
import { randomUUID } from "node:crypto";
import { type NodeOptions, NodeOptionsSchema } from "./options.js";
import { errors, NS_PUBSUB, NS_PUBSUB_OWNER } from "./pubsub/errors.js";
import { applyNodeConfig, nodeConfigForm } from "./pubsub/node-config.js";
import { type Affiliation, type FeedNode, FeedService } from "./service.js";

export const SUBSCRIBE_AUTHORIZATION = `${NS_PUBSUB}#subscribe_authorization`;

/** XEP-0060 §4.1: the affiliations an owner may set, and the one this service does not have. */
const SETTABLE_AFFILIATIONS = new Set<string>(["owner", "publisher", "member", "outcast", "none"]);

/**
 * The owner use cases of XEP-0060 §8 (pubsub#owner): configure (§8.2), default configuration (§8.3),
 * delete (§8.4), purge (§8.5), pending subscription approval (§8.6), subscriptions (§8.8) and
 * affiliations (§8.9). Node creation (§8.1) is in the pubsub namespace; see {@link createNode}.
 */
@Handlers()
export class FeedOwner {
  constructor(@Inject(FeedService) private readonly feed: FeedService) {}

  @Iq({ type: "get", child: "pubsub", xmlns: NS_PUBSUB_OWNER, feature: false })
  async get(iq: IncomingIq): Promise<Element> {
    await this.feed.ready();
    const action = ownerAction(iq);
    switch (action.name) {
      case "configure":
        return this.configureForm(iq, action);
      case "default":
        // XEP-0060 §8.3: the default configuration of a new node.
        return xml("pubsub", { xmlns: NS_PUBSUB_OWNER }, xml("default", {}, nodeConfigForm(NodeOptionsSchema.parse({}), this.feed.options.sendLastPublishedItem, this.feed.ownerPresenceAvailable)));
      case "subscriptions":
        return this.subscriptions(iq, action);
      case "affiliations":
        return this.affiliations(iq, action);
      default:
        throw new StanzaError("bad-request", `unknown pubsub#owner request <${action.name}/>`);
    }
  }

  @Iq({ type: "set", child: "pubsub", xmlns: NS_PUBSUB_OWNER, feature: false })
  async set(iq: IncomingIq): Promise<undefined> {
    await this.feed.ready();
    const action = ownerAction(iq);
    switch (action.name) {
      case "configure":
        return this.configure(iq, action);
      case "delete":
        return this.delete(iq, action);
      case "purge":
        return this.purge(iq, action);
      case "subscriptions":
        return this.modifySubscriptions(iq, action);
      case "affiliations":
        return this.modifyAffiliations(iq, action);
      default:
        throw new StanzaError("bad-request", `unknown pubsub#owner request <${action.name}/>`);
    }
  }

  /** XEP-0060 §8.6: an owner answers a subscription approval request by submitting its form. */
  @Message({ child: "x", xmlns: "jabber:x:data" })
  async approval(message: IncomingMessage): Promise<undefined> {
    const x = message.element.getChild("x", "jabber:x:data")!;
    const form = parseForm(x);
    if (formType(form) !== SUBSCRIBE_AUTHORIZATION) return undefined; // some other form: not ours to answer
    if (form.type === "cancel") return undefined; // §8.6: the owner postponed the decision
    if (form.type !== "submit") throw new StanzaError("bad-request", `an approval must be submitted as type='submit', not ${JSON.stringify(form.type)}`);
    const values = formValues(form);
    const node = this.owned(xml("approve", { node: values["pubsub#node"]?.[0] }), message.from, "approve subscriptions to");
    const jid = values["pubsub#subscriber_jid"]?.[0];
    const sub = jid === undefined ? undefined : this.feed.subscription(node.name, tryParseJid(jid)?.toString() ?? jid);
    if (!sub || sub.state !== "pending") throw new StanzaError("item-not-found", { type: "cancel", text: `no pending subscription of ${JSON.stringify(jid ?? "")} to node ${JSON.stringify(node.name)}` });
    const allow = values["pubsub#allow"]?.[0];
    if (allow !== "1" && allow !== "true" && allow !== "0" && allow !== "false") throw new StanzaError("bad-request", "pubsub#allow must be true or false");
    if (allow === "1" || allow === "true") {
      await this.feed.setSubscriptionState(sub, "subscribed");
      this.feed.notifySubscriptionState(node.name, sub.jid, "subscribed");
    } else {
      await this.feed.unsubscribe(node.name, sub.jid);
      this.feed.notifySubscriptionState(node.name, sub.jid, "none");
    }
    message.log.info({ node: node.name, jid: sub.jid, allow }, "subscription request decided");
    return undefined;
  }

  /** The node, when the sender owns it; XEP-0060 §8.x: nodeid-required, item-not-found, forbidden. */
  private owned(action: Element, from: IncomingIq["from"], what: string): FeedNode {
    const node = this.feed.node(action.attrs.node as string | undefined, action.name);
    if (!this.feed.isOwner(node, from)) throw errors.forbidden(`only the owners of node ${JSON.stringify(node.name)} may ${what} it`);
    return node;
  }

  // XEP-0060 §8.2.1-8.2.4: the configuration form.
  private configureForm(iq: IncomingIq, action: Element): Element {
    const node = this.owned(action, iq.from, "configure");
    return xml("pubsub", { xmlns: NS_PUBSUB_OWNER }, xml("configure", { node: node.name }, nodeConfigForm(node, this.feed.options.sendLastPublishedItem, this.feed.ownerPresenceAvailable)));
  }

  // XEP-0060 §8.2.5: submit (applies at once and persists) or cancel (nothing changes).
  private async configure(iq: IncomingIq, action: Element): Promise<undefined> {
    const node = this.owned(action, iq.from, "configure");
    const x = action.getChild("x", "jabber:x:data");
    if (!x) throw new StanzaError("bad-request", "a configure request needs a jabber:x:data form");
    if (x.attrs.type === "cancel") return undefined;
    const { name, ...current } = node;
    const next = applyNodeConfig(current, x, this.feed.ownerPresenceAvailable);
    await this.feed.saveNode(name, next);
    iq.log.info({ node: name }, "node configured");
    return undefined;
  }

  // XEP-0060 §8.4: delete, with the delete event to subscribers. File nodes only when the config allows it.
  private async delete(iq: IncomingIq, action: Element): Promise<undefined> {
    const node = this.owned(action, iq.from, "delete");
    if (this.feed.configNodes.has(node.name) && !node.deletable) {
      throw errors.forbidden(`node ${JSON.stringify(node.name)} comes from the configuration file and is not deletable (set deletable: true there)`);
    }
    await this.feed.deleteNode(node.name);
    iq.log.info({ node: node.name }, "node deleted");
    return undefined;
  }

  // XEP-0060 §8.5
  private async purge(iq: IncomingIq, action: Element): Promise<undefined> {
    const node = this.owned(action, iq.from, "purge");
    if (!node.persistItems) throw errors.notPersistent(node.name);
    const removed = await this.feed.purge(node.name);
    iq.log.info({ node: node.name, removed }, "node purged");
    return undefined;
  }

  // XEP-0060 §8.8.1
  private subscriptions(iq: IncomingIq, action: Element): Element {
    const node = this.owned(action, iq.from, "list the subscriptions of");
    const subs = this.feed.subscriptionsOf(node.name);
    return xml(
      "pubsub",
      { xmlns: NS_PUBSUB_OWNER },
      xml("subscriptions", { node: node.name }, subs.map((s) => xml("subscription", { jid: s.jid, subscription: s.state }))),
    );
  }

  // XEP-0060 §8.8.2: subscribed (add or approve) or none (remove); all or nothing (§8.8.2.4).
  private async modifySubscriptions(iq: IncomingIq, action: Element): Promise<undefined> {
    const node = this.owned(action, iq.from, "manage the subscriptions of");
    const changes = action.getChildren("subscription").map((s) => ({ jid: tryParseJid((s.attrs.jid as string | undefined) ?? ""), raw: s.attrs.jid as string | undefined, state: s.attrs.subscription as string | undefined }));
    const bad = changes.filter((c) => !c.jid || (c.state !== "subscribed" && c.state !== "none"));
    if (changes.length === 0) throw new StanzaError("bad-request", "name at least one <subscription jid subscription/>");
    if (bad.length > 0) {
      // §8.8.2.4: not-acceptable with the invalid entries, as they are now.
      const entries = bad.map((c) => xml("subscription", { jid: c.raw ?? "", subscription: (c.jid && this.feed.subscription(node.name, c.jid.toString())?.state) || "none" }));
      throw new StanzaError("not-acceptable", {
        type: "modify",
        text: "each subscription needs a valid jid and subscription='subscribed' or 'none'",
        application: xml("pubsub", { xmlns: NS_PUBSUB_OWNER }, xml("subscriptions", { node: node.name }, entries)),
      });
    }
    for (const change of changes) {
      const jid = change.jid!.toString();
      const existing = this.feed.subscription(node.name, jid);
      if (change.state === "none") {
        if (existing && (await this.feed.unsubscribe(node.name, jid))) this.feed.notifySubscriptionState(node.name, jid, "none");
      } else if (!existing) {
        await this.feed.subscribe(node.name, jid, { temporary: false });
        this.feed.notifySubscriptionState(node.name, jid, "subscribed");
      } else if (existing.state !== "subscribed") {
        await this.feed.setSubscriptionState(existing, "subscribed");
        this.feed.notifySubscriptionState(node.name, jid, "subscribed");
      }
    }
    return undefined;
  }

  // XEP-0060 §8.9.1
  private affiliations(iq: IncomingIq, action: Element): Element {
    const node = this.owned(action, iq.from, "list the affiliations of");
    return xml(
      "pubsub",
      { xmlns: NS_PUBSUB_OWNER },
      xml("affiliations", { node: node.name }, affiliationList(node).map(([jid, affiliation]) => xml("affiliation", { jid, affiliation }))),
    );
  }

  // XEP-0060 §8.9.2: modify; an invalid entry rejects the whole request (§8.9.2.4).
  private async modifyAffiliations(iq: IncomingIq, action: Element): Promise<undefined> {
    const node = this.owned(action, iq.from, "modify the affiliations of");
    const changes = action.getChildren("affiliation").map((a) => ({ raw: a.attrs.jid as string | undefined, jid: tryParseJid((a.attrs.jid as string | undefined) ?? "")?.bare().toString(), affiliation: a.attrs.affiliation as string | undefined }));
    if (changes.length === 0) throw new StanzaError("bad-request", "name at least one <affiliation jid affiliation/>");
    // §8.9.2.4.2: an affiliation this service does not have.
    const unsupported = changes.find((c) => c.affiliation === "publish-only");
    if (unsupported) throw errors.unsupported("publish-only-affiliation", "the publish-only affiliation");
    const current = new Map(affiliationList(node));
    const bad = changes.filter((c) => !c.jid || !c.affiliation || !SETTABLE_AFFILIATIONS.has(c.affiliation));
    const next = new Map(current);
    for (const c of changes) if (c.jid && c.affiliation && SETTABLE_AFFILIATIONS.has(c.affiliation)) next.set(c.jid, c.affiliation as Affiliation);
    // A node keeps at least one owner (XEP-0060 §8.9.2.4: the owner cannot demote the last owner).
    // (A node that never had an owner, e.g. one from the file managed by the admins, may stay without.)
    const lastOwner = [...current.values()].includes("owner") && ![...next.values()].includes("owner");
    if (bad.length > 0 || lastOwner) {
      const entries = (lastOwner && bad.length === 0 ? changes : bad).map((c) => xml("affiliation", { jid: c.raw ?? "", affiliation: (c.jid && current.get(c.jid)) || "none" }));
      throw new StanzaError("not-acceptable", {
        type: "modify",
        text: lastOwner ? "a node must keep at least one owner" : "each affiliation needs a valid jid and one of owner, publisher, member, outcast, none",
        application: xml("pubsub", { xmlns: NS_PUBSUB_OWNER }, xml("affiliations", { node: node.name }, entries)),
      });
    }
    const { name, ...options } = node;
    const listed = (a: Affiliation) => [...next].filter(([, v]) => v === a).map(([jid]) => jid);
    const updated: NodeOptions = { ...options, owners: listed("owner"), publishers: listed("publisher"), whitelist: listed("member"), outcasts: listed("outcast") };
    await this.feed.saveNode(name, updated);
    // An outcast loses its subscriptions (XEP-0060 §4.1: outcasts cannot subscribe).
    for (const jid of listed("outcast")) for (const sub of this.feed.subscriptionsOf(name)) if (sub.jid === jid || sub.jid.startsWith(`${jid}/`)) await this.feed.unsubscribe(name, sub.jid);
    iq.log.info({ node: name, changes: changes.length }, "affiliations modified");
    return undefined;
  }
}

/** Every affiliated JID of the node, the strongest affiliation winning (owner > outcast > publisher > member). */
export function affiliationList(node: NodeOptions): [string, Affiliation][] {
  const out = new Map<string, Affiliation>();
  for (const jid of node.whitelist) out.set(jid, "member");
  for (const jid of node.publishers) out.set(jid, "publisher");
  for (const jid of node.outcasts) out.set(jid, "outcast");
  for (const jid of node.owners) out.set(jid, "owner");
  return [...out].sort(([a], [b]) => a.localeCompare(b));
}

function ownerAction(iq: IncomingIq): Element {
  const action = iq.payload.getChildElements()[0];
  if (!action) throw new StanzaError("bad-request", "<pubsub xmlns='…#owner'/> needs an action element such as <configure/>");
  return action;
}

/**
 * XEP-0060 §8.1: create a node, instant (no node attribute: the service names it, §8.1.2) or named, with the
 * default configuration (§8.1.1) or a submitted one (§8.1.3 create-and-configure). The creator becomes its owner.
 * Who may create is the createNodes option.
 */
export async function createNode(feed: FeedService, iq: IncomingIq, action: Element): Promise<Element | undefined> {
  await feed.ready();
  if (!feed.mayCreate(iq.from)) throw errors.forbidden(`${iq.from.bare().toString()} may not create nodes on this service (createNodes: ${feed.options.createNodes})`);
  const requested = action.attrs.node as string | undefined;
  if (requested !== undefined && !/^[A-Za-z0-9._~:@!$'()*+,;=-]{1,200}$/.test(requested)) {
    throw new StanzaError("not-acceptable", { type: "modify", text: "a node name is 1-200 letters, digits and URL-safe punctuation" });
  }
  // §8.1.2: the NodeID of an instant node is unique and opaque.
  const name = requested ?? randomUUID();
  // §8.1.3.2: the NodeID already exists.
  if (feed.nodes.has(name)) throw new StanzaError("conflict", { type: "cancel", text: `node ${JSON.stringify(name)} exists already` });
  let options = NodeOptionsSchema.parse({ owners: [iq.from.bare().toString()] });
  // §8.1.3: <configure/> is a sibling of <create/>; empty = the default configuration.
  const x = iq.payload.getChild("configure")?.getChild("x", "jabber:x:data");
  if (x) options = applyNodeConfig(options, x, feed.ownerPresenceAvailable);
  await feed.saveNode(name, options);
  iq.log.info({ node: name, owner: iq.from.bare().toString() }, "node created");
  // §8.1.2: an instant node's name is in the result; a named one may get an empty result.
  return requested === undefined ? xml("pubsub", { xmlns: NS_PUBSUB }, xml("create", { node: name })) : undefined;
}

/** XEP-0060 §8.6: the approval request a pending subscription sends each owner. */
export function approvalRequest(feed: FeedService, node: FeedNode, subscriber: string): Element[] {
  return node.owners.map((owner) =>
    xml(
      "message",
      { from: feed.domain, to: owner, id: `approve-${randomUUID()}` },
      xml("body", {}, `${subscriber} asks to subscribe to node ${node.name}; submit the form to approve or deny.`),
      buildForm({
        type: "form",
        title: "PubSub subscriber request",
        instructions: ["To approve this entity's subscription request, set pubsub#allow to true and submit the form; false denies it."],
        fields: [
          { var: "FORM_TYPE", type: "hidden", values: [SUBSCRIBE_AUTHORIZATION] },
          { var: "pubsub#node", type: "text-single", label: "Node ID", values: [node.name] },
          { var: "pubsub#subscriber_jid", type: "jid-single", label: "Subscriber Address", values: [subscriber] },
          { var: "pubsub#allow", type: "boolean", label: "Allow this JID to subscribe to this pubsub node?", values: ["false"] },
        ],
      }),
    ),
  );
}
