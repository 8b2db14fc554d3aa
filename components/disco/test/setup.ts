import type { TestContext } from "node:test";
import { Component, HostedComponents } from "annex";
import { createHarness, type Harness } from "annex/testing";
import { DirectoryCache } from "../cache.js";
import { Directory } from "../directory.js";
import type { DirectoryOptionsInput } from "../options.js";
import { FakeNetwork, type FakeEntity, sampleNetwork } from "./fake-server.js";

/** Another component of the same Annex process, for the "hosted" listing. */
@Component({ identity: { category: "component", type: "generic", name: "Sibling" }, features: ["urn:example:sibling"] })
export class Sibling {}

/**
 * How long the directory waits for an answer in these tests: silent.localhost never answers, so every crawl
 * takes this long; the others answer at once, but on a loaded machine "at once" can exceed 50 ms.
 */
export const QUERY_TIMEOUT_MS = 250;

export const USER = "user@localhost/test";
export const ADMIN = "admin@localhost/test";

export interface Rig {
  h: Harness;
  net: FakeNetwork;
  cache: DirectoryCache;
}

/**
 * A directory on directory.localhost beside a sibling component, over a simulated network
 * that stops with the test (pass the test's context), whatever the test's outcome.
 */
export function rig(t: TestContext, options: DirectoryOptionsInput = {}, network: Record<string, FakeEntity> = sampleNetwork()): Rig {
  const hosted = new HostedComponents();
  createHarness(Sibling, { domain: "sibling.localhost", hosted });
  const h = createHarness(Directory, { domain: "directory.localhost", hosted, options: { queryTimeoutMs: QUERY_TIMEOUT_MS, admins: ["admin@localhost"], ...options } });
  const net = new FakeNetwork(h, network);
  t.after(() => net.stop());
  return { h, net, cache: h.host.instance(DirectoryCache) };
}

/** Waits (event-loop turns, not time) until a condition holds. */
export async function until(condition: () => boolean, what: string, turns = 20_000): Promise<void> {
  for (let i = 0; i < turns; i++) {
    if (condition()) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error(`never happened: ${what}`);
}
