// Types for the parts of xmpp.js 0.13 that Annex uses and shows in its own declarations. xmpp.js ships none
// (https://github.com/xmppjs/xmpp.js/issues/542); shipped with the package (see "files") and referenced from
// the declarations that import these modules, so a consumer with skipLibCheck: false resolves them too.

declare module "@xmpp/jid" {
  export class JID {
    constructor(local: string | undefined, domain: string, resource?: string);
    local: string;
    domain: string;
    resource: string;
    bare(): JID;
    equals(other: JID): boolean;
    toString(unescape?: boolean): string;
    getLocal(unescape?: boolean): string;
    getDomain(): string;
    getResource(): string;
  }
  function jid(address: string): JID;
  function jid(local: string | undefined, domain: string, resource?: string): JID;
  namespace jid {
    export { JID };
  }
  export default jid;
}

declare module "@xmpp/component-core" {
  import type { Element } from "ltx";
  import type { EventEmitter } from "node:events";
  import type { Socket } from "node:net";

  export class Component extends EventEmitter {
    constructor(options: { service: string; domain: string });
    options: { service: string; domain: string };
    status: string;
    socket: Socket | null;
    parser: { write(data: string): void } | null;
    root: Element | null;
    timeout: number;
    jid: unknown;
    start(): Promise<void>;
    stop(): Promise<void>;
    connect(service: string): Promise<void>;
    open(options: { domain: string; lang?: string; timeout?: number }): Promise<Element>;
    send(element: Element): Promise<void>;
    sendReceive(element: Element, timeout?: number): Promise<Element>;
    write(data: string): Promise<void>;
    disconnect(timeout?: number): Promise<void>;
    authenticate(streamId: string, secret: string): Promise<void>;
    isStanza(element: Element): boolean;
    _onData(data: Buffer): void;
    _status(status: string, ...args: unknown[]): void;
    _jid(address: string): unknown;
    _streamError(condition: string): Promise<void>;
    /** The parser reported malformed input (0.13.1: bad-format stream error, parser detached, "error" emitted). */
    _onParserError(error: Error): void;
    _detachParser(): void;
    /** xmpp://host:port -> the socket's connect parameters (port 5347 when none is given). */
    socketParameters(service: string): { host: string; port: number };
    /** Takes a connected socket (our TLS link connects it itself). */
    _attachSocket(socket: Socket): void;
    /** Takes the stream's parser (a new one per stream: `new this.Parser()`). */
    _attachParser(parser: { write(data: string): void }): void;
  }
  export const xml: (name: string, attrs?: Record<string, unknown> | null, ...children: unknown[]) => Element;
}
