// The operator console: live map, live alert list, review, assign.
import {
  Live, api, authImage, distanceM, esc, fmtDistance, fmtDuration, guard, initLang, label, serverNowMs, syncClock, t,
  toast,
} from "./common.js";
import { HATCH_SVG, STATE_COLOURS, createMap, dockIcon, droneIcon, teamIcon } from "./map.js";
import { addReachLayer } from "./reach.js";
import { planFor } from "./suggestions.js";

const ACTIVE = ["detected", "alerted", "confirmed", "assigned", "on_scene"];
const ORDER = { alerted: 0, confirmed: 1, assigned: 2, on_scene: 3, detected: 4 };
const DRONE_COLOURS = { docked: "#34495e", idle: "#34495e", available: "#34495e", flying: "#1f6feb",
                        on_task: "#1f6feb", patrol: "#16a085", returning: "#8e44ad", offline: "#95a5a6",
                        fault: "#c0392b", failsafe: "#c0392b", unavailable: "#95a5a6", unknown: "#34495e" };

const state = {
  events: new Map(), selected: null, rejecting: null, rejectText: "", fresh: new Set(),
  plans: new Map(), details: new Map(), drones: [], tasks: [], tracks: new Map(),
};
let map, eventLayer, groundLayer, droneLayer, routeLayer, trackLayer;
const eventMarkers = new Map();

const user = guard(["operator", "admin"]);
if (user) start();

async function start() {
  document.body.insertAdjacentHTML("afterbegin", HATCH_SVG);
  initLang();
  ({ map } = await createMap("map"));
  // Events are what an operator clicks: their pane sits above the drones' markers.
  map.createPane("events").style.zIndex = 650;
  trackLayer = L.layerGroup().addTo(map);
  routeLayer = L.layerGroup().addTo(map);
  eventLayer = L.layerGroup().addTo(map);
  groundLayer = L.layerGroup().addTo(map);
  droneLayer = L.layerGroup().addTo(map);
  addLegend();
  addReachLayer(map);
  await reloadEvents();
  new Live({ onMessage, onReconnect: reloadEvents });
  refreshFleet();
  setInterval(refreshFleet, 3000);
  setInterval(tick, 1000);
  document.addEventListener("keydown", onKey);
  window.addEventListener("langchange", () => { renderList(); renderMarkers(); });
}

async function reloadEvents() {
  const query = ACTIVE.map((s) => `state=${s}`).join("&");
  const page = await api(`/api/v1/events?${query}&limit=300`);
  state.events = new Map(page.items.map((e) => [e.id, e]));
  renderList();
  renderMarkers();
}

function onMessage(msg) {
  if (msg.kind === "drones") { liveDrones(msg.drones); return; }
  if (msg.kind === "dispatch" && msg.update) { dispatchNote(msg.update); return; }
  if (msg.kind === "sighting" && msg.event) {  // a further look at a known event: no new alert
    if (state.events.has(msg.event.id)) state.events.set(msg.event.id, msg.event);
    renderList();
    renderMarkers();
    return;
  }
  if (msg.kind !== "transition" || !msg.event) return;
  const event = msg.event;
  if (ACTIVE.includes(event.state)) {
    if (!state.events.has(event.id) && event.state === "alerted") state.fresh.add(event.id);
    state.events.set(event.id, event);
  } else {
    state.events.delete(event.id);
    if (state.selected === event.id) state.selected = null;
  }
  state.plans.delete(event.id);
  if (msg.to === "assigned" || msg.to === "resolved") refreshFleet();
  renderList();
  renderMarkers();
}

function sorted() {
  return [...state.events.values()].sort((a, b) =>
    (ORDER[a.state] - ORDER[b.state]) || (deadlineMs(a) - deadlineMs(b)) || (b.id - a.id));
}

function deadlineMs(e) {
  return new Date(e.alerted_at || e.detected_at).getTime() + e.target_s * 1000;
}

function clockText(e) {
  if (e.on_scene_at) {
    const s = (new Date(e.on_scene_at) - new Date(e.alerted_at || e.detected_at)) / 1000;
    return [t("reached_in", { t: fmtDuration(s) }), s > e.target_s];
  }
  const left = (deadlineMs(e) - serverNowMs()) / 1000;
  return left >= 0 ? [t("time_left", { t: fmtDuration(left) }), false] : [t("overdue", { t: fmtDuration(-left) }), true];
}

