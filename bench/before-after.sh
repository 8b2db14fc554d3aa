#!/bin/bash
# Issue 20's before/after runs: another built checkout (BEFORE) against this one, interleaved (the order alternates
# per repetition); logs in OUT (default /tmp/perf-runs), summed up by `node bench/summarize.mjs $OUT`.
#   BEFORE=/tmp/perf-before BEFORE_LABEL=b4ffab2 bash bench/before-after.sh [snapshot input fake feed prosody echo]
# Make BEFORE (its own node_modules links, so @annex/* and annex resolve to ITS packages, not this checkout's):
#   git archive <commit> | tar -x -C /tmp/perf-before
#   mkdir /tmp/perf-before/node_modules; for e in node_modules/* node_modules/.bin; do n=$(basename $e);
#     [ $n = annex ] || [ $n = @annex ] || ln -s $PWD/$e /tmp/perf-before/node_modules/$n; done
#   ln -s /tmp/perf-before /tmp/perf-before/node_modules/annex; mkdir /tmp/perf-before/node_modules/@annex
#   for c in echo disco feed pong; do ln -s /tmp/perf-before/components/$c /tmp/perf-before/node_modules/@annex/$c; done
#   (cd /tmp/perf-before && npx tsc -p tsconfig.json && for c in echo disco feed pong; do npx tsc -p components/$c; done)
set -u
AFTER=$(cd "$(dirname "$0")/.." && pwd)
BEFORE=${BEFORE:-/tmp/perf-before}
BEFORE_LABEL=${BEFORE_LABEL:-before}
OUT=${OUT:-/tmp/perf-runs}
REPS=${REPS:-3}
PARTS=${*:-snapshot input fake feed feedmem prosody echo}
cd "$AFTER"
mkdir -p "$OUT"

# Runs "$@" for after and before, REPS times, the order alternating; each output line prefixed with the variant.
interleave() {
  local log=$1; shift
  for rep in $(seq 1 "$REPS"); do
    if [ $((rep % 2)) = 1 ]; then order="after before"; else order="before after"; fi
    for v in $order; do
      if [ $v = before ]; then root=$BEFORE; else root=$AFTER; fi
      echo "rep $rep $v $(cat /proc/loadavg)"
      ANNEX_ROOT=$root "$@" 2>&1 | sed "s/^/$v /"
    done
  done >> "$OUT/$log"
}

for part in $PARTS; do
  echo "== $part $(date -u +%H:%M:%S) load $(cut -d' ' -f1-3 /proc/loadavg)"
  case $part in
    snapshot) interleave snapshot-cost.log env REPS=1 node bench/pong/snapshot-cost.mjs ;;
    input) interleave input-cost.log node bench/pong/input-cost.mjs ;;
    fake) interleave pong-fake.log env WARMUP_S=3 MEASURE_S=6 node bench/pong/bench.mjs fake 250,1000 ;;
    feed) REPS=2 interleave feed.log node bench/feed/fanout.mjs --latency-s 10 --fanout-s 8 --ceiling-s 6 ;;
    feedmem) REPS=2 interleave feed.log node bench/feed/fanout.mjs --latency-s 10 --fanout-s 8 --ceiling-s 6 --storage memory ;;
    prosody) interleave pong-prosody.log env WARMUP_S=3 MEASURE_S=6 node bench/pong/bench.mjs prosody ${PROSODY_ROOMS:-100,150} ;;
    echo) ANNEX_BEFORE=$BEFORE ANNEX_BEFORE_LABEL=$BEFORE_LABEL node bench/run.mjs saturation latency --variants annex,before,raw,floor > "$OUT/echo.log" 2>&1 ;;
    *) echo "unknown part $part (snapshot input fake feed feedmem prosody echo)"; exit 2 ;;
  esac
done
echo "== done $(date -u +%H:%M:%S) load $(cut -d' ' -f1-3 /proc/loadavg)"
