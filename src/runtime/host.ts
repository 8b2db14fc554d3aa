import "reflect-metadata";
import type { Logger as PinoLogger } from "pino";
import { container as rootContainer, type InjectionToken } from "tsyringe";
import { type BuiltinName, builtinClasses, DiscoCatalog } from "../builtins/index.js";
import { errors } from "../dispatch/errors.js";
import { type DispatchObserver, Dispatcher } from "../dispatch/dispatcher.js";
import { IqCaller } from "../dispatch/iq-caller.js";
import { Sender, type Transport } from "../dispatch/sender.js";
import type { HandlerClass } from "../handlers/metadata.js";
import { HandlerRegistry } from "../handlers/registry.js";
import { ComponentConfig, Logger } from "../handlers/tokens.js";
import { xml, type Element } from "../stanza/xml.js";
import { validateOptions } from "./options.js";
import { HostedComponents } from "./hosted.js";
import { Metrics, Registry } from "../ops/metrics.js";
import { hasOnOffline, hasOnOnline, hasOnStart, hasOnStop } from "./lifecycle.js";

export interface HostOptions {
  component: HandlerClass;
  domain: string;
  /** How the config names this component type (for logs and ComponentConfig). */
  type?: string;
  /** The raw `options` object; validated by the component's schema. */
  options?: unknown;
  /** Where in the config the options came from, for error messages. */
  optionsPath?: string;
  log: PinoLogger;
  transport: Transport;
  builtins?: Partial<Record<BuiltinName, boolean>>;
  iqTimeoutMs?: number;
  /** This component's log level, if not the process's. */
  logLevel?: string;
  /** Handlers allowed to run at once for this component. */
  maxInFlight?: number;
  /** Stanzas allowed to wait for a handler slot. */
  maxQueued?: number;
  observer?: DispatchObserver;
  /** Where the component's own metrics go; default a registry of its own. */
  metrics?: Metrics;
  /** The process's list of components, shared by every host of a runner; default: this one alone. */
  hosted?: HostedComponents;
}

/**
 * One running component: its own DI child container, its registry, dispatcher and sender.
 * The same host runs under the server link and under the unit-test harness.
 */
export class ComponentHost {
  readonly registry: HandlerRegistry;
  readonly dispatcher: Dispatcher;
  readonly sender: Sender;
  readonly iqCaller: IqCaller;
  readonly config: ComponentConfig;
  readonly log: PinoLogger;
  /** The component's instance of a handler class: made by the container once, then looked up. */
  private readonly instanceOf: (cls: HandlerClass) => object;
  private started = false;

  constructor(options: HostOptions) {
    this.registry = HandlerRegistry.build(options.component, builtinClasses(options.builtins));
    const parsedOptions = validateOptions(this.registry.options.options, options.options ?? {}, options.optionsPath ?? "options");
    this.config = new ComponentConfig(options.domain, options.type ?? options.component.name, parsedOptions as Record<string, unknown>);
    this.log = options.log.child({ component: options.domain }, options.logLevel ? { level: options.logLevel } : {});
    this.iqCaller = new IqCaller(options.iqTimeoutMs);
    this.sender = new Sender(options.domain, options.transport, this.iqCaller);

    const hosted = options.hosted ?? new HostedComponents();
    hosted.add({ domain: options.domain, type: this.config.type, identities: this.registry.identities, features: this.registry.features });

    const c = rootContainer.createChildContainer();
    c.register(HostedComponents, { useValue: hosted });
    c.register(Logger as InjectionToken<Logger>, { useValue: this.log as unknown as Logger });
    c.register(ComponentConfig, { useValue: this.config });
    c.register(Sender, { useValue: this.sender });
    c.register(HandlerRegistry, { useValue: this.registry });
    c.register(Metrics, { useValue: options.metrics ?? new Metrics(new Registry(), options.domain) });
    // Handler classes are singletons per component: resolve once, then a map lookup per stanza.
    const instances = new Map<HandlerClass, object>();
    const instanceOf = (cls: HandlerClass) => {
      let instance = instances.get(cls);
      if (!instance) {
        instance = c.resolve(cls) as object;
        instances.set(cls, instance);
      }
      return instance;
    };
    c.register(DiscoCatalog, { useValue: new DiscoCatalog(this.registry, instanceOf) });
    // One instance per handler class per component.
    for (const cls of this.registry.classes) c.registerSingleton(cls);
    this.instanceOf = instanceOf;

    this.dispatcher = new Dispatcher({
      registry: this.registry,
      instanceOf,
      sender: this.sender,
      iqCaller: this.iqCaller,
      config: this.config,
      log: this.log as unknown as Logger,
      maxInFlight: options.maxInFlight,
      maxQueued: options.maxQueued,
      observer: options.observer,
    });
  }

  get domain(): string {
    return this.config.domain;
  }

  /** Instantiates every handler class and runs their onStart hooks. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    for (const instance of this.instances()) if (hasOnStart(instance)) await instance.onStart();
  }

  /** The link is up (first time, or again after a reconnection): runs the onOnline hooks. */
  async online(): Promise<void> {
    for (const instance of this.instances()) {
      if (!hasOnOnline(instance)) continue;
      try {
        await instance.onOnline();
      } catch (err) {
        this.log.error({ err }, "onOnline failed");
      }
    }
  }

  dispatch(stanza: Element): Promise<void> {
    return this.dispatcher.dispatch(stanza);
  }

  /** The link went down: requests waiting for answers will get none; onOffline hooks run. */
  linkDown(reason: string): void {
    this.iqCaller.rejectAll(errors.linkDown(reason));
    for (const instance of this.instances()) {
      if (!hasOnOffline(instance)) continue;
      Promise.resolve()
        .then(() => instance.onOffline(reason))
        .catch((err: unknown) => this.log.error({ err }, "onOffline failed"));
    }
  }

  /**
   * Shutdown order: stop taking work, let in-flight handlers finish (up to the deadline),
   * run onStop hooks, say unavailable to everyone we said available to, then refuse further sends.
   */
  async stop(options: { drainMs?: number } = {}): Promise<void> {
    this.dispatcher.stopAccepting();
    const left = await this.dispatcher.drain(options.drainMs ?? 5_000);
    if (left > 0) this.log.warn({ inFlight: left }, "handlers still running at the shutdown deadline");
    for (const instance of this.instances()) {
      if (!hasOnStop(instance)) continue;
      try {
        await instance.onStop();
      } catch (err) {
        this.log.error({ err }, "onStop failed");
      }
    }
    for (const pair of [...this.sender.availableTo]) {
      const [from, to] = pair.split(" ") as [string, string];
      // RFC 6121 §4.5.1: going offline is an unavailable presence to those who saw us online.
      await this.sender.send(xml("presence", { from, to, type: "unavailable" })).catch((err: unknown) => this.log.debug({ err }, "could not send unavailable"));
    }
    this.sender.close();
    this.iqCaller.rejectAll(errors.stopping());
  }

  /** The component's instance of one of its handler classes (for tests and tooling). */
  instance<T>(cls: HandlerClass<T>): T {
    return this.instanceOf(cls) as T;
  }

  private instances(): object[] {
    return this.registry.classes.map(this.instanceOf);
  }
}
