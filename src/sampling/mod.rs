//! Randomness: distributions (inverse CDFs) and named random streams.
//!
//! Every draw is `F⁻¹(u)` with `u` from a stream named by
//! `(seed, input path, trial index)`, so a draw never depends on the order in
//! which trials run, on the thread count, or on which other inputs exist.

pub mod distribution;
mod stream;

pub use distribution::{Distribution, QuantileGuide, Support};
pub use stream::{StreamKey, UniformStream};

use crate::scenario::Scenario;

/// The stream keys of one scenario's inputs, prepared once per run.
#[derive(Debug, Clone)]
pub struct InputStreams {
    keys: Vec<StreamKey>,
    /// Starting tables for the inputs whose exact quantile needs an iterative solver.
    guides: Vec<Option<QuantileGuide>>,
}

impl InputStreams {
    /// Prepares the keys of every input of `scenario` for `seed`.
    pub fn new(scenario: &Scenario, seed: u64) -> Self {
        InputStreams {
            keys: scenario
                .inputs
                .iter()
                .map(|i| StreamKey::new(seed, &i.path))
                .collect(),
            guides: scenario
                .inputs
                .iter()
                .map(|i| i.distribution.quantile_guide())
                .collect(),
        }
    }

    /// Draws every input of `scenario` for trial `trial` into `out` (one value per input).
    pub fn draw_all(&self, scenario: &Scenario, trial: u64, out: &mut [f64]) {
        let inputs = scenario.inputs.iter().zip(&self.keys).zip(&self.guides);
        for (((def, key), guide), slot) in inputs.zip(out.iter_mut()) {
            *slot = match (&def.distribution, guide) {
                (Distribution::Constant(c), _) => *c,
                (d, Some(g)) => d.quantile_guided(key.uniform(trial), g),
                (d, None) => d.quantile(key.uniform(trial)),
            };
        }
    }
}
