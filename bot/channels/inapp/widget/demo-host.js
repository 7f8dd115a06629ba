/* The mock platform's side of the embedding: who is signed in, and the token the widget asks for.
   A real platform mints the token on its server with INAPP_IDENTITY_SECRET; the embedded default's
   development endpoint stands in for that here. */
(() => {
  "use strict";
  const KEY = "demo-user";
  let user = localStorage.getItem(KEY);
  if (!user) {
    user = "guest-" + Array.from(crypto.getRandomValues(new Uint8Array(5)), (b) => b.toString(16).padStart(2, "0")).join("");
    localStorage.setItem(KEY, user);
  }
  window.connectbotToken = async () => {
    const response = await fetch("/api/chat/dev-token", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ user, org: "demo", name: "Dana Whitfield" }),
    });
    if (!response.ok) throw new Error(`no development identity (${response.status})`);
    return (await response.json()).token;
  };
  document.addEventListener("DOMContentLoaded", () => {
    document.getElementById("demo-user").textContent = user;
    document.getElementById("demo-reset").addEventListener("click", (e) => {
      e.preventDefault();
      localStorage.clear();
      location.assign("/");
    });
  });
  document.addEventListener("click", (e) => {
    if (!e.target.closest("[data-open-chat]")) return;
    const chat = document.querySelector("connectbot-chat");
    if (chat) chat.open();
  });
})();
