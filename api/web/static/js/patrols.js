// The departments' patrol requests (综合飞一次): their areas on the map, the merged flights that
// served each one and what those flights found inside it, and a form to file a new request
// (the area is a zone picked from the list, or a rectangle given by two corners).
import { api, esc, fmtTime, guard, initLang, label, t, toast } from "./common.js";
import { addLabels } from "./i18n.js";
import { HATCH_SVG, STATE_COLOURS, createMap } from "./map.js";

addLabels({
  p_requests: ["巡查需求", "Patrol requests"], p_new: ["提交巡查需求", "File a patrol request"],
  p_title: ["名称", "Title"], p_department: ["部门", "Department"], p_area: ["巡查范围", "Area"],
  p_rect: ["矩形（两个角点）", "Rectangle (two corners)"],
  p_corner1: ["角点 1（纬度, 经度）", "Corner 1 (lat, lon)"],
  p_corner2: ["角点 2（纬度, 经度）", "Corner 2 (lat, lon)"],
  p_pick_map: ["在地图上点选两个角点", "Click two corners on the map"],
  p_pick_now: ["请在地图上点击角点 {n}", "Click corner {n} on the map"],
  p_looks_for: ["巡查内容", "Look for"], p_words: ["其他关键词，逗号分隔", "Other words, comma-separated"],
  p_start: ["开始", "From"], p_end: ["结束", "To"], p_per_day: ["每天次数", "Passes a day"],
  p_weekdays: ["星期", "Weekdays"], p_valid_from: ["生效日期", "Valid from"],
  p_valid_to: ["截止日期", "Valid to"], p_file: ["提交", "File request"],
  p_filed: ["已提交：{title}", "Filed: {title}"], p_withdraw: ["撤回", "Withdraw"],
  p_withdraw_q: ["撤回需求“{title}”？", "Withdraw the request \"{title}\"?"],
  p_withdrawn: ["已撤回：{title}", "Withdrawn: {title}"],
  p_flights: ["执行航班", "Flights"], p_findings: ["发现的问题", "Findings"],
  p_when: ["时间", "When"], p_drone: ["无人机", "Drone"], p_state: ["状态", "State"],
  p_shared: ["合并", "Shared with"], p_alone: ["单独", "alone"],
  p_no_requests: ["暂无巡查需求", "No patrol requests"],
  p_no_flights: ["尚未排入航班", "No flight planned yet"],
  p_no_findings: ["暂无发现", "Nothing found"],
  p_window: ["{start}–{end}，{days}，每天 {n} 次", "{start}–{end}, {days}, {n} a day"],
  p_need_corners: ["请填写两个角点，或选择一个区域", "Give two corners, or pick a zone"],
  pstate_planned: ["待飞", "planned"], pstate_flying: ["飞行中", "flying"],
  pstate_done: ["已完成", "done"], pstate_failed: ["失败", "failed"],
  pstate_cancelled: ["已取消", "cancelled"],
  wd_mon: ["一", "Mon"], wd_tue: ["二", "Tue"], wd_wed: ["三", "Wed"], wd_thu: ["四", "Thu"],
  wd_fri: ["五", "Fri"], wd_sat: ["六", "Sat"], wd_sun: ["日", "Sun"],
});

const WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const PALETTE = ["#1f6feb", "#d35400", "#16a085", "#8e44ad", "#c0392b", "#2c3e50", "#b7950b"];
const user = guard(["department", "operator", "admin", "evaluator"]);
const mayFile = user && ["department", "operator", "admin"].includes(user.role);
let map, layers, requests = [], selected = null, zoneFeatures = [], picking = 0;

if (user) start();

async function start() {
  document.body.insertAdjacentHTML("afterbegin", HATCH_SVG);
  initLang();
  ({ map } = await createMap("map", { zonesInteractive: false }));
  layers = {
    requests: L.featureGroup().addTo(map), flights: L.featureGroup().addTo(map),
    findings: L.featureGroup().addTo(map), draft: L.featureGroup().addTo(map),
  };
  map.on("click", onMapClick);
  if (mayFile) await setUpForm();
  document.getElementById("withdraw").onclick = withdraw;
  await loadRequests();
  window.addEventListener("langchange", () => { renderList(); if (selected) showDetail(selected.id); });
}

// ---------------------------------------------------------------- requests

async function loadRequests() {
  try {
    requests = await api("/api/v1/patrol-requests");
  } catch (err) {
    toast(t("failed", { msg: err.message }), "error");
    return;
  }
  renderList();
  layers.requests.clearLayers();
  requests.forEach((r, k) => {
    L.geoJSON(r.area, { style: { color: colour(k), weight: 2, fillOpacity: 0.15 } })
      .bindTooltip(`${r.title} · ${r.department}`).on("click", () => showDetail(r.id))
      .addTo(layers.requests);
  });
  if (requests.length && !selected) map.fitBounds(layers.requests.getBounds().pad(0.3), { animate: false });
}

