import { type Element, formType, formValues, parseForm, StanzaError } from "annex";
import type { NodeOptions } from "../options.js";
import { errors, NS_PUBSUB } from "./errors.js";

/** What each publish-option must equal on this node (XEP-0060 §7.1.5: preconditions, not configuration). */
function nodeValues(node: NodeOptions): Record<string, (v: string) => boolean> {
  const bool = (b: boolean) => (v: string) => (v === "1" || v === "true") === b && ["1", "0", "true", "false"].includes(v);
  return {
    "pubsub#access_model": (v) => v === node.access,
    "pubsub#publish_model": (v) => v === node.publishModel,
    "pubsub#persist_items": bool(node.persistItems),
    "pubsub#deliver_payloads": bool(node.deliverPayloads),
    "pubsub#deliver_notifications": bool(true),
    "pubsub#notification_type": (v) => v === "headline",
    "pubsub#max_items": (v) => v === String(node.maxItems) || v === "max",
    "pubsub#item_expire": (v) => v === String(node.maxAgeSeconds ?? 0),
    "pubsub#notify_retract": bool(node.notifyRetract),
    "pubsub#notify_delete": bool(node.notifyDelete),
    "pubsub#presence_based_delivery": bool(node.presenceBasedDelivery),
    "pubsub#type": (v) => v === (node.payloadNamespace ?? ""),
    "pubsub#title": (v) => v === (node.title ?? ""),
  };
}

/**
 * XEP-0060 §7.1.5: a publish with <publish-options/> succeeds only when every given field matches the
 * node; otherwise conflict + precondition-not-met, and nothing is published.
 */
export function checkPublishOptions(pubsub: Element, node: NodeOptions & { name: string }): void {
  const options = pubsub.getChild("publish-options");
  if (!options) return;
  const x = options.getChild("x", "jabber:x:data");
  if (!x) return; // an empty <publish-options/> asks nothing
  const form = parseForm(x);
  if (formType(form) !== `${NS_PUBSUB}#publish-options`) throw new StanzaError("bad-request", `publish-options need FORM_TYPE ${NS_PUBSUB}#publish-options`);
  const expected = nodeValues(node);
  for (const [field, values] of Object.entries(formValues(form))) {
    if (field === "FORM_TYPE") continue;
    const check = expected[field];
    const value = values[0] ?? "";
    if (!check) throw errors.preconditionNotMet(`this service cannot guarantee ${field} on node ${JSON.stringify(node.name)}`);
    if (!check(value)) throw errors.preconditionNotMet(`${field} of node ${JSON.stringify(node.name)} does not match ${JSON.stringify(value)}`);
  }
}
