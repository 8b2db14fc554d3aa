import type { ZodType } from "zod";
import type { Middleware } from "../pipeline/pipeline.js";

/** A class Annex can instantiate through tsyringe. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type HandlerClass<T = any> = new (...args: any[]) => T;

export type StanzaKind = "message" | "presence" | "iq";

/** XEP-0030 §3.1 identity. */
export interface Identity {
  category: string;
  type: string;
  name?: string;
  lang?: string;
}

export interface ComponentOptions {
  /** The disco identity (or identities) of the component's domain. */
  identity: Identity | Identity[];
  /** Extra disco features for behaviour no IQ handler shows (e.g. a message protocol). */
  features?: string[];
  /** Further handler classes that belong to this component (same container, same registry). */
  handlers?: HandlerClass[];
  /** Route-less classes (`@Service()`) the component's classes inject: one instance per component, with lifecycle hooks. */
  providers?: HandlerClass[];
  /** Plugins the component uses (handlers, providers, middleware, hooks); the default built-ins come on their own. */
  plugins?: Plugin[];
  /** The component's own stanza middleware (after the plugins'). */
  middleware?: { inbound?: Middleware[]; outbound?: Middleware[] };
  /**
   * Validates the component's `options` object from the config file (a `z.strictObject` names a mistyped key
   * with the closest valid one). Without a schema the component takes no options: a non-empty `options` is a
   * config error.
   */
  options?: ZodType;
  /** Software name and version for XEP-0092; defaults to "annex" and its version. */
  software?: { name: string; version: string };
}

/** What a route matches on; every field given must match. */
export interface RouteFilter {
  /** Stanza type(s); omitted = any type except "error" (errors never reach a handler by accident). */
  type?: string | string[];
  /** Name of a child element the stanza must carry. */
  child?: string;
  /** Namespace of that child; omitted = any. */
  xmlns?: string;
}

export interface IqFilter {
  type: "get" | "set";
  child: string;
  xmlns: string;
  /** The disco feature this handler implements; defaults to `xmlns`; false to advertise none. */
  feature?: string | false;
}

export interface RouteMeta {
  kind: StanzaKind;
  method: string | symbol;
  types?: string[];
  child?: string;
  xmlns?: string;
  features: string[];
}

/** What a guard is told besides the stanza. */
export interface GuardContext {
  /** The instance whose handler would run. */
  instance: object;
  /** Resolves a provider of the component's container (its config, a service…). */
  resolve<T>(token: HandlerClass<T> | symbol | string): T;
}

/** A guard function: true lets the stanza through; false refuses it; a thrown StanzaError refuses it with that error. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type GuardFn<S = any> = (stanza: S, context: GuardContext) => boolean | Promise<boolean>;

/** A guard class (made by the component's container, so it can inject services). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export interface CanHandle<S = any> {
  canHandle(stanza: S): boolean | Promise<boolean>;
}

export type Guard = GuardFn | HandlerClass<CanHandle>;

export type DiscoProviderKind = "items" | "info";

export interface DiscoProviderMeta {
  kind: DiscoProviderKind;
  method: string | symbol;
}

// Plugins (see plugin.ts for the model and definePlugin).

/** A provider the plugin puts in the component's container: a class (one instance) or a value under a token. */
export type PluginProvider = HandlerClass | { token: HandlerClass | symbol | string; useValue: unknown };

export interface Plugin<Options = unknown> {
  /** Unique per component; also the config key that switches a built-in off (`builtins.<name>: false`). */
  readonly name: string;
  /** What it implements, for docs and logs (e.g. "XEP-0199: XMPP Ping"). */
  readonly description?: string;
  /** Names of plugins that must be present too (a RegistryError names the missing one). */
  readonly dependencies?: string[];
  readonly handlers?: HandlerClass[];
  readonly providers?: PluginProvider[];
  /** Called once per component when its host is made (Slixmpp's plugin_init); returns the plugin's middleware. */
  readonly setup?: (context: PluginContext) => { inbound?: Middleware[]; outbound?: Middleware[] } | void;
  /** Validates `plugins.<name>` from the component's config entry; the parsed value is provided under `optionsToken`. */
  readonly options?: ZodType<Options>;
  /** The token its parsed options are provided under (inject it with @Inject(token)). */
  readonly optionsToken?: symbol;
  /** Options given in code (the config's `plugins.<name>` object overrides them key by key). */
  readonly defaults?: Partial<Options>;
}

/** What a plugin's setup() can reach. */
export interface PluginContext {
  readonly domain: string;
  /** Resolves from the component's container (its registry, config, sender, the plugin's own providers…). */
  resolve<T>(token: HandlerClass<T> | symbol | string): T;
}

/** Metadata keys. Decorators only write these; the registry is the only reader. */
export const COMPONENT_META = Symbol.for("annex:component");
export const ROUTES_META = Symbol.for("annex:routes");
export const DISCO_META = Symbol.for("annex:disco");
export const GUARDS_META = Symbol.for("annex:guards");
export const SERVICE_META = Symbol.for("annex:service");

/** Guards of a class (key undefined) or of one of its methods. */
export function readGuards(cls: HandlerClass, method?: string | symbol): Guard[] {
  const all = (Reflect.getOwnMetadata(GUARDS_META, cls) as Map<string | symbol | undefined, Guard[]> | undefined) ?? new Map();
  return all.get(method) ?? [];
}

export function isService(cls: HandlerClass): boolean {
  return Reflect.getOwnMetadata(SERVICE_META, cls) === true;
}

export function readComponentOptions(cls: HandlerClass): ComponentOptions | undefined {
  return Reflect.getOwnMetadata(COMPONENT_META, cls) as ComponentOptions | undefined;
}

export function readRoutes(cls: HandlerClass): RouteMeta[] {
  return (Reflect.getOwnMetadata(ROUTES_META, cls) as RouteMeta[] | undefined) ?? [];
}

export function readDiscoProviders(cls: HandlerClass): DiscoProviderMeta[] {
  return (Reflect.getOwnMetadata(DISCO_META, cls) as DiscoProviderMeta[] | undefined) ?? [];
}

/** Every class decorated with @Component in this process (shared by every copy of Annex loaded). */
const COMPONENTS: Set<HandlerClass> = ((globalThis as Record<symbol, unknown>)[Symbol.for("annex:components")] ??= new Set()) as Set<HandlerClass>;

export function recordComponent(cls: HandlerClass): void {
  COMPONENTS.add(cls);
}

/** Every class with route decorators in this process (to warn about ones no component lists). */
const ROUTED: Set<HandlerClass> = ((globalThis as Record<symbol, unknown>)[Symbol.for("annex:routed-classes")] ??= new Set()) as Set<HandlerClass>;

export function recordRoutedClass(cls: HandlerClass): void {
  ROUTED.add(cls);
}

export function routedClasses(): HandlerClass[] {
  return [...ROUTED];
}

export function knownComponents(): HandlerClass[] {
  return [...COMPONENTS];
}
