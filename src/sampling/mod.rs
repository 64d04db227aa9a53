//! Randomness: distributions (inverse CDFs) and named random streams.
//!
//! Every draw is `F⁻¹(u)` with `u` from a stream named by
//! `(seed, input path, trial index)`, so a draw never depends on the order in
//! which trials run, on the thread count, or on which other inputs exist.

pub mod distribution;
mod guide;
mod stream;

pub use distribution::{Distribution, Support, standard_normal_quantile};
pub use guide::{CHECK_REL_ERROR, GUIDED_REL_ERROR, QuantileGuide};
pub use stream::{StreamKey, UniformStream};

use rayon::prelude::*;

/// One named uncertain input, prepared for drawing.
#[derive(Debug, Clone)]
struct PreparedInput {
    distribution: Distribution,
    key: StreamKey,
    /// The input's prepared table (beta, PERT) or truncation (normal, lognormal).
    guide: Option<QuantileGuide>,
}

/// The named inputs of a run, prepared once: their stream keys and guides.
#[derive(Debug, Clone)]
pub struct InputStreams {
    inputs: Vec<PreparedInput>,
}

impl InputStreams {
    /// Prepares `(path, distribution)` inputs for `seed`, in the given order.
    pub fn new<'a>(
        seed: u64,
        inputs: impl IntoIterator<Item = (&'a str, &'a Distribution)>,
    ) -> Self {
        let inputs: Vec<(&str, &Distribution)> = inputs.into_iter().collect();
        // A beta guide costs ≈1 300 incomplete-beta evaluations (≈0.5 ms),
        // and a scenario may have dozens: built in parallel, as they are
        // independent (each one alone, so a guide never depends on threads).
        let inputs = inputs
            .par_iter()
            .map(|&(path, d)| PreparedInput {
                distribution: d.clone(),
                key: StreamKey::new(seed, path),
                guide: d.quantile_guide(),
            })
            .collect();
        InputStreams { inputs }
    }

    /// Draws every input for trial `trial` into `out` (one value per input, in order).
    // Out of line (one call a trial) so that profiles show the draws' share.
    #[inline(never)]
    pub fn draw_all(&self, trial: u64, out: &mut [f64]) {
        for (input, slot) in self.inputs.iter().zip(out.iter_mut()) {
            *slot = match (&input.distribution, &input.guide) {
                (Distribution::Constant(c), _) => *c,
                (d, Some(g)) => d.quantile_guided(input.key.uniform(trial), g),
                (d, None) => d.quantile(input.key.uniform(trial)),
            };
        }
    }
}
