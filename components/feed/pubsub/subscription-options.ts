import { buildForm, type Element, formType, formValues, parseForm } from "annex";
import type { SubscriptionOptions } from "../service.js";
import { NS_PUBSUB, pubsubError } from "./errors.js";

export const SUBSCRIBE_OPTIONS = `${NS_PUBSUB}#subscribe_options`;

/** XEP-0060 §6.3.5: a bad set of options is bad-request + invalid-options, and nothing changes. */
const invalidOptions = (text: string) => pubsubError("bad-request", "modify", "invalid-options", text);

/** XEP-0060 §6.3.2 / §16.4.2: the pubsub#subscribe_options form with the subscription's current values. */
export function subscriptionOptionsForm(options: SubscriptionOptions, temporary: boolean, type: "form" | "result" = "form"): Element {
  const expire = temporary ? "presence" : options.expiresAt === undefined ? "" : new Date(options.expiresAt).toISOString();
  return buildForm({
    type,
    fields: [
      { var: "FORM_TYPE", type: "hidden", values: [SUBSCRIBE_OPTIONS] },
      { var: "pubsub#deliver", type: "boolean", label: "Enable delivery?", values: [options.deliver ? "1" : "0"] },
      { var: "pubsub#include_body", type: "boolean", label: "Receive message body in addition to payload?", values: [options.includeBody ? "1" : "0"] },
      {
        var: "pubsub#expire",
        type: "text-single",
        label: "Requested lease: an XEP-0082 date-time, or 'presence' (ends when you go offline); empty: none",
        values: expire === "" ? [] : [expire],
      },
    ],
  });
}

export interface ParsedSubscriptionOptions {
  options: SubscriptionOptions;
  /** pubsub#expire = "presence": the subscription ends with the subscriber's presence (XEP-0060 §12.4). */
  temporary?: boolean;
}

/** The <x/> of <options/>, if any (XEP-0060 §6.3.7: inside a subscribe request, or in an options set). */
export function optionsFormIn(pubsub: Element): Element | undefined {
  return pubsub.getChild("options")?.getChild("x", "jabber:x:data");
}

/**
 * Applies a submitted pubsub#subscribe_options form to `base` (XEP-0060 §6.3.5). Fields left out keep their
 * value; an unknown field or a bad value is bad-request + invalid-options.
 */
export function parseSubscriptionOptions(x: Element, base: SubscriptionOptions, now = Date.now()): ParsedSubscriptionOptions {
  const form = parseForm(x);
  if (form.type !== "submit") throw invalidOptions(`subscription options must be submitted as type='submit', not ${JSON.stringify(form.type)}`);
  const type = formType(form);
  if (type !== undefined && type !== SUBSCRIBE_OPTIONS) throw invalidOptions(`the form's FORM_TYPE must be ${SUBSCRIBE_OPTIONS}, not ${JSON.stringify(type)}`);
  const options: SubscriptionOptions = { ...base };
  let temporary: boolean | undefined;
  for (const [field, values] of Object.entries(formValues(form))) {
    const value = values[0] ?? "";
    switch (field) {
      case "FORM_TYPE":
        break;
      case "pubsub#deliver":
        options.deliver = booleanOf(field, value);
        break;
      case "pubsub#include_body":
        options.includeBody = booleanOf(field, value);
        break;
      case "pubsub#expire":
        if (value === "presence") {
          temporary = true;
          options.expiresAt = undefined;
        } else if (value === "") {
          temporary = false;
          options.expiresAt = undefined;
        } else {
          // XEP-0082 date-time, e.g. 2006-02-28T23:59:59Z.
          const at = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(value) ? Date.parse(value) : Number.NaN;
          if (Number.isNaN(at)) throw invalidOptions(`pubsub#expire must be an XEP-0082 date-time or "presence", not ${JSON.stringify(value)}`);
          if (at <= now) throw invalidOptions(`pubsub#expire ${value} is in the past`);
          temporary = false;
          options.expiresAt = at;
        }
        break;
      default:
        throw invalidOptions(`this service does not support the subscription option ${field}`);
    }
  }
  return { options, temporary };
}

function booleanOf(field: string, value: string): boolean {
  if (value === "1" || value === "true") return true;
  if (value === "0" || value === "false") return false;
  throw invalidOptions(`${field} must be a boolean (1/0/true/false), not ${JSON.stringify(value)}`);
}
