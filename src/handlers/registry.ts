import { RegistryError } from "../errors.js";
import type { Element } from "../stanza/xml.js";
import {
  type ComponentOptions,
  type DiscoProviderKind,
  type Guard,
  type HandlerClass,
  type Identity,
  isService,
  knownComponents,
  readComponentOptions,
  readDiscoProviders,
  readGuards,
  readRoutes,
  routedClasses,
  type RouteMeta,
  type StanzaKind,
} from "./metadata.js";
import type { Plugin } from "./plugin.js";

export { RegistryError };

/** One handler method, bound to the class that declares it. */
export interface Route extends RouteMeta {
  owner: HandlerClass;
  /** From a default (built-in) plugin: gives way to a component route with the same filter. */
  builtin: boolean;
  /** The plugin that brought it, if any. */
  plugin?: string;
  /** The class's guards, then the method's; all must pass before the handler runs. */
  guards: Guard[];
  /** `Class.method`, as logs and metrics name the handler (made once, not per stanza). */
  readonly label: string;
}

export interface DiscoProvider {
  kind: DiscoProviderKind;
  owner: HandlerClass;
  method: string | symbol;
}

/**
 * The one registry built from decorator metadata and the component's plugins. Dispatch, disco and docs all
 * read it, so what disco advertises is exactly what the code handles. Building it instantiates nothing; it
 * finds every assembly mistake first (missing constructor metadata, duplicate routes, bad plugins).
 */
export class HandlerRegistry {
  /** Use {@link HandlerRegistry.build}. */
  constructor(
    readonly component: HandlerClass,
    readonly options: ComponentOptions,
    /** Every class the component's container makes at start, in start order (handlers, then services). */
    readonly classes: HandlerClass[],
    readonly routes: Route[],
    readonly discoProviders: DiscoProvider[],
    /** The plugins in use, in order: the component's own, then the defaults it did not switch off or replace. */
    readonly plugins: Plugin[],
  ) {}

  /**
   * Builds the registry of `component` with the default plugins (the built-ins left switched on).
   * Throws RegistryError naming the class and the fix.
   */
  static build(component: HandlerClass, defaults: Plugin[] = []): HandlerRegistry {
    const options = readComponentOptions(component);
    if (!options) {
      throw new RegistryError(`${component.name} is not a component: decorate it with @Component({ identity: … })`);
    }
    const plugins = choosePlugins(component, options.plugins ?? [], defaults);
    const userClasses = unique([component, ...(options.handlers ?? [])]);
    const services = unique(options.providers ?? []);
    for (const cls of userClasses.slice(1)) assertHandlerClass(component, cls);
    for (const cls of services) assertServiceClass(component, cls);

    const routes: Route[] = [];
    for (const owner of userClasses) routes.push(...routesOf(owner, false));
    const defaultNames = new Set(defaults.map((p) => p.name));
    const pluginClasses: HandlerClass[] = [];
    for (const plugin of plugins) {
      const builtin = defaultNames.has(plugin.name) && !(options.plugins ?? []).includes(plugin);
      for (const owner of plugin.handlers ?? []) {
        let own = routesOf(owner, builtin, plugin.name);
        // A built-in gives way to a route of the component with the same filter (a component's own disco, say).
        if (builtin) own = own.filter((r) => !routes.some((u) => !u.builtin && sameRoute(u, r)));
        if (own.length === 0 && readRoutes(owner).length > 0) continue;
        pluginClasses.push(owner);
        routes.push(...own);
      }
      for (const provider of plugin.providers ?? []) if (typeof provider === "function") pluginClasses.push(provider);
    }
    assertNoDuplicateRoutes(routes.filter((r) => !r.builtin));

    const classes = unique([...userClasses, ...pluginClasses, ...services]);
    const guardClasses = unique(routes.flatMap((r) => r.guards).filter(isGuardClass));
    for (const cls of guardClasses) {
      if (!isService(cls)) throw new RegistryError(`${component.name}: the guard class ${cls.name} is not marked @Service(): mark it, so the component's container can make it`);
    }
    for (const cls of unique([...classes, ...guardClasses])) assertInjectable(cls);
    const disco = [...userClasses, ...pluginClasses].flatMap((owner) => readDiscoProviders(owner).map((p) => ({ ...p, owner })));
    return new HandlerRegistry(component, options, classes, routes, disco, plugins);
  }

