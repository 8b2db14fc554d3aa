/**
 * The public API of Annex. Components import from "annex"; tests also from "annex/testing".
 * The guide (docs/guide.md) shows how the parts fit; this reference is built from the doc comments.
 * @module annex
 */
import "reflect-metadata";
export { Component, Handlers, Service, Guard, Inject, Message, Presence, Iq, DiscoInfo, DiscoItems, type IqHandlerResult, type StanzaHandlerResult } from "./handlers/decorators.js";
export type { ComponentOptions, Identity, IqFilter, RouteFilter, HandlerClass, CanHandle, GuardFn, GuardContext, Guard as GuardSpec, DiscoProviderKind } from "./handlers/metadata.js";
export { definePlugin, type Plugin, type PluginContext, type PluginProvider } from "./handlers/plugin.js";
export { HandlerRegistry, RegistryError } from "./handlers/registry.js";
export { Logger, ComponentConfig, ComponentInstances } from "./handlers/tokens.js";
export { IncomingStanza, IncomingMessage, IncomingPresence, IncomingIq, type MessageReply } from "./dispatch/incoming.js";
export { Sender } from "./dispatch/sender.js";
export type { DispatchHooks } from "./dispatch/dispatcher.js";
export { AnnexError, ErrorCode, CATALOGUE, errorTableMarkdown, type CatalogueEntry } from "./errors.js";
export { Pipeline, type Middleware, type Next, type Passage, type Direction, type StanzaSink } from "./pipeline/pipeline.js";
export type { Link, LinkEvents } from "./connection/port.js";
export { LinkSupervisor, type SupervisorOptions } from "./connection/supervisor.js";
export { bindLink, type Binding, type BindOptions } from "./runtime/bind.js";
export {
  BUILTIN_PLUGINS,
  discoPlugin,
  pingPlugin,
  versionPlugin,
  timePlugin,
  capsPlugin,
  capsVer,
  CAPS_NODE,
  presenceSubscription,
  PresenceRoster,
  rateLimit,
  rateLimited,
  RateLimits,
  TokenBuckets,
  type Rate,
  type RateLimitOptions,
  type PresenceSubscriptionOptions,
} from "./plugins/index.js";
export { StanzaError, ERROR_CONDITIONS, type ErrorCondition, type ErrorType, type StanzaErrorOptions } from "./stanza/errors.js";
export { xml, parseXml, Element, type XmlChild, type SerializedXml } from "./stanza/xml.js";
export { serializedXml, escapeXML, type SerializedValue } from "./stanza/serialized.js";
export { parseJid, tryParseJid, JID, JidError } from "./stanza/jid.js";
export { NS } from "./stanza/namespaces.js";
export type { DiscoInfoResult, DiscoItem } from "./plugins/index.js";
export type { OnStart, OnStop, OnOnline, OnOffline } from "./runtime/lifecycle.js";
export { ComponentHost, type HostOptions } from "./runtime/host.js";
export { Runner, type RunnerOptions, type RunnerEvents, type RunningComponent } from "./runtime/runner.js";
export type { DomainLease, LeaseFactory, LeaseRequest } from "./lease/lease.js";
export { HostedComponents, type HostedComponent } from "./runtime/hosted.js";
export { type Catalogue, type ComponentLoader, type LoadContext, packageCatalogue } from "./runtime/catalogue.js";
export { ConfigError } from "./config/errors.js";
export { parseConfig, loadConfigFile, resolveConfig, type LoadedConfig } from "./config/load.js";
export type { AnnexConfig, ComponentEntry } from "./config/schema.js";
export { runCli, EXIT, type CliIo } from "./cli.js";
export { FatalLinkError, type LinkState, type LinkStats } from "./connection/supervisor.js";
export type { HealthReport } from "./ops/http.js";
export type { Route } from "./handlers/registry.js";
export { Metrics } from "./ops/metrics.js";
export { createLogger, type PrettyMode } from "./ops/logger.js";
export { stanzaForLog } from "./stanza/log.js";
export { ANNEX_VERSION } from "./version.js";
export { buildForm, parseForm, formValues, formType, parseBoolean, type DataForm, type FormField, type FieldType, type FormType } from "./stanza/forms.js";
export { parseRsm, buildRsm, buildRsmRequest, NS_RSM, type RsmRequest, type RsmResult } from "./stanza/rsm.js";
// Types that public signatures show (so a user can name them, and the API reference can link them).
export type { ClassifiedFailure, FailureClass } from "./errors.js";
export type { KeepaliveOptions } from "./connection/keepalive.js";
export type { TransportTls } from "./connection/transport.js";
export type { StanzaKind } from "./handlers/metadata.js";
export type { RouteDecorator, HandlerMethod, Awaitable } from "./handlers/decorators.js";
export type { DiscoProvider } from "./handlers/registry.js";
export type { Dispatcher } from "./dispatch/dispatcher.js";
export type { IqCaller } from "./dispatch/iq-caller.js";
export type { StanzaContext } from "./dispatch/incoming.js";
export type { AnnexMetrics, Labels, StanzaCounts, KindCounts } from "./ops/metrics.js";
export type { ConfigSources } from "./config/load.js";
export type { Addressee } from "./dispatch/sender.js";
export type { RosterListener } from "./plugins/presence-subscription.js";
export type { ServerKind as LinkServerKind } from "./connection/server-kind.js";
