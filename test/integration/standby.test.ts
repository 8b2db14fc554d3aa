import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { xml } from "@xmpp/client";
import pg from "pg";
import type { Element } from "annex";
import { freePort, ManagedPostgres, type ManagedServer, startServer } from "annex/testing";
import { AnnexProcess, describeEachServer, TestClient } from "./support.js";

// Active/standby on one domain (config `standby`): two `annex run` processes configured alike, a real PostgreSQL
// holding the domain's lease, a real server. The standby starts nothing until the active one is gone; after a
// kill -9 it serves within the 10 s (in practice about retryMs + a handshake), and a lease lost while
// serving stops that process at once and makes it a standby again.

const DOMAIN = "echo.localhost";
let postgres: ManagedPostgres;
before(async () => {
  postgres = await ManagedPostgres.start();
});
after(async () => {
  await postgres?.stop();
});

async function health(port: number): Promise<string | undefined> {
  const response = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(1_000) });
  return ((await response.json()) as { components: Record<string, { state: string }> }).components[DOMAIN]?.state;
}

/** Sends an echo every 100 ms until one comes back; resolves with the time it took. */
async function echoBack(client: TestClient, timeoutMs: number): Promise<number> {
  const started = Date.now();
  for (let n = 0; Date.now() - started < timeoutMs; n++) {
    const body = `ping ${n} ${Math.random()}`;
    await client.send(xml("message", { to: DOMAIN, type: "chat" }, xml("body", {}, body)));
    try {
      await client.waitFor((el: Element) => el.name === "message" && el.attrs.type !== "error" && el.getChildText("body")?.includes(body) === true, 100);
      return Date.now() - started;
    } catch {
      // not served yet
    }
  }
  throw new Error(`no echo within ${timeoutMs} ms`);
}

describeEachServer("active/standby on one domain through a PostgreSQL lease", (kind) => {
  let server: ManagedServer;
  let client: TestClient;
  before(async () => {
    server = await startServer(kind, { components: [{ domain: DOMAIN, secret: "s" }], users: [{ username: "alice", password: "alice-pw" }] });
    client = await TestClient.connect(server, "alice", "alice-pw");
  });
  after(async () => {
    await client?.stop();
    await server?.stop();
  });

  test("the standby waits, serves within 10 s of kill -9 of the active one, and a lost lease stops the holder", async () => {
    const url = await postgres.createDatabase("standby");
    const config = async () => ({
      server: { port: server.componentPort, reconnect: { initialMs: 50, maxMs: 500 } },
      metrics: { port: await freePort() },
      components: [{ type: "echo", domain: DOMAIN, secret: "s", standby: { postgres: url, retryMs: 200 } }],
    });
    const configA = await config();
    const configB = await config();
    const a = await AnnexProcess.start(configA, { waitOnline: false });
    let b: AnnexProcess | undefined;
    let again: AnnexProcess | undefined;
    try {
      await a.waitForOutput(/lease on echo\.localhost acquired: serving echo\.localhost/, 10_000);
      await a.waitForOutput(/"msg":"online"/, 10_000);
      b = await AnnexProcess.start(configB, { waitOnline: false });
      await b.waitForOutput(/standby: another process holds the lease on echo\.localhost; checking every 200 ms/, 10_000);
      assert.equal(await health(configB.metrics.port), "standby");
      assert.equal(await health(configA.metrics.port), "online");
      assert.ok((await echoBack(client, 3_000)) < 3_000);
      const doctor = await AnnexProcess.start(configB, { command: ["doctor"], waitOnline: false });
      assert.equal(await doctor.exited, 0, doctor.output);
      assert.match(doctor.output, /ok {3}the Annex on 127\.0\.0\.1:\d+ is a standby for echo\.localhost \(another process holds its lease and serves it\): doctor does not connect/);
      assert.doesNotMatch(b.output, /acquired/, "the standby never served while the active one lived");

      a.child.kill("SIGKILL");
      const takeover = await echoBack(client, 10_000);
      assert.ok(takeover < 10_000, `served again after ${takeover} ms`);
      assert.match(b.output, /lease on echo\.localhost acquired: serving echo\.localhost/);
      assert.equal(await health(configB.metrics.port), "online");
      console.log(`[${kind}] echo answered again ${takeover} ms after kill -9 of the active process`);

      // The first process comes back: it is the standby now.
      again = await AnnexProcess.start(configA, { waitOnline: false });
      await again.waitForOutput(/another process holds the lease/, 10_000);

      // B's lease session ends under it (what a PostgreSQL restart or failover does): B stops serving at
      // once, then whichever process gets the lease first serves (B itself, or the other one).
      const admin = new pg.Client(url);
      await admin.connect();
      try {
        await admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'annex lease echo.localhost' AND pid IN (SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted)");
      } finally {
        await admin.end();
      }
      await b.waitForOutput(/lost the lease on echo\.localhost \([^)]*\): another process may serve the domain now, so this one stopped serving it/, 5_000);
      await b.waitForOutput(/"msg":"standby: waiting for the lease on echo\.localhost before serving echo\.localhost"[\s\S]*$/, 5_000);
      assert.match(b.output, /"code":"ANNEX_ERR_LEASE_LOST"/);
      assert.ok((await echoBack(client, 10_000)) < 10_000);
      const states = [await health(configB.metrics.port), await health(configA.metrics.port)].sort();
      assert.deepEqual(states, ["online", "standby"], "one serves, the other waits");
    } finally {
      a.child.kill("SIGKILL");
      const codes = await Promise.all([b?.stop(), again?.stop()]);
      assert.deepEqual(codes, [b ? 0 : undefined, again ? 0 : undefined], `${b?.output}\n${again?.output}`);
    }
  });
});
