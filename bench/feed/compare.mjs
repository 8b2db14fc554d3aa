// XEP-0060 use-case comparison (not a test): the same independent slixmpp client
// (test/integration/clients/pubsub_conformance.py, the XEP's example stanzas for §5-§8) runs against
//   - the Annex feed (feed.localhost, `annex run`),
//   - Prosody's own mod_pubsub (pubsub.localhost, an internal component of the same Prosody),
//   - libervia-pubsub (Debian package, an external XEP-0114 component on a private PostgreSQL), when installed,
// all through one private Prosody, and writes the yes/partial/no counts per peer and every verdict.
//
// usage: node bench/feed/compare.mjs   (after `npx tsc -p tsconfig.json`; it runs dist/)
// Writes bench/feed/results/compare-<time>.json and .md.
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, "../..");
const { ManagedProsody } = await import(join(ROOT, "dist/src/testing/index.js"));
const { runConformance, tally } = await import(join(ROOT, "dist/test/integration/feed/conformance.js"));
const { PrivatePostgres } = await import(join(ROOT, "dist/test/integration/feed/postgres.js"));

const SECRET = "compare-secret";
const LIBERVIA_PLUGIN = "/usr/share/libervia/twisted/plugins/pubsub.py";
const LIBERVIA_SCHEMA = "/usr/share/libervia/sat_pubsub/db/pubsub.sql";
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const accounts = { owner: ["owner@localhost/c", "owner-pw"], subscriber: ["sub@localhost/c", "sub-pw"], other: ["other@localhost/c", "other-pw"] };

const dir = mkdtempSync(join(tmpdir(), "feed-compare-"));
const haveLibervia = existsSync(LIBERVIA_PLUGIN) && existsSync(LIBERVIA_SCHEMA);
// XEP-0356 roster access (Prosody's mod_privilege, Debian prosody-modules) for both external components, when installed:
// the feed needs it for the presence access model, libervia for its PEP features.
const havePrivilege = existsSync("/usr/lib/prosody/modules/mod_privilege/mod_privilege.lua");
const privileged = havePrivilege ? '  modules_enabled = { "privilege" }\n' : "";
const components = [{ domain: "feed.localhost", secret: SECRET, extra: privileged }];
if (haveLibervia) components.push({ domain: "libervia.localhost", secret: SECRET, extra: privileged });
// Prosody 0.12: only admins (of the component) create nodes on mod_pubsub (research pubsub.md §0.3), so the owner is one.
const prosody = await ManagedProsody.start({
  components,
  users: ["owner", "sub", "other"].map((u) => ({ username: u, password: `${u}-pw` })),
  extraHosts:
    `Component "pubsub.localhost" "pubsub"\n  admins = { "owner@localhost" }\n` +
    (havePrivilege ? `VirtualHost "localhost"\n  modules_enabled = { "privilege" }\n  privileged_entities = { ["feed.localhost"] = { roster = "get" }; ["libervia.localhost"] = { roster = "get" } }\n` : ""),
  logLevel: "warn",
});
const children = [];
let postgres;

function start(cmd, args, options = {}) {
  const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"], ...options });
  child.output = "";
  child.stdout.on("data", (d) => (child.output += d));
  child.stderr.on("data", (d) => (child.output += d));
  children.push(child);
  return child;
}

async function waitFor(child, pattern, ms, what) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (pattern.test(child.output)) return;
    if (child.exitCode !== null) throw new Error(`${what} exited: ${child.output.slice(-2000)}`);
    await sleep(100);
  }
  throw new Error(`${what} did not start within ${ms} ms: ${child.output.slice(-2000)}`);
}

async function cleanup() {
  for (const child of children) if (child.exitCode === null) child.kill("SIGTERM");
  await sleep(500);
  await prosody.stop();
  await postgres?.stop();
  rmSync(dir, { recursive: true, force: true });
}
for (const signal of ["SIGINT", "SIGTERM"]) process.once(signal, () => void cleanup().finally(() => process.exit(130)));