function tick() {
  for (const el of document.querySelectorAll("#alerts .clock")) {
    const e = state.events.get(Number(el.dataset.id));
    if (!e) continue;
    const [text, late] = clockText(e);
    el.textContent = text;
    el.classList.toggle("late", late);
  }
}

function renderList() {
  const list = document.getElementById("alerts");
  const events = sorted();
  document.getElementById("alert-count").textContent = events.filter((e) => e.state === "alerted").length;
  if (!events.length) {
    list.innerHTML = `<li class="empty">${esc(t("no_alerts"))}</li>`;
    return;
  }
  list.innerHTML = "";
  for (const e of events) list.append(card(e));
  state.fresh.clear();
  const sel = list.querySelector(".card.selected");
  if (sel) sel.scrollIntoView({ block: "nearest" });
}

function card(e) {
  const li = document.createElement("li");
  li.className = "card" + (state.selected === e.id ? " selected" : "") + (state.fresh.has(e.id) ? " fresh" : "");
  li.dataset.id = e.id;
  li.dataset.state = e.state;
  const [clock, late] = clockText(e);
  li.innerHTML = `
    <img class="thumb" alt="" data-thumb="${e.id}">
    <div>
      <div class="title">#${e.id} ${esc(label("type", e.type))}
        <span class="badge" style="background:${STATE_COLOURS[e.state]}">${esc(label("state", e.state))}</span>
        ${e.at_risk ? `<span class="risk">${esc(t("at_risk"))}</span>` : ""}</div>
      <div class="meta">${esc(t("confidence"))} ${Math.round(e.confidence * 100)}% ·
        ${e.candidates > 1 ? `<span class="seen" data-seen="${e.candidates}">${esc(t("seen_n", { n: e.candidates }))}</span> ·` : ""}
        ${esc(e.zone_name || t("kind_none"))}${e.zone_kind ? " (" + esc(label("kind", e.zone_kind)) + ")" : ""}</div>
      <div class="clock${late ? " late" : ""}" data-id="${e.id}">${esc(clock)}</div>
      <div class="actions"></div>
    </div>`;
  const actions = li.querySelector(".actions");
  if (e.allowed_next.includes("confirmed")) {
    actions.append(button(t("confirm") + " (C)", "ok", () => review(e.id, "confirm"), "confirm"));
  }
  if (e.allowed_next.includes("rejected")) {
    if (state.rejecting === e.id) {
      const input = document.createElement("input");
      input.placeholder = t("reject_reason");
      input.value = state.rejectText;
      input.dataset.role = "reason";
      input.oninput = () => { state.rejectText = input.value; };
      input.onkeydown = (ev) => {
        if (ev.key === "Enter") review(e.id, "reject", input.value);
        if (ev.key === "Escape") { state.rejecting = null; renderList(); }
      };
      actions.append(input, button(t("send"), "danger", () => review(e.id, "reject", input.value), "send-reject"));
      queueMicrotask(() => input.focus());
    } else {
      actions.append(button(t("reject") + " (R)", "", () => startReject(e.id), "reject"));
    }
  }
  const details = document.createElement("a");
  details.href = `/ui/event?id=${e.id}`;
  details.textContent = t("open_event");
  details.dataset.action = "details";
  actions.append(details);
  if (e.state === "confirmed" && state.selected === e.id) li.append(assignPanel(e));
  li.onclick = (ev) => {
    if (ev.target.closest("button, input, a, label")) return;
    select(e.id);
  };
  loadThumb(e.id, li.querySelector("img"));
  return li;
}

function button(text, cls, onClick, action) {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = text;
  if (cls) b.className = cls;
  b.dataset.action = action;
  b.onclick = (ev) => { ev.stopPropagation(); onClick(); };
  return b;
}

async function detail(id) {
  if (!state.details.has(id)) state.details.set(id, api(`/api/v1/events/${id}`));
  return state.details.get(id);
}

async function loadThumb(id, img) {
  try {
    const d = await detail(id);
    const snap = d.evidence.find((x) => x.kind === "snapshot");
    if (snap) img.src = await authImage(snap.url);
  } catch { /* a missing thumbnail is not worth a message */ }
}

function select(id, { pan = true } = {}) {
  state.selected = id;
  if (state.rejecting !== id) state.rejecting = null;
  renderList();
  const e = state.events.get(id);
  if (e && pan && !map.getBounds().pad(-0.1).contains([e.lat, e.lon])) map.panTo([e.lat, e.lon], { animate: false });
  const m = eventMarkers.get(id);
  if (m) m.openTooltip();
  window.dispatchEvent(new CustomEvent("flyonce:select", { detail: e }));  // video.js follows it
}

