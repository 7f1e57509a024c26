"""Simulated cameras served as MJPEG over HTTP, and the time code in their pixels."""

from __future__ import annotations

import cv2
import httpx
import numpy as np
import pytest

from simulators.camera.mjpeg import BOUNDARY, MjpegServer
from simulators.camera.timecode import read_ms, stamp_ms


@pytest.mark.parametrize("unix_ms", [0, 1, 1796594775966, 2**44 - 1])
@pytest.mark.parametrize("quality", [50, 90])
def test_time_code_survives_jpeg(unix_ms: int, quality: int) -> None:
    rng = np.random.default_rng(unix_ms % 1000)
    image = rng.integers(0, 256, (240, 320, 3), dtype=np.uint8)  # busy ground around the code
    stamp_ms(image, unix_ms)
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    assert read_ms(cv2.imdecode(buf, cv2.IMREAD_COLOR)) == unix_ms


def test_time_code_needs_room() -> None:
    with pytest.raises(ValueError, match="at least 176 x 16"):
        stamp_ms(np.zeros((16, 100, 3), np.uint8), 5)


def _parts(response: httpx.Response, n: int) -> list[tuple[dict, bytes]]:
    """The first ``n`` parts of a multipart stream: (headers, body)."""
    buf, parts = b"", []
    for chunk in response.iter_bytes():
        buf += chunk
        while True:
            head_end = buf.find(b"\r\n\r\n")
            if head_end < 0:
                break
            lines = buf[:head_end].decode().split("\r\n")
            headers = dict(line.split(": ", 1) for line in lines if ": " in line)
            size = int(headers["Content-Length"])
            if len(buf) < head_end + 4 + size + 2:
                break
            parts.append((headers, buf[head_end + 4:head_end + 4 + size]))
            buf = buf[head_end + 4 + size + 2:]
            if len(parts) == n:
                return parts
    return parts


def test_server_streams_new_frames_and_drops_on_demand() -> None:
    count = {"n": 0}

    def render() -> np.ndarray:
        count["n"] += 1
        return np.full((240, 320, 3), count["n"] % 200 + 40, np.uint8)

    with MjpegServer({"7": render}, fps=20) as server, httpx.Client(timeout=5) as http:
        with http.stream("GET", server.url("7")) as r:
            assert r.headers["content-type"] == f"multipart/x-mixed-replace; boundary={BOUNDARY}"
            parts = _parts(r, 3)
        assert [h["Content-Type"] for h, _ in parts] == ["image/jpeg"] * 3
        stamps = [int(h["X-Render-Time-Ms"]) for h, _ in parts]
        assert stamps == sorted(set(stamps))  # three different frames, in render order
        image = cv2.imdecode(np.frombuffer(parts[0][1], np.uint8), cv2.IMREAD_COLOR)
        assert read_ms(image) == stamps[0]  # the pixels carry the header's time
        assert http.get(server.url("8")).status_code == 404
        server.drop("7")
        assert http.get(server.url("7")).status_code == 503
        server.drop("7", False)
        with http.stream("GET", server.url("7")) as r:
            assert len(_parts(r, 1)) == 1
