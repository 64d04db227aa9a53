//! Probability distributions of uncertain inputs: inverse CDFs (every draw is
//! `F⁻¹(u)`), CDFs (for tests and support checks) and parameter conversions.
//!
//! Every draw in the engine is `quantile(u)` for a uniform `u` in (0, 1), so
//! two scenarios that share `u` share quantiles (common random numbers), and
//! truncation is done by inverting the truncated law rather than by redrawing.
//! (The engine draws through a prepared guide, `quantile_guided`: for beta and
//! PERT a checked table within 1e-12 of this exact quantile, see `guide.rs`.)
//! The special functions (Φ, Φ⁻¹, ln Γ, the regularized incomplete beta) are
//! implemented here with std only, to double precision in the body of each law.

use super::guide::TruncNormal;
use std::f64::consts::PI;
use std::fmt;

/// Φ⁻¹(0.95), the z-score of the 95th percentile of the standard normal: a
/// lognormal's 90 % range (p5, p95) spans `2·Z95` standard deviations of `ln X`.
pub const Z95: f64 = 1.6448536269514722;

/// Smallest `u` a quantile is evaluated at (the defensive clamp's lower end).
pub(super) const U_MIN: f64 = f64::MIN_POSITIVE;
/// Largest `u` a quantile is evaluated at: 1 − 2⁻⁵³, the largest double below 1.
pub(super) const U_MAX: f64 = 1.0 - f64::EPSILON / 2.0;
/// ln √(2π).
const LN_SQRT_2PI: f64 = 0.918_938_533_204_672_8;
/// 1 / √(2π).
const FRAC_1_SQRT_2PI: f64 = 0.398_942_280_401_432_7;
/// Smallest probability mass a normal/lognormal truncation interval may hold.
const MIN_TRUNCATED_MASS: f64 = 1e-12;

/// A resolved distribution: parameters already converted from the scenario's
/// forms (a lognormal's 90 % range, a beta's mean and sd, PERT's shape).
#[derive(Debug, Clone, PartialEq)]
pub enum Distribution {
    /// Always the same value.
    Constant(f64),
    /// Uniform on `[min, max]`.
    Uniform { min: f64, max: f64 },
    /// Normal, truncated to `[min, max]` (either may be infinite).
    Normal {
        mean: f64,
        sd: f64,
        min: f64,
        max: f64,
    },
    /// Lognormal: `ln X ~ N(mu, sigma²)`, truncated to `[min, max]` (`min ≥ 0`, `max` may be infinite).
    LogNormal {
        mu: f64,
        sigma: f64,
        min: f64,
        max: f64,
    },
    /// Triangular on `[min, max]` with mode `mode`.
    Triangular { min: f64, mode: f64, max: f64 },
    /// Beta-PERT on `[min, max]` with mode `mode` (λ = 4).
    Pert { min: f64, mode: f64, max: f64 },
    /// Beta(alpha, beta) on `[0, 1]`.
    Beta { alpha: f64, beta: f64 },
    /// Finitely many values with probabilities (normalised weights, same length).
    Discrete {
        values: Vec<f64>,
        probabilities: Vec<f64>,
    },
}

/// The closed hull `[lo, hi]` of the values a draw can return, and whether each
/// endpoint itself can be drawn; used to check that downstream formulas (logs,
/// divisions, shares) are safe for every possible draw.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Support {
    /// Lower end of the hull (may be −∞).
    pub lo: f64,
    /// Upper end of the hull (may be +∞).
    pub hi: f64,
    /// Whether a draw can equal `lo` exactly.
    pub lo_attained: bool,
    /// Whether a draw can equal `hi` exactly.
    pub hi_attained: bool,
}

// ---------------------------------------------------------------------------
// Validation helpers (messages are for scenario authors)
// ---------------------------------------------------------------------------

fn need_finite(name: &str, v: f64) -> Result<(), String> {
    if v.is_finite() {
        Ok(())
    } else {
        Err(format!("{name} must be a finite number (found {v})"))
    }
}

fn need_positive(name: &str, v: f64) -> Result<(), String> {
    need_finite(name, v)?;
    if v > 0.0 {
        Ok(())
    } else {
        Err(format!("{name} must be > 0 (found {v})"))
    }
}

/// Checks a finite `[min, max]` range with a mode inside it (triangular, PERT).
fn need_three_point(min: f64, mode: f64, max: f64) -> Result<(), String> {
    need_finite("min", min)?;
    need_finite("mode", mode)?;
    need_finite("max", max)?;
    if min > max {
        return Err(format!("min ({min}) must not exceed max ({max})"));
    }
    if mode < min || mode > max {
        return Err(format!(
            "mode ({mode}) must lie between min ({min}) and max ({max})"
        ));
    }
    if min == max {
        return Err(format!(
            "min and max must differ (both are {min}); use a constant for a fixed value"
        ));
    }
    Ok(())
}

/// Checks optional truncation bounds: `min` may be −∞ (absent), `max` may be +∞.
fn need_bounds(min: f64, max: f64) -> Result<(), String> {
    if min.is_nan() || min == f64::INFINITY {
        return Err(format!(
            "min must be a finite number, or absent for no lower bound (found {min})"
        ));
    }
    if max.is_nan() || max == f64::NEG_INFINITY {
        return Err(format!(
            "max must be a finite number, or absent for no upper bound (found {max})"
        ));
    }
    if min >= max {
        return Err(format!("min ({min}) must be below max ({max})"));
    }
    Ok(())
}

impl Distribution {
    // -----------------------------------------------------------------------
    // Validating constructors
    // -----------------------------------------------------------------------

    /// A fixed value; rejects NaN and infinities.
    pub fn constant(c: f64) -> Result<Distribution, String> {
        need_finite("constant value", c)?;
        Ok(Distribution::Constant(c))
    }

    /// Uniform on `[min, max]` (`min == max` is allowed and degenerates to a constant).
    pub fn uniform(min: f64, max: f64) -> Result<Distribution, String> {
        need_finite("min", min)?;
        need_finite("max", max)?;
        if min > max {
            return Err(format!("min ({min}) must not exceed max ({max})"));
        }
        Ok(Distribution::Uniform { min, max })
    }

    /// Normal(mean, sd) truncated to `[min, max]`; pass `f64::NEG_INFINITY` /
    /// `f64::INFINITY` for an absent bound. The interval must hold a
    /// probability above 1e-12, otherwise draws would be meaningless.
    pub fn normal(mean: f64, sd: f64, min: f64, max: f64) -> Result<Distribution, String> {
        need_finite("mean", mean)?;
        need_positive("sd", sd)?;
        need_bounds(min, max)?;
        let mass = std_normal_mass((min - mean) / sd, (max - mean) / sd);
        if mass.is_nan() || mass <= MIN_TRUNCATED_MASS {
            return Err(format!(
                "the truncation range [{}, {}] holds almost none of normal(mean {}, sd {}) \
                 (probability {}); widen the range or move the mean",
                format_number(min),
                format_number(max),
                format_number(mean),
                format_number(sd),
                format_number(mass)
            ));
        }
        Ok(Distribution::Normal { mean, sd, min, max })
    }

    /// Lognormal with the given median (`e^mu`) and log-scale sd `sigma`,
    /// truncated to `[min, max]` (`min = 0` or −∞, and `max = ∞`, mean no truncation).
    pub fn lognormal_median(
        median: f64,
        sigma: f64,
        min: f64,
        max: f64,
    ) -> Result<Distribution, String> {
        need_positive("median", median)?;
        need_positive("sigma", sigma)?;
        Self::lognormal_mu_sigma(median.ln(), sigma, min, max)
    }

    /// Lognormal whose untruncated 5th and 95th percentiles are `p5` and `p95`
    /// (`mu` is the midpoint of their logs, `sigma` their log-distance over
    /// `2·Z95`), truncated to `[min, max]` as in [`Distribution::lognormal_median`].
    pub fn lognormal_range(p5: f64, p95: f64, min: f64, max: f64) -> Result<Distribution, String> {
        need_positive("p5", p5)?;
        need_finite("p95", p95)?;
        if p5 >= p95 {
            return Err(format!("p5 ({p5}) must be below p95 ({p95})"));
        }
        let (l5, l95) = (p5.ln(), p95.ln());
        let mu = 0.5 * (l5 + l95);
        let sigma = (l95 - l5) / (2.0 * Z95);
        if sigma <= 0.0 {
            return Err(format!(
                "p5 ({p5}) and p95 ({p95}) are too close together to define a spread"
            ));
        }
        Self::lognormal_mu_sigma(mu, sigma, min, max)
    }

    /// Shared checks of the lognormal truncation bounds.
    fn lognormal_mu_sigma(mu: f64, sigma: f64, min: f64, max: f64) -> Result<Distribution, String> {
        let min = if min == f64::NEG_INFINITY { 0.0 } else { min };
        if min.is_nan() || min == f64::INFINITY {
            return Err(format!(
                "min must be a finite number ≥ 0, or 0 for no lower bound (found {min})"
            ));
        }
        if min < 0.0 {
            return Err(format!(
                "min must be ≥ 0 for a lognormal (found {min}); use 0 for no lower bound"
            ));
        }
        need_bounds(min, max)?;
        let mass = std_normal_mass((min.ln() - mu) / sigma, (max.ln() - mu) / sigma);
        if mass.is_nan() || mass <= MIN_TRUNCATED_MASS {
            return Err(format!(
                "the truncation range [{}, {}] holds almost none of lognormal(median {}, sigma {}) \
                 (probability {}); widen the range or move the median",
                format_number(min),
                format_number(max),
                format_number(mu.exp()),
                format_number(sigma),
                format_number(mass)
            ));
        }
        Ok(Distribution::LogNormal {
            mu,
            sigma,
            min,
            max,
        })
    }

    /// Triangular on `[min, max]` with the given mode (`min ≤ mode ≤ max`, `min < max`).
    pub fn triangular(min: f64, mode: f64, max: f64) -> Result<Distribution, String> {
        need_three_point(min, mode, max)?;
        Ok(Distribution::Triangular { min, mode, max })
    }

    /// Beta-PERT on `[min, max]` with the given mode (`min ≤ mode ≤ max`, `min < max`).
    pub fn pert(min: f64, mode: f64, max: f64) -> Result<Distribution, String> {
        need_three_point(min, mode, max)?;
        Ok(Distribution::Pert { min, mode, max })
    }

    /// Beta(alpha, beta) on `[0, 1]`, both shapes `> 0`.
    pub fn beta(alpha: f64, beta: f64) -> Result<Distribution, String> {
        need_positive("alpha", alpha)?;
        need_positive("beta", beta)?;
        Ok(Distribution::Beta { alpha, beta })
    }

    /// Beta with the given mean and standard deviation (method of moments):
    /// requires `0 < mean < 1` and `sd² < mean·(1 − mean)`.
    pub fn beta_mean_sd(mean: f64, sd: f64) -> Result<Distribution, String> {
        need_finite("mean", mean)?;
        if !(mean > 0.0 && mean < 1.0) {
            return Err(format!(
                "mean must lie strictly between 0 and 1 for a beta (found {mean})"
            ));
        }
        need_positive("sd", sd)?;
        let var_max = mean * (1.0 - mean);
        let infeasible = || {
            format!(
                "beta with mean {mean} and sd {sd} is infeasible: sd must be below \
                 sqrt(mean·(1−mean)) = {}",
                format_number(var_max.sqrt())
            )
        };
        if sd * sd >= var_max {
            return Err(infeasible());
        }
        let k = var_max / (sd * sd) - 1.0;
        let (alpha, beta) = (mean * k, (1.0 - mean) * k);
        if !(alpha > 0.0 && beta > 0.0 && alpha.is_finite() && beta.is_finite()) {
            return Err(infeasible());
        }
        Ok(Distribution::Beta { alpha, beta })
    }

