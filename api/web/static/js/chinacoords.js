// WGS84 ⇄ GCJ-02, the datum of AMap's and Tencent's tiles and of AMap's links (Chinese law has
// civilian maps offset by a published-by-reimplementation formula; hundreds of metres in cities).
// Everything flyonce stores and sends is WGS84: these run only where a coordinate meets such a
// map (the map's projection, below in gcj02Crs, and the AMap link on the team page).
// The forward formula is the widely reimplemented one (e.g. github.com/googollee/eviltransform,
// whose reference points tests/web/test_china_maps.py checks); outside China it is the identity.

const A = 6378137.0;  // metres, as eviltransform
const EE = 0.00669342162296594323;

export function outOfChina(lat, lon) {
  return !(lon >= 72.004 && lon <= 137.8347 && lat >= 0.8293 && lat <= 55.8271);
}

function transform(x, y) {
  const xy = x * y, absX = Math.sqrt(Math.abs(x)), xPi = x * Math.PI, yPi = y * Math.PI;
  const d = 20.0 * Math.sin(6.0 * xPi) + 20.0 * Math.sin(2.0 * xPi);
  let lat = d + 20.0 * Math.sin(yPi) + 40.0 * Math.sin(yPi / 3.0) +
    160.0 * Math.sin(yPi / 12.0) + 320 * Math.sin(yPi / 30.0);
  let lon = d + 20.0 * Math.sin(xPi) + 40.0 * Math.sin(xPi / 3.0) +
    150.0 * Math.sin(xPi / 12.0) + 300.0 * Math.sin(xPi / 30.0);
  lat = lat * 2.0 / 3.0 - 100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * xy + 0.2 * absX;
  lon = lon * 2.0 / 3.0 + 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * xy + 0.1 * absX;
  return [lat, lon];
}

function delta(lat, lon) {
  let [dLat, dLon] = transform(lon - 105.0, lat - 35.0);
  const radLat = lat / 180.0 * Math.PI;
  let magic = Math.sin(radLat);
  magic = 1 - EE * magic * magic;
  const sqrtMagic = Math.sqrt(magic);
  dLat = (dLat * 180.0) / ((A * (1 - EE)) / (magic * sqrtMagic) * Math.PI);
  dLon = (dLon * 180.0) / (A / sqrtMagic * Math.cos(radLat) * Math.PI);
  return [dLat, dLon];
}

/** [lat, lon] in GCJ-02 of a WGS84 point. */
export function wgs84ToGcj02(lat, lon) {
  if (outOfChina(lat, lon)) return [lat, lon];
  const [dLat, dLon] = delta(lat, lon);
  return [lat + dLat, lon + dLon];
}

/** [lat, lon] in WGS84 of a GCJ-02 point: the forward formula inverted by fixed-point
 *  iteration to 1e-9° (≈0.1 mm), so a click on the map lands where the marker is drawn. */
export function gcj02ToWgs84(lat, lon) {
  if (outOfChina(lat, lon)) return [lat, lon];
  let wLat = lat, wLon = lon;
  for (let i = 0; i < 20; i++) {
    const [gLat, gLon] = wgs84ToGcj02(wLat, wLon);
    const eLat = gLat - lat, eLon = gLon - lon;
    wLat -= eLat; wLon -= eLon;
    if (Math.abs(eLat) < 1e-9 && Math.abs(eLon) < 1e-9) break;
  }
  return [wLat, wLon];
}

/** A Leaflet CRS for GCJ-02 tiles: layers keep WGS84 lat/lon (markers, zones, tracks, clicks,
 *  bounds) and the projection moves them onto the tiles' datum, both ways. */
export function gcj02Crs(L) {
  const sm = L.Projection.SphericalMercator;
  const projection = {
    bounds: sm.bounds,
    project(latlng) {
      const [lat, lon] = wgs84ToGcj02(latlng.lat, latlng.lng);
      return sm.project(L.latLng(lat, lon));
    },
    unproject(point) {
      const g = sm.unproject(point);
      const [lat, lon] = gcj02ToWgs84(g.lat, g.lng);
      return L.latLng(lat, lon);
    },
  };
  return L.extend({}, L.CRS.EPSG3857, { code: "EPSG:3857+GCJ02", projection });
}

/** AMap's link to a WGS84 point (AMap reads GCJ-02: converted here, said with coordinate=gaode). */
export function amapMarkerUrl(lat, lon, name = "") {
  const [gLat, gLon] = wgs84ToGcj02(lat, lon);
  const q = new URLSearchParams({ position: `${gLon.toFixed(6)},${gLat.toFixed(6)}`,
                                  coordinate: "gaode", callnative: "1" });
  if (name) q.set("name", name);
  return `https://uri.amap.com/marker?${q}`;
}
