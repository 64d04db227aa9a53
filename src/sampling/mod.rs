//! Randomness: distributions (inverse CDFs) and named random streams.
//!
//! Every draw is `F⁻¹(u)` with `u` from a stream named by
//! `(seed, input path, trial index)`, so a draw never depends on the order in
//! which trials run, on the thread count, or on which other inputs exist.

pub mod distribution;
mod stream;

pub use distribution::{Distribution, Support};
pub use stream::{StreamKey, UniformStream};

use crate::scenario::Scenario;

/// The stream keys of one scenario's inputs, prepared once per run.
#[derive(Debug, Clone)]
pub struct InputStreams {
    keys: Vec<StreamKey>,
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
        }
    }

    /// Draws every input of `scenario` for trial `trial` into `out` (one value per input).
    pub fn draw_all(&self, scenario: &Scenario, trial: u64, out: &mut [f64]) {
        for ((def, key), slot) in scenario.inputs.iter().zip(&self.keys).zip(out.iter_mut()) {
            *slot = match &def.distribution {
                Distribution::Constant(c) => *c,
                d => d.quantile(key.uniform(trial)),
            };
        }
    }
}