    /// Finitely many values with weights (`None` = equally likely). Weights
    /// must be finite, `≥ 0` and not all zero; they are normalised, the pairs
    /// sorted by value and equal values merged.
    pub fn discrete(values: Vec<f64>, weights: Option<Vec<f64>>) -> Result<Distribution, String> {
        if values.is_empty() {
            return Err("a discrete distribution needs at least one value".to_string());
        }
        let weights = match weights {
            Some(w) => {
                if w.len() != values.len() {
                    return Err(format!(
                        "discrete has {} values but {} weights; give one weight per value",
                        values.len(),
                        w.len()
                    ));
                }
                w
            }
            None => vec![1.0; values.len()],
        };
        for (i, &v) in values.iter().enumerate() {
            if !v.is_finite() {
                return Err(format!(
                    "value #{} must be a finite number (found {v})",
                    i + 1
                ));
            }
        }
        for (i, &w) in weights.iter().enumerate() {
            if !(w.is_finite() && w >= 0.0) {
                return Err(format!(
                    "weight #{} must be a finite number ≥ 0 (found {w})",
                    i + 1
                ));
            }
        }
        let wmax = weights.iter().copied().fold(0.0_f64, f64::max);
        if wmax <= 0.0 {
            return Err("discrete weights must not all be zero".to_string());
        }
        let mut pairs: Vec<(f64, f64)> = values
            .into_iter()
            .zip(weights.into_iter().map(|w| w / wmax))
            .collect();
        pairs.sort_by(|x, y| x.0.total_cmp(&y.0));
        let mut merged: Vec<(f64, f64)> = Vec::with_capacity(pairs.len());
        for (v, w) in pairs {
            match merged.last_mut() {
                Some(last) if last.0 == v => last.1 += w,
                _ => merged.push((v, w)),
            }
        }
        let total: f64 = merged.iter().map(|p| p.1).sum();
        let (values, probabilities) = merged.into_iter().map(|(v, w)| (v, w / total)).unzip();
        Ok(Distribution::Discrete {
            values,
            probabilities,
        })
    }

    // -----------------------------------------------------------------------
    // Inverse CDF, CDF, support, moments
    // -----------------------------------------------------------------------

    /// The inverse CDF `F⁻¹(u)` for `u` in (0, 1): the engine's only way to
    /// draw, so scenarios sharing `u` share quantiles. `u` is clamped to
    /// `[f64::MIN_POSITIVE, 1 − 2⁻⁵³]`; the result is monotone non-decreasing
    /// in `u` and allocation-free. A NaN `u` (an upstream bug) gives NaN.
    pub fn quantile(&self, u: f64) -> f64 {
        if u.is_nan() {
            return f64::NAN;
        }
        let u = u.clamp(U_MIN, U_MAX);
        match self {
            Distribution::Constant(c) => *c,
            Distribution::Uniform { min, max } => {
                if min == max {
                    *min
                } else {
                    (min + u * (max - min)).max(*min).min(*max)
                }
            }
            Distribution::Normal { mean, sd, min, max } => {
                let z = std_trunc_normal_quantile(u, (min - mean) / sd, (max - mean) / sd);
                // Finite even when a bound is absent, as the support promises.
                (mean + sd * z)
                    .max(min.max(-f64::MAX))
                    .min(max.min(f64::MAX))
            }
            Distribution::LogNormal {
                mu,
                sigma,
                min,
                max,
            } => {
                let (a, b) = lognormal_z_bounds(*mu, *sigma, *min, *max);
                let z = std_trunc_normal_quantile(u, a, b);
                // Never 0 or ∞ (unattained ends), even for a huge sigma.
                (mu + sigma * z)
                    .exp()
                    .max(min.max(f64::MIN_POSITIVE))
                    .min(max.min(f64::MAX))
            }
            Distribution::Triangular { min, mode, max } => {
                triangular_quantile(*min, *mode, *max, u)
            }
            Distribution::Pert { min, mode, max } => {
                if min == max {
                    return *min;
                }
                let (a, b) = pert_shape(*min, *mode, *max);
                (min + (max - min) * beta_quantile(a, b, u))
                    .max(*min)
                    .min(*max)
            }
            Distribution::Beta { alpha, beta } => beta_quantile(*alpha, *beta, u),
            Distribution::Discrete {
                values,
                probabilities,
            } => {
                let mut acc = 0.0;
                for (&v, &p) in values.iter().zip(probabilities) {
                    acc += p;
                    if p > 0.0 && acc >= u {
                        return v;
                    }
                }
                // Rounding left the cumulative sum just below u: the last value
                // that can be drawn at all.
                values
                    .iter()
                    .zip(probabilities)
                    .rev()
                    .find(|(_, p)| **p > 0.0)
                    .map_or(f64::NAN, |(v, _)| *v)
            }
        }
    }

    /// The analytic CDF `P(X ≤ x)`, consistent with [`Distribution::quantile`]
    /// (used by the tests and by support checks).
    pub fn cdf(&self, x: f64) -> f64 {
        if x.is_nan() {
            return f64::NAN;
        }
        match self {
            Distribution::Constant(c) => step(x >= *c),
            Distribution::Uniform { min, max } => {
                if x < *min {
                    0.0
                } else if x >= *max {
                    1.0
                } else {
                    ((x - min) / (max - min)).clamp(0.0, 1.0)
                }
            }
            Distribution::Normal { mean, sd, min, max } => {
                if x < *min {
                    0.0
                } else if x >= *max {
                    1.0
                } else {
                    std_trunc_normal_cdf((x - mean) / sd, (min - mean) / sd, (max - mean) / sd)
                }
            }
            Distribution::LogNormal {
                mu,
                sigma,
                min,
                max,
            } => {
                if x <= 0.0 || x < *min {
                    0.0
                } else if x >= *max {
                    1.0
                } else {
                    let (a, b) = lognormal_z_bounds(*mu, *sigma, *min, *max);
                    std_trunc_normal_cdf((x.ln() - mu) / sigma, a, b)
                }
            }
            Distribution::Triangular { min, mode, max } => {
                if x <= *min {
                    step(min == max && x >= *min)
                } else if x >= *max {
                    1.0
                } else if x < *mode {
                    ((x - min) * (x - min) / ((max - min) * (mode - min))).clamp(0.0, 1.0)
                } else {
                    (1.0 - (max - x) * (max - x) / ((max - min) * (max - mode))).clamp(0.0, 1.0)
                }
            }
            Distribution::Pert { min, mode, max } => {
                if x < *min {
                    0.0
                } else if x >= *max {
                    1.0
                } else if x == *min {
                    step(min == max)
                } else {
                    let (a, b) = pert_shape(*min, *mode, *max);
                    ln_ibeta((x - min) / (max - min), a, b).0.exp()
                }
            }
            Distribution::Beta { alpha, beta } => {
                if x <= 0.0 {
                    0.0
                } else if x >= 1.0 {
                    1.0
                } else {
                    ln_ibeta(x, *alpha, *beta).0.exp()
                }
            }
            Distribution::Discrete {
                values,
                probabilities,
            } => {
                let last = self.support().hi;
                if x >= last {
                    return 1.0;
                }
                let mut acc = 0.0;
                for (&v, &p) in values.iter().zip(probabilities) {
                    if v > x {
                        break;
                    }
                    acc += p;
                }
                acc.clamp(0.0, 1.0)
            }
        }
    }

    /// The closed hull of the values a draw can return, and whether each end
    /// can itself be drawn (e.g. an untruncated lognormal never returns 0).
    pub fn support(&self) -> Support {
        let closed = |lo: f64, hi: f64| Support {
            lo,
            hi,
            lo_attained: true,
            hi_attained: true,
        };
        match self {
            Distribution::Constant(c) => closed(*c, *c),
            Distribution::Uniform { min, max }
            | Distribution::Triangular { min, max, .. }
            | Distribution::Pert { min, max, .. } => closed(*min, *max),
            Distribution::Normal { min, max, .. } => Support {
                lo: *min,
                hi: *max,
                lo_attained: min.is_finite(),
                hi_attained: max.is_finite(),
            },
            Distribution::LogNormal { min, max, .. } => Support {
                lo: min.max(0.0),
                hi: *max,
                lo_attained: *min > 0.0,
                hi_attained: max.is_finite(),
            },
            Distribution::Beta { .. } => Support {
                lo: 0.0,
                hi: 1.0,
                lo_attained: false,
                hi_attained: false,
            },
            Distribution::Discrete {
                values,
                probabilities,
            } => {
                let mut drawable = values
                    .iter()
                    .zip(probabilities)
                    .filter(|(_, p)| **p > 0.0)
                    .map(|(v, _)| *v);
                let first = drawable.next().unwrap_or(f64::NAN);
                let last = drawable.next_back().unwrap_or(first);
                closed(first, last)
            }
        }
    }

    /// Whether every draw returns the same value (a constant, a zero-width
    /// uniform, or a discrete law with one drawable value).
    pub fn is_constant(&self) -> bool {
        let s = self.support();
        s.lo == s.hi
    }

    /// The analytic mean (closed forms, including truncated normal/lognormal).
    pub fn mean(&self) -> f64 {
        match self {
            Distribution::Constant(c) => *c,
            Distribution::Uniform { min, max } => 0.5 * (min + max),
            Distribution::Normal { mean, sd, min, max } => {
                let (a, b) = ((min - mean) / sd, (max - mean) / sd);
                if a == f64::NEG_INFINITY && b == f64::INFINITY {
                    *mean
                } else {
                    mean + sd * (std_normal_pdf(a) - std_normal_pdf(b)) / std_normal_mass(a, b)
                }
            }
            Distribution::LogNormal {
                mu,
                sigma,
                min,
                max,
            } => {
                let (a, b) = lognormal_z_bounds(*mu, *sigma, *min, *max);
                let full = (mu + 0.5 * sigma * sigma).exp();
                if a == f64::NEG_INFINITY && b == f64::INFINITY {
                    full
                } else {
                    full * std_normal_mass(a - sigma, b - sigma) / std_normal_mass(a, b)
                }
            }
            Distribution::Triangular { min, mode, max } => (min + mode + max) / 3.0,
            Distribution::Pert { min, mode, max } => (min + 4.0 * mode + max) / 6.0,
            Distribution::Beta { alpha, beta } => alpha / (alpha + beta),
            Distribution::Discrete {
                values,
                probabilities,
            } => {
                let total: f64 = probabilities.iter().sum();
                values
                    .iter()
                    .zip(probabilities)
                    .map(|(v, p)| v * p)
                    .sum::<f64>()
                    / total
            }
        }
    }

    /// The median, `quantile(0.5)`.
    pub fn median(&self) -> f64 {
        self.quantile(0.5)
    }
}

fn step(b: bool) -> f64 {
    if b { 1.0 } else { 0.0 }
}

/// Standardised log-scale truncation bounds of a lognormal.
fn lognormal_z_bounds(mu: f64, sigma: f64, min: f64, max: f64) -> (f64, f64) {
    let a = if min > 0.0 {
        (min.ln() - mu) / sigma
    } else {
        f64::NEG_INFINITY
    };
    let b = (max.ln() - mu) / sigma;
    (a, b)
}

/// Beta shapes of a PERT (λ = 4).
fn pert_shape(min: f64, mode: f64, max: f64) -> (f64, f64) {
    let w = max - min;
    (1.0 + 4.0 * (mode - min) / w, 1.0 + 4.0 * (max - mode) / w)
}

