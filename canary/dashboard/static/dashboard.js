"use strict";
// The rollout, redrawn every second from the control API; charts every two (charts.js); controls in controls.js.

const Dash = { rollout: null, session: { logged_in: false }, runtimes: [], audit: [], gameDay: "" };

async function getJSON(path) {
  const response = await fetch(path, { cache: "no-store", credentials: "same-origin" });
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
  return response.json();
}

function el(tag, text, cls) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (cls) node.className = cls;
  return node;
}

function fill(id, children) { document.getElementById(id).replaceChildren(...children); }
function setText(id, text) { document.getElementById(id).textContent = text; }
function clock(at) { return new Date(at * 1000).toLocaleTimeString([], { hour12: false }); }

function renderHead(doc) {
  setText("name", doc.name);
  const phase = document.getElementById("phase");
  phase.textContent = doc.paused ? `${doc.phase} (paused by request)` : doc.phase;
  phase.className = `badge ${doc.phase}`;
  setText("message", doc.message || "");
}

function renderTraffic(doc) {
  const weight = doc.target ? doc.weight : 0;
  document.getElementById("w-stable").style.width = `${100 - weight}%`;
  document.getElementById("w-canary").style.width = `${weight}%`;
  setText("weights-text", doc.target ? `stable ${doc.stable} ${100 - weight}% · canary ${doc.target} ${weight}%`
    : `${doc.stable} 100%`);
  const rev = doc.revisions || {};
  setText("revisions", `stable ${doc.stable} (revision ${rev.Stable || "?"})` +
    (doc.target ? ` · canary ${doc.target} (revision ${rev.Latest || "?"})` : " · no canary"));
  const routes = [];
  if (doc.header_routes.length) routes.push(`header routes: ${doc.header_routes.join(", ")}`);
  if (doc.mirror_routes.length) routes.push(`mirror routes: ${doc.mirror_routes.join(", ")} (v2 answers copies only)`);
  setText("routes", routes.join(" · ") || "no header or mirror routes");
}

function renderSteps(doc) {
  const active = doc.target !== null && doc.phase !== "Healthy";
  fill("steps", doc.plan.map((label, i) => {
    const item = el("li", label);
    if (doc.phase === "Healthy" || (active && i < doc.step)) item.classList.add("done");
    if (active && i === doc.step) {
      item.classList.add("current");
      item.setAttribute("aria-current", "step");
      if (doc.phase === "Degraded") item.classList.add("failed");
    }
    return item;
  }));
}

function measurementText(m) {
  const value = typeof m.value === "number" ? m.value.toPrecision(4) : JSON.stringify(m.value);
  const message = m.message && m.message.length > 160 ? `${m.message.slice(0, 160)}…` : m.message;
  return `${clock(m.at)} ${m.phase} ${value ?? ""}${message ? " " + message : ""}`;
}

function renderAnalysis(doc) {
  const run = doc.analysis;
  setText("analysis-head", run ? `analysis ${run.name}: ${run.phase}` : "no analysis running");
  const rows = (run ? run.metrics : []).map((m) => {
    const row = el("tr");
    const conditions = `${m.success_condition || "-"} / ${m.failure_condition || "-"} (more than ${m.failure_limit} failed)`;
    row.append(el("td", m.name), el("td", m.phase, m.phase), el("td", m.count), el("td", m.failed), el("td", m.errors),
      el("td", conditions, "measurements"),
      el("td", m.measurements.slice(-3).map(measurementText).join(" | "), "measurements"));
    return row;
  });
  document.querySelector("#metrics tbody").replaceChildren(...rows);
}

function renderLogs(doc) {
  fill("events", [...doc.events].reverse().map((e) => el("li", `${clock(e.at)} ${e.line}`)));
  fill("audit", [...Dash.audit].reverse().map((a) => el("li",
    `${clock(a.at)} ${a.who}: ${a.action} ${JSON.stringify(a.detail)} — ${a.before.phase} → ${a.after.phase}`)));
  fill("history", doc.rollouts.map((r) => el("li",
    `${clock(r.ended)} ${r.from} → ${r.to}: ${r.outcome} at step ${r.step + 1}${r.message ? " — " + r.message : ""}`)));
}

async function refresh() {
  try {
    const doc = await getJSON("/rollout?events=40");
    Dash.rollout = doc;
    renderHead(doc); renderTraffic(doc); renderSteps(doc); renderAnalysis(doc); renderLogs(doc);
    Controls.render(doc);
    document.body.dataset.phase = doc.phase;  // what tests and people can wait on
  } catch (err) {
    setText("message", `the controller did not answer: ${err.message}`);
  }
}

function traceLink(slow) {
  const link = el("a", `${slow.duration_ms.toFixed(1)} ms`);
  link.href = `/trace/${slow.trace_id}`;  // the trace drawn from Jaeger's query API (trace.js)
  link.title = `trace ${slow.trace_id}`;
  link.className = "trace";
  return link;
}

async function refreshTraces() {
  try {
    const doc = await getJSON("/traces");
    setText("traces-head", doc.jaeger ? `traces from Jaeger at ${doc.jaeger}` : doc.off);
    document.querySelector("#traces tbody").replaceChildren(...Object.entries(doc.versions).map(([version, slow]) => {
      const cell = el("td", slow.length ? null : "no traced request yet");
      slow.forEach((s, i) => cell.append(...(i ? [" · "] : []), traceLink(s)));
      const row = el("tr");
      row.dataset.version = version;
      row.append(el("td", version), cell);
      return row;
    }));
  } catch (err) {
    setText("traces-head", `the controller did not answer: ${err.message}`);
  }
}

async function refreshAudit() {
  try {
    Dash.audit = await getJSON("/audit?limit=40");
  } catch (err) {
    setText("message", `the controller did not answer: ${err.message}`);
  }
}

async function loop(fn, everyMs) {
  for (;;) {
    const started = Date.now();
    await fn();
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, everyMs - (Date.now() - started))));
  }
}

document.addEventListener("DOMContentLoaded", async () => {
  await Controls.init();
  loop(refresh, 1000);  // the rollout every second: a change shows within about one
  loop(refreshAudit, 2000);
  loop(() => Controls.refreshRuntimes(), 2000);
  loop(() => Charts.refresh(Dash.rollout), 2000);
  loop(refreshTraces, 5000);  // as often as the controller asks Jaeger anew
});
