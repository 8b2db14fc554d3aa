import assert from "node:assert/strict";
import { test } from "node:test";
import { Component, type IncomingIq, Iq, type OnStop, Sender, xml } from "annex";
import { createHarness } from "annex/testing";

const events: string[] = [];

@Component({ identity: { category: "component", type: "generic" } })
class Recorder implements OnStop {
  constructor(private readonly sender: Sender) {}

  @Iq({ type: "get", child: "work", xmlns: "urn:test:work" })
  async work(iq: IncomingIq) {
    events.push(`handler started ${iq.id}`);
    await new Promise((r) => setTimeout(r, 30));
    events.push(`handler finished ${iq.id}`);
  }

  async onStop() {
    events.push("onStop");
    await this.sender.send(xml("message", { to: "admin@localhost" }, xml("body", {}, "bye")));
  }
}

test("shutdown order: refuse new work, drain in-flight, onStop, unavailable presence, then no more sends", async () => {
  const h = createHarness(Recorder, { domain: "rec.localhost" });
  await h.start();
  await h.host.sender.send(xml("presence", { to: "alice@localhost" }));
  const inFlight = h.inject(`<iq type='get' id='w1'><work xmlns='urn:test:work'/></iq>`);
  await new Promise((r) => setImmediate(r));
  const stopping = h.stop({ drainMs: 1000 });
  const [refused] = await h.inject(`<iq type='get' id='w2'><work xmlns='urn:test:work'/></iq>`);
  events.push(`refused ${refused?.attrs.id} with ${refused?.getChild("error")?.getChildElements()[0]?.name}`);
  await inFlight;
  await stopping;

  const sent = h.sent.map((s) => `${s.name}${s.attrs.type ? `:${s.attrs.type}` : ""}${s.attrs.id ? `#${s.attrs.id}` : ""}`);
  assert.deepEqual(events, ["handler started w1", "refused w2 with service-unavailable", "handler finished w1", "onStop"]);
  assert.deepEqual(sent, ["presence", "iq:error#w2", "iq:result#w1", "message", "presence:unavailable"]);
  await assert.rejects(h.host.sender.send(xml("message", { to: "alice@localhost" })), { code: "ANNEX_ERR_STOPPING" });
});

test("a handler still running at the deadline does not hold shutdown", async () => {
  @Component({ identity: { category: "component", type: "generic" } })
  class Stuck {
    @Iq({ type: "get", child: "stuck", xmlns: "urn:test:work" })
    stuck() {
      return new Promise<void>(() => undefined);
    }
  }
  const h = createHarness(Stuck);
  void h.inject(`<iq type='get' id='s1'><stuck xmlns='urn:test:work'/></iq>`);
  await new Promise((r) => setImmediate(r));
  const started = Date.now();
  await h.stop({ drainMs: 50 });
  assert.ok(Date.now() - started < 1000);
});