  get identities(): Identity[] {
    return [this.options.identity].flat();
  }

  /** disco#info features (XEP-0030 §3.1): every handled namespace plus the declared ones, sorted. */
  get features(): string[] {
    const all = new Set<string>(this.options.features ?? []);
    for (const r of this.routes) for (const f of r.features) all.add(f);
    return [...all].sort();
  }

  /** The route for a stanza: IQ requests by one map lookup, others the first match in declaration order (user classes first, built-ins last). */
  match(stanza: Element): Route | undefined {
    const kind = stanza.name as StanzaKind;
    const type = stanzaType(stanza);
    if (kind === "iq") {
      // The caller has checked that a get/set has exactly one child element.
      const [child] = stanza.getChildElements();
      return child ? this.iqIndex().get(iqKey(type, child.name, child.getNS() ?? "")) : undefined;
    }
    return this.routes.find((r) => r.kind === kind && routeAccepts(r, stanza, type));
  }

  private iqRoutes: Map<string, Route> | undefined;

  private iqIndex(): Map<string, Route> {
    if (!this.iqRoutes) {
      this.iqRoutes = new Map();
      for (const r of this.routes) {
        if (r.kind !== "iq") continue;
        for (const t of r.types ?? []) {
          const key = iqKey(t, r.child ?? "", r.xmlns ?? "");
          if (!this.iqRoutes.has(key)) this.iqRoutes.set(key, r);
        }
      }
    }
    return this.iqRoutes;
  }
}

/**
 * Classes with route decorators that no loaded @Component lists (in `handlers` or through a plugin), nor
 * any of `defaults`: almost always a class someone forgot to list, whose routes would never run.
 */
export function unlistedRouteClasses(defaults: Plugin[] = []): HandlerClass[] {
  const listed = new Set<HandlerClass>();
  for (const plugin of defaults) for (const cls of plugin.handlers ?? []) listed.add(cls);
  for (const component of knownComponents()) {
    const options = readComponentOptions(component);
    listed.add(component);
    for (const cls of options?.handlers ?? []) listed.add(cls);
    for (const plugin of options?.plugins ?? []) for (const cls of plugin.handlers ?? []) listed.add(cls);
  }
  return routedClasses().filter((cls) => !listed.has(cls));
}

function routesOf(owner: HandlerClass, builtin: boolean, plugin?: string): Route[] {
  const metas = readRoutes(owner);
  const classGuards = readGuards(owner);
  return metas.map((meta) => ({ ...meta, owner, builtin, plugin, guards: [...classGuards, ...readGuards(owner, meta.method)], label: `${owner.name}.${String(meta.method)}` }));
}

function choosePlugins(component: HandlerClass, own: Plugin[], defaults: Plugin[]): Plugin[] {
  const names = new Set<string>();
  for (const plugin of own) {
    if (names.has(plugin.name)) throw new RegistryError(`${component.name} lists the plugin "${plugin.name}" twice: keep one`);
    names.add(plugin.name);
  }
  // A component's own plugin of a built-in's name replaces the built-in.
  const plugins = [...own, ...defaults.filter((p) => !names.has(p.name))];
  const present = new Set(plugins.map((p) => p.name));
  for (const plugin of plugins) {
    for (const dependency of plugin.dependencies ?? []) {
      if (!present.has(dependency)) {
        throw new RegistryError(`${component.name}: the plugin "${plugin.name}" needs the plugin "${dependency}": add it to @Component({ plugins }) or switch it back on in the config (builtins.${dependency})`);
      }
    }
  }
  return plugins;
}

function assertHandlerClass(component: HandlerClass, cls: HandlerClass): void {
  if (isService(cls)) throw new RegistryError(`${component.name} lists the @Service() ${cls.name} in handlers: list it in providers instead`);
  if (readRoutes(cls).length === 0 && readDiscoProviders(cls).length === 0) {
    throw new RegistryError(`${component.name} lists ${cls.name} in handlers, but it has no routes: mark it @Service() and list it in providers`);
  }
}

