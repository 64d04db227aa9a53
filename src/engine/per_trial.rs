//! One outcome and every drawn input, trial by trial: the raw material of a
//! sensitivity analysis.
//!
//! Trials run in blocks on rayon's pool and every row lands at the position
//! of its trial index, so the sample is the same whatever the thread count.
//! Memory: `8 · trials · (inputs + shocks + 1)` bytes, the sample itself.

use super::metrics::{MetricLayout, Scratch, SliceSink, horizon_metrics, month_metrics};
use super::run::{EngineError, Progress, RunSettings, drawn_inputs};
use crate::model::{Model, TrialRecord, Workspace};
use crate::scenario::Scenario;
use rayon::prelude::*;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

/// Trials per parallel work item.
const BLOCK_TRIALS: usize = 16;

/// Which value of a trial to record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrialMetric {
    /// Horizon series, by index into [`MetricLayout::horizon`].
    Horizon(usize),
    /// Monthly series (index into [`MetricLayout::monthly`]) in month index `month`.
    Month {
        /// Series index.
        series: usize,
        /// Month index, from 0.
        month: usize,
    },
}

/// Per trial: every drawn input, every shock's firing month, and one outcome.
#[derive(Debug, Clone)]
pub struct InputSample {
    /// Trials run.
    pub trials: u64,
    /// Seed used.
    pub seed: u64,
    /// Column names: the drawn inputs' paths, then `shock.NAME.month`.
    pub columns: Vec<String>,
    /// How many leading columns are drawn inputs (the rest are shock months).
    pub n_inputs: usize,
    /// Row-major values: `values[trial * columns.len() + c]`. A shock's value
    /// is the month index it fired in, or −1 if it did not fire within the horizon.
    pub values: Vec<f64>,
    /// The outcome, per trial.
    pub metric: Vec<f64>,
}

impl InputSample {
    /// Column `c` over all trials, in trial order.
    pub fn column(&self, c: usize) -> impl Iterator<Item = f64> + '_ {
        let w = self.columns.len();
        (0..self.metric.len()).map(move |t| self.values[t * w + c])
    }
}

/// Runs `sc`'s trials and records, per trial, every drawn input, every shock's
/// month and the value of `metric`.
pub fn sample_inputs(
    sc: &Scenario,
    settings: &RunSettings,
    metric: TrialMetric,
    progress: &dyn Progress,
    stop: &AtomicBool,
) -> Result<InputSample, EngineError> {
    let trials = settings.trials.unwrap_or(sc.trials).max(1);
    let seed = settings.seed.unwrap_or(sc.seed);
    let n = trials as usize;
    let layout = MetricLayout::new(sc);
    let model = Model::new(sc, seed);
    let drawn = drawn_inputs(sc);
    let mut columns: Vec<String> = drawn.iter().map(|&i| sc.inputs[i].path.clone()).collect();
    columns.extend(sc.shocks.iter().map(|s| s.month_path.clone()));
    let width = columns.len();
    let (series_count, name, month_label) = match metric {
        TrialMetric::Horizon(h) => (layout.horizon.len(), &layout.horizon[h], None),
        TrialMetric::Month { series, month } => (
            layout.monthly.len(),
            &layout.monthly[series],
            Some(sc.month_label(month)),
        ),
    };
    progress.add_work(trials);

    // At least one slot per trial, so that the blocks run even without inputs.
    let slots = width.max(1);
    let mut values = vec![0.0; n * slots];
    let mut outcome = vec![0.0; n];
    let first_bad: Mutex<Option<u64>> = Mutex::new(None);
    let init = || {
        (
            Workspace::default(),
            TrialRecord::default(),
            Scratch::default(),
            vec![0.0; series_count],
        )
    };
    values
        .par_chunks_mut(BLOCK_TRIALS * slots)
        .zip(outcome.par_chunks_mut(BLOCK_TRIALS))
        .enumerate()
        .for_each_init(init, |(ws, rec, scratch, buf), (block, (rows, out))| {
            if stop.load(Ordering::Relaxed) {
                return;
            }
            let first = block * BLOCK_TRIALS;
            for (local, slot) in out.iter_mut().enumerate() {
                let trial = (first + local) as u64;
                model.run_trial(trial, ws, rec);
                let value = match metric {
                    TrialMetric::Horizon(h) => {
                        horizon_metrics(sc, rec, scratch, &mut SliceSink::new(buf));
                        buf[h]
                    }
                    TrialMetric::Month { series, month } => {
                        month_metrics(sc, rec, month, scratch, &mut SliceSink::new(buf));
                        buf[series]
                    }
                };
                if !value.is_finite() {
                    let mut bad = first_bad.lock().unwrap_or_else(|e| e.into_inner());
                    if bad.is_none_or(|b| trial < b) {
                        *bad = Some(trial);
                    }
                }
                *slot = value;
                let row = &mut rows[local * slots..local * slots + width];
                for (c, &i) in drawn.iter().enumerate() {
                    row[c] = rec.inputs[i];
                }
                for (c, &m) in rec.shock_months.iter().enumerate() {
                    row[drawn.len() + c] = m as f64;
                }
            }
            progress.advance(out.len() as u64);
        });
    if stop.load(Ordering::Relaxed) {
        return Err(EngineError::Interrupted);
    }
    if let Some(trial) = first_bad.into_inner().unwrap_or_else(|e| e.into_inner()) {
        return Err(EngineError::NonFinite {
            scenario: sc.name.clone(),
            trial,
            month: month_label.unwrap_or_else(|| "the horizon".into()),
            metric: name.metric.to_string(),
            entity: name.entity.clone(),
        });
    }
    values.truncate(n * width);
    Ok(InputSample {
        trials,
        seed,
        columns,
        n_inputs: drawn.len(),
        values,
        metric: outcome,
    })
}