function startReject(id) {
  state.selected = id;
  state.rejecting = id;
  state.rejectText = "";
  renderList();
}

async function review(id, decision, reason) {
  if (decision === "reject" && !(reason || "").trim()) {
    toast(t("reject_reason") + "?", "error");
    return;
  }
  try {
    const e = await api(`/api/v1/events/${id}/review`, { method: "POST", json: { decision, reason: reason || null } });
    state.rejecting = null;
    if (ACTIVE.includes(e.state)) state.events.set(e.id, e); else state.events.delete(e.id);
    toast(t("done_ok", { msg: `#${id} ${label("state", e.state)}` }));
    renderList();
    renderMarkers();
  } catch (err) {
    toast(t("failed", { msg: err.message }), "error");
  }
}

function assignPanel(e) {
  const box = document.createElement("div");
  box.className = "assign";
  box.dataset.panel = "assign";
  box.textContent = t("loading");
  const cached = state.plans.get(e.id);
  const fill = (plan) => {
    box.innerHTML = "";
    const why = document.createElement("div");
    why.className = "why";
    why.textContent = plan.source === "planner" ? t("ranking_planner") : t("ranking_straight");
    const best = button(t("assign_best") + " (A)", "primary", () => assign(e, plan, true), "assign-best");
    best.disabled = !plan.drones.length && !plan.teams.length;
    box.append(best, why);
    box.append(choices("drone", t("drones"), plan.drones, (d) =>
      `${d.name} · ${fmtDistance(d.distance_m)} · ${t("eta", { t: fmtDuration(d.eta_s) })}` +
      (d.battery_pct != null ? ` · ${Math.round(d.battery_pct)}%` : ""), t("no_drone")));
    box.append(choices("team", t("teams"), plan.teams, (m) => `${m.name} · ${fmtDistance(m.distance_m)}`, t("no_team")));
    box.append(button(t("assign_selected"), "", () => assign(e, plan, false), "assign-selected"));
  };
  if (cached) fill(cached);
  else planFor(e).then((plan) => { state.plans.set(e.id, plan); fill(plan); })
    .catch((err) => { box.textContent = t("failed", { msg: err.message }); });
  return box;
}

function choices(name, title, items, describe, noneText) {
  const wrap = document.createElement("div");
  wrap.innerHTML = `<h3>${esc(title)}</h3>`;
  items.slice(0, 5).forEach((item, i) => {
    const l = document.createElement("label");
    l.innerHTML = `<input type="radio" name="${name}" value="${esc(item.id)}" ${i === 0 ? "checked" : ""}>
      <span>${esc(describe(item))}</span>${item.at_risk ? `<span class="risk">${esc(t("at_risk"))}</span>` : ""}`;
    wrap.append(l);
  });
  const none = document.createElement("label");
  none.innerHTML = `<input type="radio" name="${name}" value="" ${items.length ? "" : "checked"}><span class="muted">${esc(noneText)}</span>`;
  wrap.append(none);
  return wrap;
}

async function assign(e, plan, best) {
  let drone, team;
  if (best) { drone = plan.drones[0]; team = plan.teams[0]; }
  else {
    const panel = document.querySelector(`.card[data-id="${e.id}"] .assign`);
    const droneId = panel.querySelector('input[name="drone"]:checked')?.value;
    const teamId = panel.querySelector('input[name="team"]:checked')?.value;
    drone = plan.drones.find((d) => d.id === droneId);
    team = plan.teams.find((m) => m.id === teamId);
  }
  if (!drone && !team) { toast(t("failed", { msg: "—" }), "error"); return; }
  const body = { drone_id: drone ? drone.id : null, team_id: team ? team.id : null,
                 eta_s: drone ? Math.round(drone.eta_s) : null, at_risk: drone ? drone.at_risk : false,
                 reason: best ? "recommended (web console)" : "operator's choice (web console)" };
  try {
    if (plan.source === "planner" && drone) {
      // The dispatcher flies the drone; the event turns `assigned` (with the nearest free team)
      // once the drone accepts its first command, and the live stream brings that here.
      await api(`/api/v1/dispatch/events/${e.id}/dispatch`, { method: "POST", json: { drone_id: drone.id } });
    } else {
      const d = await api(`/api/v1/events/${e.id}/assign`, { method: "POST", json: body });
      state.events.set(d.id, d);
    }
    toast(t("done_ok", { msg: `#${e.id} → ${[body.drone_id, body.team_id].filter(Boolean).join(" + ")}` }));
    renderList();
    renderMarkers();
    refreshFleet();
  } catch (err) {
    toast(t("failed", { msg: err.message }), "error");
  }
}

