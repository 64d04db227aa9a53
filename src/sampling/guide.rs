//! Fast draws: per-input tables of the inverse CDF, built once per run.
//!
//! A beta or PERT quantile needs an iterative solve of the regularised
//! incomplete beta (a continued fraction per step: a chain of divisions),
//! which made drawing the inputs about a quarter of a trial's time. A
//! [`QuantileGuide`] tabulates the quantile function instead, as one
//! polynomial per cell, and checks every cell against the exact solver when
//! it is built; a draw in a checked cell is a table look-up and a polynomial
//! (no division, no logarithm), and anywhere else it is the exact solve.
//!
//! **Cells.** With `w = min(u, 1 − u)`, the octaves `[2⁻ᵏ⁻¹, 2⁻ᵏ)` of `w` for
//! `k = 1..=10` are each cut into 16 equal cells, separately for `u < ½` and
//! `u > ½`: cells shrink with `w`, as the quantile function's scale does near
//! the ends of `(0, 1)`, and the cell of `u` is read off the bits of `w` (its
//! exponent and the top four bits of its mantissa, the rest being the
//! position inside the cell). The last 2⁻¹⁰ of probability at each end is
//! left to the exact solver.
//!
//! **Polynomials.** At each node the exact quantile `x` is solved and its
//! first four derivatives in `u` follow analytically from the beta density
//! (`dx/du = 1/f(x)`, then `d/du = (1/f)·d/dx`). The degree-9 Hermite
//! polynomial matching `x` and those derivatives at both ends of a cell has
//! an error of order `x⁽¹⁰⁾·h¹⁰ / (10!·4⁵)` in its middle, which for cells
//! of 1/16 of their distance to the end is about 1e-17 of `x` for smooth
//! shapes. A cell where `x > ½` interpolates `1 − x` instead, so that `1 − x`
//! keeps its relative accuracy near 1 as `x` does near 0.
//!
//! **Accuracy rule.** A cell is used only if, at its midpoint (where the
//! Hermite error peaks) and at a quarter of its width, the polynomial agrees
//! with the exact solver to [`CHECK_REL_ERROR`], a hundredth of the
//! documented bound [`GUIDED_REL_ERROR`]; a draw from the table is then
//! within `GUIDED_REL_ERROR · min(x, 1 − x) + 2·ε·x` of the exact solver's
//! quantile (`ε = 2⁻⁵²`; the second term is the rounding of a double near 1).
//! Cells that fail (power-law ends of shapes with `α` or `β` well below 1,
//! quantiles pinned at the ends of the doubles) keep the exact solve. The
//! tests sweep random shapes and `u` against the exact solver. One caveat:
//! for `α + β` above about 1 000, near the middle of a strongly skewed law,
//! the exact solver itself is only good to about 1e-12 (the continued
//! fraction loses digits next to its switch point `(α+1)/(α+β+2)`, and
//! `1 − x` is rounded there), so nodes and checks carry that noise and the
//! two agree to about twice the bound.

use super::distribution::{BetaShape, Distribution, U_MAX, U_MIN, beta_quantile_from};

/// Documented bound on a guided beta/PERT draw's distance to the exact
/// solver's quantile `x` (beta scale), relative to the smaller of `x` and
/// `1 − x`; `2⁻⁵¹·x` is allowed on top, the rounding of a double near 1.
pub const GUIDED_REL_ERROR: f64 = 1e-12;

/// What a cell must meet at its checked points when the table is built: a
/// hundredth of [`GUIDED_REL_ERROR`], as a margin for the points not checked.
pub const CHECK_REL_ERROR: f64 = 1e-14;

/// The range of beta-scale draws, as [`beta_quantile_from`] clamps them.
const X_MIN: f64 = f64::MIN_POSITIVE;
const X_MAX: f64 = 1.0 - f64::EPSILON / 2.0;

