import { type JID, type Logger, type Sender, xml } from "annex";

const NS_ROSTER = "jabber:iq:roster";

/** What the roster check needs of the feed. */
export interface RosterAccess {
  readonly domain: string;
  readonly sender: Sender;
  readonly log: Logger;
  /** Server domains that granted us XEP-0356 roster access. */
  readonly rosterServers: ReadonlySet<string>;
}

/**
 * XEP-0060 §4.5 presence model: does one of the node's owners have `subscriber` in its roster with subscription
 * from or both? Asks the owner's server for the roster with the XEP-0356 roster privilege (§5: an IQ get
 * addressed to the owner's bare JID).
 */
export async function inOwnersRoster(feed: RosterAccess, owners: string[], subscriber: JID): Promise<boolean> {
  const bare = subscriber.bare().toString();
  for (const owner of owners) {
    const domain = owner.split("@")[1]?.split("/")[0];
    if (!domain || !feed.rosterServers.has(domain) || owner.includes("/")) continue;
    if (owner === bare) return true;
    try {
      const answer = await feed.sender.request(xml("iq", { type: "get", to: owner, from: feed.domain }, xml("query", { xmlns: NS_ROSTER })), { timeoutMs: 5_000 });
      const items = answer.getChild("query", NS_ROSTER)?.getChildren("item") ?? [];
      if (items.some((i) => String(i.attrs.jid).toLowerCase() === bare && (i.attrs.subscription === "from" || i.attrs.subscription === "both"))) return true;
    } catch (err) {
      feed.log.warn({ err, owner }, "could not read the owner's roster (XEP-0356)");
    }
  }
  return false;
}
