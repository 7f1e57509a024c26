// The evaluator's page: closed-loop figures over a period, zone kind and zone, as charts, and a CSV export.
// Headline figures come from GET /metrics/summary; the distributions from the events themselves.
import { Live, api, esc, fmtDay, fmtDuration, guard, initLang, label, t, toast, tzOffset } from "./common.js";
import { addLabels } from "./i18n.js";
import { HATCH_SVG, createMap } from "./map.js";
import { addReachLayer } from "./reach.js";

addLabels({
  f_misses: ["超时原因", "Late arrivals: why"],
  miss_unreachable: ["机库覆盖不到", "out of reach"], miss_review: ["审核耗时", "review took too long"],
  miss_flight: ["飞行慢于计划", "flew slower than planned"], miss_planner: ["调度选择", "planner's choice"],
  miss_battery: ["电量不足", "battery"], miss_all_busy: ["无机可派", "every capable drone busy"],
  miss_unknown: ["未记录", "not recorded"], no_misses: ["无", "none"],
  c_models: ["各模型版本的准确率（操作员确认 / 已审核，全部时段）", "Precision by model version (confirmed / reviewed by an operator, all time)"],
  m_version: ["模型版本", "Model version"], m_promoted: ["启用", "Promoted"], m_events: ["事件", "Events"],
  m_confirmed: ["确认", "Confirmed"], m_rejected: ["驳回", "Rejected"], m_precision: ["准确率", "Precision"],
  m_unknown: ["未标注版本", "no version sent"],
});

const user = guard(["evaluator", "operator", "admin"]);
const charts = {};
let events = [], models = [], summary = null, hotspots = null, hot = null, hotLayer = null, timer = null;
const CSV_COLUMNS = ["id", "type", "state", "zone_id", "zone_name", "zone_kind", "lat", "lon", "confidence",
  "source", "detected_at", "alerted_at", "reviewed_at", "assigned_at", "on_scene_at", "resolved_at",
  "evaluated_at", "target_s", "response_time_s", "within_target", "time_to_resolve_s", "at_risk",
  "disposition", "reject_reason"];

if (user) start();

async function start() {
  document.body.insertAdjacentHTML("afterbegin", HATCH_SVG);
  initLang();
  Chart.defaults.animation = false;  // figures update live; animations only delay reading them
  Chart.defaults.maintainAspectRatio = false;
  // Canvas text takes no CSS: give the charts the page's font (the served CJK subset first).
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  const form = document.getElementById("filters");
  form.onsubmit = (e) => { e.preventDefault(); load(); };
  document.getElementById("export").onclick = exportCsv;
  ({ map: hot } = await createMap("hot-map", { zonesInteractive: false }));
  hotLayer = L.layerGroup().addTo(hot);
  addReachLayer(hot, { legendPosition: "bottomleft" });
  const kinds = new Set();
  const zones = (await api("/api/v1/map/zones")).features.map((f) => f.properties);
  zones.forEach((z) => kinds.add(z.kind));
  const select = document.getElementById("zone-kind");
  for (const k of [...kinds].sort()) select.append(new Option(label("kind", k), k));
  const zoneSelect = document.getElementById("zone-id");
  for (const z of zones.sort((a, b) => a.name.localeCompare(b.name))) zoneSelect.append(new Option(z.name, z.id));
  await load();
  // Figures change as events move: refresh shortly after each transition (bursts coalesce).
  new Live({ onMessage: () => { clearTimeout(timer); timer = setTimeout(load, 400); }, onReconnect: load });
  window.addEventListener("langchange", draw);
}

// The day filters read and write YYYY-MM-DD, the date format of every page, and a day is a
// day of the service's local time zone (FLYONCE_LOCAL_TZ), not the browser's.
function dayStart(day) {
  const noonUtc = Date.parse(`${day}T12:00:00Z`);
  return `${day}T00:00:00${tzOffset(noonUtc)}`;
}

