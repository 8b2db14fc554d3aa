import { AsyncResource } from "node:async_hooks";
import { errors } from "../errors.js";
import type { HandlerRegistry, Route } from "../handlers/registry.js";
import type { Guard, GuardContext, HandlerClass } from "../handlers/metadata.js";
import type { ComponentConfig, Logger } from "../handlers/tokens.js";
import { StanzaError } from "../stanza/errors.js";
import { parseJid, tryParseJid } from "../stanza/jid.js";
import { stanzaForLog } from "../stanza/log.js";
import { type Element, xml } from "../stanza/xml.js";
import { type Incoming, IncomingIq, IncomingMessage, IncomingPresence, type StanzaContext } from "./incoming.js";
import type { IqCaller } from "./iq-caller.js";
import type { Sender } from "./sender.js";

export interface DispatcherDeps {
  registry: HandlerRegistry;
  /** Returns the (container-made) instance of a handler class. */
  instanceOf: (cls: HandlerClass) => object;
  /** Resolves a token from the component's container (for guards). */
  resolve: GuardContext["resolve"];
  sender: Sender;
  iqCaller: IqCaller;
  config: ComponentConfig;
  log: Logger;
  /** Handlers allowed to run at once (default 64); further stanzas wait in a queue. */
  maxInFlight?: number;
  /** Stanzas allowed to wait for a handler slot (default 1024); beyond, IQ requests get resource-constraint. */
  maxQueued?: number;
  /** Told about every handler run, guard refusal and overload (metrics). */
  hooks?: DispatchHooks;
}

/** What dispatch reports as it goes (the metrics plug in here; errors sent are seen by outbound middleware). */
export interface DispatchHooks {
  handled?(handler: string, kind: string, seconds: number, outcome: "ok" | "error"): void;
  /** A guard refused a stanza for `handler` (a message or presence is then dropped; an IQ gets the error). */
  refused?(handler: string, kind: string): void;
  overloaded?(kind: string): void;
}

export const DEFAULT_MAX_IN_FLIGHT = 64;
export const DEFAULT_MAX_QUEUED = 1024;

/**
 * A stanza waiting for a handler slot. It keeps the async context it arrived in (so context-bound tracing and
 * the harness's AsyncLocalStorage follow it) as a plain AsyncResource: `AsyncResource.bind` would also define
 * a deprecated accessor pair per call, which was most of the queued path's extra cost (bench/findings.md).
 */
class Waiting extends AsyncResource {
  done: () => void = noop;
  constructor(readonly stanza: Element) {
    super("annex.stanza");
  }
}

function noop(): void {}

type HandlerResult = Element | Element[] | undefined | void;

/** Returned by a guard run: undefined = pass; otherwise why not. */
type Refusal = { error?: StanzaError } | undefined;

/**
 * stanza -> handler -> reply. The reply rules live here and nowhere else:
 * exactly one reply to every IQ get/set, none to a result or an error.
 */
export class Dispatcher {
  private accepting = true;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly waiting: Waiting[] = [];
  private readonly maxInFlight: number;
  private readonly maxQueued: number;

  constructor(private readonly deps: DispatcherDeps) {
    this.maxInFlight = deps.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT;
    this.maxQueued = deps.maxQueued ?? DEFAULT_MAX_QUEUED;
  }

  get inFlightCount(): number {
    return this.inFlight.size;
  }

  get queuedCount(): number {
    return this.waiting.length;
  }

  /**
   * Handles one received stanza; resolves when its handler (and reply) are done. Never rejects.
   * At most maxInFlight handlers run at once; the next maxQueued stanzas wait their turn in order
   * (a burst in one TCP read is normal); past that the component is overloaded.
   */
  dispatch(stanza: Element): Promise<void> {
    // Responses settle our own requests: cheap, and holding them back could deadlock a handler waiting for one.
    if (isResponse(stanza) || (this.inFlight.size < this.maxInFlight && this.waiting.length === 0)) return this.run(stanza);
    if (this.waiting.length >= this.maxQueued) return this.overloaded(stanza);
    const waiting = new Waiting(stanza);
    this.waiting.push(waiting);
    return new Promise((done) => {
      waiting.done = done;
    });
  }

