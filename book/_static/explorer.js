/* The density explorer: a slider over the models this build trained (one per
   sparsity), drawing the chosen model's arrows of W and its WᵀW, with the D_i
   the build measured listed beside them.

   Markup (the chapter writes it, words included): an element with
   data-course-explorer="SLUG", whose data script (_static/interactive/SLUG.js,
   written by course build) sets window.CourseData[SLUG]; inside it a hidden
   .course-live part with an input[type=range], canvas.course-arrows,
   canvas.course-gram, an output.course-readout with [data-field] spans
   (sparsity, density, represented, n), a list .course-feature-list and a
   <template class="course-feature-row"> with [data-field] spans (feature,
   dimensionality, norm, angle). Without scripts, or without its data, the part
   stays hidden and the chapter's static figure and text stand alone. */
(function () {
  "use strict";

  function columns(W) {
    const n = W[0].length, out = [];
    for (let i = 0; i < n; i++) out.push(W.map(function (row) { return row[i]; }));
    return out;
  }

  function gram(W) {
    const cols = columns(W);
    return cols.map(function (a) {
      return cols.map(function (b) { return a.reduce(function (s, v, k) { return s + v * b[k]; }, 0); });
    });
  }

  function init(el) {
    const Draw = window.CourseDraw;
    const data = (window.CourseData || {})[el.getAttribute("data-course-explorer")];
    const live = el.querySelector(".course-live");
    const slider = el.querySelector("input[type=range]");
    if (!Draw || !data || !live || !slider || !data.runs || !data.runs.length) return;
    const arrows = el.querySelector("canvas.course-arrows");
    const heat = el.querySelector("canvas.course-gram");
    const readout = el.querySelector(".course-readout");
    const list = el.querySelector(".course-feature-list");
    const row = el.querySelector("template.course-feature-row");
    slider.min = "0";
    slider.max = String(data.runs.length - 1);
    slider.step = "1";
    if (Number(slider.value) > data.runs.length - 1) slider.value = String(data.runs.length - 1);

    function show(k) {
      const run = data.runs[k];
      const cols = columns(run.W);
      if (arrows) Draw.arrows(arrows, cols);
      if (heat) Draw.gram(heat, gram(run.W));
      const dims = run.feature_dimensionality || [];
      const norms = run.feature_norms || cols.map(function (v) { return Math.hypot.apply(null, v); });
      if (readout) {
        Draw.fields(readout, {
          sparsity: String(run.sparsity),
          density: String(Math.round((1 - run.sparsity) * 1e6) / 1e6),
          represented: String(run.features_represented),
          n: String(data.n_features),
        });
        slider.setAttribute("aria-valuetext", readout.textContent.replace(/\s+/g, " ").trim());
      }
      if (list && row) {
        Draw.rows(list, row, cols.map(function (v, i) {
          return {
            feature: String(i + 1),
            dimensionality: dims[i] === undefined ? "" : Draw.num(dims[i]),
            norm: Draw.num(norms[i]),
            angle: String(Math.round(Draw.angle(v))),
          };
        }));
      }
      el.setAttribute("data-shown", String(k));
    }

    slider.addEventListener("input", function () { show(Number(slider.value)); });
    live.hidden = false;
    el.classList.add("course-live-on");
    show(Number(slider.value));
  }

  function start() {
    document.querySelectorAll("[data-course-explorer]").forEach(init);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
