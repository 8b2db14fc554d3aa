import { z } from "zod";
import { BUILTIN_NAMES } from "../plugins/index.js";

// One schema for the config file. Its keys are documented in the README.

const LogLevel = z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]);

/** A DNS-style domain, e.g. echo.localhost (RFC 7622 §3.2 domainpart, ASCII form). */
const Domain = z.string().regex(/^(?=.{1,253}$)[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/i, "expected a domain such as echo.localhost");

const ComponentType = z.union([z.string().min(1), z.strictObject({ module: z.string().min(1), export: z.string().min(1).optional() })], {
  error: 'expected a component name such as "echo", or {"module": "./path.js"}',
});

export const ComponentEntrySchema = z
  .strictObject({
    type: ComponentType,
    domain: Domain,
    secret: z.string().min(1).optional(),
    secretFile: z.string().min(1).optional(),
    secretEnv: z.string().min(1).optional(),
    options: z.record(z.string(), z.unknown()).default({}),
    /** Built-in plugins switched off by name; the keys come from the plugin list, so they cannot drift. */
    builtins: z.strictObject(Object.fromEntries(BUILTIN_NAMES.map((name) => [name, z.boolean()])) as Record<string, z.ZodBoolean>).partial().default({}),
    /** Options of the component's plugins by plugin name; each plugin's own schema checks its object. */
    plugins: z.record(z.string(), z.record(z.string(), z.unknown())).default({}),
    /** Handlers running at once; further stanzas wait in a queue. */
    maxInFlight: z.int().min(1).default(64),
    /** Stanzas waiting for a handler; beyond, IQ requests get a wait-type resource-constraint and others are dropped (counted). */
    maxQueued: z.int().min(0).default(1024),
    /** This component's log level; default: the global one. */
    log: z.strictObject({ level: LogLevel.optional() }).default({}),
    /**
     * Active/standby for this domain: the process holding the domain's lease (a PostgreSQL advisory lock) serves
     * it, the others wait with nothing started and take over when the holder is gone.
     */
    standby: z
      .strictObject({
        postgres: z.string().regex(/^postgres(ql)?:\/\//, 'expected a URL such as "postgres://user@host:5432/db"').optional(),
        postgresEnv: z.string().min(1).optional(),
        /** The lock's name; default the domain. Two entries with one key share one lease. */
        key: z.string().min(1).optional(),
        /** Delay between attempts while waiting, and between checks of the session while serving. */
        retryMs: z.int().min(50).default(1_000),
      })
      .refine((s) => (s.postgres === undefined) !== (s.postgresEnv === undefined), { path: ["postgres"], message: "expected one of postgres or postgresEnv" })
      .optional(),
  })
  // `when` makes these run even when other fields are bad, so every problem is reported at once.
  .refine((entry) => secretSources(entry).length > 0, { path: ["secret"], message: "expected one of secret, secretFile or secretEnv", when: () => true })
  .refine((entry) => secretSources(entry).length < 2, {
    path: ["secret"],
    error: (issue) => `expected only one of secret, secretFile or secretEnv, not ${secretSources(issue.input).join(" and ")}`,
    when: () => true,
  });

function secretSources(entry: unknown): string[] {
  if (typeof entry !== "object" || entry === null) return [];
  return (["secret", "secretFile", "secretEnv"] as const).filter((k) => (entry as Record<string, unknown>)[k] !== undefined);
}

const Ms = z.int().min(1);

const ServerSchema = z.strictObject({
  host: z.string().min(1).default("127.0.0.1"),
  port: z.int().min(1).max(65535).default(5347),
  /** Exponential backoff with full jitter for network failures; a conflict retries every conflictRetryMs. */
  reconnect: z
    .strictObject({ initialMs: Ms.default(250), maxMs: Ms.default(30_000), stableMs: Ms.default(10_000), conflictRetryMs: Ms.default(60_000) })
    .default({ initialMs: 250, maxMs: 30_000, stableMs: 10_000, conflictRetryMs: 60_000 }),
  /** Probe an idle link after intervalMs; no answer within timeoutMs = dead, reconnect. false = off. */
  keepalive: z.union([z.literal(false), z.strictObject({ intervalMs: Ms.default(30_000), timeoutMs: Ms.default(10_000) })]).default({ intervalMs: 30_000, timeoutMs: 10_000 }),
  /**
   * TLS from the first byte, for a component port on another machine (ejabberd_service with `tls: true`, or a
   * TLS terminator in front of Prosody's component port). false = plain TCP (loopback or a private network).
   */
  tls: z
    .union([
      z.literal(false),
      z.strictObject({
        /** PEM file of the CA to trust instead of the system's, relative to the config file. */
        caFile: z.string().min(1).optional(),
        /** The name the server's certificate must carry; default server.host unless it is an IP address. */
        servername: z.string().min(1).optional(),
        /** false accepts any certificate (loopback tests only). */
        rejectUnauthorized: z.boolean().default(true),
      }),
    ])
    .default(false),
  /** Handshake, stream open and close timeout. */
  timeoutMs: Ms.default(5_000),
  /** Largest incoming stanza; Prosody's own component limit is 512 KiB. */
  maxStanzaBytes: z.int().min(1024).default(512 * 1024),
  /** Outbound bytes that may wait while the server reads slowly; beyond, sends fail with ANNEX_ERR_QUEUE_FULL. */
  maxQueueBytes: z.int().min(1024).default(4 * 1024 * 1024),
});

export const ConfigSchema = z.strictObject({
  server: ServerSchema.default(ServerSchema.parse({})),
  /** How long a stop waits for handlers in flight before closing. */
  shutdown: z.strictObject({ drainMs: z.int().min(0).default(5_000) }).default({ drainMs: 5_000 }),
  log: z.strictObject({ level: LogLevel.default("info"), pretty: z.enum(["auto", "always", "never"]).default("auto") }).default({ level: "info", pretty: "auto" }),
  /** Prometheus /metrics and /healthz over HTTP; port 0 = off. Bind to loopback unless a proxy guards it. */
  metrics: z.strictObject({ port: z.int().min(0).max(65535).default(0), host: z.string().min(1).default("127.0.0.1") }).default({ port: 0, host: "127.0.0.1" }),
  components: z.array(ComponentEntrySchema).min(1, "expected at least one component"),
});

export type AnnexConfig = z.infer<typeof ConfigSchema>;
export type ComponentEntry = z.infer<typeof ComponentEntrySchema>;
