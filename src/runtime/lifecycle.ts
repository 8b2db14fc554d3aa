/** Implemented by a handler class that needs to run something when its component starts. */
export interface OnStart {
  onStart(): void | Promise<void>;
}

/** Implemented by a handler class that needs to clean up when its component stops. */
export interface OnStop {
  onStop(): void | Promise<void>;
}

/**
 * Implemented by a handler class that must talk to the server when the link is up: called after the
 * handshake succeeds, and again after every reconnection (onStart runs before the first connection).
 */
export interface OnOnline {
  onOnline(): void | Promise<void>;
}

/**
 * Implemented by a handler class that must react when the link to the server goes down (nothing it
 * sends arrives until onOnline runs again), e.g. to pause what depends on its users being reachable.
 */
export interface OnOffline {
  onOffline(reason: string): void | Promise<void>;
}

export function hasOnOffline(x: object): x is OnOffline {
  return typeof (x as Partial<OnOffline>).onOffline === "function";
}

export function hasOnOnline(x: object): x is OnOnline {
  return typeof (x as Partial<OnOnline>).onOnline === "function";
}

export function hasOnStart(x: object): x is OnStart {
  return typeof (x as Partial<OnStart>).onStart === "function";
}

export function hasOnStop(x: object): x is OnStop {
  return typeof (x as Partial<OnStop>).onStop === "function";
}

const HOOKS = { onStart: hasOnStart, onOnline: hasOnOnline, onOffline: hasOnOffline, onStop: hasOnStop } as const;
export type HookName = keyof typeof HOOKS;

/**
 * The one way a lifecycle hook is called: on `instance` if it implements it, awaited, errors passed to the
 * caller (the host states the policy per hook: onStart failures stop the start, the others are logged).
 */
export async function runHook(instance: object, hook: HookName, ...args: string[]): Promise<void> {
  if (!HOOKS[hook](instance)) return;
  await (instance as Record<HookName, (...a: string[]) => unknown>)[hook](...args);
}
