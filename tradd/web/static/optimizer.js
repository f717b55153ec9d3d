// The optimizer page (the product specification's Phase 8 page): tickers, dates,
// strategies, capital and position size -> POST analyze; the progress (status polled every
// 2 s, as the specification says); the results in a tab per symbol with the best
// strategy's equity curve; Execute all / per symbol after a confirmation that lists what
// will be sent, then the outcomes grouped. `/optimizer?job=ID` reopens a job.
// Every server string goes through tradd.el (textContent): markup in a ticker, a
// strategy name or an error shows as text.
"use strict";

(() => {
  const { el, api, fmt, signClass } = tradd;
  const SYMBOL = /^[A-Za-z0-9][A-Za-z0-9.\-_]{0,23}$/;
  const MAX_SYMBOLS = 100;
  const POLL_MS = 2000;
  const DEFAULT_DAYS = 365;
  const OUTCOMES = [["executed", "Executed"], ["blocked", "Blocked by risk"],
                    ["skipped", "Skipped"], ["failed", "Failed"]];

  const state = {
    bar: "1d", known: new Map(), catalog: [], chosen: new Set(), extra: [],
    datesTouched: false, jobId: null, results: null, active: null, plot: null,
    curves: new Map(), setup: null, timer: null,
  };
  const $ = (id) => document.getElementById(id);

  // ---- the form -------------------------------------------------------------------

  function tickers() {
    const seen = new Set();
    for (const token of $("symbols").value.split(/[\s,;]+/)) {
      if (token) seen.add(token.toUpperCase());
    }
    return [...seen];
  }

  function problems(symbols) {
    const invalid = symbols.filter((s) => !SYMBOL.test(s));
    const missing = symbols.filter((s) => SYMBOL.test(s) && !state.known.has(s));
    return { invalid, missing };
  }

  function renderTickers() {
    const symbols = tickers();
    const { invalid, missing } = problems(symbols);
    const bad = invalid.length + missing.length;
    let count = `${symbols.length} ticker${symbols.length === 1 ? "" : "s"}`;
    if (bad) count += ` (${bad} flagged)`;
    if (symbols.length > MAX_SYMBOLS) count += ` – at most ${MAX_SYMBOLS}`;
    $("symbol-count").textContent = count;
    $("symbol-flags").replaceChildren(...symbols.map((symbol) => {
      if (invalid.includes(symbol)) {
        return el("span", { class: "badge bad", dataset: { symbol }, text: `${symbol}: not a ticker` });
      }
      if (missing.includes(symbol)) {
        return el("span", { class: "badge bad", dataset: { symbol }, text: `${symbol}: no ${state.bar} data` });
      }
      const span = state.known.get(symbol);
      return el("span", { class: "badge ok", dataset: { symbol }, title: `${span.first} .. ${span.last}`,
                          text: symbol });
    }));
    defaultPeriod(symbols);
  }

  function isoDay(date) { return date.toISOString().slice(0, 10); }
  function addDays(iso, days) {
    const date = new Date(`${iso}T00:00:00Z`);
    date.setUTCDate(date.getUTCDate() + days);
    return isoDay(date);
  }

  function defaultPeriod(symbols) {
    // As the API does: the last day all the tickers have, and the year before it.
    const spans = symbols.filter((s) => state.known.has(s)).map((s) => state.known.get(s));
    const all = spans.length ? spans : [...state.known.values()];
    if (!all.length) return;
    const lasts = all.map((s) => s.last).sort();
    const end = spans.length ? lasts[0] : lasts[lasts.length - 1];
    const start = addDays(end, -(DEFAULT_DAYS - 1));
    $("period-note").textContent = state.datesTouched ? "" :
      `Default period: the last year of data (${start} .. ${end}).`;
    if (state.datesTouched) return;
    $("start-date").value = start;
    $("end-date").value = end;
  }

  function renderAvailable() {
    const names = [...state.known.keys()];
    const box = $("available");
    if (!names.length) {
      box.textContent = `No ${state.bar} data yet: import some with \`tradd data import\`.`;
      return;
    }
    box.replaceChildren(`With ${state.bar} data: `, ...names.map((name) =>
      el("button", { type: "button", class: "chip", dataset: { symbol: name }, text: name,
        title: `${state.known.get(name).first} .. ${state.known.get(name).last}`,
        onclick: () => addTicker(name) })));
  }

  function addTicker(name) {
    if (tickers().includes(name)) return;
    const text = $("symbols").value.trim();
    $("symbols").value = text ? `${text}, ${name}` : name;
    renderTickers();
  }

  function shortName(path) { return String(path).split(".").pop(); }

  function renderStrategies() {
    const picker = $("strategy-picker");
    const items = state.catalog.map((s) => {
      const box = el("input", { type: "checkbox", value: s.path, checked: state.chosen.has(s.path),
        onchange: (event) => {
          if (event.target.checked) state.chosen.add(s.path); else state.chosen.delete(s.path);
          renderStrategyCount();
        } });
      return el("label", { class: "pick", title: s.path }, box,
        el("span", { class: "badge strategy", text: s.name }),
        el("span", { class: "muted", text: s.summary }),
        ...Object.entries(s.params).map(([k, v]) => el("span", { class: "badge param", text: `${k}=${v}` })));
    });
    const extras = state.extra.map((path) => el("span", { class: "badge strategy extra", title: path },
      path,
      el("button", { type: "button", class: "link remove", title: `remove ${path}`, text: "×",
        onclick: () => { state.extra = state.extra.filter((p) => p !== path); renderStrategies(); } })));
    picker.replaceChildren(...items, ...(extras.length ? [el("div", { class: "extras" }, extras)] : []));
    renderStrategyCount();
  }

  function chosenStrategies() {
    return [...state.catalog.map((s) => s.path).filter((p) => state.chosen.has(p)), ...state.extra];
  }

  function renderStrategyCount() {
    const chosen = chosenStrategies();
    $("strategy-count").textContent = chosen.length ? `${chosen.length} selected` :
      `none selected: all ${state.catalog.length} shipped strategies run`;
  }

  function addExtraStrategy() {
    const input = $("extra-strategy");
    const path = input.value.trim();
    if (!path) return;
    if (!state.extra.includes(path) && !state.catalog.some((s) => s.path === path)) state.extra.push(path);
    if (state.catalog.some((s) => s.path === path)) state.chosen.add(path);
    input.value = "";
    renderStrategies();
  }

  function number(id) {
    const raw = $(id).value.trim();
    return raw === "" ? null : Number(raw);
  }

  async function submit(event) {
    event.preventDefault();
    tradd.clearMessages();
    const symbols = tickers();
    if (!symbols.length) { tradd.showError("symbols: type at least one ticker"); return; }
    const { invalid, missing } = problems(symbols);
    if (invalid.length || missing.length) {
      const reasons = [];
      if (invalid.length) reasons.push(`not tickers: ${invalid.join(", ")}`);
      if (missing.length) reasons.push(`no ${state.bar} data for ${missing.join(", ")} (tradd data import)`);
      tradd.showError(`symbols: ${reasons.join("; ")}: nothing sent`);
      return;
    }
    const body = {
      symbols,
      start_date: $("start-date").value || null,
      end_date: $("end-date").value || null,
      strategies: chosenStrategies().length ? chosenStrategies() : null,
      initial_capital: number("initial-capital") ?? 100000,
      max_position_pct: number("max-position-pct") ?? 10,
    };
    $("analyze").disabled = true;
    try {
      const accepted = await api("POST", "/api/v1/optimizer/analyze", body);
      history.pushState(null, "", `/optimizer?job=${encodeURIComponent(accepted.job_id)}`);
      await openJob(accepted.job_id);
    } catch (error) {
      tradd.showError(error.message);
    } finally {
      $("analyze").disabled = false;
    }
  }

  // ---- a job: progress, then results --------------------------------------------------

  function resetJob() {
    clearTimeout(state.timer);
    if (state.plot) { state.plot.destroy(); state.plot = null; }
    Object.assign(state, { jobId: null, results: null, active: null, setup: null });
    state.curves.clear();
    $("progress-card").hidden = true;
    $("results-card").hidden = true;
    $("outcomes-card").hidden = true;
    $("position-pct").value = "";
  }

  async function openJob(jobId) {
    resetJob();
    state.jobId = jobId;
    $("job-id").textContent = jobId;
    await poll(jobId);
  }

  async function poll(jobId) {
    if (state.jobId !== jobId) return;
    let status;
    try {
      status = await api("GET", `/api/v1/optimizer/status/${encodeURIComponent(jobId)}`);
    } catch (error) {
      $("progress-card").hidden = true;
      tradd.showError(error.message);
      return;
    }
    renderProgress(status);
    if (status.status === "queued" || status.status === "running") {
      state.timer = setTimeout(() => poll(jobId), POLL_MS);
    } else if (status.status === "completed") {
      await loadResults(jobId);
    } else if (status.status === "failed") {
      tradd.showError(`analysis ${jobId} failed: ${status.error || "no reason recorded"}`);
    } else {
      tradd.showInfo(`analysis ${jobId} was cancelled`);
    }
  }

  function renderProgress(status) {
    $("progress-card").hidden = false;
    $("progress").value = status.progress;
    const parts = [`${fmt(status.progress, 0)}%`];
    if (status.total) parts.push(`${status.done} of ${status.total} backtests`);
    if (status.status === "queued") {
      parts.push(status.queue_position ? `queued (position ${status.queue_position})` : "queued");
    } else if (status.status === "running") {
      parts.push(status.eta_seconds === null ? "ETA –" : `ETA ${tradd.duration(status.eta_seconds)}`);
    } else {
      parts.push(status.status);
    }
    if (status.cache_hits) parts.push(`${status.cache_hits} from the cache`);
    $("progress-text").textContent = parts.join(" · ");
    $("progress").dataset.status = status.status;
  }

  async function loadResults(jobId) {
    let results;
    try {
      results = await api("GET", `/api/v1/optimizer/results/${encodeURIComponent(jobId)}`);
    } catch (error) {
      tradd.showError(error.message);
      return;
    }
    if (state.jobId !== jobId) return;
    state.results = results;
    const period = results.period ? `${results.period.start} .. ${results.period.end}` : "";
    $("results-period").textContent = period;
    $("results-card").hidden = false;
    $("execute-all").disabled = !results.results.some((r) => r.best_strategy);
    $("tabs").replaceChildren(...results.results.map((entry) => el("button", {
      type: "button", role: "tab", class: entry.best_strategy ? "tab" : "tab none",
      dataset: { symbol: entry.symbol }, text: entry.symbol,
      onclick: () => showSymbol(entry.symbol) })));
    if (results.results.length) await showSymbol(results.results[0].symbol);
    else $("panel").replaceChildren(el("p", { class: "muted", text: "No results." }));
  }

  async function showSymbol(symbol) {
    const entry = state.results.results.find((r) => r.symbol === symbol);
    state.active = symbol;
    for (const tab of $("tabs").children) {
      const on = tab.dataset.symbol === symbol;
      tab.classList.toggle("active", on);
      tab.setAttribute("aria-selected", on ? "true" : "false");
    }
    const best = entry.strategies.find((s) => s.strategy === entry.best_strategy);
    const head = best
      ? el("p", { class: "best-line" }, "Best: ", el("strong", { text: shortName(best.strategy), title: best.strategy }),
          ` (score ${fmt(best.composite_score, 1)}, return `,
          el("span", { class: signClass(best.total_return), text: fmt(best.total_return, 2, "%") }), ")")
      : el("p", { class: "message error", text: `No strategy completed on ${symbol}: nothing to execute.` });
    const chart = el("div", { id: "equity-chart", class: "chart" });
    const caption = el("p", { id: "chart-caption", class: "muted small" });
    const actions = tradd.can("trader") && best
      ? el("p", {}, el("button", { type: "button", class: "danger", id: "execute-symbol",
          dataset: { symbol }, text: `Execute ${symbol}`, onclick: () => execute([symbol]) }))
      : null;
    $("panel").replaceChildren(head, rankingTable(entry), chart, caption, ...(actions ? [actions] : []));
    if (best) await drawCurve(symbol, best.strategy);
  }

  function rankingTable(entry) {
    const columns = [["#", false], ["Strategy", false], ["Score", true], ["Return", true],
                     ["Sharpe", true], ["Max drawdown", true], ["Win rate", true], ["Trades", true]];
    const rows = entry.strategies.map((s) => {
      const isBest = s.strategy === entry.best_strategy;
      const name = el("td", { title: s.strategy }, shortName(s.strategy),
        isBest ? el("span", { class: "badge ok", text: "★ best" }) : null,
        s.cached ? el("span", { class: "badge", text: "cached" }) : null);
      if (s.error) {
        return el("tr", { class: "failed", dataset: { strategy: s.strategy } },
          el("td", { text: "–" }), name, el("td", { colspan: 6, class: "neg", text: s.error }));
      }
      return el("tr", { class: isBest ? "best" : null, dataset: { strategy: s.strategy },
          title: "show this strategy's equity curve",
          onclick: () => drawCurve(entry.symbol, s.strategy) },
        el("td", { text: s.rank ?? "–" }), name,
        el("td", { class: "num", text: fmt(s.composite_score, 1) }),
        el("td", { class: `num ${signClass(s.total_return)}`, text: fmt(s.total_return, 2, "%") }),
        el("td", { class: `num ${signClass(s.sharpe)}`, text: fmt(s.sharpe, 2) }),
        el("td", { class: "num", text: fmt(s.max_drawdown, 2, "%") }),
        el("td", { class: "num", text: fmt(s.win_rate, 1, "%") }),
        el("td", { class: "num", text: s.total_trades ?? "–" }));
    });
    return el("table", { id: "ranking", class: "ranking" },
      el("thead", {}, el("tr", {}, columns.map(([label, num]) => el("th", { class: num ? "num" : null, text: label })))),
      el("tbody", {}, rows));
  }

  async function drawCurve(symbol, strategy) {
    const key = `${symbol} ${strategy}`;
    let series = state.curves.get(key);
    if (!series) {
      try {
        series = await api("GET", `/api/v1/optimizer/equity/${encodeURIComponent(state.jobId)}/` +
          `${encodeURIComponent(symbol)}?strategy=${encodeURIComponent(strategy)}`);
      } catch (error) {
        const caption = $("chart-caption");
        if (caption) caption.textContent = error.message;
        return;
      }
      state.curves.set(key, series);
    }
    if (!state.setup) {
      state.setup = series;
      if ($("position-pct").value === "" && series.max_position_pct) $("position-pct").value = series.max_position_pct;
    }
    if (state.active !== symbol) return;
    const target = $("equity-chart");
    if (!target) return;
    if (state.plot) { state.plot.destroy(); state.plot = null; }
    target.replaceChildren();
    const xs = series.dates.map((d) => Date.parse(`${d}T00:00:00Z`) / 1000);
    const money = (u, v) => (v === null || v === undefined ? "–" : v.toLocaleString(undefined, { maximumFractionDigits: 0 }));
    state.plot = new uPlot({
      width: Math.max(320, target.clientWidth || 800), height: 300,
      scales: { x: { time: true } },
      series: [{}, { label: `${shortName(strategy)} equity`, stroke: "#2457d6", width: 2, value: money }],
      axes: [{}, { size: 70, values: (u, ticks) => ticks.map((t) => money(u, t)) }],
      cursor: { drag: { x: true, y: false } },
    }, [xs, series.values], target);
    target.dataset.strategy = strategy;
    target.dataset.points = String(xs.length);
    $("chart-caption").textContent = `${shortName(strategy)} on ${symbol}: daily equity from ` +
      `${fmt(series.initial_capital, 0)}${series.best ? " (the best strategy)" : ""}; drag to zoom, double-click to reset.`;
  }

  // ---- execute ------------------------------------------------------------------------

  async function execute(symbols) {
    tradd.clearMessages();
    const entries = state.results.results.filter((r) => r.best_strategy && (!symbols || symbols.includes(r.symbol)));
    const pct = number("position-pct");
    if (pct !== null && !(pct > 0 && pct <= 100)) {
      tradd.showError(`position_pct: must be more than 0 and at most 100 (got ${$("position-pct").value})`);
      return;
    }
    const shown = pct ?? (state.setup && state.setup.max_position_pct);
    const stale = $("allow-stale").checked;
    const lines = entries.map((r) => `${r.symbol}: ${shortName(r.best_strategy)} at ${shown ?? "the analysis'"}% of the daemon strategy's equity`);
    if (stale) lines.push("allow_stale: yes (the analysis may be old: a rehearsal)");
    const title = symbols ? `Execute ${symbols.join(", ")}?` : `Execute all ${entries.length} symbols?`;
    if (!await tradd.confirmDialog(title, lines)) return;
    const body = { job_id: state.jobId, allow_stale: stale };
    if (symbols) body.symbols = symbols;
    if (pct !== null) body.position_pct = pct;
    for (const button of document.querySelectorAll("#execute-all, #execute-symbol")) button.disabled = true;
    try {
      const reply = await api("POST", "/api/v1/optimizer/execute", body);
      renderOutcomes(reply);
    } catch (error) {
      tradd.showError(error.message);
    } finally {
      for (const button of document.querySelectorAll("#execute-all, #execute-symbol")) button.disabled = false;
    }
  }

  function money(value) { return value === null || value === undefined ? "–" : fmt(value, 2); }

  function outcomeItem(row) {
    const who = `${row.symbol}${row.strategy ? ` – ${shortName(row.strategy)}` : ""}` +
      `${row.daemon_strategy ? ` via ${row.daemon_strategy}` : ""}`;
    const item = el("li", { class: `outcome ${row.outcome}`, dataset: { symbol: row.symbol } },
      el("strong", { text: who }));
    if (row.outcome === "executed") {
      item.append(`: order ${row.order_ref ?? row.order_id ?? "–"}, ${row.shares ?? "–"} shares at ` +
        `${money(row.price)} = ${money(row.value)}`);
    } else if (row.outcome === "blocked") {
      item.append(`: ${row.reason || "blocked by the risk rules"}`);
      item.append(el("ul", { class: "rules" }, row.rules.map((rule) => el("li", { class: "rule", dataset: { rule: rule.rule } },
        el("code", { text: rule.rule }),
        `: value ${rule.value ?? "–"}, limit ${rule.limit ?? "–"}${rule.message ? ` – ${rule.message}` : ""}`))));
    } else {
      item.append(`: ${row.reason || row.note || "no reason given"}`);
    }
    return item;
  }

  function renderOutcomes(reply) {
    $("outcomes-card").hidden = false;
    const groups = OUTCOMES.map(([kind, label]) => {
      const rows = reply.results.filter((r) => r.outcome === kind);
      if (!rows.length) return null;
      return el("div", { class: `outcome-group ${kind}`, id: `outcome-${kind}` },
        el("h3", { text: `${label} (${rows.length})` }), el("ul", {}, rows.map(outcomeItem)));
    }).filter(Boolean);
    $("outcomes").replaceChildren(
      el("p", { class: "muted", text: `Position size ${fmt(reply.position_pct, 1)}% per entry.` }),
      ...(groups.length ? groups : [el("p", { text: "Nothing was sent." })]));
    $("outcomes-card").scrollIntoView({ block: "nearest" });
  }

  // ---- start ------------------------------------------------------------------------

  async function loadChoices() {
    const [data, catalog] = await Promise.all([api("GET", "/api/v1/data/symbols"), api("GET", "/api/v1/strategies")]);
    state.bar = data.bar;
    state.known = new Map(data.symbols.map((s) => [s.symbol.toUpperCase(), s]));
    state.catalog = catalog.strategies;
    $("strategy-help").textContent = catalog.error
      ? `The strategy catalog is unavailable: ${catalog.error}`
      : "None selected: every shipped strategy runs. Any other strategy class can be added by its dotted path.";
    renderAvailable();
    renderStrategies();
    renderTickers();
  }

  async function start() {
    try {
      await tradd.login_required();
    } catch (error) {
      if (error.status !== 401) tradd.showError(error.message);
      return;
    }
    $("symbols").addEventListener("input", renderTickers);
    for (const id of ["start-date", "end-date"]) {
      $(id).addEventListener("input", () => { state.datesTouched = true; $("period-note").textContent = ""; });
    }
    $("add-strategy").addEventListener("click", addExtraStrategy);
    $("extra-strategy").addEventListener("keydown", (event) => {
      if (event.key === "Enter") { event.preventDefault(); addExtraStrategy(); }
    });
    $("analyze-form").addEventListener("submit", submit);
    $("execute-all").addEventListener("click", () => execute(null));
    window.addEventListener("popstate", openFromUrl);
    try {
      await loadChoices();
    } catch (error) {
      tradd.showError(error.message);
    }
    await openFromUrl();
  }

  async function openFromUrl() {
    const job = new URLSearchParams(location.search).get("job");
    if (job) await openJob(job);
    else resetJob();
  }

  start();
})();
