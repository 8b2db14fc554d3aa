import assert from "node:assert/strict";
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { xml } from "annex";
import type { ManagedProsody } from "annex/testing";
import { ANNEX_BIN, startProsody, TestClient } from "./support.js";

// The stranger's path (issue 14): the framework as npm packs it, installed into a fresh project with only
// the registry (no link to this checkout), a component made by `annex new` compiled with skipLibCheck false,
// its harness tests, the guide's integration example, and that project's own `npx annex run` against a
// private Prosody. npm uses its usual cache (~/.npm), so only a first run on a machine downloads.

const execFileAsync = promisify(execFile);
const REPO = resolve(new URL("../../../", import.meta.url).pathname);
const MiB = 1024 * 1024;

/** The environment of a fresh shell: no test-runner context (a nested runner would report to us) and no npm_* of an outer `npm test`. */
const cleanEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== "NODE_TEST_CONTEXT" && !k.toLowerCase().startsWith("npm_")));

const npm = (args: string[], cwd: string) => execFileAsync("npm", [...args, "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error"], { cwd, env: cleanEnv, timeout: 240_000 });

/** Every package folder under node_modules (scoped ones as @scope/name). */
function installedPackages(nodeModules: string): string[] {
  return readdirSync(nodeModules).flatMap((name) => (name.startsWith("@") ? readdirSync(join(nodeModules, name)).map((n) => `${name}/${n}`) : name.startsWith(".") ? [] : [name]));
}

/** Native addons: compiled .node files or packages that build one (binding.gyp). */
function nativeModules(dir: string): string[] {
  const found: string[] = [];
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith(".node") || entry.name === "binding.gyp") found.push(path);
    }
  };
  walk(dir);
  return found;
}

