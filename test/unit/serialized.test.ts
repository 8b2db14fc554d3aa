import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ErrorCode, parseXml, serializedXml, stanzaForLog, xml } from "annex";
import { StanzaTemplate } from "../../src/pipeline/fanout.js";
import { cloneElement } from "../../src/stanza/xml.js";
import { toXml } from "../../src/stanza/serialized.js";

const NS = "urn:example:game";

describe("serializedXml: XML serialised by a tagged template", () => {
  test("gives the bytes the same element would serialise to, values escaped as ltx escapes attributes", () => {
    const room = `r<1>&"quoted" 'single'`;
    const made = serializedXml`<s xmlns="${NS}" r="${room}" t="${42}" b="${-3},${0}" ok="${true}"/>`;
    const element = xml("s", { xmlns: NS, r: room, t: 42, b: "-3,0", ok: "true" });
    assert.equal(made.text, element.toString());
    assert.equal(made.toString(), made.text);
    assert.deepEqual(parseXml(made.text).attrs, element.attrs);
  });

  test("text values are escaped; serialised XML and elements in text are written as XML", () => {
    const inner = serializedXml`<i n="${1}"/>`;
    const made = serializedXml`<a>${"1 < 2 & 3 > 2"}${inner}${xml("e", { k: "v&" }, "t")}</a>`;
    assert.equal(made.text, '<a>1 &lt; 2 &amp; 3 &gt; 2<i n="1"/><e k="v&amp;">t</e></a>');
    const parsed = parseXml(made.text);
    assert.equal(parsed.getText(), "1 < 2 & 3 > 2");
    assert.equal(parsed.getChild("e")?.attrs.k, "v&");
  });

  test("any string survives the round trip through the wire (500 random values with XML's special characters)", () => {
    const alphabet = ["a", "Z", "0", " ", "&", "<", ">", '"', "'", ";", "#", "é", "€", "😀", "\t"];
    let seed = 7;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
    for (let n = 0; n < 500; n++) {
      const pick = () => Array.from({ length: next() % 12 }, () => alphabet[next() % alphabet.length]).join("");
      const [value, text] = [pick(), pick()];
      const parsed = parseXml(serializedXml`<a v="${value}" w='${value}'>${text}</a>`.text);
      assert.equal(parsed.attrs.v, value);
      assert.equal(parsed.attrs.w, value);
      assert.equal(parsed.getText(), text);
    }
  });

  test("as a child of a stanza: toXml, ltx's toString, fan-out copies and log lines write it as it is", () => {
    const payload = serializedXml`<s xmlns="${NS}" t="${7}"/>`;
    const stanza = xml("message", { from: "game.localhost", to: "a@localhost/r", type: "headline" }, payload, "x");
    const expected = `<message from="game.localhost" to="a@localhost/r" type="headline"><s xmlns="${NS}" t="7"/>x</message>`;
    assert.equal(toXml(stanza), expected);
    assert.equal(stanza.toString(), expected);
    assert.equal(stanzaForLog(stanza), expected);
    const copy = new StanzaTemplate(stanza).copy("b@localhost/r");
    assert.equal(toXml(copy), expected.replace("a@localhost/r", "b@localhost/r"));
    assert.equal(parseXml(expected).getChild("s", NS)?.attrs.t, "7");
  });

  test("one instance is shared by many stanzas: never given a parent, shared (not rebuilt) by a clone", () => {
    const shared = serializedXml`<no-store xmlns="urn:xmpp:hints"/>`;
    const one = xml("message", { to: "a@localhost" }, shared);
    const two = xml("message", { to: "b@localhost" }, shared);
    assert.equal((shared as unknown as { parent?: unknown }).parent, undefined);
    const clone = cloneElement(two);
    assert.equal(clone.children[0], shared);
    assert.equal(clone.toString(), two.toString());
    assert.notEqual(one.toString(), two.toString());
  });

  test("a literal that is not one element, or a value outside an attribute value or text, is refused with ANNEX_ERR_XML_TEMPLATE", () => {
    const inner = serializedXml`<i/>`;
    const cases: [string, () => unknown, RegExp][] = [
      ["a value as the element name", () => serializedXml`<${"a"}/>`, /a value stands in an element name/],
      ["a value as an attribute name", () => serializedXml`<a ${"x"}="1"/>`, /a value stands in an attribute name of <a>/],
      ["a value between attributes", () => serializedXml`<a ${"x"}/>`, /attribute \$\{…\} has no value/],
      ["two elements", () => serializedXml`<a v="${1}"/><b/>`, /2 elements, not one/],
      ["text before the element", () => serializedXml`x<a v="${1}"/>`, /the literal must be one element/],
      ["an unclosed element", () => serializedXml`<a v="${1}">`, /a must be closed/],
      ["a comment (RFC 6120 §11.1)", () => serializedXml`<a>${1}<!-- c --></a>`, /RFC 6120 §11.1/],
      ["a bare ampersand", () => serializedXml`<a t="${1}">Tom & Jerry</a>`, /starts no reference/],
      ["a CDATA section with a value", () => serializedXml`<a><![CDATA[${1}]]></a>`, /cannot hold a CDATA section/],
      ["XML in an attribute value", () => serializedXml`<a v="${inner}"/>`, /value 0 is XML but stands in an attribute value/],
      ["undefined", () => serializedXml`<a v="${undefined as unknown as string}"/>`, /value 0 is undefined/],
      ["null", () => serializedXml`<a v="${1}" w="${null as unknown as string}"/>`, /value 1 is null/],
      ["a plain object", () => serializedXml`<a>${{} as unknown as string}</a>`, /value 0 is object/],
    ];
    for (const [what, make, message] of cases) {
      assert.throws(make, (err: Error & { code?: string }) => {
        assert.equal(err.code, ErrorCode.XmlTemplate, what);
        assert.match(err.message, message, what);
        assert.match(err.message, /^serializedXml: /, what);
        return true;
      }, what);
    }
  });

  test("the literal is checked once per call site; a refused value is refused on every call", () => {
    const make = (v: unknown) => serializedXml`<a v="${v as string}"/>`;
    assert.equal(make("x").text, '<a v="x"/>');
    assert.throws(() => make(undefined), /value 0 is undefined/);
    assert.equal(make(2).text, '<a v="2"/>');
  });
});
