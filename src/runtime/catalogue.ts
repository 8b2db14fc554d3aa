import { createRequire } from "node:module";
import { join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { ConfigError } from "../config/errors.js";
import type { ComponentEntry } from "../config/schema.js";
import { ErrorCode } from "../errors.js";
import { copyOf, type HandlerClass, readComponentOptions, THIS_COPY } from "../handlers/metadata.js";

/** What a catalogue loader is told: where the config file lives (packages resolve from there) and the field it loads. */
export interface LoadContext {
  baseDir: string;
  /** The config field being loaded, for messages: `components[0].type`. */
  where: string;
}

/** Loads the class of one catalogue name. */
export type ComponentLoader = (context: LoadContext) => Promise<HandlerClass>;

/** Component types a runner knows by name (the bundled ones are supplied by bin/annex.ts, not by the framework). */
export type Catalogue = Readonly<Record<string, ComponentLoader>>;

/**
 * A catalogue of component packages: `{ feed: "@annex/feed" }` runs `"type": "feed"` with the `@Component` class
 * the package exports. The package is resolved from the config file's folder first, then from this copy of
 * annex; one that is not installed is a ConfigError (ANNEX_ERR_COMPONENT_NOT_INSTALLED) naming the package.
 */
export function packageCatalogue(packages: Readonly<Record<string, string>>): Catalogue {
  return Object.fromEntries(
    Object.entries(packages).map(([name, pkg]) => [name, async ({ baseDir, where }: LoadContext) => classOf(await importPackage(pkg, name, baseDir, where), pkg, undefined, where)]),
  );
}

/** Finds the class for a config entry's `type`: a catalogue name, or `{module, export?}` loaded from disk. */
export async function resolveComponentClass(type: ComponentEntry["type"], catalogue: Catalogue, baseDir: string, index: number): Promise<HandlerClass> {
  const where = `components[${index}].type`;
  if (typeof type === "string") {
    const load = catalogue[type];
    if (!load) {
      const known = Object.keys(catalogue).sort().join(", ") || "none";
      throw new ConfigError([`${where}: unknown component type ${JSON.stringify(type)} (known: ${known}; for your own class use {"module": "./path.js"})`]);
    }
    return sameCopy(await load({ baseDir, where }), type, where);
  }
  const file = resolve(baseDir, type.module);
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (err) {
    throw new ConfigError([`${where}.module: cannot load ${file} (${(err as Error).message.split("\n")[0]})`]);
  }
  return sameCopy(classOf(mod, file, type.export, `${where}.module`), file, `${where}.module`);
}

/** The module's @Component class: the named export, else the default export or the first decorated one. */
function classOf(mod: Record<string, unknown>, what: string, exportName: string | undefined, where: string): HandlerClass {
  const candidates = exportName ? [mod[exportName]] : [mod.default, ...Object.values(mod)];
  const found = candidates.find((c): c is HandlerClass => typeof c === "function" && readComponentOptions(c as HandlerClass) !== undefined);
  if (found) return found;
  const exports = Object.keys(mod).sort();
  const listed = exports.length ? `its exports: ${exports.join(", ")}` : "it exports nothing";
  const which = exportName ? `export ${JSON.stringify(exportName)}` : "no export";
  const problem = exportName && !(exportName in mod) ? "does not exist" : "is not a class decorated with @Component";
  throw new ConfigError([`${where}: ${which} of ${what} ${exportName ? problem : "is a class decorated with @Component"} (${listed})`]);
}

/**
 * A class decorated by another copy of annex (its own node_modules/annex, so its own tsyringe) would fail deep
 * inside tsyringe with "TypeInfo not known"; say which two copies met and how to make them one.
 */
function sameCopy(cls: HandlerClass, what: string, where: string): HandlerClass {
  const copy = copyOf(cls);
  if (copy === THIS_COPY) return cls;
  const theirs = copy ? `annex ${copy.version} at ${copy.root}` : "an older annex";
  throw new ConfigError(
    [
      `${where}: ${what} is built on another copy of annex (${theirs}) than the one running it (annex ${THIS_COPY.version} at ${THIS_COPY.root}); one process needs one copy: run the component project's own CLI (npx annex run), or make annex a peerDependency of the component's package so it resolves to the runner's copy`,
    ],
    ErrorCode.ForeignCopy,
  );
}

/** Imports a package by name from the config's folder, else from this copy of annex. */
async function importPackage(pkg: string, name: string, baseDir: string, where: string): Promise<Record<string, unknown>> {
  const url = resolvePackage(pkg, baseDir);
  if (!url) {
    throw new ConfigError(
      [`${where}: component type ${JSON.stringify(name)} is the package ${pkg}, which is not installed: npm install ${pkg} (next to the config file or to annex)`],
      ErrorCode.ComponentNotInstalled,
    );
  }
  try {
    return (await import(url)) as Record<string, unknown>;
  } catch (err) {
    throw new ConfigError([`${where}: cannot load the package ${pkg} (${fileURLToPath(url)}): ${(err as Error).message.split("\n")[0]}`]);
  }
}

function resolvePackage(pkg: string, baseDir: string): string | undefined {
  const notFound = (err: unknown) => ["MODULE_NOT_FOUND", "ERR_MODULE_NOT_FOUND", "ERR_PACKAGE_PATH_NOT_EXPORTED"].includes((err as { code?: string }).code ?? "");
  try {
    // require.resolve walks node_modules up from the config's folder; component packages export a "default" condition.
    return pathToFileURL(createRequire(join(baseDir, "annex.config.json")).resolve(pkg)).href;
  } catch (err) {
    if (!notFound(err)) throw err;
  }
  try {
    return import.meta.resolve(pkg);
  } catch (err) {
    if (!notFound(err)) throw err;
    return undefined;
  }
}