/// Octaves of `w = min(u, 1 − u)` covered by each half of the table.
const OCTAVES: usize = 10;
/// log₂ of the cells per octave.
const SUB_BITS: u32 = 4;
/// Cells per octave.
const SUB: usize = 1 << SUB_BITS;
/// Cells per half (`u < ½`, `u > ½`).
const HALF_CELLS: usize = OCTAVES * SUB;
/// Mantissa bits below the cell index: the position inside a cell.
const FRAC_BITS: u32 = 52 - SUB_BITS;
/// 2^−FRAC_BITS, turning those bits into `t ∈ [0, 1)`.
const FRAC_SCALE: f64 = 1.0 / (1u64 << FRAC_BITS) as f64;
/// Number of Taylor coefficients known at a node (`x` and four derivatives).
const ORDER: usize = 5;
/// Coefficients of a cell's polynomial (degree `2·ORDER − 1`).
const COEFFS: usize = 2 * ORDER;

/// How a cell is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cell {
    /// No polynomial (a node could not be solved): the exact solver, cold.
    Exact,
    /// Checked: the polynomial is `x` (`flip` false) or `1 − x` (`flip` true).
    Fast { flip: bool },
    /// Failed its check: the polynomial only starts the exact solver.
    Start { flip: bool },
}

/// `x` from a cell polynomial's value.
fn apply(flip: bool, v: f64) -> f64 {
    if flip { 1.0 - v } else { v }
}

/// A table of one input's quantile function, built once per run by
/// [`Distribution::quantile_guide`] and used by [`Distribution::quantile_guided`].
/// For beta and PERT it holds the checked polynomial cells (module notes
/// above); for a normal or lognormal, the probabilities of its truncation
/// bounds, which every draw would otherwise recompute.
#[derive(Debug, Clone, PartialEq)]
pub struct QuantileGuide(Guide);

#[derive(Debug, Clone, PartialEq)]
enum Guide {
    Beta(BetaTable),
    Normal(TruncNormal),
}

/// The cells of a beta quantile function, `u < ½` first, then `u > ½`,
/// each half from its smallest `w` upwards.
#[derive(Debug, Clone, PartialEq)]
struct BetaTable {
    shape: BetaShape,
    kinds: Vec<Cell>,
    /// Coefficients in the position `t ∈ [0, 1)` inside the cell, constant first.
    polys: Vec<[f64; COEFFS]>,
}

/// A standard normal truncated to `[a, b]`, with the probabilities of its
/// bounds computed once; draws equal [`Distribution::quantile`]'s bit for bit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct TruncNormal {
    a: f64,
    b: f64,
    form: TruncForm,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum TruncForm {
    /// No truncation: `Φ⁻¹(u)`.
    Full,
    /// `Φ⁻¹(pa + u·(pb − pa))` with lower-tail probabilities.
    Lower { pa: f64, span: f64 },
    /// `−Φ⁻¹(qb + (1 − u)·(qa − qb))` with upper-tail probabilities (`a > 0`),
    /// which keeps a far upper band accurate.
    Upper { qb: f64, span: f64 },
}

impl TruncNormal {
    /// The truncation `[a, b]` of a standard normal (either end may be infinite).
    pub(super) fn new(a: f64, b: f64) -> Self {
        use super::distribution::norm_cdf_both;
        let form = if a == f64::NEG_INFINITY && b == f64::INFINITY {
            TruncForm::Full
        } else if a > 0.0 {
            let (qa, qb) = (norm_cdf_both(a).1, norm_cdf_both(b).1);
            TruncForm::Upper { qb, span: qa - qb }
        } else {
            let (pa, pb) = (norm_cdf_both(a).0, norm_cdf_both(b).0);
            TruncForm::Lower { pa, span: pb - pa }
        };
        TruncNormal { a, b, form }
    }

    /// The quantile at `u` (already clamped into `(0, 1)`).
    pub(super) fn quantile(&self, u: f64) -> f64 {
        use super::distribution::norm_quantile;
        let z = match self.form {
            TruncForm::Full => return norm_quantile(u),
            TruncForm::Upper { qb, span } => -norm_quantile(qb + (1.0 - u) * span),
            TruncForm::Lower { pa, span } => norm_quantile(pa + u * span),
        };
        z.max(self.a).min(self.b)
    }
}

