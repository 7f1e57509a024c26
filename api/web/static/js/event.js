// One event: facts, its whole timeline (every transition, who, when, why), evidence and tasks.
import { Live, api, authImage, esc, fmtDuration, fmtTime, guard, initLang, label, setDisplayTz, t, toast } from "./common.js";
import { addLabels } from "./i18n.js";
import { HATCH_SVG, STATE_COLOURS, createMap } from "./map.js";
import * as operate from "./operate.js";
import { boxEditor } from "./boxedit.js";

addLabels({
  persuade_title: ["远程劝导", "Remote persuasion"],
  persuade_clip: ["录音", "Recorded clip"],
  persuade_text: ["文字播报", "Spoken text"],
  persuade_text_hint: ["例如：您好，这里禁止占道经营，请立即离开。", "e.g. 您好，这里禁止占道经营，请立即离开。"],
  persuade_repeat: ["播放次数", "Times"],
  persuade_play: ["喊话", "Play through the drone's speaker"],
  persuade_sent: ["已喊话，正在观察现场", "Played; the drone is watching the scene"],
  clip_1: ["1 占道经营劝离", "1 street stall: please pack up and leave"],
  clip_2: ["2 禁止流动供油", "2 no fuel sales from vehicles"],
  clip_3: ["3 安全提示", "3 safety: drone overhead"],
  outcome_pending: ["观察中", "watching"], outcome_persuaded: ["劝离成功", "persuaded"],
  outcome_stubborn: ["未离开，已派中队", "stayed: team tasked"],
  outcome_failed: ["喇叭拒绝，已派中队", "speaker refused: team tasked"],
  watch_until: ["观察至 {t}", "watching until {t}"],
  sightings_title: ["发现记录（同一违法合并）", "Sightings (one violation, one event)"],
  sighting_from: ["来源", "From"], sighting_distance: ["距离", "Distance"],
  sighting_first: ["首次（告警）", "first (the alert)"], sighting_merged: ["已合并", "merged"],
  sighting_absorbed: ["已驳回事件吸收", "absorbed (rejected event)"], sighting_split: ["已拆分", "split off"],
  split: ["拆分为新事件", "Split into its own event"],
  split_reason: ["为什么不是同一处违法？", "Why is this not the same violation?"],
  split_done: ["已拆分为事件 #{id}", "Split into event #{id}"],
  review_box_hint: ["框不准？在图上拖动重新框选；类别不对？先改类别再确认。", "Box off? Drag across the object to redraw it; wrong class? Change it, then confirm."],
  review_box_reset: ["恢复检测框", "Detector's box"],
  review_type: ["类别", "Class"],
});

const user = guard(["operator", "admin", "evaluator", "ground_team"]);
const id = Number(new URLSearchParams(location.search).get("id"));
let mapReady = null;

if (user) start();

