// Minimal types for @xmpp/client 0.13 as the tests use it (xmpp.js ships none).
declare module "@xmpp/client" {
  import type { EventEmitter } from "node:events";
  import type { Element } from "ltx";
  export interface XmppClient extends EventEmitter {
    start(): Promise<unknown>;
    stop(): Promise<unknown>;
    send(el: Element): Promise<void>;
    jid: { toString(): string; bare(): { toString(): string } } | null;
    status: string;
    reconnect: { stop(): void; delay: number };
    iqCaller: { request(el: Element, timeout?: number): Promise<Element> };
  }
  export function client(options: { service: string; domain?: string; username?: string; password?: string; resource?: string }): XmppClient;
  export function xml(name: string, attrs?: Record<string, string | undefined>, ...children: unknown[]): Element;
}
