import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import {
  AnnexError,
  bindLink,
  CAPS_NODE,
  capsVer,
  CATALOGUE,
  Component,
  ComponentConfig,
  ComponentHost,
  ConfigError,
  definePlugin,
  type Element,
  ErrorCode,
  errorTableMarkdown,
  Guard,
  type GuardFn,
  Handlers,
  HandlerRegistry,
  type IncomingIq,
  type IncomingMessage,
  Inject,
  Iq,
  Logger,
  Message,
  type Middleware,
  type OnStart,
  type OnStop,
  Presence,
  presenceSubscription,
  PresenceRoster,
  rateLimit,
  rateLimited,
  RegistryError,
  Service,
  StanzaError,
  TokenBuckets,
  xml,
} from "annex";
import { createHarness } from "annex/testing";
import { pino } from "pino";
import { unlistedRouteClasses } from "../../src/handlers/registry.js";
import { BUILTIN_NAMES } from "../../src/plugins/index.js";
import { ConfigSchema } from "../../src/config/schema.js";
import { MemoryLink } from "../../src/testing/memory-link.js";

const NS = "urn:test:seams";
const silent = pino({ level: "silent" });

describe("the error catalogue", () => {
  test("every code has exactly one entry, and every entry a known code", () => {
    const codes = Object.values(ErrorCode);
    assert.deepEqual(CATALOGUE.map((e) => e.code).sort(), [...codes].sort());
    assert.equal(new Set(CATALOGUE.map((e) => e.code)).size, CATALOGUE.length);
  });

  test("docs/errors.md carries exactly the catalogue's table (after a change: make build && node scripts/error-table.mjs)", () => {
    const doc = readFileSync("docs/errors.md", "utf8");
    const table = /<!-- error-table:begin -->\n([\s\S]*?)\n<!-- error-table:end -->/.exec(doc)?.[1];
    assert.ok(table, "docs/errors.md has the error-table markers");
    assert.equal(table, errorTableMarkdown());
  });

  test("the error classes carry catalogue codes and are AnnexErrors", () => {
    assert.equal(new ConfigError(["x: bad"]).code, ErrorCode.Config);
    assert.equal(new RegistryError("x").code, ErrorCode.Registry);
    assert.ok(new ConfigError(["x"]) instanceof AnnexError);
  });
});

describe("the stanza pipeline", () => {
  @Component({ identity: { category: "component", type: "generic" } })
  class Plain {
    @Message({ type: "chat", child: "body" })
    echo(msg: IncomingMessage) {
      return msg.reply({ body: msg.body });
    }
  }

  test("inbound middleware sees each stanza before dispatch and can drop it, answer it itself or pass it on", async () => {
    const seen: string[] = [];
    const h = createHarness(Plain, { domain: "p.localhost" });
    h.host.inbound.use(async ({ stanza, send }, next) => {
      seen.push(stanza.attrs.id as string);
      const body = stanza.getChildText("body");
      if (body === "drop") return;
      if (body === "intercept") {
        await send(xml("message", { to: stanza.attrs.from, type: "chat" }, xml("body", {}, "answered by middleware")));
        return;
      }
      await next();
    });
    const msg = (id: string, body: string) => `<message id='${id}' type='chat' from='a@localhost/r'><body>${body}</body></message>`;
    assert.deepEqual(await h.inject(msg("1", "drop")), []);
    const [intercepted] = await h.inject(msg("2", "intercept"));
    assert.equal(intercepted?.getChildText("body"), "answered by middleware");
    assert.equal(intercepted?.attrs.from, "p.localhost", "an answer from middleware is stamped like any other");
    const [echoed] = await h.inject(msg("3", "hello"));
    assert.equal(echoed?.getChildText("body"), "hello");
    assert.deepEqual(seen, ["1", "2", "3"]);
  });

  test("outbound middleware sees every stanza after the from/to checks and before the link, in order", async () => {
    const order: string[] = [];
    const tag = (name: string): Middleware => ({ stanza }, next) => {
      order.push(`${name}:${stanza.attrs.from}`);
      stanza.attrs[`data-${name}`] = "1";
      return next();
    };
    const h = createHarness(Plain, { domain: "p.localhost" });
    h.host.outbound.use(tag("a"), tag("b"));
    const [out] = await h.inject(`<message type='chat' from='a@localhost/r'><body>x</body></message>`);
    assert.deepEqual(order, ["a:p.localhost", "b:p.localhost"]);
    assert.equal(out?.attrs["data-a"], "1");
    assert.equal(out?.attrs["data-b"], "1");
  });

  test("a middleware that calls next() twice gets a clear error and the stanza is not sent twice", async () => {
    const h = createHarness(Plain, { domain: "p.localhost" });
    let second: unknown;
    h.host.outbound.use(async (_p, next) => {
      await next();
      second = await next().catch((err: unknown) => err);
    });
    const out = await h.inject(`<message type='chat' from='a@localhost/r'><body>x</body></message>`);
    assert.equal(out.length, 1);
    assert.match((second as Error).message, /called next\(\) twice/);
  });
});

