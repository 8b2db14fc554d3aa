import { type Element, formValues, parseForm } from "annex";

/** XEP-0060 §6.3.7: the subscription options sent with a subscribe (<options><x/></options>). */
export function subscribeOptions(pubsub: Element): { expire?: string } {
  const x = pubsub.getChild("options")?.getChild("x", "jabber:x:data");
  if (!x) return {};
  const values = formValues(parseForm(x));
  // XEP-0060 §12.4: pubsub#expire = "presence" is a temporary subscription.
  return { expire: values["pubsub#expire"]?.[0] };
}
