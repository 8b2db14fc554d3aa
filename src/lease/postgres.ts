import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "pino";
import type { Client, ClientConfig } from "pg";
import { type AnnexError, errors } from "../errors.js";
import type { DomainLease, LeaseRequest } from "./lease.js";

export interface PostgresLeaseOptions extends Omit<LeaseRequest, "domain"> {
  log?: Logger;
}

/**
 * A DomainLease held as a PostgreSQL session-level advisory lock
 * (https://www.postgresql.org/docs/current/explicit-locking.html#ADVISORY-LOCKS): the lock lives exactly as long
 * as the session that took it, so a holder killed with -9 frees it as soon as its socket closes, and no row or
 * clock decides anything. The holder checks its session every `retryMs` and stops serving when the check fails.
 * A network partition is bounded by TCP keepalives set on the session: the server ends a silent session (and
 * frees its lock) after about 11 s, while the holder has already stopped after about 3 checks.
 *
 * `pg` is an optional peer dependency of annex: it is loaded here, on first use.
 */
export function postgresLease(options: PostgresLeaseOptions): DomainLease {
  return new PostgresLease(options);
}

// One key namespace for Annex's locks, so an application's own advisory locks on the same database do not collide.
const LOCK = "pg_try_advisory_lock(hashtextextended('annex:' || $1::text, 0))";
const UNLOCK = "pg_advisory_unlock(hashtextextended('annex:' || $1::text, 0))";

class PostgresLease implements DomainLease {
  readonly key: string;
  private client: Client | undefined;
  private check: NodeJS.Timeout | undefined;
  private lostListeners: ((reason: AnnexError) => void)[] = [];
  private held = false;
  private released = false;

  constructor(private readonly options: PostgresLeaseOptions) {
    this.key = options.key;
  }

  onLost(listener: (reason: AnnexError) => void): void {
    this.lostListeners.push(listener);
  }

  async acquire(signal: AbortSignal): Promise<void> {
    const pg = await loadPg();
    let lastProblem = "";
    for (;;) {
      signal.throwIfAborted();
      try {
        const client = (this.client ??= await this.connect(pg));
        const { rows } = await client.query<{ held: boolean }>(`SELECT ${LOCK} AS held`, [this.key]);
        if (rows[0]?.held) {
          this.held = true;
          this.watch(client);
          return;
        }
        if (lastProblem !== "held") this.options.log?.info({ lease: this.key }, `standby: another process holds the lease on ${this.key}; checking every ${this.options.retryMs} ms`);
        lastProblem = "held";
      } catch (err) {
        await this.dropClient();
        const message = (err as Error).message;
        if (lastProblem !== message) this.options.log?.warn({ lease: this.key, err: message }, `standby: cannot reach PostgreSQL for the lease on ${this.key}: ${message}; retrying every ${this.options.retryMs} ms`);
        lastProblem = message;
      }
      await sleep(this.options.retryMs, undefined, { signal });
    }
  }

  async release(): Promise<void> {
    this.released = true;
    clearInterval(this.check);
    const client = this.client;
    this.client = undefined;
    if (!client) return;
    try {
      if (this.held) await client.query(`SELECT ${UNLOCK}`, [this.key]);
    } catch {
      // The session is gone already, and the lock with it.
    }
    this.held = false;
    await client.end().catch(() => undefined);
  }

  private async connect(pg: PgModule): Promise<Client> {
    const config: ClientConfig = {
      connectionString: this.options.url,
      keepAlive: true,
      connectionTimeoutMillis: Math.max(1_000, this.options.retryMs * 3),
      query_timeout: Math.max(1_000, this.options.retryMs * 3),
      application_name: `annex lease ${this.key}`,
    };
    const client = new pg.Client(config);
    // Errors also reach the lost path through the failed check; without a listener they would crash the process.
    client.on("error", (err) => this.lose(err));
    client.on("end", () => this.lose(new Error("the PostgreSQL session ended")));
    await client.connect();
    // The server side of a partition: end a silent session (and free its lock) after 5 + 3 × 2 s.
    await client.query("SET tcp_keepalives_idle = 5; SET tcp_keepalives_interval = 2; SET tcp_keepalives_count = 3");
    return client;
  }

  private watch(client: Client): void {
    this.check = setInterval(() => {
      client.query("SELECT 1").catch((err: Error) => this.lose(err));
    }, this.options.retryMs);
    this.check.unref();
  }

  private lose(reason: Error): void {
    if (!this.held || this.released) return;
    this.held = false;
    clearInterval(this.check);
    const client = this.client;
    this.client = undefined;
    void client?.end().catch(() => undefined);
    const lost = errors.leaseLost(this.key, reason.message);
    for (const listener of this.lostListeners.splice(0)) listener(lost);
  }

  private async dropClient(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }
}

type PgModule = typeof import("pg").default;

async function loadPg(): Promise<PgModule> {
  try {
    return (await import("pg")).default;
  } catch {
    throw errors.leaseNeedsPg();
  }
}
