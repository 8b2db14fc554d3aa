// The one error catalogue of Annex (the Fastify model): every code, the class that carries it and its
// message live here, below every other folder, so any layer can throw them and nothing compares codes as
// strings: `err.code === ErrorCode.LinkFatal`. docs/errors.md's table is checked against CATALOGUE by a test.

/** Every stable error code Annex throws. */
export const ErrorCode = {
  NoTo: "ANNEX_ERR_NO_TO",
  ForeignFrom: "ANNEX_ERR_FOREIGN_FROM",
  NotStanza: "ANNEX_ERR_NOT_STANZA",
  IqNotRequest: "ANNEX_ERR_IQ_NOT_REQUEST",
  IqTimeout: "ANNEX_ERR_IQ_TIMEOUT",
  LinkDown: "ANNEX_ERR_LINK_DOWN",
  QueueFull: "ANNEX_ERR_QUEUE_FULL",
  Stopping: "ANNEX_ERR_STOPPING",
  Jid: "ANNEX_ERR_JID",
  Config: "ANNEX_ERR_CONFIG",
  ComponentNotInstalled: "ANNEX_ERR_COMPONENT_NOT_INSTALLED",
  ForeignCopy: "ANNEX_ERR_FOREIGN_COPY",
  Registry: "ANNEX_ERR_REGISTRY",
  HandlerResult: "ANNEX_ERR_HANDLER_RESULT",
  LinkFatal: "ANNEX_ERR_LINK_FATAL",
  StartFailed: "ANNEX_ERR_START_FAILED",
  NoProsody: "ANNEX_ERR_NO_PROSODY",
  NoEjabberd: "ANNEX_ERR_NO_EJABBERD",
  LeaseLost: "ANNEX_ERR_LEASE_LOST",
  LeaseNeedsPg: "ANNEX_ERR_LEASE_NEEDS_PG",
  XmlTemplate: "ANNEX_ERR_XML_TEMPLATE",
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export interface CatalogueEntry {
  code: ErrorCode;
  /** The class an error with this code is an instance of (all extend AnnexError). */
  className: "AnnexError" | "ConfigError" | "RegistryError" | "JidError" | "FatalLinkError" | "ProsodyMissingError" | "EjabberdMissingError";
  /** Where it comes from and what it means, as the API reference shows it. */
  when: string;
}

/** The reference table: one row per code (docs/errors.md renders exactly this, see errorTableMarkdown). */
export const CATALOGUE: readonly CatalogueEntry[] = [
  { code: ErrorCode.NoTo, className: "AnnexError", when: "`Sender.send`/`request`: stanza without `to`" },
  { code: ErrorCode.ForeignFrom, className: "AnnexError", when: "`Sender.send`/`request`: `from` outside the domain" },
  { code: ErrorCode.NotStanza, className: "AnnexError", when: "`Sender.send`: not message, presence or iq" },
  { code: ErrorCode.IqNotRequest, className: "AnnexError", when: "`Sender.request`: not an IQ get/set" },
  { code: ErrorCode.IqTimeout, className: "AnnexError", when: "`Sender.request`: no answer in time" },
  { code: ErrorCode.LinkDown, className: "AnnexError", when: "`Sender.send`: not connected, or the stream is closing; `Sender.request`: the link dropped while waiting" },
  { code: ErrorCode.QueueFull, className: "AnnexError", when: "`Sender.send`: output queue full" },
  { code: ErrorCode.Stopping, className: "AnnexError", when: "`Sender.send` after the component stopped; `Sender.request`: the component stopped while waiting" },
  { code: ErrorCode.Jid, className: "JidError", when: "`parseJid`, `Sender.send` with a bad `to`" },
  { code: ErrorCode.Config, className: "ConfigError", when: "config loading, component and plugin options, `Runner.create`, `createHarness`" },
  { code: ErrorCode.ComponentNotInstalled, className: "ConfigError", when: "`Runner.create`, `annex run`, `annex config check`: a `type` names a component package (`feed` is `@annex/feed`) that is not installed; the message names the package to install" },
  { code: ErrorCode.ForeignCopy, className: "ConfigError", when: "`Runner.create`, `annex run`, `annex config check`: the component class was decorated by another copy of annex than the one running it (another `node_modules/annex`); the message names both copies and the fix" },
  { code: ErrorCode.Registry, className: "RegistryError", when: "`HandlerRegistry.build` (so `ComponentHost`, `Runner.create`, `annex config check`, `createHarness`): not a component, duplicate routes, missing constructor metadata, bad plugins" },
  { code: ErrorCode.HandlerResult, className: "AnnexError", when: "dispatch: a handler returned something that is not an element (or a list of elements), or an IQ handler returned a whole `<iq>`; logged with the handler's name, IQs get `internal-server-error`" },
  { code: ErrorCode.LinkFatal, className: "FatalLinkError", when: "`Runner.start`, `Link.start`: the server refused a component for good; `err.failure` is `{ kind, condition, advice }`" },
  { code: ErrorCode.StartFailed, className: "AnnexError", when: "`ComponentHost.start` (so `Runner.start`, `annex run`): a class's `onStart` threw; the message names the domain and the class, `err.cause` is what it threw" },
  { code: ErrorCode.NoProsody, className: "ProsodyMissingError", when: "`ManagedProsody.start` without `/usr/bin/prosody`" },
  { code: ErrorCode.NoEjabberd, className: "EjabberdMissingError", when: "`ManagedEjabberd.start` without `/usr/sbin/ejabberdctl`" },
  { code: ErrorCode.LeaseLost, className: "AnnexError", when: "a component with `standby`: the session holding its domain's lease ended while it served; the runner stops it at once and it waits as a standby again" },
  { code: ErrorCode.LeaseNeedsPg, className: "AnnexError", when: "`standby.postgres` (or `postgresLease`) without the `pg` package installed" },
  { code: ErrorCode.XmlTemplate, className: "AnnexError", when: "`serializedXml`: the literal is not one well-formed element, a value stands outside an attribute value or text (or XML in an attribute), or a value is null, undefined or an object" },
];

/** The markdown table of CATALOGUE, as docs/errors.md carries it. */
export function errorTableMarkdown(): string {
  const rows = CATALOGUE.map((e) => `| \`${e.code}\` | \`${e.className}\` | ${e.when} |`);
  return ["| code | class | thrown by |", "| --- | --- | --- |", ...rows].join("\n");
}

/** Base of every error Annex throws on purpose; `code` is one of ErrorCode. */
export class AnnexError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "AnnexError";
    this.code = code;
  }
}