function colour(k) { return PALETTE[k % PALETTE.length]; }

function windowText(r) {
  const days = r.weekdays.length === 7 ? (t("all")) : r.weekdays.map((d) => t(`wd_${d}`)).join(" ");
  return t("p_window", { start: r.window.start, end: r.window.end, days, n: r.per_day });
}

function renderList() {
  const list = document.getElementById("requests");
  list.innerHTML = "";
  if (!requests.length) {
    list.innerHTML = `<li class="empty">${esc(t("p_no_requests"))}</li>`;
    return;
  }
  requests.forEach((r, k) => {
    const li = document.createElement("li");
    li.dataset.id = r.id;
    li.style.borderLeft = `4px solid ${colour(k)}`;
    if (selected && selected.id === r.id) li.className = "selected";
    li.innerHTML = `<div class="title">${esc(r.title)}</div>
      <div class="meta">${esc(r.department)} · ${esc(windowText(r))}</div>
      <div class="meta">${esc(r.looks_for.map((x) => label("type", x)).join("、"))}</div>`;
    li.onclick = () => showDetail(r.id);
    list.append(li);
  });
}

async function showDetail(id) {
  let detail;
  try {
    detail = await api(`/api/v1/patrol-requests/${id}`);
  } catch (err) {
    toast(t("failed", { msg: err.message }), "error");
    return;
  }
  selected = detail;
  renderList();
  const box = document.getElementById("detail");
  box.hidden = false;
  document.getElementById("detail-title").textContent = detail.title;
  document.getElementById("detail-meta").textContent = `${detail.department} · ${windowText(detail)}`;
  document.getElementById("withdraw").hidden = !mayFile || detail.status !== "active";
  const body = document.querySelector("#flights tbody");
  body.innerHTML = "";
  layers.flights.clearLayers();
  layers.findings.clearLayers();
  if (!detail.flights.length) {
    body.innerHTML = `<tr class="empty"><td colspan="4" class="muted">${esc(t("p_no_flights"))}</td></tr>`;
  }
  for (const f of detail.flights) {
    const others = [...new Set(f.serves.filter((s) => s.request_id !== detail.id).map((s) => s.department))];
    const tr = document.createElement("tr");
    tr.dataset.id = f.id;
    tr.innerHTML = `<td>${esc(fmtTime(f.started_at || f.planned_start))}</td><td>${esc(f.drone_id || "–")}</td>
      <td><span class="badge state-${esc(f.state)}">${esc(t(`pstate_${f.state}`))}</span>
        ${f.reason ? `<div class="muted">${esc(f.reason)}</div>` : ""}</td>
      <td>${esc(others.length ? others.join("、") : t("p_alone"))}</td>`;
    body.append(tr);
    // A department is shown the path inside its own areas only: a MultiLineString.
    const lines = f.path.type === "MultiLineString" ? f.path.coordinates : [f.path.coordinates];
    L.polyline(lines.map((line) => line.map(([lon, lat]) => [lat, lon])),
      { color: "#15202b", weight: 2, dashArray: f.state === "planned" ? "6 4" : null, opacity: 0.8 })
      .bindTooltip(`${f.drone_id} · ${fmtTime(f.planned_start)}`).addTo(layers.flights);
  }
  const found = document.getElementById("findings");
  found.innerHTML = "";
  if (!detail.findings.length) found.innerHTML = `<li class="empty">${esc(t("p_no_findings"))}</li>`;
  for (const e of detail.findings) {
    const li = document.createElement("li");
    li.dataset.id = e.id;
    li.innerHTML = `<span class="badge" style="background:${STATE_COLOURS[e.state] || "#7f8c8d"}">${esc(label("state", e.state))}</span>
      ${esc(label("type", e.type))} <span class="meta">${esc(fmtTime(e.detected_at))}${e.zone_name ? " · " + esc(e.zone_name) : ""}</span>`;
    found.append(li);
    L.circleMarker([e.lat, e.lon], { radius: 7, color: "#fff", weight: 2, fillOpacity: 1,
      fillColor: STATE_COLOURS[e.state] || "#7f8c8d" }).bindTooltip(label("type", e.type)).addTo(layers.findings);
  }
  const area = L.geoJSON(detail.area);
  map.fitBounds(area.getBounds().extend(layers.flights.getBounds().isValid() ? layers.flights.getBounds() : area.getBounds()).pad(0.2), { animate: false });
}

