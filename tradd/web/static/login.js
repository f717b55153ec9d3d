"use strict";
document.getElementById("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  tradd.clearMessages();
  try {
    await tradd.api("POST", "/api/v1/auth/login", {
      username: document.getElementById("username").value,
      password: document.getElementById("password").value,
    });
    const next = new URLSearchParams(location.search).get("next");
    location.assign(next && next.startsWith("/") && !next.startsWith("//") ? next : "/optimizer");
  } catch (error) {
    tradd.showError(error.message);
  }
});
