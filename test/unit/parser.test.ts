import assert from "node:assert/strict";
import type { EventEmitter } from "node:events";
import { createRequire } from "node:module";
import { describe, test } from "node:test";
import { Element, xml } from "annex";
import { StreamParser, XmlStreamError, unescape } from "../../src/stanza/parser.js";

// The stream parser against the one it replaced (ltx's SAX parser under @xmpp/xml's tree builder, as
// @xmpp/connection 0.13.1 used them): the same stanzas out of the same input, however the input is cut.

type AnyParser = EventEmitter & { write(data: string): void };
const XmppXmlParser = createRequire(import.meta.url)("@xmpp/xml/lib/Parser.js") as new () => AnyParser;

const HEADER = `<?xml version='1.0'?><stream:stream xmlns:stream='http://etherx.jabber.org/streams' xmlns='jabber:component:accept' from='pong.localhost' id='a1b2'>`;

interface Seen {
  start: Element[];
  elements: Element[];
  end: number;
  errors: Error[];
}

function feed(parser: AnyParser, chunks: string[]): Seen {
  const seen: Seen = { start: [], elements: [], end: 0, errors: [] };
  parser.on("start", (el: Element) => seen.start.push(el));
  parser.on("element", (el: Element) => seen.elements.push(el));
  parser.on("end", () => seen.end++);
  parser.on("error", (err: Error) => seen.errors.push(err));
  for (const chunk of chunks) parser.write(chunk);
  return seen;
}

/** An element as plain data: name, attributes (in order), children (text merged as ltx's toString would), and whether parents point right. */
function shape(el: Element): unknown {
  const children: unknown[] = [];
  for (const child of el.children) {
    if (typeof child === "string") {
      if (typeof children.at(-1) === "string") children[children.length - 1] += child;
      else children.push(child);
    } else {
      assert.equal((child as Element).parent, el, `the parent of <${(child as Element).name}>`);
      children.push(shape(child as Element));
    }
  }
  return { name: el.name, attrs: Object.entries(el.attrs), children };
}

/**
 * Ours, fed `chunks`, against ltx fed the whole text at once (ltx itself loses text after a CDATA section at
 * some cuts, which the first test found: the whole text is its best answer).
 */
function assertSameAsLtx(chunks: string[], label: string): Seen {
  const ours = feed(new StreamParser(), chunks);
  const theirs = feed(new XmppXmlParser(), [chunks.join("")]);
  assert.deepEqual(ours.errors, [], `${label}: no error`);
  assert.equal(ours.start.length, 1, `${label}: one stream header`);
  assert.deepEqual(Object.entries(ours.start[0]!.attrs), Object.entries(theirs.start[0]!.attrs), `${label}: header`);
  assert.equal(ours.elements.length, theirs.elements.length, `${label}: stanza count`);
  for (let i = 0; i < ours.elements.length; i++) {
    assert.equal(ours.elements[i]!.parent, ours.start[0], `${label}: stanza ${i} belongs to the stream`);
    assert.deepEqual(shape(ours.elements[i]!), shape(theirs.elements[i]!), `${label}: stanza ${i}`);
    assert.equal(ours.elements[i]!.toString(), theirs.elements[i]!.toString(), `${label}: stanza ${i} bytes`);
  }
  assert.equal(ours.end, theirs.end, `${label}: end of stream`);
  return ours;
}

/** Every way of cutting `text` in two, and a few in many pieces. */
function cuts(text: string, seed: number): string[][] {
  const out: string[][] = [[text]];
  for (let i = 1; i < text.length; i++) out.push([text.slice(0, i), text.slice(i)]);
  let state = seed;
  const next = () => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let n = 0; n < 20; n++) {
    const pieces: string[] = [];
    for (let at = 0; at < text.length; ) {
      const size = 1 + Math.floor(next() * 12);
      pieces.push(text.slice(at, at + size));
      at += size;
    }
    out.push(pieces);
  }
  return out;
}

