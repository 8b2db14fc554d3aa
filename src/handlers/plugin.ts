import type { ZodType } from "zod";
import type { Middleware } from "../pipeline/pipeline.js";
import type { HandlerClass } from "./metadata.js";

// Plugins (the Slixmpp model, named by what they implement): a plugin bundles handler classes, providers,
// middleware and an options schema. The built-ins (disco, ping, version, time, caps) are plugins that every
// component gets unless its config switches them off; others are listed in @Component({ plugins }).

/** A provider the plugin puts in the component's container: a class (one instance) or a value under a token. */
export type PluginProvider = HandlerClass | { token: HandlerClass | symbol | string; useValue: unknown };

export interface Plugin<Options = unknown> {
  /** Unique per component; also the config key that switches a built-in off (`builtins.<name>: false`). */
  readonly name: string;
  /** What it implements, for docs and logs (e.g. "XEP-0199: XMPP Ping"). */
  readonly description?: string;
  /** Names of plugins that must be present too (a RegistryError names the missing one). */
  readonly dependencies?: string[];
  readonly handlers?: HandlerClass[];
  readonly providers?: PluginProvider[];
  /** Called once per component when its host is made (Slixmpp's plugin_init); returns the plugin's middleware. */
  readonly setup?: (context: PluginContext) => { inbound?: Middleware[]; outbound?: Middleware[] } | void;
  /** Validates `plugins.<name>` from the component's config entry; the parsed value is provided under `optionsToken`. */
  readonly options?: ZodType<Options>;
  /** The token its parsed options are provided under (inject it with @Inject(token)). */
  readonly optionsToken?: symbol;
  /** Options given in code (the config's `plugins.<name>` object overrides them key by key). */
  readonly defaults?: Partial<Options>;
}

/** What a plugin's setup() can reach. */
export interface PluginContext {
  readonly domain: string;
  /** Resolves from the component's container (its registry, config, sender, the plugin's own providers…). */
  resolve<T>(token: HandlerClass<T> | symbol | string): T;
}

/** Declares a plugin (identity function that checks the shape at compile time). */
export function definePlugin<Options>(plugin: Plugin<Options>): Plugin<Options> {
  return plugin;
}
