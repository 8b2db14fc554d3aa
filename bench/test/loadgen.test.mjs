// The generator must count correctly, or no number in the report can be trusted.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { listenDirect } from "../lib/links.mjs";
import { LoadGenerator, sleep } from "../lib/loadgen.mjs";
import { echoWorkload, iqWorkload, largeWorkload } from "../lib/workloads.mjs";
import { startFakeVariant } from "./fake-variant.mjs";

const domain = "echo.localhost";
const secret = "s3cret";
const open = [];
after(() => open.forEach((c) => c.close()));

/** A generator and a fake variant connected through listenDirect (the direct mode of the bench). */
async function setup(workload, variantOptions = {}) {
  const listener = await listenDirect({ domain, secret });
  open.push(listener);
  const variant = await startFakeVariant({ port: listener.port, domain, secret, ...variantOptions });
  open.push(variant);
  const gen = new LoadGenerator(await listener.accept(), workload, { capacity: 1 << 12 });
  open.push(gen);
  gen.variant = variant;
  return gen;
}

async function sendAndWait(gen, count) {
  gen.send(count);
  await gen.drain(2000);
  await sleep(20); // late duplicates, if any, arrive too
  return gen.counts();
}

describe("load generator", () => {
  it("counts every correct reply once and times it", async () => {
    const gen = await setup(echoWorkload());
    const c = await sendAndWait(gen, 100);
    assert.deepEqual(c, { sent: 100, ok: 100, lost: 0, corrupt: 0, wrong: 0, errors: 0, duplicates: 0, unexpected: 0, probes: 0 });
    assert.equal(gen.histogram.summary().samples, 100);
  });

  it("counts Annex's own keepalive and claim pings as probes, not as unexpected replies", async () => {
    const gen = await setup(echoWorkload());
    gen.variant.write(`<iq type='get' id='annex-keepalive-1764590000000.5f2c-0d9e' from='${domain}' to='${domain}'><ping xmlns='urn:xmpp:ping'/></iq>`);
    gen.variant.write(`<iq id="annex-keepalive-1764590000000.5f2c-0d9f" type="get" from="${domain}" to="${domain}"><ping xmlns="urn:xmpp:ping"/></iq>`);
    const c = await sendAndWait(gen, 10);
    assert.equal(c.probes, 2);
    assert.equal(c.unexpected, 0);
    assert.equal(c.ok, 10);
  });

  it("detects a damaged body", async () => {
    const gen = await setup(echoWorkload(), { fate: (id) => (id === 5 ? "corrupt" : "ok") });
    const c = await sendAndWait(gen, 20);
    assert.equal(c.corrupt, 1);
    assert.equal(c.ok, 19);
    assert.equal(gen.histogram.summary().samples, 19, "a corrupt reply is not timed");
  });

  it("detects a lost reply", async () => {
    const gen = await setup(echoWorkload(), { fate: (id) => (id === 7 ? "drop" : "ok") });
    gen.send(20);
    await gen.drain(200);
    const c = gen.counts();
    assert.equal(c.lost, 1);
    assert.equal(c.ok, 19);
    assert.equal(gen.outstanding, 1);
  });

  it("detects a duplicate reply", async () => {
    const gen = await setup(echoWorkload(), { fate: (id) => (id === 9 ? "dup" : "ok") });
    const c = await sendAndWait(gen, 20);
    assert.equal(c.duplicates, 1);
    assert.equal(c.ok, 20);
  });

  it("keeps a closed-loop window full and loses nothing across a reset", async () => {
    const gen = await setup(echoWorkload());
    gen.window = 8;
    gen.sending = true;
    gen.fill();
    await sleep(50);
    gen.resetCounters(); // stanzas in flight now still count against the window
    await sleep(50);
    gen.sending = false;
    await gen.drain(2000);
    assert.ok(gen.sent > 8);
    assert.equal(gen.outstanding, 0);
    assert.equal(gen.countLost(), 0);
  });

  it("sees characters split across reads damaged, and whole when the variant decodes as a stream", async () => {
    // Slices 5 ms apart, so the variant reads each on its own (back to back, the kernel may join them).
    const broken = await setup(largeWorkload({ bytes: 5000, sliceBytes: 1000, sliceGapMs: 5 }), { decodeEachChunkAlone: true });
    const b = await sendAndWait(broken, 4);
    assert.ok(b.corrupt > 0, `expected corruption, got ${JSON.stringify(b)}`);
    const sound = await setup(largeWorkload({ bytes: 5000, sliceBytes: 1000, sliceGapMs: 5 }));
    const s = await sendAndWait(sound, 4);
    assert.equal(s.corrupt, 0);
    assert.equal(s.ok, 4);
  });

  it("checks IQ replies: result for registered namespaces, service-unavailable for the others", async () => {
    const reply = (condition) => (stanza, id) => {
      const from = / from='([^']*)'/.exec(stanza)[1];
      const unknown = stanza.includes("urn:bench:unregistered");
      return unknown
        ? `<iq type='error' id='${id}' to='${from}' from='bot@echo.localhost'><error type='cancel'><${condition} xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>`
        : `<iq type='result' id='${id}' to='${from}' from='bot@echo.localhost'/>`;
    };
    const good = await setup(iqWorkload({ namespaces: 50 }), { answer: reply("service-unavailable") });
    const g = await sendAndWait(good, 40);
    assert.equal(g.ok, 40);
    const bad = await setup(iqWorkload({ namespaces: 50 }), { answer: reply("feature-not-implemented") });
    const w = await sendAndWait(bad, 40);
    assert.equal(w.wrong, 2); // ids 20 and 40 go to the unregistered namespace
    assert.deepEqual([...bad.workload.wrongKinds.keys()], ["unregistered namespace answered with feature-not-implemented"]);
  });
});