impl Distribution {
    /// A guide for [`Distribution::quantile_guided`]: the checked table of a
    /// beta or PERT quantile function (about 1 300 evaluations of the
    /// incomplete beta to build, ≈0.5 ms), or a normal's or lognormal's
    /// truncation probabilities; `None` for forms that need nothing prepared.
    pub fn quantile_guide(&self) -> Option<QuantileGuide> {
        if let Some((a, b)) = self.beta_shape() {
            return Some(QuantileGuide(Guide::Beta(BetaTable::new(a, b))));
        }
        let (a, b) = self.normal_z_bounds()?;
        Some(QuantileGuide(Guide::Normal(TruncNormal::new(a, b))))
    }

    /// [`Distribution::quantile`] through `guide` (built by
    /// [`Distribution::quantile_guide`] for this distribution). Beta and PERT
    /// draws are within [`GUIDED_REL_ERROR`]`·min(x, 1 − x) + 2⁻⁵¹·x` of the
    /// exact quantile `x` on the beta scale (up to the exact solver's own
    /// noise for `α + β` above about 1 000: see the module notes); other forms
    /// equal [`Distribution::quantile`] bit for bit. A pure function of the
    /// distribution and `u`, monotone in `u` up to that error. A guide built
    /// for another form is ignored (the plain quantile is drawn); one built
    /// for another law of the same form uses that law's table. Never panics.
    pub fn quantile_guided(&self, u: f64, guide: &QuantileGuide) -> f64 {
        if u.is_nan() {
            return f64::NAN;
        }
        match (&guide.0, self) {
            (Guide::Beta(table), Distribution::Beta { .. }) => {
                table.quantile(u.clamp(U_MIN, U_MAX))
            }
            (Guide::Beta(table), Distribution::Pert { min, max, .. }) if min < max => {
                let s = table.quantile(u.clamp(U_MIN, U_MAX));
                (min + (max - min) * s).max(*min).min(*max)
            }
            (Guide::Normal(t), Distribution::Normal { mean, sd, min, max }) => {
                let z = t.quantile(u.clamp(U_MIN, U_MAX));
                (mean + sd * z)
                    .max(min.max(-f64::MAX))
                    .min(max.min(f64::MAX))
            }
            (
                Guide::Normal(t),
                Distribution::LogNormal {
                    mu,
                    sigma,
                    min,
                    max,
                },
            ) => {
                let z = t.quantile(u.clamp(U_MIN, U_MAX));
                (mu + sigma * z)
                    .exp()
                    .max(min.max(f64::MIN_POSITIVE))
                    .min(max.min(f64::MAX))
            }
            _ => self.quantile(u),
        }
    }
}

/// The left end of cell (or node) `n` of a half, in `w`: node `HALF_CELLS` is ½.
fn node_w(n: usize) -> f64 {
    let (octave, j) = (n / SUB, n % SUB);
    let base = 2f64.powi(octave as i32 - OCTAVES as i32 - 1);
    base * (1.0 + j as f64 / SUB as f64)
}

/// `(x, x', x''/2, x'''/6, x''''/24)` of the quantile function in `u` at the
/// quantile `x`, from the density: with `g = ln f`, `x' = 1/f`,
/// `x'' = −g'·x'²`, `x''' = (2g'² − g'')·x'³`, `x'''' = (7g'g'' − g''' − 6g'³)·x'⁴`.
/// Each `g⁽ᵏ⁾·x'ᵏ` is formed from `x'/x` and `x'/(1 − x)`, which stay moderate
/// where `x'` and `g'` do not. `None` where `x` is pinned at an end of the
/// doubles or anything overflows.
fn node_taylor(shape: &BetaShape, x: f64) -> Option<[f64; ORDER]> {
    if !(x > X_MIN && x < X_MAX) {
        return None;
    }
    let y = 1.0 - x;
    let d1 = x * y * (-shape.ln_prefactor(x)).exp();
    let (am, bm) = (shape.a - 1.0, shape.b - 1.0);
    let (r0, r1) = (d1 / x, d1 / y);
    let g1 = am * r0 - bm * r1;
    let g2 = -am * r0 * r0 - bm * r1 * r1;
    let g3 = 2.0 * (am * r0 * r0 * r0 - bm * r1 * r1 * r1);
    let t = [
        x,
        d1,
        -0.5 * g1 * d1,
        (2.0 * g1 * g1 - g2) * d1 / 6.0,
        (7.0 * g1 * g2 - g3 - 6.0 * g1 * g1 * g1) * d1 / 24.0,
    ];
    (d1 > 0.0 && t.iter().all(|v| v.is_finite())).then_some(t)
}