function onKey(ev) {
  if (ev.target.closest("input, textarea, select") || ev.ctrlKey || ev.metaKey || ev.altKey) return;
  const events = sorted();
  const i = events.findIndex((e) => e.id === state.selected);
  const current = events[i];
  switch (ev.key.toLowerCase()) {
    case "j": case "arrowdown":
      if (events.length) select(events[Math.min(i + 1, events.length - 1)].id); break;
    case "k": case "arrowup":
      if (events.length) select(events[Math.max(i - 1, 0)].id); break;
    case "c":
      if (current && current.allowed_next.includes("confirmed")) review(current.id, "confirm"); break;
    case "r":
      if (current && current.allowed_next.includes("rejected")) { ev.preventDefault(); startReject(current.id); } break;
    case "a":
      if (current && current.state === "confirmed") {
        const plan = state.plans.get(current.id);
        if (plan) assign(current, plan, true);
        else planFor(current).then((p) => { state.plans.set(current.id, p); assign(current, p, true); });
      }
      break;
    case "enter":
      if (current) location.href = `/ui/event?id=${current.id}`; break;
    case "escape":
      state.rejecting = null; renderList(); break;
    default: return;
  }
  ev.preventDefault();
}

function renderMarkers() {
  eventLayer.clearLayers();
  eventMarkers.clear();
  for (const e of state.events.values()) {
    const m = L.circleMarker([e.lat, e.lon], {
      radius: e.state === "alerted" ? 9 : 7, color: "#fff", weight: 2, className: `event-marker event-${e.id}`, pane: "events",
      fillColor: STATE_COLOURS[e.state] || "#333", fillOpacity: 0.95,
    });
    m.bindTooltip(`#${e.id} ${label("type", e.type)} · ${label("state", e.state)}`);
    m.bindPopup(() => popup(e));
    m.on("click", () => select(e.id, { pan: false }));
    m.addTo(eventLayer);
    eventMarkers.set(e.id, m);
  }
  renderRoutes();
}

function popup(e) {
  const div = document.createElement("div");
  div.innerHTML = `<b>#${e.id} ${esc(label("type", e.type))}</b><br>${esc(label("state", e.state))} ·
    ${esc(e.zone_name || "")}<br>`;
  const row = document.createElement("div");
  row.className = "actions";
  row.style.cssText = "display:flex;gap:4px;margin-top:6px";
  if (e.allowed_next.includes("confirmed")) row.append(button(t("confirm"), "ok", () => { map.closePopup(); review(e.id, "confirm"); }, "map-confirm"));
  if (e.allowed_next.includes("rejected")) row.append(button(t("reject"), "", () => { map.closePopup(); startReject(e.id); }, "map-reject"));
  const a = document.createElement("a");
  a.href = `/ui/event?id=${e.id}`;
  a.textContent = t("open_event");
  row.append(a);
  div.append(row);
  return div;
}

/** Drone states pushed by the dispatcher (about once a second) replace polling GET /drones. */
function liveDrones(drones) {
  state.liveDronesAt = Date.now();
  state.drones = drones;
  drawDrones();
}

function dispatchNote(update) {
  if (["unserved", "replaced"].includes(update.kind)) {
    toast(`#${update.incident_id} ${update.kind}: ${update.reason || ""}`, update.kind === "unserved" ? "error" : "ok");
  }
}

async function refreshFleet() {
  const live = Date.now() - (state.liveDronesAt || 0) < 5000;
  try {
    let config, drones;
    [drones, state.tasks, config, state.teams] = await Promise.all(
      [live ? null : api("/api/v1/drones"), api("/api/v1/tasks"), api("/api/v1/map/config"), api("/api/v1/teams")]);
    if (drones) state.drones = drones;
    syncClock(config.now);
  } catch { return; }
  drawDrones();
}

// Drone markers move in place (live states come about once a second): recreating them would
// close the tooltip an operator is reading.
const droneMarkers = new Map();

