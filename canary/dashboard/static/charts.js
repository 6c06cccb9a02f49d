"use strict";
// Live charts per version from Prometheus (proxied), and the judge's evidence, drawn with plotly.js.

const WINDOW_S = 600;
const STEP_S = 4;  // 150 points a series: finer than the 30 s rates show, cheap to redraw every two seconds
const SERIES = [
  { id: "chart-rps", title: "requests per second", queries: [["", "mlcanary:requests:rate30s"]] },
  { id: "chart-success", title: "success ratio", queries: [["", "mlcanary:success_ratio:rate30s"]],
    yaxis: { range: [0, 1.02] } },
  { id: "chart-latency", title: "latency, ms", queries: [["p50 ", "mlcanary:latency_ms:p50_1m"], ["p99 ", "mlcanary:latency_ms:p99_1m"]] },
  { id: "chart-classes", title: "class mix (share of predictions)", queries: [["", "mlcanary:class_share:ratio5m"]] },
  { id: "chart-accuracy", title: "accuracy on feedback", queries: [["", "mlcanary:accuracy:ratio5m"]] },
  // The controller's own series (canary.rollout.metrics), scraped like the runtimes: one series per name.
  { id: "chart-controller", title: "controller: weight %, step, reconcile p99 ms, errors, drift repairs", own: true,
    queries: [["canary weight", "mlcanary_rollout_canary_weight"], ["step", "mlcanary_rollout_step"],
      ["reconcile p99 ms", "1000 * histogram_quantile(0.99, sum by (le) (rate(rollout_reconcile_bucket[1m])))"],
      ["reconcile errors", "rollout_reconcile_error"], ["drift repairs", "mlcanary_rollout_drift_repairs_total"]] },
];
const OWN_COLOURS = ["#ef6c00", "#1565c0", "#6a1b9a", "#c62828", "#00838f"];
const CONFIG = { displayModeBar: false, responsive: true };
const TEST_COLOURS = { errors: "198,40,40", latency: "106,27,154", accuracy: "21,101,192", class_mix: "0,131,143",
  disagreement: "239,108,0" };

function roleColour(revision, doc) {
  const rev = (doc && doc.revisions) || {};
  if (revision && revision === rev.Latest) return "#ef6c00";
  if (revision && revision === rev.Stable) return "#2e7d32";
  return "#78909c";
}

function layout(title, doc, extra) {
  return { title: { text: title, font: { size: 13 } }, margin: { l: 50, r: 10, t: 30, b: 30 }, showlegend: true,
    legend: { orientation: "h", y: -0.2 }, xaxis: { type: "date" }, shapes: markers(doc), ...extra };
}

function markers(doc) {
  // The rollout's steps and how earlier rollouts ended, drawn on the time axis.
  if (!doc) return [];
  const since = Date.now() / 1000 - WINDOW_S;
  const line = (at, colour, dash) => ({ type: "line", xref: "x", yref: "paper", x0: new Date(at * 1000),
    x1: new Date(at * 1000), y0: 0, y1: 1, line: { color: colour, width: 1, dash } });
  const steps = doc.history.filter((h) => h.at >= since).map((h) => line(h.at, "#1565c0", "dot"));
  const ends = doc.rollouts.filter((r) => r.ended >= since)
    .map((r) => line(r.ended, r.outcome === "aborted" ? "#c62828" : "#2e7d32", "solid"));
  return steps.concat(ends);
}

async function rangeQuery(query, now) {
  const params = new URLSearchParams({ query, start: now - WINDOW_S, end: now, step: STEP_S });
  const answer = await getJSON(`/prometheus/api/v1/query_range?${params}`);
  return answer.data.result;
}

async function drawSeries(chart, doc, now) {
  const traces = [];
  for (const [index, [prefix, query]] of chart.queries.entries()) {
    for (const series of await rangeQuery(query, now)) {
      const m = series.metric;
      const cls = m.predicted_class ? ` ${m.predicted_class}` : "";
      const x = series.values.map((v) => new Date(v[0] * 1000)), y = series.values.map((v) => Number(v[1]));
      traces.push(chart.own
        ? { x, y, name: prefix, mode: "lines", line: { color: OWN_COLOURS[index % OWN_COLOURS.length] } }
        : { x, y, name: `${prefix}${m.version} ${m.revision}${cls}`, mode: "lines",
          line: { color: roleColour(m.revision, doc), dash: prefix.startsWith("p99") || cls ? "dash" : "solid" } });
    }
  }
  Plotly.react(chart.id, traces, layout(chart.title, doc, traces.length ? { yaxis: chart.yaxis || {} } : {
    annotations: [{ text: "no data yet", showarrow: false, xref: "paper", yref: "paper", x: 0.5, y: 0.5 }] }), CONFIG);
  // Each series with its number of points, for people reading the DOM and for the browser tests.
  document.getElementById(chart.id).dataset.series = traces.map((t) => `${t.name}:${t.x.length}`).join(",");
}

function judgeTraces(analyses) {
  const evidence = [], difference = [];
  for (const a of analyses) {
    const family = a.tests.map((t) => t.name).join("+");
    for (const test of a.tests) {
      const x = a.trace.map((p) => new Date(p.at * 1000));
      const points = a.trace.map((p) => p.tests[test.name] || [null, null, null]);
      const name = `${test.name} [${family}]`;
      // Each test has its own threshold (alpha split across the tests): as a share of it, 1 is every test's line.
      const scale = Math.log(test.threshold);
      const rgb = TEST_COLOURS[test.name] || "96,125,139";
      evidence.push({ x, y: points.map((p) => (p[0] === null ? null : p[0] / scale)), name, mode: "lines",
        line: { color: `rgb(${rgb})` } });
      if (test.difference.lower !== null) {  // the band between the sequence's bounds, one colour per test
        difference.push({ x, y: points.map((p) => p[2]), name, mode: "lines", legendgroup: name,
          line: { width: 1, color: `rgb(${rgb})` } });
        difference.push({ x, y: points.map((p) => p[1]), name, mode: "lines", legendgroup: name, showlegend: false,
          fill: "tonexty", fillcolor: `rgba(${rgb},0.2)`, line: { width: 1, color: `rgb(${rgb})` } });
      }
    }
  }
  return { evidence, difference };
}

async function drawJudge(doc) {
  const rev = (doc && doc.revisions) || {};
  if (!rev.Latest || !rev.Stable) return;
  const params = new URLSearchParams({ canary: rev.Latest, stable: rev.Stable });
  const { analyses } = await getJSON(`/judge/v1/analyses?${params}`);
  setText("judge-summary", analyses.map((a) => `${a.decision}: ${a.summary}`).join("  ·  ") || "the judge has not been asked yet");
  const { evidence, difference } = judgeTraces(analyses);
  Plotly.react("chart-evidence", evidence, layout("evidence against stable: ln e / ln(1/α), fails at 1", doc, {
    shapes: [...markers(doc), { type: "line", xref: "paper", x0: 0, x1: 1, y0: 1, y1: 1,
      line: { color: "#c62828", dash: "dash" } }] }), CONFIG);
  Plotly.react("chart-difference", difference, layout("canary − stable rate: confidence sequence", doc,
    { yaxis: { range: [-1, 1] } }), CONFIG);
}

const Charts = {
  async refresh(doc) {
    if (document.hidden) return;  // a tab in the background costs the stack nothing
    const now = Date.now() / 1000;
    try {
      await Promise.all(SERIES.map((chart) => drawSeries(chart, doc, now)));
      await drawJudge(doc);
    } catch (err) {
      setText("judge-summary", `charts: ${err.message}`);
    }
  },
};
