/* The support console's live pages: plain JavaScript, no build step, loaded from /console/live.js.

   The page names its stream and its words on one element:
     <p id="live-status" data-events="/console/events?c=7" data-poll="5" data-say-live="..." data-say-polling="...">
   While the stream (GET /console/events, Server-Sent Events) is up, each "changed" or "resync" event makes
   the page read itself again (the same address, so the same filters and the same sign-in) and swap in
   what differs, by id:
     data-live="replace"  the element is replaced when its content changed (queue tables, facts, timeline)
     data-live="append"   children with a data-id not shown yet are appended (the transcript)
     data-live="keep"     replaced only when its data-signature changed (the action forms: text being typed
                          stays, and is carried into the new forms)
   While the stream is down the page reads itself every data-poll seconds, and goes back to the stream when
   it answers again. A read that is sent to sign-in (the session ended) reloads the page, which shows why. */
(() => {
  "use strict";
  const status = document.getElementById("live-status");
  if (!status || !window.EventSource || !window.fetch) return;  // the page works without it, by reloading
  const eventsUrl = status.dataset.events;
  const pollMs = Math.max(1, Number(status.dataset.poll) || 5) * 1000;
  let source = null;
  let pollTimer = null;
  let reopenTimer = null;
  let soonTimer = null;
  let reading = false;
  let readAgain = false;
  let wasDown = false;

  function show(state) {  // "live" | "polling": the words are the page's own (data-say-live, data-say-polling)
    status.dataset.state = state;
    status.textContent = state === "live" ? status.dataset.sayLive : status.dataset.sayPolling;
  }

  function typedText(root) {
    const typed = new Map();
    for (const field of root.querySelectorAll("textarea, input[type=text], select")) {
      const form = field.closest("form");
      if (form) typed.set(form.getAttribute("action") + " " + field.name, field.value);
    }
    return typed;
  }

  function carryTyped(typed, root) {
    for (const field of root.querySelectorAll("textarea, input[type=text], select")) {
      const form = field.closest("form");
      const value = form && typed.get(form.getAttribute("action") + " " + field.name);
      if (value) field.value = value;
    }
  }

  function apply(fresh) {
    for (const here of document.querySelectorAll("[data-live]")) {
      if (!here.id) continue;
      const there = fresh.getElementById(here.id);
      if (!there) continue;
      const how = here.dataset.live;
      if (how === "append") {
        const seen = new Set(Array.from(here.children, (item) => item.dataset.id));
        for (const item of Array.from(there.children)) {
          if (!seen.has(item.dataset.id)) here.append(document.importNode(item, true));
        }
      } else if (how === "keep") {
        if (there.dataset.signature !== here.dataset.signature) {
          const typed = typedText(here);
          const replacement = document.importNode(there, true);
          carryTyped(typed, replacement);
          here.replaceWith(replacement);
        }
      } else if (here.innerHTML !== there.innerHTML) {
        here.replaceWith(document.importNode(there, true));
      }
    }
  }

  async function read() {
    if (reading) { readAgain = true; return; }
    reading = true;
    try {
      do {
        readAgain = false;
        const answer = await fetch(location.href, {redirect: "manual", cache: "no-store", credentials: "same-origin",
                                                   headers: {"Accept": "text/html"}});
        if (answer.type === "opaqueredirect" || answer.status === 401 || answer.status === 403) {
          location.reload();  // sent to sign-in: the reload shows the page that says why
          return;
        }
        if (!answer.ok) break;
        apply(new DOMParser().parseFromString(await answer.text(), "text/html"));
        document.dispatchEvent(new CustomEvent("console:updated"));
      } while (readAgain);
    } catch (_) {
      // Offline or the server is restarting: the next event or poll reads again.
    } finally {
      reading = false;
    }
  }

  function readSoon() {  // a burst of events is one read
    if (soonTimer === null) soonTimer = setTimeout(() => { soonTimer = null; read(); }, 150);
  }

  function startPolling() {
    if (pollTimer !== null) return;
    wasDown = true;
    show("polling");
    pollTimer = setInterval(read, pollMs);
  }

  function stopPolling() {
    if (pollTimer !== null) clearInterval(pollTimer);
    pollTimer = null;
  }

  function open() {
    clearTimeout(reopenTimer);
    source = new EventSource(eventsUrl);
    source.addEventListener("open", () => {
      stopPolling();
      show("live");
      if (wasDown) readSoon();  // whatever changed while the stream was down
      wasDown = false;
    });
    source.addEventListener("changed", readSoon);
    source.addEventListener("resync", readSoon);
    source.addEventListener("error", () => {
      startPolling();
      if (source.readyState === EventSource.CLOSED) {  // refused (not an event stream): try again later
        source.close();
        read();
        reopenTimer = setTimeout(open, pollMs * 2);
      }
    });
  }

  open();
})();