async function withdraw() {
  if (!selected || !confirm(t("p_withdraw_q", { title: selected.title }))) return;
  try {
    await api(`/api/v1/patrol-requests/${selected.id}`, { method: "DELETE" });
    toast(t("p_withdrawn", { title: selected.title }));
    selected = null;
    document.getElementById("detail").hidden = true;
    layers.flights.clearLayers();
    layers.findings.clearLayers();
    await loadRequests();
  } catch (err) {
    toast(t("failed", { msg: err.message }), "error");
  }
}

// ---------------------------------------------------------------- filing

async function setUpForm() {
  const form = document.getElementById("request-form");
  form.hidden = false;
  document.getElementById("department-row").hidden = user.role === "department";
  const days = document.getElementById("weekdays");
  for (const d of WEEKDAYS) {
    days.insertAdjacentHTML("beforeend", `<label class="check"><input type="checkbox" name="weekday" value="${d}" checked><span data-i18n="wd_${d}"></span></label>`);
  }
  initLang();
  zoneFeatures = (await api("/api/v1/map/zones")).features
    .filter((f) => f.properties.kind !== "no_fly" && f.geometry.type === "Polygon");
  const select = document.getElementById("zone");
  for (const f of zoneFeatures.sort((a, b) => a.properties.name.localeCompare(b.properties.name))) {
    select.append(new Option(`${f.properties.name} · ${label("kind", f.properties.kind)}`, f.properties.id));
  }
  select.onchange = () => {
    document.getElementById("corners").hidden = !!select.value;
    drawDraft();
  };
  for (const id of ["corner1", "corner2"]) document.getElementById(id).oninput = drawDraft;
  document.getElementById("pick-corners").onclick = () => { picking = 1; toast(t("p_pick_now", { n: 1 })); };
  form.onsubmit = (e) => { e.preventDefault(); file(); };
}

function onMapClick(e) {
  if (!picking) return;
  const value = `${e.latlng.lat.toFixed(6)}, ${e.latlng.lng.toFixed(6)}`;
  document.getElementById(`corner${picking}`).value = value;
  picking = picking === 1 ? 2 : 0;
  if (picking) toast(t("p_pick_now", { n: 2 }));
  drawDraft();
}

function corner(id) {
  const parts = document.getElementById(id).value.split(/[,\s]+/).filter(Boolean).map(Number);
  return parts.length === 2 && parts.every(Number.isFinite) ? parts : null;
}

/** The GeoJSON area the form describes, or null. */
function draftArea() {
  const zoneId = document.getElementById("zone").value;
  if (zoneId) return zoneFeatures.find((f) => f.properties.id === zoneId).geometry;
  const a = corner("corner1"), b = corner("corner2");
  if (!a || !b) return null;
  const [s, n] = [Math.min(a[0], b[0]), Math.max(a[0], b[0])];
  const [w, e] = [Math.min(a[1], b[1]), Math.max(a[1], b[1])];
  return { type: "Polygon", coordinates: [[[w, s], [e, s], [e, n], [w, n], [w, s]]] };
}

function drawDraft() {
  layers.draft.clearLayers();
  const area = draftArea();
  if (area) L.geoJSON(area, { style: { color: "#d68910", weight: 2, dashArray: "4 4", fillOpacity: 0.1 } }).addTo(layers.draft);
}

async function file() {
  const error = document.getElementById("form-error");
  error.textContent = "";
  const area = draftArea();
  if (!area) { error.textContent = t("p_need_corners"); return; }
  const words = document.getElementById("words").value.split(/[,，]/).map((w) => w.trim()).filter(Boolean);
  const types = [...document.querySelectorAll('input[name="type"]:checked')].map((i) => i.value);
  const body = {
    title: document.getElementById("title").value.trim(),
    area,
    looks_for: [...types, ...words],
    window: { start: document.getElementById("start").value, end: document.getElementById("end").value },
    weekdays: [...document.querySelectorAll('input[name="weekday"]:checked')].map((i) => i.value),
    per_day: Number(document.getElementById("per-day").value),
  };
  if (user.role !== "department") body.department = document.getElementById("department").value.trim();
  const from = document.getElementById("valid-from").value, to = document.getElementById("valid-to").value;
  if (from) body.valid_from = from;
  if (to) body.valid_to = to;
  try {
    const made = await api("/api/v1/patrol-requests", { method: "POST", json: body });
    toast(t("p_filed", { title: made.title }));
    layers.draft.clearLayers();
    document.getElementById("title").value = "";
    await loadRequests();
    await showDetail(made.id);
  } catch (err) {
    error.textContent = err.message;  // the service says what to fix
  }
}
