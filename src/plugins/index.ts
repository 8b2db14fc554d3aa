import type { Plugin } from "../handlers/plugin.js";
import { CapsDisco, capsPlugin, capsVer, CAPS_NODE } from "./caps.js";
import { DiscoBuiltin, discoPlugin } from "./disco.js";
import { PingBuiltin, pingPlugin } from "./ping.js";
import { TimeBuiltin, timePlugin } from "./time.js";
import { VersionBuiltin, versionPlugin } from "./version.js";

export { DiscoBuiltin, PingBuiltin, TimeBuiltin, VersionBuiltin, discoPlugin, pingPlugin, timePlugin, versionPlugin, CapsDisco, capsPlugin, capsVer, CAPS_NODE };
export { DiscoCatalog, type DiscoInfoResult, type DiscoItem } from "./disco-catalog.js";
export { presenceSubscription, PresenceRoster, PresenceSubscriptionHandlers, type PresenceSubscriptionOptions } from "./presence-subscription.js";
export { rateLimit, rateLimited, RateLimits, TokenBuckets, type Rate, type RateLimitOptions } from "./rate-limit.js";

/** The built-in plugins every component gets unless its config says `builtins.<name>: false`. */
export const BUILTIN_PLUGINS: readonly Plugin[] = [discoPlugin, pingPlugin, versionPlugin, timePlugin, capsPlugin];
export const BUILTIN_NAMES = BUILTIN_PLUGINS.map((p) => p.name);
export type BuiltinSwitches = Partial<Record<string, boolean>>;

/** The built-ins left on by `switches` (all by default); one whose dependency is off goes too (caps needs disco). */
export function builtinPlugins(switches: BuiltinSwitches = {}): Plugin[] {
  const on = BUILTIN_PLUGINS.filter((p) => switches[p.name] !== false);
  return on.filter((p) => (p.dependencies ?? []).every((d) => on.some((o) => o.name === d)));
}
