#!/usr/bin/env node
import { randomBytes } from "node:crypto";
import { mkdir, rm, symlink, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { type Catalogue, parseConfig, Runner } from "annex";
import { ManagedProsody } from "annex/testing";
import { pino } from "pino";
import { bundled } from "./components.js";

// `make demo`: a private Prosody with every bundled component attached, for trying Annex by hand.
// Everything lives under .annex/demo (git-ignored); Ctrl-C stops all of it.
//
//   node dist/bin/demo.js [--http-port N] [--c2s-port N] [--component-port N]
// Ports are free ones by default; fixed ones (for bookmarks) come from the flags or from
// ANNEX_DEMO_HTTP_PORT, ANNEX_DEMO_C2S_PORT, ANNEX_DEMO_COMPONENT_PORT (`make demo ANNEX_DEMO_HTTP_PORT=5280`).

const DATA = resolve(process.env.ANNEX_DEMO_DIR ?? ".annex/demo");
const HOST = "localhost";
const ANONYMOUS = "anon.localhost";
/** The pages built by scripts/build-web.mjs (dist/web, next to dist/bin). */
const WEB = fileURLToPath(new URL("../web", import.meta.url));

/** The address chat clients are told to write to: clients want a local part (Converse.js refuses a bare domain). */
const chatAddress = (domain: string) => `bot@${domain}`;

/** A port from a flag or the environment; undefined for a free one. */
function portOption(name: string, flag: string | undefined, env: string | undefined): number | undefined {
  const text = flag ?? env;
  if (text === undefined || text === "") return undefined;
  const port = Number(text);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`${name} must be a TCP port number (1-65535), got "${text}"`);
  return port;
}

/** Each bundled component's demo domain and options. */
const DEMO_COMPONENTS: Record<string, { domain: string; options?: Record<string, unknown>; chat?: string }> = {
  echo: { domain: "echo.localhost", chat: "says back what you write" },
  disco: { domain: "directory.localhost", chat: 'say "help" or "list"' },
  feed: { domain: "feed.localhost", chat: undefined, options: { storage: `sqlite:${DATA}/feed.sqlite`, nodes: { "stock-data": { title: "Stock ticker", unit: "USD" } }, sources: [{ type: "ticker", node: "stock-data", intervalMs: 250 }] } },
  // A lone player gets the computer after 20 s; "Play the computer" asks for it at once.
  // Guests (the pages' anonymous visitors) play rated games but stay off the leaderboard (components/pong/README.md).
  pong: { domain: "pong.localhost", chat: 'say "top" for the leaderboard', options: { leaderboard: `sqlite:${DATA}/pong.sqlite`, guestDomains: [ANONYMOUS], bot: { skill: 0.7, afterSeconds: 20 } } },
};

async function loadable(catalogue: Catalogue): Promise<string[]> {
  const names: string[] = [];
  for (const name of Object.keys(DEMO_COMPONENTS)) {
    try {
      await catalogue[name]?.({ baseDir: process.cwd(), where: name });
      names.push(name);
    } catch {
      // Not installed or not built in this checkout: the demo runs the components that exist.
    }
  }
  return names;
}

/** The demo's front page: what runs, the pages, and how to point a chat client at it. */
function indexPage(o: { http: number; c2s: number; password: string; components: { name: string; domain: string; chat?: string }[]; configPath: string }): string {
  const esc = (t: string) => t.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  const rows = o.components
    .map((c) => `<tr><td>${c.name}</td><td>${c.chat ? `<code>${esc(chatAddress(c.domain))}</code>` : "(no chat)"}</td><td><code>${esc(c.domain)}</code></td><td>${esc(c.chat ?? "a pubsub service: the feed page shows it")}</td></tr>`)
    .join("\n");
  return `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Annex demo</title>
  <link rel="icon" href="data:,">
  <style>
    :root { color-scheme: dark; }
    body { margin: 0 auto; max-width: 46rem; padding: 1rem; background: #0f1720; color: #eef2f6; font: 16px/1.5 system-ui, sans-serif; }
    a { color: #ffd34d; } code { overflow-wrap: anywhere; }
    table { border-collapse: collapse; width: 100%; } th, td { text-align: left; padding: 0.25rem 0.5rem; border-bottom: 1px solid #33485e; }
    .pages a { display: inline-block; margin: 0 1rem 0.5rem 0; font-size: 1.2rem; }
  </style>
</head>
<body>
  <h1>Annex demo</h1>
  <p>A private Prosody with the bundled Annex components. Everything here runs on this machine.</p>
  <h2>Pages</h2>
  <p class="pages">
    <a href="/pong/">Play pong</a>
    <a href="/feed/">Watch the feed</a>
    <a href="/converse/">Chat in the browser (Converse.js)</a>
  </p>
  <p>The pages log visitors in as guests; the chat page needs the account below.</p>
  <h2>Connect a chat client</h2>
  <table>
    <tr><th scope="row">Account</th><td><code>demo@${HOST}</code>, password <code>${esc(o.password)}</code></td></tr>
    <tr><th scope="row">Server</th><td><code>127.0.0.1</code>, port <code>${o.c2s}</code>, no TLS (loopback only)</td></tr>
    <tr><th scope="row">WebSocket</th><td><code>ws://127.0.0.1:${o.http}/xmpp-websocket</code></td></tr>
  </table>
  <p>Then start a chat with one of these addresses:</p>
  <table>
    <thead><tr><th scope="col">Component</th><th scope="col">Chat address</th><th scope="col">Service address</th><th scope="col">Try</th></tr></thead>
    <tbody>
${rows}
    </tbody>
  </table>
  <p>Any name before the <code>@</code> reaches the component; chat clients want one. Say <code>help</code> to the directory.
    More accounts: <code>prosodyctl --config ${esc(o.configPath)} register NAME ${HOST} PASSWORD</code>.</p>
</body>
</html>
`;
}

