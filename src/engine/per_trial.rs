//! Lean runs that keep one row per trial: every drawn input with one outcome
//! (the raw material of a sensitivity analysis), or the horizon metrics alone
//! (a sweep point's statistics).
//!
//! Trials run in blocks on rayon's pool and every row lands at the position
//! of its trial index, so the results are the same whatever the thread count.
//! Memory: the rows themselves, `8 · trials · columns` bytes.

use super::metrics::{
    MetricLayout, Scratch, SeriesName, SliceSink, all_month_metrics, horizon_metrics, month_metrics,
};
use super::run::{EngineError, Progress, RunSettings, drawn_inputs};
use super::stats::{Stats, StatsScratch};
use crate::model::{Model, TrialRecord, Workspace};
use crate::scenario::Scenario;
use rayon::prelude::*;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

/// Trials per parallel work item, as in the plain run.
use super::run::{BLOCK_TRIALS, StatePool};

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
    let pool = StatePool::new();
    let init = || {
        pool.take(|| {
            (
                Workspace::default(),
                TrialRecord::default(),
                Scratch::default(),
                vec![0.0; series_count],
            )
        })
    };
    values
        .par_chunks_mut(BLOCK_TRIALS * slots)
        .zip(outcome.par_chunks_mut(BLOCK_TRIALS))
        .enumerate()
        .for_each_init(init, |state, (block, (rows, out))| {
            let (ws, rec, scratch, buf) = state.get();
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

/// The horizon statistics of one scenario: what `summary.csv` holds.
#[derive(Debug, Clone)]
pub struct HorizonResults {
    /// Trials run.
    pub trials: u64,
    /// Seed used.
    pub seed: u64,
    /// Horizon series, in registry order.
    pub names: Vec<SeriesName>,
    /// Their statistics over trials.
    pub stats: Vec<Stats>,
}

/// Runs `sc`'s trials for the horizon statistics only.
///
/// The statistics are those of [`run_scenario`](super::run_scenario) bit for
/// bit (the same per-trial values, summarised in trial order by the same
/// [`Stats::of`]), and so is the error for a non-finite value: every month's
/// metrics are still computed and checked, but not stored, so memory is
/// `8 · trials · horizon series` bytes and no per-month statistics are taken.
pub fn run_horizon(
    sc: &Scenario,
    settings: &RunSettings,
    progress: &dyn Progress,
    stop: &AtomicBool,
) -> Result<HorizonResults, EngineError> {
    let trials = settings.trials.unwrap_or(sc.trials).max(1);
    let seed = settings.seed.unwrap_or(sc.seed);
    let n = trials as usize;
    let months = sc.months;
    let layout = MetricLayout::new(sc);
    let model = Model::new(sc, seed);
    let (n_monthly, width) = (layout.monthly.len(), layout.horizon.len().max(1));
    progress.add_work(trials);
    let mut table = vec![0.0; n * width];
    let first_error: Mutex<Option<(u64, EngineError)>> = Mutex::new(None);
    let report = |trial: u64, month: String, series: &SeriesName| {
        let err = EngineError::NonFinite {
            scenario: sc.name.clone(),
            trial,
            month,
            metric: series.metric.to_string(),
            entity: series.entity.clone(),
        };
        let mut slot = first_error.lock().unwrap_or_else(|e| e.into_inner());
        if slot.as_ref().is_none_or(|(tr, _)| trial < *tr) {
            *slot = Some((trial, err));
        }
    };
    let pool = StatePool::new();
    let init = || {
        pool.take(|| {
            (
                Workspace::default(),
                TrialRecord::default(),
                Scratch::default(),
                vec![0.0; months * n_monthly],
            )
        })
    };
    table
        .par_chunks_mut(BLOCK_TRIALS * width)
        .enumerate()
        .for_each_init(init, |state, (block, rows)| {
            let (ws, rec, scratch, month_buf) = state.get();
            if stop.load(Ordering::Relaxed) {
                return;
            }
            let first = block * BLOCK_TRIALS;
            let count = rows.len() / width;
            for local in 0..count {
                let trial = (first + local) as u64;
                model.run_trial(trial, ws, rec);
                // Checked as the full run checks them, in the same order.
                if let Some((t, s)) = all_month_metrics(sc, rec, scratch, month_buf, n_monthly) {
                    report(trial, sc.month_label(t), &layout.monthly[s]);
                }
                let row = &mut rows[local * width..(local + 1) * width];
                horizon_metrics(sc, rec, scratch, &mut SliceSink::new(row));
                if let Some(bad) = row[..layout.horizon.len()]
                    .iter()
                    .position(|x| !x.is_finite())
                {
                    report(trial, "the horizon".to_string(), &layout.horizon[bad]);
                }
            }
            progress.advance(count as u64);
        });
    if stop.load(Ordering::Relaxed) {
        return Err(EngineError::Interrupted);
    }
    if let Some((_, err)) = first_error.lock().unwrap_or_else(|e| e.into_inner()).take() {
        return Err(err);
    }
    let stats: Vec<Stats> = (0..layout.horizon.len())
        .into_par_iter()
        .map_init(
            || (Vec::with_capacity(n), StatsScratch::default()),
            |(buf, scratch): &mut (Vec<f64>, StatsScratch), h| {
                buf.clear();
                buf.extend((0..n).map(|tr| table[tr * width + h]));
                Stats::of_with(buf, scratch)
            },
        )
        .collect();
    Ok(HorizonResults {
        trials,
        seed,
        names: layout.horizon,
        stats,
    })
}
