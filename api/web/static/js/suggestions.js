// Who to send: drones ranked by ETA to the event and the nearest teams.
// For now a straight-line estimate over GET /drones and /teams; the dispatch planner's ranking
// replaces it by answering `planFor` (same shape) once its route is in the service.
import { api, distanceM, serverNowMs } from "./common.js";

const UNAVAILABLE = new Set(["offline", "fault", "lost", "maintenance"]);

/** {source, drones: [{id, name, distance_m, eta_s, at_risk, battery_pct, status}], teams: [{id, name, distance_m}]} */
export async function planFor(event) {
  const [drones, teams] = await Promise.all([api("/api/v1/drones"), api("/api/v1/teams")]);
  return rankStraightLine(event, drones, teams, serverNowMs());
}

/** Drones by straight-line ETA (at risk when it lands past the zone's target), teams by distance. */
export function rankStraightLine(event, drones, teams, nowMs) {
  const alertedMs = new Date(event.alerted_at || event.detected_at).getTime();
  const leftS = event.target_s - (nowMs - alertedMs) / 1000;
  const rankedDrones = drones
    .filter((d) => !UNAVAILABLE.has(d.status))
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