describe("guards", () => {
  const onlyAlice: GuardFn<IncomingIq | IncomingMessage> = (stanza) => stanza.from.local === "alice";
  const quota: GuardFn = () => {
    throw new StanzaError("policy-violation", "quota used up");
  };

  @Service()
  class Allowlist {
    readonly allowed = new Set(["bob@localhost"]);
  }

  @Service()
  class AllowlistGuard {
    constructor(@Inject(Allowlist) private readonly list: Allowlist) {}
    canHandle(stanza: IncomingMessage): boolean {
      return this.list.allowed.has(stanza.from.bare().toString());
    }
  }

  @Component({ identity: { category: "component", type: "generic" }, providers: [Allowlist] })
  class Guarded {
    runs = 0;
    @Iq({ type: "get", child: "secret", xmlns: NS })
    @Guard(onlyAlice)
    secret() {
      this.runs++;
      return xml("secret", { xmlns: NS }, "42");
    }

    @Iq({ type: "set", child: "spend", xmlns: NS })
    @Guard(quota)
    spend() {
      this.runs++;
    }

    @Message({ type: "chat", child: "body" })
    @Guard(AllowlistGuard)
    chat(msg: IncomingMessage) {
      this.runs++;
      return msg.reply({ body: "ok" });
    }
  }

  test("a refused IQ gets forbidden (or the guard's own StanzaError) and the handler does not run", async () => {
    const refused: string[] = [];
    const h = createHarness(Guarded, { domain: "g.localhost" });
    (h.host.dispatcher as unknown as { deps: { hooks: unknown } }).deps.hooks = { refused: (handler: string) => refused.push(handler) };
    const ok = await h.inject(`<iq type='get' id='1' from='alice@localhost/r'><secret xmlns='${NS}'/></iq>`);
    assert.equal(ok[0]?.attrs.type, "result");
    const [forbidden] = await h.inject(`<iq type='get' id='2' from='mallory@localhost/r'><secret xmlns='${NS}'/></iq>`);
    assert.equal(forbidden?.attrs.type, "error");
    assert.ok(forbidden?.getChild("error")?.getChild("forbidden"), forbidden?.toString());
    const [policy] = await h.inject(`<iq type='set' id='3' from='alice@localhost/r'><spend xmlns='${NS}'/></iq>`);
    assert.ok(policy?.getChild("error")?.getChild("policy-violation"));
    assert.equal(policy?.getChild("error")?.getChildText("text", "urn:ietf:params:xml:ns:xmpp-stanzas"), "quota used up");
    assert.equal(h.host.instance(Guarded).runs, 1);
    assert.deepEqual(refused, ["Guarded.secret", "Guarded.spend"]);
  });

  test("a refused message is dropped without an answer; a guard class is made by the container with its services", async () => {
    const h = createHarness(Guarded, { domain: "g.localhost" });
    assert.deepEqual(await h.inject(`<message type='chat' from='mallory@localhost/r'><body>hi</body></message>`), []);
    const [ok] = await h.inject(`<message type='chat' from='bob@localhost/r'><body>hi</body></message>`);
    assert.equal(ok?.getChildText("body"), "ok");
  });

  test("a class-level guard runs before every handler of the class", async () => {
    @Guard(() => false)
    @Handlers()
    class Closed {
      @Message({ type: "chat", child: "body" })
      chat(msg: IncomingMessage) {
        return msg.reply({ body: "never" });
      }
    }
    @Component({ identity: { category: "component", type: "generic" }, handlers: [Closed] })
    class Shut {}
    const h = createHarness(Shut, { domain: "s.localhost" });
    assert.deepEqual(await h.inject(`<message type='chat' from='a@localhost/r'><body>hi</body></message>`), []);
  });
});

