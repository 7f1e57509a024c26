// The operator console: live map, live alert list, review, assign.
import {
  ApiError, Live, api, authImage, distanceM, esc, fmtDuration, fmtTime, guard, initLang, label, serverNowMs,
  syncClock, t, toast,
} from "./common.js";
import { addLabels } from "./i18n.js";
import { DOCK_SVG, DRONE_SVG, HATCH_SVG, STATE_COLOURS, TEAM_SVG, createMap, dockIcon, droneIcon, teamIcon } from "./map.js";
import { markedImage } from "./boxedit.js";
import * as operate from "./operate.js";
import { addReachLayer } from "./reach.js";

addLabels({
  open_count: ["{n} 件", "{n} open"], to_review: ["{n} 待审核", "{n} to review"],
  fleet: ["机队", "Fleet"], fleet_linked: ["{n}/{m} 在线", "{n} of {m} linked"],
  link: ["链路", "link"], last_heard: ["最后联系", "last heard"],
  link_ok: ["在线", "linked"], link_lost: ["失联", "lost"], link_none: ["未接入", "no link"],
  banner_no_fleet: ["无人机未接入：服务没有连接机队（设置 FLYONCE_FLEET_FILE），下方为最后记录的状态。",
                    "No drone link: the service has no fleet connected (set FLYONCE_FLEET_FILE); the states below are the last stored."],
  banner_lost: ["{n} 架无人机失联：{names}", "{n} drone(s) unreachable: {names}"],
  banner_none: ["没有登记任何无人机", "No drones registered"],
  assign_choose: ["选择…", "Choose…"],
});

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
  window.addEventListener("langchange", () => { renderList(); renderMarkers(); renderFleet(); });
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
  operate.forget(event.id);
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
  // The badge counts the cards listed beside it; how many wait for review is said apart.
  const count = document.getElementById("alert-count");
  count.textContent = events.length;
  count.title = t("open_count", { n: events.length });
  const toReview = events.filter((e) => e.state === "alerted").length;
  const pending = document.getElementById("review-count");
  pending.textContent = toReview ? t("to_review", { n: toReview }) : "";
  pending.dataset.n = toReview;
  if (!events.length) {
    list.innerHTML = `<li class="empty">${esc(t("no_alerts"))}</li>`;
    return;
  }
  list.innerHTML = "";
  if (thumbObserver) thumbObserver.disconnect();  // the old cards are gone; the new ones observe afresh
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
  if (e.state === "confirmed") {
    actions.append(button(t("assign_best") + " (A)", "primary", () => assignBest(e), "assign-best"));
    if (state.selected !== e.id) actions.append(button(t("assign_choose"), "", () => select(e.id), "assign-choose"));
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
  thumbWhenSeen(e.id, li.querySelector("img"));
  return li;
}

const button = operate.button;

async function detail(id) {
  if (!state.details.has(id)) state.details.set(id, api(`/api/v1/events/${id}`));
  return state.details.get(id);
}

// A thumbnail costs a request for the event's detail: only cards scrolled into view ask for it,
// so a console opened on hundreds of open events does not queue hundreds of requests ahead of
// the fleet's state.
const thumbObserver = "IntersectionObserver" in window ? new IntersectionObserver((entries) => {
  for (const entry of entries) {
    if (!entry.isIntersecting) continue;
    thumbObserver.unobserve(entry.target);
    loadThumb(Number(entry.target.dataset.thumb), entry.target);
  }
}, { rootMargin: "200px" }) : null;

function thumbWhenSeen(id, img) {
  if (thumbObserver) thumbObserver.observe(img); else loadThumb(id, img);
}

