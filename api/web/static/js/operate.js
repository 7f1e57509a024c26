// An operator's actions on one event, shared by the console's cards and the event page:
// confirm, reject (with a reason), and assign the planner's ranked drones and teams.
import { api, esc, fmtDistance, fmtDuration, label, t, toast } from "./common.js";
import { planFor } from "./suggestions.js";

/** POST the review; resolves to the event as it now stands (throws ApiError on refusal).
 * `correction` may carry the operator's `box_xyxy` (snapshot px) and `type`; both are kept
 * with the verdict as a labelled sample for retraining the detector. */
export async function review(id, decision, reason, correction = {}) {
  if (decision === "reject" && !(reason || "").trim()) throw new Error(t("reject_reason") + "?");
  const e = await api(`/api/v1/events/${id}/review`, { method: "POST", json: { decision, reason: reason || null, ...correction } });
  toast(t("done_ok", { msg: `#${id} ${label("state", e.state)}` }));
  return e;
}

const plans = new Map();

/** The ranked options for `e` (cached until `forget(e.id)`). */
export function plan(e) {
  if (!plans.has(e.id)) {
    const p = planFor(e);
    plans.set(e.id, p);
    p.catch(() => plans.delete(e.id));
  }
  return plans.get(e.id);
}
export function forget(id) { plans.delete(id); }

/**
 * Assign `drone` and/or `team` (options from `plan`) to `e`. With the planner the dispatcher flies
 * the drone and the event turns `assigned` once it accepts its first command (the live stream
 * says so); without it the event is assigned here at once. Resolves to the event, or null when
 * the live stream will bring it.
 */
export async function assign(e, p, { drone, team, best }) {
  if (!drone && !team) throw new Error(t("no_drone") + " · " + t("no_team"));
  const body = { drone_id: drone ? drone.id : null, team_id: team ? team.id : null,
                 eta_s: drone ? Math.round(drone.eta_s) : null, at_risk: drone ? drone.at_risk : false,
                 reason: best ? "recommended (web console)" : "operator's choice (web console)" };
  let out = null;
  if (p.source === "planner" && drone) {
    await api(`/api/v1/dispatch/events/${e.id}/dispatch`, { method: "POST", json: { drone_id: drone.id } });
  } else {
    out = await api(`/api/v1/events/${e.id}/assign`, { method: "POST", json: body });
  }
  forget(e.id);
  toast(t("done_ok", { msg: `#${e.id} → ${[body.drone_id, body.team_id].filter(Boolean).join(" + ")}` }));
  return out;
}

/** Assign the first-ranked drone and team. */
export async function assignBest(e) {
  const p = await plan(e);
  return assign(e, p, { drone: p.drones[0], team: p.teams[0], best: true });
}

export function button(text, cls, onClick, action) {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = text;
  if (cls) b.className = cls;
  b.dataset.action = action;
  b.onclick = async (ev) => {
    ev.stopPropagation();
    b.disabled = true;
    try { await onClick(); } catch (err) { toast(t("failed", { msg: err.message }), "error"); } finally { b.disabled = false; }
  };
  return b;
}

/** A panel of the ranked drones and teams (at-risk ones marked), with "assign selected";
 * `done(event|null)` is called after a successful assignment. */
export function assignPanel(e, done) {
  const box = document.createElement("div");
  box.className = "assign";
  box.dataset.panel = "assign";
  box.textContent = t("loading");
  plan(e).then((p) => {
    box.innerHTML = "";
    const why = document.createElement("div");
    why.className = "why";
    why.textContent = p.source === "planner" ? t("ranking_planner") : t("ranking_straight");
    box.append(why);
    box.append(choices("drone", "drone", t("drones"), p.drones, (d) =>
      `${d.name} · ${fmtDistance(d.distance_m)} · ${t("eta", { t: fmtDuration(d.eta_s) })}` +
      (d.battery_pct != null ? ` · ${Math.round(d.battery_pct)}%` : ""), t("no_drone")));
    box.append(choices("team", "team", t("teams"), p.teams, (m) => `${m.name} · ${fmtDistance(m.distance_m)}`, t("no_team")));
    box.append(button(t("assign_selected"), "", async () => {
      const droneId = box.querySelector('input[data-kind="drone"]:checked')?.value;
      const teamId = box.querySelector('input[data-kind="team"]:checked')?.value;
      done(await assign(e, p, { drone: p.drones.find((d) => d.id === droneId),
                                team: p.teams.find((m) => m.id === teamId), best: false }));
    }, "assign-selected"));
  }).catch((err) => { box.textContent = t("failed", { msg: err.message }); });
  return box;
}

function choices(group, kind, title, items, describe, noneText) {
  const wrap = document.createElement("div");
  wrap.innerHTML = `<h3>${esc(title)}</h3>`;
  items.slice(0, 5).forEach((item, i) => {
    const l = document.createElement("label");
    l.dataset.option = item.id;
    if (item.at_risk) l.dataset.atRisk = "true";
    l.innerHTML = `<input type="radio" name="${esc(group)}" data-kind="${kind}" value="${esc(item.id)}" ${i === 0 ? "checked" : ""}>
      <span>${esc(describe(item))}</span>${item.at_risk ? ` <span class="risk">${esc(t("at_risk"))}</span>` : ""}`;
    wrap.append(l);
  });
  const none = document.createElement("label");
  none.innerHTML = `<input type="radio" name="${esc(group)}" data-kind="${kind}" value="" ${items.length ? "" : "checked"}><span class="muted">${esc(noneText)}</span>`;
  wrap.append(none);
  return wrap;
}
