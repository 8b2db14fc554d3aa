import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { ManagedProsody } from "annex/testing";
import { FEED_FEATURES } from "../../components/feed/feed.js";
import { runConformance, tally, type UseCase } from "./feed/conformance.js";
import { AnnexProcess } from "./support.js";

const FEED = "feed.localhost";
const PUBSUB = "http://jabber.org/protocol/pubsub";

// XEP-0060 §5-§8 use cases sent by an independent client (slixmpp, the XEP's own example stanzas) through a
// real Prosody to the feed. Every use case of an advertised feature must be answered as the XEP says, and the
// feed must advertise exactly the features whose use cases pass.
describe("feed: XEP-0060 conformance through a real Prosody (slixmpp)", () => {
  let prosody: ManagedProsody;
  let annex: AnnexProcess;
  let cases: UseCase[];
  let wireFeatures: string[];

  before(async () => {
    // XEP-0356 through Prosody's mod_privilege (Debian prosody-modules): the feed may read users' rosters,
    // which the XEP-0060 presence access model needs (the node owner's roster).
    prosody = await ManagedProsody.start({
      components: [{ domain: FEED, secret: "conformance-secret", extra: '  modules_enabled = { "privilege" }\n' }],
      users: ["owner", "sub", "other"].map((u) => ({ username: u, password: `${u}-pw` })),
      extraHosts: `VirtualHost "localhost"\n  modules_enabled = { "privilege" }\n  privileged_entities = { [${JSON.stringify(FEED)}] = { roster = "get" } }\n`,
    });
    annex = await AnnexProcess.start({
      server: { host: "127.0.0.1", port: prosody.componentPort },
      log: { level: "info" },
      components: [{ type: "feed", domain: FEED, secret: "conformance-secret", options: { storage: "memory", admins: ["owner@localhost"], createNodes: "admins" } }],
    });
    ({ cases, features: wireFeatures } = await runConformance(`127.0.0.1:${prosody.c2sPort}`, FEED, {
      owner: ["owner@localhost/c", "owner-pw"],
      subscriber: ["sub@localhost/c", "sub-pw"],
      other: ["other@localhost/c", "other-pw"],
    }));
  });

  after(async () => {
    const code = await annex?.stop();
    await prosody?.stop();
    assert.equal(code, 0, `annex should stop cleanly; output:\n${annex?.output}`);
  });

  test("every use case of an advertised feature (and of the base protocol) is answered as XEP-0060 says", () => {
    const advertised = new Set(wireFeatures.filter((f) => f.startsWith(`${PUBSUB}#`)).map((f) => f.slice(`${PUBSUB}#`.length)));
    const failing = cases.filter((c) => (c.feature === null || advertised.has(c.feature)) && c.verdict !== "yes");
    assert.deepEqual(failing, [], JSON.stringify(failing, null, 1));
    assert.ok(cases.length >= 60, `${cases.length} use cases`);
    console.log(`feed conformance: ${JSON.stringify(tally(cases))} of ${cases.length} use cases`);
  });

  test("disco#info advertises exactly the features whose use cases pass", () => {
    // What the client read from disco#info on the wire (XEP-0060 §5.1), not the constant.
    const advertised = new Set(wireFeatures.filter((f) => f.startsWith(`${PUBSUB}#`)).map((f) => f.slice(`${PUBSUB}#`.length)));
    // access-presence is there because the server granted the roster privilege (XEP-0356).
    assert.deepEqual([...advertised].sort(), [...FEED_FEATURES.map((f) => f.slice(`${PUBSUB}#`.length)), "access-presence"].sort());
    const tested = new Set(cases.map((c) => c.feature).filter((f): f is string => f !== null));
    const passing = new Set([...tested].filter((f) => cases.filter((c) => c.feature === f).every((c) => c.verdict === "yes")));
    // A tested feature passes if and only if it is advertised.
    assert.deepEqual([...tested].filter((f) => passing.has(f) !== advertised.has(f)), []);
    // Every advertised feature is exercised by at least one use case.
    assert.deepEqual([...advertised].filter((f) => !tested.has(f)).sort(), []);
  });
});
