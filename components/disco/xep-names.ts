/** Well-known namespaces and the specification that defines each, for people reading a feature list. */
const KNOWN: Record<string, string> = {
  "http://jabber.org/protocol/disco#info": "XEP-0030: Service Discovery (info)",
  "http://jabber.org/protocol/disco#items": "XEP-0030: Service Discovery (items)",
  "http://jabber.org/protocol/commands": "XEP-0050: Ad-Hoc Commands",
  "http://jabber.org/protocol/pubsub": "XEP-0060: Publish-Subscribe",
  "http://jabber.org/protocol/muc": "XEP-0045: Multi-User Chat",
  "http://jabber.org/protocol/caps": "XEP-0115: Entity Capabilities",
  "http://jabber.org/protocol/chatstates": "XEP-0085: Chat State Notifications",
  "http://jabber.org/protocol/rsm": "XEP-0059: Result Set Management",
  "http://jabber.org/protocol/bytestreams": "XEP-0065: SOCKS5 Bytestreams",
  "jabber:x:data": "XEP-0004: Data Forms",
  "jabber:iq:version": "XEP-0092: Software Version",
  "jabber:iq:time": "XEP-0090: Legacy Entity Time",
  "jabber:iq:last": "XEP-0012: Last Activity",
  "jabber:iq:register": "XEP-0077: In-Band Registration",
  "jabber:iq:search": "XEP-0055: Jabber Search",
  "jabber:iq:private": "XEP-0049: Private XML Storage",
  "jabber:iq:roster": "RFC 6121: Roster Management",
  "jabber:iq:oob": "XEP-0066: Out of Band Data",
  "vcard-temp": "XEP-0054: vcard-temp",
  "urn:xmpp:ping": "XEP-0199: XMPP Ping",
  "urn:xmpp:time": "XEP-0202: Entity Time",
  "urn:xmpp:mam:2": "XEP-0313: Message Archive Management",
  "urn:xmpp:carbons:2": "XEP-0280: Message Carbons",
  "urn:xmpp:blocking": "XEP-0191: Blocking Command",
  "urn:xmpp:http:upload:0": "XEP-0363: HTTP File Upload",
  "urn:xmpp:sid:0": "XEP-0359: Unique and Stable Stanza IDs",
  "urn:xmpp:occupant-id:0": "XEP-0421: Occupant Identifiers",
  "urn:xmpp:bookmarks:1": "XEP-0402: PEP Native Bookmarks",
  "urn:xmpp:push:0": "XEP-0357: Push Notifications",
  "urn:xmpp:csi:0": "XEP-0352: Client State Indication",
  "urn:xmpp:sm:3": "XEP-0198: Stream Management",
  "urn:xmpp:extdisco:2": "XEP-0215: External Service Discovery",
  "urn:xmpp:json:0": "XEP-0335: JSON Containers",
  "msgoffline": "XEP-0160: Offline Messages",
};

/** Namespace families whose `#suffix` features belong to one XEP (e.g. pubsub#publish). */
const FAMILIES: Record<string, string> = {
  "http://jabber.org/protocol/pubsub": "XEP-0060: Publish-Subscribe",
  "http://jabber.org/protocol/muc": "XEP-0045: Multi-User Chat",
  "http://jabber.org/protocol/disco": "XEP-0030: Service Discovery",
};

/** The specification that defines a feature var, or undefined when this table does not know it. */
export function specName(feature: string): string | undefined {
  const exact = KNOWN[feature];
  if (exact) return exact;
  const hash = feature.indexOf("#");
  if (hash === -1) return undefined;
  const family = FAMILIES[feature.slice(0, hash)];
  return family ? `${family} (${feature.slice(hash + 1)})` : undefined;
}

/** `urn:xmpp:ping (XEP-0199: XMPP Ping)`, or the bare var when unknown. */
export function describeFeature(feature: string): string {
  const spec = specName(feature);
  return spec ? `${feature} (${spec})` : feature;
}
