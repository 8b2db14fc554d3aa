import { Component, type IncomingMessage, type IncomingPresence, Logger, Message, Presence } from "annex";

/**
 * Echoes chat and normal messages back to their sender, and accepts presence subscriptions
 * so it shows online in a roster (the book's chapter 7 component, done right).
 */
@Component({ identity: { category: "component", type: "generic", name: "Echo" } })
export class Echo {
  constructor(private readonly log: Logger) {}

  // Error messages never reach this handler (no "error" in type), so echo never answers an error.
  @Message({ type: ["chat", "normal"], child: "body" })
  echo(msg: IncomingMessage) {
    this.log.debug({ from: msg.from.toString() }, "echo");
    return msg.reply({ body: msg.body });
  }

  // RFC 6121 §3.1.3: approve the request, then tell the new subscriber we are available.
  @Presence({ type: "subscribe" })
  subscribe(presence: IncomingPresence) {
    return [presence.reply("subscribed"), presence.reply()];
  }

  // RFC 6121 §3.3.3: an unsubscribe is acknowledged with unsubscribed.
  @Presence({ type: "unsubscribe" })
  unsubscribe(presence: IncomingPresence) {
    return presence.reply("unsubscribed");
  }

  // RFC 6121 §4.3.2: a probe is answered with our current presence. While running that is available;
  // once stopping, the dispatcher takes no more stanzas and shutdown sends unavailable to everyone told available.
  @Presence({ type: "probe" })
  probe(presence: IncomingPresence) {
    return presence.reply();
  }
}
