/* connectbot's in-app chat widget: one script tag on the host page, no build step, no framework.

   <script src="{BASE_URL}/widget.js" data-token="JWT"></script>
   <script src="{BASE_URL}/widget.js" data-token-url="/my/token/endpoint"></script>   (POST, answers {"token"})
   window.connectbotToken = async () => "JWT"; before the tag                         (the host fetches it)

   It mounts <connectbot-chat>, a launcher and a chat panel in a Shadow DOM, so the host page's CSS
   and the widget's never touch. Message text only ever goes into the page through textContent. */
(() => {
  "use strict";
  const STRINGS = __CONNECTBOT_STRINGS__;  // rendered by the server from flows/templates/widget/strings.j2
  const script = document.currentScript;
  const BASE = new URL(".", script.src).href.replace(/\/$/, "");
  const TAG = "connectbot-chat";
  const OPEN_KEY = "connectbot-open";
  const POLL_MS = 3000;
  const RETRY_MS = [1000, 2000, 4000];

  class HttpError extends Error {
    constructor(status, body, retryAfter) { super(body.error || String(status)); this.status = status; this.body = body; this.retryAfter = retryAfter; }
  }

  /** h("div", {class: "x"}, child...): DOM nodes without markup strings. */
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === false || v === null || v === undefined) continue;
      if (k.startsWith("on")) el.addEventListener(k.slice(2), v); else el.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children) if (c !== null && c !== undefined) el.append(c);
    return el;
  }

  function uuid() {
    if (crypto.randomUUID) return crypto.randomUUID();
    return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
  }

  /** Only http(s) links become anchors: a javascript: or data: URL in a message stays inert. */
  function safeUrl(url) {
    try {
      const u = new URL(url, BASE);
      return u.protocol === "https:" || u.protocol === "http:" ? u.href : null;
    } catch (_) { return null; }
  }

  function clock(at) {
    const d = new Date(at);
    if (isNaN(d)) return "";
    const time = d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    return d.toDateString() === new Date().toDateString() ? time : `${d.toLocaleDateString([], { day: "numeric", month: "short" })}, ${time}`;
  }

  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

  class ConnectbotChat extends HTMLElement {
    constructor() {
      super();
      this.seen = new Map();      // message id -> bubble
      this.mine = new Map();      // client_message_id -> bubble (sent from here, maybe not confirmed yet)
      this.lastId = 0;
      this.sending = 0;
      this.unread = 0;
      this.token = null;
      this.stream = null;
      this.pollTimer = null;
      this.noticeTimer = null;
      this.build();
    }

    // ---- the chrome ------------------------------------------------------------------------------

    build() {
      const root = this.attachShadow({ mode: "open" });
      const css = h("link", { rel: "stylesheet", href: `${BASE}/widget.css` });
      this.frame = h("div", { class: "frame", hidden: true });
      css.addEventListener("load", () => { this.frame.hidden = false; });
      css.addEventListener("error", () => { this.frame.hidden = false; });
      this.badge = h("span", { class: "badge", hidden: true });
      this.launcher = h("button", { class: "launcher", type: "button", "aria-expanded": "false",
        "aria-controls": "connectbot-panel", onclick: () => this.open() },
        h("span", { class: "bubble-icon", "aria-hidden": "true" }), h("span", { class: "launcher-text" }, STRINGS.launcher),
        this.badge);
      this.log = h("div", { class: "log", role: "log", "aria-live": "polite", "aria-label": STRINGS.log_label, tabindex: "0" });
      this.typing = h("div", { class: "typing", hidden: true, "aria-hidden": "true" }, h("span"), h("span"), h("span"));
      this.status = h("p", { class: "status", role: "status", "aria-live": "polite" });
      this.input = h("input", { id: "connectbot-input", type: "text", autocomplete: "off", maxlength: "4000",
        placeholder: STRINGS.placeholder });
      const form = h("form", { class: "composer", onsubmit: (e) => { e.preventDefault(); this.submitText(); } },
        h("label", { for: "connectbot-input", class: "vh" }, STRINGS.input_label), this.input,
        h("button", { type: "submit", class: "send" }, STRINGS.send));
      this.panel = h("section", { id: "connectbot-panel", class: "panel", role: "dialog", "aria-modal": "false",
        "aria-labelledby": "connectbot-title", hidden: true,
        onkeydown: (e) => { if (e.key === "Escape") { e.preventDefault(); this.close(); } } },
        h("header", {},
          h("div", { class: "heading" }, h("h2", { id: "connectbot-title" }, STRINGS.title), h("p", {}, STRINGS.subtitle)),
          h("button", { type: "button", class: "close", "aria-label": STRINGS.close, onclick: () => this.close() }, "\u00d7")),
        this.log, this.typing, this.status, form);
      this.greeting();
      this.frame.append(this.launcher, this.panel);
      root.append(css, this.frame);
    }

    greeting() {
      this.starters = h("div", { class: "choices", role: "group", "aria-label": STRINGS.choices_label },
        ...STRINGS.starters.map((label) => h("button", { type: "button", onclick: () => this.send({ text: label }, label, "say") }, label)));
      this.log.append(h("div", { class: "msg bot greeting" },
        h("div", { class: "meta" }, h("span", { class: "who" }, STRINGS.bot)),
        h("p", { class: "text" }, STRINGS.greeting), this.starters));
    }

    open() {
      this.panel.hidden = false;
      this.launcher.setAttribute("aria-expanded", "true");
      this.frame.classList.add("is-open");
      this.unread = 0;
      this.showBadge();
      try { localStorage.setItem(OPEN_KEY, "1"); } catch (_) { /* storage may be off */ }
      this.scrollDown(true);
      this.input.focus();
    }

    close() {
      this.panel.hidden = true;
      this.launcher.setAttribute("aria-expanded", "false");
      this.frame.classList.remove("is-open");
      try { localStorage.removeItem(OPEN_KEY); } catch (_) { /* storage may be off */ }
      this.launcher.focus();
    }

    showBadge() {
      this.badge.hidden = this.unread === 0;
      this.badge.textContent = this.unread ? String(this.unread) : "";
      this.badge.setAttribute("aria-label", `${this.unread} ${STRINGS.unread}`);
    }

    notice(text, { sticky = false } = {}) {
      clearTimeout(this.noticeTimer);
      this.status.textContent = text;
      if (text && !sticky) this.noticeTimer = setTimeout(() => { this.status.textContent = ""; }, 4000);
    }

    nearBottom() { return this.log.scrollHeight - this.log.scrollTop - this.log.clientHeight < 120; }

    scrollDown(force) {
      if (force || this.nearBottom()) this.log.scrollTop = this.log.scrollHeight;
    }

    // ---- messages --------------------------------------------------------------------------------

    /** Shows a message once, whichever way it arrived (POST answer, stream, poll) and however often. */
    render(m) {
      if (!m || typeof m.id !== "number" || this.seen.has(m.id)) return;
      this.lastId = Math.max(this.lastId, m.id);
      let el = m.client_message_id ? this.mine.get(m.client_message_id) : null;
      if (el) {
        el.classList.remove("pending", "failed");
        el.querySelector(".retry")?.remove();
        el.querySelector("time").replaceWith(this.time(m.at));
      } else {
        el = this.bubble(m);
        if (m.from !== "customer" && this.panel.hidden) { this.unread += 1; this.showBadge(); }
      }
      // Measured before the bubble goes in: a long reply must not push the log out of "following".
      const follow = this.nearBottom() || m.from === "customer" || this.sending > 0;
      el.dataset.id = String(m.id);
      el.msg = m;
      this.seen.set(m.id, el);
      this.place(el);
      this.refreshChoices();
      this.scrollDown(follow);
    }

    time(at) { return h("time", { datetime: at || "" }, at ? clock(at) : ""); }

    bubble(m) {
      const who = m.from === "customer" ? STRINGS.you
        : m.from === "person" ? (m.author ? `${m.author} \u00b7 ${STRINGS.person}` : STRINGS.person) : STRINGS.bot;
      const el = h("div", { class: `msg ${m.from === "customer" ? "customer" : m.from === "person" ? "person" : "bot"}` },
        h("div", { class: "meta" }, h("span", { class: "who" }, who), this.time(m.at)),
        h("p", { class: "text" }, m.text || ""));
      for (const link of m.links || []) {
        const href = safeUrl(link.url);
        if (!href) continue;
        el.append(h("a", { class: "signin", href, target: "_blank", rel: "noopener noreferrer" },
          link.label || href, h("span", { class: "vh" }, ` ${STRINGS.new_tab}`)));
      }
      if (m.choices && m.choices.length) {
        el.append(h("div", { class: "choices", role: "group", "aria-label": STRINGS.choices_label },
          ...m.choices.map((label) => h("button", { type: "button", "data-label": label,
            onclick: () => this.send({ click: label }, label, "click") }, label))));
      }
      return el;
    }

    /** Keeps the log in message-id order; bubbles still on their way stay last. */
    place(el) {
      const id = Number(el.dataset.id);
      for (const other of this.log.children) {
        if (other === el || !other.dataset.id) continue;
        if (Number(other.dataset.id) > id) { this.log.insertBefore(el, other); return; }
      }
      const firstPending = [...this.log.children].find((c) => c !== el && c.classList.contains("msg") && !c.dataset.id && !c.classList.contains("greeting"));
      if (firstPending) this.log.insertBefore(el, firstPending); else if (el.parentNode !== this.log || el.nextSibling) this.log.append(el);
    }

    /** Only the newest unanswered question can be answered; answered ones show what was picked. */
    refreshChoices() {
      const bubbles = [...this.log.querySelectorAll(".msg:not(.greeting)")];
      this.starters.hidden = bubbles.length > 0;
      let asked = null;
      const answers = new Map();
      for (const b of bubbles) {
        if (b.classList.contains("customer")) {
          if (asked && !answers.has(asked)) answers.set(asked, b.kind === "click" || b.msg?.kind === "click" ? b.querySelector(".text").textContent : null);
        } else if (b.querySelector(".choices")) asked = b;
      }
      for (const b of bubbles) {
        const group = b.querySelector(".choices");
        if (!group) continue;
        const live = b === asked && !answers.has(b) && this.sending === 0;
        const picked = (answers.get(b) || "").toLowerCase();
        for (const button of group.querySelectorAll("button")) {
          button.disabled = !live;
          const chosen = picked !== "" && button.dataset.label.toLowerCase() === picked;
          button.classList.toggle("chosen", chosen);
          if (chosen) button.setAttribute("aria-pressed", "true"); else button.removeAttribute("aria-pressed");
        }
      }
      for (const button of this.starters.querySelectorAll("button")) button.disabled = this.sending > 0;
    }

    // ---- sending ---------------------------------------------------------------------------------

    submitText() {
      const text = this.input.value.trim();
      if (!text) return;
      this.input.value = "";
      this.send({ text }, text, "say");
    }

    async send(body, shown, kind) {
      const cid = uuid();
      const el = h("div", { class: "msg customer pending" },
        h("div", { class: "meta" }, h("span", { class: "who" }, STRINGS.you), this.time("")),
        h("p", { class: "text" }, shown));
      el.kind = kind;
      this.mine.set(cid, el);
      this.log.append(el);
      const hadFocus = this.shadowRoot.activeElement;
      this.busy(+1);
      if (hadFocus && hadFocus.disabled) this.input.focus();
      this.scrollDown(true);
      await this.deliver(el, { client_message_id: cid, ...body });
    }

    async deliver(el, body) {
      try {
        const answer = await this.api("POST", "/api/chat/messages", body, { retries: RETRY_MS });
        for (const m of answer.messages || []) this.render(m);
        if (this.status.textContent === STRINGS.not_sent || this.status.textContent === STRINGS.identity) this.notice("");
      } catch (err) {
        if (err instanceof HttpError && err.status >= 400 && err.status < 500 && err.status !== 401 && err.status !== 429) {
          // Refused (an old question, bad input): the message did not count, so it leaves the log.
          el.remove();
          this.mine.delete(body.client_message_id);
          if (body.text !== undefined && !this.input.value) this.input.value = body.text;  // typed words are not lost
          this.notice(err.body.error || STRINGS.not_sent);
        } else {
          el.classList.add("failed");
          el.classList.remove("pending");
          if (!el.querySelector(".retry")) {
            el.append(h("button", { type: "button", class: "retry", onclick: (e) => {
              e.currentTarget.remove();
              el.classList.replace("failed", "pending");
              this.busy(+1);
              this.deliver(el, body);
            } }, STRINGS.retry));
          }
          this.notice(err instanceof HttpError && err.status === 401 ? STRINGS.identity : STRINGS.not_sent, { sticky: true });
        }
      } finally {
        this.busy(-1);
        this.refreshChoices();
      }
    }

    busy(delta) {
      this.sending = Math.max(0, this.sending + delta);
      this.typing.hidden = this.sending === 0;
      if (this.sending > 0 && delta > 0) this.notice(STRINGS.typing);
      if (this.sending === 0 && this.status.textContent === STRINGS.typing) this.notice("");
      this.refreshChoices();
      this.scrollDown(false);
    }

    // ---- the server ------------------------------------------------------------------------------

    async identity(fresh) {
      if (this.token && !fresh) return this.token;
      const tag = script.dataset;
      if (tag.token && !fresh) this.token = tag.token;
      else if (typeof window.connectbotToken === "function") this.token = await window.connectbotToken();
      else if (tag.tokenUrl) {
        const r = await fetch(tag.tokenUrl, { method: "POST", credentials: "include", headers: { "Content-Type": "application/json" }, body: "{}" });
        if (!r.ok) throw new HttpError(401, {});
        this.token = (await r.json()).token;
      } else if (tag.token) this.token = tag.token;
      return this.token;
    }

    canRefresh() { return typeof window.connectbotToken === "function" || Boolean(script.dataset.tokenUrl); }

    /** One API call with the identity; network failures, 5xx and 429 are tried again (same body: idempotent). */
    async api(method, path, body, { retries = [] } = {}) {
      let refreshed = false;
      for (let attempt = 0; ; attempt++) {
        let response;
        try {
          const token = await this.identity(false);
          response = await fetch(`${BASE}${path}`, { method, headers: { Authorization: `Bearer ${token}`,
            ...(body ? { "Content-Type": "application/json" } : {}) }, body: body ? JSON.stringify(body) : undefined });
        } catch (err) {
          if (attempt < retries.length) { await sleep(retries[attempt]); continue; }
          throw err;
        }
        if (response.ok) return response.json();
        const answer = await response.json().catch(() => ({}));
        if (response.status === 401 && !refreshed && this.canRefresh()) { refreshed = true; this.token = null; await this.identity(true); attempt--; continue; }
        const wait = Math.min(30, Number(response.headers.get("Retry-After")) || 0) * 1000;
        if ((response.status >= 500 || response.status === 429) && attempt < retries.length) { await sleep(Math.max(wait, retries[attempt])); continue; }
        throw new HttpError(response.status, answer, wait);
      }
    }

    /** Everything after the newest message shown; a failure says so once, a success after one says so too. */
    async catchUp() {
      let answer;
      try {
        answer = await this.api("GET", `/api/chat/messages?after=${this.lastId}`);
      } catch (err) {
        if (err instanceof HttpError && err.status === 401) this.notice(STRINGS.identity, { sticky: true });
        else if (!this.lost) { this.lost = true; this.notice(STRINGS.reconnecting, { sticky: true }); }
        throw err;
      }
      if (this.lost) { this.lost = false; this.notice(STRINGS.reconnected); }
      for (const m of answer.messages || []) this.render(m);
      if (!this.loaded) { this.loaded = true; this.scrollDown(true); }  // history: start at the newest message
    }

    async connectedCallback() {
      if (this.started) return;
      this.started = true;
      let wanted = false;
      try { wanted = localStorage.getItem(OPEN_KEY) === "1"; } catch (_) { /* storage may be off */ }
      if (wanted || location.hash === "#connectbot") this.open();
      await this.catchUp().catch(() => {});
      this.unread = 0;
      this.showBadge();
      this.listen();
    }

    /** Live push over Server-Sent Events; while it is down, polling ?after= fills in. */
    listen() {
      if (!window.EventSource) { this.poll(true); return; }
      const url = `${BASE}/api/chat/stream?token=${encodeURIComponent(this.token || "")}&after=${this.lastId}`;
      const stream = new EventSource(url);
      this.stream = stream;
      stream.addEventListener("message", (e) => { try { this.render(JSON.parse(e.data)); } catch (_) { /* a broken event is skipped */ } });
      // Opened or reopened: stop polling and fetch what the gap may have held (the ids keep it single).
      stream.addEventListener("open", () => { this.refusals = 0; this.poll(false); this.catchUp().catch(() => {}); });
      stream.addEventListener("error", () => {
        this.poll(true);
        if (stream.readyState === EventSource.CLOSED) {
          // The server refused the stream (an expired identity after a long day or a restart): poll, get a
          // fresh identity and open it again, at once the first time, then every 15 s.
          this.refusals = (this.refusals || 0) + 1;
          setTimeout(async () => {
            if (this.stream !== stream) return;
            if (this.canRefresh()) { try { await this.identity(true); } catch (_) { /* keep polling */ } }
            this.listen();
          }, this.refusals === 1 ? 500 : 15000);
        }
      });
    }

    poll(on) {
      if (!on) { clearInterval(this.pollTimer); this.pollTimer = null; return; }
      if (this.pollTimer) return;
      this.pollTimer = setInterval(() => {
        this.catchUp().catch(() => {});
      }, POLL_MS);
    }
  }

  if (!customElements.get(TAG)) customElements.define(TAG, ConnectbotChat);
  const mount = () => { if (!document.querySelector(TAG)) document.body.append(document.createElement(TAG)); };
  if (document.body) mount(); else document.addEventListener("DOMContentLoaded", mount);
})();