/**
 * The folder Prosody serves at /: the built pages (linked, not copied) and this run's front page.
 * A page of its own per run, so the built dist/web stays as the build made it.
 */
async function makeSite(site: string): Promise<void> {
  await rm(site, { recursive: true, force: true });
  await mkdir(site, { recursive: true });
  for (const page of ["pong", "feed", "converse"]) if (existsSync(join(WEB, page))) await symlink(join(WEB, page), join(site, page), "dir");
}

async function main(): Promise<void> {
  const { values: flags } = parseArgs({ options: { "http-port": { type: "string" }, "c2s-port": { type: "string" }, "component-port": { type: "string" } } });
  const env = process.env;
  const ports = {
    http: portOption("--http-port", flags["http-port"], env.ANNEX_DEMO_HTTP_PORT),
    c2s: portOption("--c2s-port", flags["c2s-port"], env.ANNEX_DEMO_C2S_PORT),
    component: portOption("--component-port", flags["component-port"], env.ANNEX_DEMO_COMPONENT_PORT),
  };
  await mkdir(DATA, { recursive: true });
  const site = join(DATA, "site");
  const hasWeb = existsSync(WEB);
  if (hasWeb) await makeSite(site);
  const names = await loadable(bundled);
  const secrets = Object.fromEntries(names.map((n) => [n, randomBytes(12).toString("hex")]));
  const password = randomBytes(6).toString("hex");
  const prosody = await ManagedProsody.start({
    dir: `${DATA}/prosody`,
    host: HOST,
    components: names.map((n) => ({ domain: DEMO_COMPONENTS[n]!.domain, secret: secrets[n]! })),
    users: [{ username: "demo", password }],
    ports,
    // The pages and the WebSocket come from Prosody's HTTP port: one origin, so no CORS is needed.
    web: { anonymousHost: ANONYMOUS, ...(hasWeb ? { filesDir: site } : {}) },
  });
  if (hasWeb) {
    const components = names.map((n) => ({ name: n, domain: DEMO_COMPONENTS[n]!.domain, chat: DEMO_COMPONENTS[n]!.chat }));
    await writeFile(join(site, "index.html"), indexPage({ http: prosody.httpPort, c2s: prosody.c2sPort, password, components, configPath: prosody.configPath }));
  }
  const log = pino({ level: process.env.ANNEX_LOG_LEVEL ?? "warn" });
  const config = parseConfig({
    server: { host: "127.0.0.1", port: prosody.componentPort },
    components: names.map((n) => ({ type: n, domain: DEMO_COMPONENTS[n]!.domain, secret: secrets[n], options: DEMO_COMPONENTS[n]!.options ?? {} })),
  });
  const runner = await Runner.create({ ...config, baseDir: DATA }, { catalogue: bundled, log });
  let stopping = false;
  const stop = async () => {
    if (stopping) process.exit(1);
    stopping = true;
    process.stdout.write("\nStopping the demo...\n");
    await runner.stop().catch(() => undefined);
    await prosody.stopProcess();
    process.stdout.write("Stopped: nothing is left running.\n");
    process.exit(0);
  };
  process.on("SIGINT", () => void stop());
  process.on("SIGTERM", () => void stop());
  try {
    await runner.start();
  } catch (err) {
    process.stderr.write(`annex demo: ${(err as Error).message}\n${await prosody.logTail()}\n`);
    await prosody.stopProcess();
    process.exit(1);
  }
  const lines = [
    "",
    "Annex demo is running.",
    "",
    `  Prosody (private, data in ${DATA}/prosody)`,
    `    config:                ${prosody.configPath}   (prosodyctl --config ${prosody.configPath} register NAME ${HOST} PASSWORD)`,
    `    client port (c2s):     127.0.0.1:${prosody.c2sPort}`,
    `    component port:        127.0.0.1:${prosody.componentPort}`,
    `    web (pages + WebSocket): http://127.0.0.1:${prosody.httpPort}/  (ws://127.0.0.1:${prosody.httpPort}/xmpp-websocket)`,
    `  Account:  demo@${HOST}  password: ${password}   (visitors of the pages log in anonymously on ${ANONYMOUS})`,
    "  Components (chat address, then service address):",
    ...names.map((n) => {
      const c = DEMO_COMPONENTS[n]!;
      return `    ${(c.chat ? chatAddress(c.domain) : "(no chat)").padEnd(26)} ${c.domain.padEnd(22)} ${n}${c.chat ? `: ${c.chat}` : ""}`;
    }),
    "",
    `Try it: log in as demo@${HOST} with any XMPP client (server 127.0.0.1, port ${prosody.c2sPort}, no TLS on loopback)`,
    `and chat with ${chatAddress("echo.localhost")} (or say "help" to ${chatAddress("directory.localhost")}).`,
    ...(hasWeb
      ? [
          `Start here:      http://127.0.0.1:${prosody.httpPort}/`,
          `Play pong:       http://127.0.0.1:${prosody.httpPort}/pong/`,
          `Watch the feed:  http://127.0.0.1:${prosody.httpPort}/feed/`,
          `Chat (Converse): http://127.0.0.1:${prosody.httpPort}/converse/`,
        ]
      : ["(The browser pages are not built: run `make demo`, which builds them.)"]),
    "Plain ws:// and no TLS are fine on loopback only: anything beyond this machine needs TLS (see docs/admin.md).",
    "Press Ctrl-C to stop everything.",
    "",
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
}

await main().catch((err: unknown) => {
  process.stderr.write(`annex demo: ${(err as Error).message}\n`);
  process.exit(1);
});
