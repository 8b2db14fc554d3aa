import { Handlers, type IncomingPresence, Presence } from "annex";
import { inject } from "tsyringe";
import { FeedService } from "./service.js";

/**
 * Presence to the feed: directed presence marks a subscriber as online (its subscriptions are then
 * temporary, XEP-0060 §12.4) and its unavailable ends them; a presence subscription to the feed grants
 * the "service-presence" access model (not XEP-0060 §4.5 presence, which is the owner's roster: see privilege.ts).
 */
@Handlers()
export class FeedPresence {
  constructor(@inject(FeedService) private readonly feed: FeedService) {}

  // RFC 6121 §4.6: directed available presence.
  @Presence({ type: "available" })
  available(presence: IncomingPresence): void {
    this.feed.present.add(presence.from.toString());
  }

  // RFC 6121 §4.6.3 (the server sends it when the client goes offline): temporary subscriptions end.
  @Presence({ type: "unavailable" })
  unavailable(presence: IncomingPresence): void {
    const full = presence.from.toString();
    this.feed.present.delete(full);
    const ended = this.feed.endTemporary(full);
    if (ended > 0) presence.log.info({ ended }, "temporary subscriptions ended");
  }

  // RFC 6121 §3.1.3: approve, then say we are available.
  @Presence({ type: "subscribe" })
  subscribe(presence: IncomingPresence) {
    this.feed.presenceSubscribers.add(presence.from.bare().toString());
    return [presence.reply("subscribed"), presence.reply()];
  }

  // RFC 6121 §3.3.3
  @Presence({ type: "unsubscribe" })
  unsubscribe(presence: IncomingPresence) {
    this.feed.presenceSubscribers.delete(presence.from.bare().toString());
    return presence.reply("unsubscribed");
  }

  // RFC 6121 §4.3.2
  @Presence({ type: "probe" })
  probe(presence: IncomingPresence) {
    return presence.reply();
  }
}
