// Median and spread over repetitions (research §4.1: report the median and the min–max).

export function median(values) {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return NaN;
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

export function spread(values) {
  const v = values.filter((x) => Number.isFinite(x));
  return { median: median(v), min: v.length ? Math.min(...v) : NaN, max: v.length ? Math.max(...v) : NaN, n: v.length };
}

const METRICS = {
  repliesPerSec: (r) => r.repliesPerSec,
  cpuUsPerStanza: (r) => r.cpuUsPerStanza,
  cpuUtilisation: (r) => r.cpuUtilisation,
  prosodyCpuUsPerStanza: (r) => r.prosodyCpuUsPerStanza,
  prosodyCpuUtilisation: (r) => r.prosodyCpuUtilisation,
  p50Us: (r) => r.latency?.p50Us,
  p99Us: (r) => r.latency?.p99Us,
  p999Us: (r) => r.latency?.p999Us,
  maxUs: (r) => r.latency?.maxUs,
  mbPerSec: (r) => r.mbPerSec,
  rssKiB: (r) => r.rssKiB ?? r.peakRssKiB,
};

/** Summarises the repetitions of one step: spread of each metric, counts summed, failures listed. */
export function summariseReps(reps) {
  const ok = reps.filter((r) => !r.error);
  const out = { reps: reps.length, failed: reps.filter((r) => r.error).map((r) => r.error) };
  for (const [name, get] of Object.entries(METRICS)) {
    const s = spread(ok.map(get).filter((x) => x !== undefined));
    if (s.n) out[name] = s;
  }
  const counts = {};
  for (const r of ok) for (const [k, v] of Object.entries(r.counts ?? {})) counts[k] = (counts[k] ?? 0) + v;
  out.counts = counts;
  if (ok.some((r) => r.sustained !== undefined)) out.sustained = ok.filter((r) => r.sustained).length;
  if (ok.some((r) => r.rate !== undefined)) out.rate = ok[0].rate;
  const wrong = {};
  for (const r of ok) for (const [k, v] of Object.entries(r.wrongKinds ?? {})) wrong[k] = { count: (wrong[k]?.count ?? 0) + v.count, sample: wrong[k]?.sample ?? v.sample };
  if (Object.keys(wrong).length) out.wrongKinds = wrong;
  return out;
}
