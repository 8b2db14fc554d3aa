import assert from "node:assert/strict";
import { test } from "node:test";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import type { Element, HandlerClass } from "annex";
import { createHarness } from "annex/testing";
import { Directory } from "../../components/disco/index.js";
import { Echo } from "../../components/echo/index.js";
import { Feed } from "../../components/feed/index.js";
import { Pong } from "../../components/pong/index.js";
import { HostileStanzas } from "./hostile.js";

const STANZAS_PER_COMPONENT = 20_000;
const SEED = 20261122;

setFlagsFromString("--expose_gc");
const gc = runInNewContext("gc") as () => void;

const unhandled: unknown[] = [];
process.on("unhandledRejection", (reason) => unhandled.push(reason));

const targets: { name: string; component: HandlerClass; domain: string; options: unknown }[] = [
  { name: "echo", component: Echo, domain: "echo.localhost", options: {} },
  // Nobody answers the directory's own queries in the harness: let them time out fast.
  { name: "disco", component: Directory, domain: "directory.localhost", options: { queryTimeoutMs: 20 } },
  { name: "feed", component: Feed, domain: "feed.localhost", options: { storage: "memory", nodes: { "stock-data": { publishers: ["user@localhost"] } } } },
  { name: "pong", component: Pong, domain: "pong.localhost", options: { seed: 7 } },
];

for (const target of targets) {
  test(`fuzz ${target.name}: ${STANZAS_PER_COMPONENT} hostile stanzas, one right reply per IQ request, no crash, memory back to baseline`, async () => {
    gc();
    const baseline = process.memoryUsage().heapUsed;
    const h = createHarness(target.component, { domain: target.domain, options: target.options, iqTimeoutMs: 200 });
    await h.start();
    const stanzas = new HostileStanzas(SEED, target.domain);
    const counts = { iqRequests: 0, replies: 0, errorsToErrors: 0, sent: 0 };
    const started = Date.now();
    // Injected in batches of 100 at once, as a server would deliver them; replies are attributed per stanza.
    const BATCH = 100;
    for (let first = 0; first < STANZAS_PER_COMPONENT; first += BATCH) {
      const batch = Array.from({ length: BATCH }, () => stanzas.next());
      const attrs = batch.map((s) => ({ ...(s.attrs as Record<string, string | undefined>) }));
      const outs = await Promise.all(batch.map((s) => h.inject(s)));
      outs.forEach((out, k) => check(first + k, batch[k] as Element, attrs[k] as Record<string, string | undefined>, out));
    }
    function check(i: number, stanza: Element, { from, to, id, type }: Record<string, string | undefined>, out: Element[]): void {
      counts.sent += out.length;
      for (const o of out) {
        // Every stanza out carries a to and a from in the component's domain.
        assert.ok(o.attrs.to, `#${i}: a stanza without to: ${o}`);
        assert.ok(String(o.attrs.from).split("/")[0]?.endsWith(target.domain), `#${i}: from outside the domain: ${o}`);
      }
      if (stanza.name === "iq" && (type === "get" || type === "set")) {
        counts.iqRequests++;
        const replies = out.filter((o: Element) => o.name === "iq" && o.attrs.id === id && o.attrs.to === from);
        assert.equal(replies.length, 1, `#${i}: ${replies.length} replies to ${stanza.toString().slice(0, 300)}`);
        const reply = replies[0] as Element;
        assert.ok(reply.attrs.type === "result" || reply.attrs.type === "error", `#${i}: reply of type ${reply.attrs.type}`);
        assert.equal(reply.attrs.from, to, `#${i}: the reply comes from the address asked`);
        counts.replies++;
      }
      if (type === "error" || (stanza.name === "iq" && type === "result")) {
        const answered = out.filter((o: Element) => o.attrs.type === "error" && o.attrs.to === from && o.attrs.id === id);
        counts.errorsToErrors += answered.length;
      }
    }
    await h.stop({ drainMs: 1_000 });
    assert.equal(counts.errorsToErrors, 0, "no error was answered with an error");
    assert.deepEqual(unhandled, [], "no unhandled rejection");
    // Let timers and pending requests of the run settle, then compare the heap.
    await new Promise((r) => setTimeout(r, 300));
    gc();
    const grown = process.memoryUsage().heapUsed - baseline;
    console.log(`fuzz ${target.name}: ${STANZAS_PER_COMPONENT} stanzas in ${((Date.now() - started) / 1000).toFixed(1)} s, ${counts.iqRequests} IQ requests each answered once, ${counts.sent} stanzas sent, heap +${(grown / 1e6).toFixed(1)} MB`);
    assert.ok(grown < 32e6, `heap grew by ${(grown / 1e6).toFixed(1)} MB`);
  });
}
