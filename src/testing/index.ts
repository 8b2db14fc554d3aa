// Test helpers for Annex components: the server-free harness and a managed Prosody.
export { Harness, createHarness, type HarnessOptions } from "./harness.js";
export { xmlEqual, assertXmlEqual, canonicalize } from "./xml-equal.js";
export { ManagedProsody, ProsodyMissingError, PROSODY_BIN, PROSODYCTL_BIN, type ProsodyOptions, type ProsodyComponent } from "./prosody.js";
export { freePort, isListening } from "./ports.js";
export { ManagedEjabberd, EjabberdMissingError, EJABBERDCTL_BIN, type EjabberdOptions, type EjabberdComponent, type EjabberdErlangOptions } from "./ejabberd.js";
export { ManagedEjabberdCluster, type EjabberdClusterOptions } from "./ejabberd-cluster.js";
export { startServer, testServerKinds, SERVER_KINDS, type ServerKind, type ManagedServer, type ServerOptions } from "./servers.js";
export { ManagedPostgres } from "./postgres.js";
