import { parseJid } from "annex";
import { z } from "zod";

const domain = z
  .string()
  .min(1)
  .regex(/^[^@/\s]+$/, "must be a bare domain such as localhost (no @, / or spaces)");

const bareJid = z.string().refine((s) => {
  try {
    const jid = parseJid(s);
    return !jid.resource;
  } catch {
    return false;
  }
}, "must be a bare JID such as admin@localhost");

/** The directory's `options` in the config file. */
export const DirectoryOptions = z.strictObject({
  /** Server domains whose disco#items are crawled; default: the parent of the directory's own domain. */
  servers: z.array(domain).min(1).optional(),
  /** How often the crawl runs again (ms); default 5 minutes. */
  refreshIntervalMs: z.number().int().min(1_000).default(300_000),
  /** How long one disco query may take before its entity is reported as not answering (ms). */
  queryTimeoutMs: z.number().int().min(1).max(120_000).default(5_000),
  /** How many disco queries may be in flight at once during a crawl. */
  concurrency: z.number().int().min(1).max(64).default(4),
  /** How many nodes of one item are queried (pubsub services can list thousands). */
  maxNodesPerItem: z.number().int().min(0).max(1_000).default(20),
  /** Bare JIDs allowed to run the ad-hoc command `refresh`. */
  admins: z.array(bareJid).default([]),
});

export type DirectoryOptionsInput = z.input<typeof DirectoryOptions>;
export type DirectorySettings = z.output<typeof DirectoryOptions>;

/** `directory.localhost` -> `localhost`; a domain without a parent has no default server. */
export function defaultServers(ownDomain: string): string[] {
  const dot = ownDomain.indexOf(".");
  return dot === -1 ? [] : [ownDomain.slice(dot + 1)];
}
