// The ground team's phone page: its own tasks, newest first, with distance and direction;
// accept, check in on scene, resolve with a disposition, a note and a photo from the camera;
// and each task's code (亮码) as a QR the person inspected can scan to see who acted and why.
import {
  Live, api, authImage, bearingDeg, compass, distanceM, esc, fmtDistance, fmtTime, guard, initLang, label,
  setDisplayTz, t, toast,
} from "./common.js";
import { amapMarkerUrl } from "./chinacoords.js";

const DISPOSITIONS = ["persuaded", "removed", "penalised", "referred", "not_found"];
// The disposition the offence rules suggest (api/lifecycle/offences.py), preselected in the resolve form.
const SUGGESTED = { warning: "persuaded", penalty: "penalised", referral: "referred" };
const user = guard(["ground_team"]);
let here = null;  // {lat, lon, src}
let tasks = [], events = new Map();

if (user) start();

async function start() {
  initLang();
  try { setDisplayTz((await api("/api/v1/map/config")).local_tz); } catch { /* the default zone stands */ }
  document.getElementById("who-team").textContent = `${user.username} · ${user.team_id}`;
  await locate();
  await reload();
  new Live({ onMessage: reload, onReconnect: reload });
  window.addEventListener("langchange", render);
  if (navigator.geolocation) {
    navigator.geolocation.watchPosition((p) => {
      here = { lat: p.coords.latitude, lon: p.coords.longitude, src: "src_gps" };
      reportPosition();
      render();
    }, () => {}, { enableHighAccuracy: true, maximumAge: 10000 });
  }
}

// The team's position feeds the choice of the nearest team; once every 30 s is plenty on foot.
let reportedAt = 0;
async function reportPosition() {
  if (Date.now() - reportedAt < 30000) return;
  reportedAt = Date.now();
  try {
    await api(`/api/v1/teams/${encodeURIComponent(user.team_id)}/position`,
              { method: "PUT", json: { lat: here.lat, lon: here.lon } });
  } catch (err) { console.warn("position:", err.message); }
}

async function locate() {
  try {
    const team = (await api("/api/v1/teams")).find((x) => x.id === user.team_id);
    if (team && !here) here = { lat: team.lat, lon: team.lon, src: "src_team" };
  } catch { /* distances wait for a position */ }
}

async function reload() {
  try {
    tasks = await api("/api/v1/tasks");
    const ids = [...new Set(tasks.map((x) => x.event_id))];
    const loaded = await Promise.all(ids.map((i) => api(`/api/v1/events/${i}`)));
    events = new Map(loaded.map((e) => [e.id, e]));
    render();
  } catch (err) {
    toast(t("failed", { msg: err.message }), "error");
  }
}

function render() {
  const list = document.getElementById("task-list");
  if (!tasks.length) { list.innerHTML = `<p class="muted">${esc(t("no_tasks"))}</p>`; return; }
  const open = document.activeElement && document.activeElement.closest("form");
  if (open) return;  // never wipe a form the user is filling in
  // A resolve form the user has started (a disposition picked, a note, a photo) keeps its node
  // across re-renders, even once it lost focus: a live update must not reset a choice (nor can
  // a chosen photo be put back into a new file input).
  const started = new Map([...list.querySelectorAll('form[data-form="resolve"][data-started]')]
    .map((f) => [f.dataset.event, f]));
  list.innerHTML = "";
  for (const task of tasks) {
    const e = events.get(task.event_id);
    if (e) list.append(taskCard(task, e, started));
  }
}

