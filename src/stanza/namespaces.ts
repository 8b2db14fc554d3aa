/** Namespaces Annex itself implements or needs to name. */
export const NS = {
  client: "jabber:client",
  component: "jabber:component:accept",
  stanzas: "urn:ietf:params:xml:ns:xmpp-stanzas",
  streams: "urn:ietf:params:xml:ns:xmpp-streams",
  discoInfo: "http://jabber.org/protocol/disco#info",
  discoItems: "http://jabber.org/protocol/disco#items",
  ping: "urn:xmpp:ping",
  version: "jabber:iq:version",
  time: "urn:xmpp:time",
  dataForms: "jabber:x:data",
  caps: "http://jabber.org/protocol/caps",
} as const;
