import type { AnnexError } from "../errors.js";

/**
 * Who serves a component domain when several processes are configured for it: the one holding the domain's
 * lease. The others wait as standbys, with nothing started (no onStart, no services, no link), and the first
 * to get the lease after the holder is gone serves. The XMPP server admits one connection per domain
 * (Prosody), or spreads a domain's stanzas over all of them (ejabberd); either way one process per domain
 * must be active, and a lease in a store that distributes well (PostgreSQL) decides which.
 */
export interface DomainLease {
  /** What is locked (for logs): the lock name, by default the component's domain. */
  readonly key: string;
  /**
   * Resolves once this process holds the lease, retrying while another process holds it or the store is
   * unreachable; rejects with the signal's reason when aborted.
   */
  acquire(signal: AbortSignal): Promise<void>;
  /**
   * Called once if a held lease is lost (the session that holds it ended or stopped answering): from then on
   * another process may serve the domain, so the holder must stop serving at once.
   */
  onLost(listener: (reason: AnnexError) => void): void;
  /** Gives the lease back (or stops waiting for it); safe to call in any state. */
  release(): Promise<void>;
}

/** What a lease factory is asked for: one lease per component entry with `standby` in the config. */
export interface LeaseRequest {
  domain: string;
  /** The lock name: `standby.key`, or the domain. */
  key: string;
  /** Where the lease lives, as configured (`standby.postgres`, or the value of `standby.postgresEnv`). */
  url: string;
  /** Delay between attempts while waiting, and between checks while holding. */
  retryMs: number;
}

export type LeaseFactory = (request: LeaseRequest) => DomainLease;
