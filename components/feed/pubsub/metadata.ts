import { buildForm, type Element } from "annex";
import type { NodeOptions } from "../options.js";
import { NS_PUBSUB } from "./errors.js";

/** The node's unit of `value`, in its meta-data form. */
export const UNIT_FIELD = "urn:annex:feed:unit";

/** XEP-0060 §5.4: the pubsub#meta-data form of a node. */
export function metaDataForm(node: string, options: NodeOptions, subscribers: number): Element {
  return buildForm({
    type: "result",
    fields: [
      { var: "FORM_TYPE", type: "hidden", values: [`${NS_PUBSUB}#meta-data`] },
      { var: "pubsub#title", label: "A short name for the node", values: [options.title ?? node] },
      { var: "pubsub#type", label: "Payload type", values: options.payloadNamespace ? [options.payloadNamespace] : [] },
      { var: "pubsub#access_model", label: "Access model", values: [options.access] },
      { var: "pubsub#publish_model", label: "Publish model", values: [options.publishModel] },
      { var: "pubsub#max_items", label: "Items kept", values: [String(options.maxItems)] },
      { var: "pubsub#persist_items", label: "Items are stored", type: "boolean", values: [options.persistItems ? "true" : "false"] },
      { var: "pubsub#num_subscribers", label: "Subscribers", values: [String(subscribers)] },
      { var: "pubsub#owner", type: "jid-multi", label: "Owners", values: options.owners },
      { var: "pubsub#publisher", type: "jid-multi", label: "Publishers", values: options.publishers },
      // Not a registered meta-data field (XEP-0068 §3.4: an unregistered field takes a namespaced name).
      ...(options.unit ? [{ var: UNIT_FIELD, label: "Unit of the values", values: [options.unit] }] : []),
    ],
  });
}
