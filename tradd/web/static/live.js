// The Live page: the daemon's strategies as `tradctl status` shows them, refreshed every
// 2 s; pause, resume and flatten by role, each after a confirmation; recent events and
// alerts. Everything from the server is set as text (tradd.el), never as markup.
"use strict";
(() => {
  const { el, api, fmt, can, signClass, duration } = tradd;
  const POLL_MS = 2000;
  const DRIFT_POLL_MS = 15000;  // attribution reads the ledger: no need to every 2 s
  const MAX_EVENTS = 50;
  let since = 0;
  let events = [];
  let busy = false;
  let daemonPid = null;

  function stateBadge(text, good, bad) {
    const cls = good.includes(text) ? "ok" : bad.includes(text) ? "bad" : "warn";
    return el("span", { class: `badge ${cls}`, text });
  }

  function positions(s) {
    const names = Object.keys(s.positions || {}).sort();
    if (!names.length) return "–";
    const text = names.map((sym) => `${sym}: ${s.positions[sym].quantity}`).join(", ");
    return s.positions_as_of ? `${text} (as of ${s.positions_as_of.slice(11, 19)})` : text;
  }

  function actions(s) {
    if (!can("trader")) return null;
    const button = (label, cls, act) => el("button", {
      type: "button", class: cls, text: label, dataset: { action: act, strategy: s.name },
      disabled: !s.live, onclick: () => act === "flatten" ? flatten(s.name) : forward(act, s.name),
    });
    return el("td", { class: "actions" },
      s.trading_state === "ACTIVE" ? button("Pause", "", "pause") : button("Resume", "", "resume"),
      button("Flatten", "danger", "flatten"));
  }

  function row(s) {
    const reason = s.trading_reason ? ` (${s.trading_reason})` : "";
    return el("tr", { dataset: { strategy: s.name } },
      el("td", {}, el("strong", { text: s.name }), el("div", { class: "muted", text: (s.symbols || []).join(" ") })),
      el("td", {}, stateBadge(s.state, ["RUNNING"], ["FATAL", "BACKOFF", "EXITED"]),
        s.reason ? el("div", { class: "muted", text: s.reason }) : null),
      el("td", {}, stateBadge(s.connection, ["connected"], ["disconnected", "not running"])),
      el("td", { title: reason }, stateBadge(s.trading_state, ["ACTIVE"], ["HALTED"]),
        reason ? el("div", { class: "muted", text: s.trading_reason }) : null),
      el("td", { text: positions(s) }),
      el("td", { class: `num ${signClass(s.pnl)}`, text: fmt(s.pnl) }),
      el("td", { class: `num ${signClass(s.daily_pnl)}`, text: fmt(s.daily_pnl) }),
      el("td", { class: "num", text: fmt(s.drawdown_pct) }),
      el("td", { class: "num", text: duration(s.bar_age) }),
      actions(s));
  }

  function renderStatus(status) {
    const health = status.supervisor || {};
    document.getElementById("daemon-line").textContent =
      `Daemon pid ${health.pid ?? "?"}, up ${duration(health.uptime)}: ${status.status_line}`;
    document.getElementById("updated").textContent = `updated ${new Date().toLocaleTimeString()}`;
    const body = document.querySelector("#strategies tbody");
    const rows = status.strategies.map(row);
    body.replaceChildren(...(rows.length ? rows : [el("tr", {}, el("td", { colspan: 10, class: "muted", text: "No strategies configured." }))]));
  }

  function renderEvents(found) {
    events = events.concat(found).slice(-MAX_EVENTS);
    const list = document.getElementById("events");
    const items = events.slice().reverse().map((e) => el("li", { class: `sev-${e.severity}` },
      el("span", { class: "muted", text: `${e.at.slice(11, 19)} ` }),
      el("span", { class: "badge", text: e.kind }), " ", e.message));
    list.replaceChildren(...(items.length ? items : [el("li", { class: "muted", text: "No events yet." })]));
  }

  function renderAlerts(alerts) {
    const list = document.getElementById("alerts");
    const items = alerts.map((a) => el("li", { class: `sev-${a.severity}` },
      el("span", { class: "muted", text: `${a.created_at.slice(11, 19)} ` }),
      el("span", { class: "badge", text: a.kind }), " ", a.subject,
      el("span", { class: "muted", text: a.deliveries.length
        ? ` [${a.deliveries.map((d) => `${d.channel}: ${d.status}`).join(", ")}]` : " [recorded]" })));
    list.replaceChildren(...(items.length ? items : [el("li", { class: "muted", text: "No alerts yet." })]));
  }

  function causes(d) {
    return Object.entries(d.components).filter(([, v]) => Math.abs(v) >= 0.005)
      .sort((a, b) => Math.abs(b[1]) - Math.abs(a[1])).map(([k, v]) => `${k} ${fmt(v)}`).join(", ");
  }

  function driftRow(s) {
    const t = s.today, d = s.drift;
    const cells = d ? [
      el("td", { class: `num ${signClass(d.drift_pct)}`, text: fmt(d.drift_pct) }),
      el("td", { class: `num ${signClass(d.drift_pnl)}`, text: fmt(d.drift_pnl) }),
      el("td", { text: causes(d) || "–", title: d.report_path || "" }),
      el("td", { text: `${d.period_from}..${d.period_to}` }),
    ] : [el("td", { colspan: 4, class: "muted", text: "no drift report yet" })];
    return el("tr", { dataset: { strategy: s.name } },
      el("td", {}, el("strong", { text: s.name })),
      el("td", { class: "num", text: String(t.trades) }),
      el("td", { class: `num ${signClass(t.realized_pnl)}`, text: fmt(t.realized_pnl) }),
      el("td", { class: `num ${signClass(t.unrealized_change)}`, text: fmt(t.unrealized_change) }),
      el("td", { class: "num", text: fmt(t.commission) }),
      el("td", { class: `num ${signClass(t.net_pnl)}`, text: fmt(t.net_pnl) }),
      ...cells);
  }

  function renderDrift(found) {
    const rows = found.strategies.map(driftRow);
    document.querySelector("#drift tbody").replaceChildren(...(rows.length ? rows
      : [el("tr", {}, el("td", { colspan: 10, class: "muted", text: "No strategies configured." }))]));
    const a = found.account;
    document.getElementById("unexplained").textContent =
      `Account P&L today ${fmt(a.pnl)} (${found.day}, ${found.timezone}); strategies ${fmt(a.strategies_pnl)}; ` +
      `not explained by the strategies (manual trades, fees, interest) ${fmt(a.unexplained)}`;
  }

  async function optional(path, render, listId) {
    try {
      render(await api("GET", path));
    } catch (error) {
      if (error.status === 401) return;
      document.getElementById(listId).replaceChildren(el("li", { class: "muted", text: error.message }));
    }
  }

  async function refresh() {
    if (busy) return;
    let status;
    try {
      status = await api("GET", "/api/v1/live/strategies");
    } catch (error) {
      if (error.status === 401) return;
      tradd.showError(error.message);
      document.getElementById("messages").dataset.source = "poll";
      document.getElementById("daemon-line").textContent = "Daemon unreachable.";
      return;
    }
    const box = document.getElementById("messages");
    if (box.dataset.source === "poll") { box.replaceChildren(); delete box.dataset.source; }
    const pid = (status.supervisor || {}).pid;
    if (pid !== daemonPid) { since = 0; events = []; daemonPid = pid; }  // a new daemon numbers anew
    renderStatus(status);
    await Promise.all([
      optional(`/api/v1/live/events?since=${since}`, (found) => {
        since = found.next_since;
        renderEvents(found.events);
      }, "events"),
      optional("/api/v1/live/alerts?limit=20", (found) => renderAlerts(found.alerts), "alerts"),
    ]);
  }

  async function refreshDrift() {
    try {
      renderDrift(await api("GET", "/api/v1/live/drift"));
    } catch (error) {
      if (error.status !== 401) document.getElementById("unexplained").textContent = error.message;
    }
  }

  async function act(method, path, body, done) {
    busy = true;
    try {
      const reply = await api(method, path, body);
      tradd.showInfo(done(reply));
    } catch (error) {
      tradd.showError(error.message);
    } finally {
      busy = false;
      refresh();
    }
  }

  async function forward(action, name) {
    const what = action === "pause" ? "Pause (exits only: new entries refused)" : "Resume trading";
    if (!await tradd.confirmDialog(`${what}: ${name}?`, [`strategy: ${name}`, `action: ${action}`,
      `requested by: web:${tradd.me.name}`])) return;
    act("POST", `/api/v1/live/strategies/${encodeURIComponent(name)}/${action}`, undefined,
      (r) => `${r.strategy}: ${r.trading_state}${r.reason ? ` (${r.reason})` : ""}`);
  }

  async function flatten(name) {
    const target = name === null ? "ALL strategies, then a sweep of the account" : name;
    if (!await tradd.confirmDialog(`Flatten ${target}?`, [
      "halts trading, cancels working orders and closes every position",
      "the strategy stays halted until resumed", `requested by: web:${tradd.me.name}`])) return;
    const path = name === null ? "/api/v1/live/flatten"
      : `/api/v1/live/strategies/${encodeURIComponent(name)}/flatten`;
    act("POST", path, { confirm: true }, (r) => r.text);
  }

  (async () => {
    try {
      await tradd.login_required();
    } catch (error) {
      if (error.status !== 401) tradd.showError(error.message);
      return;
    }
    document.getElementById("flatten-all").addEventListener("click", () => flatten(null));
    await Promise.all([refresh(), refreshDrift()]);
    setInterval(refresh, POLL_MS);
    setInterval(refreshDrift, DRIFT_POLL_MS);
  })();
})();