  private run(stanza: Element): Promise<void> {
    const task = this.handle(stanza).catch((err: unknown) => {
      this.deps.log.error({ err, stanza: stanzaForLog(stanza) }, "dispatch failed");
    });
    this.inFlight.add(task);
    void task.finally(() => {
      this.inFlight.delete(task);
      this.pump();
    });
    return task;
  }

  private runWaiting(waiting: Waiting): void {
    void this.run(waiting.stanza).then(waiting.done);
  }

  private pump(): void {
    while (this.waiting.length > 0 && (this.inFlight.size < this.maxInFlight || !this.accepting)) {
      const next = this.waiting.shift() as Waiting;
      next.runInAsyncScope(this.runWaiting, this, next);
    }
  }

  /**
   * Handlers busy and the queue full: answer an IQ request at once with a wait-type resource-constraint
   * (RFC 6120 §8.3.3.18; the sender may retry later) instead of piling it up; drop other stanzas (counted).
   */
  private async overloaded(stanza: Element): Promise<void> {
    this.deps.hooks?.overloaded?.(stanza.name);
    const type = stanza.attrs.type as string | undefined;
    const from = stanza.attrs.from as string | undefined;
    if (stanza.name !== "iq" || (type !== "get" && type !== "set") || !from) {
      this.deps.log.debug({ kind: stanza.name, from }, "overloaded: dropped");
      return;
    }
    const error = new StanzaError("resource-constraint", { type: "wait", text: "too many requests in progress; retry later" });
    const reply = xml("iq", { type: "error", id: stanza.attrs.id as string | undefined, from: (stanza.attrs.to as string | undefined) ?? this.deps.config.domain, to: from }, error.toElement());
    await this.deps.sender.send(reply).catch((err: unknown) => this.deps.log.debug({ err }, "could not send resource-constraint"));
  }

  /**
   * From now on IQ requests are answered service-unavailable and other stanzas dropped (shutdown);
   * the queued ones get the same answer right away.
   */
  stopAccepting(): void {
    this.accepting = false;
    this.pump();
  }

