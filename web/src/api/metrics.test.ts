import { describe, expect, it } from "vitest";
import { groupBy, histogramQuantile, parsePrometheusText, sumOf } from "./metrics";

const TEXT = `# HELP lectern_plugin_calls_total Plugin calls
# TYPE lectern_plugin_calls_total counter
lectern_plugin_calls_total{plugin="quiz",tool="ask",outcome="ok"} 7
lectern_plugin_calls_total{plugin="quiz",tool="ask",outcome="trap"} 1
lectern_plugin_calls_total{plugin="examples",tool="show",outcome="ok"} 3
lectern_sessions_live 2
weird{label="a \\"quoted\\" value"} 1 1700000000000
lectern_http_request_duration_seconds_bucket{le="0.005"} 50
lectern_http_request_duration_seconds_bucket{le="0.01"} 90
lectern_http_request_duration_seconds_bucket{le="+Inf"} 100
broken line here
nan_metric NaN
`;

describe("Prometheus text", () => {
  const samples = parsePrometheusText(TEXT);

  it("parses samples with labels and timestamps, skipping comments and junk", () => {
    expect(samples).toHaveLength(8);
    expect(samples.find((s) => s.name === "weird")?.labels.label).toBe('a "quoted" value');
  });

  it("sums with label filters", () => {
    expect(sumOf(samples, "lectern_plugin_calls_total")).toBe(11);
    expect(sumOf(samples, "lectern_plugin_calls_total", { outcome: "ok" })).toBe(10);
    expect(sumOf(samples, "lectern_sessions_live")).toBe(2);
    expect(sumOf(samples, "missing")).toBeNull();
  });

  it("groups by a label, largest first", () => {
    expect(groupBy(samples, "lectern_plugin_calls_total", "plugin")).toEqual([
      ["quiz", 8],
      ["examples", 3],
    ]);
  });

  it("estimates histogram quantiles", () => {
    expect(histogramQuantile(samples, "lectern_http_request_duration_seconds", 0.5)).toBeCloseTo(0.005, 6);
    expect(histogramQuantile(samples, "lectern_http_request_duration_seconds", 0.7)).toBeCloseTo(0.0075, 6);
    expect(histogramQuantile(samples, "lectern_http_request_duration_seconds", 0.99)).toBe(0.01);
    expect(histogramQuantile(samples, "absent", 0.5)).toBeNull();
  });
});
