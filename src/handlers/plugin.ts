import type { Plugin } from "./metadata.js";

export type { Plugin, PluginContext, PluginProvider } from "./metadata.js";

// Plugins (the Slixmpp model, named by what they implement): a plugin bundles handler classes, providers,
// middleware and an options schema. The built-ins (disco, ping, version, time, caps) are plugins that every
// component gets unless its config switches them off; others are listed in @Component({ plugins }).

/** Declares a plugin (identity function that checks the shape at compile time). */
export function definePlugin<Options>(plugin: Plugin<Options>): Plugin<Options> {
  return plugin;
}
