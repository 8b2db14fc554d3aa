import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { freePort } from "annex/testing";
import { type Browser, chromium, type Page } from "playwright-core";
import { CHROMIUM } from "./browser.js";

// `make demo` as a newcomer meets it: the demo started with fixed ports, its front page, and Converse.js
// (served by the demo itself, same origin) chatting with the echo and the directory.

const ROOT = new URL("../../../", import.meta.url).pathname;
const DEMO = join(ROOT, "dist/bin/demo.js");

interface Demo {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function startDemo(args: string[], env: Record<string, string>): Demo {
  const child = spawn(process.execPath, [DEMO, ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout!.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return { child, output: () => output, exited };
}

async function until(what: string, demo: Demo, condition: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline || demo.child.exitCode !== null) throw new Error(`${what} did not happen; demo output:\n${demo.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("make demo, with a browser and Converse.js", () => {
  let dir: string;
  let demo: Demo;
  let browser: Browser;
  let http: number;
  let c2s: number;
  let password: string;
  const pageErrors: string[] = [];
  const external: string[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "annex-demo-e2e-"));
    [http, c2s] = [await freePort(), await freePort()];
    // One port by flag, one by environment: both ways a bookmarked URL stays valid.
    demo = startDemo(["--http-port", String(http)], { ANNEX_DEMO_DIR: dir, ANNEX_DEMO_C2S_PORT: String(c2s) });
    await until("the demo's start", demo, () => demo.output().includes("Press Ctrl-C"));
    password = /password: (\S+)/.exec(demo.output())![1]!;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"] });
  });

  after(async () => {
    await browser?.close().catch(() => undefined);
    demo?.child.kill("SIGTERM");
    const code = await demo?.exited;
    await rm(dir, { recursive: true, force: true });
    assert.equal(code, 0, `the demo stops cleanly on SIGTERM; output:\n${demo?.output()}`);
    assert.match(demo.output(), /Stopped: nothing is left running/);
    assert.deepEqual(pageErrors, [], "no errors in the pages");
    assert.deepEqual(external, [], "nothing is loaded from outside the demo");
  });

  async function open(path: string, viewport = { width: 1200, height: 900 }): Promise<Page> {
    const page = await (await browser.newContext({ viewport })).newPage();
    page.on("pageerror", (err) => pageErrors.push(`${path}: ${err.message}`));
    page.on("console", (msg) => {
      if (msg.type() === "error") pageErrors.push(`${path}: console: ${msg.text()}`);
    });
    page.on("request", (r) => {
      if (!r.url().startsWith(`http://127.0.0.1:${http}/`) && !r.url().startsWith(`ws://127.0.0.1:${http}/`) && !/^(data|blob):/.test(r.url())) external.push(r.url());
    });
    await page.goto(`http://127.0.0.1:${http}${path}`);
    return page;
  }

  test("prints its fixed ports, its Prosody config and chat addresses clients accept; Prosody reads the config without warnings", async () => {
    const out = demo.output();
    assert.ok(out.includes(`http://127.0.0.1:${http}/`), out);
    assert.ok(out.includes(`client port (c2s):     127.0.0.1:${c2s}`), out);
    const config = /config:\s+(\S+)/.exec(out)?.[1];
    assert.ok(config && existsSync(config), `the config path is printed and exists: ${config}`);
    assert.ok(out.includes("chat with bot@echo.localhost"), out);
    assert.ok(out.includes("bot@directory.localhost"), out);
    const log = await readFile(join(dir, "prosody/prosody.log"), "utf8");
    assert.doesNotMatch(log, /Duplicate option/);
    for (const module of ["blocklist", "carbons", "pep"]) assert.match(await readFile(config!, "utf8"), new RegExp(`"${module}"`), `mod_${module} for chat clients`);
  });

  test("refuses a port that is not a number, saying which flag", async () => {
    const bad = startDemo(["--http-port", "eighty"], { ANNEX_DEMO_DIR: join(dir, "bad") });
    assert.equal(await bad.exited, 1);
    assert.match(bad.output(), /annex demo: --http-port must be a TCP port number \(1-65535\), got "eighty"/);
    const badEnv = startDemo([], { ANNEX_DEMO_DIR: join(dir, "bad"), ANNEX_DEMO_C2S_PORT: "70000" });
    assert.equal(await badEnv.exited, 1);
    assert.match(badEnv.output(), /--c2s-port must be a TCP port number \(1-65535\), got "70000"/);
  });

  test("the front page at / links the pages and tells how to connect a chat client", async () => {
    const page = await open("/");
    const text = (await page.locator("body").textContent()) ?? "";
    for (const expected of [`demo@localhost`, password, `port ${c2s}`, "bot@echo.localhost", "bot@directory.localhost", `ws://127.0.0.1:${http}/xmpp-websocket`]) {
      assert.ok(text.includes(expected), `the front page tells ${expected}`);
    }
    await page.getByRole("link", { name: "Play pong" }).click();
    await page.waitForFunction(() => !(document.getElementById("find") as HTMLButtonElement | null)?.disabled, undefined, { timeout: 15_000 });
    await page.goBack();
    await page.getByRole("link", { name: "Watch the feed" }).click();
    await page.waitForURL(/\/feed\/$/);
    await page.goBack();
    await page.getByRole("link", { name: /Converse\.js/ }).click();
    await page.waitForSelector('input[name="jid"]', { timeout: 15_000 });
  });

  test("Converse.js logs in, chats with the echo and the directory, and shows their replies", async () => {
    const page = await open("/converse/");
    await page.locator('input[name="jid"]').fill("demo@localhost");
    await page.locator('input[name="password"]').fill(password);
    await page.locator('input[name="password"]').press("Enter");
    await page.waitForSelector("converse-roster", { timeout: 15_000 });

    async function chat(address: string, say: string, expected: RegExp): Promise<void> {
      // The roster's menu → "Start a new chat" (needs allow_non_roster_messaging and, server side, XEP-0191).
      await page.locator("converse-roster converse-dropdown button.dropdown-toggle").first().click();
      await page.getByText("Start a new chat").click();
      const input = page.locator('converse-new-chat-modal input[name="jid"]');
      await input.fill(address);
      await input.press("Enter");
      const view = page.locator(`converse-chat[jid="${address}"]`);
      const textarea = view.locator("textarea.chat-textarea");
      await textarea.waitFor({ timeout: 10_000 });
      await textarea.fill(say);
      await textarea.press("Enter");
      // The reply shows in Converse's own message list, from the component's address.
      await page.waitForFunction(
        ({ address, source }) => [...document.querySelectorAll(`converse-chat[jid="${address}"] .chat-msg`)].some((m) =>
          m.querySelector(".chat-msg__author")?.textContent?.includes(address) && new RegExp(source).test(m.querySelector(".chat-msg__text")?.textContent ?? "")),
        { address, source: expected.source },
        { timeout: 15_000 },
      ).catch(async (err: Error) => assert.fail(`no reply from ${address} in Converse: ${err.message}\nshown: ${JSON.stringify(await view.locator(".chat-msg__text").allTextContents())}`));
    }

    await chat("bot@echo.localhost", "héllo from Converse 🌍", /^\s*héllo from Converse 🌍\s*$/);
    await chat("bot@directory.localhost", "help", /I am a service directory for localhost/);
  });
});
