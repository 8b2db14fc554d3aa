import assert from "node:assert/strict";
import { test } from "node:test";
import { assertXmlEqual, createHarness } from "annex/testing";
import { Greeter } from "./greeter.js";

test("greets a chat message and answers the greeting IQ", async () => {
  const h = createHarness(Greeter, { domain: "greeter.localhost" });
  const [reply] = await h.inject(`<message type='chat' from='ann@localhost/pc'><body>hi</body></message>`);
  assertXmlEqual(reply, `<message type='chat' from='greeter.localhost' to='ann@localhost/pc'><body>Hello, ann!</body></message>`);

  const [error] = await h.inject(`<iq type='get' id='1'><greeting xmlns='urn:example:greeting'/></iq>`);
  assert.equal(error?.getChild("error")?.getChildElements()[0]?.name, "bad-request");
});