  /** Waits for handlers in flight, up to the deadline; returns how many were still running. */
  async drain(deadlineMs: number): Promise<number> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, deadlineMs);
    });
    await Promise.race([Promise.allSettled([...this.inFlight]), deadline]);
    clearTimeout(timer);
    return this.inFlight.size;
  }

  private async handle(stanza: Element): Promise<void> {
    const { log, config } = this.deps;
    if (stanza.name !== "message" && stanza.name !== "presence" && stanza.name !== "iq") {
      log.debug({ name: stanza.name }, "ignored non-stanza element");
      return;
    }
    const from = tryParseJid(stanza.attrs.from as string | undefined);
    if (!from) {
      // Nothing can be answered without a sender; the server always stamps one (RFC 6120 §8.1.2.1).
      log.warn({ stanza: stanzaForLog(stanza) }, "dropped stanza without a valid 'from'");
      return;
    }
    const to = tryParseJid(stanza.attrs.to as string | undefined) ?? parseJid(config.domain);
    const context: StanzaContext = { log: () => log.child({ id: stanza.attrs.id, from: from.toString(), kind: stanza.name }) as Logger, sender: this.deps.sender, config };
    const addresses = { from, to };

    if (stanza.name === "iq") return this.handleIq(stanza, new IncomingIq(stanza, addresses, context));
    const incoming = stanza.name === "message" ? new IncomingMessage(stanza, addresses, context) : new IncomingPresence(stanza, addresses, context);
    return this.handleOther(stanza, incoming);
  }

  private async handleIq(stanza: Element, iq: IncomingIq): Promise<void> {
    const type = stanza.attrs.type as string | undefined;
    if (type === "result" || type === "error") {
      // RFC 6120 §8.2.3: never answer a response. It settles one of our requests, or is dropped.
      if (!this.deps.iqCaller.settle(stanza)) iq.log.debug("dropped IQ response that matches no request of ours");
      return;
    }
    if (type !== "get" && type !== "set") {
      return this.replyIqError(iq, new StanzaError("bad-request", `IQ type must be get, set, result or error, not ${JSON.stringify(type ?? "")}`));
    }
    // RFC 6120 §8.2.3: an IQ get/set MUST contain exactly one child element.
    const children = stanza.getChildElements().length;
    if (children !== 1) {
      return this.replyIqError(iq, new StanzaError("bad-request", `an IQ ${type} must have exactly one child element, this one has ${children}`));
    }
    if (!this.accepting) return this.replyIqError(iq, new StanzaError("service-unavailable", "the component is shutting down"));
    const route = this.deps.registry.match(stanza);
    // RFC 6120 §8.4: no handler for the namespace -> service-unavailable.
    if (!route) return this.replyIqError(iq, new StanzaError("service-unavailable"));
    let payload: Element | null;
    try {
      const refusal = await this.guard(route, iq);
      // A refused IQ still gets exactly one reply: the guard's error, or forbidden (RFC 6120 §8.3.3.6).
      if (refusal) return this.replyIqError(iq, refusal.error ?? new StanzaError("forbidden"));
      payload = iqPayload(handlerName(route), await this.invoke(route, iq));
    } catch (err) {
      return this.replyIqError(iq, this.toStanzaError(err, iq, route));
    }
    const result = xml("iq", { type: "result", id: iq.id, from: iq.to.toString(), to: iq.from.toString() }, payload);
    await this.deps.sender.sendBuilt(result, iq.to);
  }

  private async handleOther(stanza: Element, incoming: IncomingMessage | IncomingPresence): Promise<void> {
    if (!this.accepting) return;
    const route = this.deps.registry.match(stanza);
    if (!route) {
      // RFC 6121 §8.5.2.1: a message or presence nobody handles may be silently ignored.
      incoming.log.debug({ type: incoming.type }, `no handler for this ${stanza.name}`);
      return;
    }
    let result: Element[];
    try {
      const refusal = await this.guard(route, incoming);
      if (refusal && !refusal.error) {
        incoming.log.debug({ handler: handlerName(route) }, "refused by a guard: dropped");
        return;
      }
      if (refusal?.error) throw refusal.error;
      result = stanzasOut(handlerName(route), await this.invoke(route, incoming));
    } catch (err) {
      const error = this.toStanzaError(err, incoming, route);
      // Never answer an error with an error (RFC 6120 §8.3.1).
      if (incoming.type === "error") return;
      const reply = xml(stanza.name, { type: "error", id: incoming.id, from: incoming.to.toString(), to: incoming.from.toString() }, error.toElement());
      await this.deps.sender.sendBuilt(reply, incoming.to);
      return;
    }
    for (const out of result) await this.deps.sender.send(out);
  }

  /** Runs the route's guards in order; the first that says no decides. */
  private async guard(route: Route, incoming: Incoming): Promise<Refusal> {
    if (route.guards.length === 0) return undefined;
    const instance = this.deps.instanceOf(route.owner);
    for (const guard of route.guards) {
      let allowed: boolean;
      try {
        // Most guards answer at once; awaiting a plain boolean would still cost a promise per stanza.
        const verdict = this.runGuard(guard, incoming, instance);
        allowed = typeof verdict === "boolean" ? verdict : await verdict;
      } catch (err) {
        if (!(err instanceof StanzaError)) throw err;
        this.deps.hooks?.refused?.(handlerName(route), route.kind);
        return { error: err };
      }
      if (!allowed) {
        this.deps.hooks?.refused?.(handlerName(route), route.kind);
        return {};
      }
    }
    return undefined;
  }

  private runGuard(guard: Guard, incoming: Incoming, instance: object): boolean | Promise<boolean> {
    if (typeof (guard as { prototype?: { canHandle?: unknown } }).prototype?.canHandle === "function") {
      return (this.deps.resolve(guard as HandlerClass) as { canHandle(s: Incoming): boolean | Promise<boolean> }).canHandle(incoming);
    }
    return (guard as (s: Incoming, c: GuardContext) => boolean | Promise<boolean>)(incoming, { instance, resolve: this.deps.resolve });
  }

  private async invoke(route: Route, incoming: Incoming): Promise<HandlerResult> {
    const instance = this.deps.instanceOf(route.owner) as Record<string | symbol, (arg: Incoming) => unknown>;
    const method = instance[route.method];
    if (typeof method !== "function") throw new Error(`${route.owner.name}.${String(route.method)} is not a method`);
    const started = performance.now();
    let outcome: "ok" | "error" = "error";
    try {
      const result = (await method.call(instance, incoming)) as HandlerResult;
      outcome = "ok";
      return result;
    } finally {
      const seconds = (performance.now() - started) / 1000;
      this.deps.hooks?.handled?.(handlerName(route), route.kind, seconds, outcome);
    }
  }

  private toStanzaError(err: unknown, incoming: Incoming, route: Route): StanzaError {
    if (err instanceof StanzaError) {
      incoming.log.debug({ condition: err.condition }, "handler answered with a stanza error");
      return err;
    }
    incoming.log.error({ err, handler: `${route.owner.name}.${String(route.method)}` }, "handler threw");
    return new StanzaError("internal-server-error");
  }

  private async replyIqError(iq: IncomingIq, error: StanzaError): Promise<void> {
    const reply = xml("iq", { type: "error", id: iq.id, from: iq.to.toString(), to: iq.from.toString() }, error.toElement());
    await this.deps.sender.sendBuilt(reply, iq.to);
  }
}