const STANZAS = [
  `<message from="p1@bots.localhost/r" to="pong.localhost" type="headline"><in xmlns="urn:annex:pong:1" seq="12" y="250"/></message>`,
  `<message to='a@b' from='c@d/e'><body>a &lt; b &amp; c &gt; d &quot;q&quot; &apos;s&apos; &#233;&#x1F600;&#10;</body></message>`,
  `<iq type="set" id="x&amp;y" to="pong.localhost" from="u@localhost/r"><pubsub xmlns="http://jabber.org/protocol/pubsub"><publish node="n"><item id="1"><entry xmlns="urn:x"><title>T</title><p a="1" b='2'/><q></q></entry></item></publish></pubsub></iq>`,
  `<presence from="u@localhost/r" to="pong.localhost"/>`,
  `<message from="u@localhost" to="x@pong.localhost" quote="it's" dq='say "hi"' gt="a>b"><body>é€𝄞 世界 > ]] x</body></message>`,
  `<message  from = "u@localhost"  to="pong.localhost"   ><body>text</body><x xmlns="y" /></message >`,
  `<stream:error><not-authorized xmlns="urn:ietf:params:xml:ns:xmpp-streams"/><text xmlns="urn:ietf:params:xml:ns:xmpp-streams" xml:lang="en">no</text></stream:error>`,
  `<message from="u@localhost" to="pong.localhost" constructor="c" hasOwnProperty="h"><body>  </body><body></body></message>`,
];

