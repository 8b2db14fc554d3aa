import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { test } from "node:test";

// The framework's shape, checked on every `make test`: src/ reads as layers, each importing only from
// layers below it, with no import circle between files. To see the arrows yourself:
//   grep -rn "from \"\.\./" src --include=*.ts
// A new folder must be placed here, which is the point: its place in the stack is a decision.
const LAYERS: string[][] = [
  ["errors.ts", "version.ts", "types"],
  ["stanza"],
  ["pipeline"],
  ["connection"],
  ["handlers"],
  ["dispatch"],
  ["plugins"],
  ["ops"],
  ["lease"],
  ["config"],
  ["runtime"],
  ["testing"],
  ["cli", "cli.ts"],
  ["index.ts"],
];

const SRC = resolve("src");

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return files(path);
    return name.endsWith(".ts") && !name.endsWith(".d.ts") ? [path] : [];
  });
}

function layerOf(file: string): number {
  const top = relative(SRC, file).split("/")[0]!;
  const layer = LAYERS.findIndex((names) => names.includes(top));
  assert.notEqual(layer, -1, `src/${top} has no place in the layer list of test/unit/layers.test.ts`);
  return layer;
}

/** Relative imports of a file (import and export … from, including type-only ones), resolved to .ts paths. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const found: string[] = [];
  for (const match of text.matchAll(/(?:import|export)\s[^;]*?from\s+"(\.{1,2}\/[^"]+)"|import\s+"(\.{1,2}\/[^"]+)"/g)) {
    const spec = (match[1] ?? match[2])!;
    found.push(resolve(dirname(file), spec.replace(/\.js$/, ".ts")));
  }
  return found;
}

const graph = new Map(files(SRC).map((f) => [f, importsOf(f)] as const));

test("src/ imports only downward: no file imports a layer above its own", () => {
  const upward: string[] = [];
  for (const [file, imports] of graph) {
    for (const target of imports) {
      if (!target.startsWith(SRC)) continue;
      if (layerOf(target) > layerOf(file)) upward.push(`${relative(SRC, file)} -> ${relative(SRC, target)}`);
    }
  }
  assert.deepEqual(upward, []);
});

test("connection/ imports nothing from dispatch/, and nothing in src/ imports the bundled components", () => {
  for (const [file, imports] of graph) {
    for (const target of imports) {
      if (relative(SRC, file).startsWith("connection/")) assert.ok(!relative(SRC, target).startsWith("dispatch/"), `${relative(SRC, file)} imports ${relative(SRC, target)}`);
      assert.ok(target.startsWith(SRC), `${relative(SRC, file)} imports ${target} outside src/`);
    }
  }
});

test("no import circle between files of src/", () => {
  const state = new Map<string, "visiting" | "done">();
  const circles: string[] = [];
  const visit = (file: string, path: string[]) => {
    if (state.get(file) === "done") return;
    if (state.get(file) === "visiting") {
      circles.push([...path.slice(path.indexOf(file)), file].map((f) => relative(SRC, f)).join(" -> "));
      return;
    }
    state.set(file, "visiting");
    for (const next of graph.get(file) ?? []) if (graph.has(next)) visit(next, [...path, file]);
    state.set(file, "done");
  };
  for (const file of graph.keys()) visit(file, []);
  assert.deepEqual(circles, []);
});

test("error codes are written only in the catalogue: no other file of src/ spells an ANNEX_ERR_ string literal", () => {
  const spelled = [...graph.keys()].filter((f) => relative(SRC, f) !== "errors.ts" && /["'`]ANNEX_ERR_/.test(readFileSync(f, "utf8")));
  assert.deepEqual(spelled.map((f) => relative(SRC, f)), []);
});