function params() {
  const form = new FormData(document.getElementById("filters"));
  const q = new URLSearchParams();
  const day = /^\d{4}-\d{2}-\d{2}$/;
  const since = String(form.get("since") || "").trim(), until = String(form.get("until") || "").trim();
  if (since && day.test(since)) q.set("since", dayStart(since));
  if (until && day.test(until)) {
    const next = new Date(Date.parse(`${until}T12:00:00Z`) + 86400000);  // "until" includes the chosen day
    q.set("until", dayStart(next.toISOString().slice(0, 10)));
  }
  if (form.get("zone_kind")) q.set("zone_kind", form.get("zone_kind"));
  if (form.get("zone_id")) q.set("zone_id", form.get("zone_id"));
  return q;
}

async function load() {
  const q = params();
  try {
    summary = await api(`/api/v1/metrics/summary?${q}`);
    hotspots = await api(`/api/v1/hotspots?${q}`);
    models = await api("/api/v1/detection/models");
    events = [];
    for (let offset = 0; ; offset += 1000) {
      const page = await api(`/api/v1/events?${q}&limit=1000&offset=${offset}`);
      events.push(...page.items);
      if (events.length >= page.total || !page.items.length) break;
    }
  } catch (err) {
    toast(t("failed", { msg: err.message }), "error");
    return;
  }
  draw();
}

/** Each detector weights version with the operators' verdicts on what it found. */
function drawModels() {
  document.querySelector("#model-precision tbody").innerHTML = models.map((m) => `<tr data-version="${esc(m.model_version || "")}">
    <td><code>${esc(m.model_version || t("m_unknown"))}</code></td>
    <td>${m.promoted_at ? esc(fmtDay(Date.parse(m.promoted_at))) : "–"}</td><td>${m.events}</td>
    <td>${m.confirmed}</td><td>${m.rejected}</td><td data-role="precision">${pct(m.precision)}</td></tr>`).join("");
}

function pct(x) { return x == null ? "–" : `${Math.round(x * 100)}%`; }

function draw() {
  if (!summary) return;
  drawModels();
  const tiles = [
    ["events", t("f_events"), summary.events],
    ["precision", t("f_precision"), pct(summary.review_precision)],
    ["reached", t("f_reached"), summary.reached],
    ["within", t("f_within"), `${pct(summary.within_target_share)} (${summary.within_target}/${summary.reached})`],
    ["p50", t("f_p50"), fmtDuration(summary.response_time_p50_s)],
    ["p90", t("f_p90"), fmtDuration(summary.response_time_p90_s)],
    ["resolve", t("f_resolve"), fmtDuration(summary.time_to_resolve_p50_s)],
    ["sightings", t("f_sightings"), summary.sightings_per_event == null ? "–" :
      `${summary.sightings_per_event.toFixed(2)} (${summary.merged_sightings} ${t("merged")})`],
    ["misses", t("f_misses"), Object.entries(summary.misses_by_reason || {}).filter(([, n]) => n)
      .map(([k, n]) => `${label("miss", k)} ${n}`).join(" · ") || t("no_misses")],
    ["persuaded", t("f_persuaded"), `${pct(summary.without_team_share)} (${summary.resolved_without_team}/${summary.persuadable}) · ${(summary.team_hours_saved ?? 0).toFixed(1)} h`],
  ];
  document.getElementById("tiles").innerHTML = tiles.map(([id, k, v]) =>
    `<div class="tile" data-figure="${id}"><div class="v">${esc(v)}</div><div class="k">${esc(k)}</div></div>`).join("");

  const responses = events.map(responseS).filter((s) => s != null);
  const bins = histogram(responses.map((s) => s / 60), 1, 12);
  bar("c-response", bins.labels, [{ label: t("count"), data: bins.counts,
    backgroundColor: bins.edges.map((m) => (m < 3 ? "#2ecc71" : m < 6 ? "#f1c40f" : "#e74c3c")) }],
    { x: t("minutes"), targets: true });
  const byKind = summary.within_target_share_by_zone_kind;
  bar("c-within", Object.keys(byKind).map((k) => label("kind", k)),
    [{ label: t("share"), data: Object.values(byKind).map((v) => Math.round(v * 100)), backgroundColor: "#3498db" }],
    { max: 100, suffix: "%" });
  doughnut("c-type", summary.by_type, "type");
  const byZone = count(events, (e) => e.zone_name || t("kind_none"));
  bar("c-zone", Object.keys(byZone), [{ label: t("count"), data: Object.values(byZone), backgroundColor: "#8e44ad" }], { horizontal: true });
  const byWeek = count([...events].sort((a, b) => a.detected_at.localeCompare(b.detected_at)), (e) => weekOf(e.detected_at));
  bar("c-week", Object.keys(byWeek), [{ label: t("count"), data: Object.values(byWeek), backgroundColor: "#16a085" }]);
  doughnut("c-disp", summary.dispositions, "disp");
  const resolves = events.map((e) => e.time_to_resolve_s ?? null).filter((s) => s != null);
  const rb = histogram(resolves.map((s) => s / 60), 5, 12);
  bar("c-resolve", rb.labels, [{ label: t("count"), data: rb.counts, backgroundColor: "#34495e" }], { x: t("minutes") });
  drawHotSpots();
}

