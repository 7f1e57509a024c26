// Live drone video in the console: MJPEG read with fetch() (the token in the Authorization
// header, never in a URL), drawn on a canvas with the detector's boxes on top. It opens by
// itself on the drone of the alert the console selects (the "flyonce:select" event), shows
// "signal lost" with the time of the last frame, and reconnects by itself.
import { lang } from "./i18n.js";
import { esc, session } from "./common.js";

const WORDS = {
  zh: { title: "实时视频", none: "无视频", lost: "信号丢失 · 最后一帧 {t}", live: "实时 · {t} · {n} 个目标",
        connecting: "连接中…", event: "事件 #{id}", no_event_video: "事件 #{id} 无视频" },
  en: { title: "Live video", none: "no video", lost: "signal lost · last frame {t}", live: "live · {t} · {n} boxes",
        connecting: "connecting…", event: "event #{id}", no_event_video: "no video for event #{id}" },
};
function w(key, params = {}) {
  return (WORDS[lang()] || WORDS.en)[key].replace(/\{(\w+)\}/g, (_, k) => params[k] ?? "");
}
const BOX_COLOUR = "#ff00ff";  // magenta: no colour of the town's ground or roofs
const MAX_BACKOFF_MS = 8000;

/** The parts of a multipart/x-mixed-replace response: {headers (lower-case), body Uint8Array}. */
export async function* multipartParts(response) {
  const m = /boundary="?([^";]+)"?/i.exec(response.headers.get("content-type") || "");
  if (!m) throw new Error("not a multipart stream");
  const reader = response.body.getReader();
  const dec = new TextDecoder();
  let buf = new Uint8Array(0);
  const find = (seq, from = 0) => {
    outer: for (let i = from; i <= buf.length - seq.length; i++) {
      for (let j = 0; j < seq.length; j++) if (buf[i + j] !== seq[j]) continue outer;
      return i;
    }
    return -1;
  };
  const CRLF2 = [13, 10, 13, 10];
  for (;;) {
    const end = find(CRLF2);
    if (end >= 0) {
      const head = dec.decode(buf.subarray(0, end)).split("\r\n").filter((l) => l && !l.startsWith("--"));
      const headers = {};
      for (const line of head) {
        const i = line.indexOf(":");
        if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
      }
      const length = Number(headers["content-length"]);
      if (!Number.isFinite(length)) throw new Error("a part without Content-Length");
      if (buf.length >= end + 4 + length) {
        const body = buf.slice(end + 4, end + 4 + length);
        buf = buf.slice(end + 4 + length);
        yield { headers, body };
        continue;
      }
    }
    const { value, done } = await reader.read();
    if (done) return;
    const next = new Uint8Array(buf.length + value.length);
    next.set(buf); next.set(value, buf.length);
    buf = next;
  }
}

class VideoPanel {
  constructor() {
    this.frames = 0; this.state = "idle"; this.boxes = null; this.lastFrameAt = null;
    this.source = null; this.abort = null; this.backoff = 500; this.drawnAtMs = null;
    const link = document.createElement("link");
    link.rel = "stylesheet"; link.href = "/ui/static/css/video.css";
    document.head.append(link);
    this.el = document.createElement("section");
    this.el.id = "video-panel"; this.el.className = "video-panel"; this.el.hidden = true;
    this.el.innerHTML = `<div class="video-head"><b class="video-title"></b>
      <select id="video-drone" aria-label="drone"></select><span id="video-event"></span></div>
      <div class="video-frame"><canvas id="video-canvas" width="320" height="240"></canvas>
      <div id="video-lost" class="video-lost" hidden></div></div>
      <div id="video-status" class="video-status" role="status"></div>`;
    // over the map's lower right corner (the legend holds the lower left), as a map control:
    // pointer and wheel events on it do not pan or zoom the map
    (document.getElementById("map") || document.body).append(this.el);
    if (window.L) { L.DomEvent.disableClickPropagation(this.el); L.DomEvent.disableScrollPropagation(this.el); }
    this.canvas = this.el.querySelector("canvas");
    this.ctx = this.canvas.getContext("2d", { willReadFrequently: true });
    this.select = this.el.querySelector("#video-drone");
    this.select.onchange = () => this.open(`/api/v1/video/drones/${encodeURIComponent(this.select.value)}/live`,
                                           { drone: this.select.value });
    window.addEventListener("langchange", () => this.paint());
  }

  async load() {
    const s = session();
    const r = await fetch("/api/v1/video/drones", { headers: { Authorization: `Bearer ${s.access_token}` } });
    if (!r.ok) return;  // a role without video: no panel
    const streams = await r.json();
    if (!streams.length) return;
    this.select.innerHTML = streams.map((x) => `<option value="${esc(x.drone_id)}">${esc(x.drone_id)}</option>`).join("");
    this.el.hidden = false;
    this.open(streams[0].url, { drone: streams[0].drone_id });
  }

