// The map every page shares: the base layer (orthophoto or city tiles) and the zones.
import { api, label, setDisplayTz, syncClock, t } from "./common.js";
import { gcj02Crs } from "./chinacoords.js";

export const ZONE_COLOURS = {
  residential: "#e67e22", forest: "#27ae60", no_fly: "#c0392b", no_vending: "#8e44ad",
  market: "#16a085", commercial: "#2980b9", industrial: "#7f8c8d",
};
export const STATE_COLOURS = {
  detected: "#95a5a6", alerted: "#e74c3c", confirmed: "#f39c12", assigned: "#3498db",
  on_scene: "#9b59b6", resolved: "#2ecc71", evaluated: "#27ae60", rejected: "#7f8c8d",
};

/** A Leaflet map in `elementId` with its base layer, zones, their names and a legend of their
 * kinds; resolves to {map, config, zones}. */
export async function createMap(elementId, { zonesInteractive = true, zoneLabels = true, kindLegend = true } = {}) {
  const config = await api("/api/v1/map/config");
  syncClock(config.now);
  setDisplayTz(config.local_tz);
  // GCJ-02 tiles (AMap, Tencent) get a projection that shifts WGS84 onto them; every layer
  // and click stays WGS84 (api/web/static/js/chinacoords.js).
  const crs = config.tile_datum === "gcj02" ? gcj02Crs(L) : L.CRS.EPSG3857;
  const map = L.map(elementId, { zoomSnap: 0.25, preferCanvas: false, crs });
  map.flyonceDatum = config.tile_datum;
  if (config.tile_url) {
    const options = { maxZoom: 18, attribution: config.tile_attribution || "" };
    if (config.tile_subdomains) options.subdomains = config.tile_subdomains;
    L.tileLayer(config.tile_url, options).addTo(map);
    if (config.tile_overlay_url) L.tileLayer(config.tile_overlay_url, options).addTo(map);
  } else if (config.basemap) {
    L.imageOverlay(config.basemap.url, config.basemap.bounds, { className: "basemap" }).addTo(map);
  }
  const geojson = await api("/api/v1/map/zones");
  const zones = L.geoJSON(geojson, {
    interactive: zonesInteractive,
    style: (f) => {
      const colour = ZONE_COLOURS[f.properties.kind] || "#34495e";
      return f.properties.kind === "no_fly"
        ? { color: colour, weight: 2, fillColor: "url(#hatch-nofly)", fillOpacity: 1, className: "zone" }
        : { color: colour, weight: 2.5, fillColor: colour, fillOpacity: 0.22, className: "zone" };
    },
    onEachFeature: (f, layer) => {
      const p = f.properties;
      layer.bindTooltip(() => `${p.name} · ${label("kind", p.kind)}` +
        (p.response_target_s ? ` · ${t("target")} ${Math.round(p.response_target_s / 60)} min` : ""),
        { sticky: true });
    },
  }).addTo(map);
  if (zoneLabels) addZoneLabels(map, zones);
  if (kindLegend) addKindLegend(map, geojson);
  const bounds = config.bounds || (config.basemap && config.basemap.bounds);
  if (bounds) {
    map.fitBounds(bounds, { padding: [10, 10], animate: false });
    // Keep the operator near the town: a stray drag should not lose the map.
    map.setMaxBounds(L.latLngBounds(bounds).pad(0.5));
  }
  else map.setView(config.center, 14);
  return { map, config, zones };
}

/** An arrow icon pointing along `headingDeg`, for drones. */
export function droneIcon(headingDeg, colour) {
  const rot = Number.isFinite(headingDeg) ? headingDeg : 0;
  return L.divIcon({
    className: "drone-icon",
    iconSize: [26, 26],
    iconAnchor: [13, 13],
    html: `<svg viewBox="0 0 26 26" width="26" height="26" style="transform:rotate(${rot}deg)">
      <circle cx="13" cy="13" r="11" fill="white" stroke="${colour}" stroke-width="2"/>
      <path d="M13 4 L19 19 L13 15 L7 19 Z" fill="${colour}"/></svg>`,
  });
}