describe("plugins", () => {
  test("the built-ins are plugins and the config's builtins keys are derived from them", () => {
    assert.deepEqual(BUILTIN_NAMES, ["disco", "ping", "version", "time", "caps"]);
    const parsed = ConfigSchema.safeParse({ components: [{ type: "echo", domain: "e.localhost", secret: "s", builtins: { teleport: false } }] });
    assert.equal(parsed.success, false);
    assert.match(JSON.stringify(parsed.error?.issues), /teleport/);
  });

  @Component({ identity: { category: "component", type: "generic" }, plugins: [presenceSubscription()] })
  class Buddy {}

  test("caps: the XEP-0115 §5.2 example's verification string", () => {
    const ver = capsVer([{ category: "client", type: "pc", name: "Exodus 0.9.1" }], [
      "http://jabber.org/protocol/disco#info",
      "http://jabber.org/protocol/disco#items",
      "http://jabber.org/protocol/muc",
      "http://jabber.org/protocol/caps",
    ]);
    assert.equal(ver, "QgayPKawpkPSDYmwT/WM94uAlu0=");
  });

  test("caps: every available presence carries <c/> computed from the registry, and disco#info answers its node#ver", async () => {
    const h = createHarness(Buddy, { domain: "buddy.localhost" });
    const [, available] = await h.inject(`<presence type='subscribe' from='alice@localhost/r'/>`);
    const c = available?.getChild("c", "http://jabber.org/protocol/caps");
    assert.equal(c?.attrs.hash, "sha-1");
    assert.equal(c?.attrs.node, CAPS_NODE);
    const [info] = await h.inject(`<iq type='get' id='caps' from='alice@localhost/r'><query xmlns='http://jabber.org/protocol/disco#info' node='${CAPS_NODE}#${c?.attrs.ver}'/></iq>`);
    const query = info?.getChild("query", "http://jabber.org/protocol/disco#info");
    const features = query?.getChildren("feature").map((f) => f.attrs.var as string) ?? [];
    const identities = query?.getChildren("identity").map((i) => ({ category: i.attrs.category as string, type: i.attrs.type as string, name: i.attrs.name as string | undefined })) ?? [];
    assert.ok(features.includes("urn:xmpp:ping"));
    assert.equal(capsVer(identities, features), c?.attrs.ver, "a client recomputing the ver from disco#info gets the same string");
    const [unsub] = await h.inject(`<presence type='unsubscribe' from='alice@localhost/r'/>`);
    assert.equal(unsub?.getChild("c", "http://jabber.org/protocol/caps"), undefined, "not on unsubscribed");
    const off = createHarness(Buddy, { builtins: { disco: false } });
    const [, plain] = await off.inject(`<presence type='subscribe' from='alice@localhost/r'/>`);
    assert.equal(plain?.getChild("c", "http://jabber.org/protocol/caps"), undefined, "no caps without disco to answer them");
  });

  test("presence-subscription: approves, answers probes, acknowledges unsubscribes, keeps the roster, says unavailable at stop", async () => {
    const h = createHarness(Buddy, { domain: "buddy.localhost" });
    const sub = await h.inject(`<presence type='subscribe' from='alice@localhost/r'/>`);
    assert.deepEqual(sub.map((s) => s.attrs.type ?? "available"), ["subscribed", "available"]);
    const roster = h.host.instance(PresenceRoster);
    assert.ok(roster.has("alice@localhost"));
    const probe = await h.inject(`<presence type='probe' from='alice@localhost'/>`);
    assert.equal(probe[0]?.attrs.type, undefined, "available");
    const unsub = await h.inject(`<presence type='unsubscribe' from='alice@localhost/r'/>`);
    assert.deepEqual(unsub.map((s) => s.attrs.type), ["unsubscribed", "unavailable"]);
    assert.equal(roster.has("alice@localhost"), false);
    await h.inject(`<presence type='subscribe' from='bob@localhost/r'/>`);
    const before = h.sent.length;
    await h.stop();
    const after = h.sent.slice(before);
    // Exactly the addresses still told "available": alice's bare JID (the probe's answer) and bob's resource.
    assert.deepEqual(after.map((s) => [s.attrs.type, s.attrs.to]).sort(), [["unavailable", "alice@localhost"], ["unavailable", "bob@localhost/r"]]);
  });

  test("plugin options come from the config's plugins.<name>, checked by the plugin's schema", async () => {
    const h = createHarness(Buddy, { domain: "buddy.localhost", plugins: { "presence-subscription": { autoAuthorize: false } } });
    const [refusal] = await h.inject(`<presence type='subscribe' from='alice@localhost/r'/>`);
    assert.equal(refusal?.attrs.type, "unsubscribed");
    assert.throws(
      () => createHarness(Buddy, { plugins: { "presence-subscription": { autoAuthorize: "yes" } } }),
      (err: unknown) => err instanceof ConfigError && /plugins\.presence-subscription\.autoAuthorize: expected boolean/.test(err.message),
    );
    assert.throws(
      () => createHarness(Buddy, { plugins: { roster: {} } }),
      (err: unknown) => err instanceof ConfigError && /plugins\.roster: .* has no plugin "roster"/.test(err.message),
    );
  });

  test("a plugin's dependency must be present, and a plugin may be listed once", () => {
    const needsRoster = definePlugin({ name: "greeter", dependencies: ["presence-subscription"] });
    @Component({ identity: { category: "component", type: "generic" }, plugins: [needsRoster] })
    class Lonely {}
    assert.throws(() => HandlerRegistry.build(Lonely), /the plugin "greeter" needs the plugin "presence-subscription"/);
    @Component({ identity: { category: "component", type: "generic" }, plugins: [rateLimit(), rateLimit()] })
    class Twice {}
    assert.throws(() => HandlerRegistry.build(Twice), /lists the plugin "rate-limit" twice/);
  });

  test("rate-limit: token buckets per key, and the rateLimited guard drops what is over budget", async () => {
    let now = 0;
    const buckets = new TokenBuckets({ perSecond: 2, burst: 3 }, () => now);
    assert.deepEqual([1, 2, 3, 4].map(() => buckets.take("a")), [true, true, true, false]);
    assert.equal(buckets.take("b"), true, "another key has its own bucket");
    now += 500;
    assert.equal(buckets.take("a"), true, "one token back after half a second at 2/s");

    @Component({ identity: { category: "component", type: "generic" }, plugins: [rateLimit()] })
    class Chatty {
      @Message({ type: "chat", child: "body" })
      @Guard(rateLimited("chat", { perSecond: 1, burst: 2 }))
      chat(msg: IncomingMessage) {
        return msg.reply({ body: "ok" });
      }
    }
    const h = createHarness(Chatty, { domain: "c.localhost" });
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push((await h.inject(`<message type='chat' from='a@localhost/r'><body>${i}</body></message>`)).length);
    assert.deepEqual(answers, [1, 1, 0, 0]);
  });
});