async function start() {
  document.body.insertAdjacentHTML("afterbegin", HATCH_SVG);
  initLang();
  if (user.role === "ground_team") document.getElementById("back").href = "/ui/team";
  if (user.role === "evaluator") document.getElementById("back").href = "/ui/evaluate";
  setupPersuasion();
  // Times read in the service's zone from the first render on (the map's config says which).
  try { setDisplayTz((await api("/api/v1/map/config")).local_tz); } catch { /* the default zone stands */ }
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
      (e.within_target ? " ✓" : " ×") : "–"],
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
  renderOps(e);
  renderPersuasion(e);
  renderSightings(e);
  const box = document.getElementById("evidence");
  box.innerHTML = "";
  const first = e.all_sightings[0];
  for (const ev of e.evidence) {
    const fig = document.createElement("figure");
    fig.style.margin = "0 0 8px";
    const clip = ev.content_type.startsWith("video/");  // an evidence clip of the drone's video
    if (!clip && first && first.evidence_id === ev.id && first.box_xyxy) {
      // the alert's snapshot: the detector's box drawn over the unmarked frame
      const shown = boxEditor(authImage(ev.url), first.box_xyxy);
      shown.el.querySelector("img").dataset.kind = ev.kind;
      const cap = document.createElement("figcaption");
      cap.className = "muted";
      cap.textContent = `${ev.kind} · ${ev.uploaded_by} · ${fmtTime(ev.created_at)}`;
      fig.append(shown.el, cap);
      box.append(fig);
      continue;
    }
    const img = document.createElement(clip ? "video" : "img");
    if (clip) Object.assign(img, { controls: true, muted: true, playsInline: true });
    else img.alt = ev.kind;
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

/** An operator's actions here as on the console's card: confirm, reject with a reason, and
 * assign (the recommended drone and team in one click, or a choice from the ranked list). */
let rejecting = false;
function renderOps(e) {
  const box = document.getElementById("ops");
  const canAct = ["operator", "admin"].includes(user.role);
  const actions = document.getElementById("ops-actions");
  const assignBox = document.getElementById("ops-assign");
  actions.innerHTML = "";
  assignBox.innerHTML = "";
  const mayReview = e.allowed_next.includes("confirmed") || e.allowed_next.includes("rejected");
  box.hidden = !canAct || !(mayReview || e.state === "confirmed");
  if (box.hidden) return;
  const after = async () => { rejecting = false; reviewing = null; await render(); };
  const check = e.allowed_next.includes("confirmed") ? reviewPanel(e) : null;
  if (e.allowed_next.includes("confirmed")) {
    actions.append(operate.button(t("confirm"), "ok", async () => { await operate.review(e.id, "confirm", null, check ? check.correction() : {}); await after(); }, "confirm"));
  }
  if (e.allowed_next.includes("rejected")) {
    if (rejecting) {
      const input = document.createElement("input");
      input.placeholder = t("reject_reason");
      input.dataset.role = "reason";
      const send = async () => { await operate.review(e.id, "reject", input.value); await after(); };
      input.onkeydown = (ev) => { if (ev.key === "Enter") send().catch((err) => toast(t("failed", { msg: err.message }), "error")); };
      actions.append(input, operate.button(t("send"), "danger", send, "send-reject"));
      queueMicrotask(() => input.focus());
    } else {
      actions.append(operate.button(t("reject"), "", () => { rejecting = true; renderOps(e); }, "reject"));
    }
  }
  if (check) assignBox.append(check.el);
  if (e.state === "confirmed") {
    actions.append(operate.button(t("assign_best"), "primary", async () => { await operate.assignBest(e); await after(); }, "assign-best"));
    assignBox.append(operate.assignPanel(e, () => after()));
  }
}

/** Before a review: the snapshot with the detector's box, to be redrawn by a drag, and the
 * class, to be changed; kept across re-renders (a live message must not undo a drag). Null when
 * the event has no snapshot. `correction()` is what the confirm sends beside the verdict. */
let reviewing = null;
function reviewPanel(e) {
  const first = e.all_sightings[0];
  const snap = first && first.evidence_id != null ? e.evidence.find((x) => x.id === first.evidence_id) : null;
  if (!snap) return null;
  const key = `${e.id}:${snap.id}`;
  if (reviewing && reviewing.key === key) return reviewing;
  const el = document.createElement("div");
  el.className = "review-box";
  el.id = "review-box";
  const editor = boxEditor(authImage(snap.url), first.box_xyxy, { editable: true });
  const type = document.createElement("select");
  type.id = "review-type";
  for (const v of ["street_stall", "mobile_fuel_sale"]) {
    const o = document.createElement("option");
    o.value = v;
    o.textContent = label("type", v);
    o.selected = v === e.type;
    type.append(o);
  }
  const reset = operate.button(t("review_box_reset"), "", () => editor.reset(), "box-reset");
  const row = document.createElement("label");
  row.append(`${t("review_type")} `, type, " ", reset);
  const hint = document.createElement("div");
  hint.className = "muted";
  hint.textContent = t("review_box_hint");
  el.append(hint, editor.el, row);
  reviewing = { key, el, correction: () => {
    const out = {};
    if (editor.moved()) out.box_xyxy = editor.box();
    if (type.value !== e.type) out.type = type.value;
    return out;
  } };
  return reviewing;
}

/** Every candidate that is this event: the first (its alert), then the ones merged in; an
 * operator may split a wrong merge off into an event of its own. */
function renderSightings(e) {
  const canSplit = ["operator", "admin"].includes(user.role);
  document.querySelector("#sightings tbody").innerHTML = e.all_sightings.map((s) => `<tr data-sighting="${s.id}" data-kind="${esc(s.kind)}">
    <td>${esc(fmtTime(s.detected_at))}</td>
    <td>${esc(s.drone_id || s.source)} <span class="muted">${esc(t(`sighting_${s.kind}`))}</span></td>
    <td>${Math.round(s.confidence * 100)}%</td>
    <td>${s.distance_m != null ? `${s.distance_m.toFixed(1)} m` : "–"}</td>
    <td>${canSplit && s.kind === "merged" ? `<button type="button" class="split" data-split="${s.id}">${esc(t("split"))}</button>` : ""}</td></tr>`).join("");
  for (const button of document.querySelectorAll("#sightings button.split")) {
    button.addEventListener("click", async () => {
      const reason = (prompt(t("split_reason")) || "").trim();
      if (!reason) return;
      button.disabled = true;
      try {
        const made = await api(`/api/v1/events/${id}/sightings/${button.dataset.split}/split`,
          { method: "POST", json: { reason } });
        toast(t("split_done", { id: made.id }));
        await render();
      } catch (err) {
        toast(err.message, "error");
        button.disabled = false;
      }
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

/** Remote persuasion (远程劝导): the warnings played on the event, and, for an operator while a
 * drone is on scene, a form to play one (a recorded clip or a text) through its speaker. */
async function renderPersuasion(e) {
  const panel = document.getElementById("persuasion-panel");
  const canPlay = ["operator", "admin"].includes(user.role) && e.state === "on_scene" &&
    e.tasks.some((x) => x.kind === "drone" && !["done", "cancelled"].includes(x.state));
  document.getElementById("persuade-form").hidden = !canPlay;
  if (user.role === "ground_team") { panel.hidden = true; return; }
  let rows = [];
  try {
    rows = await api(`/api/v1/events/${id}/persuasions`);
  } catch (err) {
    toast(err.message, "error");
  }
  panel.hidden = !canPlay && rows.length === 0;
  document.querySelector("#persuasions tbody").innerHTML = rows.map((r) => `<tr data-outcome="${esc(r.outcome)}">
    <td>${esc(fmtTime(r.played_at || r.requested_at))}</td>
    <td>${esc(r.kind === "clip" ? label("clip", r.clip_id) : r.text)}${r.repeat > 1 ? ` ×${r.repeat}` : ""}</td>
    <td>${esc(r.drone_id || "")}</td>
    <td><b>${esc(label("outcome", r.outcome))}</b>${r.outcome === "pending" && r.watch_until ? ` · ${esc(t("watch_until", { t: fmtTime(r.watch_until) }))}` : ""}
      ${r.note ? `<div class="muted">${esc(r.note)}</div>` : ""}</td></tr>`).join("");
}

function setupPersuasion() {
  const form = document.getElementById("persuade-form");
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const byText = form.querySelector('input[name="msg"]:checked').value === "text";
    const body = { repeat: Number(document.getElementById("persuade-repeat").value) || 1 };
    if (byText) body.text = document.getElementById("persuade-text").value;
    else body.clip_id = Number(document.getElementById("persuade-clip").value);
    const button = document.getElementById("persuade-btn");
    button.disabled = true;
    try {
      await api(`/api/v1/events/${id}/persuade`, { method: "POST", json: body });
      toast(t("persuade_sent"));
      await render();
    } catch (err) {
      toast(err.message, "error");
    } finally {
      button.disabled = false;
    }
  });
}
