//! Probability distributions of uncertain inputs: inverse CDFs (every draw is
//! `F⁻¹(u)`), CDFs (for tests and support checks) and parameter conversions.
//!
//! OWNED BY THE DISTRIBUTIONS HELPER: bodies to be implemented.

use std::fmt;

/// A resolved distribution: parameters already converted from the scenario's
/// forms (a lognormal's 90 % range, a beta's mean and sd, PERT's shape).
#[derive(Debug, Clone, PartialEq)]
pub enum Distribution {
    /// Always the same value.
    Constant(f64),
    /// Uniform on `[min, max]`.
    Uniform { min: f64, max: f64 },
    /// Normal, truncated to `[min, max]` (either may be infinite).
    Normal { mean: f64, sd: f64, min: f64, max: f64 },
    /// Lognormal: `ln X ~ N(mu, sigma²)`, truncated to `[min, max]` (`min ≥ 0`, `max` may be infinite).
    LogNormal { mu: f64, sigma: f64, min: f64, max: f64 },
    /// Triangular on `[min, max]` with mode `mode`.
    Triangular { min: f64, mode: f64, max: f64 },
    /// Beta-PERT on `[min, max]` with mode `mode` (λ = 4).
    Pert { min: f64, mode: f64, max: f64 },
    /// Beta(alpha, beta) on `[0, 1]`.
    Beta { alpha: f64, beta: f64 },
    /// Finitely many values with probabilities (normalised weights, same length).
    Discrete { values: Vec<f64>, probabilities: Vec<f64> },
}

// TEMPORARY STUBS (lead) — replaced by the distributions helper's file.
/// Support.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Support {
    /// lo
    pub lo: f64,
    /// hi
    pub hi: f64,
    /// lo attained
    pub lo_attained: bool,
    /// hi attained
    pub hi_attained: bool,
}
#[allow(missing_docs, unused_variables)]
impl Distribution {
    pub fn quantile(&self, u: f64) -> f64 {
        match self {
            Distribution::Constant(c) => *c,
            Distribution::Uniform { min, max } => min + u * (max - min),
            Distribution::Triangular { min, mode, max } | Distribution::Pert { min, mode, max } => min + u * (max - min),
            Distribution::Normal { mean, sd, .. } => mean + sd * (u - 0.5) * 3.0,
            Distribution::LogNormal { mu, sigma, .. } => (mu + sigma * (u - 0.5) * 3.0).exp(),
            Distribution::Beta { alpha, beta } => u,
            Distribution::Discrete { values, .. } => values[((u * values.len() as f64) as usize).min(values.len() - 1)],
        }
    }
    pub fn support(&self) -> Support {
        let (lo, hi) = match self {
            Distribution::Constant(c) => (*c, *c),
            Distribution::Uniform { min, max } | Distribution::Triangular { min, max, .. } | Distribution::Pert { min, max, .. } => (*min, *max),
            Distribution::Normal { min, max, .. } => (*min, *max),
            Distribution::LogNormal { min, max, .. } => (*min, *max),
            Distribution::Beta { .. } => (0.0, 1.0),
            Distribution::Discrete { values, .. } => (values[0], values[values.len() - 1]),
        };
        Support { lo, hi, lo_attained: !matches!(self, Distribution::LogNormal { .. }), hi_attained: true }
    }
    pub fn mean(&self) -> f64 { self.quantile(0.5) }
    pub fn constant(c: f64) -> Result<Self, String> { Ok(Distribution::Constant(c)) }
    pub fn uniform(min: f64, max: f64) -> Result<Self, String> { Ok(Distribution::Uniform { min, max }) }
    pub fn normal(mean: f64, sd: f64, min: f64, max: f64) -> Result<Self, String> { Ok(Distribution::Normal { mean, sd, min, max }) }
    pub fn lognormal_median(m: f64, s: f64, min: f64, max: f64) -> Result<Self, String> { Ok(Distribution::LogNormal { mu: m.ln(), sigma: s, min, max }) }
    pub fn lognormal_range(p5: f64, p95: f64, min: f64, max: f64) -> Result<Self, String> { Ok(Distribution::LogNormal { mu: (p5.ln() + p95.ln()) / 2.0, sigma: 0.3, min, max }) }
    pub fn triangular(min: f64, mode: f64, max: f64) -> Result<Self, String> { Ok(Distribution::Triangular { min, mode, max }) }
    pub fn pert(min: f64, mode: f64, max: f64) -> Result<Self, String> { Ok(Distribution::Pert { min, mode, max }) }
    pub fn beta(alpha: f64, beta: f64) -> Result<Self, String> { Ok(Distribution::Beta { alpha, beta }) }
    pub fn beta_mean_sd(mean: f64, sd: f64) -> Result<Self, String> { Ok(Distribution::Beta { alpha: mean, beta: sd }) }
    pub fn discrete(values: Vec<f64>, weights: Option<Vec<f64>>) -> Result<Self, String> { let n = values.len(); Ok(Distribution::Discrete { values, probabilities: vec![1.0 / n as f64; n] }) }
}
impl fmt::Display for Distribution {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { write!(f, "{self:?}") }
}