/** Whether a process (or, negative, a process group) still exists. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

interface Packed {
  filename: string;
  size: number;
  entryCount: number;
  files: { path: string }[];
}

describe("a stranger's first hour: the packed framework in a project of its own", () => {
  let work: string;
  let tarball: string;
  let packed: Packed;
  let project: string;
  let alone: string;

  before(async () => {
    work = await mkdtemp(join(tmpdir(), "annex-stranger-"));
    const { stdout } = await execFileAsync("npm", ["pack", "--json", "--pack-destination", work, "--loglevel=error"], { cwd: REPO, env: cleanEnv, timeout: 120_000 });
    packed = (JSON.parse(stdout) as Packed[])[0]!;
    tarball = join(work, packed.filename);
    // `annex new` run outside the repository, as a stranger would: a project of its own by default.
    const created = await execFileAsync(process.execPath, [ANNEX_BIN, "new", "hello"], { cwd: work, env: cleanEnv });
    assert.match(created.stdout, /created .*hello/);
    project = join(work, "hello");
    // The tarball alone in an empty project (what it pulls in), and in the scaffold the README's way to
    // use a local build instead of the registry; the two installs side by side.
    alone = join(work, "alone");
    await mkdir(alone);
    await writeFile(join(alone, "package.json"), JSON.stringify({ name: "alone", private: true }));
    await Promise.all([npm(["install", "--save-dev", tarball], project), npm(["install", tarball], alone)]);
  });

  after(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  test(`the tarball is under 1 MiB and ships no tests, benchmarks or bundled components`, () => {
    console.log(`# annex tarball: ${packed.filename}, ${packed.size} bytes, ${packed.entryCount} files`);
    assert.ok(packed.size < MiB, `the tarball is ${packed.size} bytes`);
    const unwanted = packed.files.map((f) => f.path).filter((p) => /^(dist\/)?(test|bench|components|examples|web|\.ci|scripts|docs)\//.test(p) || /\.test\.(js|ts)$/.test(p));
    assert.deepEqual(unwanted, []);
    assert.ok(packed.files.some((f) => f.path === "dist/src/index.d.ts") && packed.files.some((f) => f.path === "types/xmpp.d.ts"));
  });

  test("installing the tarball alone pulls in no native module and none of pg, better-sqlite3, uplot", () => {
    const packages = installedPackages(join(alone, "node_modules"));
    assert.ok(packages.includes("annex"));
    for (const name of ["pg", "better-sqlite3", "uplot", "pino-pretty", "esbuild", "@annex/feed"]) assert.ok(!packages.includes(name), `${name} was installed`);
    assert.deepEqual(nativeModules(join(alone, "node_modules")), []);
  });

  test("the scaffold declares annex as a peer and a dev dependency by range, compiles with skipLibCheck false and its harness tests pass", async () => {
    const pkg = JSON.parse(await readFile(join(project, "package.json"), "utf8")) as { peerDependencies: Record<string, string>; devDependencies: Record<string, string> };
    assert.equal(pkg.peerDependencies.annex, "^0.1.0");
    assert.equal(pkg.devDependencies.annex, `file:../${packed.filename}`);
    assert.equal((JSON.parse(await readFile(join(project, "tsconfig.json"), "utf8")) as { compilerOptions: { skipLibCheck: boolean } }).compilerOptions.skipLibCheck, false);
    // Its own annex, unpacked from the tarball: not a link to this checkout.
    assert.ok(!existsSync(join(project, "node_modules", "annex", "test")) && existsSync(join(project, "node_modules", "annex", "dist", "src", "index.js")));
    // The guide's first example and its integration example, as written, next to the generated component.
    await copyFile(join(REPO, "examples", "greeter", "greeter.ts"), join(project, "src", "greeter.ts"));
    const guide = await readFile(join(REPO, "docs", "guide.md"), "utf8");
    const integration = [...guide.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!).filter((code) => code.includes("ManagedProsody.start(") && code.includes("Runner.create("));
    assert.equal(integration.length, 1, "the guide has one integration example");
    await writeFile(join(project, "test", "greeter.integration.test.ts"), integration[0]!);
    await execFileAsync(join(project, "node_modules", ".bin", "tsc"), ["-p", "tsconfig.json"], { cwd: project, env: cleanEnv, timeout: 120_000 });
    const { stdout } = await execFileAsync(process.execPath, ["--test", "--test-reporter=tap", "dist/test/hello.test.js"], { cwd: project, env: cleanEnv, timeout: 60_000 });
    assert.match(stdout, /# pass 3/);
    assert.match(stdout, /# fail 0/);
  });

  test("the guide's integration example passes in the scaffold (its own private Prosody)", async () => {
    const { stdout } = await execFileAsync(process.execPath, ["--test", "--test-reporter=tap", "dist/test/greeter.integration.test.js"], { cwd: project, env: cleanEnv, timeout: 60_000 });
    assert.match(stdout, /# pass 1/);
    assert.match(stdout, /# fail 0/);
  });

  describe("run by the project's own `npx annex run`", () => {
    let prosody: ManagedProsody;
    let annex: ChildProcess | undefined;
    let output = "";

    before(async () => {
      prosody = await startProsody([{ domain: "hello.localhost", secret: "hello-secret" }], [{ username: "ann", password: "ann-pw" }]);
      const config = JSON.parse(await readFile(join(project, "annex.config.json"), "utf8")) as { server: { port: number } };
      config.server.port = prosody.componentPort;
      await writeFile(join(project, "annex.config.json"), JSON.stringify(config));
      await writeFile(join(project, "hello.secret"), "hello-secret\n");
    });

    after(async () => {
      // Whatever is left of npx's group (nothing, when the test passed).
      if (annex?.pid !== undefined && alive(-annex.pid)) process.kill(-annex.pid, "SIGKILL");
      await prosody?.stop();
    });

    test("it answers an echo of a chat message from a real client", async () => {
      // Its own process group: npx and the annex it starts are stopped together.
      annex = spawn("npx", ["annex", "run", "--config", "annex.config.json"], { cwd: project, env: cleanEnv, detached: true, stdio: ["ignore", "pipe", "pipe"] });
      annex.stdout!.on("data", (d: Buffer) => (output += d.toString()));
      annex.stderr!.on("data", (d: Buffer) => (output += d.toString()));
      const exited = new Promise<void>((r) => annex!.once("exit", () => r()));
      const deadline = Date.now() + 20_000;
      while (!/all components online/.test(output)) {
        assert.ok(Date.now() < deadline && annex.exitCode === null, `npx annex run did not come online; output:\n${output}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      const ann = await TestClient.connect(prosody, "ann", "ann-pw");
      try {
        await ann.send(xml("message", { type: "chat", to: "hello.localhost", id: "m1" }, xml("body", {}, "hi")));
        const reply = await ann.waitFor((el) => el.name === "message" && el.attrs.from === "hello.localhost", 10_000, "the echo");
        assert.equal(reply.getChildText("body"), "Hello got: hi");
      } finally {
        await ann.stop();
      }
      // npx does not pass SIGTERM on: signal the group, and annex (the pid its log lines carry) stops cleanly.
      const annexPid = Number(/"pid":(\d+)/.exec(output)?.[1]);
      process.kill(-annex.pid!, "SIGTERM");
      await exited;
      for (const stopBy = Date.now() + 10_000; alive(annexPid); ) {
        assert.ok(Date.now() < stopBy, `annex (pid ${annexPid}) did not stop on SIGTERM; output:\n${output}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.match(output, /"signal":"SIGTERM","msg":"stopping"/);
      assert.doesNotMatch(output, /"level":50/, "no error was logged");
      assert.doesNotMatch(output, /has route decorators but no component lists it/, "no warning about the framework's own plugin classes");
    });

    test("another copy's CLI (this checkout's) refuses the project's module in one line that names both copies and the fix", async () => {
      const failed = await execFileAsync(process.execPath, [ANNEX_BIN, "run", "--config", "annex.config.json"], { cwd: project, env: cleanEnv }).then(
        () => assert.fail("annex run from another copy started"),
        (err: { code: number; stderr: string }) => err,
      );
      assert.equal(failed.code, 78);
      const lines = failed.stderr.trim().split("\n");
      assert.equal(lines.length, 1, failed.stderr);
      assert.match(lines[0]!, new RegExp(`^annex: components\\[0\\]\\.type\\.module: .*hello/dist/src/index\\.js is built on another copy of annex \\(annex 0\\.1\\.0 at .*hello/node_modules/annex\\) than the one running it \\(annex 0\\.1\\.0 at ${REPO}\\); .*npx annex run.*peerDependency`));
      assert.doesNotMatch(failed.stderr, /TypeInfo not known/);
    });

    test('a bundled type whose package is not installed ("type": "echo") names the package to install, exit 78', async () => {
      await writeFile(join(project, "echo.config.json"), JSON.stringify({ components: [{ type: "echo", domain: "echo.localhost", secret: "s" }] }));
      const failed = await execFileAsync("npx", ["annex", "config", "check", "--config", "echo.config.json"], { cwd: project, env: cleanEnv }).then(
        () => assert.fail("config check passed"),
        (err: { code: number; stderr: string }) => err,
      );
      assert.equal(failed.code, 78);
      assert.equal(failed.stderr.trim(), 'annex: components[0].type: component type "echo" is the package @annex/echo, which is not installed: npm install @annex/echo (next to the config file or to annex)');
    });
  });
});
