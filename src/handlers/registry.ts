import type { Element } from "../stanza/xml.js";
import {
  type ComponentOptions,
  type DiscoProviderKind,
  type HandlerClass,
  type Identity,
  readComponentOptions,
  readDiscoProviders,
  readRoutes,
  type RouteMeta,
  type StanzaKind,
} from "./metadata.js";

/** One handler method, bound to the class that declares it. */
export interface Route extends RouteMeta {
  owner: HandlerClass;
  /** Built-in routes give way to a user route on the same IQ (type, child, xmlns). */
  builtin: boolean;
}

export interface DiscoProvider {
  kind: DiscoProviderKind;
  owner: HandlerClass;
  method: string | symbol;
}

export class RegistryError extends Error {
  readonly code = "ANNEX_ERR_REGISTRY";
  constructor(message: string) {
    super(message);
    this.name = "RegistryError";
  }
}

/**
 * The one registry built from decorator metadata. Dispatch, disco and docs all read it,
 * so what disco advertises is exactly what the code handles.
 */
export class HandlerRegistry {
  readonly component: HandlerClass;
  readonly options: ComponentOptions;
  readonly classes: HandlerClass[];
  readonly routes: Route[];
  readonly discoProviders: DiscoProvider[];

  /** Use {@link HandlerRegistry.build}. */
  constructor(component: HandlerClass, options: ComponentOptions, classes: HandlerClass[], routes: Route[], disco: DiscoProvider[]) {
    this.component = component;
    this.options = options;
    this.classes = classes;
    this.routes = routes;
    this.discoProviders = disco;
  }

  static build(component: HandlerClass, builtins: HandlerClass[] = []): HandlerRegistry {
    const options = readComponentOptions(component);
    if (!options) {
      throw new RegistryError(`${component.name} is not a component: decorate it with @Component({ identity: … })`);
    }
    const userClasses = [component, ...(options.handlers ?? [])];
    const routes: Route[] = [];
    for (const owner of userClasses) {
      for (const meta of readRoutes(owner)) routes.push({ ...meta, owner, builtin: false });
    }
    assertNoDuplicateIqRoutes(routes);
    const usedBuiltins: HandlerClass[] = [];
    for (const owner of builtins) {
      const builtinRoutes = readRoutes(owner)
        .map((meta) => ({ ...meta, owner, builtin: true }))
        .filter((r) => !routes.some((u) => !u.builtin && sameIqRoute(u, r)));
      if (builtinRoutes.length === 0) continue;
      usedBuiltins.push(owner);
      routes.push(...builtinRoutes);
    }
    const classes = [...userClasses, ...usedBuiltins];
    const disco = userClasses.flatMap((owner) => readDiscoProviders(owner).map((p) => ({ ...p, owner })));
    return new HandlerRegistry(component, options, classes, routes, disco);
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
  return stanza.getChildElements().some((c) => c.name === route.child && (route.xmlns === undefined || c.getNS() === route.xmlns));
}

function sameIqRoute(a: RouteMeta, b: RouteMeta): boolean {
  return (
    a.kind === "iq" &&
    b.kind === "iq" &&
    a.child === b.child &&
    a.xmlns === b.xmlns &&
    (a.types ?? []).some((t) => (b.types ?? []).includes(t))
  );
}

function assertNoDuplicateIqRoutes(routes: Route[]): void {
  routes.forEach((a, i) => {
    const b = routes.slice(i + 1).find((other) => sameIqRoute(a, other));
    if (b) {
      const where = `${a.owner.name}.${String(a.method)} and ${b.owner.name}.${String(b.method)}`;
      throw new RegistryError(`two handlers for iq ${a.types?.join("/")} <${a.child} xmlns='${a.xmlns}'>: ${where}`);
    }
  });
}
