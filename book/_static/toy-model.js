/* The toy ReLU-output model of "Toy Models of Superposition", trained in the page.

   The same maths as the course's engine (course/engine.py): W is m x n (hidden x
   features, column W_i is feature i's direction), b has n entries, and

     h = W x,   x' = ReLU(Wᵀ h + b),
     L = (1 / (B n)) Σ_batch Σ_i I_i (x'_i − x_i)²,

   with importance I_i = decay^i (i counted from 0), W drawn Xavier-normal
   (standard deviation sqrt(2 / (m + n))), b = 0, and Adam with torch's defaults
   (β1 = 0.9, β2 = 0.999, ε = 1e-8, bias-corrected). Feature i of an input is 0
   with probability 1 − p (p = the density, 1 − S) and otherwise uniform on (0, 1],
   drawn as x = max(0, 1 − u / p) from one uniform u, as the engine draws it.

   Numbers are float64 arrays, W row-major (W[k * n + i] is hidden k, feature i).
   Nothing here touches the page: window.CourseToy is the API the figures and the
   tests use. A seeded generator (rng) makes every run repeatable; Model also
   takes given initial weights, and step() takes given batches. */
(function (root) {
  "use strict";

  /** A seeded uniform generator on [0, 1): sfc32, its state set by splitmix32. */
  function rng(seed) {
    let s = (Number(seed) >>> 0) || 0;
    function splitmix() {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    }
    let a = splitmix(), b = splitmix(), c = splitmix(), d = splitmix();
    const next = function () {
      const t = (((a + b) >>> 0) + d) >>> 0;
      d = (d + 1) >>> 0;
      a = b ^ (b >>> 9);
      b = (c + (c << 3)) >>> 0;
      c = ((c << 21) | (c >>> 11)) >>> 0;
      c = (c + t) >>> 0;
      return t / 4294967296;
    };
    for (let i = 0; i < 12; i++) next();
    return next;
  }

  /** A standard normal draw from a uniform generator (Box–Muller). */
  function normal(uniform) {
    let u = 0;
    while (u <= 0) u = uniform();
    const v = uniform();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** Importance of each of n features: decay^i for i = 0 .. n − 1. */
  function importance(n, decay) {
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) out[i] = Math.pow(decay, i);
    return out;
  }

  /** A batch of `size` inputs (row-major, size x n) at the given density. */
  function sample(n, density, size, uniform, out) {
    const x = out || new Float64Array(size * n);
    for (let j = 0; j < size * n; j++) {
      const v = 1 - uniform() / density;
      x[j] = v > 0 ? v : 0;
    }
    return x;
  }

  function flat(rows, count, what) {
    const out = new Float64Array(count);
    const values = [].concat.apply([], Array.from(rows, (r) => (typeof r === "number" ? [r] : Array.from(r))));
    if (values.length !== count) throw new Error(what + ": expected " + count + " numbers, got " + values.length);
    for (let j = 0; j < count; j++) out[j] = Number(values[j]);
    return out;
  }

  /**
   * One toy model and its Adam state.
   * opts: n, m (default 2), importance (n numbers, or decay), lr (default 1e-3),
   * beta1, beta2, eps; W (m x n nested or flat) and b (n) as given initial
   * weights, or seed / uniform to draw them.
   */
  function Model(opts) {
    const n = opts.n | 0, m = (opts.m || 2) | 0;
    if (!(n >= 1 && m >= 1)) throw new Error("n and m must be positive");
    this.n = n;
    this.m = m;
    this.lr = opts.lr === undefined ? 1e-3 : Number(opts.lr);
    this.beta1 = opts.beta1 === undefined ? 0.9 : opts.beta1;
    this.beta2 = opts.beta2 === undefined ? 0.999 : opts.beta2;
    this.eps = opts.eps === undefined ? 1e-8 : opts.eps;
    this.imp = opts.importance ? flat(opts.importance, n, "importance") : importance(n, opts.decay === undefined ? 1 : opts.decay);
    if (opts.W) {
      this.W = flat(opts.W, m * n, "W");
    } else {
      const uniform = opts.uniform || rng(opts.seed || 0);
      const std = Math.sqrt(2 / (m + n));
      this.W = new Float64Array(m * n);
      for (let j = 0; j < m * n; j++) this.W[j] = normal(uniform) * std;
    }
    this.b = opts.b ? flat(opts.b, n, "b") : new Float64Array(n);
    this.mW = new Float64Array(m * n);
    this.vW = new Float64Array(m * n);
    this.mb = new Float64Array(n);
    this.vb = new Float64Array(n);
    this.dW = new Float64Array(m * n);
    this.db = new Float64Array(n);
    this.t = 0;
    this._size = 0;
  }

  Model.prototype._buffers = function (size) {
    if (this._size !== size) {
      this.h = new Float64Array(size * this.m);
      this.g = new Float64Array(size * this.n);
      this._size = size;
    }
  };

  /** The loss of a batch (size x n, row-major) and, into dW and db, its gradient. */
  Model.prototype.gradient = function (x, size) {
    const n = this.n, m = this.m, W = this.W, b = this.b, imp = this.imp;
    this._buffers(size);
    const h = this.h, g = this.g, dW = this.dW, db = this.db;
    dW.fill(0);
    db.fill(0);
    let loss = 0;
    const scale = 2 / (size * n);
    for (let r = 0; r < size; r++) {
      const xo = r * n, ho = r * m;
      for (let k = 0; k < m; k++) {
        let s = 0;
        const wo = k * n;
        for (let i = 0; i < n; i++) s += W[wo + i] * x[xo + i];
        h[ho + k] = s;
      }
      for (let i = 0; i < n; i++) {
        let z = b[i];
        for (let k = 0; k < m; k++) z += h[ho + k] * W[k * n + i];
        const xi = x[xo + i];
        const out = z > 0 ? z : 0;
        const err = out - xi;
        loss += imp[i] * err * err;
        // dL/dz = (2 I_i / (B n)) (x' − x), zero where the ReLU is off (z ≤ 0)
        const gi = z > 0 ? scale * imp[i] * err : 0;
        g[xo + i] = gi;
        db[i] += gi;
      }
      for (let k = 0; k < m; k++) {
        const wo = k * n, hk = h[ho + k];
        let dh = 0;
        for (let i = 0; i < n; i++) dh += g[xo + i] * W[wo + i];
        for (let i = 0; i < n; i++) dW[wo + i] += hk * g[xo + i] + dh * x[xo + i];
      }
    }
    return loss / (size * n);
  };

  /** The loss of a batch, without changing anything. */
  Model.prototype.loss = function (x, size) {
    const n = this.n, m = this.m, W = this.W, b = this.b, imp = this.imp;
    const h = new Float64Array(m);
    let loss = 0;
    for (let r = 0; r < size; r++) {
      const xo = r * n;
      for (let k = 0; k < m; k++) {
        let s = 0;
        for (let i = 0; i < n; i++) s += W[k * n + i] * x[xo + i];
        h[k] = s;
      }
      for (let i = 0; i < n; i++) {
        let z = b[i];
        for (let k = 0; k < m; k++) z += h[k] * W[k * n + i];
        const err = (z > 0 ? z : 0) - x[xo + i];
        loss += imp[i] * err * err;
      }
    }
    return loss / (size * n);
  };

  function adam(p, grad, mo, ve, lr, b1, b2, eps, t) {
    const c1 = 1 - Math.pow(b1, t), c2 = Math.sqrt(1 - Math.pow(b2, t));
    const stepSize = lr / c1;
    for (let j = 0; j < p.length; j++) {
      const gj = grad[j];
      mo[j] = b1 * mo[j] + (1 - b1) * gj;
      ve[j] = b2 * ve[j] + (1 - b2) * gj * gj;
      p[j] -= stepSize * mo[j] / (Math.sqrt(ve[j]) / c2 + eps);
    }
  }

  /** One Adam step on a given batch (size x n, row-major); returns the batch's loss before the step. */
  Model.prototype.step = function (x, size) {
    if (x.length !== size * this.n) throw new Error("a batch of " + size + " needs " + size * this.n + " numbers");
    const loss = this.gradient(x, size);
    this.t += 1;
    adam(this.W, this.dW, this.mW, this.vW, this.lr, this.beta1, this.beta2, this.eps, this.t);
    adam(this.b, this.db, this.mb, this.vb, this.lr, this.beta1, this.beta2, this.eps, this.t);
    return loss;
  };

  /** Column i of W as [x, y, ...]. */
  Model.prototype.column = function (i) {
    const out = [];
    for (let k = 0; k < this.m; k++) out.push(this.W[k * this.n + i]);
    return out;
  };

  /** W as m rows of n numbers, and b: plain arrays. */
  Model.prototype.weights = function () {
    const rows = [];
    for (let k = 0; k < this.m; k++) rows.push(Array.from(this.W.subarray(k * this.n, (k + 1) * this.n)));
    return { W: rows, b: Array.from(this.b) };
  };

  /** Length of each feature's column, ‖W_i‖. */
  function norms(W, m, n) {
    const out = [];
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let k = 0; k < m; k++) s += W[k * n + i] * W[k * n + i];
      out.push(Math.sqrt(s));
    }
    return out;
  }

  /** WᵀW (n x n, nested arrays) of a row-major m x n matrix. */
  function gram(W, m, n) {
    const out = [];
    for (let i = 0; i < n; i++) {
      const row = [];
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let k = 0; k < m; k++) s += W[k * n + i] * W[k * n + j];
        row.push(s);
      }
      out.push(row);
    }
    return out;
  }

  /** Feature dimensionality D_i = ‖W_i‖² / Σ_j (Ŵ_i · W_j)² (0 for a zero column). */
  function dimensionality(W, m, n) {
    const G = gram(W, m, n);
    const out = [];
    for (let i = 0; i < n; i++) {
      const sq = G[i][i];
      if (Math.sqrt(sq) <= 1e-6) { out.push(0); continue; }
      let den = 0;
      for (let j = 0; j < n; j++) den += (G[i][j] * G[i][j]) / sq;
      out.push(sq / den);
    }
    return out;
  }

  /**
   * Train from given weights on given batches: opts as for Model, plus batches
   * (a list of batches, each size x n, nested or flat). Returns the weights
   * after every batch was used once, and the loss of each batch.
   */
  function trainGiven(opts) {
    const model = new Model(opts);
    const losses = [];
    for (const batch of opts.batches) {
      const rows = typeof batch[0] === "number" ? batch.length / model.n : batch.length;
      losses.push(model.step(flat(batch, rows * model.n, "batch"), rows));
    }
    const w = model.weights();
    return { W: w.W, b: w.b, losses: losses };
  }

  root.CourseToy = {
    rng: rng,
    normal: normal,
    importance: importance,
    sample: sample,
    Model: Model,
    norms: norms,
    gram: gram,
    dimensionality: dimensionality,
    trainGiven: trainGiven,
  };
})(typeof window !== "undefined" ? window : globalThis);