function assertServiceClass(component: HandlerClass, cls: HandlerClass): void {
  if (readRoutes(cls).length > 0) throw new RegistryError(`${component.name} lists ${cls.name} in providers, but it has routes: list it in handlers instead`);
}

const NOT_INJECTABLE = new Set<unknown>([undefined, Object, String, Number, Boolean, Array, Function, Symbol, Promise]);

/**
 * Every constructor parameter needs a token: the emitted `design:paramtypes` (tsc with emitDecoratorMetadata)
 * or an explicit @Inject(Token). Missing metadata would otherwise surface as tsyringe's "TypeInfo not known".
 */
function assertInjectable(cls: HandlerClass): void {
  const arity = cls.length;
  if (arity === 0) return;
  const types = Reflect.getMetadata("design:paramtypes", cls) as unknown[] | undefined;
  const tokens = (Reflect.getOwnMetadata("injectionTokens", cls) as Record<number, unknown> | undefined) ?? {};
  for (let i = 0; i < arity; i++) {
    if (tokens[i] !== undefined) continue;
    const type = types?.[i];
    if (!NOT_INJECTABLE.has(type)) continue;
    const why = types === undefined
      ? "has no type metadata (the class was compiled without emitDecoratorMetadata, e.g. by esbuild or tsx)"
      : `has the run-time type ${(type as { name?: string } | undefined)?.name ?? "undefined"} (a type-only import, an interface or a primitive)`;
    throw new RegistryError(
      `${cls.name}: constructor parameter ${i + 1} of ${arity} ${why}, so it cannot be injected; fix: compile with tsc and "emitDecoratorMetadata": true, or name the token with @Inject(Token) on that parameter`,
    );
  }
}

function isGuardClass(guard: Guard): guard is HandlerClass {
  return typeof guard === "function" && typeof (guard as { prototype?: { canHandle?: unknown } }).prototype?.canHandle === "function";
}

function unique<T>(list: T[]): T[] {
  return [...new Set(list)];
}

/** RFC 6121 §5.2.2: a message without type is "normal"; RFC 6121 §4.7.1: presence without type is available. */
export function stanzaType(stanza: Element): string {
  const type = stanza.attrs.type as string | undefined;
  if (type) return type;
  return stanza.name === "message" ? "normal" : stanza.name === "presence" ? "available" : "";
}

function iqKey(type: string, child: string, xmlns: string): string {
  return `${type} ${xmlns} ${child}`;
}

/** Whether a message or presence route takes the stanza (IQ routes are looked up by key). */
function routeAccepts(route: Route, stanza: Element, type: string): boolean {
  if (route.types ? !route.types.includes(type) : type === "error") return false;
  if (route.child === undefined) return true;
  // A loop over the children, not getChildElements().some(…): this runs for every message and presence.
  for (const c of stanza.children) {
    if (typeof c !== "string" && c.name === route.child && (route.xmlns === undefined || c.getNS() === route.xmlns)) return true;
  }
  return false;
}

/** Two routes that would take the same stanzas: same kind, an overlapping type, same child and namespace. */
function sameRoute(a: RouteMeta, b: RouteMeta): boolean {
  if (a.kind !== b.kind || a.child !== b.child || a.xmlns !== b.xmlns) return false;
  // An omitted type means "any but error" (RouteFilter); for IQs the type is always given.
  if (a.types === undefined || b.types === undefined) return a.types === b.types;
  return a.types.some((t) => b.types!.includes(t));
}

/** mellium's mux rule: a second handler for the same stanzas is a mistake, found at build time. */
function assertNoDuplicateRoutes(routes: Route[]): void {
  routes.forEach((a, i) => {
    const b = routes.slice(i + 1).find((other) => sameRoute(a, other));
    if (!b) return;
    const where = `${a.owner.name}.${String(a.method)} and ${b.owner.name}.${String(b.method)}`;
    const types = a.types?.join("/") ?? "any type";
    const child = a.child === undefined ? "" : ` <${a.child}${a.xmlns === undefined ? "" : ` xmlns='${a.xmlns}'`}>`;
    throw new RegistryError(`two handlers for ${a.kind} ${types}${child}: ${where}; keep one, or tell them apart by type, child or xmlns`);
  });
}
