import "reflect-metadata";

// The public API of Annex. Components import from "annex"; tests also from "annex/testing".
export { Component, Handlers, Message, Presence, Iq, DiscoInfo, DiscoItems } from "./handlers/decorators.js";
export type { ComponentOptions, Identity, IqFilter, RouteFilter, HandlerClass } from "./handlers/metadata.js";
export { HandlerRegistry, RegistryError } from "./handlers/registry.js";
export { Logger, ComponentConfig } from "./handlers/tokens.js";
export { IncomingStanza, IncomingMessage, IncomingPresence, IncomingIq, type MessageReply } from "./dispatch/incoming.js";
export { Sender, type Transport } from "./dispatch/sender.js";
export { AnnexError } from "./dispatch/errors.js";
export { StanzaError, ERROR_CONDITIONS, type ErrorCondition, type ErrorType } from "./stanza/errors.js";
export { xml, parseXml, Element, type XmlChild } from "./stanza/xml.js";
export { parseJid, tryParseJid, JID, JidError } from "./stanza/jid.js";
export { NS } from "./stanza/namespaces.js";
export type { DiscoInfoResult, DiscoItem } from "./builtins/index.js";
export type { OnStart, OnStop } from "./runtime/lifecycle.js";
export { ComponentHost, type HostOptions } from "./runtime/host.js";
export { Runner } from "./runtime/runner.js";
export { HostedComponents, type HostedComponent } from "./runtime/hosted.js";
export type { Catalogue } from "./runtime/catalogue.js";
export { ConfigError } from "./config/errors.js";
export { parseConfig, loadConfigFile } from "./config/load.js";
export type { AnnexConfig, ComponentEntry } from "./config/schema.js";
export { runCli, EXIT } from "./cli.js";
export { Metrics } from "./ops/metrics.js";
export { stanzaForLog } from "./ops/logger.js";
export { ANNEX_VERSION } from "./version.js";
export { buildForm, parseForm, formValues, formType, parseBoolean, type DataForm, type FormField, type FieldType, type FormType } from "./stanza/forms.js";
export { parseRsm, buildRsm, buildRsmRequest, NS_RSM, type RsmRequest, type RsmResult } from "./stanza/rsm.js";
