/* "Train it in the page": the reader chooses n (m = 2), the density and the
   importance decay, presses Train and watches a toy ReLU-output model learn
   (toy-model.js: the engine's maths, the engine's Adam).

   Like the chapter's experiment it trains several models from different random
   starts at once (data-starts) and keeps the one with the lowest loss on a
   fixed evaluation batch; while it trains, it shows the start whose recent loss
   is lowest. Everything follows from the seed, so a run can be repeated.

   Markup (the chapter writes it, words included): a [data-course-trainer]
   element with data-steps, data-batch, data-lr, data-starts and data-threshold
   (a feature counts as represented when ‖W_i‖ exceeds it); inside it a hidden
   form.course-live with fields n (select), density, decay (ranges) and seed
   (number), outputs [data-show=density] and [data-show=decay], a submit button
   and a button.course-stop, an output.course-status with [data-field] spans
   (step, steps, loss, represented, n), canvas.course-arrows, canvas.course-gram,
   a list .course-feature-list and a <template class="course-feature-row">.
   The element's data-state says idle, training, stopped or done, and its
   courseTrainer property gives the result to tests. */
(function () {
  "use strict";

  function attr(el, name, fallback) {
    const v = Number(el.getAttribute(name));
    return Number.isFinite(v) && el.hasAttribute(name) ? v : fallback;
  }

  function Trainer(el) {
    const Toy = window.CourseToy, Draw = window.CourseDraw;
    const form = el.querySelector("form.course-live");
    this.el = el;
    this.form = form;
    this.steps = attr(el, "data-steps", 3000);
    this.batch = attr(el, "data-batch", 256);
    this.lr = attr(el, "data-lr", 0.01);
    this.starts = Math.max(1, Math.min(16, attr(el, "data-starts", 8)));
    this.threshold = attr(el, "data-threshold", 0.5);
    this.evalSize = attr(el, "data-eval", 2048);
    this.arrows = el.querySelector("canvas.course-arrows");
    this.heat = el.querySelector("canvas.course-gram");
    this.status = el.querySelector(".course-status");
    this.list = el.querySelector(".course-feature-list");
    this.row = el.querySelector("template.course-feature-row");
    this.stopButton = el.querySelector("button.course-stop");
    this.Toy = Toy;
    this.Draw = Draw;
    this.running = false;
    this.frame = 0;
    const self = this;
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      self.train();
    });
    if (this.stopButton) this.stopButton.addEventListener("click", function () { self.stop(); });
    form.addEventListener("input", function () {
      self.showSettings();
      if (!self.running) self.reset();
    });
    form.hidden = false;
    el.classList.add("course-live-on");
    this.showSettings();
    this.reset();
  }

  /** The form's settings, clamped to what the figure supports. */
  Trainer.prototype.settings = function () {
    const f = this.form.elements;
    const clamp = function (v, lo, hi, dflt) { v = Number(v); return Number.isFinite(v) ? Math.min(hi, Math.max(lo, v)) : dflt; };
    return {
      n: Math.round(clamp(f.n.value, 2, 8, 5)),
      m: 2,
      density: clamp(f.density.value, 0.01, 1, 0.1),
      decay: clamp(f.decay.value, 0.01, 1, 0.9),
      seed: Math.round(clamp(f.seed.value, 0, 1e9, 0)),
    };
  };

  Trainer.prototype.showSettings = function () {
    const s = this.settings(), Draw = this.Draw;
    this.el.querySelectorAll("[data-show]").forEach(function (out) {
      const key = out.getAttribute("data-show");
      if (key === "density") out.textContent = Draw.num(s.density) + " (S = " + Draw.num(1 - s.density) + ")";
      else if (key === "decay") out.textContent = Draw.num(s.decay);
    });
  };

  /** New models (one per start) for the current settings, drawn at step 0. */
  Trainer.prototype.reset = function () {
    const s = this.settings(), Toy = this.Toy;
    this.current = s;
    this.models = [];
    this.data = [];
    for (let k = 0; k < this.starts; k++) {
      const uniform = Toy.rng((s.seed * 16 + k) >>> 0);
      this.models.push(new Toy.Model({ n: s.n, m: s.m, decay: s.decay, lr: this.lr, uniform: uniform }));
      this.data.push(uniform);
    }
    this.ema = this.models.map(function () { return NaN; });
    this.buffer = new Float64Array(this.batch * s.n);
    this.done = 0;
    this.shown = 0;
    this.el.setAttribute("data-state", "idle");
    this.draw(0, NaN);
  };

  Trainer.prototype.train = function () {
    this.stop();
    this.reset();
    this.running = true;
    this.el.setAttribute("data-state", "training");
    if (this.stopButton) this.stopButton.disabled = false;
    const self = this;
    const tick = function () {
      if (!self.running) return;
      const t0 = performance.now();
      while (self.done < self.steps && performance.now() - t0 < 14) self.stepAll();
      if (self.done >= self.steps) self.finish();
      else {
        self.draw(self.shown, self.ema[self.shown]);
        self.frame = requestAnimationFrame(tick);
      }
    };
    this.frame = requestAnimationFrame(tick);
  };

  Trainer.prototype.stepAll = function () {
    const s = this.current, Toy = this.Toy;
    let best = 0;
    for (let k = 0; k < this.models.length; k++) {
      Toy.sample(s.n, s.density, this.batch, this.data[k], this.buffer);
      const loss = this.models[k].step(this.buffer, this.batch);
      this.ema[k] = Number.isNaN(this.ema[k]) ? loss : 0.98 * this.ema[k] + 0.02 * loss;
      if (this.ema[k] < this.ema[best]) best = k;
    }
    this.shown = best;
    this.done += 1;
  };

  Trainer.prototype.stop = function () {
    if (this.frame) cancelAnimationFrame(this.frame);
    this.frame = 0;
    if (this.running) this.el.setAttribute("data-state", "stopped");
    this.running = false;
    if (this.stopButton) this.stopButton.disabled = true;
  };

  /** Keep the start with the lowest loss on a fixed evaluation batch. */
  Trainer.prototype.finish = function () {
    const s = this.current, Toy = this.Toy;
    const x = Toy.sample(s.n, s.density, this.evalSize, Toy.rng((s.seed + 1000003) >>> 0));
    const losses = this.models.map((model) => model.loss(x, this.evalSize));
    let best = 0;
    losses.forEach(function (l, k) { if (l < losses[best]) best = k; });
    this.best = best;
    this.evalLosses = losses;
    this.shown = best;
    this.running = false;
    if (this.stopButton) this.stopButton.disabled = true;
    this.draw(best, losses[best]);
    this.el.setAttribute("data-state", "done");
  };

  Trainer.prototype.draw = function (k, loss) {
    const model = this.models[k], Draw = this.Draw, Toy = this.Toy;
    const n = model.n, m = model.m;
    const cols = [];
    for (let i = 0; i < n; i++) cols.push(model.column(i));
    const norms = Toy.norms(model.W, m, n);
    const dims = Toy.dimensionality(model.W, m, n);
    const threshold = this.threshold;
    if (this.arrows) Draw.arrows(this.arrows, cols);
    if (this.heat) Draw.gram(this.heat, Toy.gram(model.W, m, n));
    const represented = norms.filter(function (v) { return v > threshold; }).length;
    if (this.status) {
      Draw.fields(this.status, {
        step: String(this.done),
        steps: String(this.steps),
        loss: Number.isNaN(loss) ? "–" : Number(loss).toPrecision(3),
        represented: String(represented),
        n: String(n),
        start: String(k + 1),
      });
    }
    if (this.list && this.row) {
      Draw.rows(this.list, this.row, cols.map(function (v, i) {
        return { feature: String(i + 1), dimensionality: Draw.num(dims[i]), norm: Draw.num(norms[i]),
                 angle: String(Math.round(Draw.angle(v))) };
      }));
    }
  };

  /** What the trained (or current) model is, for tests and curious readers. */
  Trainer.prototype.result = function () {
    const k = this.shown, model = this.models[k];
    const w = model.weights();
    return { W: w.W, b: w.b, start: k, steps: this.done, norms: this.Toy.norms(model.W, model.m, model.n),
             threshold: this.threshold, evalLosses: this.evalLosses || null, state: this.el.getAttribute("data-state") };
  };

  function start() {
    if (!window.CourseToy || !window.CourseDraw) return;
    document.querySelectorAll("[data-course-trainer]").forEach(function (el) {
      if (!el.courseTrainer && el.querySelector("form.course-live")) el.courseTrainer = new Trainer(el);
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
