import { Handlers, type IncomingPresence, Inject, Presence } from "annex";
import { FeedService } from "./service.js";

/**
 * Presence to the feed: directed presence marks a subscriber as online (its subscriptions are then
  * temporary, XEP-0060 §12.4) and its unavailable ends them. Presence subscriptions to the feed are answered
  * by the presence-subscription plugin; its roster grants the "service-presence" access model (not XEP-0060
  * §4.5 presence, which is the owner's roster: see privilege.ts).
 */
@Handlers()
export class FeedPresence {
  constructor(@Inject(FeedService) private readonly feed: FeedService) {}

  // RFC 6121 §4.6: directed available presence.
  @Presence({ type: "available" })
  async available(presence: IncomingPresence): Promise<void> {
    await this.feed.markPresent(presence.from.toString());
  }

  // RFC 6121 §4.6.3 (the server sends it when the client goes offline): temporary subscriptions end.
  @Presence({ type: "unavailable" })
  async unavailable(presence: IncomingPresence): Promise<void> {
    const full = presence.from.toString();
    await this.feed.markAbsent(full);
    const ended = await this.feed.endTemporary(full);
    if (ended > 0) presence.log.info({ ended }, "temporary subscriptions ended");
  }
}
