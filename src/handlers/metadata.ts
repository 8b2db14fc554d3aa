import type { ZodType } from "zod";

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
  /** Validates the component's `options` object from the config file. */
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

export type DiscoProviderKind = "items" | "info";

export interface DiscoProviderMeta {
  kind: DiscoProviderKind;
  method: string | symbol;
}

/** Metadata keys. Decorators only write these; the registry is the only reader. */
export const COMPONENT_META = Symbol.for("annex:component");
export const ROUTES_META = Symbol.for("annex:routes");
export const DISCO_META = Symbol.for("annex:disco");

export function readComponentOptions(cls: HandlerClass): ComponentOptions | undefined {
  return Reflect.getOwnMetadata(COMPONENT_META, cls) as ComponentOptions | undefined;
}

export function readRoutes(cls: HandlerClass): RouteMeta[] {
  return (Reflect.getOwnMetadata(ROUTES_META, cls) as RouteMeta[] | undefined) ?? [];
}

export function readDiscoProviders(cls: HandlerClass): DiscoProviderMeta[] {
  return (Reflect.getOwnMetadata(DISCO_META, cls) as DiscoProviderMeta[] | undefined) ?? [];
}