/// The Taylor polynomial of a node evaluated at a step `du` away (a starting
/// point for the next node's exact solve).
fn taylor_at(t: &[f64; ORDER], du: f64) -> f64 {
    t.iter().rev().fold(0.0, |acc, &c| acc * du + c)
}

/// Binomial coefficients `C(n, k)` for `n, k < ORDER`.
const BINOM: [[f64; ORDER]; ORDER] = [
    [1.0, 0.0, 0.0, 0.0, 0.0],
    [1.0, 1.0, 0.0, 0.0, 0.0],
    [1.0, 2.0, 1.0, 0.0, 0.0],
    [1.0, 3.0, 3.0, 1.0, 0.0],
    [1.0, 4.0, 6.0, 4.0, 1.0],
];

/// The degree-9 polynomial in `t` with Taylor coefficients `c` at `t = 0`
/// and `d` at `t = 1`, in monomial form: `P = Σ c_k t^k + t⁵·Σ q_j (t − 1)^j`,
/// where the `q_j` solve a triangular system from the conditions at 1.
fn hermite(c: &[f64; ORDER], d: &[f64; ORDER]) -> [f64; COEFFS] {
    // What the conditions at 1 ask of t⁵·Q(t): d_j minus the part of c's polynomial.
    let mut e = [0.0; ORDER];
    for j in 0..ORDER {
        e[j] = (j..ORDER).fold(d[j], |s, k| s - BINOM[k][j] * c[k]);
    }
    // t⁵ = Σ C(5, i) (t − 1)^i, so e_n = Σ_{j ≤ n} C(5, n − j) q_j.
    const C5: [f64; ORDER] = [1.0, 5.0, 10.0, 10.0, 5.0];
    let mut q = [0.0; ORDER];
    for n in 0..ORDER {
        q[n] = (0..n).fold(e[n], |s, j| s - C5[n - j] * q[j]);
    }
    let mut p = [0.0; COEFFS];
    p[..ORDER].copy_from_slice(c);
    for (j, &qj) in q.iter().enumerate() {
        for i in 0..=j {
            let sign = if (j - i) % 2 == 0 { 1.0 } else { -1.0 };
            p[ORDER + i] += sign * BINOM[j][i] * qj;
        }
    }
    p
}

/// `P(t)` by Horner's rule. Not `mul_add`: without a target FMA unit that
/// is a library call, several times the cost of the whole draw.
fn horner(p: &[f64; COEFFS], t: f64) -> f64 {
    p.iter().rev().fold(0.0, |acc, &c| acc * t + c)
}

/// Whether `x` is within `rel·min(exact, 1 − exact) + 2ε·exact` of `exact`.
fn within(x: f64, exact: f64, rel: f64) -> bool {
    (x - exact).abs() <= rel * exact.min(1.0 - exact) + 2.0 * f64::EPSILON * exact
}

impl BetaTable {
    fn new(a: f64, b: f64) -> Self {
        let shape = BetaShape::new(a, b);
        let mut table = BetaTable {
            shape,
            kinds: vec![Cell::Exact; 2 * HALF_CELLS],
            polys: vec![[f64::NAN; COEFFS]; 2 * HALF_CELLS],
        };
        // Degenerate shapes (only reachable by building the enum directly)
        // keep the exact solver everywhere.
        if !(a > 0.0 && b > 0.0 && a.is_finite() && b.is_finite()) {
            return table;
        }
        let median = beta_quantile_from(&shape, 0.5, None);
        for upper in [false, true] {
            table.build_half(upper, median);
        }
        table
    }