function taskCard(task, e, started = new Map()) {
  const div = document.createElement("article");
  div.className = "task";
  div.dataset.task = task.id;
  div.dataset.event = e.id;
  div.dataset.state = e.state;
  let where = "";
  if (here) {
    const d = distanceM(here.lat, here.lon, e.lat, e.lon);
    const b = bearingDeg(here.lat, here.lon, e.lat, e.lon);
    where = `<span class="arrow" style="transform:rotate(${b}deg)">↑</span>
      <span class="distance">${esc(t("distance_dir", { d: fmtDistance(d), dir: compass(b) }))}</span>
      <span class="muted">${esc(t("from_here", { src: t(here.src) }))}</span>`;
  }
  div.innerHTML = `
    <div class="title"><span>#${e.id} ${esc(label("type", e.type))}</span>
      <span class="badge" style="background:#3498db">${esc(label("state", e.state))}</span></div>
    <div class="muted">${esc(e.zone_name || "")} · ${esc(fmtTime(task.created_at))}</div>
    <div class="where">${where}</div>
    <div><a href="/ui/event?id=${e.id}">${esc(t("open_event"))}</a> ·
      <a href="${esc(amapMarkerUrl(e.lat, e.lon))}" data-nav="amap" rel="noreferrer">${e.lat.toFixed(5)}, ${e.lon.toFixed(5)}</a></div>
    ${task.code ? `<figure class="task-code" style="margin:8px 0;display:flex;gap:10px;align-items:center">
      <img data-qr="${task.id}" alt="${esc(t("task_code"))}" width="132" height="132" style="background:#fff">
      <figcaption><div>${esc(t("task_code"))}</div>
        <a href="/c/${encodeURIComponent(task.code)}" data-code-link rel="noreferrer" target="_blank">${esc(t("code_page"))}</a></figcaption>
    </figure>` : ""}
    <div class="buttons"></div>`;
  const qr = div.querySelector("img[data-qr]");
  if (qr) {
    authImage(`/api/v1/tasks/${task.id}/qr.svg`).then((src) => { qr.src = src; })
      .catch((err) => toast(t("failed", { msg: err.message }), "error"));
  }
  const buttons = div.querySelector(".buttons");
  const done = ["done", "cancelled"].includes(task.state);
  if (task.state === "assigned") buttons.append(btn(t("accept"), "primary", "accept", () => accept(task)));
  else if (!done) buttons.append(Object.assign(document.createElement("span"), { className: "muted", textContent: "✓ " + t("accepted") }));
  if (!done && e.allowed_next.includes("on_scene") && task.state !== "on_scene") {
    buttons.append(btn(t("check_in"), "ok", "check-in", () => checkIn(e)));
  }
  if (!done && e.allowed_next.includes("resolved")) div.append(started.get(String(e.id)) || resolveForm(e));
  return div;
}

function btn(text, cls, action, onClick) {
  const b = document.createElement("button");
  b.type = "button";
  b.className = cls;
  b.textContent = text;
  b.dataset.action = action;
  b.onclick = async () => { b.disabled = true; try { await onClick(); } finally { b.disabled = false; } };
  return b;
}

async function accept(task) {
  try {
    await api(`/api/v1/tasks/${task.id}/accept`, { method: "POST" });
    toast(t("done_ok", { msg: t("accepted") }));
  } catch (err) { toast(t("failed", { msg: err.message }), "error"); }
  await reload();
}

async function checkIn(e) {
  try {
    await api(`/api/v1/events/${e.id}/on-scene`, { method: "POST", json: { reason: "team checked in (phone)" } });
    toast(t("done_ok", { msg: label("state", "on_scene") }));
  } catch (err) { toast(t("failed", { msg: err.message }), "error"); }
  await reload();
}

function resolveForm(e) {
  const form = document.createElement("form");
  form.dataset.form = "resolve";
  form.dataset.event = e.id;
  const start = () => { form.dataset.started = "1"; };
  form.addEventListener("input", start);
  form.addEventListener("change", start);
  form.innerHTML = `
    <label>${esc(t("disposition"))}<select name="disposition" required>
      ${DISPOSITIONS.map((d) => `<option value="${d}"${d === SUGGESTED[e.suggested_disposition] ? " selected" : ""}>${esc(label("disp", d))}</option>`).join("")}</select></label>
    <label>${esc(t("note"))}<textarea name="note" rows="2" maxlength="4000"></textarea></label>
    <label>${esc(t("photo"))}<input type="file" name="photo" accept="image/*" capture="environment"></label>
    <button type="submit" class="primary" data-action="resolve">${esc(t("resolve"))}</button>`;
  form.onsubmit = async (ev) => {
    ev.preventDefault();
    const submit = form.querySelector("button");
    submit.disabled = true;
    try {
      await api(`/api/v1/events/${e.id}/resolve`, { method: "POST", form: new FormData(form) });
      toast(t("done_ok", { msg: label("state", "resolved") }));
      form.remove();
    } catch (err) {
      toast(t("failed", { msg: err.message }), "error");
    } finally {
      submit.disabled = false;
    }
    await reload();
  };
  return form;
}