const peers = [];
const c2s = `127.0.0.1:${prosody.c2sPort}`;
try {
  // The feed, configured only as the conformance test configures it: the owner is an admin, nodes are made over XMPP.
  const config = {
    server: { host: "127.0.0.1", port: prosody.componentPort },
    log: { level: "info" },
    components: [{ type: "feed", domain: "feed.localhost", secret: SECRET, options: { storage: "memory", admins: ["owner@localhost"] } }],
  };
  writeFileSync(join(dir, "annex.json"), JSON.stringify(config));
  const annex = start(process.execPath, [join(ROOT, "dist/bin/annex.js"), "run", "--config", join(dir, "annex.json")]);
  await waitFor(annex, /all components online/, 15_000, "annex");
  peers.push({ name: "Annex feed", service: "feed.localhost", version: "this tree" });
  peers.push({ name: "Prosody mod_pubsub", service: "pubsub.localhost", version: "prosody 0.12 (Debian)" });

  if (haveLibervia) {
    postgres = await PrivatePostgres.start();
    const client = new pg.Client(postgres.url("postgres"));
    await client.connect();
    await client.query("CREATE DATABASE pubsub");
    await client.end();
    const db = new pg.Client(postgres.url("pubsub"));
    await db.connect();
    await db.query((await import("node:fs")).readFileSync(LIBERVIA_SCHEMA, "utf8"));
    await db.end();
    const libervia = start(
      "/usr/bin/twistd3",
      ["--nodaemon", "--pidfile=", "libervia-pubsub", "--jid", "libervia.localhost", "--xmpp_pwd", SECRET, "--rhost", "127.0.0.1", "--rport", String(prosody.componentPort), "--db_host", "127.0.0.1", "--db_port", String(postgres.port), "--db_user", "postgres", "--db_name", "pubsub"],
      { cwd: "/usr/share/libervia/sat_pubsub", env: { ...process.env, PYTHONPATH: "/usr/share/libervia", HOME: dir } },
    );
    // Twisted logs the component's stream once it is authenticated.
    await waitFor(libervia, /[Aa]uthenticated|Starting factory|component.*connected|XmlStream/, 30_000, "libervia-pubsub");
    await sleep(2000);
    peers.push({ name: "libervia-pubsub", service: "libervia.localhost", version: "0.4.0+hg473 (Debian)" });
  }

  const results = [];
  for (const peer of peers) {
    try {
      const run = await runConformance(c2s, peer.service, accounts);
      results.push({ ...peer, counts: tally(run.cases), cases: run.cases, features: run.features });
      console.log(`${peer.name}: ${JSON.stringify(tally(run.cases))}`);
    } catch (err) {
      results.push({ ...peer, error: String(err).slice(0, 2000) });
      console.log(`${peer.name}: could not run: ${String(err).slice(0, 300)}`);
    }
  }

  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  mkdirSync(join(HERE, "results"), { recursive: true });
  writeFileSync(join(HERE, "results", `compare-${stamp}.json`), JSON.stringify({ when: new Date().toISOString(), results }, null, 1));
  const ran = results.filter((r) => r.cases);
  const caseNames = ran[0]?.cases.map((c) => c.case) ?? [];
  const mark = { yes: "yes", partial: "partial", no: "no" };
  const lines = [
    `# XEP-0060 use cases: feed vs. Prosody mod_pubsub vs. libervia-pubsub (${new Date().toISOString()})`,
    "",
    "Same slixmpp client, same example stanzas, same Prosody (`bench/feed/compare.mjs`).",
    havePrivilege ? "Both external components (feed, libervia) had XEP-0356 roster access through mod_privilege." : "mod_privilege not installed: no XEP-0356 for the external components.",
    "",
    "| peer | yes | partial | no |",
    "|---|---|---|---|",
    ...results.map((r) => (r.counts ? `| ${r.name} (${r.version}) | ${r.counts.yes} | ${r.counts.partial} | ${r.counts.no} |` : `| ${r.name} | could not run: ${r.error.split("\n")[0]} | | |`)),
    "",
    `| use case | § | feature | ${ran.map((r) => r.name).join(" | ")} |`,
    `|---|---|---|${ran.map(() => "---").join("|")}|`,
    ...caseNames.map((name, i) => {
      const c = ran[0].cases[i];
      return `| ${name} | ${c.section} | ${c.feature ?? ""} | ${ran.map((r) => { const x = r.cases.find((y) => y.case === name); return x ? `${mark[x.verdict]}${x.verdict === "yes" ? "" : ` (${x.detail.replace(/\|/g, "/").slice(0, 60)})`}` : "-"; }).join(" | ")} |`;
    }),
    "",
  ];
  writeFileSync(join(HERE, "results", `compare-${stamp}.md`), lines.join("\n"));
  console.log(`report: bench/feed/results/compare-${stamp}.md`);
} finally {
  await cleanup();
}