  /** Watch the drone of event `id` (tasked there, else the one that saw it), if it has video. */
  openEvent(id) {
    if (this.el.hidden || (this.source && this.source.event === id)) return;
    this.open(`/api/v1/events/${id}/video/live`, { event: id, back: this.source });
  }

  open(url, { drone = null, event = null, back = null } = {}) {
    if (this.abort) this.abort.abort();
    this.source = { url, drone, event, back };
    this.backoff = 500;
    this.run(this.source);
  }

  async run(source) {
    while (this.source === source) {
      const abort = new AbortController();
      this.abort = abort;
      this.state = "connecting"; this.paint();
      try {
        const r = await fetch(source.url, { headers: { Authorization: `Bearer ${session().access_token}` },
                                            signal: abort.signal, cache: "no-store" });
        if (r.status === 404 && source.event != null) {  // that event has no video: keep watching what we were
          this.note = w("no_event_video", { id: source.event }); this.paint();
          const back = source.back;
          if (back) this.open(back.url, { drone: back.drone, event: back.event });
          else this.source = null;
          return;
        }
        if (!r.ok) throw new Error(`HTTP ${r.status}`);
        const drone = r.headers.get("x-drone-id");
        if (drone) { source.drone = drone; this.select.value = drone; }
        this.note = source.event != null ? w("event", { id: source.event }) : "";
        for await (const part of multipartParts(r)) {
          if (this.source !== source) return;
          if (part.headers["content-type"] === "application/json") {
            const st = JSON.parse(new TextDecoder().decode(part.body));
            if (st.state === "lost") { this.state = "lost"; this.lastFrameAt = st.last_frame_at || this.lastFrameAt; this.paint(); }
            continue;
          }
          await this.draw(part);
          this.backoff = 500;
        }
        throw new Error("stream ended");
      } catch (err) {
        if (this.source !== source) return;
        this.state = "lost"; this.paint();
        await new Promise((ok) => setTimeout(ok, this.backoff));
        this.backoff = Math.min(MAX_BACKOFF_MS, this.backoff * 2);
      }
    }
  }

  async draw(part) {
    const bitmap = await createImageBitmap(new Blob([part.body], { type: "image/jpeg" }));
    if (this.canvas.width !== bitmap.width || this.canvas.height !== bitmap.height) {
      this.canvas.width = bitmap.width; this.canvas.height = bitmap.height;
    }
    const ctx = this.ctx;
    ctx.drawImage(bitmap, 0, 0);
    bitmap.close();
    const det = JSON.parse(part.headers["x-boxes"] || "null");
    this.boxes = det;
    if (det && det.boxes.length && det.wh[0] > 0) {
      const sx = this.canvas.width / det.wh[0], sy = this.canvas.height / det.wh[1];
      ctx.lineWidth = 2; ctx.strokeStyle = BOX_COLOUR; ctx.fillStyle = BOX_COLOUR; ctx.font = "11px sans-serif";
      for (const b of det.boxes) {
        const [x0, y0, x1, y1] = b.xyxy;
        ctx.strokeRect(x0 * sx, y0 * sy, (x1 - x0) * sx, (y1 - y0) * sy);
        ctx.fillText(`${b.label} ${Math.round(b.confidence * 100)}%`, x0 * sx, Math.max(10, y0 * sy - 3));
      }
    }
    this.frames += 1;
    this.seq = Number(part.headers["x-frame-seq"]);
    this.lastFrameAt = part.headers["x-frame-at"];
    this.drawnAtMs = Date.now();
    if (this.state !== "live") { this.state = "live"; }
    this.paint();
  }

  paint() {
    this.el.querySelector(".video-title").textContent = w("title");
    this.el.querySelector("#video-event").textContent = this.note || "";
    const lost = this.el.querySelector("#video-lost");
    const when = this.lastFrameAt ? new Date(this.lastFrameAt).toLocaleTimeString() : "—";
    lost.hidden = this.state !== "lost";
    lost.textContent = w("lost", { t: when });
    this.el.dataset.state = this.state;
    this.el.querySelector("#video-status").textContent = this.state === "live"
      ? w("live", { t: when, n: this.boxes ? this.boxes.boxes.length : 0 })
      : this.state === "lost" ? w("lost", { t: when }) : w("connecting");
  }
}

const s = session();
if (s && ["operator", "admin", "evaluator"].includes(s.role)) {
  const panel = new VideoPanel();
  window.flyonceVideo = panel;  // for tests and benchmarks: frames, seq, boxes, state
  panel.load();
  window.addEventListener("flyonce:select", (ev) => {
    if (ev.detail && ev.detail.id != null) panel.openEvent(ev.detail.id);
  });
}