fn triangular_quantile(min: f64, mode: f64, max: f64, u: f64) -> f64 {
    let w = max - min;
    if w.is_nan() || w <= 0.0 {
        return min;
    }
    let fc = (mode - min) / w;
    let x = if u < fc {
        (min + (u * w * (mode - min)).sqrt()).min(mode)
    } else {
        (max - ((1.0 - u) * w * (max - mode)).sqrt()).max(mode)
    };
    x.max(min).min(max)
}

// ---------------------------------------------------------------------------
// Normal distribution: Φ (Cody), Φ⁻¹ (Wichura AS241), truncation
// ---------------------------------------------------------------------------

fn horner(coeffs: &[f64], x: f64) -> f64 {
    coeffs.iter().rev().fold(0.0, |acc, &c| acc * x + c)
}

/// Φ⁻¹(u), the standard normal's inverse CDF with `u` clamped as in
/// [`Distribution::quantile`] (whose value for `normal(0, 1)` it equals bit
/// for bit): the demand walk's one draw a month, without the dispatch.
pub fn standard_normal_quantile(u: f64) -> f64 {
    if u.is_nan() {
        return f64::NAN;
    }
    norm_quantile(u.clamp(U_MIN, U_MAX))
}

/// Φ⁻¹(p) by Wichura's AS241 (PPND16), relative accuracy about 1e-16.
#[allow(clippy::excessive_precision)]
pub(super) fn norm_quantile(p: f64) -> f64 {
    const A: [f64; 8] = [
        3.3871328727963666080e0,
        1.3314166789178437745e+2,
        1.9715909503065514427e+3,
        1.3731693765509461125e+4,
        4.5921953931549871457e+4,
        6.7265770927008700853e+4,
        3.3430575583588128105e+4,
        2.5090809287301226727e+3,
    ];
    const B: [f64; 8] = [
        1.0,
        4.2313330701600911252e+1,
        6.8718700749205790830e+2,
        5.3941960214247511077e+3,
        2.1213794301586595867e+4,
        3.9307895800092710610e+4,
        2.8729085735721942674e+4,
        5.2264952788528545610e+3,
    ];
    const C: [f64; 8] = [
        1.42343711074968357734e0,
        4.63033784615654529590e0,
        5.76949722146069140550e0,
        3.64784832476320460504e0,
        1.27045825245236838258e0,
        2.41780725177450611770e-1,
        2.27238449892691845833e-2,
        7.74545014278341407640e-4,
    ];
    const D: [f64; 8] = [
        1.0,
        2.05319162663775882187e0,
        1.67638483018380384940e0,
        6.89767334985100004550e-1,
        1.48103976427480074590e-1,
        1.51986665636164571966e-2,
        5.47593808499534494600e-4,
        1.05075007164441684324e-9,
    ];
    const E: [f64; 8] = [
        6.65790464350110377720e0,
        5.46378491116411436990e0,
        1.78482653991729133580e0,
        2.96560571828504891230e-1,
        2.65321895265761230930e-2,
        1.24266094738807843860e-3,
        2.71155556874348757815e-5,
        2.01033439929228813265e-7,
    ];
    const F: [f64; 8] = [
        1.0,
        5.99832206555887937690e-1,
        1.36929880922735805310e-1,
        1.48753612908506148525e-2,
        7.86869131145613259100e-4,
        1.84631831751005468180e-5,
        1.42151175831644588870e-7,
        2.04426310338993978564e-15,
    ];
    if p.is_nan() {
        return f64::NAN;
    }
    if p <= 0.0 {
        return f64::NEG_INFINITY;
    }
    if p >= 1.0 {
        return f64::INFINITY;
    }
    let q = p - 0.5;
    if q.abs() <= 0.425 {
        let r = 0.180625 - q * q;
        return q * horner(&A, r) / horner(&B, r);
    }
    let tail = if q < 0.0 { p } else { 1.0 - p };
    let r = (-tail.ln()).sqrt();
    let v = if r <= 5.0 {
        let r = r - 1.6;
        horner(&C, r) / horner(&D, r)
    } else {
        let r = r - 5.0;
        horner(&E, r) / horner(&F, r)
    };
    if q < 0.0 { -v } else { v }
}

/// `(Φ(x), 1 − Φ(x))`, each to full relative precision (the smaller one in
/// particular), by W. J. Cody's rational Chebyshev approximations (as in R's
/// `pnorm_both`).
#[allow(clippy::excessive_precision)]
pub(super) fn norm_cdf_both(x: f64) -> (f64, f64) {
    const A: [f64; 5] = [
        2.2352520354606839287,
        161.02823106855587881,
        1067.6894854603709582,
        18154.981253343561249,
        0.065682337918207449113,
    ];
    const B: [f64; 4] = [
        47.20258190468824187,
        976.09855173777669322,
        10260.932208618978205,
        45507.789335026729956,
    ];
    const C: [f64; 9] = [
        0.39894151208813466764,
        8.8831497943883759412,
        93.506656132177855979,
        597.27027639480026226,
        2494.5375852903726711,
        6848.1904505362823326,
        11602.651437647350124,
        9842.7148383839780218,
        1.0765576773720192317e-8,
    ];
    const D: [f64; 8] = [
        22.266688044328115691,
        235.38790178262499861,
        1519.377599407554805,
        6485.558298266760755,
        18615.571640885098091,
        34900.952721145977266,
        38912.003286093271411,
        19685.429676859990727,
    ];
    const P: [f64; 6] = [
        0.21589853405795699,
        0.1274011611602473639,
        0.022235277870649807,
        0.001421619193227893466,
        2.9112874951168792e-5,
        0.02307344176494017303,
    ];
    const Q: [f64; 5] = [
        1.28426009614491121,
        0.468238212480865118,
        0.0659881378689285515,
        0.00378239633202758244,
        7.29751555083966205e-5,
    ];
    if x.is_nan() {
        return (f64::NAN, f64::NAN);
    }
    let y = x.abs();
    if y <= 0.67448975 {
        let (mut xnum, mut xden) = (0.0, 0.0);
        if y > f64::EPSILON * 0.5 {
            let xsq = x * x;
            xnum = A[4] * xsq;
            xden = xsq;
            for i in 0..3 {
                xnum = (xnum + A[i]) * xsq;
                xden = (xden + B[i]) * xsq;
            }
        }
        let t = x * (xnum + A[3]) / (xden + B[3]);
        return (0.5 + t, 0.5 - t);
    }
    if y >= 40.0 {
        return if x > 0.0 { (1.0, 0.0) } else { (0.0, 1.0) };
    }
    let r = if y <= 32f64.sqrt() {
        let mut xnum = C[8] * y;
        let mut xden = y;
        for i in 0..7 {
            xnum = (xnum + C[i]) * y;
            xden = (xden + D[i]) * y;
        }
        (xnum + C[7]) / (xden + D[7])
    } else {
        let xsq = 1.0 / (y * y);
        let mut xnum = P[5] * xsq;
        let mut xden = xsq;
        for i in 0..4 {
            xnum = (xnum + P[i]) * xsq;
            xden = (xden + Q[i]) * xsq;
        }
        let t = xsq * (xnum + P[4]) / (xden + Q[4]);
        (FRAC_1_SQRT_2PI - t) / y
    };
    // exp(−y²/2) split so that the large part is exact (Cody's trick).
    let ysq = (y * 16.0).trunc() / 16.0;
    let del = (y - ysq) * (y + ysq);
    let small = (-ysq * ysq * 0.5).exp() * (-del * 0.5).exp() * r;
    if x > 0.0 {
        (1.0 - small, small)
    } else {
        (small, 1.0 - small)
    }
}

fn std_normal_pdf(z: f64) -> f64 {
    if z.is_infinite() {
        0.0
    } else {
        FRAC_1_SQRT_2PI * (-0.5 * z * z).exp()
    }
}

/// `P(a < Z < b)` for a standard normal, computed in whichever tail keeps it accurate.
fn std_normal_mass(a: f64, b: f64) -> f64 {
    if a > 0.0 {
        norm_cdf_both(a).1 - norm_cdf_both(b).1
    } else if b < 0.0 {
        norm_cdf_both(b).0 - norm_cdf_both(a).0
    } else {
        1.0 - norm_cdf_both(a).0 - norm_cdf_both(b).1
    }
}

/// Quantile of a standard normal truncated to `[a, b]`:
/// `Φ⁻¹(Φ(a) + u(Φ(b) − Φ(a)))`, computed in the upper tail when `a > 0`.
fn std_trunc_normal_quantile(u: f64, a: f64, b: f64) -> f64 {
    TruncNormal::new(a, b).quantile(u)
}

/// CDF at `z` of a standard normal truncated to `[a, b]` (with `a ≤ z < b`).
fn std_trunc_normal_cdf(z: f64, a: f64, b: f64) -> f64 {
    if a == f64::NEG_INFINITY && b == f64::INFINITY {
        return norm_cdf_both(z).0;
    }
    let f = if a > 0.0 {
        let qa = norm_cdf_both(a).1;
        let qb = norm_cdf_both(b).1;
        (qa - norm_cdf_both(z).1) / (qa - qb)
    } else {
        let pa = norm_cdf_both(a).0;
        let pb = norm_cdf_both(b).0;
        (norm_cdf_both(z).0 - pa) / (pb - pa)
    };
    f.clamp(0.0, 1.0)
}

// ---------------------------------------------------------------------------
// ln Γ, ln B and the regularized incomplete beta
// ---------------------------------------------------------------------------

/// Below this, ln Γ uses Lanczos; from it, Stirling's series (whose tail
/// `stirling_tail` is then accurate to ~1e-17).
const STIRLING_MIN: f64 = 10.0;

/// `ln Γ(z) − [(z − ½) ln z − z + ln √(2π)]` for `z ≥ 10`.
fn stirling_tail(z: f64) -> f64 {
    const S: [f64; 8] = [
        1.0 / 12.0,
        -1.0 / 360.0,
        1.0 / 1260.0,
        -1.0 / 1680.0,
        1.0 / 1188.0,
        -691.0 / 360_360.0,
        1.0 / 156.0,
        -3617.0 / 122_400.0,
    ];
    let z2 = 1.0 / (z * z);
    horner(&S, z2) / z
}

/// ln Γ(z) for `z > 0`: Lanczos (g = 7, n = 9) below 10 with reflection under
/// ½, Stirling's series above; absolute error about 1e-15.
#[allow(clippy::excessive_precision)]
fn ln_gamma(z: f64) -> f64 {
    const L: [f64; 9] = [
        0.99999999999980993,
        676.5203681218851,
        -1259.1392167224028,
        771.32342877765313,
        -176.61502916214059,
        12.507343278686905,
        -0.13857109526572012,
        9.9843695780195716e-6,
        1.5056327351493116e-7,
    ];
    if z < 0.5 {
        (PI / (PI * z).sin()).ln() - ln_gamma(1.0 - z)
    } else if z >= STIRLING_MIN {
        (z - 0.5) * z.ln() - z + LN_SQRT_2PI + stirling_tail(z)
    } else {
        let z = z - 1.0;
        let mut s = L[0];
        for (i, c) in L.iter().enumerate().skip(1) {
            s += c / (z + i as f64);
        }
        let t = z + 7.5;
        LN_SQRT_2PI + (z + 0.5) * t.ln() - t + s.ln()
    }
}

/// ln B(a, b), avoiding the cancellation of ln Γ(big) − ln Γ(big + small).
fn ln_beta(a: f64, b: f64) -> f64 {
    let (small, big) = if a < b { (a, b) } else { (b, a) };
    if big >= STIRLING_MIN {
        let s = big + small;
        let diff =
            -(big - 0.5) * (small / big).ln_1p() - small * s.ln() + small + stirling_tail(big)
                - stirling_tail(s);
        ln_gamma(small) + diff
    } else {
        ln_gamma(a) + ln_gamma(b) - ln_gamma(a + b)
    }
}