    /// `u` at `w` in a half: `w` below ½, `1 − w` above (exact for these `w`).
    fn u_of(upper: bool, w: f64) -> f64 {
        if upper { 1.0 - w } else { w }
    }

    /// Solves the nodes of a half from ½ outwards, each started from the
    /// previous node's Taylor polynomial (so one or two Newton steps), then
    /// builds and checks its cells.
    fn build_half(&mut self, upper: bool, median: f64) {
        let shape = self.shape;
        let mut nodes: Vec<Option<[f64; ORDER]>> = vec![None; HALF_CELLS + 1];
        nodes[HALF_CELLS] = node_taylor(&shape, median);
        for n in (0..HALF_CELLS).rev() {
            let u = Self::u_of(upper, node_w(n));
            let du = u - Self::u_of(upper, node_w(n + 1));
            let guess = nodes[n + 1]
                .map(|t| taylor_at(&t, du))
                .filter(|g| *g > 0.0 && *g < 1.0);
            nodes[n] = node_taylor(&shape, beta_quantile_from(&shape, u, guess));
        }
        let offset = if upper { HALF_CELLS } else { 0 };
        for c in 0..HALF_CELLS {
            let (Some(l), Some(r)) = (&nodes[c], &nodes[c + 1]) else {
                continue;
            };
            // The quantile increases with u: with w it increases below ½
            // and decreases above.
            let increasing = if upper { r[0] < l[0] } else { l[0] < r[0] };
            if !increasing {
                continue;
            }
            let h = node_w(c + 1) - node_w(c);
            // The cell's variable t runs with w, so with −u above ½.
            let step = if upper { -h } else { h };
            let flip = l[0] + r[0] > 1.0;
            let scaled = |t: &[f64; ORDER]| {
                let mut s = [0.0; ORDER];
                let mut hk = 1.0;
                for k in 0..ORDER {
                    s[k] = t[k] * hk;
                    hk *= step;
                }
                if flip {
                    s[0] = 1.0 - t[0];
                    s[1..].iter_mut().for_each(|v| *v = -*v);
                }
                s
            };
            let poly = hermite(&scaled(l), &scaled(r));
            // The Hermite error peaks at the midpoint; a quarter of the way
            // is checked too, in case a derivative's sign change hides it there.
            let checked = [0.5, 0.25].iter().all(|&t| {
                let u = Self::u_of(upper, node_w(c) + t * h);
                let fast = apply(flip, horner(&poly, t));
                let guess = (fast > 0.0 && fast < 1.0).then_some(fast);
                let exact = beta_quantile_from(&shape, u, guess);
                within(fast, exact, CHECK_REL_ERROR)
            });
            self.polys[offset + c] = poly;
            self.kinds[offset + c] = if checked {
                Cell::Fast { flip }
            } else {
                Cell::Start { flip }
            };
        }
    }

