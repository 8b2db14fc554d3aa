import { Handlers, type IncomingMessage, Inject, Message } from "annex";
import { FeedService } from "./service.js";

/** XEP-0356 (Privileged Entity) v0.4+, as Prosody's mod_privilege (Debian prosody-modules) speaks it. */
export const NS_PRIVILEGE = "urn:xmpp:privilege:2";

/**
 * The XEP-0060 §4.5 `presence` access model needs the node owner's roster: "any entity with a subscription of
 * type from or both" to the owner may subscribe and retrieve items. A component sees a user's roster only when
 * the server grants it XEP-0356 roster access; the server says so in a <privilege/> message right after the
 * component authenticates (§4). Until then the feed neither offers nor advertises access-presence.
 */
@Handlers()
export class FeedPrivilege {
  constructor(@Inject(FeedService) private readonly feed: FeedService) {}

  // XEP-0356 §4: <message from='server'><privilege><perm access='roster' type='get|both'/></privilege></message>
  @Message({ child: "privilege", xmlns: NS_PRIVILEGE })
  advertised(message: IncomingMessage): undefined {
    // Only the server itself grants privileges (a bare domain, not a user).
    if (message.from.local) return undefined;
    const perms = message.element.getChild("privilege", NS_PRIVILEGE)?.getChildren("perm") ?? [];
    const roster = perms.find((p) => p.attrs.access === "roster")?.attrs.type as string | undefined;
    const granted = roster === "get" || roster === "both";
    if (granted) this.feed.rosterServers.add(message.from.domain);
    else this.feed.rosterServers.delete(message.from.domain);
    message.log.info({ server: message.from.domain, roster: roster ?? "none" }, "XEP-0356 privileges");
    return undefined;
  }
}

