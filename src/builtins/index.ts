import type { HandlerClass } from "../handlers/metadata.js";
import { DiscoBuiltin } from "./disco.js";
import { PingBuiltin } from "./ping.js";
import { TimeBuiltin } from "./time.js";
import { VersionBuiltin } from "./version.js";

export { DiscoBuiltin, PingBuiltin, TimeBuiltin, VersionBuiltin };
export { DiscoCatalog, type DiscoInfoResult, type DiscoItem } from "./disco-catalog.js";

export const BUILTINS = { disco: DiscoBuiltin, ping: PingBuiltin, version: VersionBuiltin, time: TimeBuiltin } as const;
export type BuiltinName = keyof typeof BUILTINS;

/** The built-in handler classes, all on unless switched off by name. */
export function builtinClasses(off: Partial<Record<BuiltinName, boolean>> = {}): HandlerClass[] {
  return (Object.keys(BUILTINS) as BuiltinName[]).filter((name) => off[name] !== false).map((name) => BUILTINS[name]);
}
