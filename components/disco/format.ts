import { type DiscoItem, type Element, formValues, type Identity, parseForm } from "annex";
import type { InfoAnswer } from "./disco-client.js";
import { displayName, type Entity, HOSTED, type Snapshot, unreachable } from "./snapshot.js";
import { describeFeature } from "./xep-names.js";

// Plain-text answers for the chat interface: what a person wants to read, one fact a line.

export function helpText(servers: string[], refreshIntervalMs: number): string {
  return [
    `I am a service directory for ${servers.join(", ") || "(no server configured)"}. Commands:`,
    `  list                 what the server and this Annex offer (refreshed every ${duration(refreshIntervalMs)})`,
    "  info <jid> [node]    ask an entity what it is and what it supports (disco#info)",
    "  items <jid> [node]   ask an entity what it contains (disco#items)",
    "  help                 this text",
  ].join("\n");
}

function duration(ms: number): string {
  if (ms % 60_000 === 0) return `${ms / 60_000} min`;
  if (ms % 1_000 === 0) return `${ms / 1_000} s`;
  return `${ms} ms`;
}

export function target(jid: string, node?: string): string {
  return node === undefined ? jid : `${jid} node "${node}"`;
}

function identity(i: Identity): string {
  return `${i.name ? `${i.name} ` : ""}[${i.category}/${i.type}]`;
}

function entityLine(e: Entity, ownDomain: string): string {
  const name = displayName(e);
  const what = e.error !== undefined ? `UNREACHABLE: ${e.error}` : [name, ...e.identities.slice(0, 1).map((i) => `[${i.category}/${i.type}]`)].filter(Boolean).join(" ");
  const here = e.jid === ownDomain ? " (this directory)" : "";
  return `${target(e.jid, e.node)}${here}${what ? ` — ${what}` : ""}`;
}

/** The cached directory, grouped by where each entity was found; nodes under their entity. */
export function formatList(snapshot: Snapshot, ownDomain: string): string {
  const lines = [
    `Service directory, crawled ${snapshot.crawledAt.toISOString()} in ${snapshot.durationMs} ms: ` +
      `${snapshot.entities.length} entities, ${unreachable(snapshot).length} unreachable.`,
  ];
  const nodesOf = (jid: string) => snapshot.entities.filter((e) => e.node !== undefined && e.jid === jid && !e.foundVia.some((v) => v !== jid));
  const group = (title: string, members: Entity[], note?: string) => {
    lines.push("", `${title}:`);
    if (note) lines.push(`  ${note}`);
    if (members.length === 0 && !note) lines.push("  (nothing)");
    for (const e of members) {
      lines.push(`  • ${entityLine(e, ownDomain)}`);
      if (e.node === undefined) for (const n of nodesOf(e.jid)) lines.push(`      – ${entityLine(n, ownDomain)}`);
    }
  };
  const hosted = snapshot.entities.filter((e) => e.foundVia.includes(HOSTED));
  group("Hosted by this Annex process", hosted);
  for (const server of snapshot.servers) {
    const members = snapshot.entities.filter((e) => e.jid === server.domain && e.node === undefined);
    const listed = snapshot.entities.filter((e) => e.foundVia.includes(server.domain) && !(e.jid === server.domain && e.node === undefined));
    // A hosted component the server lists too is shown once, above; here it is only counted.
    members.push(...listed.filter((e) => !e.foundVia.includes(HOSTED)));
    group(`Found on ${server.domain}`, members, server.error === undefined ? undefined : `could not list its items: ${server.error}`);
    const alsoHosted = listed.filter((e) => e.foundVia.includes(HOSTED) && e.node === undefined).length;
    if (alsoHosted > 0) lines.push(`  (and the ${alsoHosted} hosted above)`);
  }
  lines.push("", 'Ask "info <jid> [node]" or "items <jid> [node]" for details.');
  return lines.join("\n");
}

export function formatInfo(jid: string, node: string | undefined, info: InfoAnswer): string {
  const lines = [`${target(jid, node)}:`];
  lines.push(`Identities (${info.identities.length}):`);
  for (const i of info.identities) lines.push(`  • ${identity(i)}`);
  lines.push(`Features (${info.features.length}):`);
  for (const f of info.features) lines.push(`  • ${describeFeature(f)}`);
  if (info.forms.length > 0) {
    lines.push("Extended information (XEP-0128):");
    for (const form of info.forms) lines.push(...formLines(form));
  }
  return lines.join("\n");
}

function formLines(el: Element): string[] {
  try {
    const values = formValues(parseForm(el));
    return Object.entries(values).map(([name, v]) => `  • ${name}: ${v.join(", ")}`);
  } catch {
    return ["  • (a malformed data form)"];
  }
}

export function formatItems(jid: string, node: string | undefined, items: DiscoItem[]): string {
  if (items.length === 0) return `${target(jid, node)} lists no items.`;
  return [
    `Items of ${target(jid, node)} (${items.length}):`,
    ...items.map((i) => `  • ${target(i.jid, i.node)}${i.name ? ` — ${i.name}` : ""}`),
  ].join("\n");
}

export function formatFailure(query: "disco#info" | "disco#items", jid: string, node: string | undefined, reason: string): string {
  return `${target(jid, node)} did not answer ${query}: ${reason}`;
}
