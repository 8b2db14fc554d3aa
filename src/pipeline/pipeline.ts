import type { Element } from "../stanza/xml.js";

// The stanza pipeline (the xmpp.js `use` model, Slixmpp's stream filters): every stanza a component
// receives passes the inbound middleware before dispatch, every stanza it sends passes the outbound
// middleware before the link. A middleware calls next() to pass the stanza on, returns without calling
// it to drop the stanza, and may answer through ctx.send (which goes out through the outbound pipeline).
// A fan-out copy (Sender.fanOut, fanout.ts) is a stanza of its own here: own attrs and list of children,
// the children shared with its template. A middleware may drop it or change its attributes or children list
// (that copy is then serialised afresh); it must not change the inside of a shared child.

export type Direction = "inbound" | "outbound";

/** What a middleware sees of one stanza on its way through. */
export interface Passage {
  readonly stanza: Element;
  readonly direction: Direction;
  /** The component's domain. */
  readonly domain: string;
  /** Sends a stanza out (through the whole outbound pipeline), e.g. an answer an inbound middleware gives itself. */
  send(stanza: Element): Promise<void>;
}

export type Next = () => Promise<void>;
export type Middleware = (passage: Passage, next: Next) => void | Promise<void>;

/** Where a stanza goes once every middleware has passed it on. */
export type StanzaSink = (stanza: Element) => Promise<void>;

/** An ordered chain of middleware; the first added sees a stanza first. */
export class Pipeline {
  private stack: Middleware[] = [];

  constructor(readonly direction: Direction) {}

  get size(): number {
    return this.stack.length;
  }

  /** Adds middleware at the end of the chain (closest to dispatch inbound, closest to the link outbound). */
  use(...middleware: Middleware[]): this {
    this.stack = [...this.stack, ...middleware];
    return this;
  }

  /** Adds middleware at the front of the chain (the link's own filters, process-wide counters). */
  prepend(...middleware: Middleware[]): this {
    this.stack = [...middleware, ...this.stack];
    return this;
  }

  /** Takes middleware out again (a link that is unbound). */
  remove(...middleware: Middleware[]): this {
    this.stack = this.stack.filter((m) => !middleware.includes(m));
    return this;
  }

  /** Runs the chain for one stanza, then `sink` unless a middleware dropped it. Never throws synchronously. */
  run(passage: Passage, sink: StanzaSink): Promise<void> {
    // The common case (no middleware) costs one call; the chain is read once so use() during a run is safe.
    const stack = this.stack;
    if (stack.length === 0) return sink(passage.stanza);
    const step = (index: number): Promise<void> => {
      if (index === stack.length) return sink(passage.stanza);
      let called = false;
      const next: Next = () => {
        if (called) return Promise.reject(new Error(`middleware #${index} of the ${this.direction} pipeline called next() twice`));
        called = true;
        return step(index + 1);
      };
      try {
        return Promise.resolve(stack[index]!(passage, next));
      } catch (err) {
        return Promise.reject(err);
      }
    };
    return step(0);
  }
}
