// The detector's box on an event's snapshot: drawn over the image (the snapshot itself is the
// camera's frame, unmarked, so a reviewed one can be learned from), and, before a review,
// redrawn by dragging across the object. Coordinates are the snapshot's own pixels.

/** A data URL of the image at `src` with `box` (x1, y1, x2, y2 px) drawn in red: a thumbnail. */
export function markedImage(src, box) {
  return new Promise((resolve, reject) => {
    const img = new Image();
    img.onload = () => {
      const c = document.createElement("canvas");
      c.width = img.naturalWidth;
      c.height = img.naturalHeight;
      const g = c.getContext("2d");
      g.drawImage(img, 0, 0);
      if (box) {
        g.strokeStyle = "#ff2020";
        g.lineWidth = Math.max(2, c.width / 320);
        g.strokeRect(box[0], box[1], box[2] - box[0], box[3] - box[1]);
      }
      resolve(c.toDataURL("image/jpeg", 0.85));
    };
    img.onerror = () => reject(new Error("snapshot unreadable"));
    img.src = src;
  });
}

/**
 * A snapshot (`src`: a URL, or a promise of one) with its box over it. With `editable`, a drag across the image draws a new box;
 * `editor.box()` is the box now (the detector's until redrawn), `editor.moved()` whether it
 * was redrawn, `editor.reset()` puts the detector's back.
 */
export function boxEditor(src, box, { editable = false } = {}) {
  const wrap = document.createElement("div");
  wrap.className = "snapbox" + (editable ? " editable" : "");
  const img = document.createElement("img");
  img.alt = "snapshot";
  img.draggable = false;
  const frame = document.createElement("div");
  frame.className = "snapbox-frame";
  frame.dataset.role = "box";
  wrap.append(img, frame);
  let current = box ? [...box] : null;
  let moved = false;

  const place = () => {
    const w = img.naturalWidth, h = img.naturalHeight;
    frame.hidden = !current || !w;
    if (frame.hidden) return;
    const [x1, y1, x2, y2] = current;
    Object.assign(frame.style, { left: `${(100 * x1) / w}%`, top: `${(100 * y1) / h}%`,
      width: `${(100 * (x2 - x1)) / w}%`, height: `${(100 * (y2 - y1)) / h}%` });
    wrap.dataset.box = current.map((v) => v.toFixed(1)).join(",");
  };
  img.addEventListener("load", place);
  Promise.resolve(src).then((url) => { img.src = url; }).catch(() => {});

  if (editable) {
    // the pointer's place in the snapshot's own pixels, kept inside the image
    const at = (ev) => {
      const r = img.getBoundingClientRect();
      const clamp = (v, hi) => Math.min(Math.max(v, 0), hi);
      return [clamp(((ev.clientX - r.left) / r.width) * img.naturalWidth, img.naturalWidth),
              clamp(((ev.clientY - r.top) / r.height) * img.naturalHeight, img.naturalHeight)];
    };
    let start = null, before = null;
    wrap.addEventListener("pointerdown", (ev) => {
      if (!img.naturalWidth || ev.button !== 0) return;
      ev.preventDefault();
      start = at(ev);
      before = current;
      wrap.setPointerCapture(ev.pointerId);
    });
    wrap.addEventListener("pointermove", (ev) => {
      if (!start) return;
      const [x, y] = at(ev);
      current = [Math.min(start[0], x), Math.min(start[1], y), Math.max(start[0], x), Math.max(start[1], y)];
      place();
    });
    wrap.addEventListener("pointerup", () => {
      if (!start) return;
      start = null;
      // a click without a drag (under 3 px either way) keeps the box there was
      if (!current || current === before || current[2] - current[0] < 3 || current[3] - current[1] < 3) {
        current = before;
      } else {
        moved = true;
        wrap.dispatchEvent(new CustomEvent("boxchange", { detail: current }));
      }
      place();
    });
  }
  return {
    el: wrap,
    box: () => (current ? current.map((v) => Math.round(v * 10) / 10) : null),
    moved: () => moved,
    reset: () => { current = box ? [...box] : null; moved = false; place(); },
  };
}