/** Response time of an event: frozen at evaluation, else on_scene − alerted while in progress. */
function responseS(e) {
  if (e.response_time_s != null) return e.response_time_s;
  if (e.on_scene_at && e.alerted_at) return (new Date(e.on_scene_at) - new Date(e.alerted_at)) / 1000;
  return null;
}

function histogram(values, width, nBins) {
  const counts = new Array(nBins).fill(0);
  for (const v of values) counts[Math.min(Math.floor(v / width), nBins - 1)] += 1;
  const edges = counts.map((_, i) => i * width);
  const labels = edges.map((e, i) => (i === nBins - 1 ? `≥${e}` : `${e}–${e + width}`));
  return { counts, edges, labels };
}

function count(items, keyOf) {
  const out = {};
  for (const item of items) { const k = keyOf(item); out[k] = (out[k] || 0) + 1; }
  return out;
}

/** The Monday (YYYY-MM-DD) of the week holding `iso`, weeks of the display time zone. */
function weekOf(iso) {
  const day = Date.parse(`${fmtDay(new Date(iso).getTime())}T00:00:00Z`);
  const back = (new Date(day).getUTCDay() + 6) % 7;
  return new Date(day - back * 86400000).toISOString().slice(0, 10);
}

// Vertical dashed lines at the 3 and 6 minute targets on the response-time histogram.
const targetLines = {
  id: "targetLines",
  afterDatasetsDraw(chart, _args, opts) {
    if (!opts.on) return;
    const { ctx, chartArea, scales } = chart;
    for (const [bin, text] of [[3, t("target_3")], [6, t("target_6")]]) {
      const x = (scales.x.getPixelForValue(bin - 1) + scales.x.getPixelForValue(bin)) / 2;
      ctx.save();
      ctx.strokeStyle = "#c0392b"; ctx.setLineDash([5, 4]); ctx.lineWidth = 1.5;
      ctx.beginPath(); ctx.moveTo(x, chartArea.top); ctx.lineTo(x, chartArea.bottom); ctx.stroke();
      ctx.fillStyle = "#c0392b"; ctx.font = `12px ${Chart.defaults.font.family}`; ctx.fillText(text, x + 4, chartArea.top + 12);
      ctx.restore();
    }
  },
};

function bar(id, labels, datasets, { x, max, suffix = "", horizontal = false, targets = false } = {}) {
  const valueAxis = { beginAtZero: true, max, ticks: { precision: 0, callback: (v) => `${v}${suffix}` } };
  const config = {
    type: "bar",
    data: { labels, datasets },
    options: {
      indexAxis: horizontal ? "y" : "x",
      plugins: { legend: { display: false }, targetLines: { on: targets } },
      scales: horizontal ? { x: valueAxis } : { y: valueAxis, x: { title: { display: !!x, text: x } } },
    },
    plugins: [targetLines],
  };
  replace(id, config);
}

