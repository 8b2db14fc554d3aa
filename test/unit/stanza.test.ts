import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { buildForm, buildRsm, buildRsmRequest, formType, formValues, parseBoolean, parseForm, parseRsm, parseXml, StanzaError, xml } from "annex";
import { assertXmlEqual } from "annex/testing";

describe("data forms (XEP-0004)", () => {
  test("build and parse round-trip, with FORM_TYPE (XEP-0068)", () => {
    const el = buildForm({
      type: "result",
      fields: [
        { var: "FORM_TYPE", type: "hidden", values: ["urn:example"] },
        { var: "count", label: "Count", values: ["3"] },
      ],
    });
    assertXmlEqual(
      el,
      `<x xmlns='jabber:x:data' type='result'><field var='FORM_TYPE' type='hidden'><value>urn:example</value></field><field var='count' label='Count'><value>3</value></field></x>`,
    );
    const form = parseForm(parseXml(el.toString()));
    assert.equal(formType(form), "urn:example");
    assert.deepEqual(formValues(form), { FORM_TYPE: ["urn:example"], count: ["3"] });
  });

  test("field descriptions and options survive a round trip", () => {
    const form = parseForm(
      parseXml(buildForm({ type: "form", fields: [{ var: "color", type: "list-single", desc: "Pick one", options: [{ label: "Red", value: "r" }, { value: "g" }] }] }).toString()),
    );
    assert.equal(form.fields[0]?.desc, "Pick one");
    assert.deepEqual(form.fields[0]?.options, [{ label: "Red", value: "r" }, { label: undefined, value: "g" }]);
  });

  test("a malformed form is a bad-request naming the problem", () => {
    assert.throws(() => parseForm(parseXml("<x xmlns='jabber:x:data' type='nope'/>")), (e: StanzaError) => e.condition === "bad-request" && /type must be/.test(e.text ?? ""));
    assert.throws(() => parseForm(parseXml("<x xmlns='jabber:x:data' type='submit'><field><value>1</value></field></x>")), /needs a var/);
    assert.throws(() => parseBoolean("yes", "pubsub#deliver"), /pubsub#deliver must be a boolean/);
    assert.equal(parseBoolean("1", "x"), true);
  });
});

describe("result set management (XEP-0059)", () => {
  const parent = (set: string) => parseXml(`<items xmlns='urn:x'>${set}</items>`);
  test("parses max, after, before (empty = last page) and index", () => {
    assert.deepEqual(parseRsm(parent("<set xmlns='http://jabber.org/protocol/rsm'><max>10</max><before/></set>")), { max: 10, before: true });
    assert.deepEqual(parseRsm(parent("<set xmlns='http://jabber.org/protocol/rsm'><max>5</max><after>id-7</after></set>")), { max: 5, after: "id-7" });
    assert.deepEqual(parseRsm(parent("<set xmlns='http://jabber.org/protocol/rsm'><index>20</index></set>")), { index: 20 });
    assert.equal(parseRsm(parent("")), undefined);
  });

  test("bad numbers and contradictory requests are bad-request", () => {
    assert.throws(() => parseRsm(parent("<set xmlns='http://jabber.org/protocol/rsm'><max>-1</max></set>")), (e: StanzaError) => e.condition === "bad-request");
    assert.throws(() => parseRsm(parent("<set xmlns='http://jabber.org/protocol/rsm'><max>ten</max></set>")), /non-negative integer/);
    assert.throws(() => parseRsm(parent("<set xmlns='http://jabber.org/protocol/rsm'><after>a</after><before>b</before></set>")), /cannot be combined/);
  });

  test("builds result and request sets", () => {
    assertXmlEqual(buildRsm({ first: "a", firstIndex: 0, last: "c", count: 10 }), "<set xmlns='http://jabber.org/protocol/rsm'><first index='0'>a</first><last>c</last><count>10</count></set>");
    assertXmlEqual(buildRsm({ count: 0 }), "<set xmlns='http://jabber.org/protocol/rsm'><count>0</count></set>");
    assertXmlEqual(buildRsmRequest({ max: 5, before: true }), "<set xmlns='http://jabber.org/protocol/rsm'><max>5</max><before/></set>");
    assert.ok(xml("x") !== undefined);
  });
});
