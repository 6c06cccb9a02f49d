"use strict";
// One trace as a waterfall, from the controller's GET /traces/ID (Jaeger's spans): each span under its parent,
// its bar placed within the whole trace, and the tags that say which version answered and how.

const SHOWN_TAGS = ["upstream_cluster", "version", "revision", "http.status_code", "ml_canary.version",
  "ml_canary.revision", "ml_canary.outcome", "ml_canary.fault", "ml_canary.injected_delay_ms"];

function cell(text, cls) {
  const td = document.createElement("td");
  td.textContent = text;
  if (cls) td.className = cls;
  return td;
}

function depths(spans) {
  const byId = Object.fromEntries(spans.map((s) => [s.span_id, s]));
  const depth = (s, seen = 0) => (s.parent_id in byId && seen < spans.length ? 1 + depth(byId[s.parent_id], seen + 1) : 0);
  return Object.fromEntries(spans.map((s) => [s.span_id, depth(s)]));
}

function bar(span, start, total) {
  const td = cell("", "timeline");
  const div = document.createElement("div");
  div.className = "span-bar";
  div.style.marginLeft = `${((span.start_us - start) / total) * 100}%`;
  div.style.width = `${Math.max((span.duration_us / total) * 100, 0.5)}%`;
  td.append(div);
  return td;
}

function render(doc) {
  const spans = doc.spans;
  const start = Math.min(...spans.map((s) => s.start_us));
  const total = Math.max(...spans.map((s) => s.start_us + s.duration_us)) - start || 1;
  const depth = depths(spans);
  document.getElementById("summary").textContent =
    `${spans.length} spans over ${(total / 1000).toFixed(1)} ms, from ${new Set(spans.map((s) => s.service)).size} services`;
  document.querySelector("#spans tbody").replaceChildren(...spans.map((s) => {
    const row = document.createElement("tr");
    row.dataset.service = s.service;
    const tags = SHOWN_TAGS.filter((k) => k in s.tags).map((k) => `${k}=${s.tags[k]}`).join(" ");
    row.append(cell(`${"· ".repeat(depth[s.span_id])}${s.service}`), cell(s.operation),
      cell((s.duration_us / 1000).toFixed(2), "duration"), bar(s, start, total), cell(tags, "measurements"));
    return row;
  }));
  const source = document.getElementById("source");
  source.href = doc.jaeger;
  source.textContent = doc.jaeger;
}

document.addEventListener("DOMContentLoaded", async () => {
  const id = decodeURIComponent(location.pathname.split("/").pop());
  document.getElementById("trace-id").textContent = id;
  try {
    const response = await fetch(`/traces/${encodeURIComponent(id)}`, { cache: "no-store" });
    const doc = await response.json();
    if (!response.ok) throw new Error(doc.error || `HTTP ${response.status}`);
    render(doc);
    document.body.dataset.loaded = "yes";  // what tests can wait on
  } catch (err) {
    document.getElementById("summary").textContent = `no trace to show: ${err.message}`;
    document.body.dataset.loaded = "error";
  }
});
