"""Renders the sample town's orthophoto into the map base layer shipped with the web pages.

Run once at build time (`python -m api.demo.basemap`); the service itself never imports
`simulators` (ARCHITECTURE.md): it serves the JPEG and its corner coordinates written here.
The image is a low-resolution overview (0.25 px/m), enough to see blocks, roads and plazas.
"""

from __future__ import annotations

import json
from pathlib import Path

OUT_DIR = Path(__file__).resolve().parent.parent / "web" / "static" / "basemap"
RENDER_PX_PER_M = 0.5  # rendered finer, then shrunk: averaging tames the ground texture's JPEG cost
SHIPPED_PX_PER_M = 0.25


def make_basemap(out_dir: Path = OUT_DIR, seed: int = 7) -> Path:
    """The path of the written JSON: {"image": file name, "bounds": [[lat_s, lon_w], [lat_n, lon_e]]}."""
    import cv2

    from simulators.town import render_ortho
    from simulators.town.sample import sample_world

    town = sample_world(seed=seed)
    image = render_ortho(town, town.bounds_m, RENDER_PX_PER_M)
    scale = SHIPPED_PX_PER_M / RENDER_PX_PER_M
    small = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    ok, jpeg = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, 72])
    if not ok:
        raise RuntimeError("OpenCV could not encode the orthophoto as JPEG")
    east_min, north_min, east_max, north_max = town.bounds_m
    lat_s, lon_w = town.frame.to_wgs84(east_min, north_min)
    lat_n, lon_e = town.frame.to_wgs84(east_max, north_max)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "sample_town.jpg").write_bytes(jpeg.tobytes())
    meta = out_dir / "sample_town.json"
    meta.write_text(json.dumps({
        "image": "sample_town.jpg", "seed": seed, "px_per_m": SHIPPED_PX_PER_M,
        "bounds": [[round(lat_s, 7), round(lon_w, 7)], [round(lat_n, 7), round(lon_e, 7)]],
    }, indent=1) + "\n")
    return meta


if __name__ == "__main__":
    print(make_basemap())
