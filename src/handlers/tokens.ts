import type { Logger as PinoLogger } from "pino";

// Injection tokens for handler constructors. They are classes (not interfaces) because
// emitDecoratorMetadata records a constructor parameter's type as its runtime class.

/** The component's pino logger (child with `{component}`); per-stanza loggers are on the incoming stanza. */
export abstract class Logger {}
export interface Logger extends PinoLogger {}

/** The component's entry from the config file, with its options validated by the component's schema. */
export class ComponentConfig<Options = Record<string, unknown>> {
  constructor(
    /** The component's domain, e.g. echo.localhost. */
    readonly domain: string,
    /** The component type as named in the config ("echo", or the module path). */
    readonly type: string,
    readonly options: Options,
  ) {}
}

/** The component's instances of its own classes (handlers, services), as its container made them. */
export class ComponentInstances {
  constructor(private readonly instanceOf: (cls: new (...args: never[]) => unknown) => object) {}

  of<T>(cls: new (...args: never[]) => T): T {
    return this.instanceOf(cls) as T;
  }
}