describe("errors a developer can act on", () => {
  test("a constructor parameter without type metadata is a RegistryError naming the class, the position and both fixes", () => {
    @Component({ identity: { category: "component", type: "generic" } })
    class NoMetadata {
      constructor(readonly log: Logger) {}
    }
    // What esbuild, tsx or tsc without emitDecoratorMetadata leave behind: no design:paramtypes.
    Reflect.deleteMetadata("design:paramtypes", NoMetadata);
    assert.throws(
      () => createHarness(NoMetadata),
      (err: unknown) =>
        err instanceof RegistryError &&
        err.code === ErrorCode.Registry &&
        /^NoMetadata: constructor parameter 1 of 1 has no type metadata .*emitDecoratorMetadata.*@Inject\(Token\)/.test(err.message) &&
        !err.message.includes("\n"),
    );
  });

  test("a type-only import (run-time type Object) is caught the same way; @Inject(Token) fixes both", async () => {
    @Component({ identity: { category: "component", type: "generic" } })
    class TypeOnly {
      constructor(readonly log: Logger) {}
    }
    Reflect.defineMetadata("design:paramtypes", [Object], TypeOnly);
    assert.throws(() => HandlerRegistry.build(TypeOnly), /TypeOnly: constructor parameter 1 of 1 has the run-time type Object/);

    @Component({ identity: { category: "component", type: "generic" } })
    class Explicit {
      constructor(@Inject(Logger) readonly log: Logger, @Inject(ComponentConfig) readonly config: ComponentConfig) {}
      @Iq({ type: "get", child: "who", xmlns: NS })
      who() {
        return xml("who", { xmlns: NS }, this.config.domain);
      }
    }
    Reflect.deleteMetadata("design:paramtypes", Explicit);
    const h = createHarness(Explicit, { domain: "x.localhost" });
    const [reply] = await h.inject(`<iq type='get' id='1'><who xmlns='${NS}'/></iq>`);
    assert.equal(reply?.getChildText("who", NS), "x.localhost");
  });

  test("a second message or presence route with the same filter is a RegistryError, like a duplicate IQ route", () => {
    @Component({ identity: { category: "component", type: "generic" } })
    class TwoChats {
      @Message({ type: "chat", child: "body" })
      a() {}
      @Message({ type: ["chat", "normal"], child: "body" })
      b() {}
    }
    assert.throws(() => HandlerRegistry.build(TwoChats), /two handlers for message chat <body>: TwoChats\.a and TwoChats\.b/);
    @Component({ identity: { category: "component", type: "generic" } })
    class TwoProbes {
      @Presence({ type: "probe" })
      a() {}
      @Presence({ type: "probe" })
      b() {}
    }
    assert.throws(() => HandlerRegistry.build(TwoProbes), /two handlers for presence probe: TwoProbes\.a and TwoProbes\.b/);
    @Component({ identity: { category: "component", type: "generic" } })
    class Distinct {
      @Message({ type: "chat", child: "body" })
      a() {}
      @Message({ type: "chat", child: "composing" })
      b() {}
    }
    assert.doesNotThrow(() => HandlerRegistry.build(Distinct));
  });

  test("a component route with a built-in's filter replaces the built-in (no duplicate error)", async () => {
    @Component({ identity: { category: "component", type: "generic" } })
    class OwnPing {
      @Iq({ type: "get", child: "ping", xmlns: "urn:xmpp:ping" })
      ping() {
        return xml("pong", { xmlns: NS });
      }
    }
    const h = createHarness(OwnPing);
    const [reply] = await h.inject(`<iq type='get' id='p'><ping xmlns='urn:xmpp:ping'/></iq>`);
    assert.ok(reply?.getChild("pong", NS));
  });

  test("route-less classes are services: listing one in handlers (or a routed class in providers) says which list is right", () => {
    @Service()
    class Store {}
    @Handlers()
    class NoRoutes {}
    @Component({ identity: { category: "component", type: "generic" }, handlers: [Store] })
    class A {}
    assert.throws(() => HandlerRegistry.build(A), /lists the @Service\(\) Store in handlers: list it in providers instead/);
    @Component({ identity: { category: "component", type: "generic" }, handlers: [NoRoutes] })
    class B {}
    assert.throws(() => HandlerRegistry.build(B), /NoRoutes in handlers, but it has no routes: mark it @Service\(\) and list it in providers/);
  });

  test("a class with routes that no component lists is found (the runner warns about it at start)", () => {
    @Handlers()
    class Forgotten {
      @Message({ type: "chat", child: "forgotten" })
      lost() {}
    }
    @Component({ identity: { category: "component", type: "generic" } })
    class Unrelated {}
    HandlerRegistry.build(Unrelated);
    // The registry learns of routed classes when any registry reads them; decorating is enough to be listed here.
    HandlerRegistry.build(componentListing(Forgotten));
    assert.ok(!unlistedRouteClasses().includes(Forgotten), "listed by a component: not reported");
    @Handlers()
    class Stray {
      @Message({ type: "chat", child: "stray" })
      lost() {}
    }
    assert.ok(unlistedRouteClasses().includes(Stray), "Stray is reported");
  });

  test("an IQ handler returning a whole <iq/>, or any handler returning a non-element, is a clear error naming the handler", async () => {
    const logged: { msg?: string; err?: { code?: string; message?: string } }[] = [];
    @Component({ identity: { category: "component", type: "generic" } })
    class Sloppy {
      @Iq({ type: "get", child: "whole", xmlns: NS })
      whole(iq: IncomingIq): Element {
        return xml("iq", { type: "result", id: iq.id }, xml("whole", { xmlns: NS }));
      }
      @Message({ type: "chat", child: "body" })
      text(): Element {
        return "hello" as unknown as Element;
      }
    }
    const log = pino({ level: "error" }, { write: (line: string) => logged.push(JSON.parse(line)) });
    const host = new ComponentHost({ component: Sloppy, domain: "s.localhost", log });
    const sent: Element[] = [];
    const link = new MemoryLink("s.localhost", (s) => sent.push(s));
    bindLink(host, link);
    link.state = "online";
    await host.receive(xml("iq", { type: "get", id: "1", from: "a@localhost/r", to: "s.localhost" }, xml("whole", { xmlns: NS })));
    assert.equal(sent[0]?.attrs.type, "error");
    assert.ok(sent[0]?.getChild("error")?.getChild("internal-server-error"));
    assert.equal(sent[0]?.getChildren("iq").length, 0, "no iq nested in an iq");
    await host.receive(xml("message", { type: "chat", from: "a@localhost/r", to: "s.localhost" }, xml("body", {}, "hi")));
    const codes = logged.map((l) => l.err?.code);
    assert.deepEqual(codes, [ErrorCode.HandlerResult, ErrorCode.HandlerResult]);
    assert.match(logged[0]!.err!.message!, /^Sloppy\.whole returned a whole <iq\/>: return only the payload/);
    assert.match(logged[1]!.err!.message!, /^Sloppy\.text returned a string \("hello"\): return a stanza/);
  });
});

