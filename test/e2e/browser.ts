import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { type ManagedServer, type ServerKind, startServer } from "annex/testing";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { AnnexProcess } from "../integration/support.js";

// End-to-end rig: the pages built by scripts/build-web.mjs, served by a real Prosody or ejabberd next to its
// WebSocket endpoint (same origin, anonymous host for visitors), the components run by `annex run`,
// and Debian's chromium driven by playwright-core (nothing is downloaded).

const ROOT = new URL("../../../", import.meta.url).pathname;
export const CHROMIUM = "/usr/bin/chromium";
export const ANON_HOST = "anon.localhost";

export interface Rig {
  server: ManagedServer;
  annex: AnnexProcess;
  browser: Browser;
  dir: string;
  base: string;
  contexts: BrowserContext[];
  /** Console errors and uncaught exceptions from every page, checked at the end. */
  pageErrors: string[];
}

export async function startRig(opts: { server?: ServerKind; components: { type: string; domain: string; options: Record<string, unknown> }[]; users?: { username: string; password: string }[] }): Promise<Rig> {
  const dir = await mkdtemp(join(tmpdir(), "annex-e2e-"));
  const web = join(dir, "web");
  await promisify(execFile)(process.execPath, [join(ROOT, "scripts/build-web.mjs"), web]);
  const secrets = Object.fromEntries(opts.components.map((c, i) => [c.domain, `secret-${i}-${Math.random().toString(36).slice(2)}`]));
  const server = await startServer(opts.server ?? "prosody", {
    components: opts.components.map((c) => ({ domain: c.domain, secret: secrets[c.domain]! })),
    users: opts.users,
    web: { anonymousHost: ANON_HOST, filesDir: web },
  });
  let annex: AnnexProcess | undefined;
  try {
    annex = await AnnexProcess.start({
      server: { host: "127.0.0.1", port: server.componentPort },
      log: { level: "info" },
      components: opts.components.map((c) => ({ ...c, secret: secrets[c.domain] })),
    });
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
    // ejabberd's mod_http_fileserver serves by the Host header, which must be an ejabberd host (410 Gone for 127.0.0.1).
    const origin = server.kind === "ejabberd" ? server.host : "127.0.0.1";
    return { server, annex, browser, dir, base: `http://${origin}:${server.httpPort}`, contexts: [], pageErrors: [] };
  } catch (err) {
    await annex?.stop();
    await server.stop();
    throw err;
  }
}

/** A page in its own browser context (its own storage, like a separate visitor). */
export async function openPage(rig: Rig, path: string, viewport = { width: 1000, height: 900 }, initScript?: string): Promise<Page> {
  const context = await rig.browser.newContext({ viewport });
  rig.contexts.push(context);
  const page = await context.newPage();
  // Runs before the page's own scripts (e.g. to slow its WebSocket down like a slow uplink).
  if (initScript) await page.addInitScript(initScript);
  page.on("pageerror", (err) => rig.pageErrors.push(`${path}: ${err.message}`));
  page.on("console", (msg) => {
    // dropConnection() closes the socket while the server is still sending snapshots; frames already on
    // the wire arrive after our close frame, and Chromium reports that. It is the simulated drop, not a fault.
    if (msg.type() === "error" && !/WebSocket connection to .* failed: Data frame received after close/.test(msg.text())) rig.pageErrors.push(`${path}: console: ${msg.text()}`);
  });
  await page.goto(`${rig.base}${path}`);
  return page;
}

export async function stopRig(rig: Rig | undefined): Promise<number | null | undefined> {
  if (!rig) return undefined;
  for (const c of rig.contexts) await c.close().catch(() => undefined);
  await rig.browser.close().catch(() => undefined);
  const code = await rig.annex.stop();
  await rig.server.stop();
  await rm(rig.dir, { recursive: true, force: true });
  return code;
}

/** Where each test's screenshots go (kept: the folder is printed as a diagnostic). */
export async function screenshotDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), "annex-e2e-shots-"));
}
