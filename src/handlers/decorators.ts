import "reflect-metadata";
import { injectable } from "tsyringe";
import {
  COMPONENT_META,
  type ComponentOptions,
  DISCO_META,
  type DiscoProviderKind,
  type DiscoProviderMeta,
  type IqFilter,
  ROUTES_META,
  type RouteFilter,
  type RouteMeta,
  type StanzaKind,
} from "./metadata.js";

// Decorators only record metadata (the NestJS model). The registry reads it; nothing else does.

/** Marks the main class of a component; its identity feeds disco#info. */
export function Component(options: ComponentOptions): ClassDecorator {
  return (target) => {
    Reflect.defineMetadata(COMPONENT_META, options, target);
    injectable()(target as never);
  };
}

/** Marks a class that holds handlers for a component (listed in `@Component({handlers})`). */
export function Handlers(): ClassDecorator {
  return (target) => {
    injectable()(target as never);
  };
}

function addRoute(target: object, meta: RouteMeta): void {
  const cls = target.constructor;
  const routes = (Reflect.getOwnMetadata(ROUTES_META, cls) as RouteMeta[] | undefined) ?? [];
  Reflect.defineMetadata(ROUTES_META, [...routes, meta], cls);
}

function route(kind: StanzaKind, filter: RouteFilter, features: string[] = []): MethodDecorator {
  return (target, method) => {
    const types = filter.type === undefined ? undefined : [filter.type].flat();
    addRoute(target, { kind, method, types, child: filter.child, xmlns: filter.xmlns, features });
  };
}

/** Handles messages; the method's return value (a stanza or a list) is sent. */
export function Message(filter: RouteFilter & { features?: string[] } = {}): MethodDecorator {
  return route("message", filter, filter.features);
}

/** Handles presence; the method's return value (a stanza or a list) is sent. */
export function Presence(filter: RouteFilter = {}): MethodDecorator {
  return route("presence", filter);
}

/**
 * Handles IQ get/set requests whose single child is `<child xmlns=…>`.
 * The return value is the result payload (void = empty result); a thrown StanzaError is the error reply.
 */
export function Iq(filter: IqFilter): MethodDecorator {
  const features = filter.feature === false ? [] : [filter.feature ?? filter.xmlns];
  return route("iq", { type: filter.type, child: filter.child, xmlns: filter.xmlns }, features);
}

function discoProvider(kind: DiscoProviderKind): MethodDecorator {
  return (target, method) => {
    const cls = target.constructor;
    const list = (Reflect.getOwnMetadata(DISCO_META, cls) as DiscoProviderMeta[] | undefined) ?? [];
    Reflect.defineMetadata(DISCO_META, [...list, { kind, method }], cls);
  };
}

/** Supplies disco#items for the component's domain (node undefined) or one of its nodes. */
export function DiscoItems(): MethodDecorator {
  return discoProvider("items");
}

/** Supplies disco#info for a node of the component; return undefined for an unknown node. */
export function DiscoInfo(): MethodDecorator {
  return discoProvider("info");
}
