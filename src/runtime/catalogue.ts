import { pathToFileURL } from "node:url";
import { resolve } from "node:path";
import { ConfigError } from "../config/errors.js";
import type { ComponentEntry } from "../config/schema.js";
import { type HandlerClass, readComponentOptions } from "../handlers/metadata.js";

/** Component types a runner knows by name (the bundled ones are supplied by bin/annex.ts, not by the framework). */
export type Catalogue = Readonly<Record<string, () => Promise<HandlerClass>>>;

/** Finds the class for a config entry's `type`: a catalogue name, or `{module, export?}` loaded from disk. */
export async function resolveComponentClass(type: ComponentEntry["type"], catalogue: Catalogue, baseDir: string, index: number): Promise<HandlerClass> {
  const where = `components[${index}].type`;
  if (typeof type === "string") {
    const load = catalogue[type];
    if (!load) {
      const known = Object.keys(catalogue).sort().join(", ") || "none";
      throw new ConfigError([`${where}: unknown component type ${JSON.stringify(type)} (known: ${known}; for your own class use {"module": "./path.js"})`]);
    }
    return load();
  }
  const file = resolve(baseDir, type.module);
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (err) {
    throw new ConfigError([`${where}.module: cannot load ${file} (${(err as Error).message.split("\n")[0]})`]);
  }
  const candidates = type.export ? [mod[type.export]] : [mod.default, ...Object.values(mod)];
  const found = candidates.find((c): c is HandlerClass => typeof c === "function" && readComponentOptions(c as HandlerClass) !== undefined);
  if (!found) {
    const what = type.export ? `export ${JSON.stringify(type.export)}` : "any export";
    throw new ConfigError([`${where}.module: ${what} of ${file} is not a class decorated with @Component`]);
  }
  return found;
}