    /// The beta quantile at `u` (already clamped into `(0, 1)`).
    fn quantile(&self, u: f64) -> f64 {
        let upper = u > 0.5;
        // Exact for u ≥ ½ (Sterbenz), so the upper half keeps its resolution.
        let w = if upper { 1.0 - u } else { u };
        let bits = w.to_bits();
        let exponent = ((bits >> 52) & 0x7ff) as i64 - 1023;
        let octave = exponent + OCTAVES as i64 + 1;
        let mut guess = None;
        if (0..OCTAVES as i64).contains(&octave) {
            let mantissa = bits & ((1u64 << 52) - 1);
            let cell = upper as usize * HALF_CELLS
                + octave as usize * SUB
                + (mantissa >> FRAC_BITS) as usize;
            let t = (mantissa & ((1u64 << FRAC_BITS) - 1)) as f64 * FRAC_SCALE;
            if let (Some(&kind), Some(poly)) = (self.kinds.get(cell), self.polys.get(cell)) {
                match kind {
                    // Clamped like the exact solver's results, so that a draw
                    // stays inside the open support whatever the rounding.
                    Cell::Fast { flip } => return apply(flip, horner(poly, t)).clamp(X_MIN, X_MAX),
                    Cell::Start { flip } => {
                        // A polynomial that failed its check is still a close start.
                        let g = apply(flip, horner(poly, t));
                        guess = (g > 0.0 && g < 1.0).then_some(g);
                    }
                    Cell::Exact => {}
                }
            }
        }
        beta_quantile_from(&self.shape, u, guess)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::ChaCha8Rng;
    use rand::{Rng, SeedableRng};

    fn table(d: &Distribution) -> BetaTable {
        match d.quantile_guide() {
            Some(QuantileGuide(Guide::Beta(t))) => t,
            other => panic!("{d}: no beta table: {other:?}"),
        }
    }

    fn count(t: &BetaTable, fast: bool) -> usize {
        t.kinds
            .iter()
            .filter(|k| matches!(k, Cell::Fast { .. }) == fast)
            .count()
    }

    /// `u` on a grid through the body, and geometric into both tails well
    /// past the table's last octave.
    fn probe_us() -> Vec<f64> {
        let mut us: Vec<f64> = (0..4000).map(|k| (k as f64 + 0.5) / 4000.0).collect();
        for k in 0..=160 {
            let w = 0.5 * 10f64.powf(-k as f64 / 10.0);
            us.extend([w, 1.0 - w]);
        }
        us.extend([1e-300, f64::MIN_POSITIVE, 1.0 - f64::EPSILON / 2.0, 0.5]);
        us
    }

    /// The allowance of the comparisons: the documented bound, doubled for
    /// shapes whose exact solver is itself only that accurate (module notes).
    fn allowance(a: f64, b: f64) -> f64 {
        if a + b <= 1000.0 {
            GUIDED_REL_ERROR
        } else {
            2.0 * GUIDED_REL_ERROR
        }
    }

    /// A guided beta draw against (1) the exact solver from its usual start
    /// and (2) one exact Newton step from the draw itself (whether the draw
    /// solves `I_x = u` to the bound).
    fn check_beta_draw(d: &Distribution, g: &QuantileGuide, shape: &BetaShape, u: f64) {
        let rel = allowance(shape.a, shape.b);
        let x = d.quantile_guided(u, g);
        let exact = d.quantile(u);
        assert!(
            within(x, exact, rel),
            "{d}: u {u:e}: guided {x:e}, exact {exact:e}"
        );
        let step = beta_quantile_from(shape, u.clamp(U_MIN, U_MAX), Some(x));
        assert!(
            within(x, step, rel),
            "{d}: u {u:e}: guided {x:e} moves to {step:e} in a Newton step"
        );
        assert!(x > 0.0 && x < 1.0, "{d}: u {u:e}: {x} outside (0, 1)");
    }

    #[test]
    fn guided_beta_draws_are_within_the_bound_for_hard_shapes() {
        let shapes = [
            (14.0, 6.0),
            (1.0, 1.0),
            (0.5, 0.5),
            (0.05, 2.0),
            (2.0, 0.05),
            (0.1, 0.1),
            (0.3, 0.7),
            (1.0, 5.0),
            (5.0, 1.0),
            (200.0, 3000.0),
            (1e4, 1e4),
            (1e4, 2.0),
            (0.05, 1e4),
            (1e4, 0.05),
            (0.05, 0.05),
        ];
        let us = probe_us();
        for (a, b) in shapes {
            let d = Distribution::beta(a, b).expect("valid shape");
            let g = d.quantile_guide().expect("a beta has a guide");
            let shape = BetaShape::new(a, b);
            for &u in &us {
                check_beta_draw(&d, &g, &shape, u);
            }
        }
    }

    #[test]
    fn guided_draws_stay_within_the_bound_for_random_shapes() {
        // A deterministic sweep (the same shapes every run): shapes
        // log-uniform on [0.05, 1e4], u uniform and geometric into both tails.
        let mut rng = ChaCha8Rng::seed_from_u64(0x6_1DE5);
        let mut unif = move || ((rng.next_u64() >> 11) as f64 + 0.5) * (-53f64).exp2();
        for _ in 0..150 {
            let (a, b) = (0.05 * 2e5f64.powf(unif()), 0.05 * 2e5f64.powf(unif()));
            let d = Distribution::beta(a, b).expect("valid shape");
            let g = d.quantile_guide().expect("a beta has a guide");
            let shape = BetaShape::new(a, b);
            for k in 0..200 {
                let v = unif();
                let u = match k % 4 {
                    0 | 1 => v,
                    2 => 0.5 * 1e-5f64.powf(v),
                    _ => 1.0 - 0.5 * 1e-5f64.powf(v),
                };
                check_beta_draw(&d, &g, &shape, u);
            }
        }
    }

    #[test]
    fn guided_pert_draws_are_within_the_bound() {
        let mut rng = ChaCha8Rng::seed_from_u64(0x9E47);
        let mut unif = move || ((rng.next_u64() >> 11) as f64 + 0.5) * (-53f64).exp2();
        let mut cases = vec![
            (30000.0, 60000.0, 120000.0),
            (0.0, 0.0, 1.0),
            (1.0, 3.0, 3.0),
            (-5.0, -5.0, 5.0),
            (0.25, 0.5, 0.9),
            (400000.0, 450000.0, 800000.0),
        ];
        for _ in 0..40 {
            let (lo, w) = (unif() * 100.0 - 50.0, 1e-3 + 1e3 * unif());
            // Modes at the ends count among the random ones.
            let m = match (unif() * 6.0) as u32 {
                0 => 0.0,
                1 => 1.0,
                _ => unif(),
            };
            cases.push((lo, lo + m * w, lo + w));
        }
        let us = probe_us();
        for (min, mode, max) in cases {
            let d = Distribution::pert(min, mode, max).expect("valid PERT");
            let g = d.quantile_guide().expect("a PERT has a guide");
            for &u in &us {
                let (x, exact) = (d.quantile_guided(u, &g), d.quantile(u));
                // The bound on the beta scale, carried to the PERT's.
                let s = (exact - min) / (max - min);
                let tol = (max - min)
                    * (GUIDED_REL_ERROR * s.min(1.0 - s) + 2.0 * f64::EPSILON * s)
                    + 2.0 * f64::EPSILON * exact.abs().max(min.abs());
                assert!(
                    (x - exact).abs() <= tol,
                    "{d}: u {u:e}: guided {x}, exact {exact}"
                );
                assert!((min..=max).contains(&x), "{d}: {x} outside its range");
            }
        }
    }

    #[test]
    fn smooth_shapes_draw_from_the_table_and_power_law_ends_do_not() {
        // The fast path is what the draws use for the shapes scenarios have
        // (PERTs have α, β in [1, 5]); a law whose quantile is u^20 at the
        // bottom fails the check there and keeps the exact solver.
        for (a, b) in [
            (14.0, 6.0),
            (1.0, 5.0),
            (3.0, 3.0),
            (35.0, 6.0),
            (200.0, 3000.0),
        ] {
            let t = table(&Distribution::beta(a, b).expect("valid shape"));
            assert_eq!(count(&t, true), 2 * HALF_CELLS, "beta({a}, {b})");
        }
        let t = table(&Distribution::beta(0.05, 2.0).expect("valid shape"));
        let lower_fast = t.kinds[..HALF_CELLS]
            .iter()
            .filter(|k| matches!(k, Cell::Fast { .. }))
            .count();
        assert!(lower_fast < HALF_CELLS / 2, "{lower_fast} fast cells");
        // Those cells were rejected for good reason: their polynomial misses
        // the exact quantile at the midpoint by more than the check allows.
        let shape = BetaShape::new(0.05, 2.0);
        let rejected = (0..HALF_CELLS)
            .filter(|&c| matches!(t.kinds[c], Cell::Start { .. }))
            .filter(|&c| {
                let u = 0.5 * (node_w(c) + node_w(c + 1));
                !within(
                    horner(&t.polys[c], 0.5),
                    beta_quantile_from(&shape, u, None),
                    CHECK_REL_ERROR,
                )
            })
            .count();
        assert!(rejected > 0);
    }

    #[test]
    fn cells_are_read_off_the_bits_of_u() {
        // Every node's u falls at t = 0 of its cell and the midpoint at ½:
        // the bit arithmetic of the draw and node_w agree.
        let d = Distribution::beta(2.0, 3.0).expect("valid shape");
        let (g, t) = (d.quantile_guide().expect("guide"), table(&d));
        for c in 0..HALF_CELLS {
            for (upper, offset) in [(false, 0), (true, HALF_CELLS)] {
                let Cell::Fast { flip } = t.kinds[offset + c] else {
                    panic!("cell {c} not fast");
                };
                for tt in [0.0, 0.5] {
                    let w = node_w(c) + tt * (node_w(c + 1) - node_w(c));
                    let u = BetaTable::u_of(upper, w);
                    let want = apply(flip, horner(&t.polys[offset + c], tt));
                    assert_eq!(d.quantile_guided(u, &g), want, "cell {c}, t {tt}");
                }
            }
        }
    }

    #[test]
    fn guides_are_pure_functions_of_the_distribution() {
        let d = Distribution::beta_mean_sd(0.85, 0.08).expect("valid");
        let one = d.quantile_guide();
        let other = std::thread::spawn(move || d.quantile_guide())
            .join()
            .expect("thread");
        assert_eq!(one, other);
    }

    #[test]
    fn degenerate_inputs_behave_as_the_exact_quantile() {
        let nan = f64::NAN;
        // Shapes no constructor accepts, but the enum can hold: the guide
        // keeps the exact solver everywhere, so draws are exactly quantile's.
        for d in [
            Distribution::Beta {
                alpha: nan,
                beta: 1.0,
            },
            Distribution::Beta {
                alpha: f64::INFINITY,
                beta: 2.0,
            },
            Distribution::Beta {
                alpha: 0.0,
                beta: 2.0,
            },
            Distribution::Beta {
                alpha: -1.0,
                beta: 2.0,
            },
            Distribution::Pert {
                min: 0.0,
                mode: nan,
                max: 1.0,
            },
        ] {
            let g = d.quantile_guide().expect("a guide");
            for u in [1e-300, 0.1, 0.5, 0.9, 1.0 - 1e-16] {
                let (x, want) = (d.quantile_guided(u, &g), d.quantile(u));
                assert!(
                    x.to_bits() == want.to_bits() || (x.is_nan() && want.is_nan()),
                    "{d:?} at {u}: {x} vs {want}"
                );
            }
        }
        let d = Distribution::beta(2.0, 5.0).expect("valid");
        let g = d.quantile_guide().expect("guide");
        assert!(d.quantile_guided(nan, &g).is_nan());
        for u in [-1.0, 0.0, 1.0, 2.0, f64::INFINITY, f64::NEG_INFINITY] {
            let x = d.quantile_guided(u, &g);
            assert!(x > 0.0 && x < 1.0, "u {u}: {x}");
        }
        assert_eq!(d.quantile_guided(-1.0, &g), d.quantile_guided(0.0, &g));
        assert_eq!(d.quantile_guided(2.0, &g), d.quantile_guided(1.0, &g));
        // A guide of another law gives that law's... no: it is ignored.
        let n = Distribution::normal(0.0, 1.0, -1.0, 2.0).expect("valid");
        let ng = n.quantile_guide().expect("guide");
        assert_eq!(d.quantile_guided(0.3, &ng), d.quantile(0.3));
        assert_eq!(n.quantile_guided(0.3, &g), n.quantile(0.3));
        let u = Distribution::uniform(1.0, 2.0).expect("valid");
        assert_eq!(u.quantile_guided(0.3, &g), u.quantile(0.3));
        assert!(u.quantile_guide().is_none());
    }
}