describe("lifecycle", () => {
  const events: string[] = [];
  @Service()
  class First implements OnStart, OnStop {
    onStart() {
      events.push("first:start");
    }
    onStop() {
      events.push("first:stop");
    }
  }
  @Service()
  class Broken implements OnStart, OnStop {
    onStart() {
      throw new Error("cannot open the database");
    }
    onStop() {
      events.push("broken:stop");
    }
  }
  @Component({ identity: { category: "component", type: "generic" }, providers: [First, Broken] })
  class Fragile {}

  test("an onStart failure stops the start: what started is stopped, what never started is not, and stop() then does nothing", async () => {
    events.length = 0;
    const h = createHarness(Fragile);
    await assert.rejects(h.start(), /cannot open the database/);
    assert.deepEqual(events, ["first:start", "first:stop"]);
    await h.stop();
    assert.deepEqual(events, ["first:start", "first:stop"], "nothing stopped twice, nothing that never started");
  });

  test("bindLink: the link's online/offline become the host's hooks; unbinding makes sends fail with LINK_DOWN", async () => {
    const seen: string[] = [];
    @Service()
    class Watcher {
      onOnline() {
        seen.push("online");
      }
      onOffline(reason: string) {
        seen.push(`offline:${reason}`);
      }
    }
    @Component({ identity: { category: "component", type: "generic" }, providers: [Watcher] })
    class Watched {}
    const host = new ComponentHost({ component: Watched, domain: "w.localhost", log: silent });
    const link = new MemoryLink("w.localhost", () => undefined);
    const binding = bindLink(host, link);
    await host.start();
    await link.start();
    await new Promise((r) => setImmediate(r));
    link.drop("socket closed");
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(seen, ["online", "offline:socket closed"]);
    binding.unbind();
    await assert.rejects(host.sender.send(xml("message", { to: "a@localhost" })), { code: ErrorCode.LinkDown });
    assert.throws(() => bindLink(host, new MemoryLink("other.localhost", () => undefined)), /cannot bind the component of w.localhost to a link for other.localhost/);
  });
});

function componentListing(cls: new (...args: never[]) => unknown) {
  @Component({ identity: { category: "component", type: "generic" }, handlers: [cls] })
  class Lister {}
  return Lister;
}
