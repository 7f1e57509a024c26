"""Live video (api/video): the reader, the ring buffer, evidence clips, and who may watch."""

from __future__ import annotations

import io
import time
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient

from api.core.clock import SystemClock
from api.core.settings import Settings
from api.routes.access import ACCESS
from api.video.clip import EmptyClip, encode_clip
from api.video.ring import Frame, FrameRing
from api.video.source import StreamReader
from simulators.camera.mjpeg import MjpegServer
from tests.api.conftest import NO_MERGE, TEST_SECRET, candidate, wait_for

T0 = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def _jpeg(grey: int, wh: tuple[int, int] = (320, 240)) -> bytes:
    return cv2.imencode(".jpg", np.full((wh[1], wh[0], 3), grey, np.uint8))[1].tobytes()


def _grey_camera() -> callable:
    n = {"i": 0}

    def render() -> np.ndarray:
        n["i"] += 1
        return np.full((240, 320, 3), 60 + n["i"] % 100, np.uint8)

    return render


def _write_file(path: Path, frames: int, fps: int) -> Path:
    """An MPEG-4 file of ``frames`` frames at ``fps`` (a codec the reader must decode)."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream("mpeg4", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(np.full((240, 320, 3), 20 * i, np.uint8),
                                               format="bgr24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path


# ---------------------------------------------------------------------- reader

def test_file_source_is_paced_decoded_and_replayed_after_a_recorded_gap(tmp_path: Path) -> None:
    path = _write_file(tmp_path / "clip.mkv", frames=10, fps=10)
    arrivals: list[float] = []
    gaps = []
    reader = StreamReader(str(path), lambda f: arrivals.append(time.monotonic()) or seen.append(f),
                          now=lambda: datetime.now(UTC), on_gap=gaps.append, backoff_s=0.3)
    seen: list = []
    reader.start()
    try:
        wait_for(lambda: len(arrivals), lambda n: n >= 12, wall_s=20)
    finally:
        reader.stop()
    # paced as a camera: the 10th frame of a 10 fps file comes 0.9 s after the first, not at once
    assert arrivals[9] - arrivals[0] >= 0.85
    assert seen[0].bgr is not None and seen[0].width == 320  # decoded, and re-encoded as JPEG
    assert cv2.imdecode(np.frombuffer(seen[0].jpeg, np.uint8), cv2.IMREAD_COLOR).shape == (240, 320, 3)
    # the end of the file is a gap: opened after the 10th frame, closed by the replay's first
    assert [g.reason for g in gaps[:2]] == ["the stream ended"] * 2
    assert gaps[0].end is None and gaps[1].end is not None and gaps[1].start == gaps[0].start
    assert gaps[1].duration_s >= 0.3  # at least the back-off
    assert reader.opens >= 2


def test_http_stream_drop_records_gap_and_reconnects() -> None:
    with MjpegServer({"1": _grey_camera()}, fps=20) as server:
        times: list[datetime] = []
        gaps = []
        # each frame's arrival as the reader stamped it (the callback runs after the stamp)
        reader = StreamReader(server.url("1"), lambda f: times.append(reader.last_frame_at),
                              now=lambda: datetime.now(UTC), on_gap=gaps.append,
                              backoff_s=0.2, max_backoff_s=0.4)
        reader.start()
        try:
            wait_for(lambda: len(times), lambda n: n >= 5, wall_s=20)
            server.drop("1")
            wait_for(lambda: len(gaps), lambda n: n >= 1, wall_s=20)
            assert not reader.live
            lost_after = len(times)
            assert gaps[0].end is None and gaps[0].start == reader.last_frame_at == times[-1]
            time.sleep(0.5)  # still down: the reader retries (503) without ending the gap
            assert len(times) == lost_after and len(gaps) == 1
            server.drop("1", False)
            wait_for(lambda: len(times), lambda n: n >= lost_after + 5, wall_s=20)
        finally:
            reader.stop()
    assert len(gaps) == 2 and gaps[1].start == gaps[0].start and gaps[1].end is not None
    assert gaps[1].duration_s >= 0.5
    assert reader.live is True or reader.frames >= lost_after + 5


def test_unreachable_source_is_a_gap_with_the_reason() -> None:
    gaps = []
    reader = StreamReader("http://127.0.0.1:9/none.mjpg", lambda f: None,
                          now=lambda: T0, on_gap=gaps.append, backoff_s=0.1, open_timeout_s=1)
    reader.start()
    try:
        wait_for(lambda: reader.opens + len(gaps), lambda n: len(gaps) >= 1, wall_s=10)
    finally:
        reader.stop()
    assert gaps[0].start == T0 and gaps[0].end is None and "refused" in gaps[0].reason.lower()


# ---------------------------------------------------------------------- ring and clips

@pytest.mark.parametrize(("frames", "ring_s", "oldest_s", "window", "expected"), [
    (41, 30.0, 10, (15, 20), 6),  # t = 0..40 s: frames before 40 - 30 = 10 s are dropped
    (41, 30.0, 10, (0, 9), 0),  # that window is gone
    (10, 30.0, 0, (2.5, 4.5), 2),  # nothing dropped; 3 and 4 lie inside
])
def test_ring_keeps_the_last_seconds(frames: int, ring_s: float, oldest_s: float,
                                     window: tuple[float, float], expected: int) -> None:
    ring = FrameRing(ring_s)
    for i in range(frames):
        ring.add(Frame(i + 1, T0 + timedelta(seconds=i), b"x"))
    assert ring.oldest() == T0 + timedelta(seconds=oldest_s)
    start, end = (T0 + timedelta(seconds=s) for s in window)
    assert len(ring.window(start, end)) == expected


def test_clip_keeps_true_times_across_a_gap() -> None:
    # 25 frames at 10 fps (0.0-2.4 s), nothing for 1.6 s, 25 more (4.0-6.4 s); frame i is grey
    # level 40 + 4 i, so order and content can be read back
    times = [i / 10 for i in range(25)] + [4.0 + i / 10 for i in range(25)]
    frames = [Frame(i + 1, T0 + timedelta(seconds=t), _jpeg(40 + 4 * i)) for i, t in enumerate(times)]
    clip = encode_clip(frames)
    assert (clip.frames, clip.duration_s) == (50, pytest.approx(6.5))  # 6.4 s + one 0.1 s step
    with av.open(io.BytesIO(clip.data)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "vp8" and container.format.name.startswith("matroska")
        decoded = list(container.decode(stream))
    assert len(decoded) == 50
    pts_s = [float(f.pts * f.time_base) for f in decoded]
    assert pts_s[24] == pytest.approx(2.4) and pts_s[25] == pytest.approx(4.0)
    greys = [f.to_ndarray(format="gray").mean() for f in (decoded[0], decoded[49])]
    assert greys == [pytest.approx(40, abs=6), pytest.approx(40 + 4 * 49, abs=6)]


def test_empty_window_is_refused() -> None:
    with pytest.raises(EmptyClip, match="no frames"):
        encode_clip([])


def test_clip_frame_times_are_in_milliseconds() -> None:
    frames = [Frame(i + 1, T0 + timedelta(milliseconds=333 * i), _jpeg(100)) for i in range(4)]
    with av.open(io.BytesIO(encode_clip(frames).data)) as container:
        decoded = list(container.decode(video=0))
    assert [f.pts * f.time_base for f in decoded] == [Fraction(333 * i, 1000) for i in range(4)]


# ---------------------------------------------------------------------- the service and routes

@pytest.fixture
def camera() -> MjpegServer:
    with MjpegServer({"1": _grey_camera()}, fps=20) as server:
        yield server


@pytest.fixture
def settings(camera: MjpegServer, db_url: str, tmp_path: Path) -> Settings:
    """The conftest's service settings with drone d1's camera as its one stream (no detector:
    the boxes are tested in tests/web/test_video_console.py)."""
    return Settings(_env_file=None, database_url=db_url, data_dir=tmp_path,
                    secret_key=TEST_SECRET, video_sources={"d1": camera.url("1")},
                    video_detector="off", video_clip_s=2.0, **NO_MERGE)


@pytest.fixture
def clock() -> SystemClock:
    return SystemClock()  # frames arrive in wall time; the clips are cut in it


@pytest.fixture
def video_client(client: TestClient) -> TestClient:
    return client


def _event_of_team(client: TestClient, headers: dict, team: str, drone: str | None) -> int:
    r = client.post("/api/v1/candidates", json=candidate(), headers=headers["op"])
    event_id = r.json()["id"]
    assert client.post(f"/api/v1/events/{event_id}/review", json={"decision": "confirm"},
                       headers=headers["op"]).status_code == 200
    r = client.post(f"/api/v1/events/{event_id}/assign", json={"team_id": team, "drone_id": drone},
                    headers=headers["op"])
    assert r.status_code == 200, r.text
    return event_id


def test_who_may_watch(video_client: TestClient, headers: dict) -> None:
    c = video_client
    event_id = _event_of_team(c, headers, "t1", "d1")
    live = f"/api/v1/events/{event_id}/video/live"
    for path in ("/api/v1/video/drones", "/api/v1/video/drones/d1/live", live):
        assert c.get(path).status_code == 401
    assert c.get("/api/v1/video/drones/d1/live", headers=headers["tm1"]).status_code == 403
    assert c.get("/api/v1/video/drones", headers=headers["det"]).status_code == 403
    # a team not on the event: the answer of a missing event
    r = c.get(live, headers=headers["tm2"])
    assert r.status_code == 404 and r.json()["detail"].startswith(f"no event with id {event_id}")
    r = c.get("/api/v1/video/drones/d9/live", headers=headers["op"])
    assert r.status_code == 404 and "no video stream" in r.json()["detail"]
    assert c.post(f"/api/v1/events/{event_id}/video/clip", headers=headers["tm1"]).status_code == 403
    listed = c.get("/api/v1/video/drones", headers=headers["eva"]).json()
    assert [(s["drone_id"], s["url"], s["detector_looks"]) for s in listed] == [
        ("d1", "/api/v1/video/drones/d1/live", 0)]  # the detector is off here


def test_event_without_a_streaming_drone_has_no_video(video_client: TestClient, headers: dict) -> None:
    event_id = _event_of_team(video_client, headers, "t1", "d2")  # d2 has no stream
    r = video_client.get(f"/api/v1/events/{event_id}/video/live", headers=headers["tm1"])
    assert r.status_code == 404 and f"event {event_id} has no drone with a video stream" in r.json()["detail"]


def test_public_pages_never_serve_video() -> None:
    public_video = [path for (_m, path), rule in ACCESS.items() if rule.public and "video" in path]
    assert public_video == []
    template = (Path(__file__).resolve().parents[2] / "api/web/templates/code.html").read_text()
    assert "video" not in template.lower() and "canvas" not in template.lower()


def test_operator_clip_is_evidence_with_an_audit_row(video_client: TestClient, headers: dict,
                                                     camera: MjpegServer) -> None:
    c = video_client
    hub = c.app.state.video.hubs["d1"]
    wait_for(lambda: len(hub.ring), lambda n: n >= 10, wall_s=20)
    # seen by d1 an hour ago: long out of the ring, so the clip is of the seconds up to the request
    # (and the automatic clip finds no frames around the detection and stores nothing)
    an_hour_ago = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    event_id = c.post("/api/v1/candidates", json=candidate(drone_id="d1", detected_at=an_hour_ago),
                      headers=headers["op"]).json()["id"]
    camera.drop("1")  # freeze the ring: the clip must hold exactly what it held
    wait_for(lambda: hub.status()["state"], lambda s: s == "lost", wall_s=20)
    held = hub.ring.window(T0, datetime.now(UTC))
    r = c.post(f"/api/v1/events/{event_id}/video/clip", headers=headers["op"])
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["kind"], body["content_type"], body["uploaded_by"]) == ("clip", "video/webm", "op")
    data = c.get(body["url"], headers=headers["op"]).content
    assert len(data) == body["size_bytes"]
    with av.open(io.BytesIO(data)) as container:
        decoded = list(container.decode(video=0))
    audit = c.get(f"/api/v1/events/{event_id}/audit", headers=headers["op"]).json()
    note = audit[-1]
    assert note["actor"] == "op" and note["reason"].startswith(f"evidence clip #{body['id']}: ")
    assert "drone d1's video up to the request" in note["reason"]
    assert note["from_state"] == note["to_state"]
    first, last = (datetime.fromisoformat(v) for v in
                   note["reason"].split("(", 1)[1].split(",")[0].split(" to "))
    # it ends at the last frame before the request, spans at most the 2 s of video_clip_s, and
    # holds every frame the ring had from its first to its last
    in_clip = [f for f in held if first <= f.at <= last]
    assert last == held[-1].at and (last - first).total_seconds() <= 2.0
    assert len(decoded) == len(in_clip) and f"{len(in_clip)} frames" in note["reason"]
    assert [e["kind"] for e in c.get(f"/api/v1/events/{event_id}",
                                     headers=headers["op"]).json()["evidence"]] == ["clip"]
    # once the last frame is older than the clip's 2 s, there is nothing to cut: 409, nothing stored
    time.sleep(max(0.0, 2.2 - (datetime.now(UTC) - last).total_seconds()))
    r = c.post(f"/api/v1/events/{event_id}/video/clip", headers=headers["op"])
    assert r.status_code == 409 and "no frames of this drone's video" in r.json()["detail"]
    assert len(c.get(f"/api/v1/events/{event_id}", headers=headers["op"]).json()["evidence"]) == 1


def test_alerted_event_gets_its_clip_by_itself(video_client: TestClient, headers: dict) -> None:
    c = video_client
    hub = c.app.state.video.hubs["d1"]
    wait_for(lambda: len(hub.ring), lambda n: n >= 10, wall_s=20)
    event_id = c.post("/api/v1/candidates", json=candidate(drone_id="d1"),
                      headers=headers["op"]).json()["id"]
    detail = wait_for(lambda: c.get(f"/api/v1/events/{event_id}", headers=headers["op"]).json(),
                      lambda d: any(e["kind"] == "clip" for e in d["evidence"]), wall_s=20)
    clip = next(e for e in detail["evidence"] if e["kind"] == "clip")
    assert clip["uploaded_by"] == "video"
    with av.open(io.BytesIO(c.get(clip["url"], headers=headers["op"]).content)) as container:
        decoded = list(container.decode(video=0))
    # 2 s around the detection of a 20 fps camera: about 40 frames (CPU-starved: fewer)
    assert 10 <= len(decoded) <= 42
    span_s = float(decoded[-1].pts * decoded[-1].time_base)
    assert span_s <= 2.0
    reasons = [a["reason"] for a in c.get(f"/api/v1/events/{event_id}/audit",
                                          headers=headers["op"]).json()]
    assert any(r and r.startswith("evidence clip #") and "around the detection" in r for r in reasons)


def test_sources_come_from_the_fleet_file_and_the_setting(tmp_path: Path) -> None:
    from api.video.service import video_sources

    fleet = tmp_path / "fleet.toml"
    fleet.write_text('[[drone]]\nid = "a"\nurl = "tcp:h:1"\ndock = [29.5, 120.9]\n'
                     'video = "rtsp://cam-a/live"\n\n'
                     '[[drone]]\nid = "b"\nurl = "tcp:h:2"\ndock = [29.5, 120.9]\n\n'
                     '[[drone]]\nid = "c"\nurl = "tcp:h:3"\ndock = [29.5, 120.9]\n'
                     'video = "srt://cam-c:9000"\n')
    settings = Settings(_env_file=None, fleet_file=fleet, data_dir=tmp_path,
                        video_sources={"c": "http://gw/c.flv", "d": "/data/d.mp4"})
    # b has no camera; the setting overrides c's and adds d (a drone registered by the API)
    assert video_sources(settings) == {"a": "rtsp://cam-a/live", "c": "http://gw/c.flv",
                                       "d": "/data/d.mp4"}


def test_only_the_newest_frame_keeps_its_decoded_image() -> None:
    from api.video.hub import StreamHub
    from api.video.source import SourceFrame

    hub = StreamHub("d1", "/nowhere.mp4", now=lambda: T0, ring_s=30)  # not started: fed by hand
    for grey in (10, 20, 30):
        image = np.full((240, 320, 3), grey, np.uint8)
        hub._frame(SourceFrame(_jpeg(grey), 320, 240, image))
    frames = hub.ring.window(T0, T0)
    assert [f.seq for f in frames] == [1, 2, 3]
    assert [f._bgr is not None for f in frames] == [False, False, True]
    assert int(frames[-1]._bgr[0, 0, 0]) == 30


def test_a_camera_that_goes_silent_is_a_gap_after_the_read_timeout() -> None:
    import socket
    import threading

    import cv2 as _cv2

    # an MJPEG camera that sends three frames and then nothing, keeping the connection open
    jpeg = _cv2.imencode(".jpg", np.full((240, 320, 3), 90, np.uint8))[1].tobytes()
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    held: list[socket.socket] = []

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            conn.recv(4096)
            conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: multipart/x-mixed-replace; "
                         b"boundary=b\r\n\r\n" + b"".join(
                             b"--b\r\nContent-Type: image/jpeg\r\nContent-Length: "
                             + str(len(jpeg)).encode() + b"\r\n\r\n" + jpeg + b"\r\n"
                             for _ in range(3)))
            held.append(conn)  # silent from now on

    threading.Thread(target=serve, daemon=True).start()
    gaps, frames = [], []
    reader = StreamReader(f"http://127.0.0.1:{port}/cam.mjpg", frames.append,
                          now=lambda: datetime.now(UTC),
                          on_gap=lambda g: gaps.append((g, datetime.now(UTC))),
                          backoff_s=5.0, open_timeout_s=1.0)
    reader.start()
    try:
        wait_for(lambda: len(gaps), lambda n: n >= 1, wall_s=20)
    finally:
        reader.signal_stop()
        listener.close()
        for conn in held:
            conn.close()
        reader.stop()
    # the demuxer holds back the last part until the next boundary: two of three frames come
    gap, noticed = gaps[0]
    assert len(frames) in (2, 3) and gap.end is None and gap.start == reader.last_frame_at
    # noticed one read timeout (1 s) after the last frame: not at once, and not never
    assert 1.0 <= (noticed - gap.start).total_seconds() < 4.0