function isResponse(stanza: Element): boolean {
  return stanza.name === "iq" && (stanza.attrs.type === "result" || stanza.attrs.type === "error");
}

function handlerName(route: Route): string {
  return `${route.owner.name}.${String(route.method)}`;
}

function isElement(x: unknown): x is Element {
  // Duck-typed: an element made by another copy of ltx is still an element.
  const e = x as Partial<Element> | null;
  return typeof e === "object" && e !== null && typeof e.name === "string" && typeof e.attrs === "object" && typeof e.getChildElements === "function";
}

function describe(x: unknown): string {
  if (x === null) return "null";
  if (Array.isArray(x)) return `a list (${x.length} items)`;
  if (typeof x === "string") return `a string (${JSON.stringify(x.length > 40 ? `${x.slice(0, 37)}...` : x)})`;
  return typeof x === "object" ? `an object that is not an element (${(x as object).constructor?.name ?? "Object"})` : `a ${typeof x}`;
}

/** RFC 6120 §8.2.3: an IQ result carries zero or one payload element; the dispatcher builds the <iq/> itself. */
function iqPayload(handler: string, result: unknown): Element | null {
  if (result === undefined || result === null) return null;
  if (!isElement(result)) {
    throw errors.handlerResult(handler, describe(result), "an IQ handler returns the result's payload element, or nothing for an empty result");
  }
  if (result.name === "iq") {
    throw errors.handlerResult(handler, "a whole <iq/>", "return only the payload (e.g. <query/>); the dispatcher wraps it in the result IQ with the request's id");
  }
  return result;
}

/** A message or presence handler returns stanzas to send: one, a list, or nothing. */
function stanzasOut(handler: string, result: unknown): Element[] {
  if (result === undefined || result === null) return [];
  const list = Array.isArray(result) ? result : [result];
  const bad = list.find((x) => !isElement(x) || (x.name !== "message" && x.name !== "presence" && x.name !== "iq"));
  if (bad !== undefined) {
    const what = isElement(bad) ? `a <${bad.name}/> element, which is not a stanza` : describe(bad);
    throw errors.handlerResult(handler, what, "return a stanza (e.g. msg.reply({ body })), a list of stanzas, or nothing");
  }
  return list as Element[];
}

