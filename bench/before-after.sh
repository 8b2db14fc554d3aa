#!/bin/bash
# Issue 20's before/after runs: the checkout BEFORE (default /tmp/perf-before, built) against this one,
# interleaved (the order alternates per repetition); logs in /tmp/perf-runs/, summed up by bench/summarize.mjs.
# Make BEFORE with: git archive <commit> | tar -x -C /tmp/perf-before; ln -s $PWD/node_modules /tmp/perf-before/; (cd /tmp/perf-before && npx tsc -p tsconfig.json)
cd /work/wt/perf
mkdir -p /tmp/perf-runs
exec > /tmp/perf-runs/all.log 2>&1
uptime
echo "== echo saturation"; date -u
ANNEX_BEFORE=/tmp/perf-before ANNEX_BEFORE_LABEL=14ccc9b node bench/run.mjs saturation --variants annex,before,raw,floor > /tmp/perf-runs/saturation.log 2>&1
uptime
echo "== snapshot cost"; date -u
for rep in 1 2 3; do
  if [ $((rep % 2)) = 1 ]; then order="after before"; else order="before after"; fi
  for v in $order; do
    if [ $v = before ]; then root=/tmp/perf-before; else root=/work/wt/perf; fi
    echo "rep $rep $v $(cat /proc/loadavg)"
    ANNEX_ROOT=$root REPS=1 node bench/pong/snapshot-cost.mjs | sed "s/^/$v /"
  done
done > /tmp/perf-runs/snapshot-cost.log 2>&1
uptime
echo "== pong fake"; date -u
for rep in 1 2 3; do
  if [ $((rep % 2)) = 1 ]; then order="after before"; else order="before after"; fi
  for v in $order; do
    if [ $v = before ]; then root=/tmp/perf-before; else root=/work/wt/perf; fi
    echo "rep $rep $v $(cat /proc/loadavg)"
    ANNEX_ROOT=$root WARMUP_S=3 MEASURE_S=6 node bench/pong/bench.mjs fake 250,500,1000 | sed "s/^/$v /"
  done
done > /tmp/perf-runs/pong-fake.log 2>&1
uptime
echo "== feed"; date -u
for rep in 1 2; do
  if [ $((rep % 2)) = 1 ]; then order="after before"; else order="before after"; fi
  for v in $order; do
    if [ $v = before ]; then root=/tmp/perf-before; else root=/work/wt/perf; fi
    echo "rep $rep $v $(cat /proc/loadavg)"
    ANNEX_ROOT=$root node bench/feed/fanout.mjs --latency-s 10 --fanout-s 8 --ceiling-s 6 | sed "s/^/$v /"
  done
done > /tmp/perf-runs/feed.log 2>&1
uptime
echo "== pong prosody"; date -u
for v in after before; do
  if [ $v = before ]; then root=/tmp/perf-before; else root=/work/wt/perf; fi
  echo "$v $(cat /proc/loadavg)"
  ANNEX_ROOT=$root WARMUP_S=3 MEASURE_S=6 node bench/pong/bench.mjs prosody 100,200 | sed "s/^/$v /"
done > /tmp/perf-runs/pong-prosody.log 2>&1
uptime
echo "== done"; date -u
