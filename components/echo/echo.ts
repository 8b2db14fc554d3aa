import { Component, type IncomingMessage, Logger, Message, presenceSubscription } from "annex";

/**
 * Echoes chat and normal messages back to their sender, and accepts presence subscriptions (the
 * presence-subscription plugin) so it shows online in a roster (the book's chapter 7 component, done right).
 */
@Component({
  identity: { category: "component", type: "generic", name: "Echo" },
  plugins: [presenceSubscription()],
})
export class Echo {
  constructor(private readonly log: Logger) {}

  // Error messages never reach this handler (no "error" in type), so echo never answers an error.
  @Message({ type: ["chat", "normal"], child: "body" })
  echo(msg: IncomingMessage) {
    this.log.debug({ from: msg.from.toString() }, "echo");
    return msg.reply({ body: msg.body });
  }
}
