import { buildForm, type Element, type FormField, formType, formValues, parseForm } from "annex";
import { type NodeOptions, NodeOptionsSchema } from "../options.js";
import { NS_PUBSUB, pubsubError } from "./errors.js";

export const NODE_CONFIG = `${NS_PUBSUB}#node_config`;

const ACCESS_MODELS = ["open", "whitelist", "authorize", "service-presence", "presence"] as const;
/** The access models on offer: `presence` only when the server grants the roster access it needs (XEP-0356). */
const accessModels = (ownerPresence: boolean) => ACCESS_MODELS.filter((m) => m !== "presence" || ownerPresence);
const PUBLISH_MODELS = ["publishers", "subscribers", "open"] as const;
const SEND_LAST = ["never", "on_sub"] as const;
const bool = (b: boolean) => (b ? "1" : "0");

/**
 * XEP-0060 §8.2.4 / §16.4.4: the pubsub#node_config form of a node (type "form" to fill in; the values are
 * the node's current ones). Only the options this service applies are offered, so a client cannot set one
 * that would be silently ignored.
 */
export function nodeConfigForm(options: NodeOptions, globalSendLast: "on_sub" | "never", ownerPresence = false): Element {
  const fields: FormField[] = [
    { var: "FORM_TYPE", type: "hidden", values: [NODE_CONFIG] },
    { var: "pubsub#title", type: "text-single", label: "A friendly name for the node", values: options.title === undefined ? [] : [options.title] },
    { var: "pubsub#type", type: "text-single", label: "The namespace every payload must have (empty: any)", values: options.payloadNamespace ? [options.payloadNamespace] : [] },
    { var: "pubsub#max_items", type: "text-single", label: "Max # of items to persist", values: [String(options.maxItems)] },
    { var: "pubsub#item_expire", type: "text-single", label: "Seconds after which items expire (0: never)", values: [String(options.maxAgeSeconds ?? 0)] },
    { var: "pubsub#persist_items", type: "boolean", label: "Persist items to storage", values: [bool(options.persistItems)] },
    list("pubsub#access_model", "Who may subscribe and retrieve items", options.access, accessModels(ownerPresence)),
    list("pubsub#publish_model", "Who may publish", options.publishModel, PUBLISH_MODELS),
    { var: "pubsub#deliver_payloads", type: "boolean", label: "Deliver payloads with event notifications", values: [bool(options.deliverPayloads)] },
    { var: "pubsub#notify_retract", type: "boolean", label: "Notify subscribers when items are removed from the node", values: [bool(options.notifyRetract)] },
    { var: "pubsub#notify_delete", type: "boolean", label: "Notify subscribers when the node is deleted", values: [bool(options.notifyDelete)] },
    { var: "pubsub#presence_based_delivery", type: "boolean", label: "Deliver notifications only to available users", values: [bool(options.presenceBasedDelivery)] },
    list("pubsub#send_last_published_item", "When to send the last published item", options.sendLastPublishedItem ?? globalSendLast, SEND_LAST),
  ];
  return buildForm({ type: "form", title: "Node configuration", fields });
}

function list(v: string, label: string, value: string, options: readonly string[]): FormField {
  return { var: v, type: "list-single", label, values: [value], options: options.map((o) => ({ value: o })) };
}

/** XEP-0060 §8.2.5.2: a submitted value this service cannot take is not-acceptable (type modify). */
const invalid = (text: string) => pubsubError("not-acceptable", "modify", undefined, text);

/** Parses a XEP-0004 boolean, or says which field is wrong. */
function booleanOf(field: string, value: string): boolean {
  if (value === "1" || value === "true") return true;
  if (value === "0" || value === "false") return false;
  throw invalid(`${field} must be a boolean (1/0/true/false), not ${JSON.stringify(value)}`);
}

function oneOf<T extends string>(field: string, value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value)) throw invalid(`${field} must be one of ${allowed.join(", ")}, not ${JSON.stringify(value)}`);
  return value as T;
}

function positiveInt(field: string, value: string, allowZero: boolean): number {
  if (!/^\d{1,9}$/.test(value) || (!allowZero && Number(value) === 0)) throw invalid(`${field} must be a ${allowZero ? "non-negative" : "positive"} integer, not ${JSON.stringify(value)}`);
  return Number(value);
}

/**
 * XEP-0060 §8.2.5 / §8.1.3: applies a submitted pubsub#node_config form to the node's options. Fields left out
 * keep their value; an unknown field or a bad value is not-acceptable and changes nothing.
 */
export function applyNodeConfig(current: NodeOptions, x: Element, ownerPresence = false, maxItemsCap = 1_000_000): NodeOptions {
  const form = parseForm(x);
  if (form.type !== "submit") throw pubsubError("bad-request", "modify", undefined, `a node configuration must be submitted as type='submit', not ${JSON.stringify(form.type)}`);
  const type = formType(form);
  if (type !== undefined && type !== NODE_CONFIG) throw invalid(`the form's FORM_TYPE must be ${NODE_CONFIG}, not ${JSON.stringify(type)}`);
  const next: NodeOptions = { ...current };
  for (const [field, values] of Object.entries(formValues(form))) {
    const value = values[0] ?? "";
    switch (field) {
      case "FORM_TYPE":
        break;
      case "pubsub#title":
        next.title = value === "" ? undefined : value;
        break;
      case "pubsub#type":
        next.payloadNamespace = value === "" ? undefined : value;
        break;
      case "pubsub#max_items": {
        // XEP-0060 §16.4.4: "max" = the most this service allows.
        const max = value === "max" ? maxItemsCap : positiveInt(field, value, false);
        if (max > maxItemsCap) throw invalid(`pubsub#max_items may be at most ${maxItemsCap}`);
        next.maxItems = max;
        break;
      }
      case "pubsub#item_expire": {
        const seconds = positiveInt(field, value, true);
        next.maxAgeSeconds = seconds === 0 ? undefined : seconds;
        break;
      }
      case "pubsub#persist_items":
        next.persistItems = booleanOf(field, value);
        break;
      case "pubsub#access_model":
        next.access = oneOf(field, value, accessModels(ownerPresence));
        break;
      case "pubsub#publish_model":
        next.publishModel = oneOf(field, value, PUBLISH_MODELS);
        break;
      case "pubsub#deliver_payloads":
        next.deliverPayloads = booleanOf(field, value);
        break;
      case "pubsub#notify_retract":
        next.notifyRetract = booleanOf(field, value);
        break;
      case "pubsub#notify_delete":
        next.notifyDelete = booleanOf(field, value);
        break;
      case "pubsub#presence_based_delivery":
        next.presenceBasedDelivery = booleanOf(field, value);
        break;
      case "pubsub#send_last_published_item":
        next.sendLastPublishedItem = oneOf(field, value, SEND_LAST);
        break;
      default:
        throw invalid(`this service does not support the node option ${field}`);
    }
  }
  return NodeOptionsSchema.parse(next);
}
