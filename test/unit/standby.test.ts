import assert from "node:assert/strict";
import { test } from "node:test";
import pino from "pino";
import { Component, type OnStart, type OnStop } from "annex";
import { ConfigError } from "../../src/config/errors.js";
import { resolveConfig, resolveStandby } from "../../src/config/load.js";
import { AnnexError, errors } from "../../src/errors.js";
import type { DomainLease } from "../../src/lease/lease.js";
import { Runner } from "../../src/runtime/runner.js";

// The runner's side of active/standby, with a lease held in memory (the PostgreSQL lease itself is tested
// against a real PostgreSQL in test/integration/standby.test.ts).

const events: string[] = [];

@Component({ identity: { category: "component", type: "generic", name: "Probe" } })
class Probe implements OnStart, OnStop {
  onStart() {
    events.push("start");
  }
  onStop() {
    events.push("stop");
  }
}

/** A lease another test step hands over (grant) or takes away (revoke). */
class HandLease implements DomainLease {
  readonly key = "probe.localhost";
  private waiters: (() => void)[] = [];
  private lost: ((reason: AnnexError) => void)[] = [];
  released = 0;
  acquire(signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      this.waiters.push(resolve);
      signal.addEventListener("abort", () => reject(signal.reason), { once: true });
    });
  }
  onLost(listener: (reason: AnnexError) => void): void {
    this.lost.push(listener);
  }
  async release(): Promise<void> {
    this.released++;
  }
  grant(): void {
    this.waiters.shift()?.();
  }
  revoke(): void {
    for (const l of this.lost.splice(0)) l(errors.leaseLost(this.key, "test"));
  }
}

const until = async (what: () => boolean, ms = 2_000) => {
  const end = Date.now() + ms;
  while (!what()) {
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 5));
  }
};

function config() {
  return resolveConfig({
    raw: {
      // Nothing listens on port 1: the link keeps backing off, which is all this test needs of it.
      server: { port: 1, reconnect: { initialMs: 1_000 } },
      components: [{ type: "probe", domain: "probe.localhost", secret: "s", standby: { postgres: "postgres://x@127.0.0.1/db", retryMs: 100 } }],
    },
    baseDir: "/",
  });
}

test("a standby entry starts nothing until it holds the lease, stops at once when it loses it, and waits again", async () => {
  events.length = 0;
  const lease = new HandLease();
  const runner = await Runner.create(config(), { catalogue: { probe: async () => Probe }, log: pino({ level: "silent" }), lease: () => lease });
  await runner.start();
  const seen: string[] = [];
  runner.on("active", (d) => seen.push(`active ${d}`));
  runner.on("lease-lost", (err, d) => seen.push(`lost ${d} ${err.code}`));
  assert.equal(runner.health().components["probe.localhost"]?.state, "standby");
  assert.equal(runner.health().ok, true, "a standby is healthy in its role");
  assert.deepEqual(events, [], "no onStart before the lease");

  const first = runner.components[0]!.host;
  lease.grant();
  await until(() => events.length === 1);
  assert.deepEqual(events, ["start"]);
  assert.notEqual(runner.health().components["probe.localhost"]?.state, "standby");

  lease.revoke();
  await until(() => events.length === 2 && runner.health().components["probe.localhost"]?.state === "standby");
  assert.deepEqual(events, ["start", "stop"]);
  assert.deepEqual(seen, ["active probe.localhost", "lost probe.localhost ANNEX_ERR_LEASE_LOST"]);

  lease.grant();
  await until(() => events.length === 3);
  assert.notEqual(runner.components[0]!.host, first, "a second activation runs fresh parts");
  await runner.stop({ drainMs: 0 });
  assert.deepEqual(events, ["start", "stop", "start", "stop"]);
  assert.ok(lease.released >= 1, "stop gives the lease back");
});

test("standby config: one of postgres or postgresEnv, a postgres:// URL, the env var must be set", () => {
  const entry = (standby: unknown) => ({ components: [{ type: "echo", domain: "e.localhost", secret: "s", standby }] });
  const lines = (raw: unknown) => {
    try {
      resolveConfig({ raw, baseDir: "/" });
      return [];
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      return err.message;
    }
  };
  assert.match(String(lines(entry({}))), /components\[0\]\.standby\.postgres: expected one of postgres or postgresEnv/);
  assert.match(String(lines(entry({ postgres: "postgres://a/b", postgresEnv: "X" }))), /expected one of postgres or postgresEnv/);
  assert.match(String(lines(entry({ postgres: "mysql://a/b" }))), /components\[0\]\.standby\.postgres: expected a URL such as "postgres:\/\/user@host:5432\/db"/);
  const cfg = resolveConfig({ raw: entry({ postgresEnv: "FEED_PG" }), baseDir: "/" });
  assert.throws(() => resolveStandby(cfg.components[0]!, 0, {}), /components\[0\]\.standby\.postgresEnv: the environment variable FEED_PG is not set/);
  assert.deepEqual(resolveStandby(cfg.components[0]!, 0, { FEED_PG: "postgres://u@h/db" }), { domain: "e.localhost", key: "e.localhost", url: "postgres://u@h/db", retryMs: 1_000 });
});
