import { Handlers, type IncomingPresence, Inject, Presence } from "annex";
import { FeedService } from "./service.js";

/**
 * Presence to the feed: directed presence marks a subscriber as online (its subscriptions are then
 * temporary, XEP-0060 §12.4) and its unavailable ends them. Presence subscriptions to the feed (which grant
 * the "presence" access model) are answered by the presence-subscription plugin.
 */
@Handlers()
export class FeedPresence {
  constructor(@Inject(FeedService) private readonly feed: FeedService) {}

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
}
