"use strict";
// The login and every control: a change carries the session's CSRF token; the server says which controls apply.
// The token is given once, by the login (or after '#' by a login link), and kept in this origin's storage:
// the server never hands it out for the cookie, which every port of this host receives.

const FAULT_FIELDS = ["error_ratio", "latency_ms", "wrong_ratio"];
const CSRF_KEY = "ml-canary-csrf";

function keepCsrfFromAddress() {
  const found = /^#csrf=([\w-]+)$/.exec(location.hash);
  if (found) {
    localStorage.setItem(CSRF_KEY, found[1]);
    history.replaceState(null, "", location.pathname);  // out of the address bar and the history
  }
}

async function loadSession() {
  // A cookie without the token (storage cleared, or a session from before) cannot act: log in again.
  const session = await getJSON("/session");
  return session.logged_in && localStorage.getItem(CSRF_KEY) ? session : { logged_in: false };
}

async function post(path, body) {
  const response = await fetch(path, { method: "POST", credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": localStorage.getItem(CSRF_KEY) || "" },
    body: JSON.stringify(body || {}) });
  const text = await response.text();
  const doc = text ? JSON.parse(text) : {};
  if (!response.ok) throw new Error(doc.error || `HTTP ${response.status}`);
  return doc;
}

function say(text, isError) {
  const node = document.getElementById("control-result");
  node.textContent = text;
  node.className = isError ? "error" : "";
}

function numbers(prefix) {
  const out = {};
  for (const name of FAULT_FIELDS) {
    const value = document.getElementById(`${prefix}${name}`).value;
    if (value !== "") out[name] = Number(value);
  }
  return out;
}

async function act(label, path, body) {
  try {
    await post(path, body);
    say(`${label}: done`);
    if (document.activeElement) document.activeElement.blur();  // the game-day rows redraw with the new state
    await refreshAudit();
    await refresh();
  } catch (err) {
    say(`${label}: ${err.message}`, true);
  }
}

function showSession() {
  const s = Dash.session;
  document.getElementById("login-form").hidden = s.logged_in;
  document.getElementById("read-only").hidden = s.logged_in;
  document.getElementById("who").hidden = !s.logged_in;
  document.getElementById("logout").hidden = !s.logged_in;
  setText("who", s.logged_in ? `logged in as ${s.user}` : "");
}

function gameDayRow(runtime) {
  const row = el("tr");
  const on = runtime.faults ? FAULT_FIELDS.concat("unready").filter((f) => runtime.faults[f]) : [];
  const live = !runtime.faults ? "unknown" : on.map((f) => `${f} ${runtime.faults[f]}`).join(", ") || "none";
  row.append(el("td", runtime.version), el("td", runtime.revision), el("td", runtime.state), el("td", live));
  const inputs = FAULT_FIELDS.map((f) => {
    const input = el("input");
    Object.assign(input, { type: "number", min: 0, step: f === "latency_ms" ? 10 : 0.05, id: `fault-${runtime.version}-${f}` });
    const cell = el("td"); cell.append(input); row.append(cell);
    return [f, input];
  });
  const unready = Object.assign(el("input"), { type: "checkbox", id: `fault-${runtime.version}-unready` });
  const cell = el("td"); cell.append(unready); row.append(cell);
  const apply = el("button", "Apply"), clear = el("button", "Clear");
  apply.id = `fault-${runtime.version}-apply`; clear.id = `fault-${runtime.version}-clear`;
  apply.onclick = () => act(`faults of ${runtime.version}`, "/fault", { version: runtime.version, unready: unready.checked,
    ...Object.fromEntries(inputs.filter(([, i]) => i.value !== "").map(([f, i]) => [f, Number(i.value)])) });
  clear.onclick = () => act(`faults of ${runtime.version}`, "/fault", { version: runtime.version, clear: true });
  for (const b of [apply, clear]) { b.disabled = !Dash.session.logged_in; b.title = b.disabled ? "log in first" : ""; }
  const buttons = el("td"); buttons.append(apply, clear); row.append(buttons);
  return row;
}

const Controls = {
  async init() {
    keepCsrfFromAddress();
    Dash.session = await loadSession();
    showSession();
    document.getElementById("login-form").onsubmit = async (ev) => {
      ev.preventDefault();
      try {
        const login = await post("/login", { user: document.getElementById("login-user").value,
          token: document.getElementById("login-token").value });
        document.getElementById("login-token").value = "";
        localStorage.setItem(CSRF_KEY, login.csrf);
        Dash.session = await loadSession();
        showSession(); say(`logged in as ${Dash.session.user}`);
        await Controls.refreshRuntimes(); await refresh();
      } catch (err) { say(`login: ${err.message}`, true); }
    };
    document.getElementById("logout").onclick = async () => {
      await post("/logout"); localStorage.removeItem(CSRF_KEY); Dash.session = { logged_in: false }; showSession(); await refresh();
    };
    document.getElementById("rollout-form").onsubmit = (ev) => {
      ev.preventDefault();
      act("roll out", "/rollout", { version: document.getElementById("rollout-version").value, faults: numbers("rollout-") });
    };
    for (const button of document.querySelectorAll(".buttons button")) {
      const name = button.dataset.control;
      const path = name === "promote_full" ? "/promote" : `/${name}`;
      button.onclick = () => act(button.textContent, path, name.startsWith("promote") ? { full: name === "promote_full" } : {});
    }
  },

  render(doc) {
    // Disabled with the reason as its tooltip: not logged in, or the controller's own rule (canary.rollout.guards).
    for (const button of document.querySelectorAll("[data-control]")) {
      const reason = !Dash.session.logged_in ? "log in first" : doc.controls[button.dataset.control];
      button.disabled = Boolean(reason);
      button.title = reason || "";
    }
  },

  async refreshRuntimes() {
    try {
      const session = await loadSession();  // a session expired, or ended in another tab
      if (session.logged_in !== Dash.session.logged_in) { Dash.session = session; showSession(); }
      const runtimes = await getJSON("/runtimes");
      // Redrawn only when something changed (or who may press Apply), so what a person is typing stays put.
      const drawn = JSON.stringify([runtimes, Dash.session.logged_in]);
      const focused = document.activeElement && document.activeElement.closest("#gameday");
      if (drawn !== Dash.gameDay && !focused) {
        Dash.runtimes = runtimes;
        Dash.gameDay = drawn;
        document.querySelector("#gameday tbody").replaceChildren(...runtimes.map(gameDayRow));
      }
    } catch (err) {
      say(`runtimes: ${err.message}`, true);
    }
  },
};
