import { Component, type IncomingIq, type IncomingMessage, Iq, Message, StanzaError, xml } from "annex";

const NS_GREETING = "urn:example:greeting";

@Component({ identity: { category: "component", type: "generic", name: "Greeter" } })
export class Greeter {
  @Message({ type: "chat", child: "body" })
  greet(msg: IncomingMessage) {
    return msg.reply({ body: `Hello, ${msg.from.local}!` });
  }

  // Advertised in disco#info automatically: the registry knows this handler.
  @Iq({ type: "get", child: "greeting", xmlns: NS_GREETING })
  greeting(iq: IncomingIq) {
    const name = iq.payload.attrs.name as string | undefined;
    if (!name) throw new StanzaError("bad-request", "name is required");
    return xml("greeting", { xmlns: NS_GREETING }, `Hello, ${name}!`);
  }
}
