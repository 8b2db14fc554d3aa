// Type tests of the public API as a user's project sees it: right uses compile, and each wrong use below
// must fail to compile (an unmet @ts-expect-error is itself an error). A declaration that silently became
// `any` (xmpp.js ships no types; Annex's own do) would let the wrong uses through and fail this file.
import { Component, type Element, type IncomingIq, type IncomingMessage, Iq, JID, Message, parseConfig, parseJid, Runner, StanzaError, xml } from "annex";
import { assertXmlEqual, createHarness } from "annex/testing";

@Component({ identity: { category: "component", type: "generic", name: "Typed" } })
export class Typed {
  @Message({ type: "chat", child: "body" })
  echo(msg: IncomingMessage) {
    const local: string = msg.from.local;
    // @ts-expect-error a JID's local part is a string (it would be `any` without @xmpp/jid's declarations)
    const wrong: number = msg.from.local;
    void wrong;
    // @ts-expect-error the sender is a JID, not a string
    const from: string = msg.from;
    void from;
    return msg.reply({ body: local });
  }

  @Iq({ type: "get", child: "q", xmlns: "urn:example:typed" })
  query(iq: IncomingIq): Element {
    // @ts-expect-error an element's name is a string (it would be `any` without ltx's declarations)
    const n: number = iq.payload.name;
    void n;
    // @ts-expect-error StanzaError takes a defined condition (RFC 6120 §8.3.3), not any string
    if (!iq.payload.attrs.x) throw new StanzaError("no-such-condition");
    return xml("q", { xmlns: "urn:example:typed" });
  }
}

// @ts-expect-error @Component needs an identity
@Component({})
export class NoIdentity {}

const jid: JID = parseJid("ann@localhost/pc");
const bare: string = jid.bare().toString();
// @ts-expect-error JID has no `user` (its local part is `local`)
void jid.user;
void bare;

const h = createHarness(Typed, { domain: "typed.localhost" });
const replies: Element[] = await h.inject("<message type='chat' from='a@localhost/x'><body>hi</body></message>");
assertXmlEqual(replies[0], "<message/>");
// @ts-expect-error inject takes XML text or an element, not a number
await h.inject(42);

const config = parseConfig({ components: [{ type: { module: "./typed.js" }, domain: "typed.localhost", secret: "s" }] });
// Runner.create needs no logger and no catalogue (defaults: the config's log settings, {module} types only).
const runner: Runner = await Runner.create({ ...config, baseDir: "." });
// @ts-expect-error a running component's domain is a string
const d: number = runner.components[0]!.host.domain;
void d;

// annex/postgres (pg and @types/pg are optional peers; here @types/pg is installed).
import { postgresLease } from "annex/postgres";
const lease = postgresLease({ key: "typed.localhost", url: "postgres://annex@127.0.0.1/annex", retryMs: 1000 });
void lease;
// @ts-expect-error the lease needs the database URL
postgresLease({ key: "typed.localhost", retryMs: 1000 });