function drawDrones() {
  groundLayer.clearLayers();
  for (const m of state.teams || []) {
    L.marker([m.lat, m.lon], { icon: teamIcon(), keyboard: false })
      .bindTooltip(`${esc(t("team_marker", { name: m.name }))} · ${esc(m.status)}`).addTo(groundLayer);
  }
  const docks = new Set();
  const seen = new Set();
  for (const d of state.drones) {
    const key = `${d.dock_lat},${d.dock_lon}`;
    if (d.dock_lat != null && !docks.has(key)) {
      docks.add(key);
      L.marker([d.dock_lat, d.dock_lon], { icon: dockIcon(), interactive: false }).addTo(groundLayer);
    }
    const lat = d.lat ?? d.dock_lat, lon = d.lon ?? d.dock_lon;
    if (lat == null || lon == null) continue;  // never seen and no dock: nothing to draw
    const track = state.tracks.get(d.id) || [];
    const last = track[track.length - 1];
    // GPS noise on a parked drone is not a track: keep points a few metres apart.
    if (!last || distanceM(last[0], last[1], lat, lon) > 3) track.push([lat, lon]);
    if (track.length > 300) track.shift();
    state.tracks.set(d.id, track);
    const heading = d.heading_deg ?? headingOf(track);
    const task = activeTask(d.id) || (d.event_id != null ? { event_id: d.event_id } : null);
    const tip = `${esc(d.name || d.id)}<br>${t("battery")} ${d.battery_pct != null ? Math.round(d.battery_pct) + "%" : "–"} ·
      ${t("mode")} ${d.mode || "–"} · ${t("status")} ${d.status}` + (task ? `<br>${t("task")} #${task.event_id}` : "");
    const icon = droneIcon(heading, DRONE_COLOURS[d.status] || "#1f6feb");
    const look = `${Math.round(heading)}|${d.status}`;
    let marker = droneMarkers.get(d.id);
    if (!marker) {
      marker = L.marker([lat, lon], { icon }).bindTooltip(tip).addTo(droneLayer);
      droneMarkers.set(d.id, marker);
    } else {
      marker.setLatLng([lat, lon]);
      marker.setTooltipContent(tip);
      if (marker.look !== look) marker.setIcon(icon);
    }
    marker.look = look;
    seen.add(d.id);
  }
  for (const [id, marker] of droneMarkers) {
    if (!seen.has(id)) { marker.remove(); droneMarkers.delete(id); }
  }
  renderRoutes();
}

function activeTask(droneId) {
  return state.tasks.find((x) => x.drone_id === droneId && !["done", "cancelled"].includes(x.state));
}

function headingOf(track) {
  if (track.length < 2) return NaN;
  const [a, b] = track.slice(-2);
  return (Math.atan2((b[1] - a[1]) * Math.cos(b[0] * Math.PI / 180), b[0] - a[0]) * 180 / Math.PI + 360) % 360;
}

function renderRoutes() {
  if (!routeLayer || !trackLayer) return;
  routeLayer.clearLayers();
  trackLayer.clearLayers();
  for (const [, track] of state.tracks) {
    if (track.length > 1) L.polyline(track, { color: "#1f6feb", weight: 2, opacity: 0.6, className: "track" }).addTo(trackLayer);
  }
  for (const d of state.drones) {
    const task = activeTask(d.id) || (d.event_id != null ? { event_id: d.event_id } : null);
    const e = task && state.events.get(task.event_id);
    if (!e) continue;
    const from = [d.lat ?? d.dock_lat, d.lon ?? d.dock_lon];
    if (from[0] == null) continue;
    const path = d.route ? d.route.map((p) => [p.lat ?? p[0], p.lon ?? p[1]]) : [from, [e.lat, e.lon]];
    L.polyline(path, { color: "#1f6feb", weight: 3, dashArray: "6 6", className: "route" }).addTo(routeLayer);
  }
}

function addLegend() {
  const legend = L.control({ position: "bottomleft" });
  legend.onAdd = () => {
    const div = L.DomUtil.create("div", "legend");
    const paint = () => {
      div.innerHTML = ["alerted", "confirmed", "assigned", "on_scene"].map((s) =>
        `<i style="background:${STATE_COLOURS[s]}"></i>${esc(label("state", s))}`).join("<br>") +
        `<br>➤ ${esc(t("drones"))}<br><b style="color:#d35400">队</b> ${esc(t("teams"))}<br><b>H</b> ${esc(t("dock"))}` +
        `<br><span style="color:#c0392b">▨</span> ${esc(label("kind", "no_fly"))}`;
    };
    paint();
    window.addEventListener("langchange", paint);
    return div;
  };
  legend.addTo(map);
}
