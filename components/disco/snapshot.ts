import type { DiscoItem, Identity } from "annex";

/** One entity (a JID, or a JID + node) the directory knows about. */
export interface Entity {
  jid: string;
  node?: string;
  /** The name given by whoever listed it (the server's disco#items), if any. */
  listedName?: string;
  /** Where it was found: server domains that list it, and "annex" when this process hosts it. */
  foundVia: string[];
  identities: Identity[];
  features: string[];
  /** Its own disco#items (one level); undefined when not asked or not answered. */
  items?: DiscoItem[];
  /** Why its disco#info failed; an unreachable entity stays listed with this. */
  error?: string;
  /** Why its disco#items failed (many entities have none; this does not make it unreachable). */
  itemsError?: string;
}

export interface ServerResult {
  domain: string;
  /** Why the server's own disco#items failed. */
  error?: string;
}

export interface Snapshot {
  crawledAt: Date;
  durationMs: number;
  servers: ServerResult[];
  entities: Entity[];
}

export const HOSTED = "annex";

export function entityKey(e: { jid: string; node?: string }): string {
  return e.node === undefined ? e.jid : `${e.jid}#${e.node}`;
}

/** The name a person would recognise: the first identity's name, else the listing's name. */
export function displayName(e: Entity): string | undefined {
  return e.identities.find((i) => i.name)?.name ?? e.listedName;
}

export function unreachable(snapshot: Snapshot): Entity[] {
  return snapshot.entities.filter((e) => e.error !== undefined);
}

/** feature var -> the entities offering it, for the `features/<var>` nodes. */
export function featureIndex(snapshot: Snapshot): Map<string, Entity[]> {
  const index = new Map<string, Entity[]>();
  for (const e of snapshot.entities) {
    for (const f of e.features) index.set(f, [...(index.get(f) ?? []), e]);
  }
  return new Map([...index.entries()].sort(([a], [b]) => a.localeCompare(b)));
}

export interface SnapshotChanges {
  added: string[];
  removed: string[];
  /** Entities whose identities, features or reachability changed. */
  changed: string[];
}

/** What a new crawl found different from the previous one (for the change log). */
export function diffSnapshots(before: Snapshot | undefined, after: Snapshot): SnapshotChanges {
  const old = new Map((before?.entities ?? []).map((e) => [entityKey(e), e]));
  const now = new Map(after.entities.map((e) => [entityKey(e), e]));
  const added = [...now.keys()].filter((k) => !old.has(k));
  const removed = [...old.keys()].filter((k) => !now.has(k));
  const changed = [...now.entries()]
    .filter(([k, e]) => old.has(k) && fingerprint(old.get(k)!) !== fingerprint(e))
    .map(([k]) => k);
  return { added, removed, changed };
}

function fingerprint(e: Entity): string {
  const identities = e.identities.map((i) => `${i.category}/${i.type}/${i.name ?? ""}`).sort();
  return JSON.stringify([identities, e.features, e.error ?? null]);
}

export function hasChanges(c: SnapshotChanges): boolean {
  return c.added.length + c.removed.length + c.changed.length > 0;
}
