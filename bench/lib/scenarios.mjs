// The scenarios of research §4.2, sized so that all of them together take under 10 minutes on 2 cores.
// A scenario is a list of units; a unit is one variant process (one session) that runs one or more steps.
import { closedLoop, largeRun, openLoop } from "./session.mjs";
import { echoWorkload, iqWorkload, largeWorkload } from "./workloads.mjs";

export const ECHO_VARIANTS = ["annex", ...(process.env.ANNEX_BEFORE ? ["before"] : []), "raw", "slixmpp", "floor"];
export const IQ_VARIANTS = ["annex", "raw", "slixmpp"];
export const SATURATION_WINDOW = 32;

const echo = () => echoWorkload({ bodyBytes: 100 });

export const SCENARIOS = {
  latency: {
    title: "Closed-loop latency (one stanza in flight)",
    modes: ["direct", "prosody"],
    units: (mode) =>
      ECHO_VARIANTS.map((variant) => ({
        variant,
        workload: echo(),
        steps: [{ key: "w1", run: (gen, ctx) => closedLoop(gen, ctx, { window: 1, warmMs: 500, measureMs: 2500 }) }],
      })),
  },
  saturation: {
    title: "Saturation throughput and CPU per stanza (closed loop)",
    modes: ["direct", "prosody"],
    units: (mode) =>
      ECHO_VARIANTS.map((variant) => ({
        variant,
        workload: echo(),
        steps: [
          { key: `w${SATURATION_WINDOW}`, run: (gen, ctx) => closedLoop(gen, ctx, { window: SATURATION_WINDOW, warmMs: 1000, measureMs: 3000 }) },
          // Bursts larger than Annex's default maxInFlight (64): the dispatcher's waiting queue (issue 20), and a
          // correctness gate for loss. Through Prosody, window 256 saturates Prosody ("never the bottleneck").
          ...(mode === "direct"
            ? [
                { key: "w8", run: (gen, ctx) => closedLoop(gen, ctx, { window: 8, warmMs: 300, measureMs: 1500 }) },
                { key: "w128", run: (gen, ctx) => closedLoop(gen, ctx, { window: 128, warmMs: 300, measureMs: 1500, drainMs: 1500 }) },
                { key: "w256", run: (gen, ctx) => closedLoop(gen, ctx, { window: 256, warmMs: 300, measureMs: 1500, drainMs: 1500 }) },
              ]
            : [{ key: "w256", run: (gen, ctx) => closedLoop(gen, ctx, { window: 256, warmMs: 500, measureMs: 2000, drainMs: 2000 }) }]),
        ],
      })),
  },
  openloop: {
    title: "Fixed-rate open-loop latency (50 % and 80 % of the raw variant's capacity)",
    modes: ["direct"],
    needsCapacity: true,
    units: (mode, { capacity }) =>
      ECHO_VARIANTS.map((variant) => ({
        variant,
        workload: echo(),
        steps: [0.5, 0.8].map((share) => {
          const rate = Math.round(capacity * share);
          return { key: `r${Math.round(share * 100)}`, run: (gen, ctx) => openLoop(gen, ctx, { rate, warmMs: 500, measureMs: 2500, spin: mode === "direct" }) };
        }),
      })),
  },
  iq: {
    title: "IQ dispatch: 50 registered handlers vs 1",
    modes: ["direct"],
    units: () =>
      IQ_VARIANTS.flatMap((variant) =>
        [1, 50].map((handlers) => ({
          variant,
          iq: handlers,
          label: `${variant}/${handlers}`,
          workload: iqWorkload({ namespaces: handlers }),
          steps: [{ key: `h${handlers}`, run: (gen, ctx) => closedLoop(gen, ctx, { window: SATURATION_WINDOW, warmMs: 800, measureMs: 2500 }).then((r) => ({ ...r, wrongKinds: Object.fromEntries(gen.workload.wrongKinds) })) }],
        })),
      ),
  },
  large: {
    title: "Large non-ASCII stanzas (correctness and MB/s)",
    modes: ["direct", "prosody"],
    units: (mode) =>
      ECHO_VARIANTS.map((variant) => ({
        variant,
        workload: echo(),
        steps: [
          [4096, 200],
          [65536, 60],
          [409600, 15],
        ].map(([bytes, count]) => ({
          key: `${bytes}`,
          run: (gen, ctx) => largeRun(gen, ctx, { workload: largeWorkload({ bytes, sliceBytes: mode === "direct" ? 1000 : undefined }), bytes, count, window: 4 }),
        })),
      })),
  },
};

export const DEFAULT_ORDER = ["latency", "saturation", "openloop", "iq", "large"];

/** Variant order for repetition `rep`: rotated each time and reversed every other time (F A B C1, C1 B A F, …). */
export function interleave(units, rep) {
  const n = units.length;
  const rotated = units.map((_, i) => units[(i + rep) % n]);
  return rep % 2 ? rotated.reverse() : rotated;
}
