import { type DiscoInfoResult, type DiscoItem, DiscoInfo, DiscoItems, Handlers, type IncomingIq, Iq, NS, StanzaError, xml } from "annex";
import { DirectoryCache } from "./cache.js";
import { diffSnapshots, unreachable } from "./snapshot.js";

export const NS_COMMANDS = "http://jabber.org/protocol/commands";
export const REFRESH_NODE = "refresh";
const ACTIONS = new Set(["execute", "cancel", "complete", "next", "prev"]);

/** XEP-0050 §4.4: an application condition beside the stanza error. */
function commandError(condition: string): ReturnType<typeof xml> {
  return xml(condition, { xmlns: NS_COMMANDS });
}

/** The ad-hoc command `refresh` (XEP-0050), for the admins listed in the options. */
@Handlers()
export class DirectoryCommands {
  constructor(private readonly cache: DirectoryCache) {}

  // XEP-0050 §2.2: the commands an entity offers are the disco#items of the commands node.
  @DiscoItems()
  items(node: string | undefined): DiscoItem[] | undefined {
    if (node !== NS_COMMANDS) return undefined;
    return [{ jid: this.cache.domain, node: REFRESH_NODE, name: "Refresh the directory" }];
  }

  // XEP-0050 §2.2 (and XEP-0030 registry, category automation): the list and each command are described.
  @DiscoInfo()
  info(node: string | undefined): DiscoInfoResult | undefined {
    if (node === NS_COMMANDS) return { identities: [{ category: "automation", type: "command-list", name: "Commands" }], features: [NS.discoItems] };
    if (node === REFRESH_NODE) return { identities: [{ category: "automation", type: "command-node", name: "Refresh the directory" }], features: [NS_COMMANDS] };
    return undefined;
  }

  @Iq({ type: "set", child: "command", xmlns: NS_COMMANDS })
  async execute(iq: IncomingIq) {
    const command = iq.payload;
    const node = command.attrs.node as string | undefined;
    if (node !== REFRESH_NODE) throw new StanzaError("item-not-found", `no command ${JSON.stringify(node ?? "")}; this directory has "${REFRESH_NODE}"`);
    const requester = iq.from.bare().toString();
    if (!this.cache.settings.admins.includes(requester)) throw new StanzaError("forbidden", `${requester} is not an admin of this directory`);
    const action = (command.attrs.action as string | undefined) ?? "execute";
    if (!ACTIONS.has(action)) throw new StanzaError("bad-request", { text: `unknown action ${JSON.stringify(action)}`, application: commandError("malformed-action") });
    // refresh completes in one step, so no session outlives a response (XEP-0050 §3.1): any sessionid is unknown.
    if (command.attrs.sessionid !== undefined) throw new StanzaError("bad-request", { text: "refresh keeps no sessions", application: commandError("bad-sessionid") });
    if (action !== "execute") throw new StanzaError("bad-request", { text: `refresh is one step; only "execute" applies, not ${JSON.stringify(action)}`, application: commandError("bad-action") });

    const before = this.cache.latest;
    const after = await this.cache.refresh();
    const changes = diffSnapshots(before, after);
    iq.log.info({ by: requester, ...changes }, "directory refreshed by an admin");
    const summary =
      `Refreshed in ${after.durationMs} ms: ${after.entities.length} entities, ${unreachable(after).length} unreachable. ` +
      `Added ${changes.added.length}, removed ${changes.removed.length}, changed ${changes.changed.length}.`;
    return xml(
      "command",
      { xmlns: NS_COMMANDS, node: REFRESH_NODE, sessionid: `refresh-${after.crawledAt.getTime()}`, status: "completed" },
      xml("note", { type: "info" }, summary),
    );
  }
}
