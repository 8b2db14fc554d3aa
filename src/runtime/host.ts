import "reflect-metadata";
import type { Logger as PinoLogger } from "pino";
import { container as rootContainer, type DependencyContainer, type InjectionToken } from "tsyringe";
import { suggestKey } from "../config/errors.js";
import { ConfigError, errors } from "../errors.js";
import { type DispatchHooks, Dispatcher } from "../dispatch/dispatcher.js";
import { IqCaller } from "../dispatch/iq-caller.js";
import { PresenceTracker, Sender } from "../dispatch/sender.js";
import type { HandlerClass } from "../handlers/metadata.js";
import type { Plugin } from "../handlers/plugin.js";
import { HandlerRegistry } from "../handlers/registry.js";
import { ComponentConfig, ComponentInstances, Logger } from "../handlers/tokens.js";
import { Metrics, Registry } from "../ops/metrics.js";
import { type Passage, Pipeline, type StanzaSink } from "../pipeline/pipeline.js";
import { type BuiltinSwitches, builtinPlugins } from "../plugins/index.js";
import { xml, type Element } from "../stanza/xml.js";
import { HostedComponents } from "./hosted.js";
import { runHook } from "./lifecycle.js";
import { validateOptions } from "./options.js";

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
  /** Built-in plugins switched off by name (`{ time: false }`); all are on by default. */
  builtins?: BuiltinSwitches;
  /** Per-plugin options from the config (`plugins.<name>`), validated by each plugin's schema. */
  plugins?: Record<string, unknown>;
  iqTimeoutMs?: number;
  /** This component's log level, if not the process's. */
  logLevel?: string;
  /** Handlers allowed to run at once for this component. */
  maxInFlight?: number;
  /** Stanzas allowed to wait for a handler slot. */
  maxQueued?: number;
  /** Told about handler runs, guard refusals and overload (metrics). */
  hooks?: DispatchHooks;
  /** Where the component's own metrics go; default a registry of its own. */
  metrics?: Metrics;
  /** The process's list of components, shared by every host of a runner; default: this one alone. */
  hosted?: HostedComponents;
}

/**
 * One running component: its own DI child container, its registry, pipelines, dispatcher and sender.
 * Building it checks everything (registry, options) and instantiates nothing; start() makes the instances.
 * The same host runs under the server link and under the unit-test harness (see bindLink).
 */
export class ComponentHost {
  readonly registry: HandlerRegistry;
  readonly dispatcher: Dispatcher;
  readonly sender: Sender;
  readonly iqCaller: IqCaller;
  readonly config: ComponentConfig;
  readonly log: PinoLogger;
  /** Every received stanza passes it before dispatch. */
  readonly inbound = new Pipeline("inbound");
  /** Every sent stanza passes it (after the from/to checks) before the link. */
  readonly outbound = new Pipeline("outbound");
  private readonly presence = new PresenceTracker();
  private readonly container: DependencyContainer;
  private readonly instances = new Map<HandlerClass, object>();
  /** Instances whose onStart ran (or that have none), in start order: the only ones stop() stops. */
  private started: object[] = [];
  private state: "built" | "starting" | "started" | "stopped" = "built";

