// What every page shares: the login kept in the browser, API calls, the header, the live socket.
import { applyI18n, label, lang, setLang, t } from "./i18n.js";

export { t, label };

const SESSION = "flyonce.session";
export const HOME = { operator: "/ui/console", admin: "/ui/console", evaluator: "/ui/evaluate",
                      ground_team: "/ui/team", department: "/ui/patrols" };
const NAV = [
  { href: "/ui/console", key: "nav_console", roles: ["operator", "admin"] },
  { href: "/ui/evaluate", key: "nav_evaluate", roles: ["operator", "admin", "evaluator"] },
  { href: "/ui/sites", key: "nav_sites", roles: ["operator", "admin", "evaluator"] },
  { href: "/ui/team", key: "nav_team", roles: ["ground_team"] },
  { href: "/ui/patrols", key: "nav_patrols", roles: ["department"] },
];

export function session() {
  try { return JSON.parse(localStorage.getItem(SESSION)); } catch { return null; }
}
export function saveSession(token) { localStorage.setItem(SESSION, JSON.stringify(token)); }
export function logout() { localStorage.removeItem(SESSION); location.href = "/ui/"; }

export class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

/** The JSON answer of an API call with the bearer token; ApiError carries the service's message. */
export async function api(path, { method = "GET", json, form } = {}) {
  const headers = {};
  const s = session();
  if (s) headers.Authorization = `Bearer ${s.access_token}`;
  let body;
  if (json !== undefined) { headers["Content-Type"] = "application/json"; body = JSON.stringify(json); }
  else if (form !== undefined) body = form;
  let response;
  try {
    response = await fetch(path, { method, headers, body });
  } catch (err) {
    throw new ApiError(0, lang() === "zh" ? "无法连接服务器" : "cannot reach the server");
  }
  if (response.status === 401 && s) { logout(); throw new ApiError(401, "login expired"); }
  const text = await response.text();
  const data = text ? JSON.parse(text) : null;
  if (!response.ok) throw new ApiError(response.status, (data && data.detail) || response.statusText);
  return data;
}

/** A blob: URL for an image the API serves only with the bearer token. */
const imageCache = new Map();
export async function authImage(url) {
  if (!imageCache.has(url)) {
    imageCache.set(url, (async () => {
      const r = await fetch(url, { headers: { Authorization: `Bearer ${session().access_token}` } });
      if (!r.ok) throw new ApiError(r.status, "image unavailable");
      return URL.createObjectURL(await r.blob());
    })());
  }
  return imageCache.get(url);
}

/** The logged-in session if its role may see this page; otherwise it says why and returns null. */
export function guard(roles) {
  const s = session();
  if (!s) { location.href = "/ui/?next=" + encodeURIComponent(location.pathname + location.search); return null; }
  renderHeader(s);
  if (!roles.includes(s.role)) {
    const main = document.querySelector("main");
    main.innerHTML = "";
    const p = document.createElement("p");
    p.className = "forbidden";
    p.id = "forbidden";
    p.textContent = t("forbidden_page", { role: label("role", s.role) });
    main.append(p);
    return null;
  }
  return s;
}

function renderHeader(s) {
  const header = document.querySelector("header.top");
  if (!header) return;
  header.innerHTML = `
    <span class="brand" data-i18n="app_name"></span>
    <nav></nav>
    <span id="live-status" class="live" role="status" aria-live="polite"></span>
    <span class="who"></span>
    <button type="button" id="lang" class="ghost"></button>
    <button type="button" id="logout" class="ghost" data-i18n="logout"></button>`;
  const nav = header.querySelector("nav");
  for (const item of NAV.filter((n) => n.roles.includes(s.role))) {
    const a = document.createElement("a");
    a.href = item.href;
    a.dataset.i18n = item.key;
    if (location.pathname === item.href) a.className = "current";
    nav.append(a);
  }
  const who = header.querySelector(".who");
  const paint = () => {
    who.textContent = `${s.username} · ${label("role", s.role)}${s.team_id ? " · " + s.team_id : ""}`;
    header.querySelector("#lang").textContent = t("lang_switch");
    applyI18n(document);
  };
  header.querySelector("#lang").onclick = () => setLang(lang() === "zh" ? "en" : "zh");
  header.querySelector("#logout").onclick = logout;
  window.addEventListener("langchange", paint);
  paint();
}

/** Shows a short message at the bottom of the page. */
export function toast(message, kind = "ok") {
  let box = document.getElementById("toast");
  if (!box) { box = document.createElement("div"); box.id = "toast"; document.body.append(box); }
  box.textContent = message;
  box.className = `show ${kind}`;
  clearTimeout(box._timer);
  box._timer = setTimeout(() => { box.className = ""; }, kind === "error" ? 6000 : 3000);
}

/**
 * The live alert stream: calls onMessage(msg) for every transition, reconnects with back-off
 * when the connection drops, and says so in the header. onReconnect() lets a page reload what
 * it may have missed while disconnected.
 */
export class Live {
  constructor({ onMessage, onReconnect }) {
    this.onMessage = onMessage;
    this.onReconnect = onReconnect || (() => {});
    this.delay = 1;
    this.everConnected = false;
    this.status = document.getElementById("live-status");
    this.connect();
  }

  say(key, params, cls) {
    if (!this.status) return;
    this.status.textContent = t(key, params);
    this.status.className = `live ${cls}`;
    this.status.dataset.state = cls;
  }