/// `ln(1 + d)` for a relative deviation `d = r − 1` known to full relative
/// precision, falling back to `ln(r)` (passed lazily) far from 1.
fn ln_rel(d: f64, r: impl FnOnce() -> f64) -> f64 {
    if d.abs() <= 0.5 { d.ln_1p() } else { r().ln() }
}

/// Beta shapes with the `x`-independent part of `ln( x^a (1−x)^b / B(a,b) )`
/// computed once, so that repeated evaluations (Newton steps) are cheap.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct BetaShape {
    pub(super) a: f64,
    pub(super) b: f64,
    /// Whether both shapes are large enough for the Stirling form.
    large: bool,
    /// `−ln B(a, b)`, or for large shapes `½ ln(ab/(a+b)) − ln √(2π) − Δ`
    /// with `Δ` the Stirling tails of `a`, `b`, `a + b`.
    c: f64,
}

impl BetaShape {
    pub(super) fn new(a: f64, b: f64) -> Self {
        let large = a >= STIRLING_MIN && b >= STIRLING_MIN;
        let c = if large {
            let s = a + b;
            0.5 * (a * (b / s)).ln()
                - LN_SQRT_2PI
                - (stirling_tail(a) + stirling_tail(b) - stirling_tail(s))
        } else {
            -ln_beta(a, b)
        };
        BetaShape { a, b, large, c }
    }

    /// `ln( x^a (1−x)^b / B(a, b) )` for `0 < x < 1`. For large shapes it
    /// uses a cancellation-free Stirling form centred on the mean
    /// `x0 = a/(a+b)`, with `x·(a+b) − a` formed by a fused multiply-add, so
    /// that neither the rounding of `x0` nor that of `1 − x` is amplified by
    /// the shapes (error ~1e-14 rather than `(a+b)·ε`).
    pub(super) fn ln_prefactor(&self, x: f64) -> f64 {
        let (a, b) = (self.a, self.b);
        if self.large {
            let s = a + b;
            // x·s − a = −((1−x)·s − b) exactly, for the exact 1 − x.
            let dx = x.mul_add(s, -a);
            let ta = a * ln_rel(dx / a, || x * s / a);
            let tb = b * ln_rel(-dx / b, || (1.0 - x) * s / b);
            ta + tb + self.c
        } else {
            a * x.ln() + b * (-x).ln_1p() + self.c
        }
    }

    /// `(ln I_x(a,b), ln(1 − I_x(a,b)), ln(x^a (1−x)^b / B(a,b)))`. The tail
    /// that is small is computed directly (continued fraction on `x`, or on
    /// `1 − x` with swapped shapes by `I_x(a,b) = 1 − I_{1−x}(b,a)`).
    fn ln_ibeta(&self, x: f64) -> (f64, f64, f64) {
        let (a, b) = (self.a, self.b);
        if x <= 0.0 {
            return (f64::NEG_INFINITY, 0.0, f64::NEG_INFINITY);
        }
        if x >= 1.0 {
            return (0.0, f64::NEG_INFINITY, f64::NEG_INFINITY);
        }
        let lpf = self.ln_prefactor(x);
        if x < (a + 1.0) / (a + b + 2.0) {
            let lp = lpf + (beta_cf(x, a, b) / a).ln();
            (lp, ln_1m_exp(lp), lpf)
        } else {
            let lq = lpf + (beta_cf(1.0 - x, b, a) / b).ln();
            (ln_1m_exp(lq), lq, lpf)
        }
    }
}

/// Continued fraction for the incomplete beta (modified Lentz), convergent
/// for `x < (a + 1)/(a + b + 2)`.
fn beta_cf(x: f64, a: f64, b: f64) -> f64 {
    const FPMIN: f64 = 1e-300;
    const MAX_ITER: usize = 100_000;
    let tiny = |v: f64| if v.abs() < FPMIN { FPMIN } else { v };
    let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
    let mut c = 1.0;
    let mut d = 1.0 / tiny(1.0 - qab * x / qap);
    let mut h = d;
    for m in 1..=MAX_ITER {
        let m = m as f64;
        let m2 = 2.0 * m;
        let aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 / tiny(1.0 + aa * d);
        c = tiny(1.0 + aa / c);
        h *= d * c;
        let aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 / tiny(1.0 + aa * d);
        c = tiny(1.0 + aa / c);
        let del = d * c;
        h *= del;
        if (del - 1.0).abs() <= f64::EPSILON {
            break;
        }
    }
    h
}

/// `ln(1 − e^l)` for `l ≤ 0`, accurate at both ends.
fn ln_1m_exp(l: f64) -> f64 {
    if l > -std::f64::consts::LN_2 {
        (-l.exp_m1()).ln()
    } else {
        (-l.exp()).ln_1p()
    }
}

/// `(ln I_x(a,b), ln(1 − I_x(a,b)), ln(x^a (1−x)^b / B(a,b)))`; see [`BetaShape::ln_ibeta`].
fn ln_ibeta(x: f64, a: f64, b: f64) -> (f64, f64, f64) {
    BetaShape::new(a, b).ln_ibeta(x)
}

/// Starting point for the beta quantile (Numerical Recipes' `invbetai`).
fn beta_initial_guess(a: f64, b: f64, u: f64) -> f64 {
    if a >= 1.0 && b >= 1.0 {
        let pp = if u < 0.5 { u } else { 1.0 - u };
        let t = (-2.0 * pp.ln()).sqrt();
        let mut z = (2.30753 + t * 0.27061) / (1.0 + t * (0.99229 + t * 0.04481)) - t;
        if u < 0.5 {
            z = -z;
        }
        let al = (z * z - 3.0) / 6.0;
        let h = 2.0 / (1.0 / (2.0 * a - 1.0) + 1.0 / (2.0 * b - 1.0));
        let w = z * (al + h).sqrt() / h
            - (1.0 / (2.0 * b - 1.0) - 1.0 / (2.0 * a - 1.0)) * (al + 5.0 / 6.0 - 2.0 / (3.0 * h));
        a / (a + b * (2.0 * w).exp())
    } else {
        let lna = (a / (a + b)).ln();
        let lnb = (b / (a + b)).ln();
        let t = (a * lna).exp() / a;
        let v = (b * lnb).exp() / b;
        let w = t + v;
        if u < t / w {
            (a * w * u).powf(1.0 / a)
        } else {
            1.0 - (b * w * (1.0 - u)).powf(1.0 / b)
        }
    }
}

/// Inverse of the regularized incomplete beta: the `x` in `(0, 1)` with
/// `I_x(a, b) = u`, to about an ulp. Safeguarded Newton in `ln x` on `ln I`
/// (lower half, `u ≤ ½`) or in `ln(1 − x)` on `ln(1 − I)` (upper half), which
/// is exact for the power-law tails; a step that leaves the root's bracket is
/// replaced by interpolation in the same variables, or by bisection. The
/// result is clamped to `[f64::MIN_POSITIVE, 1 − 2⁻⁵³]` so that draws stay in
/// the open support `(0, 1)`; when `beta < 1` the mass closer to 1 than
/// 2⁻⁵³ is not representable and is returned as `1 − 2⁻⁵³`.
fn beta_quantile(a: f64, b: f64, u: f64) -> f64 {
    beta_quantile_from(&BetaShape::new(a, b), u, None)
}

/// [`beta_quantile`] started from `guess` when one is given (a point close
/// to the root saves iterations; the root and the stopping rule are the same).
pub(super) fn beta_quantile_from(shape: &BetaShape, u: f64, guess: Option<f64>) -> f64 {
    let (a, b) = (shape.a, shape.b);
    const X_MIN: f64 = f64::MIN_POSITIVE;
    const X_MAX: f64 = 1.0 - f64::EPSILON / 2.0;
    const MAX_ITER: usize = 2000;
    if a.is_nan() || b.is_nan() || u.is_nan() {
        return f64::NAN;
    }
    let upper = u > 0.5;
    let target = if upper { (1.0 - u).ln() } else { u.ln() };
    let mut x = guess.unwrap_or_else(|| beta_initial_guess(a, b, u));
    if !x.is_finite() {
        x = 0.5;
    }
    x = x.clamp(X_MIN, X_MAX);
    let mut lo = Bound {
        x: 0.0,
        h: f64::NAN,
    };
    let mut hi = Bound {
        x: 1.0,
        h: f64::NAN,
    };
    for _ in 0..MAX_ITER {
        let (lp, lq, lpf) = shape.ln_ibeta(x);
        let y = 1.0 - x;
        // h is increasing in x and vanishes at the root.
        let h = if upper { target - lq } else { lp - target };
        if h == 0.0 || h.is_nan() {
            break;
        }
        if h < 0.0 {
            lo = Bound { x, h };
        } else {
            hi = Bound { x, h };
        }
        let mut next = if upper {
            // Newton in s = ln(1 − x): ds = h·x·q / (x^a y^b / B).
            let ds = h * x * (lq - lpf).exp();
            x - y * ds.exp_m1()
        } else {
            // Newton in t = ln x: dt = −h·y·p / (x^a y^b / B).
            let dt = -h * y * (lp - lpf).exp();
            x * dt.exp()
        };
        if next == x {
            break; // the step is below one ulp
        }
        if !(next > lo.x && next < hi.x) {
            next = interpolate(lo, hi, upper).unwrap_or_else(|| bisect(lo.x, hi.x));
        }
        let next = next.clamp(X_MIN, X_MAX);
        if next == x {
            break; // pinned at a representability limit
        }
        // Newton converges quadratically in the log variable, on the scale of
        // the distribution there: after a step below 1e-9 of min(x, 1 − x)
        // the remaining error is below an ulp, so `next` needs no re-check.
        let done = (next - x).abs() <= 1e-9 * next.min(1.0 - next)
            || hi.x - lo.x <= 2.0 * f64::EPSILON * hi.x;
        x = next;
        if done {
            break;
        }
    }
    x
}

/// One end of the beta quantile's root bracket, with `h` there (NaN if unknown).
#[derive(Clone, Copy)]
struct Bound {
    x: f64,
    h: f64,
}

/// Secant step between the bracket ends in the solver's log variable
/// (`ln x`, or `ln(1 − x)` in the upper half), if it lands strictly inside.
fn interpolate(lo: Bound, hi: Bound, upper: bool) -> Option<f64> {
    if !(lo.h.is_finite() && hi.h.is_finite() && lo.x > 0.0 && hi.x < 1.0) {
        return None;
    }
    let w = lo.h / (lo.h - hi.h); // in (0, 1): h_lo < 0 < h_hi
    let x = if upper {
        let (slo, shi) = ((-lo.x).ln_1p(), (-hi.x).ln_1p());
        -(slo + w * (shi - slo)).exp_m1()
    } else {
        let (tlo, thi) = (lo.x.ln(), hi.x.ln());
        (tlo + w * (thi - tlo)).exp()
    };
    (x > lo.x && x < hi.x).then_some(x)
}

/// Bisection step for the beta root bracket, geometric towards 0 or 1 when
/// the bracket spans orders of magnitude there.
fn bisect(lo: f64, hi: f64) -> f64 {
    if lo == 0.0 {
        return (0.5 * hi).min(hi * hi.sqrt());
    }
    if hi == 1.0 {
        let ylo = 1.0 - lo;
        return 1.0 - (0.5 * ylo).min(ylo * ylo.sqrt());
    }
    if hi > 8.0 * lo {
        return (lo * hi).sqrt();
    }
    let (ylo, yhi) = (1.0 - hi, 1.0 - lo);
    if yhi > 8.0 * ylo {
        return 1.0 - (ylo * yhi).sqrt();
    }
    0.5 * (lo + hi)
}

