#!/usr/bin/env node
import { randomBytes } from "node:crypto";
import { mkdir } from "node:fs/promises";
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type Catalogue, parseConfig, Runner } from "annex";
import { ManagedProsody } from "annex/testing";
import { pino } from "pino";
import { bundled } from "../components/index.js";

// `make demo`: a private Prosody with every bundled component attached, for trying Annex by hand.
// Everything lives under .annex/demo (git-ignored); Ctrl-C stops all of it.

const DATA = resolve(process.env.ANNEX_DEMO_DIR ?? ".annex/demo");
const HOST = "localhost";
const ANONYMOUS = "anon.localhost";
/** The pages built by scripts/build-web.mjs (dist/web, next to dist/bin). */
const WEB = fileURLToPath(new URL("../web", import.meta.url));

/** Each bundled component's demo domain and options. */
const DEMO_COMPONENTS: Record<string, { domain: string; options?: Record<string, unknown> }> = {
  echo: { domain: "echo.localhost" },
  disco: { domain: "directory.localhost" },
  feed: { domain: "feed.localhost", options: { storage: `sqlite:${DATA}/feed.sqlite`, sources: [{ type: "ticker", node: "stock-data", intervalMs: 250 }] } },
  // A lone player gets the computer after 20 s; "Play the computer" asks for it at once.
  pong: { domain: "pong.localhost", options: { leaderboard: `sqlite:${DATA}/pong.sqlite`, bot: { skill: 0.7, afterSeconds: 20 } } },
};

async function loadable(catalogue: Catalogue): Promise<string[]> {
  const names: string[] = [];
  for (const name of Object.keys(DEMO_COMPONENTS)) {
    try {
      await catalogue[name]?.();
      names.push(name);
    } catch {
      // Not built yet in this checkout: the demo runs the components that exist.
    }
  }
  return names;
}

async function main(): Promise<void> {
  await mkdir(DATA, { recursive: true });
  const names = await loadable(bundled);
  const secrets = Object.fromEntries(names.map((n) => [n, randomBytes(12).toString("hex")]));
  const password = randomBytes(6).toString("hex");
  const prosody = await ManagedProsody.start({
    dir: `${DATA}/prosody`,
    host: HOST,
    components: names.map((n) => ({ domain: DEMO_COMPONENTS[n]!.domain, secret: secrets[n]! })),
    users: [{ username: "demo", password }],
    // The pages and the WebSocket come from Prosody's HTTP port: one origin, so no CORS is needed.
    web: { anonymousHost: ANONYMOUS, ...(existsSync(WEB) ? { filesDir: WEB } : {}) },
  });
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
    `    client port (c2s):     127.0.0.1:${prosody.c2sPort}`,
    `    component port:        127.0.0.1:${prosody.componentPort}`,
    `    web (pages + WebSocket): http://127.0.0.1:${prosody.httpPort}/  (ws://127.0.0.1:${prosody.httpPort}/xmpp-websocket)`,
    `  Account:  demo@${HOST}  password: ${password}   (visitors of the pages log in anonymously on ${ANONYMOUS})`,
    "  Components:",
    ...names.map((n) => `    ${DEMO_COMPONENTS[n]!.domain.padEnd(22)} (${n})`),
    "",
    `Try it: log in as demo@${HOST} with any XMPP client (server 127.0.0.1, port ${prosody.c2sPort}, no TLS on loopback)`,
    "and send a chat message to echo.localhost.",
    ...(existsSync(WEB)
      ? [`Play pong:       http://127.0.0.1:${prosody.httpPort}/pong/`, `Watch the feed:  http://127.0.0.1:${prosody.httpPort}/feed/`]
      : ["(The browser pages are not built: run `make demo`, which builds them.)"]),
    "Plain ws:// and no TLS are fine on loopback only: anything beyond this machine needs TLS (see docs/admin.md).",
    "Press Ctrl-C to stop everything.",
    "",
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
}

await main();
