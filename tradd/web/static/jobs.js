// The jobs page: the caller's history (an admin's: everyone's, and the command-line runs),
// newest first and paged; open a job (scans on the optimizer page, the others on the
// research page), cancel or delete one (DELETE, after a confirmation). Refreshed every
// 5 s while a job is queued or running. Below, the daemon's schedules with their last run
// (its job) and next run.
"use strict";

(() => {
  const { el, api } = tradd;
  const PAGE_SIZE = 20;
  const REFRESH_MS = 5000;
  const state = { page: 1, pages: 1, timer: null };
  const $ = (id) => document.getElementById(id);

  function when(iso) {
    if (!iso) return "–";
    const date = new Date(iso);
    return Number.isNaN(date.getTime()) ? String(iso) : date.toLocaleString();
  }

  function seconds(job) {
    const from = job.started_at ? Date.parse(job.started_at) : null;
    if (from === null) return null;
    const to = job.finished_at ? Date.parse(job.finished_at) : Date.now();
    return (to - from) / 1000;
  }

  function openHref(job) {
    const id = encodeURIComponent(job.job_id);
    return job.kind === "scan" ? `/optimizer?job=${id}` : `/research?job=${id}`;
  }

  async function remove(job) {
    tradd.clearMessages();
    const active = job.status === "queued" || job.status === "running";
    const lines = [`${job.kind} job ${job.job_id} (${job.status})`,
      active ? "it is cancelled first: what it finished stays in the backtest cache"
             : "its results and files are deleted"];
    if (!await tradd.confirmDialog(active ? "Cancel and delete this job?" : "Delete this job?", lines)) return;
    try {
      const reply = await api("DELETE", `/api/v1/optimizer/jobs/${encodeURIComponent(job.job_id)}`);
      tradd.showInfo(`${reply.job_id} ${reply.cancelled ? "cancelled and " : ""}deleted`);
    } catch (error) {
      tradd.showError(error.message);
    }
    await load();
  }

  function row(job) {
    const active = job.status === "queued" || job.status === "running";
    const status = job.status === "running" ? `running ${Math.round(job.progress)}%` :
      job.status === "queued" && job.queue_position ? `queued (#${job.queue_position})` : job.status;
    const actions = el("td", { class: "actions" },
      el("a", { href: openHref(job), class: "open", text: "Open" }),
      tradd.can("trader") ? el("button", { type: "button", class: active ? "danger cancel" : "delete",
        text: active ? "Cancel" : "Delete", onclick: () => remove(job) }) : null);
    return el("tr", { dataset: { job: job.job_id, status: job.status } },
      el("td", { class: "job-id", text: job.job_id, title: job.error || "" }),
      el("td", { text: job.kind }),
      el("td", { text: job.owner ?? "(command line)" }),
      el("td", {}, el("span", { class: `status ${job.status}`, text: status }),
        job.error ? el("div", { class: "muted small", text: job.error }) : null),
      el("td", { text: when(job.created_at) }),
      el("td", { class: "num", text: tradd.duration(seconds(job)) }),
      actions);
  }

  async function load() {
    clearTimeout(state.timer);
    let page;
    try {
      page = await api("GET", `/api/v1/optimizer/history?page=${state.page}&page_size=${PAGE_SIZE}`);
    } catch (error) {
      tradd.showError(error.message);
      return;
    }
    state.pages = Math.max(1, Math.ceil(page.total / page.page_size));
    if (state.page > state.pages) { state.page = state.pages; await load(); return; }
    $("jobs").replaceChildren(...page.jobs.map(row));
    $("empty").hidden = page.total > 0;
    $("page-info").textContent = `page ${page.page} of ${state.pages} (${page.total} jobs)`;
    $("prev").disabled = state.page <= 1;
    $("next").disabled = state.page >= state.pages;
    if (page.jobs.some((j) => j.status === "queued" || j.status === "running")) {
      state.timer = setTimeout(load, REFRESH_MS);
    }
  }

  function scheduleRow(s) {
    const last = s.last ? el("span", {},
      el("span", { class: "job-id", text: s.last.job_id }), " ",
      el("span", { class: `status ${s.last.state}`, text: s.last.state }),
      el("div", { class: "muted small", text: `${when(s.last.fired_at)}${s.last.manual ? " (manual)" : ""}` }))
      : "–";
    const next = s.enabled ? when(s.next_due) : "disabled";
    return el("tr", { dataset: { schedule: s.name } },
      el("td", { text: s.name }), el("td", { text: s.kind }), el("td", { text: s.when }),
      el("td", { text: s.owner }), el("td", {}, last), el("td", { text: next }));
  }

  async function loadSchedules() {
    let listing;
    try {
      listing = await api("GET", "/api/v1/schedules");
    } catch (error) {
      $("schedules-down").hidden = false;
      $("schedules-down").textContent = `Schedules unavailable: ${error.message}`;
      return;
    }
    $("schedules-down").hidden = true;
    $("schedules").replaceChildren(...listing.schedules.map(scheduleRow));
    $("schedules-empty").hidden = listing.schedules.length > 0;
  }

  async function start() {
    try {
      await tradd.login_required();
    } catch (error) {
      if (error.status !== 401) tradd.showError(error.message);
      return;
    }
    $("prev").addEventListener("click", () => { state.page -= 1; load(); });
    $("next").addEventListener("click", () => { state.page += 1; load(); });
    await Promise.all([load(), loadSchedules()]);
  }

  start();
})();
