// The demo's identity: the embedded default hands out development tokens; a host app signs its own.
const user = localStorage.getItem("connectbot-user") || ("guest-" + Math.random().toString(36).slice(2, 10));
localStorage.setItem("connectbot-user", user);
const org = "demo";
let token = null;
let after = 0;
const log = document.getElementById("log");

async function signIn() {
  const r = await fetch("/api/chat/dev-token", {method: "POST", headers: {"Content-Type": "application/json"},
    body: JSON.stringify({user, org})});
  token = r.ok ? (await r.json()).token : null;
}

async function api(path, options) {
  if (!token) await signIn();
  const call = () => fetch(path, {...(options || {}),
    headers: {"Content-Type": "application/json", "Authorization": `Bearer ${token}`}});
  let r = await call();
  if (r.status === 401) { await signIn(); r = await call(); }
  return r;
}

function show(who, text, choices, links) {
  const div = document.createElement("div");
  div.className = who;
  div.textContent = text;
  for (const link of links || []) {
    const a = document.createElement("a");
    a.href = link.url; a.target = "_blank"; a.rel = "noopener"; a.textContent = link.label;
    div.appendChild(document.createElement("br")); div.appendChild(a);
  }
  if (choices && choices.length) {
    const row = document.createElement("div");
    row.className = "choices";
    for (const label of choices) {
      const b = document.createElement("button");
      b.textContent = label;
      b.onclick = () => send({click: label});
      row.appendChild(b);
    }
    div.appendChild(row);
  }
  log.appendChild(div);
  log.scrollTop = log.scrollHeight;
}

async function poll() {
  const r = await api(`/api/chat/messages?after=${after}`);
  if (!r.ok) return;
  for (const m of (await r.json()).messages) {
    if (m.id <= after) continue;
    after = m.id;
    show(m.from === "customer" ? "you" : "bot", m.text, m.choices, m.links);
  }
}

async function send(body) {
  const id = crypto.randomUUID ? crypto.randomUUID() : String(Date.now() + Math.random());
  const r = await api("/api/chat/messages", {method: "POST", body: JSON.stringify({client_message_id: id, ...body})});
  if (!r.ok) show("bot", (await r.json()).error || "That did not go through; please try again.");
  await poll();
}

document.getElementById("send").onsubmit = (e) => {
  e.preventDefault();
  const input = document.getElementById("text");
  if (input.value.trim()) send({text: input.value});
  input.value = "";
};
poll();
setInterval(poll, 2000);
