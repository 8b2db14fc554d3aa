// The part of @xmpp/client 0.13 (browser build: native WebSocket) these pages use; xmpp.js ships no types.
declare module "@xmpp/client" {
  export interface XmlElement {
    name: string;
    attrs: Record<string, string | undefined>;
    children: (XmlElement | string)[];
    getChild(name: string, xmlns?: string): XmlElement | undefined;
    getChildren(name: string, xmlns?: string): XmlElement[];
    getChildText(name: string, xmlns?: string): string | null;
    getChildElements(): XmlElement[];
    getText(): string;
    is(name: string, xmlns?: string): boolean;
    toString(): string;
  }
  export interface Jid {
    toString(): string;
    bare(): Jid;
    local: string;
    domain: string;
    resource: string;
  }
  export interface XmppClient {
    start(): Promise<Jid>;
    stop(): Promise<void>;
    send(el: XmlElement): Promise<void>;
    on(event: "stanza", fn: (el: XmlElement) => void): void;
    on(event: "online", fn: (jid: Jid) => void): void;
    on(event: "status", fn: (status: string) => void): void;
    on(event: "error", fn: (err: Error) => void): void;
    on(event: "offline" | "disconnect", fn: () => void): void;
    jid: Jid | null;
    status: string;
    socket: { socket?: WebSocket } | null;
    reconnect: { delay: number; stop(): void; scheduleReconnect(): void; on(event: "reconnecting" | "reconnected", fn: () => void): void };
    iqCaller: { request(el: XmlElement, timeoutMs?: number): Promise<XmlElement> };
  }
  export function client(options: { service: string; domain: string; username?: string; password?: string; resource?: string }): XmppClient;
  export function xml(name: string, attrs?: Record<string, string | undefined>, ...children: (XmlElement | string | undefined)[]): XmlElement;
}