function doughnut(id, data, prefix) {
  const palette = ["#3498db", "#e67e22", "#2ecc71", "#9b59b6", "#e74c3c", "#1abc9c", "#f1c40f"];
  replace(id, {
    type: "doughnut",
    data: { labels: Object.keys(data).map((k) => label(prefix, k)),
            datasets: [{ data: Object.values(data), backgroundColor: palette }] },
    options: { plugins: { legend: { position: "right" } } },
  });
}

// An empty chart says so instead of showing bare axes.
const noData = {
  id: "noData",
  afterDraw(chart) {
    const values = chart.data.datasets.flatMap((d) => d.data);
    if (values.some((v) => v > 0)) return;
    const { ctx, width, height } = chart;
    ctx.save();
    ctx.fillStyle = "#677587"; ctx.font = `14px ${Chart.defaults.font.family}`; ctx.textAlign = "center";
    ctx.fillText(t("no_data"), width / 2, height / 2);
    ctx.restore();
  },
};

function replace(id, config) {
  config.plugins = [...(config.plugins || []), noData];
  if (charts[id]) charts[id].destroy();
  const canvas = document.getElementById(id);
  canvas.dataset.values = JSON.stringify(config.data.datasets.map((d) => d.data));
  charts[id] = new Chart(canvas, config);
}

// Hot spots (GET /hotspots): places where confirmed violations recur, sized by count; the popup
// has the local hour-of-day histogram and the suggested patrol times.
function drawHotSpots() {
  if (!hotLayer || !hotspots) return;
  hotLayer.clearLayers();
  for (const spot of hotspots.items) {
    const marker = L.circleMarker([spot.lat, spot.lon], { radius: 6 + 3 * Math.sqrt(spot.count),
      className: "hotspot", color: "#c0392b", weight: 1, fillColor: "#e74c3c", fillOpacity: 0.55 })
      .bindTooltip(t("hot_count", { n: spot.count })).bindPopup(hotPopup(spot), { maxWidth: 320 })
      .addTo(hotLayer);
    Object.assign(marker.getElement().dataset, { count: spot.count,
      windows: spot.patrol_windows.map((w) => `${w.start}-${w.end}`).join(",") });
  }
}

function hotPopup(spot) {
  const top = Math.max(...spot.hours, 1);
  const bars = spot.hours.map((n, h) => `<span class="hb" title="${h}:00 · ${n}" style="height:${Math.round(40 * n / top)}px"></span>`).join("");
  const types = Object.entries(spot.by_type).map(([k, n]) => `${esc(label("type", k))} ${n}`).join(", ");
  const windows = spot.patrol_windows.map((w) => `<li>${esc(w.start)}–${esc(w.end)} (${w.violations})</li>`).join("");
  return `<div class="hot-popup"><b>${esc(t("hot_count", { n: spot.count }))}</b> · ${types}
    <div class="muted">${esc(t("hot_hours", { tz: hotspots.tz }))}</div>
    <div class="hours">${bars}</div><div class="hours-axis"><span>0</span><span>6</span><span>12</span><span>18</span><span>23</span></div>
    <div>${esc(t("hot_patrol"))}</div><ol class="windows">${windows}</ol></div>`;
}

function exportCsv() {
  const quote = (v) => {
    const s = v == null ? "" : String(v);
    return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  const lines = [CSV_COLUMNS.join(",")].concat(events.map((e) => CSV_COLUMNS.map((c) => quote(e[c])).join(",")));
  // A byte-order mark so spreadsheet programs read the Chinese zone names as UTF-8.
  const blob = new Blob(["\ufeff" + lines.join("\r\n") + "\r\n"], { type: "text/csv;charset=utf-8" });
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = `flyonce-events-${new Date().toISOString().slice(0, 10)}.csv`;
  document.body.append(a);
  a.click();
  a.remove();
}