  constructor(options: HostOptions) {
    this.registry = HandlerRegistry.build(options.component, builtinPlugins(options.builtins));
    const parsedOptions = validateOptions(this.registry.options.options, options.options ?? {}, options.optionsPath ?? "options", options.type ?? options.component.name);
    this.config = new ComponentConfig(options.domain, options.type ?? options.component.name, parsedOptions as Record<string, unknown>);
    this.log = options.log.child({ component: options.domain }, options.logLevel ? { level: options.logLevel } : {});
    this.iqCaller = new IqCaller(options.iqTimeoutMs);
    this.sender = new Sender(options.domain, this.outbound, this.iqCaller);

    const hosted = options.hosted ?? new HostedComponents();
    hosted.add({ domain: options.domain, type: this.config.type, identities: this.registry.identities, features: this.registry.features });

    const c = rootContainer.createChildContainer();
    this.container = c;
    c.register(HostedComponents, { useValue: hosted });
    c.register(Logger as InjectionToken<Logger>, { useValue: this.log as unknown as Logger });
    c.register(ComponentConfig, { useValue: this.config });
    c.register(Sender, { useValue: this.sender });
    c.register(HandlerRegistry, { useValue: this.registry });
    c.register(ComponentInstances, { useValue: new ComponentInstances((cls) => this.instanceOf(cls as HandlerClass)) });
    c.register(Metrics, { useValue: options.metrics ?? new Metrics(new Registry(), options.domain) });
    const pluginProblems = this.registerPlugins(options.plugins ?? {}, options.optionsPath?.replace(/\.options$/, ".plugins") ?? "plugins");
    if (pluginProblems.length > 0) throw new ConfigError(pluginProblems);
    // One instance per class per component; guard classes too.
    for (const cls of this.registry.classes) c.registerSingleton(cls);
    for (const route of this.registry.routes) for (const guard of route.guards) if (isClass(guard)) c.registerSingleton(guard);

    this.wirePluginMiddleware();
    this.outbound.use(this.presence.middleware);
    this.dispatcher = new Dispatcher({
      registry: this.registry,
      instanceOf: (cls) => this.instanceOf(cls),
      resolve: (token) => c.resolve(token as InjectionToken<never>),
      sender: this.sender,
      iqCaller: this.iqCaller,
      config: this.config,
      log: this.log as unknown as Logger,
      maxInFlight: options.maxInFlight,
      maxQueued: options.maxQueued,
      hooks: options.hooks,
    });
  }

  get domain(): string {
    return this.config.domain;
  }

  /** Where sent stanzas go after the outbound pipeline (bindLink sets it; undefined unbinds). */
  bindSink(sink: StanzaSink | undefined): void {
    this.sender.bind(sink);
  }

  /**
   * Makes every instance, then runs the onStart hooks in order. Policy: the first failure stops the
   * start; the instances already started get their onStop (in reverse), and the error is thrown.
   */
  async start(): Promise<void> {
    if (this.state !== "built") return;
    this.state = "starting";
    const all = this.registry.classes.map((cls) => {
      try {
        return this.instanceOf(cls);
      } catch (err) {
        throw new Error(`${this.domain}: could not create ${cls.name}: ${(err as Error).message.split("\n")[0]}`);
      }
    });
    for (const instance of all) {
      try {
        await runHook(instance, "onStart");
      } catch (err) {
        this.log.error({ err, class: instance.constructor.name }, "onStart failed: the component does not start");
        await this.stopStarted();
        this.state = "stopped";
        throw errors.startFailed(this.domain, instance.constructor.name, err);
      }
      this.started.push(instance);
    }
    this.state = "started";
  }

  /** A stanza from the link: through the inbound pipeline, then dispatch. Never rejects. */
  receive(stanza: Element): Promise<void> {
    if (this.inbound.size === 0) return this.dispatcher.dispatch(stanza);
    const passage: Passage = { stanza, direction: "inbound", domain: this.domain, send: (s) => this.sender.send(s) };
    return this.inbound.run(passage, (s) => this.dispatcher.dispatch(s)).catch((err: unknown) => {
      this.log.error({ err }, "inbound middleware failed: stanza dropped");
    });
  }

  /**
   * The link is up (first time, or again after a reconnection). Policy: onOnline runs on every instance made
   * so far (started, or made by a dispatch in a test that never started the host); failures are logged.
   */
  async online(): Promise<void> {
    for (const instance of [...this.instances.values()]) await runHook(instance, "onOnline").catch((err: unknown) => this.log.error({ err, class: instance.constructor.name }, "onOnline failed"));
  }

  /**
   * The link went down: requests waiting for answers will get none. Policy: every onOffline runs (not
   * awaited: the link does not wait for them); failures are logged.
   */
  linkDown(reason: string): void {
    this.iqCaller.rejectAll(errors.linkDown(reason));
    for (const instance of [...this.instances.values()]) void runHook(instance, "onOffline", reason).catch((err: unknown) => this.log.error({ err, class: instance.constructor.name }, "onOffline failed"));
  }

