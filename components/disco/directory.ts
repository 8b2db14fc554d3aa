import { Component, presenceSubscription } from "annex";
import { DirectoryBrowse } from "./browse.js";
import { DirectoryCache } from "./cache.js";
import { DirectoryChat } from "./chat.js";
import { DirectoryCommands } from "./commands.js";
import { DirectoryOptions } from "./options.js";

/**
 * A service directory: crawls the server's disco (items, then each item's info and nodes), lists the
 * components of this Annex process, and shows it all as browsable disco nodes, a chat bot and an
 * admin command. Each concern is its own handler class; this class only names the component.
 */
@Component({
  identity: { category: "component", type: "generic", name: "Service directory" },
  handlers: [DirectoryBrowse, DirectoryChat, DirectoryCommands],
  providers: [DirectoryCache],
  // A chat bot people add to their roster: answer the subscription so it does not stay pending.
  plugins: [presenceSubscription()],
  options: DirectoryOptions,
})
export class Directory {}
