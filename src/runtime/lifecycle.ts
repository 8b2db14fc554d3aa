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
