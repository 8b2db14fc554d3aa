import { spawn } from "node:child_process";

/** One XEP-0060 use case as the independent slixmpp client judged it. */
export interface UseCase {
  case: string;
  section: string;
  /** The XEP-0060 feature (pubsub#<feature>) the use case needs; null = the base protocol. */
  feature: string | null;
  verdict: "yes" | "partial" | "no";
  detail: string;
}

export const CONFORMANCE_CLIENT = new URL("../../../../test/integration/clients/pubsub_conformance.py", import.meta.url).pathname;

/**
 * Runs test/integration/clients/pubsub_conformance.py (slixmpp, the XEP's example stanzas) against a pubsub
 * service through a server's c2s port, with three accounts; resolves with every use case it judged.
 */
export interface ConformanceRun {
  /** The service's disco#info features as the client read them. */
  features: string[];
  cases: UseCase[];
}

export function runConformance(c2s: string, service: string, accounts: { owner: [string, string]; subscriber: [string, string]; other: [string, string] }): Promise<ConformanceRun> {
  return new Promise((resolve, reject) => {
    const args = [CONFORMANCE_CLIENT, c2s, service, ...accounts.owner, ...accounts.subscriber, ...accounts.other];
    const child = spawn("/usr/bin/python3", args, { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => {
      const lines = stdout.split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l) as UseCase & { done?: number; features?: string[] });
      const done = lines.find((l) => l.done !== undefined);
      const features = lines.find((l) => l.features !== undefined)?.features ?? [];
      const cases = lines.filter((l) => l.done === undefined && l.features === undefined);
      if (code !== 0 || !done || done.done !== cases.length) {
        reject(new Error(`the conformance client exited with ${code} after ${cases.length} use cases:\n${stderr.slice(-4000)}`));
        return;
      }
      resolve({ features, cases });
    });
  });
}

/** yes / partial / no counts. */
export function tally(cases: UseCase[]): Record<UseCase["verdict"], number> {
  const out = { yes: 0, partial: 0, no: 0 };
  for (const c of cases) out[c.verdict]++;
  return out;
}
