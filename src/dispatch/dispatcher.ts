import { AsyncResource } from "node:async_hooks";
import { errors } from "../errors.js";
import type { HandlerRegistry, Route } from "../handlers/registry.js";
import type { Guard, GuardContext, HandlerClass } from "../handlers/metadata.js";
import type { ComponentConfig, Logger } from "../handlers/tokens.js";
import { StanzaError } from "../stanza/errors.js";
import { type JID, parseJid, tryParseAddress, tryParseJid } from "../stanza/jid.js";
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

  private readonly domainJid: JID;

  constructor(private readonly deps: DispatcherDeps) {
    this.domainJid = parseJid(deps.config.domain);
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
    let outcome: void | Promise<void>;
    try {
      outcome = this.handle(stanza);
    } catch (err) {
      this.failed(err, stanza);
      return DONE;
    }
    // Handled already (a synchronous guard and handler, nothing to send or sent without waiting): it held no slot.
    if (!isPromiseLike(outcome)) return DONE;
    const task = Promise.resolve(outcome).catch((err: unknown) => this.failed(err, stanza));
    this.inFlight.add(task);
    void task.finally(() => {
      this.inFlight.delete(task);
      this.pump();
    });
    return task;
  }

  private failed(err: unknown, stanza: Element): void {
    this.deps.log.error({ err, stanza: stanzaForLog(stanza) }, "dispatch failed");
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

  /**
   * Synchronous until something really waits (an async guard or handler, a send whose result is awaited): most
   * stanzas are handled within the call, without a promise and a microtask per layer (bench/findings.md).
   */
  private handle(stanza: Element): void | Promise<void> {
    const { log, config } = this.deps;
    if (stanza.name !== "message" && stanza.name !== "presence" && stanza.name !== "iq") {
      log.debug({ name: stanza.name }, "ignored non-stanza element");
      return;
    }
    const fromAttr = stanza.attrs.from as string | undefined;
    const parsedFrom = tryParseAddress(fromAttr);
    if (!parsedFrom) {
      // Nothing can be answered without a sender; the server always stamps one (RFC 6120 §8.1.2.1).
      log.warn({ stanza: stanzaForLog(stanza) }, "dropped stanza without a valid 'from'");
      return;
    }
    // The cache's flat copy of the address (same characters): handlers' maps keyed by it find it at once.
    if (parsedFrom.address !== fromAttr) stanza.attrs.from = parsedFrom.address;
    const from = parsedFrom.jid;
    // Addressed to the component's domain itself (most stanzas): the JID parsed once, no cache lookup.
    const toAttr = stanza.attrs.to as string | undefined;
    const to = toAttr === config.domain ? this.domainJid : (tryParseJid(toAttr) ?? this.domainJid);
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
      payload = iqPayload(route.label, await this.invoke(route, iq));
    } catch (err) {
      return this.replyIqError(iq, this.toStanzaError(err, iq, route));
    }
    const result = xml("iq", { type: "result", id: iq.id, from: iq.to.toString(), to: iq.from.toString() }, payload);
    await this.deps.sender.sendBuilt(result, iq.to);
  }

  // handleOther → otherGuarded → otherAnswered: each step runs the next one at once when its value is there and
  // only chains on a promise. The steps repeat that shape on purpose: a shared "value or promise, then" helper
  // would allocate its continuation closures for every stanza, which is what this path avoids.
  private handleOther(stanza: Element, incoming: IncomingMessage | IncomingPresence): void | Promise<void> {
    if (!this.accepting) return;
    const route = this.deps.registry.match(stanza);
    if (!route) {
      // RFC 6121 §8.5.2.1: a message or presence nobody handles may be silently ignored.
      incoming.log.debug({ type: incoming.type }, `no handler for this ${stanza.name}`);
      return;
    }
    let refusal: Refusal | Promise<Refusal>;
    try {
      refusal = this.guard(route, incoming);
    } catch (err) {
      return this.otherFailed(stanza, incoming, route, err);
    }
    if (isPromiseLike(refusal)) {
      return refusal.then((r) => this.otherGuarded(stanza, incoming, route, r), (err: unknown) => this.otherFailed(stanza, incoming, route, err));
    }
    return this.otherGuarded(stanza, incoming, route, refusal);
  }

  private otherGuarded(stanza: Element, incoming: IncomingMessage | IncomingPresence, route: Route, refusal: Refusal): void | Promise<void> {
    if (refusal && !refusal.error) {
      incoming.log.debug({ handler: route.label }, "refused by a guard: dropped");
      return;
    }
    let result: HandlerResult | Promise<HandlerResult>;
    try {
      if (refusal?.error) throw refusal.error;
      result = this.invoke(route, incoming);
    } catch (err) {
      return this.otherFailed(stanza, incoming, route, err);
    }
    if (isPromiseLike(result)) {
      return result.then((r) => this.otherAnswered(stanza, incoming, route, r), (err: unknown) => this.otherFailed(stanza, incoming, route, err));
    }
    return this.otherAnswered(stanza, incoming, route, result);
  }

  private otherAnswered(stanza: Element, incoming: IncomingMessage | IncomingPresence, route: Route, result: HandlerResult): void | Promise<void> {
    let out: Element[];
    try {
      out = stanzasOut(route.label, result);
    } catch (err) {
      return this.otherFailed(stanza, incoming, route, err);
    }
    if (out.length === 1) return this.deps.sender.send(out[0]!);
    if (out.length > 1) return this.sendInOrder(out);
  }

  /** A handler's stanzas, each sent once the one before it was taken (a refused one stops the rest). */
  private async sendInOrder(out: Element[]): Promise<void> {
    for (const stanza of out) await this.deps.sender.send(stanza);
  }

  private otherFailed(stanza: Element, incoming: IncomingMessage | IncomingPresence, route: Route, err: unknown): void | Promise<void> {
    const error = this.toStanzaError(err, incoming, route);
    // Never answer an error with an error (RFC 6120 §8.3.1).
    if (incoming.type === "error") return;
    const reply = xml(stanza.name, { type: "error", id: incoming.id, from: incoming.to.toString(), to: incoming.from.toString() }, error.toElement());
    return this.deps.sender.sendBuilt(reply, incoming.to);
  }

  /** Runs the route's guards in order; the first that says no decides. Synchronous while the guards are. */
  private guard(route: Route, incoming: Incoming): Refusal | Promise<Refusal> {
    if (route.guards.length === 0) return undefined;
    return this.guardFrom(route, incoming, this.deps.instanceOf(route.owner), 0);
  }

  private guardFrom(route: Route, incoming: Incoming, instance: object, start: number): Refusal | Promise<Refusal> {
    for (let i = start; i < route.guards.length; i++) {
      let verdict: boolean | Promise<boolean>;
      try {
        verdict = this.runGuard(route.guards[i]!, incoming, instance);
      } catch (err) {
        return this.guardThrew(route, err);
      }
      if (isPromiseLike(verdict)) {
        return Promise.resolve(verdict).then((allowed) => (allowed ? this.guardFrom(route, incoming, instance, i + 1) : this.refuse(route)), (err: unknown) => this.guardThrew(route, err));
      }
      if (!verdict) return this.refuse(route);
    }
    return undefined;
  }

  private refuse(route: Route, error?: StanzaError): Refusal {
    this.deps.hooks?.refused?.(route.label, route.kind);
    return error ? { error } : {};
  }

  /** A guard that throws a StanzaError refuses with it; anything else it throws is a failure of the handler. */
  private guardThrew(route: Route, err: unknown): Refusal {
    if (!(err instanceof StanzaError)) throw err;
    return this.refuse(route, err);
  }

  private runGuard(guard: Guard, incoming: Incoming, instance: object): boolean | Promise<boolean> {
    if (typeof (guard as { prototype?: { canHandle?: unknown } }).prototype?.canHandle === "function") {
      return (this.deps.resolve(guard as HandlerClass) as { canHandle(s: Incoming): boolean | Promise<boolean> }).canHandle(incoming);
    }
    return (guard as (s: Incoming, c: GuardContext) => boolean | Promise<boolean>)(incoming, { instance, resolve: this.deps.resolve });
  }

  private invoke(route: Route, incoming: Incoming): HandlerResult | Promise<HandlerResult> {
    const instance = this.deps.instanceOf(route.owner) as Record<string | symbol, (arg: Incoming) => unknown>;
    const method = instance[route.method];
    if (typeof method !== "function") throw new Error(`${route.owner.name}.${String(route.method)} is not a method`);
    const started = performance.now();
    let result: unknown;
    try {
      result = method.call(instance, incoming);
    } catch (err) {
      this.handled(route, started, "error");
      throw err;
    }
    if (isPromiseLike(result)) {
      return Promise.resolve(result).then(
        (value) => {
          this.handled(route, started, "ok");
          return value as HandlerResult;
        },
        (err: unknown) => {
          this.handled(route, started, "error");
          throw err;
        },
      );
    }
    this.handled(route, started, "ok");
    return result as HandlerResult;
  }

  private handled(route: Route, started: number, outcome: "ok" | "error"): void {
    this.deps.hooks?.handled?.(route.label, route.kind, (performance.now() - started) / 1000, outcome);
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

/** What a stanza that was handled within the call returns. */
const DONE: Promise<void> = Promise.resolve();

/** A promise (or any thenable) rather than a value: only then is there anything to wait for. */
function isPromiseLike<T>(x: T | PromiseLike<T>): x is Promise<T> {
  return typeof x === "object" && x !== null && typeof (x as { then?: unknown }).then === "function";
}

function isResponse(stanza: Element): boolean {
  return stanza.name === "iq" && (stanza.attrs.type === "result" || stanza.attrs.type === "error");
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

