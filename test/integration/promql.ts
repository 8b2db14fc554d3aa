// The metric names a PromQL expression (or a Grafana template query) reads, for checking a dashboard
// against a live /metrics. Not a PromQL parser: label matchers, ranges, strings and grouping clauses are
// cut out first, then every remaining identifier that is not a function call, keyword or number is a name.

const KEYWORDS = new Set(["and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring", "group_left", "group_right", "inf", "nan", "atan2"]);

export function metricNames(expr: string): string[] {
  // Grafana's label_values(selector, label): only the selector names a metric.
  const labelValues = /^\s*label_values\(\s*(.*?)\s*,\s*[a-zA-Z_]\w*\s*\)\s*$/s.exec(expr);
  if (labelValues) return metricNames(labelValues[1] as string);
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, " ")
    .replace(/\[[^\]]*\]/g, " ")
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, " ");
  const names = new Set<string>();
  for (const match of stripped.matchAll(/(?<![\w.$])[a-zA-Z_:][\w:]*/g)) {
    const word = match[0];
    const after = stripped.slice((match.index ?? 0) + word.length).trimStart();
    if (after.startsWith("(") || KEYWORDS.has(word.toLowerCase())) continue;
    names.add(word);
  }
  return [...names];
}

/**
 * Every series name a Prometheus text exposition offers: the names of its samples, and the names each
 * `# TYPE` line declares (a histogram's _bucket, _sum and _count, a summary's _sum and _count), so a
 * labelled family that has not been observed yet still counts as present.
 */
export function exposedNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const line of text.split("\n")) {
    const type = /^# TYPE (\S+) (\S+)/.exec(line);
    if (type) {
      const [, name, kind] = type as unknown as [string, string, string];
      names.add(name);
      if (kind === "histogram") for (const s of ["_bucket", "_sum", "_count"]) names.add(name + s);
      if (kind === "summary") for (const s of ["_sum", "_count"]) names.add(name + s);
      continue;
    }
    const sample = /^([a-zA-Z_:][\w:]*)[{ ]/.exec(line);
    if (sample) names.add(sample[1] as string);
  }
  return names;
}

/** Every PromQL expression of a Grafana dashboard: panel targets (rows' panels too) and template queries. */
export function dashboardQueries(dashboard: unknown): { where: string; expr: string }[] {
  const out: { where: string; expr: string }[] = [];
  const d = dashboard as {
    panels?: { title?: string; panels?: unknown[]; targets?: { expr?: string; refId?: string }[] }[];
    templating?: { list?: { name: string; type: string; query?: string | { query?: string } }[] };
  };
  const visit = (panels: NonNullable<typeof d.panels>) => {
    for (const panel of panels) {
      for (const t of panel.targets ?? []) if (t.expr) out.push({ where: `panel "${panel.title}" ${t.refId ?? ""}`.trim(), expr: t.expr });
      if (panel.panels) visit(panel.panels as NonNullable<typeof d.panels>);
    }
  };
  visit(d.panels ?? []);
  for (const v of d.templating?.list ?? []) {
    if (v.type !== "query") continue;
    const q = typeof v.query === "string" ? v.query : v.query?.query;
    if (q) out.push({ where: `variable $${v.name}`, expr: q });
  }
  return out;
}
