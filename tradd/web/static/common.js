// tradd console: what every page shares. No framework, no build step, no inline script
// (the Content-Security-Policy forbids it). Text from the server is only ever set with
// textContent, never innerHTML, so a ticker or a name containing markup shows as text.
"use strict";

const tradd = (() => {
  let me = null;
  let leaving = false;  // logging out: no more requests (a poll would answer 401)

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = String(value);
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else if (key === "dataset") Object.assign(node.dataset, value);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  class ApiError extends Error {
    constructor(status, detail) {
      super(detail);
      this.status = status;
    }
  }

  async function api(method, path, body) {
    if (leaving && path !== "/api/v1/auth/logout") throw new ApiError(401, "logged out");
    const headers = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (me && me.csrf_token && method !== "GET") headers["X-CSRF-Token"] = me.csrf_token;
    const reply = await fetch(path, {
      method, headers, credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await reply.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch (_) { data = null; }
    if (reply.status === 401 && !path.startsWith("/api/v1/auth/login")) {
      window.location.assign("/login?next=" + encodeURIComponent(location.pathname + location.search));
      throw new ApiError(401, "not logged in");
    }
    if (!reply.ok) {
      const detail = data && data.detail ? data.detail : `${reply.status} ${reply.statusText}`;
      throw new ApiError(reply.status, String(detail));
    }
    return data;
  }

  function showError(message) {
    const box = document.getElementById("messages");
    if (!box) return;
    box.replaceChildren(el("div", { class: "message error", role: "alert", text: message }));
  }

  function showInfo(message) {
    const box = document.getElementById("messages");
    if (!box) return;
    box.replaceChildren(el("div", { class: "message info", role: "status", text: message }));
  }

  function clearMessages() {
    const box = document.getElementById("messages");
    if (box) box.replaceChildren();
  }

  const ROLES = ["viewer", "trader", "admin"];
  function can(role) {
    return me !== null && ROLES.indexOf(me.role) >= ROLES.indexOf(role);
  }

  async function login_required() {
    me = await api("GET", "/api/v1/auth/me");
    renderNav();
    for (const node of document.querySelectorAll("[data-role]")) {
      node.hidden = !can(node.dataset.role);
    }
    return me;
  }

  function renderNav() {
    const nav = document.getElementById("nav");
    if (!nav) return;
    const here = location.pathname;
    const links = [["/optimizer", "Optimizer"], ["/research", "Research"],
                   ["/jobs", "Jobs"], ["/live", "Live"], ["/proposals", "Proposals"]];
    const logout = el("button", { type: "button", class: "link", id: "logout", text: "Log out",
      onclick: async () => {
        leaving = true;
        await api("POST", "/api/v1/auth/logout");
        location.assign("/login");
      } });
    nav.replaceChildren(
      el("span", { class: "brand", text: "tradd" }),
      ...links.map(([href, label]) => el("a", { href, class: here === href ? "active" : null, text: label })),
      el("span", { class: "who", id: "who", text: `${me.name} (${me.role})` }),
      logout,
    );
  }

  function fmt(value, digits = 2, suffix = "") {
    if (value === null || value === undefined || Number.isNaN(value)) return "–";
    return Number(value).toFixed(digits) + suffix;
  }

  function signClass(value) {
    if (value === null || value === undefined) return "";
    return value > 0 ? "pos" : value < 0 ? "neg" : "";
  }

  function duration(seconds) {
    if (seconds === null || seconds === undefined) return "–";
    const s = Math.max(0, Math.round(seconds));
    if (s < 60) return `${s}s`;
    if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
    return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  }

  function confirmDialog(title, lines) {
    // A modal that shows exactly what will be sent; resolves true on confirm.
    return new Promise((resolve) => {
      const dialog = el("dialog", { class: "confirm", id: "confirm-dialog" },
        el("h3", { text: title }),
        el("ul", {}, lines.map((line) => el("li", { text: line }))),
        el("div", { class: "buttons" },
          el("button", { type: "button", id: "confirm-cancel", text: "Cancel",
            onclick: () => { dialog.close(); dialog.remove(); resolve(false); } }),
          el("button", { type: "button", id: "confirm-ok", class: "primary", text: "Confirm",
            onclick: () => { dialog.close(); dialog.remove(); resolve(true); } })));
      document.body.append(dialog);
      dialog.showModal();
    });
  }

  return { el, api, ApiError, showError, showInfo, clearMessages, can, login_required,
           fmt, signClass, duration, confirmDialog, get me() { return me; } };
})();
