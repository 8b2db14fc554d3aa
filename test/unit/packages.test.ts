import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, test } from "node:test";
import { Component, ConfigError, ErrorCode, packageCatalogue } from "annex";
import { scaffold } from "../../src/cli/new.js";
import { resolveComponentClass } from "../../src/runtime/catalogue.js";

// Component packages by name, one copy of the framework, and where `annex new` puts a component (issue 14).

const REPO = resolve(new URL("../../../", import.meta.url).pathname);
const quiet = { out: () => undefined, err: () => undefined };

describe("component packages by name", () => {
  test("a package that is not installed is one line naming it, with its own code", async () => {
    const catalogue = packageCatalogue({ nope: "@annex/no-such-component" });
    await assert.rejects(resolveComponentClass("nope", catalogue, tmpdir(), 1), (err: ConfigError) => {
      assert.equal(err.code, ErrorCode.ComponentNotInstalled);
      assert.deepEqual(err.lines, ['components[1].type: component type "nope" is the package @annex/no-such-component, which is not installed: npm install @annex/no-such-component (next to the config file or to annex)']);
      return true;
    });
  });

  test("a package resolves from the config file's folder, and one without a @Component export lists its exports", async () => {
    const dir = await mkdtemp(join(tmpdir(), "annex-pkg-"));
    const echo = pathToFileURL(join(REPO, "dist/components/echo/index.js")).href;
    for (const [name, source] of [["hi", `export { Echo } from ${JSON.stringify(echo)};\n`], ["plain", "export const helper = 1;\nexport class NotAComponent {}\n"]]) {
      await mkdir(join(dir, "node_modules", "@acme", name!), { recursive: true });
      await writeFile(join(dir, "node_modules", "@acme", name!, "package.json"), JSON.stringify({ name: `@acme/${name}`, type: "module", exports: { ".": { default: "./index.js" } } }));
      await writeFile(join(dir, "node_modules", "@acme", name!, "index.js"), source!);
    }
    const catalogue = packageCatalogue({ hi: "@acme/hi", plain: "@acme/plain" });
    assert.equal((await resolveComponentClass("hi", catalogue, dir, 0)).name, "Echo");
    await assert.rejects(resolveComponentClass("plain", catalogue, dir, 0), (err: ConfigError) =>
      /^components\[0\]\.type: no export of @acme\/plain is a class decorated with @Component \(its exports: NotAComponent, helper\)$/.test(err.lines[0] ?? ""),
    );
  });

  test("a named export that does not exist lists the module's exports", async () => {
    const dir = await mkdtemp(join(tmpdir(), "annex-mod-"));
    await writeFile(join(dir, "mod.mjs"), "export class Hello {}\nexport const version = 1;\n");
    await assert.rejects(resolveComponentClass({ module: "./mod.mjs", export: "Helo" }, {}, dir, 0), (err: ConfigError) =>
      /^components\[0\]\.type\.module: export "Helo" of .*mod\.mjs does not exist \(its exports: Hello, version\)$/.test(err.lines[0] ?? ""),
    );
  });
});

describe("one copy of annex per process", () => {
  test("a class decorated by another copy is refused in one line naming both copies and the fix", async () => {
    @Component({ identity: { category: "component", type: "generic" } })
    class Elsewhere {}
    // What another copy's @Component records (its own package folder; see FrameworkCopy in handlers/metadata.ts).
    Reflect.defineMetadata(Symbol.for("annex:copy"), { root: "/srv/other/node_modules/annex", version: "0.1.0" }, Elsewhere);
    await assert.rejects(resolveComponentClass("elsewhere", { elsewhere: async () => Elsewhere }, "/", 0), (err: ConfigError) => {
      assert.equal(err.code, ErrorCode.ForeignCopy);
      assert.equal(err.lines.length, 1);
      assert.match(err.lines[0]!, /^components\[0\]\.type: elsewhere is built on another copy of annex \(annex 0\.1\.0 at \/srv\/other\/node_modules\/annex\) than the one running it \(annex 0\.1\.0 at \/.+\); .*npx annex run.*peerDependency/);
      return true;
    });
  });

  test("a class of this copy passes", async () => {
    @Component({ identity: { category: "component", type: "generic" } })
    class Here {}
    assert.equal(await resolveComponentClass("here", { here: async () => Here }, "/", 0), Here);
  });
});

describe("annex new: where a component goes", () => {
  test("outside a clone it is a standalone project by default, annex a peer and dev dependency by range", async () => {
    const cwd = await mkdtemp(join(tmpdir(), "annex-new-"));
    assert.equal(await scaffold("solo", { standalone: false }, quiet, cwd), 0);
    const pkg = JSON.parse(await readFile(join(cwd, "solo", "package.json"), "utf8")) as Record<string, Record<string, string>>;
    assert.deepEqual(pkg.peerDependencies, { annex: "^0.1.0" });
    assert.equal(pkg.devDependencies!.annex, "^0.1.0");
    assert.match(await readFile(join(cwd, "solo", "README.md"), "utf8"), /npm install --save-dev \/path\/to\/annex-0\.1\.0\.tgz/);
  });

  test("inside a clone it is a folder of the repository's build, unless --standalone", async () => {
    const dir = join(await mkdtemp(join(tmpdir(), "annex-new-")), "inside");
    assert.equal(await scaffold("inside", { standalone: false, dir }, quiet, REPO), 0);
    assert.ok(existsSync(join(dir, "inside.ts")) && !existsSync(join(dir, "package.json")));
    const standalone = join(await mkdtemp(join(tmpdir(), "annex-new-")), "own");
    assert.equal(await scaffold("own", { standalone: true, dir: standalone }, quiet, REPO), 0);
    assert.ok(existsSync(join(standalone, "package.json")));
  });
});