// Markers are SVG shapes, never text glyphs: a machine without CJK or symbol fonts draws them the same.
export const TEAM_SVG = `<svg viewBox="0 0 18 18" width="18" height="18" aria-hidden="true">
  <circle cx="9" cy="9" r="8" fill="#d35400" stroke="#fff" stroke-width="1.5"/>
  <circle cx="9" cy="6.3" r="2.3" fill="#fff"/><path d="M4.8 13.6 C5.2 10.2 12.8 10.2 13.2 13.6 Z" fill="#fff"/></svg>`;
export const DOCK_SVG = `<svg viewBox="0 0 14 14" width="14" height="14" aria-hidden="true">
  <rect x="0.5" y="0.5" width="13" height="13" rx="3" fill="#15202b"/>
  <path d="M4 3.5 V10.5 M10 3.5 V10.5 M4 7 H10" stroke="#fff" stroke-width="1.6" fill="none"/></svg>`;
export const DRONE_SVG = (colour) => `<svg viewBox="0 0 26 26" width="14" height="14" aria-hidden="true">
  <circle cx="13" cy="13" r="11" fill="white" stroke="${colour}" stroke-width="2"/>
  <path d="M13 4 L19 19 L13 15 L7 19 Z" fill="${colour}"/></svg>`;

export function teamIcon() {
  return L.divIcon({ className: "team-icon", iconSize: [18, 18], iconAnchor: [9, 9], html: TEAM_SVG });
}

export function dockIcon() {
  return L.divIcon({ className: "dock-icon", iconSize: [14, 14], iconAnchor: [7, 7], html: DOCK_SVG });
}

/** Each zone's name at its middle, always shown (not only on hover). */
function addZoneLabels(map, zones) {
  const group = L.layerGroup().addTo(map);
  zones.eachLayer((layer) => {
    const p = layer.feature.properties;
    const centre = layer.getBounds().getCenter();
    L.marker(centre, { interactive: false, keyboard: false, icon: L.divIcon({
      className: "zone-label", iconSize: null,
      html: `<span data-zone="${escAttr(p.id)}" data-kind="${escAttr(p.kind)}">${escAttr(p.name)}</span>` }) }).addTo(group);
  });
  return group;
}

function escAttr(v) {
  return String(v ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

/** A legend of the zone kinds on this map: colour swatch, name, response target. */
function addKindLegend(map, geojson) {
  const kinds = new Map();
  for (const f of geojson.features) {
    const p = f.properties;
    if (!kinds.has(p.kind)) kinds.set(p.kind, p.response_target_s);
  }
  if (!kinds.size) return;
  const legend = L.control({ position: "topright" });
  legend.onAdd = () => {
    const div = L.DomUtil.create("div", "legend kind-legend");
    div.id = `${map.getContainer().id}-kinds`;
    const paint = () => {
      div.innerHTML = [...kinds].sort().map(([kind, target]) => {
        const colour = ZONE_COLOURS[kind] || "#34495e";
        const swatch = kind === "no_fly"
          ? `<svg width="14" height="10" aria-hidden="true"><rect width="14" height="10" fill="url(#hatch-nofly)" stroke="${colour}"/></svg>`
          : `<svg width="14" height="10" aria-hidden="true"><rect width="14" height="10" fill="${colour}" fill-opacity="0.35" stroke="${colour}" stroke-width="2"/></svg>`;
        return `<div data-kind="${escAttr(kind)}">${swatch} ${escAttr(label("kind", kind))}` +
          (target ? ` <span class="muted">${Math.round(target / 60)} min</span>` : "") + "</div>";
      }).join("");
    };
    paint();
    window.addEventListener("langchange", paint);
    return div;
  };
  legend.addTo(map);
}

/** An SVG pattern the no-fly zones use as fill; drawn once per page. */
export const HATCH_SVG = `<svg width="0" height="0" style="position:absolute" aria-hidden="true"><defs>
  <pattern id="hatch-nofly" patternUnits="userSpaceOnUse" width="8" height="8" patternTransform="rotate(45)">
    <rect width="8" height="8" fill="rgba(192,57,43,0.10)"/>
    <line x1="0" y1="0" x2="0" y2="8" stroke="rgba(192,57,43,0.75)" stroke-width="3"/></pattern></defs></svg>`;