// ---------------------------------------------------------------------------
// Display
// ---------------------------------------------------------------------------

/// Formats a number with up to 6 significant digits and no trailing zeros
/// (`98000`, `0.298`, `1.5e-7`), for compact listings such as `check`.
pub fn format_number(x: f64) -> String {
    if x.is_nan() {
        return "NaN".to_string();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf" } else { "-inf" }.to_string();
    }
    if x == 0.0 {
        return "0".to_string();
    }
    let sci = format!("{x:.5e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if (-5..15).contains(&exp) {
        // Re-read the 6-digit rounding so that large numbers are rounded too.
        let rounded: f64 = sci.parse().unwrap_or(x);
        let decimals = (5 - exp).max(0) as usize;
        trim_zeros(&format!("{rounded:.decimals$}"))
    } else {
        format!("{}e{exp}", trim_zeros(mantissa))
    }
}

fn trim_zeros(s: &str) -> String {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s.to_string()
    }
}

/// Writes ` truncated to [lo, hi]` when a bound is present.
fn write_truncation(f: &mut fmt::Formatter<'_>, lo: f64, hi: f64, lo_absent: bool) -> fmt::Result {
    if lo_absent && hi == f64::INFINITY {
        Ok(())
    } else {
        write!(
            f,
            " truncated to [{}, {}]",
            format_number(lo),
            format_number(hi)
        )
    }
}

impl Distribution {
    /// The beta shape behind a beta or PERT distribution.
    pub(super) fn beta_shape(&self) -> Option<(f64, f64)> {
        match self {
            Distribution::Beta { alpha, beta } => Some((*alpha, *beta)),
            Distribution::Pert { min, mode, max } if min < max => {
                Some(pert_shape(*min, *mode, *max))
            }
            _ => None,
        }
    }

    /// The standardised truncation bounds of a normal or lognormal.
    pub(super) fn normal_z_bounds(&self) -> Option<(f64, f64)> {
        match self {
            Distribution::Normal { mean, sd, min, max } => {
                Some(((min - mean) / sd, (max - mean) / sd))
            }
            Distribution::LogNormal {
                mu,
                sigma,
                min,
                max,
            } => Some(lognormal_z_bounds(*mu, *sigma, *min, *max)),
            _ => None,
        }
    }
}

/// A compact human form for listings, e.g. `uniform(10000, 13000)`,
/// `normal(mean 0, sd 3) truncated to [-5, inf]`, `beta(α 14, β 6)`.
impl fmt::Display for Distribution {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = format_number;
        match self {
            Distribution::Constant(c) => write!(f, "{}", n(*c)),
            Distribution::Uniform { min, max } => write!(f, "uniform({}, {})", n(*min), n(*max)),
            Distribution::Normal { mean, sd, min, max } => {
                write!(f, "normal(mean {}, sd {})", n(*mean), n(*sd))?;
                write_truncation(f, *min, *max, *min == f64::NEG_INFINITY)
            }
            Distribution::LogNormal {
                mu,
                sigma,
                min,
                max,
            } => {
                write!(f, "lognormal(median {}, sigma {})", n(mu.exp()), n(*sigma))?;
                write_truncation(f, min.max(0.0), *max, *min <= 0.0)
            }
            Distribution::Triangular { min, mode, max } => {
                write!(f, "triangular({}, {}, {})", n(*min), n(*mode), n(*max))
            }
            Distribution::Pert { min, mode, max } => {
                write!(f, "pert({}, {}, {})", n(*min), n(*mode), n(*max))
            }
            Distribution::Beta { alpha, beta } => {
                write!(f, "beta(α {}, β {})", n(*alpha), n(*beta))
            }
            Distribution::Discrete {
                values,
                probabilities,
            } => {
                write!(f, "discrete(")?;
                for (i, (v, p)) in values.iter().zip(probabilities).enumerate() {
                    if i > 0 {
                        write!(f, ", ")?;
                    }
                    write!(f, "{}: {}", n(*v), n(*p))?;
                }
                write!(f, ")")
            }
        }
    }
}

#[cfg(test)]
mod tests {

    use super::*;
    use rand::rngs::ChaCha8Rng;
    use rand::{Rng, SeedableRng};

    const SEED: u64 = 0x7AD3_F10E_2026;
    const INF: f64 = f64::INFINITY;
    const NEG_INF: f64 = f64::NEG_INFINITY;