  /**
   * Shutdown order: stop taking work, let in-flight handlers finish (up to the deadline), run onStop hooks
   * of the started instances (reverse order; failures logged, the rest still stop), say unavailable to
   * everyone we said available to, then refuse further sends.
   */
  async stop(options: { drainMs?: number } = {}): Promise<void> {
    if (this.state === "stopped") return;
    this.dispatcher.stopAccepting();
    const left = await this.dispatcher.drain(options.drainMs ?? 5_000);
    if (left > 0) this.log.warn({ inFlight: left }, "handlers still running at the shutdown deadline");
    await this.stopStarted();
    this.state = "stopped";
    for (const [from, to] of this.presence.pairs()) {
      // RFC 6121 §4.5.1: going offline is an unavailable presence to those who saw us online.
      await this.sender.send(xml("presence", { from, to, type: "unavailable" })).catch((err: unknown) => this.log.debug({ err }, "could not send unavailable"));
    }
    this.sender.close();
    this.iqCaller.rejectAll(errors.stopping());
  }

  /** The component's instance of one of its classes (for tests and tooling). */
  instance<T>(cls: HandlerClass<T>): T {
    return this.instanceOf(cls) as T;
  }

  private instanceOf(cls: HandlerClass): object {
    let instance = this.instances.get(cls);
    if (!instance) {
      instance = this.container.resolve(cls) as object;
      this.instances.set(cls, instance);
    }
    return instance;
  }

  private async stopStarted(): Promise<void> {
    const started = this.started;
    this.started = [];
    for (const instance of [...started].reverse()) {
      await runHook(instance, "onStop").catch((err: unknown) => this.log.error({ err, class: instance.constructor.name }, "onStop failed"));
    }
  }

  /** Provides each plugin's providers and validated options; returns one config problem per bad field. */
  private registerPlugins(fromConfig: Record<string, unknown>, path: string): string[] {
    const problems: string[] = [];
    const names = new Set(this.registry.plugins.map((p) => p.name));
    for (const name of Object.keys(fromConfig)) {
      if (!names.has(name)) {
        const near = suggestKey(name, [...names]);
        const guess = near.startsWith(" (did you mean") ? `: ${near.slice(2, -1)}` : "";
        problems.push(`${path}.${name}: ${this.config.type} has no plugin "${name}"${guess} (its plugins: ${[...names].sort().join(", ") || "none"})`);
      }
    }
    for (const plugin of this.registry.plugins) {
      for (const provider of plugin.providers ?? []) {
        if (typeof provider !== "function") this.container.register(provider.token as InjectionToken<unknown>, { useValue: provider.useValue });
      }
      if (!plugin.optionsToken) continue;
      const raw = { ...(plugin.defaults ?? {}), ...((fromConfig[plugin.name] as object | undefined) ?? {}) };
      try {
        // A plugin with an options token but no schema gets its defaults and the config's object as they are.
        this.container.register(plugin.optionsToken, { useValue: plugin.options ? validateOptions(plugin.options, raw, `${path}.${plugin.name}`) : raw });
      } catch (err) {
        if (err instanceof ConfigError) problems.push(...err.lines);
        else throw err;
      }
    }
    return problems;
  }

  /**
   * Each plugin's setup() middleware (in plugin order), then the component's own. Runs while the host is
   * built, so setup() must resolve providers lazily (inside its middleware), never eagerly.
   */
  private wirePluginMiddleware(): void {
    const context = { domain: this.domain, resolve: <T>(token: HandlerClass<T> | symbol | string) => this.container.resolve(token as InjectionToken<T>) };
    for (const plugin of this.registry.plugins as Plugin[]) {
      const mw = plugin.setup?.(context);
      if (mw?.inbound) this.inbound.use(...mw.inbound);
      if (mw?.outbound) this.outbound.use(...mw.outbound);
    }
    const own = this.registry.options.middleware;
    if (own?.inbound) this.inbound.use(...own.inbound);
    if (own?.outbound) this.outbound.use(...own.outbound);
  }
}

function isClass(guard: unknown): guard is HandlerClass {
  return typeof guard === "function" && typeof (guard as { prototype?: { canHandle?: unknown } }).prototype?.canHandle === "function";
}
