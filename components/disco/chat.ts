import { Handlers, type IncomingMessage, Message, tryParseJid } from "annex";
import { DirectoryCache } from "./cache.js";
import { describeFailure } from "./disco-client.js";
import { formatFailure, formatInfo, formatItems, formatList, helpText } from "./format.js";

/** A parsed chat command, or why the text is not one. */
export type ChatCommand =
  | { name: "help" }
  | { name: "list" }
  | { name: "info" | "items"; jid: string; node?: string }
  | { name: "invalid"; problem: string };

/** `info <jid> [node]`: the node is the rest of the line (node names may hold spaces). */
export function parseCommand(text: string): ChatCommand {
  const match = /^(\S+)(?:\s+(\S+)(?:\s+(.+))?)?$/su.exec(text.trim());
  if (!match) return { name: "invalid", problem: "The message was empty." };
  const [, word = "", jid, node] = match;
  const name = word.toLowerCase();
  if (name === "help" || name === "list") {
    return jid === undefined ? { name } : { name: "invalid", problem: `"${name}" takes no arguments.` };
  }
  if (name === "info" || name === "items") {
    if (jid === undefined) return { name: "invalid", problem: `"${name}" needs a JID, e.g. "${name} pubsub.localhost".` };
    if (!tryParseJid(jid)) return { name: "invalid", problem: `"${jid}" is not a valid JID.` };
    return { name, jid, node: node?.trim() };
  }
  return { name: "invalid", problem: `Unknown command "${word}".` };
}

/** The chat interface: plain-text answers to list, info, items and help. */
@Handlers()
export class DirectoryChat {
  constructor(private readonly cache: DirectoryCache) {}

  // Error messages never reach this handler (no "error" in type), so a bounce is never answered.
  @Message({ type: ["chat", "normal"], child: "body" })
  async command(msg: IncomingMessage) {
    return msg.reply({ body: await this.answer(parseCommand(msg.body ?? ""), msg) });
  }

  private async answer(command: ChatCommand, msg: IncomingMessage): Promise<string> {
    const help = helpText(this.cache.servers, this.cache.settings.refreshIntervalMs);
    switch (command.name) {
      case "help":
        return help;
      case "invalid":
        return `${command.problem}\n\n${help}`;
      case "list":
        return formatList(await this.cache.current(), this.cache.domain);
      case "info":
        // Asked live, not from the cache: the person wants to know what the entity says now.
        try {
          return formatInfo(command.jid, command.node, await this.cache.client.info(command.jid, command.node));
        } catch (err) {
          msg.log.debug({ err, jid: command.jid }, "info query failed");
          return formatFailure("disco#info", command.jid, command.node, describeFailure(err));
        }
      case "items":
        try {
          return formatItems(command.jid, command.node, await this.cache.client.items(command.jid, command.node));
        } catch (err) {
          msg.log.debug({ err, jid: command.jid }, "items query failed");
          return formatFailure("disco#items", command.jid, command.node, describeFailure(err));
        }
    }
  }
}