async function loadThumb(id, img) {
  try {
    const d = await detail(id);
    const snap = d.evidence.find((x) => x.kind === "snapshot");
    if (!snap) return;
    const src = await authImage(snap.url);
    // the snapshot is the camera's frame, unmarked: the detector's box is drawn on the thumbnail
    const first = d.all_sightings[0];
    img.src = first && first.evidence_id === snap.id && first.box_xyxy ? await markedImage(src, first.box_xyxy) : src;
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
  try {
    const e = await operate.review(id, decision, reason);
    state.rejecting = null;
    if (ACTIVE.includes(e.state)) {
      state.events.set(e.id, e);
      state.selected = e.id;  // a confirmed card opens its ranked drones and teams at once
    } else state.events.delete(e.id);
    renderList();
    renderMarkers();
  } catch (err) {
    toast(t("failed", { msg: err.message }), "error");
  }
}

function assignPanel(e) {
  return operate.assignPanel(e, assigned);
}

async function assignBest(e) {
  try {
    assigned(await operate.assignBest(e));
  } catch (err) {
    toast(t("failed", { msg: err.message }), "error");
  }
}

function assigned(event) {
  if (event) {
    if (ACTIVE.includes(event.state)) state.events.set(event.id, event); else state.events.delete(event.id);
  }
  renderList();
  renderMarkers();
  refreshFleet();
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
      if (current && current.state === "confirmed") assignBest(current);
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
  if (e.state === "confirmed") row.append(button(t("assign_best"), "primary", () => { map.closePopup(); return assignBest(e); }, "map-assign-best"));
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
  state.fleetLinked = true;
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
    let config, drones = null;
    [drones, state.tasks, config, state.teams] = await Promise.all(
      [live ? null : fleetDrones(), api("/api/v1/tasks"), api("/api/v1/map/config"), api("/api/v1/teams")]);
    if (drones) state.drones = drones;
    syncClock(config.now);
  } catch { return; }
  drawDrones();
}

/** The dispatcher's live view of the drones (link, mode, last heartbeat); without a connected
 * fleet (503) the registry's last stored states, and the banner says there is no link. */
async function fleetDrones() {
  try {
    const drones = await api("/api/v1/dispatch/drones");
    state.fleetLinked = true;
    return drones;
  } catch (err) {
    if (!(err instanceof ApiError) || ![404, 503].includes(err.status)) throw err;
    state.fleetLinked = false;
    return api("/api/v1/drones");
  }
}

function linkOf(d) {
  if (!state.fleetLinked) return "none";
  return d.status === "offline" ? "lost" : "ok";
}

/** The fleet panel (each drone's link, mode, battery, task, last heard) and the banner. */
function renderFleet() {
  const drones = [...state.drones].sort((a, b) => String(a.id).localeCompare(String(b.id)));
  const body = document.querySelector("#fleet-table tbody");
  body.innerHTML = drones.map((d) => {
    const link = linkOf(d);
    const task = activeTask(d.id) || (d.event_id != null ? { event_id: d.event_id } : null);
    const heard = d.last_heartbeat_at || d.updated_at;
    return `<tr data-drone="${esc(d.id)}" data-link="${link}">
      <td title="${esc(d.id)}">${esc(d.name || d.id)}</td><td><i class="dot"></i>${esc(t(`link_${link}`))}</td>
      <td>${esc(d.mode || "–")}</td><td>${d.battery_pct != null ? Math.round(d.battery_pct) + "%" : "–"}</td>
      <td>${task ? `#${esc(task.event_id)}` : "–"}</td><td>${esc(heard ? fmtTime(heard).slice(11) : "–")}</td></tr>`;
  }).join("");
  const linked = drones.filter((d) => linkOf(d) === "ok").length;
  document.getElementById("fleet-summary").textContent = t("fleet_linked", { n: linked, m: drones.length });
  const banner = document.getElementById("fleet-banner");
  const lost = drones.filter((d) => linkOf(d) === "lost");
  let text = "";
  if (!drones.length) text = t("banner_none");
  else if (state.fleetLinked === false) text = t("banner_no_fleet");
  else if (lost.length) text = t("banner_lost", { n: lost.length, names: lost.map((d) => d.name || d.id).join(", ") });
  banner.textContent = text;
  banner.hidden = !text;
  banner.dataset.reason = !drones.length ? "none" : state.fleetLinked === false ? "no_fleet" : lost.length ? "lost" : "";
}

// Drone markers move in place (live states come about once a second): recreating them would
// close the tooltip an operator is reading.
const droneMarkers = new Map();

function drawDrones() {
  renderFleet();
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
        `<br>${DRONE_SVG("#1f6feb")} ${esc(t("drones"))}<br>${TEAM_SVG.replace('width="18" height="18"', 'width="14" height="14"')} ${esc(t("teams"))}` +
        `<br>${DOCK_SVG} ${esc(t("dock"))}`;
    };
    paint();
    window.addEventListener("langchange", paint);
    return div;
  };
  legend.addTo(map);
}
