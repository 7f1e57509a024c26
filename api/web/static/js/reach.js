// The "reach within target" map layer: every cell coloured by the best ETA from any dock against
// the target there (GET /api/v1/reachability), with a legend and each zone kind's share in time.
// The service recomputes the map when zones, docks or drone models change; the page asks again
// each time the layer is switched on, and the image comes inside the JSON (a data URL), so no
// second request needs the login.
import { api, esc, label, t, toast } from "./common.js";
import { addLabels } from "./i18n.js";

addLabels({
  reach_layer: ["时限内可达范围", "Reach within target"],
  reach_title: ["预计到达时间 / 到场时限", "ETA / target"],
  reach_bin: ["{from}–{to} 倍", "{from}–{to}×"],
  reach_above: ["≥ {from} 倍", "≥ {from}×"],
  reach_in_time: ["时限内", "in time"],
  reach_late: ["超时", "late"],
  reach_none: ["无机库可达", "no dock reaches"],
  reach_share: ["{kind}：{pct} 面积时限内可达", "{kind}: {pct} of area within target"],
  reach_cell: ["网格 {m} 米", "{m} m cells"],
  reach_failed: ["可达范围加载失败：{msg}", "Reach map failed: {msg}"],
});

/** Adds the layer toggle to `map`; the layer loads when switched on. Returns the layer group. */
export function addReachLayer(map, { cellM = 20, legendPosition = "bottomright" } = {}) {
  const group = L.layerGroup();
  const toggle = L.control.layers(null, {}, { collapsed: false, position: "topright" }).addTo(map);
  const name = () => `<span class="reach-toggle">${esc(t("reach_layer"))}</span>`;
  toggle.addOverlay(group, name());
  window.addEventListener("langchange", () => {
    toggle.removeLayer(group);
    toggle.addOverlay(group, name());
  });
  const legend = L.control({ position: legendPosition });
  let data = null;
  legend.onAdd = () => {
    const div = L.DomUtil.create("div", "legend reach-legend");
    const paint = () => { div.innerHTML = data ? legendHtml(data) : esc(t("loading")); };
    paint();
    legend.repaint = paint;
    window.addEventListener("langchange", paint);
    return div;
  };
  map.on("overlayadd", async (e) => {
    if (e.layer !== group) return;
    legend.addTo(map);
    try {
      data = await api(`/api/v1/reachability?cell_m=${cellM}`);
    } catch (err) {
      toast(t("reach_failed", { msg: err.message }), "error");
      map.removeLayer(group);
      return;
    }
    group.clearLayers();
    L.imageOverlay(`data:${data.raster.encoding},${data.raster.data}`, data.raster.bounds,
      { className: "reach-overlay", interactive: false }).addTo(group);
    legend.repaint();
  });
  map.on("overlayremove", (e) => { if (e.layer === group) legend.remove(); });
  return group;
}

function legendHtml(data) {
  const fmt = (x) => String(Math.round(x * 100) / 100).replace(/^0\./, ".");
  // One strip of swatches, each labelled with its lower edge, so the legend stays small on a
  // small map: green shades in time, orange to red late, an empty box where no dock reaches.
  const bins = data.legend.map((b) => {
    const range = b.ratio_to == null ? t("reach_above", { from: fmt(b.ratio_from) })
      : t("reach_bin", { from: fmt(b.ratio_from), to: fmt(b.ratio_to) });
    return `<span class="reach-bin" data-within="${b.within_target}" title="${esc(range)}">` +
      `<i style="background:${b.colour}"></i>${esc(fmt(b.ratio_from))}</span>`;
  });
  bins.push(`<span class="reach-bin" title="${esc(t("reach_none"))}"><i class="none"></i>–</span>`);
  const shares = data.kinds.filter((k) => k.within_share != null).map((k) =>
    `<div class="reach-share" data-kind="${esc(k.kind)}">${esc(t("reach_share",
      { kind: label("kind", k.kind), pct: `${Math.round(k.within_share * 100)}%` }))}</div>`);
  return `<b>${esc(t("reach_title"))}</b> <span class="muted">(${esc(t("reach_cell", { m: data.grid.cell_m }))})</span>` +
    `<div class="reach-bins">${bins.join("")}</div>` +
    `<div class="reach-key"><span>◀ ${esc(t("reach_in_time"))}</span><span>${esc(t("reach_late"))} ▶</span></div>` +
    shares.join("");
}
