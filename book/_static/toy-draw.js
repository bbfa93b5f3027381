/* Drawing a two-dimensional W on a canvas, as the chapter's static figure does:
   one arrow per feature (column W_i) inside the dashed unit circle, and the
   WᵀW matrix as a heat map (blue negative, white zero, red positive, clipped
   at ±1.2). The colours are the static figures': a figure's data script
   (written by course build) sets window.CoursePalette; PALETTE below is only
   the fallback. window.CourseDraw is used by explorer.js and trainer.js. */
(function (root) {
  "use strict";

  const PALETTE = {
    features: ["#f59e0b", "#38bdf8", "#f472b6", "#4ade80", "#a78bfa", "#fb7185", "#2dd4bf", "#facc15",
               "#60a5fa", "#c084fc"],
    muted: "#94a3b8",
    negative: "#2563eb",
    zero: "#f8fafc",
    positive: "#dc2626",
  };

  function palette() {
    return root.CoursePalette || PALETTE;
  }

  function featureColor(i) {
    const features = palette().features;
    return features[i % features.length];
  }

  /** Size the canvas's backing store for the screen; returns a context in CSS pixels. */
  function context(canvas) {
    const ratio = (root.devicePixelRatio || 1);
    const size = Number(canvas.getAttribute("width")) || 240;
    if (!canvas.dataset.size) canvas.dataset.size = String(size);
    const css = Number(canvas.dataset.size);
    if (canvas.width !== Math.round(css * ratio)) {
      canvas.width = Math.round(css * ratio);
      canvas.height = Math.round(css * ratio);
      canvas.style.width = css + "px";
      canvas.style.height = css + "px";
    }
    const ctx = canvas.getContext("2d");
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    return { ctx: ctx, size: css };
  }

  /**
   * The arrows of W: columns is a list of [x, y] (one per feature); arrows shorter
   * than opts.hide (default 0.05) are not drawn, as in the static figure.
   */
  function arrows(canvas, columns, opts) {
    opts = opts || {};
    const { ctx, size } = context(canvas);
    const reach = opts.reach || 1.4;
    const half = size / 2, unit = half / reach;
    ctx.clearRect(0, 0, size, size);
    ctx.fillStyle = "#ffffff";
    ctx.fillRect(0, 0, size, size);
    ctx.strokeStyle = palette().muted;
    ctx.lineWidth = 1;
    ctx.setLineDash([4, 4]);
    ctx.beginPath();
    ctx.arc(half, half, unit, 0, 2 * Math.PI);
    ctx.stroke();
    ctx.setLineDash([]);
    const hide = opts.hide === undefined ? 0.05 : opts.hide;
    columns.forEach(function (v, i) {
      const len = Math.hypot(v[0], v[1]);
      if (!(len >= hide)) return;
      const x = half + v[0] * unit, y = half - v[1] * unit;
      const color = featureColor(i);
      ctx.strokeStyle = color;
      ctx.fillStyle = color;
      ctx.lineWidth = 2.5;
      ctx.beginPath();
      ctx.moveTo(half, half);
      ctx.lineTo(x, y);
      ctx.stroke();
      const angle = Math.atan2(y - half, x - half), head = Math.min(10, len * unit * 0.5);
      ctx.beginPath();
      ctx.moveTo(x, y);
      ctx.lineTo(x - head * Math.cos(angle - 0.4), y - head * Math.sin(angle - 0.4));
      ctx.lineTo(x - head * Math.cos(angle + 0.4), y - head * Math.sin(angle + 0.4));
      ctx.closePath();
      ctx.fill();
      if (opts.labels !== false) {
        ctx.font = "12px sans-serif";
        ctx.textAlign = "center";
        ctx.textBaseline = "middle";
        const lx = half + v[0] * unit * (1 + 14 / Math.max(len * unit, 1)), ly = half - v[1] * unit * (1 + 14 / Math.max(len * unit, 1));
        ctx.fillText(String(i + 1), Math.min(size - 8, Math.max(8, lx)), Math.min(size - 8, Math.max(8, ly)));
      }
    });
  }

  function mix(a, b, t) {
    const pa = parseInt(a.slice(1), 16), pb = parseInt(b.slice(1), 16);
    const ch = function (shift) {
      const x = (pa >> shift) & 255, y = (pb >> shift) & 255;
      return Math.round(x + (y - x) * t);
    };
    return "rgb(" + ch(16) + "," + ch(8) + "," + ch(0) + ")";
  }

  /** The colour of a WᵀW entry on the course's blue–white–red scale. */
  function gramColor(value, vmax) {
    const t = Math.max(-1, Math.min(1, value / (vmax || 1.2)));
    const p = palette();
    return t >= 0 ? mix(p.zero, p.positive, t) : mix(p.zero, p.negative, -t);
  }

  /** WᵀW as a heat map (G: n rows of n numbers). */
  function gram(canvas, G, opts) {
    opts = opts || {};
    const { ctx, size } = context(canvas);
    const n = G.length, cell = size / Math.max(n, 1);
    ctx.clearRect(0, 0, size, size);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        ctx.fillStyle = gramColor(G[i][j], opts.vmax || 1.2);
        ctx.fillRect(j * cell, i * cell, Math.ceil(cell), Math.ceil(cell));
      }
    }
    ctx.strokeStyle = palette().muted;
    ctx.lineWidth = 1;
    ctx.strokeRect(0.5, 0.5, size - 1, size - 1);
  }

  /** A short digest of what a canvas shows, for tests: a hash of its pixels. */
  function digest(canvas) {
    const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
    let h = 2166136261;
    for (let j = 0; j < data.length; j += 4) {
      h = Math.imul(h ^ data[j] ^ (data[j + 1] << 8) ^ (data[j + 2] << 16), 16777619) >>> 0;
    }
    return h.toString(16);
  }

  /** Fill `list` with one row per feature from the page's <template> `row`:
      each [data-field] element gets the matching value of the feature. */
  function rows(list, row, items) {
    list.textContent = "";
    items.forEach(function (values, i) {
      const node = row.content.firstElementChild.cloneNode(true);
      node.querySelectorAll("[data-field]").forEach(function (el) {
        const key = el.getAttribute("data-field");
        if (key in values) el.textContent = values[key];
      });
      const swatch = node.querySelector("[data-swatch]");
      if (swatch) swatch.style.background = featureColor(i);
      list.appendChild(node);
    });
  }

  /** Fill every [data-field] under `el` with the value of that name. */
  function fields(el, values) {
    el.querySelectorAll("[data-field]").forEach(function (node) {
      const key = node.getAttribute("data-field");
      if (key in values) node.textContent = values[key];
    });
  }

  /** A number as the book writes it: two decimals, a true minus sign. */
  function num(x, digits) {
    const s = Number(x).toFixed(digits === undefined ? 2 : digits);
    return s.charAt(0) === "-" ? "\u2212" + s.slice(1) : s;
  }

  /** The angle of an arrow in degrees, 0–360 (counter-clockwise from the right). */
  function angle(v) {
    return (Math.atan2(v[1], v[0]) * 180 / Math.PI + 360) % 360;
  }

  root.CourseDraw = {
    PALETTE: PALETTE,
    palette: palette,
    featureColor: featureColor,
    arrows: arrows,
    gram: gram,
    gramColor: gramColor,
    digest: digest,
    rows: rows,
    fields: fields,
    num: num,
    angle: angle,
  };
})(typeof window !== "undefined" ? window : globalThis);
