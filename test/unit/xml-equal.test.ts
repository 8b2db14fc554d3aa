import assert from "node:assert/strict";
import { test } from "node:test";
import { assertXmlEqual, xmlEqual } from "annex/testing";

test("attribute order, namespace prefixes and whitespace do not matter", () => {
  assert.ok(xmlEqual("<iq id='1' type='get'><q xmlns='urn:a'/></iq>", "<iq type='get' id='1'>\n  <q xmlns='urn:a'></q>\n</iq>"));
  assert.ok(xmlEqual("<iq><p:q xmlns:p='urn:a'/></iq>", "<iq><q xmlns='urn:a'/></iq>"));
  assert.ok(xmlEqual("<message xmlns='jabber:client'><body>x</body></message>", "<message><body>x</body></message>"));
});

test("names, namespaces, attribute values, text and child order do matter", () => {
  assert.ok(!xmlEqual("<q xmlns='urn:a'/>", "<q xmlns='urn:b'/>"));
  assert.ok(!xmlEqual("<q a='1'/>", "<q a='2'/>"));
  assert.ok(!xmlEqual("<b>x</b>", "<b>y</b>"));
  assert.ok(!xmlEqual("<r><a/><b/></r>", "<r><b/><a/></r>"));
  assert.ok(!xmlEqual("<b> x</b>", "<b>x</b>"), "text in a leaf element is significant");
  assert.throws(() => assertXmlEqual("<a/>", "<b/>"), /stanzas differ/);
});