  connect() {
    const s = session();
    if (!s) return;
    this.say(this.everConnected ? "live_lost" : "live_connecting", { s: 0 }, "connecting");
    const proto = location.protocol === "https:" ? "wss" : "ws";
    // The token rides in the subprotocol, never the URL (URLs end up in logs); the server
    // answers "flyonce.v1".
    const ws = new WebSocket(`${proto}://${location.host}/api/v1/live`,
                             ["flyonce.v1", `bearer.${s.access_token}`]);
    this.socket = ws;
    ws.onmessage = (e) => {
      const msg = JSON.parse(e.data);
      if (msg.kind === "hello") {
        const again = this.everConnected;
        this.everConnected = true;
        this.delay = 1;
        this.say(again ? "live_back" : "live_ok", {}, "ok");
        if (again) this.onReconnect();
        return;
      }
      this.onMessage(msg);
    };
    ws.onclose = (e) => {
      if (e.code === 1008) { logout(); return; }  // the token was refused: log in again
      const wait = this.delay;
      this.delay = Math.min(this.delay * 2, 15);
      this.say("live_lost", { s: wait }, "lost");
      setTimeout(() => this.connect(), wait * 1000);
    };
  }
}

/** Great-circle distance in metres. */
export function distanceM(lat1, lon1, lat2, lon2) {
  const r = 6371008.8, rad = Math.PI / 180;
  const dLat = (lat2 - lat1) * rad, dLon = (lon2 - lon1) * rad;
  const a = Math.sin(dLat / 2) ** 2 + Math.cos(lat1 * rad) * Math.cos(lat2 * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * r * Math.asin(Math.sqrt(a));
}

/** Initial bearing in degrees clockwise from north. */
export function bearingDeg(lat1, lon1, lat2, lon2) {
  const rad = Math.PI / 180;
  const y = Math.sin((lon2 - lon1) * rad) * Math.cos(lat2 * rad);
  const x = Math.cos(lat1 * rad) * Math.sin(lat2 * rad) -
            Math.sin(lat1 * rad) * Math.cos(lat2 * rad) * Math.cos((lon2 - lon1) * rad);
  return (Math.atan2(y, x) / rad + 360) % 360;
}

export function compass(deg) {
  const zh = ["北", "东北", "东", "东南", "南", "西南", "西", "西北"];
  const en = ["N", "NE", "E", "SE", "S", "SW", "W", "NW"];
  return (lang() === "zh" ? zh : en)[Math.round(deg / 45) % 8];
}

export function fmtDistance(m) { return m < 1000 ? `${Math.round(m)} m` : `${(m / 1000).toFixed(1)} km`; }

export function fmtDuration(s) {
  if (s === null || s === undefined || Number.isNaN(s)) return "–";
  const a = Math.abs(Math.round(s));
  const m = Math.floor(a / 60), sec = a % 60;
  return m >= 60 ? `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m` : `${m}:${String(sec).padStart(2, "0")}`;
}

// One date format everywhere, in both languages (filters included): YYYY-MM-DD HH:mm:ss, 24 h,
// in the service's local time zone (FLYONCE_LOCAL_TZ, Asia/Shanghai by default), never the
// browser's: a control room and its evaluators read the same clock whatever their machines say.
let displayTz = "Asia/Shanghai";
const partsCache = new Map();
export function setDisplayTz(tz) { if (tz) displayTz = tz; }
export function displayTimeZone() { return displayTz; }

function zoneParts(ms) {
  if (!partsCache.has(displayTz)) {
    partsCache.set(displayTz, new Intl.DateTimeFormat("en-CA", {
      timeZone: displayTz, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", second: "2-digit" }));
  }
  const out = {};
  for (const p of partsCache.get(displayTz).formatToParts(new Date(ms))) out[p.type] = p.value;
  return out;
}

/** "2026-11-25 16:00:05" in the display time zone. */
export function fmtTime(iso) {
  if (!iso) return "–";
  const p = zoneParts(new Date(iso).getTime());
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}:${p.second}`;
}

/** "2026-11-25": the calendar day of `ms` in the display time zone. */
export function fmtDay(ms) {
  const p = zoneParts(ms);
  return `${p.year}-${p.month}-${p.day}`;
}

/** The display zone's UTC offset at `ms`, as "+08:00". */
export function tzOffset(ms) {
  const p = zoneParts(ms);
  const asUtc = Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour, +p.minute, +p.second);
  const minutes = Math.round((asUtc - Math.floor(ms / 1000) * 1000) / 60000);
  const a = Math.abs(minutes);
  return `${minutes >= 0 ? "+" : "-"}${String(Math.floor(a / 60)).padStart(2, "0")}:${String(a % 60).padStart(2, "0")}`;
}

/** Escapes text for HTML templates. */
export function esc(value) {
  return String(value ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

// The service's clock as seen from the browser, so countdowns follow mission time in simulation,
// where the service's clock may run faster than the wall: its rate is learnt from two samples.
const clockSync = { server: null, browser: null, rate: 1, first: null };
export function serverNowMs() {
  if (clockSync.server === null) return Date.now();
  return clockSync.server + clockSync.rate * (Date.now() - clockSync.browser);
}
export function syncClock(serverIso) {
  const server = new Date(serverIso).getTime(), browser = Date.now();
  if (clockSync.first && browser - clockSync.first.browser > 2000) {
    const rate = (server - clockSync.first.server) / (browser - clockSync.first.browser);
    clockSync.rate = rate > 0.05 && rate < 1000 ? rate : 1;
  }
  if (!clockSync.first) clockSync.first = { server, browser };
  Object.assign(clockSync, { server, browser });
}

export function initLang() {
  document.documentElement.lang = lang() === "zh" ? "zh-CN" : "en";
  applyI18n(document);
}
