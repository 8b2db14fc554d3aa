import "reflect-metadata";
import { inject, injectable, type InjectionToken } from "tsyringe";
import type { Element } from "../stanza/xml.js";
import {
  COMPONENT_META,
  type Guard as GuardType,
  GUARDS_META,
  SERVICE_META,
  type ComponentOptions,
  DISCO_META,
  type DiscoProviderKind,
  type DiscoProviderMeta,
  type IqFilter,
  recordComponent,
  recordCopy,
  recordRoutedClass,
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
    recordComponent(target as never);
    recordCopy(target as never);
    injectable()(target as never);
  };
}

/** Marks a class that holds handlers for a component (listed in `@Component({handlers})`). */
export function Handlers(): ClassDecorator {
  return (target) => {
    injectable()(target as never);
  };
}

/**
 * Marks a route-less class a component's classes inject (listed in `@Component({providers})`): one
 * instance per component, made by its container, with the OnStart/OnOnline/OnOffline/OnStop hooks.
 */
export function Service(): ClassDecorator {
  return (target) => {
    Reflect.defineMetadata(SERVICE_META, true, target);
    injectable()(target as never);
  };
}

/**
 * Runs guards before a handler (on a method) or before every handler of a class (on the class; those run
 * first). Each guard is a function `(stanza, { instance, resolve }) => boolean` or a class with
 * `canHandle(stanza)`. false refuses the stanza: an IQ gets `forbidden`, a message or presence is dropped
 * and counted; a thrown StanzaError refuses it with that error.
 */
export function Guard(...guards: GuardType[]): ClassDecorator & MethodDecorator {
  return ((target: object, method?: string | symbol) => {
    const cls = (method === undefined ? target : target.constructor) as object;
    const all = new Map((Reflect.getOwnMetadata(GUARDS_META, cls) as Map<string | symbol | undefined, GuardType[]> | undefined) ?? []);
    all.set(method, [...(all.get(method) ?? []), ...guards]);
    Reflect.defineMetadata(GUARDS_META, all, cls);
  }) as ClassDecorator & MethodDecorator;
}

export type Awaitable<T> = T | Promise<T>;
/** What a message or presence handler may return: stanzas to send. */
export type StanzaHandlerResult = Element | Element[] | undefined | void;
/** What an IQ handler may return: the result's payload (one element, not a whole <iq/>), or nothing. */
export type IqHandlerResult = Element | undefined | void;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type HandlerMethod<R> = (stanza: any) => Awaitable<R>;
/** A method decorator that makes TypeScript check the handler's return type. */
export type RouteDecorator<R> = <M extends HandlerMethod<R>>(target: object, method: string | symbol, descriptor: TypedPropertyDescriptor<M>) => void;

/**
 * Names the token of one constructor parameter explicitly: needed where no `design:paramtypes` is emitted
 * (esbuild, tsx, tsc without emitDecoratorMetadata) or the type is a type-only import or an interface.
 * Takes Annex's abstract tokens (Logger) as well as classes, symbols and strings.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function Inject(token: InjectionToken | (abstract new (...args: any[]) => unknown)): ParameterDecorator {
  return inject(token as InjectionToken) as ParameterDecorator;
}

function addRoute(target: object, meta: RouteMeta): void {
  const cls = target.constructor;
  recordRoutedClass(cls as never);
  const routes = (Reflect.getOwnMetadata(ROUTES_META, cls) as RouteMeta[] | undefined) ?? [];
  Reflect.defineMetadata(ROUTES_META, [...routes, meta], cls);
}

function route<R>(kind: StanzaKind, filter: RouteFilter, features: string[] = []): RouteDecorator<R> {
  return (target, method) => {
    const types = filter.type === undefined ? undefined : [filter.type].flat();
    addRoute(target, { kind, method, types, child: filter.child, xmlns: filter.xmlns, features });
  };
}

/** Handles messages; the method's return value (a stanza or a list) is sent. */
export function Message(filter: RouteFilter & { features?: string[] } = {}): RouteDecorator<StanzaHandlerResult> {
  return route<StanzaHandlerResult>("message", filter, filter.features);
}

/** Handles presence; the method's return value (a stanza or a list) is sent. */
export function Presence(filter: RouteFilter = {}): RouteDecorator<StanzaHandlerResult> {
  return route<StanzaHandlerResult>("presence", filter);
}

/**
 * Handles IQ get/set requests whose single child is `<child xmlns=…>`.
 * The return value is the result payload (void = empty result); a thrown StanzaError is the error reply.
 */
export function Iq(filter: IqFilter): RouteDecorator<IqHandlerResult> {
  const features = filter.feature === false ? [] : [filter.feature ?? filter.xmlns];
  return route<IqHandlerResult>("iq", { type: filter.type, child: filter.child, xmlns: filter.xmlns }, features);
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