describe("stream parser", () => {
  test("gives ltx's stanzas for a stream of every kind of stanza, cut at every character", () => {
    const stream = `${HEADER}\n ${STANZAS.join(" \n\t")}  </stream:stream>`;
    let checked = 0;
    for (const chunks of cuts(stream, 7)) {
      const seen = assertSameAsLtx(chunks, `cut ${chunks.map((c) => c.length).join("+")}`);
      assert.equal(seen.elements.length, STANZAS.length);
      assert.equal(seen.end, 1);
      checked++;
    }
    assert.ok(checked > stream.length);
  });

  test("gives ltx's stanzas for 500 random trees with escaped attributes and text", () => {
    let state = 42;
    const rnd = (n: number) => (state = (state * 1103515245 + 12345) % 2 ** 31) % n;
    const alphabet = ["a", "Z", "0", " ", "&", "<", ">", '"', "'", "é", "€", "𝄞", "\n", "\t", "]", "=", "/", ";", "#"];
    const text = () => Array.from({ length: rnd(12) }, () => alphabet[rnd(alphabet.length)]).join("");
    const names = ["message", "body", "x", "item", "p:q", "a-b", "c.d", "_e"];
    const tree = (depth: number): Element => {
      const attrs: Record<string, string> = {};
      for (let i = rnd(4); i > 0; i--) attrs[`${names[rnd(names.length)]!.replace(":", "")}${i}`] = text();
      const el = xml(names[rnd(names.length)]!, attrs);
      for (let i = depth > 0 ? rnd(4) : 0; i > 0; i--) {
        if (rnd(2) === 0) el.t(text() || "t");
        else el.cnode(tree(depth - 1));
      }
      return el;
    };
    const stanzas = Array.from({ length: 500 }, () => {
      const t = tree(3);
      t.name = "message";
      return t.toString();
    });
    const stream = HEADER + stanzas.join("");
    for (const size of [1, 7, 64, 1000, stream.length]) {
      const chunks: string[] = [];
      for (let at = 0; at < stream.length; at += size) chunks.push(stream.slice(at, at + size));
      const seen = assertSameAsLtx(chunks, `chunks of ${size}`);
      assert.equal(seen.elements.length, 500);
      assert.deepEqual(seen.elements.map((e) => e.toString()), stanzas, `chunks of ${size}: the bytes survive a round trip`);
    }
  });

  test("a CDATA section is text, markup and all (XML 1.0 §2.7), cut anywhere", () => {
    // Not against ltx: ltx drops the text after a CDATA section ("more" here).
    const stanza = `<message to="a@b"><body>text<![CDATA[<not> & ]] markup]]>more</body></message>`;
    for (const chunks of cuts(HEADER + stanza, 3)) {
      const seen = feed(new StreamParser(), chunks);
      assert.deepEqual(seen.errors, []);
      assert.equal(seen.elements[0]!.getChildText("body"), "text<not> & ]] markupmore");
      assert.equal(seen.elements[0]!.toString(), `<message to="a@b"><body>text&lt;not&gt; &amp; ]] markupmore</body></message>`);
    }
  });

  test("a whitespace keepalive between stanzas is nobody's child (RFC 6120 §4.6.1)", () => {
    const parser = new StreamParser();
    const seen = feed(parser, [HEADER, " ", "\n", `<presence to="a@b"/>`, " "]);
    assert.equal(seen.elements.length, 1);
    assert.deepEqual(parser.root!.children, []);
  });

  test("attribute values come as they were sent, entities decoded, quotes of either kind", () => {
    const from = "someone.with.a.long.name@example.org/resource-1";
    const seen = feed(new StreamParser(), [HEADER, `<message from="${from}" to='pong.localhost' id="a1"/>`, `<message from="a&amp;b@x" to="y&apos;z&#x41;"/>`]);
    const [first, second] = seen.elements as [Element, Element];
    assert.deepEqual(first.attrs, { from, to: "pong.localhost", id: "a1" });
    assert.deepEqual(second.attrs, { from: "a&b@x", to: "y'zA" });
  });

  test("openStanzaLength: the characters of the stanza being received so far, 0 between stanzas", () => {
    const parser = new StreamParser();
    const lengths: number[] = [];
    const stanza = `<message to="a@b"><body>${"x".repeat(100)}</body></message>`;
    parser.on("element", () => lengths.push(parser.openStanzaLength));
    parser.write(HEADER);
    assert.equal(parser.openStanzaLength, 0);
    // Many small stanzas in one write: each is measured alone.
    parser.write(stanza.repeat(50));
    assert.equal(parser.openStanzaLength, 0);
    // One stanza in pieces: what has come of it, with the cut token that waits.
    parser.write(stanza.slice(0, 30));
    assert.equal(parser.openStanzaLength, 30);
    parser.write(stanza.slice(30, 31));
    assert.equal(parser.openStanzaLength, 31);
    parser.write(stanza.slice(31, 90));
    assert.equal(parser.openStanzaLength, 90);
    parser.write(stanza.slice(90) + "<presence to='a@b'");
    assert.equal(parser.openStanzaLength, "<presence to='a@b'".length, "a start tag cut by the read counts too");
    parser.write("/>");
    assert.equal(parser.openStanzaLength, 0);
    assert.equal(lengths.length, 52);
  });

  test("an attribute named __proto__ is an attribute like any other", () => {
    const seen = feed(new StreamParser(), [HEADER, `<message to="a@b" __proto__="x"/>`]);
    assert.deepEqual(Object.entries(seen.elements[0]!.attrs), [["to", "a@b"], ["__proto__", "x"]]);
  });

  test("a listener that throws loses nothing of what follows", () => {
    const parser = new StreamParser();
    const names: string[] = [];
    parser.on("element", (el: Element) => {
      names.push(el.attrs.id as string);
      if (el.attrs.id === "2") throw new Error("handler bug");
    });
    parser.write(HEADER);
    assert.throws(() => parser.write(`<message id="1"/><message id="2"/><message id="3"/><message id="4`), /handler bug/);
    parser.write(`"/>`);
    assert.deepEqual(names, ["1", "2", "3", "4"]);
  });

  describe("refuses what XMPP does not allow, with the condition RFC 6120 names, and reads nothing after", () => {
    const cases: [string, string, "not-well-formed" | "restricted-xml", RegExp][] = [
      ["a comment", `<message to="a@b"><!-- hi --></message>`, "restricted-xml", /does not allow "<!-/],
      ["a comment between stanzas", `<!-- x --><message/>`, "restricted-xml", /RFC 6120 §11\.1/],
      ["a processing instruction after the header", `<?php x ?>`, "restricted-xml", /does not allow "<\?/],
      ["a second XML declaration", `<?xml version='1.0'?>`, "restricted-xml", /does not allow/],
      ["a DTD", `<!DOCTYPE x [<!ENTITY a "b">]>`, "restricted-xml", /does not allow "<!D/],
      ["an entity XML does not predefine", `<message><body>&nbsp;</body></message>`, "restricted-xml", /&nbsp; is not one of XML's five predefined entities/],
      ["an entity in an attribute", `<message to="&ent;"/>`, "restricted-xml", /&ent;/],
      ["a bare ampersand", `<message><body>a & b</body></message>`, "not-well-formed", /a "&" that starts no reference/],
      ["a reference to a character XML forbids", `<message><body>&#0;</body></message>`, "not-well-formed", /&#0; is not a character XML allows/],
      ["a malformed character reference", `<message><body>&#x;</body></message>`, "not-well-formed", /&#x; is not a character/],
      ["a mismatched end tag", `<message><body></message>`, "not-well-formed", /body must be closed, got <\/message>/],
      ["an attribute given twice", `<message to="a@b" to="c@d"/>`, "not-well-formed", /attribute to given twice/],
      ["< in an attribute value", `<message to="a<b"/>`, "not-well-formed", /"<" in the value of to/],
      ["an unquoted attribute value", `<message to=a/>`, "not-well-formed", /the value of to is not quoted/],
      ["an attribute without a value", `<message hidden/>`, "not-well-formed", /attribute hidden has no value/],
      ["an element without a name", `< message/>`, "not-well-formed", /an element without a name/],
      ["a / not closing the tag", `<message / >`, "not-well-formed", /"\/" not followed by ">"/],
      ["a CDATA section between stanzas", `<![CDATA[x]]>`, "not-well-formed", /CDATA section outside any stanza/],
    ];
    for (const [what, input, condition, message] of cases) {
      test(what, () => {
        for (const chunks of [[HEADER, input + `<message id="after"/>`], [HEADER, ...input.split(""), `<message id="after"/>`]]) {
          const seen = feed(new StreamParser(), chunks);
          assert.equal(seen.errors.length, 1, `${what}: one error`);
          const err = seen.errors[0] as XmlStreamError;
          assert.ok(err instanceof XmlStreamError);
          assert.equal(err.condition, condition);
          assert.match(err.message, message);
          assert.deepEqual(seen.elements.map((e) => e.attrs.id), [], `${what}: nothing read after the error`);
        }
      });
    }

    test("a processing instruction before the header that is not the XML declaration", () => {
      for (const chunks of [["<?xml-stylesheet href='x'?>", HEADER], "<?xml-stylesheet href='x'?>".split("")]) {
        const seen = feed(new StreamParser(), chunks);
        assert.equal((seen.errors[0] as XmlStreamError).condition, "restricted-xml");
        assert.equal(seen.start.length, 0);
      }
    });

    test("text before the stream header", () => {
      const seen = feed(new StreamParser(), ["hello", HEADER]);
      assert.equal((seen.errors[0] as XmlStreamError).condition, "not-well-formed");
      assert.match(seen.errors[0]!.message, /text before the stream header: "hello"/);
      assert.equal(seen.start.length, 0);
    });
  });

  test("unescape decodes the five entities and character references, and nothing else", () => {
    assert.equal(unescape("&lt;&gt;&amp;&quot;&apos;&#65;&#x42;&#x1f600;x"), `<>&"'AB😀x`);
    assert.equal(unescape("plain"), "plain");
    assert.throws(() => unescape("&toString;"), (err: XmlStreamError) => err.condition === "restricted-xml");
    assert.throws(() => unescape("&#xD800;"), (err: XmlStreamError) => err.condition === "not-well-formed");
    assert.throws(() => unescape("&#12a;"), (err: XmlStreamError) => err.condition === "not-well-formed");
  });
});