    /// `n` uniforms in (0, 1) as the engine maps them: `((x >> 11) + ½)·2⁻⁵³`.
    fn uniforms(n: usize, seed: u64) -> Vec<f64> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        (0..n)
            .map(|_| ((rng.next_u64() >> 11) as f64 + 0.5) * (-53f64).exp2())
            .collect()
    }

    fn close(got: f64, want: f64, rel: f64) -> bool {
        (got - want).abs() <= rel * want.abs()
    }

    /// Every continuous form the engine offers, with a few hard shapes.
    fn continuous_cases() -> Vec<(&'static str, Distribution)> {
        let d = Distribution::normal;
        vec![
            ("uniform", Distribution::uniform(10000.0, 13000.0).unwrap()),
            ("normal", d(0.0, 3.0, NEG_INF, INF).unwrap()),
            (
                "normal truncated both sides",
                d(5.0, 2.0, 1.0, 8.0).unwrap(),
            ),
            ("normal truncated above", d(0.0, 1.0, NEG_INF, 0.5).unwrap()),
            ("normal truncated below", d(100.0, 15.0, 90.0, INF).unwrap()),
            ("normal far tail [3, inf)", d(0.0, 1.0, 3.0, INF).unwrap()),
            ("normal far lower tail", d(10.0, 2.0, NEG_INF, 2.0).unwrap()),
            ("normal far band [6, 7]", d(0.0, 1.0, 6.0, 7.0).unwrap()),
            (
                "lognormal median/sigma",
                Distribution::lognormal_median(98000.0, 0.298, 0.0, INF).unwrap(),
            ),
            (
                "lognormal truncated",
                Distribution::lognormal_median(1.0, 0.5, 0.8, 2.0).unwrap(),
            ),
            (
                "lognormal far tail",
                Distribution::lognormal_median(1.0, 1.0, 3f64.exp(), INF).unwrap(),
            ),
            (
                "lognormal p5/p95",
                Distribution::lognormal_range(50.0, 200.0, 0.0, INF).unwrap(),
            ),
            (
                "lognormal p5/p95 wide",
                Distribution::lognormal_range(0.01, 1000.0, 0.0, INF).unwrap(),
            ),
            (
                "triangular",
                Distribution::triangular(0.15, 0.4, 0.8).unwrap(),
            ),
            (
                "triangular mode at min",
                Distribution::triangular(0.0, 0.0, 1.0).unwrap(),
            ),
            (
                "triangular mode at max",
                Distribution::triangular(-2.0, 5.0, 5.0).unwrap(),
            ),
            (
                "pert",
                Distribution::pert(30000.0, 60000.0, 120000.0).unwrap(),
            ),
            (
                "pert mode at min",
                Distribution::pert(0.0, 0.0, 10.0).unwrap(),
            ),
            (
                "pert mode at max",
                Distribution::pert(1.0, 3.0, 3.0).unwrap(),
            ),
            ("beta(14, 6)", Distribution::beta(14.0, 6.0).unwrap()),
            ("beta(1, 1)", Distribution::beta(1.0, 1.0).unwrap()),
            ("beta(0.5, 0.5)", Distribution::beta(0.5, 0.5).unwrap()),
            ("beta(0.05, 2)", Distribution::beta(0.05, 2.0).unwrap()),
            ("beta(2, 0.5)", Distribution::beta(2.0, 0.5).unwrap()),
            ("beta(0.1, 2)", Distribution::beta(0.1, 2.0).unwrap()),
            ("beta(0.3, 0.7)", Distribution::beta(0.3, 0.7).unwrap()),
            (
                "beta(200, 3000)",
                Distribution::beta(200.0, 3000.0).unwrap(),
            ),
            ("beta(1e4, 1e4)", Distribution::beta(1e4, 1e4).unwrap()),
            ("beta(1e4, 2)", Distribution::beta(1e4, 2.0).unwrap()),
            ("beta(0.05, 1e4)", Distribution::beta(0.05, 1e4).unwrap()),
            (
                "beta mean/sd",
                Distribution::beta_mean_sd(0.3, 0.1).unwrap(),
            ),
            (
                "beta mean/sd skewed",
                Distribution::beta_mean_sd(0.02, 0.03).unwrap(),
            ),
        ]
    }

    fn cases_named(prefix: &str) -> Vec<(&'static str, Distribution)> {
        continuous_cases()
            .into_iter()
            .filter(|(name, _)| name.starts_with(prefix))
            .collect()
    }

    /// Laws with visible mass where no double lies: betas with `beta < ½`
    /// within 2⁻⁵³ of 1 (draws pinned at `1 − 2⁻⁵³`), a lognormal with sigma
    /// 40 below `f64::MIN_POSITIVE` (pinned there). They are checked only up
    /// to one ulp of the returned quantile.
    fn upper_edge_cases() -> Vec<(&'static str, Distribution)> {
        vec![
            ("beta(2, 0.1)", Distribution::beta(2.0, 0.1).unwrap()),
            ("beta(1e4, 0.05)", Distribution::beta(1e4, 0.05).unwrap()),
            ("beta(0.1, 0.1)", Distribution::beta(0.1, 0.1).unwrap()),
            (
                "lognormal sigma 40",
                Distribution::lognormal_median(1.0, 40.0, 0.0, INF).unwrap(),
            ),
        ]
    }

    /// The neighbouring doubles of `x`.
    fn ulp_neighbours(x: f64) -> (f64, f64) {
        let step = |up: bool| {
            if x == 0.0 {
                let tiny = f64::from_bits(1);
                return if up { tiny } else { -tiny };
            }
            let bits = x.to_bits();
            f64::from_bits(if (x > 0.0) == up { bits + 1 } else { bits - 1 })
        };
        (step(false), step(true))
    }

    /// Kolmogorov–Smirnov statistic of draws against `cdf`: `quantile(u)`,
    /// or with `guided` the engine's draws, `quantile_guided(u)` where the
    /// form has a guide.
    fn ks_statistic(d: &Distribution, us: &[f64], guided: bool) -> f64 {
        let guide = if guided { d.quantile_guide() } else { None };
        let mut xs: Vec<f64> = us
            .iter()
            .map(|&u| match &guide {
                Some(g) => d.quantile_guided(u, g),
                None => d.quantile(u),
            })
            .collect();
        xs.sort_by(f64::total_cmp);
        let n = xs.len() as f64;
        xs.iter()
            .enumerate()
            .map(|(i, &x)| {
                let f = d.cdf(x);
                (f - i as f64 / n).max((i + 1) as f64 / n - f)
            })
            .fold(0.0, f64::max)
    }

    fn assert_ks(prefix: &str) {
        let n = 20_000;
        let us = uniforms(n, SEED);
        let critical = 1.63 / (n as f64).sqrt();
        let cases = cases_named(prefix);
        assert!(!cases.is_empty());
        for (name, d) in cases {
            for guided in [false, true] {
                let ks = ks_statistic(&d, &us, guided);
                assert!(
                    ks < critical,
                    "{name} (guided {guided}): KS D = {ks} ≥ {critical}"
                );
            }
        }
    }

    #[test]
    fn ks_uniform() {
        assert_ks("uniform");
    }

    #[test]
    fn ks_normal_and_truncated_normal() {
        assert_ks("normal");
    }

    #[test]
    fn ks_lognormal_both_forms() {
        assert_ks("lognormal");
    }

    #[test]
    fn ks_triangular() {
        assert_ks("triangular");
    }

    #[test]
    fn ks_pert() {
        assert_ks("pert");
    }

    #[test]
    fn ks_beta_shapes_and_mean_sd() {
        assert_ks("beta");
    }

    #[test]
    fn guided_normal_and_lognormal_draws_equal_the_plain_ones() {
        // Their guide only holds the truncation's probabilities: same bits.
        let us = uniforms(2000, SEED ^ 0x77);
        let tails = [1e-300, 1e-12, 0.5, 1.0 - 1e-12, 1.0 - f64::EPSILON / 2.0];
        let mut seen = 0;
        for (name, d) in continuous_cases() {
            if !matches!(
                d,
                Distribution::Normal { .. } | Distribution::LogNormal { .. }
            ) {
                continue;
            }
            seen += 1;
            let g = d.quantile_guide().expect("normal forms have a guide");
            for &u in us.iter().chain(&tails) {
                let (plain, guided) = (d.quantile(u), d.quantile_guided(u, &g));
                assert_eq!(plain.to_bits(), guided.to_bits(), "{name}: u {u}");
            }
        }
        assert!(seen >= 10);
    }

    #[test]
    fn standard_normal_quantile_is_the_normal_law_s() {
        let d = Distribution::normal(0.0, 1.0, NEG_INF, INF).unwrap();
        let mut us = uniforms(5000, SEED ^ 0x99);
        us.extend([0.0, 1e-300, 0.5, 1.0 - 1e-17, 1.0, -3.0, 7.0]);
        for u in us {
            assert_eq!(
                standard_normal_quantile(u).to_bits(),
                d.quantile(u).to_bits(),
                "u {u}"
            );
        }
        assert!(standard_normal_quantile(f64::NAN).is_nan());
    }

    #[test]
    fn ks_detects_a_wrong_law() {
        // Guard against a vacuous KS: draws from one law against another's cdf.
        let n = 20_000;
        let us = uniforms(n, SEED);
        let a = Distribution::normal(0.0, 1.0, NEG_INF, INF).unwrap();
        let b = Distribution::normal(0.05, 1.0, NEG_INF, INF).unwrap();
        let mut xs: Vec<f64> = us.iter().map(|&u| a.quantile(u)).collect();
        xs.sort_by(f64::total_cmp);
        let nf = n as f64;
        let ks = xs
            .iter()
            .enumerate()
            .map(|(i, &x)| {
                let f = b.cdf(x);
                (f - i as f64 / nf).max((i + 1) as f64 / nf - f)
            })
            .fold(0.0, f64::max);
        assert!(
            ks > 1.63 / nf.sqrt(),
            "KS failed to see a 0.05 sd shift: {ks}"
        );
    }

    #[test]
    fn sample_means_match_analytic_means() {
        let n = 20_000;
        let us = uniforms(n, SEED ^ 0x55);
        for (name, d) in continuous_cases() {
            if name == "lognormal p5/p95 wide" {
                continue; // sigma 3.5: the sample mean is too heavy-tailed to test
            }
            let xs: Vec<f64> = us.iter().map(|&u| d.quantile(u)).collect();
            let m = xs.iter().sum::<f64>() / n as f64;
            let var = xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (n as f64 - 1.0);
            let se = (var / n as f64).sqrt();
            let want = d.mean();
            assert!(
                (m - want).abs() <= 5.0 * se + 1e-12 * want.abs(),
                "{name}: sample mean {m} vs analytic {want} (se {se})"
            );
        }
    }

    #[test]
    fn truncated_means_closed_form() {
        let d = Distribution::normal(0.0, 1.0, 3.0, INF).unwrap();
        assert!(close(d.mean(), 3.2830986549304365, 1e-12), "{}", d.mean());
        let d = Distribution::normal(0.0, 2.0, -1.0, 1.0).unwrap();
        assert!(d.mean().abs() < 1e-15);
        // Lognormal truncated to [e^mu, inf): E = e^{mu+σ²/2}·Φ(σ)/½.
        let d = Distribution::lognormal_median(1.0, 0.5, 1.0, INF).unwrap();
        let want = (0.125f64).exp() * norm_cdf_both(0.5).0 / 0.5;
        assert!(close(d.mean(), want, 1e-13));
        let d = Distribution::lognormal_median(2.0, 0.4, 0.0, INF).unwrap();
        assert!(close(d.mean(), 2.0 * (0.08f64).exp(), 1e-14));
    }

    #[test]
    fn discrete_frequencies_match_probabilities() {
        let d = Distribution::discrete(
            vec![0.7, 0.3, 0.5, 0.3, 0.9],
            Some(vec![1.0, 1.0, 2.0, 0.5, 0.0]),
        )
        .unwrap();
        let Distribution::Discrete {
            values,
            probabilities,
        } = &d
        else {
            panic!("not discrete: {d:?}")
        };
        assert_eq!(values, &vec![0.3, 0.5, 0.7, 0.9]);
        let want = [1.5 / 4.5, 2.0 / 4.5, 1.0 / 4.5, 0.0];
        for (p, w) in probabilities.iter().zip(want) {
            assert!((p - w).abs() < 1e-15);
        }
        let n = 100_000;
        let mut counts = [0usize; 4];
        for u in uniforms(n, SEED + 1) {
            let x = d.quantile(u);
            let i = values.iter().position(|&v| v == x).expect("drawn value");
            counts[i] += 1;
        }
        assert_eq!(counts[3], 0, "a zero-weight value was drawn");
        for (i, &p) in want.iter().enumerate().take(3) {
            let freq = counts[i] as f64 / n as f64;
            let se = (p * (1.0 - p) / n as f64).sqrt();
            assert!((freq - p).abs() < 4.0 * se, "value {i}: {freq} vs {p}");
        }
    }

    #[test]
    fn discrete_quantile_ascending_and_edges() {
        let d = Distribution::discrete(vec![3.0, 1.0, 2.0], None).unwrap();
        let grid: Vec<f64> = (1..1000).map(|i| d.quantile(i as f64 / 1000.0)).collect();
        assert!(grid.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(d.quantile(1e-300), 1.0);
        assert_eq!(d.quantile(1.0 / 3.0 - 1e-12), 1.0);
        assert_eq!(d.quantile(0.5), 2.0);
        assert_eq!(d.quantile(1.0 - 1e-17), 3.0);
        assert_eq!(d.quantile(1.0), 3.0);
        assert_eq!(d.cdf(0.99), 0.0);
        assert!((d.cdf(2.0) - 2.0 / 3.0).abs() < 1e-15);
        assert_eq!(d.cdf(3.0), 1.0);
        assert_eq!(d.mean(), 2.0);
        // Rounding that leaves the cumulative sum below 1 still yields the last value.
        let d = Distribution::Discrete {
            values: vec![1.0, 2.0],
            probabilities: vec![0.5, 0.5 - 1e-15],
        };
        assert_eq!(d.quantile(1.0 - 1e-16), 2.0);
    }

    #[test]
    fn normal_quantile_known_values() {
        let d = Distribution::normal(0.0, 1.0, NEG_INF, INF).unwrap();
        assert!((d.quantile(0.975) - 1.959963984540054).abs() < 1e-14);
        assert!(close(d.quantile(1e-10), -6.361340902404056, 1e-9));
        assert!(close(d.quantile(0.3), -0.5244005127080408, 1e-15));
        assert!(close(d.quantile(0.95), Z95, 1e-15));
        assert_eq!(d.quantile(0.5), 0.0);
        assert_eq!(d.median(), 0.0);
        let d = Distribution::normal(7.0, 2.0, NEG_INF, INF).unwrap();
        assert!((d.quantile(0.975) - (7.0 + 2.0 * 1.959963984540054)).abs() < 1e-13);
    }

    #[test]
    fn truncated_normal_far_tail_known_values() {
        let d = Distribution::normal(0.0, 1.0, 3.0, INF).unwrap();
        assert!(
            close(d.median(), 3.205154920598933, 1e-13),
            "{}",
            d.median()
        );
        let d = Distribution::normal(0.0, 1.0, 6.0, 7.0).unwrap();
        assert!(
            close(d.median(), 6.111358215508885, 1e-13),
            "{}",
            d.median()
        );
        // The same truncation in the lower tail, by symmetry.
        let d = Distribution::normal(0.0, 1.0, -7.0, -6.0).unwrap();
        assert!(
            close(d.median(), -6.111358215508885, 1e-13),
            "{}",
            d.median()
        );
    }

    #[test]
    fn normal_cdf_matches_reference_values() {
        // Φ(x) from mpmath at 50 digits.
        let lower = [
            (-37.0, 5.725_571_222_524_577e-300),
            (-20.0, 2.753_624_118_606_233_7e-89),
            (-10.0, 7.619_853_024_160_526e-24),
            (-5.0, 2.866_515_718_791_939e-7),
            (-1.0, 0.158_655_253_931_457_05),
            (0.5, 0.691_462_461_274_013_1),
            (3.0, 0.998_650_101_968_369_9),
        ];
        for (x, want) in lower {
            let got = norm_cdf_both(x).0;
            assert!(close(got, want, 1e-14), "Φ({x}) = {got}, want {want}");
        }
        let upper = [
            (3.0, 1.349_898_031_630_094_5e-3),
            (8.0, 6.220_960_574_271_784e-16),
            (20.0, 2.753_624_118_606_233_7e-89),
        ];
        for (x, want) in upper {
            let got = norm_cdf_both(x).1;
            assert!(close(got, want, 1e-14), "Q({x}) = {got}, want {want}");
        }
        assert_eq!(norm_cdf_both(0.0), (0.5, 0.5));
        assert_eq!(norm_cdf_both(NEG_INF), (0.0, 1.0));
        assert_eq!(norm_cdf_both(INF), (1.0, 0.0));
    }

    #[test]
    fn cdf_inverts_quantile_everywhere() {
        let mut grid: Vec<f64> = vec![1e-300, 1e-100, 1e-12, 1e-9, 1e-6, 1e-4, 1e-3];
        grid.extend((1..100).map(|i| i as f64 / 100.0));
        grid.extend([1.0 - 1e-3, 1.0 - 1e-4, 1.0 - 1e-6]);
        for (name, d) in continuous_cases() {
            for &u in &grid {
                let x = d.quantile(u);
                let f = d.cdf(x);
                assert!((f - u).abs() <= 1e-10, "{name}: cdf(quantile({u})) = {f}");
            }
        }
        // Deeper in the upper tail, and for shapes with unrepresentable mass
        // next to 1: u lies between the cdf at the quantile's neighbours.
        let tail = [
            1.0 - 1e-9,
            1.0 - 1e-12,
            1.0 - 1e-15,
            1.0 - f64::EPSILON / 2.0,
        ];
        let mut cases = continuous_cases();
        cases.extend(upper_edge_cases());
        for (name, d) in cases {
            for &u in grid.iter().chain(&tail) {
                let x = d.quantile(u);
                let (below, above) = ulp_neighbours(x);
                let (fb, fa) = (d.cdf(below), d.cdf(above));
                assert!(
                    fb - 1e-10 <= u && u <= fa + 1e-10,
                    "{name}: u = {u} outside [{fb}, {fa}] around quantile {x}"
                );
            }
        }
    }

    #[test]
    fn lower_tail_is_relatively_accurate() {
        // Where the support starts at 0 or −∞ the tail probabilities are
        // resolved relatively, not just absolutely.
        let cases = [
            Distribution::normal(0.0, 1.0, NEG_INF, INF).unwrap(),
            Distribution::normal(0.0, 1.0, NEG_INF, -3.0).unwrap(),
            Distribution::lognormal_median(5.0, 0.7, 0.0, INF).unwrap(),
            Distribution::beta(0.05, 2.0).unwrap(),
            Distribution::beta(14.0, 6.0).unwrap(),
            Distribution::beta(1e4, 1e4).unwrap(),
            Distribution::beta(0.05, 1e4).unwrap(),
        ];
        for d in &cases {
            for u in [1e-300, 1e-200, 1e-100, 1e-30, 1e-15, 1e-8] {
                let x = d.quantile(u);
                let f = d.cdf(x);
                if x == f64::MIN_POSITIVE {
                    // Beta(0.05, ·) at 1e-300 lies below every normal double.
                    assert!(f >= u, "{d}: pinned quantile below the root");
                    continue;
                }
                assert!(close(f, u, 1e-9), "{d}: cdf(quantile({u:e})) = {f:e}");
            }
        }
    }

    #[test]
    fn beta_mass_next_to_one_is_pinned_below_one() {
        let top = 1.0 - f64::EPSILON / 2.0;
        // Beta(2, 0.1) puts about 2.8 % of its mass within 2⁻⁵³ of 1.
        let d = Distribution::beta(2.0, 0.1).unwrap();
        assert!((1.0 - d.cdf(top) - 0.028).abs() < 0.002, "{}", d.cdf(top));
        assert_eq!(d.quantile(0.99), top);
        assert!(d.quantile(0.9) < top);
    }

    #[test]
    fn lognormal_range_recovers_p5_p95() {
        for (p5, p95) in [(50.0, 200.0), (0.01, 1000.0), (98000.0, 98001.0)] {
            let d = Distribution::lognormal_range(p5, p95, 0.0, INF).unwrap();
            assert!(close(d.quantile(0.05), p5, 1e-9), "{}", d.quantile(0.05));
            assert!(close(d.quantile(0.95), p95, 1e-9), "{}", d.quantile(0.95));
            assert!(close(d.median(), (p5 * p95).sqrt(), 1e-12));
        }
        let d = Distribution::lognormal_median(98000.0, 0.298, 0.0, INF).unwrap();
        assert!(close(d.median(), 98000.0, 1e-14));
    }

    #[test]
    fn beta_mean_sd_round_trips() {
        for (m, s) in [(0.3, 0.1), (0.02, 0.03), (0.9, 0.25), (0.5, 0.001)] {
            let d = Distribution::beta_mean_sd(m, s).unwrap();
            let Distribution::Beta { alpha, beta } = d else {
                panic!("not a beta")
            };
            let t = alpha + beta;
            let sd = (alpha * beta / (t * t * (t + 1.0))).sqrt();
            assert!(close(alpha / t, m, 1e-12), "mean {}", alpha / t);
            assert!(close(sd, s, 1e-12), "sd {sd}");
            assert!(close(d.mean(), m, 1e-12));
        }
    }

    #[test]
    fn pert_and_triangular_means() {
        let d = Distribution::pert(30000.0, 60000.0, 120000.0).unwrap();
        assert_eq!(d.mean(), (30000.0 + 4.0 * 60000.0 + 120000.0) / 6.0);
        // The PERT is the scaled beta whose mean is the same number.
        let (a, b) = pert_shape(30000.0, 60000.0, 120000.0);
        assert!(close(30000.0 + 90000.0 * a / (a + b), d.mean(), 1e-15));
        let d = Distribution::triangular(0.15, 0.4, 0.8).unwrap();
        assert!(close(d.mean(), 0.45, 1e-15));
        // Triangular median on the right branch: max − sqrt((max−min)(max−mode)/2).
        assert!(close(d.median(), 0.8 - (0.65f64 * 0.4 / 2.0).sqrt(), 1e-15));
    }

    #[test]
    fn ln_gamma_reference_values() {
        // ln Γ from mpmath.
        let refs = [
            (0.05, 2.968_879_201_051_730_8),
            (0.5, 0.572_364_942_924_700_1),
            (1.0, 0.0),
            (2.0, 0.0),
            (2.5, 0.284_682_870_472_919_2),
            (9.99, 12.779_315_214_350_193),
            (10.01, 12.824_350_262_448_248),
            (123.4, 469.336_097_442_190_6),
            (1e4, 82_099.717_496_442_38),
        ];
        for (z, want) in refs {
            let got = ln_gamma(z);
            assert!(
                (got - want).abs() <= 2e-15 * want.abs().max(1.0),
                "ln Γ({z}) = {got}, want {want}"
            );
        }
    }

    #[test]
    fn incomplete_beta_closed_forms() {
        for &x in &[1e-10, 0.01, 0.3, 0.5, 0.77, 0.999] {
            for &b in &[0.05, 0.7, 1.0, 3.5, 40.0, 1e4] {
                // I_x(1, b) = 1 − (1−x)^b: compare the upper tail relatively.
                let (_, lq, _) = ln_ibeta(x, 1.0, b);
                let want = b * (-x).ln_1p();
                assert!(
                    (lq - want).abs() <= 1e-12 * want.abs().max(1.0),
                    "I_{x}(1,{b})"
                );
                // I_x(a, 1) = x^a.
                let (lp, _, _) = ln_ibeta(x, b, 1.0);
                let want = b * x.ln();
                assert!(
                    (lp - want).abs() <= 1e-12 * want.abs().max(1.0),
                    "I_{x}({b},1)"
                );
            }
        }
        for &a in &[0.05, 0.7, 3.0, 50.0, 1e4] {
            let (lp, lq, _) = ln_ibeta(0.5, a, a);
            assert!(
                (lp.exp() - 0.5).abs() < 1e-13,
                "I_0.5({a},{a}) = {}",
                lp.exp()
            );
            assert!((lq.exp() - 0.5).abs() < 1e-13);
        }
    }

    /// `I_x(a, b)` for integer shapes as a binomial tail, summed in logs.
    fn binomial_tail(x: f64, a: usize, b: usize) -> f64 {
        let n = a + b - 1;
        let ln_fact: Vec<f64> = std::iter::once(0.0)
            .chain((1..=n).scan(0.0, |s, k| {
                *s += (k as f64).ln();
                Some(*s)
            }))
            .collect();
        (a..=n)
            .map(|j| {
                (ln_fact[n] - ln_fact[j] - ln_fact[n - j]
                    + j as f64 * x.ln()
                    + (n - j) as f64 * (-x).ln_1p())
                .exp()
            })
            .sum()
    }

    #[test]
    fn incomplete_beta_integer_shapes_match_binomial_sums() {
        for (x, a, b) in [(0.3, 3, 5), (0.6, 40, 25), (0.41, 200, 300), (0.05, 2, 60)] {
            let want = binomial_tail(x, a, b);
            let got = ln_ibeta(x, a as f64, b as f64).0.exp();
            assert!(
                close(got, want, 1e-11),
                "I_{x}({a},{b}) = {got}, want {want}"
            );
        }
    }

    #[test]
    fn incomplete_beta_reference_values() {
        // (x, a, b, I_x(a,b), 1 − I_x(a,b)) from mpmath (betainc / quadrature, 40 digits).
        let refs = [
            (
                0.3,
                0.05,
                2.5,
                0.981_798_358_846_314_2,
                0.018_201_641_153_685_766,
            ),
            (
                0.7,
                14.0,
                6.0,
                0.473_862_524_273_514_16,
                0.526_137_475_726_485_8,
            ),
            (
                0.001,
                0.5,
                0.5,
                0.020_135_041_633_377_49,
                0.979_864_958_366_622_5,
            ),
            (
                0.999,
                0.5,
                0.5,
                0.979_864_958_366_622_5,
                0.020_135_041_633_377_49,
            ),
            (
                0.49,
                1e4,
                1e4,
                0.002_337_059_330_110_168,
                0.997_662_940_669_889_8,
            ),
            (
                0.5,
                1e4,
                9900.0,
                0.239_194_030_988_841_4,
                0.760_805_969_011_158_6,
            ),
            (
                0.012,
                30.0,
                2000.0,
                0.147_106_267_751_357_1,
                0.852_893_732_248_643,
            ),
            (
                0.2,
                2.5,
                0.3,
                0.003_364_989_830_319_861,
                0.996_635_010_169_680_1,
            ),
            (
                1e-5,
                0.05,
                1e4,
                0.911_255_864_888_623_9,
                0.088_744_135_111_376_1,
            ),
            (
                0.9999,
                1e4,
                0.05,
                0.011_523_605_678_716_67,
                0.988_476_394_321_283_3,
            ),
        ];
        for (x, a, b, p, q) in refs {
            let (lp, lq, _) = ln_ibeta(x, a, b);
            assert!(
                close(lp.exp(), p, 1e-12),
                "I_{x}({a},{b}) = {}, want {p}",
                lp.exp()
            );
            assert!(
                close(lq.exp(), q, 1e-12),
                "1 − I_{x}({a},{b}) = {}, want {q}",
                lq.exp()
            );
        }
    }

    #[test]
    fn constructors_reject_bad_parameters() {
        let nan = f64::NAN;
        let rejected: Vec<(&str, Result<Distribution, String>)> = vec![
            ("constant NaN", Distribution::constant(nan)),
            ("constant inf", Distribution::constant(INF)),
            ("uniform min>max", Distribution::uniform(5.0, 3.0)),
            ("uniform NaN", Distribution::uniform(nan, 3.0)),
            ("uniform inf", Distribution::uniform(0.0, INF)),
            ("normal sd<0", Distribution::normal(0.0, -1.0, NEG_INF, INF)),
            ("normal sd=0", Distribution::normal(0.0, 0.0, NEG_INF, INF)),
            (
                "normal mean NaN",
                Distribution::normal(nan, 1.0, NEG_INF, INF),
            ),
            (
                "normal sd inf",
                Distribution::normal(0.0, INF, NEG_INF, INF),
            ),
            ("normal min>max", Distribution::normal(0.0, 1.0, 5.0, 3.0)),
            ("normal min=max", Distribution::normal(0.0, 1.0, 3.0, 3.0)),
            ("normal min NaN", Distribution::normal(0.0, 1.0, nan, 3.0)),
            ("normal max NaN", Distribution::normal(0.0, 1.0, 0.0, nan)),
            ("normal min=+inf", Distribution::normal(0.0, 1.0, INF, INF)),
            (
                "normal negligible mass",
                Distribution::normal(0.0, 1.0, 8.0, INF),
            ),
            (
                "lognormal median 0",
                Distribution::lognormal_median(0.0, 1.0, 0.0, INF),
            ),
            (
                "lognormal median<0",
                Distribution::lognormal_median(-3.0, 1.0, 0.0, INF),
            ),
            (
                "lognormal sigma 0",
                Distribution::lognormal_median(1.0, 0.0, 0.0, INF),
            ),
            (
                "lognormal sigma NaN",
                Distribution::lognormal_median(1.0, nan, 0.0, INF),
            ),
            (
                "lognormal min<0",
                Distribution::lognormal_median(1.0, 1.0, -1.0, INF),
            ),
            (
                "lognormal min>max",
                Distribution::lognormal_median(1.0, 1.0, 5.0, 3.0),
            ),
            (
                "lognormal max NaN",
                Distribution::lognormal_median(1.0, 1.0, 0.0, nan),
            ),
            (
                "lognormal negligible",
                Distribution::lognormal_median(1.0, 0.1, 100.0, INF),
            ),
            (
                "range p5>p95",
                Distribution::lognormal_range(10.0, 5.0, 0.0, INF),
            ),
            (
                "range p5=p95",
                Distribution::lognormal_range(5.0, 5.0, 0.0, INF),
            ),
            (
                "range p5<=0",
                Distribution::lognormal_range(0.0, 5.0, 0.0, INF),
            ),
            (
                "range p95 inf",
                Distribution::lognormal_range(1.0, INF, 0.0, INF),
            ),
            (
                "triangular min>max",
                Distribution::triangular(5.0, 4.0, 3.0),
            ),
            (
                "triangular mode<min",
                Distribution::triangular(1.0, 0.0, 3.0),
            ),
            (
                "triangular mode>max",
                Distribution::triangular(0.0, 9.0, 8.0),
            ),
            (
                "triangular min=max",
                Distribution::triangular(3.0, 3.0, 3.0),
            ),
            ("triangular NaN", Distribution::triangular(0.0, nan, 1.0)),
            ("pert min>max", Distribution::pert(5.0, 4.0, 3.0)),
            ("pert mode>max", Distribution::pert(0.0, 9.0, 8.0)),
            ("pert min=max", Distribution::pert(2.0, 2.0, 2.0)),
            ("pert inf", Distribution::pert(0.0, 1.0, INF)),
            ("beta alpha 0", Distribution::beta(0.0, 1.0)),
            ("beta beta<0", Distribution::beta(1.0, -2.0)),
            ("beta NaN", Distribution::beta(nan, 1.0)),
            ("beta infeasible", Distribution::beta_mean_sd(0.9, 0.4)),
            ("beta infeasible edge", Distribution::beta_mean_sd(0.5, 0.5)),
            ("beta mean 0", Distribution::beta_mean_sd(0.0, 0.1)),
            ("beta mean 1.2", Distribution::beta_mean_sd(1.2, 0.1)),
            ("beta sd 0", Distribution::beta_mean_sd(0.5, 0.0)),
            ("beta sd NaN", Distribution::beta_mean_sd(0.5, nan)),
            ("discrete empty", Distribution::discrete(vec![], None)),
            (
                "discrete lengths",
                Distribution::discrete(vec![1.0, 2.0, 3.0], Some(vec![1.0, 1.0])),
            ),
            (
                "discrete negative weight",
                Distribution::discrete(vec![1.0, 2.0], Some(vec![1.0, -1.0])),
            ),
            (
                "discrete zero weights",
                Distribution::discrete(vec![1.0, 2.0], Some(vec![0.0, 0.0])),
            ),
            (
                "discrete NaN weight",
                Distribution::discrete(vec![1.0, 2.0], Some(vec![nan, 1.0])),
            ),
            (
                "discrete inf weight",
                Distribution::discrete(vec![1.0, 2.0], Some(vec![INF, 1.0])),
            ),
            (
                "discrete NaN value",
                Distribution::discrete(vec![1.0, nan], None),
            ),
        ];
        for (name, r) in rejected {
            match r {
                Err(msg) => assert!(!msg.is_empty(), "{name}: empty message"),
                Ok(d) => panic!("{name}: accepted as {d:?}"),
            }
        }
    }

    #[test]
    fn rejection_messages_say_what_is_wrong() {
        let e = |r: Result<Distribution, String>| r.unwrap_err();
        assert_eq!(
            e(Distribution::uniform(5.0, 3.0)),
            "min (5) must not exceed max (3)"
        );
        assert_eq!(
            e(Distribution::normal(0.0, -1.0, NEG_INF, INF)),
            "sd must be > 0 (found -1)"
        );
        assert_eq!(
            e(Distribution::beta_mean_sd(0.9, 0.4)),
            "beta with mean 0.9 and sd 0.4 is infeasible: sd must be below \
             sqrt(mean·(1−mean)) = 0.3"
        );
        assert_eq!(
            e(Distribution::lognormal_range(10.0, 5.0, 0.0, INF)),
            "p5 (10) must be below p95 (5)"
        );
        assert!(e(Distribution::constant(f64::NAN)).contains("NaN"));
        assert!(e(Distribution::normal(0.0, 1.0, 8.0, INF)).contains("[8, inf]"));
    }

    #[test]
    fn constructors_accept_absent_bounds_and_edges() {
        assert!(Distribution::uniform(3.0, 3.0).unwrap().is_constant());
        let d = Distribution::lognormal_median(1.0, 1.0, NEG_INF, INF).unwrap();
        assert_eq!(
            d,
            Distribution::LogNormal {
                mu: 0.0,
                sigma: 1.0,
                min: 0.0,
                max: INF
            }
        );
        assert!(Distribution::normal(0.0, 1.0, 7.0, INF).is_ok()); // mass 1.3e-12
        assert!(Distribution::triangular(0.0, 0.0, 1.0).is_ok());
        assert!(Distribution::beta(0.05, 1e4).is_ok());
    }

    #[test]
    fn quantile_is_monotone_on_a_fine_grid() {
        let mut grid: Vec<f64> = (0..=340)
            .map(|k| 10f64.powf(-306.0 + k as f64 * 0.9))
            .collect();
        grid.extend((1..20_000).map(|i| i as f64 / 20_000.0));
        grid.extend((5..=15).map(|k| 1.0 - 10f64.powi(-k)));
        grid.push(1.0 - f64::EPSILON / 2.0);
        grid.sort_by(f64::total_cmp);
        grid.dedup();
        assert!(grid[0] < 1e-300 && *grid.last().unwrap() > 1.0 - 1e-15);
        let mut cases = continuous_cases();
        cases.extend(upper_edge_cases());
        cases.push((
            "discrete",
            Distribution::discrete(vec![5.0, -1.0, 2.0], Some(vec![1.0, 2.0, 3.0])).unwrap(),
        ));
        cases.push(("constant", Distribution::constant(12000.0).unwrap()));
        for (name, d) in cases {
            let mut prev = f64::NEG_INFINITY;
            let s = d.support();
            for &u in &grid {
                let x = d.quantile(u);
                assert!(x >= prev, "{name}: quantile({u}) = {x} < {prev}");
                assert!(x >= s.lo && x <= s.hi, "{name}: {x} outside {s:?}");
                assert!(
                    (s.lo_attained || x > s.lo) && (s.hi_attained || x < s.hi),
                    "{name}: drew an unattainable endpoint {x}"
                );
                prev = x;
            }
        }
    }

    #[test]
    fn support_and_constancy() {
        let s = Distribution::normal(0.0, 1.0, NEG_INF, INF)
            .unwrap()
            .support();
        assert_eq!(
            (s.lo, s.hi, s.lo_attained, s.hi_attained),
            (NEG_INF, INF, false, false)
        );
        let s = Distribution::normal(0.0, 1.0, -1.0, INF).unwrap().support();
        assert_eq!((s.lo, s.lo_attained, s.hi_attained), (-1.0, true, false));
        let s = Distribution::lognormal_median(1.0, 1.0, 0.0, INF)
            .unwrap()
            .support();
        assert_eq!(
            (s.lo, s.hi, s.lo_attained, s.hi_attained),
            (0.0, INF, false, false)
        );
        let s = Distribution::lognormal_median(1.0, 1.0, 0.5, 4.0)
            .unwrap()
            .support();
        assert_eq!(
            (s.lo, s.hi, s.lo_attained, s.hi_attained),
            (0.5, 4.0, true, true)
        );
        let s = Distribution::uniform(1.0, 2.0).unwrap().support();
        assert_eq!(
            (s.lo, s.hi, s.lo_attained, s.hi_attained),
            (1.0, 2.0, true, true)
        );
        let s = Distribution::beta(2.0, 3.0).unwrap().support();
        assert_eq!(
            (s.lo, s.hi, s.lo_attained, s.hi_attained),
            (0.0, 1.0, false, false)
        );
        let s = Distribution::discrete(vec![4.0, 1.0, 9.0], Some(vec![1.0, 1.0, 0.0]))
            .unwrap()
            .support();
        assert_eq!((s.lo, s.hi), (1.0, 4.0));
        // Extreme shapes still never return 0 or 1 exactly.
        let b = Distribution::beta(0.05, 3.0).unwrap();
        assert!(b.quantile(1e-300) > 0.0);
        let b = Distribution::beta(3.0, 0.05).unwrap();
        assert!(b.quantile(1.0 - 1e-16) < 1.0);

        assert!(Distribution::constant(3.0).unwrap().is_constant());
        assert!(
            Distribution::discrete(vec![2.0, 2.0], None)
                .unwrap()
                .is_constant()
        );
        assert!(
            Distribution::discrete(vec![1.0, 2.0], Some(vec![0.0, 1.0]))
                .unwrap()
                .is_constant()
        );
        assert!(!Distribution::uniform(0.0, 1.0).unwrap().is_constant());
        assert!(!Distribution::beta(1.0, 1.0).unwrap().is_constant());
        assert_eq!(Distribution::constant(3.0).unwrap().quantile(0.3), 3.0);
        for (name, d) in continuous_cases() {
            assert!(d.quantile(f64::NAN).is_nan(), "{name}: NaN u must give NaN");
            assert_eq!(d.quantile(-1.0), d.quantile(0.0), "{name}: u is clamped");
            assert_eq!(d.quantile(2.0), d.quantile(1.0), "{name}: u is clamped");
        }
        assert_eq!(Distribution::constant(3.0).unwrap().cdf(2.9), 0.0);
        assert_eq!(Distribution::constant(3.0).unwrap().cdf(3.0), 1.0);
    }

    #[test]
    fn display_is_compact() {
        let show = |d: Result<Distribution, String>| d.unwrap().to_string();
        assert_eq!(show(Distribution::constant(12000.0)), "12000");
        assert_eq!(
            show(Distribution::uniform(10000.0, 13000.0)),
            "uniform(10000, 13000)"
        );
        assert_eq!(
            show(Distribution::normal(0.0, 3.0, NEG_INF, INF)),
            "normal(mean 0, sd 3)"
        );
        assert_eq!(
            show(Distribution::normal(0.0, 3.0, -5.0, INF)),
            "normal(mean 0, sd 3) truncated to [-5, inf]"
        );
        assert_eq!(
            show(Distribution::lognormal_median(98000.0, 0.298, 0.0, INF)),
            "lognormal(median 98000, sigma 0.298)"
        );
        assert_eq!(
            show(Distribution::lognormal_median(98000.0, 0.298, 0.0, 2e5)),
            "lognormal(median 98000, sigma 0.298) truncated to [0, 200000]"
        );
        assert_eq!(
            show(Distribution::triangular(0.15, 0.4, 0.8)),
            "triangular(0.15, 0.4, 0.8)"
        );
        assert_eq!(
            show(Distribution::pert(30000.0, 60000.0, 120000.0)),
            "pert(30000, 60000, 120000)"
        );
        assert_eq!(show(Distribution::beta(14.0, 6.0)), "beta(α 14, β 6)");
        assert_eq!(
            show(Distribution::discrete(
                vec![0.7, 0.3, 0.5],
                Some(vec![1.0, 1.0, 2.0])
            )),
            "discrete(0.3: 0.25, 0.5: 0.5, 0.7: 0.25)"
        );
    }

    #[test]
    fn format_number_six_significant_digits() {
        let cases = [
            (98000.0, "98000"),
            (0.298, "0.298"),
            (1.6448536269514722, "1.64485"),
            (-3.5, "-3.5"),
            (0.1 + 0.2, "0.3"),
            (999_999.7, "1000000"),
            (123_456_789.0, "123457000"),
            (0.000_123_456_789, "0.000123457"),
            (1.234_567e-7, "1.23457e-7"),
            (2e20, "2e20"),
            (0.0, "0"),
            (-0.0, "0"),
            (INF, "inf"),
            (NEG_INF, "-inf"),
        ];
        for (x, want) in cases {
            assert_eq!(format_number(x), want, "{x}");
        }
    }
}
