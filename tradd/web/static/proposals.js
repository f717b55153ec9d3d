// The Proposals page: each proposal with its evidence and gates; a trader approves (only a
// passing, pending one) or rejects, after a confirmation. Text only (tradd.el), no markup.
"use strict";
(() => {
  const { el, api, fmt, can } = tradd;
  const POLL_MS = 5000;
  const EVIDENCE = [["oos_sharpe", "OOS Sharpe"], ["oos_psr", "OOS PSR"],
                    ["efficiency", "WF efficiency"], ["pbo", "PBO"], ["stability", "stability"]];

  const params = (p) => Object.entries(p || {}).map(([k, v]) => `${k}=${v}`).join(" ") || "–";

  function evidence(p) {
    const e = p.evidence;
    return el("td", {}, ...EVIDENCE.map(([key, label]) =>
      el("div", { text: `${label}: ${fmt(e[key], 2)}` })),
      el("div", { class: "muted", text: `${e.period_from} .. ${e.period_to}` }));
  }

  function gates(p) {
    if (!p.gates.length) return el("td", { class: "muted", text: "no gates configured" });
    return el("td", {}, ...p.gates.map((g) => el("div", {
      class: g.passed ? "pos" : "neg",
      text: `${g.passed ? "✓" : "✗"} ${g.name}: ${fmt(g.value, 2)} (limit ${g.limit})`,
    })));
  }

  function actions(p) {
    if (!can("trader")) return null;
    const pending = p.state === "pending";
    return el("td", { class: "actions" },
      el("button", { type: "button", class: "primary", text: "Approve",
        dataset: { action: "approve", proposal: p.id }, disabled: !(pending && p.passed),
        title: p.passed ? "" : "fails its gates: cannot be applied",
        onclick: () => decide("approve", p) }),
      el("button", { type: "button", text: "Reject", dataset: { action: "reject", proposal: p.id },
        disabled: !pending, onclick: () => decide("reject", p) }));
  }

  function row(p) {
    const who = p.decided_by ? ` by ${p.decided_by}` : "";
    const version = p.version !== null ? ` (v${p.version})` : "";
    return el("tr", { dataset: { proposal: p.id } },
      el("td", { text: String(p.id) }),
      el("td", { text: p.strategy }),
      el("td", { text: p.created_at.slice(0, 19).replace("T", " ") }),
      el("td", { text: `${p.kind} ${p.run_id || ""}` }),
      el("td", { text: params(p.params) }),
      evidence(p), gates(p),
      el("td", { text: `${p.state}${version}${who}` }),
      actions(p));
  }

  async function refresh() {
    try {
      const list = await api("GET", "/api/v1/proposals?limit=100");
      document.querySelector("#proposals tbody").replaceChildren(...list.proposals.map(row));
    } catch (error) {
      tradd.showError(error.message);
    }
  }

  async function decide(action, p) {
    const lines = [`strategy: ${p.strategy}`, `parameters: ${params(p.params)}`];
    if (!await tradd.confirmDialog(`${action === "approve" ? "Apply" : "Reject"} proposal ${p.id}?`, lines)) return;
    tradd.clearMessages();
    try {
      const done = await api("POST", `/api/v1/proposals/${p.id}/${action}`);
      tradd.showInfo(action === "approve"
        ? `${done.strategy} now runs version ${done.version}: ${params(done.params)}`
        : `proposal ${p.id} rejected`);
    } catch (error) {
      tradd.showError(error.message);
    }
    await refresh();
  }

  (async () => {
    try {
      await tradd.login_required();
    } catch (error) {
      if (error.status !== 401) tradd.showError(error.message);
      return;
    }
    await refresh();
    setInterval(refresh, POLL_MS);
  })();
})();
