// One event: facts, its whole timeline (every transition, who, when, why), evidence and tasks.
import { Live, api, authImage, esc, fmtDuration, fmtTime, guard, initLang, label, t, toast } from "./common.js";
import { HATCH_SVG, STATE_COLOURS, createMap } from "./map.js";

const user = guard(["operator", "admin", "evaluator", "ground_team"]);
const id = Number(new URLSearchParams(location.search).get("id"));
let mapReady = null;

if (user) start();

async function start() {
  document.body.insertAdjacentHTML("afterbegin", HATCH_SVG);
  initLang();
  if (user.role === "ground_team") document.getElementById("back").href = "/ui/team";
  if (user.role === "evaluator") document.getElementById("back").href = "/ui/evaluate";
  await render();
  new Live({ onMessage: (m) => { if (m.event_id === id) render(); }, onReconnect: render });
  window.addEventListener("langchange", render);
}

async function render() {
  let e;
  try {
    e = await api(`/api/v1/events/${id}`);
  } catch (err) {
    document.getElementById("event-title").textContent = t("failed", { msg: err.message });
    return;
  }
  document.getElementById("event-title").innerHTML = `${esc(t("event"))} #${e.id} · ${esc(label("type", e.type))}
    <span class="badge" style="background:${STATE_COLOURS[e.state]}" id="event-state">${esc(label("state", e.state))}</span>`;
  const facts = [
    [t("zone"), `${e.zone_name || t("kind_none")}${e.zone_kind ? " (" + label("kind", e.zone_kind) + ")" : ""}`],
    [t("confidence"), `${Math.round(e.confidence * 100)}%`],
    [t("detected_at"), fmtTime(e.detected_at)],
    [t("target"), fmtDuration(e.target_s)],
    [t("response_time"), e.response_time_s != null ? fmtDuration(e.response_time_s) +
      (e.within_target ? " ✓" : " ✗") : "–"],
    [t("disposition"), e.disposition ? label("disp", e.disposition) + (e.resolution_note ? ` — ${e.resolution_note}` : "") : "–"],
    [t("position"), `${e.lat.toFixed(6)}, ${e.lon.toFixed(6)}`],
  ];
  document.getElementById("facts").innerHTML = facts.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`).join("");
  document.getElementById("offence").innerHTML = offenceHtml(e);
  document.querySelector("#timeline tbody").innerHTML = e.timeline.map((a) => `<tr>
    <td>${esc(fmtTime(a.at))}</td><td>${esc(a.from_state ? label("state", a.from_state) : "∅")} → <b>${esc(label("state", a.to_state))}</b></td>
    <td>${esc(a.actor)}</td><td>${esc(a.reason || "")}</td></tr>`).join("");
  document.querySelector("#tasks tbody").innerHTML = e.tasks.map((x) => `<tr>
    <td>${esc(label("taskkind", x.kind))}</td><td>${esc(x.drone_id || x.team_id)}</td><td>${esc(label("task", x.state))}</td>
    <td>${x.eta_s != null ? esc(t("eta", { t: fmtDuration(x.eta_s) })) : ""}${x.at_risk ? ` <span class="risk">${esc(t("at_risk"))}</span>` : ""}</td>
    <td>${x.code ? `<a href="/c/${encodeURIComponent(x.code)}" data-code-link rel="noreferrer" target="_blank">${esc(t("code_page"))}</a>` : ""}</td></tr>`).join("");
  const box = document.getElementById("evidence");
  box.innerHTML = "";
  for (const ev of e.evidence) {
    const fig = document.createElement("figure");
    fig.style.margin = "0 0 8px";
    const img = document.createElement("img");
    img.alt = ev.kind;
    img.dataset.kind = ev.kind;
    fig.append(img);
    const cap = document.createElement("figcaption");
    cap.className = "muted";
    cap.textContent = `${ev.kind} · ${ev.uploaded_by} · ${fmtTime(ev.created_at)}`;
    fig.append(cap);
    box.append(fig);
    authImage(ev.url).then((src) => { img.src = src; }).catch((err) => toast(err.message, "error"));
  }
  if (!mapReady) {
    mapReady = createMap("event-map", { zonesInteractive: false }).then(({ map }) => {
      map.setView([e.lat, e.lon], 16, { animate: false });
      L.circleMarker([e.lat, e.lon], { radius: 9, color: "#fff", weight: 2,
        fillColor: STATE_COLOURS[e.state], fillOpacity: 1 }).addTo(map);
    });
  }
}

/** First offence or repeat (首违免罚): a badge, the suggested disposition and the earlier events. */
function offenceHtml(e) {
  if (!e.offence) return "";
  const prior = e.prior_events.map((p) => `<li><a href="/ui/event?id=${p.id}" data-id="${p.id}">#${p.id}</a>
    · ${esc(fmtTime(p.detected_at))} · ${esc(p.disposition ? label("disp", p.disposition) : label("state", p.state))}</li>`).join("");
  return `<span class="badge offence-${esc(e.offence)}" id="offence-badge" data-offence="${esc(e.offence)}">${esc(t(`offence_${e.offence}`))}</span>
    ${e.suggested_disposition ? esc(t(`suggest_${e.suggested_disposition}`)) : ""}
    ${prior ? `<div class="muted">${esc(t("prior_events"))}</div><ul id="prior-events">${prior}</ul>` : ""}`;
}
