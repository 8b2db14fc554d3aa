import type { Identity } from "../handlers/metadata.js";

export interface HostedComponent {
  domain: string;
  type: string;
  identities: Identity[];
  features: string[];
}

/**
 * The components running in this Annex process (injectable), so a component such as a
 * directory can list its siblings without the framework knowing what any of them is.
 */
export class HostedComponents {
  private readonly entries = new Map<string, HostedComponent>();

  add(entry: HostedComponent): void {
    this.entries.set(entry.domain, entry);
  }

  list(): HostedComponent[] {
    return [...this.entries.values()].sort((a, b) => a.domain.localeCompare(b.domain));
  }
}
