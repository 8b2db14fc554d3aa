import assert from "node:assert/strict";
import { test } from "node:test";
import { exposedNames, metricNames } from "../integration/promql.js";

// The dashboard check (test/integration/ops.test.ts) is only as good as the name extraction it relies on.

test("metric names of PromQL expressions: functions, label matchers, ranges, grouping and variables are not names", () => {
  assert.deepEqual(
    metricNames('histogram_quantile(0.99, sum by (le, component) (rate(annex_handler_duration_seconds_bucket{component=~"$component", handler!="x"}[$__rate_interval])))'),
    ["annex_handler_duration_seconds_bucket"],
  );
  assert.deepEqual(metricNames("rate(process_cpu_seconds_total[5m] offset 1h) / on(instance) group_left nodejs_heap_size_used_bytes > 0.5"), ["process_cpu_seconds_total", "nodejs_heap_size_used_bytes"]);
  assert.deepEqual(metricNames('max by (component, state) (annex_connection_state{instance=~"$instance"}) > 0'), ["annex_connection_state"]);
  assert.deepEqual(metricNames('label_values(annex_connection_state{instance=~"$instance"}, component)'), ["annex_connection_state"]);
  assert.deepEqual(metricNames("sum(up) and bool 1e3"), ["up"]);
});

test("exposed names: samples, and families declared by # TYPE with a histogram's suffixes", () => {
  const names = exposedNames(
    ["# HELP a_total x", "# TYPE a_total counter", 'a_total{k="v"} 1', "# TYPE h_seconds histogram", "# TYPE g gauge", "g 2", ""].join("\n"),
  );
  assert.deepEqual([...names].sort(), ["a_total", "g", "h_seconds", "h_seconds_bucket", "h_seconds_count", "h_seconds_sum"]);
});