/** A configuration problem: one line per bad field, naming the field, what was expected and what was found. */
export class ConfigError extends AnnexError {
  constructor(
    readonly lines: string[],
    code: ErrorCode = ErrorCode.Config,
  ) {
    super(code, lines.join("\n"));
    this.name = "ConfigError";
  }
}

/** A component that cannot be assembled from its classes (found before anything is instantiated). */
export class RegistryError extends AnnexError {
  constructor(message: string) {
    super(ErrorCode.Registry, message);
    this.name = "RegistryError";
  }
}

export class JidError extends AnnexError {
  constructor(readonly address: string) {
    super(ErrorCode.Jid, `not a valid JID: ${JSON.stringify(address)}`);
    this.name = "JidError";
  }
}

/** What the link does after a failed or dropped connection. */
export type FailureClass = "fatal" | "conflict" | "retry";

export interface ClassifiedFailure {
  kind: FailureClass;
  /** The stream error condition (RFC 6120 §4.9.3) or the socket error code. */
  condition: string;
  /** One line for the admin: what is wrong and what to check. */
  advice: string;
}

/** The server refused the component for good (wrong secret, unknown domain…): retrying cannot help. */
export class FatalLinkError extends AnnexError {
  constructor(readonly failure: ClassifiedFailure) {
    super(ErrorCode.LinkFatal, failure.advice);
    this.name = "FatalLinkError";
  }
}

export class ProsodyMissingError extends AnnexError {
  constructor(bin: string) {
    super(ErrorCode.NoProsody, `Prosody is not installed (${bin} is missing). Install the Debian package: "apt-get update && apt-get install -y prosody", or run "make deps".`);
    this.name = "ProsodyMissingError";
  }
}

export class EjabberdMissingError extends AnnexError {
  constructor(bin: string) {
    super(ErrorCode.NoEjabberd, `ejabberd is not installed (${bin} is missing). Install the Debian package: "apt-get update && apt-get install -y ejabberd", or run "make deps".`);
    this.name = "EjabberdMissingError";
  }
}

/** Factories for the AnnexError messages, so each code's wording is written once. */
export const errors = {
  noTo: (name: string) => new AnnexError(ErrorCode.NoTo, `outbound <${name}/> has no 'to': every stanza a component sends needs one (XEP-0114 §3)`),
  foreignFrom: (from: string, domain: string) =>
    new AnnexError(ErrorCode.ForeignFrom, `outbound 'from' ${from} is outside the component's domain ${domain}; the server would close the stream`),
  notStanza: (name: string) => new AnnexError(ErrorCode.NotStanza, `can only send message, presence or iq, not <${name}/>`),
  iqTimeout: (to: string, ms: number) => new AnnexError(ErrorCode.IqTimeout, `no reply from ${to} within ${ms} ms`),
  iqNotRequest: () => new AnnexError(ErrorCode.IqNotRequest, "request() takes an <iq type='get'|'set'/>"),
  linkDown: (reason: string) => new AnnexError(ErrorCode.LinkDown, `the link to the server went down: ${reason}`),
  queueFull: (queued: number, limit: number) =>
    new AnnexError(ErrorCode.QueueFull, `the server is not reading: ${queued} bytes already wait to be sent (limit ${limit})`),
  stopping: () => new AnnexError(ErrorCode.Stopping, "the component is stopping; nothing more is sent"),
  startFailed: (domain: string, className: string, cause: unknown) =>
    new AnnexError(ErrorCode.StartFailed, `${domain}: ${className}.onStart() failed, so the component does not start: ${cause instanceof Error ? cause.message.split("\n")[0] : String(cause)}`, { cause }),
  handlerResult: (handler: string, what: string, fix: string) => new AnnexError(ErrorCode.HandlerResult, `${handler} returned ${what}: ${fix}`),
  leaseLost: (key: string, reason: string) =>
    new AnnexError(ErrorCode.LeaseLost, `lost the lease on ${key} (${reason}): another process may serve the domain now, so this one stopped serving it`),
  leaseNeedsPg: () => new AnnexError(ErrorCode.LeaseNeedsPg, 'standby.postgres needs the "pg" package next to annex: npm install pg'),
};
