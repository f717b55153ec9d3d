// Optimize, walk-forward & compare: the form, the live leaderboard (Server-Sent Events), the
// heatmap, the IS-vs-OOS chart, the overfitting figures with their warnings, a comparison's
// ranked metrics, equity curves and pair tests, the downloads.
// `/research?job=ID` reopens a job. Text from the server is set with textContent only.
"use strict";

(() => {
  const { el, api, fmt } = tradd;
  const $ = (id) => document.getElementById(id);
  const ENDED = ["completed", "failed", "cancelled"];
  let strategies = [];
  let stream = null;
  let charts = [];
  const METRICS = [["total_return", "Return %", 2], ["cagr", "CAGR %", 2], ["sharpe", "Sharpe", 3],
    ["sortino", "Sortino", 3], ["calmar", "Calmar", 3], ["max_drawdown", "Max DD %", 2],
    ["win_rate", "Win rate %", 1], ["total_trades", "Trades", 0], ["exposure", "Exposure %", 1],
    ["profit_factor", "Profit factor", 2]];  // as `tradd compare` prints them
  const COLOURS = ["#2457d6", "#b3261e", "#137333", "#a15c00", "#7b1fa2", "#00838f", "#5d4037", "#c2185b"];

  async function main() {
    try {
      await tradd.login_required();
    } catch (error) {
      if (error.status !== 401) tradd.showError(error.message);
      return;
    }
    $("kind").addEventListener("change", syncKind);
    $("method").addEventListener("change", syncKind);
    $("symbols").addEventListener("input", countSymbols);
    $("strategy").addEventListener("change", renderParams);
    $("research-form").addEventListener("submit", submit);
    $("add-strategy").addEventListener("click", () => addCompareRow());
    $("heat-x").addEventListener("change", reloadHeatmap);
    $("heat-y").addEventListener("change", reloadHeatmap);
    try {
      strategies = await api("GET", "/api/v1/jobs/strategies");
    } catch (error) {
      tradd.showError(error.message);
    }
    $("strategy").replaceChildren(...strategies.map((s) => el("option", { value: s.strategy, text: s.strategy })));
    renderParams();
    for (const s of strategies.slice(0, 2)) addCompareRow(s.strategy);
    syncKind();
    const job = new URLSearchParams(location.search).get("job");
    if (job) openJob(job);
  }

  function syncKind() {
    const kind = $("kind").value;
    $("windows-fields").hidden = kind !== "walkforward";
    for (const node of document.querySelectorAll(".search-only")) node.hidden = kind === "compare";
    for (const node of document.querySelectorAll(".compare-only")) node.hidden = kind !== "compare";
    $("trials").disabled = $("method").value !== "bayesian";
    $("submit").textContent = { walkforward: "Start walk-forward", compare: "Start comparison" }[kind] || "Start optimization";
  }

  function addCompareRow(chosen) {
    const select = el("select", { class: "compare-strategy", "aria-label": "strategy to compare" },
      strategies.map((s) => el("option", { value: s.strategy, text: s.strategy, selected: s.strategy === chosen })));
    const row = el("tr", {}, el("td", {}, select),
      el("td", {}, el("input", { class: "compare-params", "aria-label": "its parameters", placeholder: "defaults" })),
      el("td", {}, el("button", { type: "button", text: "Remove", onclick: () => row.remove() })));
    $("compare-table").tBodies[0].append(row);
  }

  function compareParams(text, n) {
    const params = {};
    for (const part of text.split(",").map((p) => p.trim()).filter(Boolean)) {
      const at = part.indexOf("=");
      if (at < 1) throw new Error(`strategy ${n}: ${part} is not name=value`);
      params[part.slice(0, at).trim()] = part.slice(at + 1).trim();
    }
    return Object.keys(params).length ? params : null;
  }

  function compareBody() {
    const rows = Array.from($("compare-table").tBodies[0].rows);
    const out = { strategies: rows.map((r) => r.querySelector("select").value), symbols: symbolList(),
      params: rows.map((r, i) => compareParams(r.querySelector("input").value, i + 1)) };
    while (out.params.length && out.params[out.params.length - 1] === null) out.params.pop();
    for (const id of ["start_date", "end_date"]) if ($(id).value) out[id] = $(id).value;
    for (const id of ["initial_capital", "warmup"]) if ($(id).value !== "") out[id] = Number($(id).value);
    return out;
  }

  function symbolList() {
    return $("symbols").value.split(/[\s,]+/).map((s) => s.trim().toUpperCase()).filter(Boolean);
  }

  function countSymbols() {
    const n = symbolList().length;
    $("symbol-count").textContent = n ? `(${n})` : "";
  }

  function renderParams() {
    const chosen = strategies.find((s) => s.strategy === $("strategy").value);
    const rows = (chosen ? chosen.params : []).map((p) => el("tr", {},
      el("td", { text: p.name }), el("td", { class: "muted", text: p.type }),
      el("td", { class: "num", text: String(p.default) }),
      el("td", {}, el("input", { class: "param", dataset: { name: p.name },
        "aria-label": `range of ${p.name}`, placeholder: p.type === "bool" ? "true,false" : "e.g. 5:50:5" }))));
    $("param-table").tBodies[0].replaceChildren(...rows);
  }

  function body() {
    const params = {};
    for (const input of document.querySelectorAll("input.param")) {
      if (input.value.trim()) params[input.dataset.name] = input.value.trim();
    }
    const out = { strategy: $("strategy").value, symbols: symbolList(), params, method: $("method").value };
    for (const id of ["start_date", "end_date", "objective"]) if ($(id).value) out[id] = $(id).value;
    for (const id of ["initial_capital", "seed"]) if ($(id).value !== "") out[id] = Number($(id).value);
    if (out.method === "bayesian") out.trials = Number($("trials").value);
    if ($("kind").value === "walkforward") {
      out.is_months = Number($("is_months").value);
      out.oos_months = Number($("oos_months").value);
      out.mode = $("mode").value;
    }
    return out;
  }

  async function submit(event) {
    event.preventDefault();
    tradd.clearMessages();
    const kind = $("kind").value;
    $("submit").disabled = true;
    try {
      const reply = await api("POST", `/api/v1/jobs/${kind}`, kind === "compare" ? compareBody() : body());
      history.replaceState(null, "", `/research?job=${encodeURIComponent(reply.job_id)}`);
      await openJob(reply.job_id);
    } catch (error) {
      tradd.showError(error.message);
    } finally {
      $("submit").disabled = false;
    }
  }

  async function openJob(jobId) {
    if (stream) stream.close();
    for (const id of ["board-card", "compare-card", "overfitting-card", "heatmap-card", "wf-card", "downloads-card"]) $(id).hidden = true;
    let status;
    try {
      status = await api("GET", `/api/v1/jobs/${encodeURIComponent(jobId)}`);
    } catch (error) {
      tradd.showError(error.message);
      return;
    }
    $("job").hidden = false;
    $("job").dataset.job = jobId;
    $("job").dataset.kind = status.kind;
    $("job-title").textContent = `${status.kind} ${jobId}`;
    showStatus(status);
    if (ENDED.includes(status.status)) return loadResults(jobId);
    stream = new EventSource(`/api/v1/jobs/${encodeURIComponent(jobId)}/events`);
    stream.addEventListener("progress", (e) => showStatus(JSON.parse(e.data)));
    stream.addEventListener("leaderboard", (e) => showLeaders(JSON.parse(e.data)));
    stream.addEventListener("end", (e) => {
      stream.close();
      const final = JSON.parse(e.data);
      if (final.status) showStatus(final); else tradd.showError(final.detail || "the job is gone");
      if (final.status) loadResults(jobId);
    });
    stream.onerror = () => {
      if (stream.readyState === EventSource.CLOSED) tradd.showError("lost the job's progress stream: reload the page");
    };
  }

  function showStatus(s) {
    $("job-progress").value = s.progress || 0;
    const parts = [s.status, `${s.done}${s.total ? " / " + s.total : ""}`, `${fmt(s.progress, 1)}%`];
    if (s.eta_seconds !== null && s.eta_seconds !== undefined && s.status === "running") parts.push(`ETA ${tradd.duration(s.eta_seconds)}`);
    if (s.queue_position) parts.push(`queue position ${s.queue_position}`);
    $("job-status").textContent = parts.join(" · ");
    if (s.error) tradd.showError(s.error);
  }

  function paramNames(rows) {
    const names = [];
    for (const row of rows) for (const name of Object.keys(row.params || row.best_params || {})) if (!names.includes(name)) names.push(name);
    return names;
  }

  function showLeaders(board) {
    $("board-card").hidden = false;
    if (board.windows && board.windows.length) return showWindows(board.windows, "finished windows");
    const counts = board.counts || {};
    const unit = $("job").dataset.kind === "compare" ? "strategies" : "trials";
    $("board-note").textContent = `(best so far by ${board.objective || "objective"}; ${counts.complete || 0} ${unit} done)`;
    renderLeaderTable(board.top || [], board.objective);
  }

  function renderLeaderTable(rows, objective, withMetrics) {
    const names = paramNames(rows);
    const head = ["rank", ...names, objective || "objective", ...(withMetrics ? ["return %", "max dd %", "trades"] : [])];
    $("board").replaceChildren(
      el("thead", {}, el("tr", {}, head.map((h) => el("th", { text: h })))),
      el("tbody", {}, rows.map((r) => el("tr", { class: r.rank === 1 ? "best" : null },
        el("td", { text: r.rank }), names.map((n) => el("td", { text: r.params[n] })),
        el("td", { class: "num " + tradd.signClass(r.objective), text: fmt(r.objective, 3) }),
        withMetrics ? [el("td", { class: "num " + tradd.signClass(r.metrics.total_return), text: fmt(r.metrics.total_return, 2) }),
                       el("td", { class: "num", text: fmt(r.metrics.max_drawdown, 2) }),
                       el("td", { class: "num", text: r.metrics.total_trades })] : []))));
  }

  function showWindows(windows, note) {
    const names = paramNames(windows);
    $("board-note").textContent = `(${note})`;
    const head = ["#", "in sample", "out of sample", ...names, "IS Sharpe", "OOS Sharpe", "degradation", "OOS return %"];
    $("board").replaceChildren(
      el("thead", {}, el("tr", {}, head.map((h) => el("th", { text: h })))),
      el("tbody", {}, windows.map((w) => el("tr", {},
        el("td", { text: w.index }), el("td", { text: `${w.is_start} … ${w.is_end}` }),
        el("td", { text: `${w.oos_start} … ${w.oos_end}` }),
        names.map((n) => el("td", { text: (w.best_params || {})[n] })),
        el("td", { class: "num", text: fmt(w.is_sharpe, 3) }),
        el("td", { class: "num " + tradd.signClass(w.oos_sharpe), text: fmt(w.oos_sharpe, 3) }),
        el("td", { class: "num", text: fmt(w.degradation, 3) }),
        el("td", { class: "num " + tradd.signClass(w.oos_return), text: fmt(w.oos_return, 2) })))));
  }

  async function loadResults(jobId, axes) {
    const query = axes ? `?x=${encodeURIComponent(axes[0])}&y=${encodeURIComponent(axes[1])}` : "";
    let r;
    try {
      r = await api("GET", `/api/v1/jobs/${encodeURIComponent(jobId)}/results${query}`);
    } catch (error) {
      tradd.showError(error.message);
      return;
    }
    if (r.note) tradd.showInfo(r.note);
    if (r.kind === "optimize" && r.leaderboard.length) {
      $("board-card").hidden = false;
      $("board-note").textContent = `(final, by ${r.objective}; ${r.counts.complete || 0} complete, ${r.counts.failed || 0} failed)`;
      renderLeaderTable(r.leaderboard, r.objective, true);
    }
    if (r.kind === "walkforward" && r.windows.length) {
      $("board-card").hidden = false;
      showWindows(r.windows, `${r.windows.length} windows`);
      showWalkForward(r);
    }
    if (r.kind === "compare" && r.comparison) showComparison(r);
    showOverfitting(r.overfitting);
    showHeatmap(r);
    showDownloads(jobId, r.downloads);
  }

  function showOverfitting(o) {
    $("overfitting-card").hidden = !o;
    if (!o) return;
    $("warnings").replaceChildren(...(o.warnings.length ? o.warnings.map((w) => el("div", { class: "warning", role: "note", text: `Warning: ${w}` }))
      : [el("p", { class: "badge ok", text: "no overfitting warning" })]));
    const rows = [];
    const figure = (label, value) => rows.push(el("tr", {}, el("th", { text: label }), el("td", { class: "num", text: value })));
    const f = o.figures;
    if (f.deflated_sharpe) figure("Deflated Sharpe (probability the best is not luck)", fmt(f.deflated_sharpe.dsr, 2));
    if (f.deflated_sharpe) figure("best Sharpe / luck alone", `${fmt(f.deflated_sharpe.sharpe, 2)} / ${fmt(f.deflated_sharpe.expected_max_sharpe, 2)}`);
    if (f.pbo) figure("Probability of backtest overfitting", fmt(100 * f.pbo.pbo, 0, "%"));
    if (f.trials !== undefined) figure("distinct trials", f.trials);
    if (f.pbo_mean !== undefined && f.pbo_mean !== null) figure("mean PBO over windows", fmt(100 * f.pbo_mean, 0, "%"));
    if (f.oos_psr) figure("OOS probabilistic Sharpe (Sharpe > 0)", fmt(f.oos_psr.psr, 2));
    $("figures").replaceChildren(...rows);
    $("notes").replaceChildren(...o.notes.map((n) => el("div", { text: n })));
  }

  function showHeatmap(r) {
    $("heatmap-card").hidden = !r.heatmap;
    if (!r.heatmap) return;
    const h = r.heatmap;
    for (const [id, chosen] of [["heat-x", h.x], ["heat-y", h.y]]) {
      $(id).replaceChildren(...r.varying.map((n) => el("option", { value: n, text: n, selected: n === chosen })));
    }
    const values = h.cells.flat().filter((v) => v !== null);
    const lo = Math.min(...values), hi = Math.max(...values);
    const shade = (v) => (hi === lo ? 4 : Math.min(8, Math.floor((9 * (v - lo)) / (hi - lo))));
    $("heatmap").replaceChildren(
      el("caption", { class: "muted", text: `${r.objective} by ${h.y} (rows) and ${h.x} (columns)` }),
      el("tr", {}, el("th", { text: `${h.y} \\ ${h.x}` }), h.x_values.map((x) => el("th", { text: x }))),
      ...h.y_values.map((y, i) => el("tr", {}, el("th", { text: y }),
        h.cells[i].map((v, j) => el("td", { class: v === null ? "empty" : `h${shade(v)}${v === hi ? " best" : ""}`,
          title: v === null ? "not run" : `${h.x}=${h.x_values[j]}, ${h.y}=${y}: ${v}`,
          text: v === null ? "–" : fmt(v, 2) })))));
  }

  function reloadHeatmap() {
    const x = $("heat-x").value, y = $("heat-y").value;
    if (x === y) return tradd.showError("choose two different parameters for the heatmap");
    tradd.clearMessages();
    loadResults($("job").dataset.job, [x, y]);
  }

  function showWalkForward(r) {
    $("wf-card").hidden = false;
    for (const chart of charts) chart.destroy();
    charts = [];
    const width = Math.min(1100, $("wf-card").clientWidth - 40);
    const c = r.is_vs_oos;
    charts.push(new uPlot({
      width, height: 260, scales: { x: { time: false } },
      axes: [{ label: "window", values: (u, ticks) => ticks.map((t) => (Number.isInteger(t) ? t : "")) }, { label: "Sharpe" }],
      series: [{ label: "window" }, { label: "IS Sharpe", stroke: "#2457d6", points: { show: true } },
               { label: "OOS Sharpe", stroke: "#b3261e", points: { show: true } }],
    }, [c.window, c.is_sharpe, c.oos_sharpe], $("is-vs-oos")));
    if (r.oos_equity && r.oos_equity.time.length) {
      charts.push(new uPlot({
        width, height: 260, series: [{}, { label: "OOS equity", stroke: "#137333" }], axes: [{}, { label: "equity", size: 80 }],
      }, [r.oos_equity.time, r.oos_equity.equity], $("oos-equity")));
    }
    const s = r.summary || {};
    const stat = (label, value) => el("tr", {}, el("th", { text: label }), el("td", { class: "num", text: value }));
    $("wf-summary").replaceChildren(
      stat("avg IS Sharpe", fmt(s.avg_is_sharpe, 3)), stat("avg OOS Sharpe", fmt(s.avg_oos_sharpe, 3)),
      stat("avg degradation", `${fmt(s.avg_degradation, 3)} (${fmt(s.degradation_pct, 1)}%)`),
      stat("consistency (profitable OOS windows)", fmt(100 * (s.consistency || 0), 0, "%")),
      stat("walk-forward efficiency", fmt(s.walk_forward_efficiency, 2)),
      stat("stitched OOS return", fmt(s.oos_total_return, 2, "%")), stat("stitched OOS Sharpe", fmt(s.oos_sharpe, 3)),
      stat("stitched OOS max drawdown", fmt(s.oos_max_drawdown, 2, "%")));
  }

  function showComparison(r) {
    const c = r.comparison;
    $("compare-card").hidden = false;
    $("compare-note").textContent = `(${r.symbols.join(", ")} ${r.start} to ${r.end}: ranked by ${c.ranked_by}; ${c.days} days)`;
    $("compare-results").replaceChildren(
      el("thead", {}, el("tr", {}, el("th", { text: "rank" }), el("th", { text: "strategy" }), el("th", { text: "parameters" }),
        METRICS.map(([, label]) => el("th", { class: "num", text: label })))),
      el("tbody", {}, c.strategies.map((s) => el("tr", { class: s.rank === 1 ? "best" : null, title: s.strategy },
        el("td", { text: s.rank }), el("td", { text: s.label }),
        el("td", { class: "muted", text: Object.entries(s.params).map(([k, v]) => `${k}=${v}`).join(", ") }),
        METRICS.map(([key, , digits]) => el("td", {
          class: "num " + (["total_return", "cagr", "sharpe"].includes(key) ? tradd.signClass(s.metrics[key]) : ""),
          text: fmt(s.metrics[key], digits) }))))));
    $("compare-tests").replaceChildren(
      el("thead", {}, el("tr", {}, ["pair", "paired t-test p", "Sharpe difference p", "reading"].map((h) => el("th", { text: h })))),
      el("tbody", {}, c.tests.map((t) => el("tr", {},
        el("td", { text: `${t.first} vs ${t.second}` }),
        el("td", { class: "num", text: fmt((t.paired_t_test || {}).p_value, 3) }),
        el("td", { class: "num", text: t.sharpe_difference_test ? fmt(t.sharpe_difference_test.p_value, 3) : "–" }),
        el("td", { text: t.reading })))));
    for (const chart of charts) chart.destroy();
    charts = [];
    const e = c.equity;
    if (!e || !e.time.length) return;
    const labels = c.strategies.map((s) => s.label).filter((l) => e[l]);
    charts.push(new uPlot({
      width: Math.min(1100, $("compare-card").clientWidth - 40), height: 300,
      series: [{}, ...labels.map((l, i) => ({ label: l, stroke: COLOURS[i % COLOURS.length] }))],
      axes: [{}, { label: "equity", size: 80 }],
    }, [e.time, ...labels.map((l) => e[l])], $("compare-equity")));
  }

  function showDownloads(jobId, names) {
    $("downloads-card").hidden = !names.length;
    $("downloads").replaceChildren(...names.map((name) => el("a", {
      href: `/api/v1/jobs/${encodeURIComponent(jobId)}/download/${name}`, download: `${jobId}-${name}`, text: name })));
  }

  main();
})();
