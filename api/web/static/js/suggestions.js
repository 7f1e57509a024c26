// Who to send: drones ranked by ETA to the event and the nearest teams.
// The dispatch planner answers GET /api/v1/dispatch/events/{id}/suggestions (ETAs along no-fly
// detours, battery, at-risk) when the service runs a fleet; without one (503) or without the
// route (404), a straight-line estimate over GET /drones and /teams stands in, in the same shape.
import { ApiError, api, distanceM, serverNowMs } from "./common.js";

const UNAVAILABLE = new Set(["offline", "fault", "lost", "maintenance", "failsafe", "unavailable"]);
let plannerAbsent = false;

/** {source, drones: [{id, name, distance_m, eta_s, at_risk, battery_pct, status, reason}], teams: [{id, name, distance_m}]} */
export async function planFor(event) {
  const [drones, teams] = await Promise.all([api("/api/v1/drones"), api("/api/v1/teams")]);
  if (!plannerAbsent) {
    try {
      return fromPlanner(await api(`/api/v1/dispatch/events/${event.id}/suggestions`), drones, teams);
    } catch (err) {
      // FastAPI's bare "Not Found" means the route does not exist: stop asking.
      if (err instanceof ApiError && err.status === 404 && err.message === "Not Found") plannerAbsent = true;
      else if (!(err instanceof ApiError && [404, 503].includes(err.status))) console.warn("planner:", err.message);
    }
  }
  return rankStraightLine(event, drones, teams, serverNowMs());
}

/** The planner's answer in this page's shape (its drone options ranked best first). */
export function fromPlanner(plan, drones, teams) {
  const droneNames = new Map(drones.map((d) => [d.id, d]));
  const teamNames = new Map(teams.map((t) => [t.id, t]));
  const options = plan.drones || plan.options || [];
  return {
    source: "planner",
    drones: options.filter((o) => o.feasible !== false).map((o) => {
      const id = o.drone_id ?? o.id, d = droneNames.get(id) || {};
      return { id, name: d.name || id, distance_m: o.route_length_m ?? o.straight_m ?? o.distance_m,
               eta_s: o.eta_s, at_risk: !!o.at_risk, battery_pct: o.battery_pct ?? d.battery_pct,
               status: d.status, reason: o.reason || "" };
    }),
    teams: (plan.teams || []).filter((o) => o.available !== false).map((o) => {
      const id = o.team_id ?? o.id;
      return { id, name: (teamNames.get(id) || {}).name || id, distance_m: o.distance_m };
    }),
  };
}

/** Drones by straight-line ETA (at risk when it lands past the zone's target), teams by distance. */
export function rankStraightLine(event, drones, teams, nowMs) {
  const alertedMs = new Date(event.alerted_at || event.detected_at).getTime();
  const leftS = event.target_s - (nowMs - alertedMs) / 1000;
  const rankedDrones = drones
    .filter((d) => !UNAVAILABLE.has(d.status) && (d.lat ?? d.dock_lat) != null)
    .map((d) => {
      const lat = d.lat ?? d.dock_lat, lon = d.lon ?? d.dock_lon;
      const distance_m = distanceM(lat, lon, event.lat, event.lon);
      const eta_s = distance_m / d.cruise_speed_mps;
      return { id: d.id, name: d.name, distance_m, eta_s, at_risk: eta_s > leftS,
               battery_pct: d.battery_pct, status: d.status };
    })
    .sort((a, b) => a.eta_s - b.eta_s);
  const rankedTeams = teams
    .filter((t) => !UNAVAILABLE.has(t.status))
    .map((t) => ({ id: t.id, name: t.name, distance_m: distanceM(t.lat, t.lon, event.lat, event.lon) }))
    .sort((a, b) => a.distance_m - b.distance_m);
  return { source: "straight", drones: rankedDrones, teams: rankedTeams };
}
