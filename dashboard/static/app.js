// The dashboard's core: sign-in, the API client, the live stream, the views.
// Every text from the engine reaches the page through textContent (h() below), never as HTML.

const base = document.body.dataset.base || "";
const TOKEN_KEY = "vettify.dashboard.token";
const seen = new Set(); // seq of live events already handled (a reconnect may repeat a few)
const listeners = new Map(); // event type -> [fn]
const views = new Map(); // key -> module
let lastEventId = null;
let stream = null;

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") el.className = v;
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

const timeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });
export function when(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : timeFormat.format(d);
}
export function num(x, digits = 2) {
  return x === null || x === undefined || Number.isNaN(Number(x)) ? "–" : Number(x).toFixed(digits);
}
export function empty(text) {
  return h("p", { class: "empty" }, text);
}

class ApiError extends Error {
  constructor(status, problem) {
    super((problem && (problem.detail || problem.title)) || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export async function api(path, { method = "GET", body, text = false } = {}) {
  const headers = { Authorization: `Bearer ${token()}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (res.status === 401) {
    let problem = null;
    try { problem = await res.json(); } catch { /* not JSON */ }
    signOut(problem ? problem.detail : "your session has ended");
    throw new ApiError(401, problem);
  }
  if (!res.ok) {
    let problem = null;
    try { problem = await res.json(); } catch { /* not JSON */ }
    throw new ApiError(res.status, problem);
  }
  return text ? res.text() : res.json();
}

export function on(type, fn) {
  if (!listeners.has(type)) listeners.set(type, []);
  listeners.get(type).push(fn);
}

function emit(type, data) {
  for (const fn of listeners.get(type) || []) {
    try { fn(data); } catch (err) { console.warn("view handler failed", err); }
  }
}

function setLive(state, text) {
  const el = document.getElementById("live-state");
  el.textContent = text;
  el.className = `live ${state}`;
}

// Server-sent events over fetch (EventSource cannot send the Authorization header).
async function runStream() {
  const controller = new AbortController();
  stream = controller;
  let delay = 500;
  let first = true;
  while (!controller.signal.aborted) {
    try {
      const params = new URLSearchParams();
      if (first && lastEventId === null) params.set("backfill", "50");
      const headers = { Authorization: `Bearer ${token()}`, Accept: "text/event-stream" };
      if (lastEventId !== null) headers["Last-Event-ID"] = String(lastEventId);
      const res = await fetch(`${base}/events?${params}`, { headers, signal: controller.signal, cache: "no-store" });
      if (res.status === 401) {
        let problem = null;
        try { problem = await res.json(); } catch { /* not JSON */ }
        signOut(problem ? problem.detail : "your session has ended");
        return;
      }
      if (!res.ok || !res.body) throw new Error(`live stream answered ${res.status}`);
      first = false;
      delay = 500;
      setLive("on", "live");
      await readEvents(res.body.getReader());
    } catch (err) {
      if (controller.signal.aborted) return;
      setLive("off", "reconnecting…");
    }
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay = Math.min(delay * 2, 10000);
  }
}

async function readEvents(reader) {
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      let event = "message", id = null;
      const data = [];
      for (const line of block.split("\n")) {
        if (line.startsWith(":")) continue;
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        const val = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
        if (field === "event") event = val;
        else if (field === "data") data.push(val);
        else if (field === "id") id = val;
      }
      if (id !== null && id !== "") lastEventId = Number(id);
      if (!data.length) continue;
      const payload = JSON.parse(data.join("\n"));
      if (event === "insight") {
        if (seen.has(payload.seq)) continue;
        seen.add(payload.seq);
        if (seen.size > 5000) seen.delete(seen.values().next().value);
        emit(payload.type, payload);
        emit("*", payload);
      } else if (event === "resync") {
        for (const view of views.values()) if (view.refresh) view.refresh();
      }
    }
  }
}

function signOut(reason) {
  sessionStorage.removeItem(TOKEN_KEY);
  if (stream) stream.abort();
  for (const id of ["nav", "who"]) document.getElementById(id).hidden = true;
  for (const section of document.querySelectorAll("section.view")) section.hidden = true;
  document.getElementById("sign-in").hidden = false;
  document.getElementById("sign-in-reason").textContent = reason || "";
}

async function redeemTicket(ticket) {
  const res = await fetch(`${base}/session`, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ ticket }),
  });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(body.detail || `sign-in failed (${res.status})`);
  sessionStorage.setItem(TOKEN_KEY, body.token);
}

function claims() {
  try {
    const part = token().split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(atob(part.padEnd(part.length + ((4 - (part.length % 4)) % 4), "=")));
  } catch { return {}; }
}

function show(key) {
  const known = document.getElementById(`view-${key}`) ? key : "overview";
  for (const section of document.querySelectorAll("section.view")) section.hidden = section.dataset.view !== known;
  for (const link of document.querySelectorAll("[data-view-link]")) {
    if (link.dataset.viewLink === known) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  const view = views.get(known);
  if (view && view.shown) view.shown();
}

async function start() {
  document.getElementById("sign-in").hidden = true;
  document.getElementById("nav").hidden = false;
  document.getElementById("who").hidden = false;
  const c = claims();
  document.getElementById("tenant").textContent = `${c.sub || ""} · ${c.tid || ""}/${c.mid || ""}`;
  const ctx = { api, on, h, when, num, empty, base };
  for (const section of document.querySelectorAll("section.view")) {
    try {
      const module = await import(section.dataset.script);
      views.set(section.dataset.view, module);
      await module.mount(ctx, section.querySelector(".body"));
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) return;
      section.querySelector(".body").append(h("p", { class: "alert" }, `Could not load: ${err.message}`));
    }
  }
  show(location.hash.slice(1) || "overview");
  runStream();
  document.body.dataset.ready = "true";
}

window.addEventListener("hashchange", async () => {
  if (location.hash.startsWith("#login=")) {
    // A new sign-in link opened in this tab: a fresh session, then a fresh page.
    if (await signInFromHash()) location.reload();
  } else if (token()) {
    show(location.hash.slice(1));
  }
});

document.getElementById("sign-out").addEventListener("click", () => signOut("signed out"));
document.getElementById("token-form").addEventListener("submit", (e) => {
  e.preventDefault();
  sessionStorage.setItem(TOKEN_KEY, document.getElementById("token-input").value.trim());
  document.getElementById("token-input").value = "";
  start();
});

async function signInFromHash() {
  const ticket = location.hash.slice("#login=".length);
  history.replaceState(null, "", location.pathname); // the ticket leaves the address bar and history
  try {
    await redeemTicket(ticket);
    return true;
  } catch (err) {
    signOut(err.message);
    return false;
  }
}

(async () => {
  if (location.hash.startsWith("#login=") && !(await signInFromHash())) return;
  if (token()) start();
  else signOut("");
})();
