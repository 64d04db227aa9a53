//! Running trials in parallel and aggregating them.
//!
//! Trials run in blocks on rayon's pool; every value lands at a position fixed
//! by its trial index, and statistics are taken in trial order, so results are
//! the same bytes for any thread count.
//!
//! Memory: exact quantiles need every trial's value of a series at once. The
//! per-month series are therefore kept only as many at a time as fit in the
//! memory budget; when they do not all fit, the trials are run again for the
//! next group of series (a trial is a pure function of its index, so a re-run
//! gives the same values). The per-trial table (drawn inputs, shock months,
//! horizon metrics) is kept whole.

use super::metrics::{MetricLayout, Scratch, SliceSink, horizon_metrics, row_month_metrics};
use super::stats::{Stats, StatsScratch, Summary};
use crate::model::{Model, TrialRecord, Workspace};
use crate::sampling::Distribution;
use crate::scenario::Scenario;
use rayon::prelude::*;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

/// Trials per parallel work item.
pub(crate) const BLOCK_TRIALS: usize = 16;

/// Working states (workspace, trial record, buffers) kept across the
/// parallel jobs of a run. rayon calls a job's `init` for every job it splits
/// off, and a fresh state costs as much as several trials (its buffers are
/// allocated and first touched), so a job takes a state from here and gives
/// it back when it ends: a run builds about one state per thread, and jobs
/// can be as small as one block, which keeps every thread busy to the end.
pub(crate) struct StatePool<T> {
    free: Mutex<Vec<T>>,
}

impl<T> StatePool<T> {
    /// An empty pool.
    pub(crate) fn new() -> Self {
        StatePool {
            free: Mutex::new(Vec::new()),
        }
    }

    /// A state from the pool, or a new one from `make`; back to the pool on drop.
    pub(crate) fn take(&self, make: impl FnOnce() -> T) -> Pooled<'_, T> {
        let reused = self.free.lock().unwrap_or_else(|e| e.into_inner()).pop();
        Pooled {
            state: Some(reused.unwrap_or_else(make)),
            pool: self,
        }
    }
}

/// A state on loan from a [`StatePool`].
pub(crate) struct Pooled<'a, T> {
    state: Option<T>,
    pool: &'a StatePool<T>,
}

impl<T> Pooled<'_, T> {
    /// The state.
    pub(crate) fn get(&mut self) -> &mut T {
        self.state
            .as_mut()
            .expect("a pooled state is present until dropped")
    }
}

impl<T> Drop for Pooled<'_, T> {
    fn drop(&mut self) {
        if let Some(state) = self.state.take() {
            self.pool
                .free
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(state);
        }
    }
}

/// Default memory budget for the per-month values kept at once.
pub const DEFAULT_MEMORY_BUDGET_BYTES: usize = 768 << 20;

/// How to run.
#[derive(Debug, Clone)]
pub struct RunSettings {
    /// Trials per scenario (`None`: the scenario's own).
    pub trials: Option<u64>,
    /// Seed (`None`: the scenario's own).
    pub seed: Option<u64>,
    /// Bytes the engine may use for per-month values, shared by the scenarios run together.
    pub memory_budget_bytes: usize,
}

impl Default for RunSettings {
    fn default() -> Self {
        RunSettings {
            trials: None,
            seed: None,
            memory_budget_bytes: DEFAULT_MEMORY_BUDGET_BYTES,
        }
    }
}

/// Reports progress; implemented by the progress bar (and by nothing, quietly).
pub trait Progress: Sync {
    /// More trial runs are planned.
    fn add_work(&self, trials: u64);
    /// Trial runs completed.
    fn advance(&self, trials: u64);
}

/// Progress that is not shown.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn add_work(&self, _: u64) {}
    fn advance(&self, _: u64) {}
}

/// Why a run failed.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// A trial produced a number that is not finite.
    #[error(
        "scenario \"{scenario}\": trial {trial} produced a non-finite {metric} for {entity} in {month}; \
         check the scenario's extreme values"
    )]
    NonFinite {
        /// Scenario name.
        scenario: String,
        /// Trial index.
        trial: u64,
        /// Month label.
        month: String,
        /// Metric.
        metric: String,
        /// Entity.
        entity: String,
    },
    /// The run was interrupted.
    #[error("interrupted")]
    Interrupted,
}

/// The aggregated results of one scenario.
#[derive(Debug, Clone)]
pub struct ScenarioResults {
    /// The scenario run.
    pub scenario: Scenario,
    /// Trials run.
    pub trials: u64,
    /// Seed used.
    pub seed: u64,
    /// Series names.
    pub layout: MetricLayout,
    /// Statistics per month: `monthly[series * months + t]`.
    pub monthly: Vec<Stats>,
    /// Statistics over the horizon, per horizon series.
    pub horizon: Vec<Stats>,
    /// Column names of the per-trial table: drawn inputs, shock months, horizon metrics.
    pub table_columns: Vec<String>,
    /// The per-trial table, row-major (`table[trial * columns + c]`).
    pub table: Vec<f64>,
    /// How many times the trials were run (1 unless the memory budget forced more).
    pub passes: usize,
}

impl ScenarioResults {
    /// Statistics of monthly series `series` in month `t`.
    pub fn month_stats(&self, series: usize, t: usize) -> &Stats {
        &self.monthly[series * self.scenario.months + t]
    }
}

/// Which inputs are drawn (not constant), by index.
pub fn drawn_inputs(sc: &Scenario) -> Vec<usize> {
    sc.inputs
        .iter()
        .enumerate()
        .filter(|(_, i)| !matches!(i.distribution, Distribution::Constant(_)))
        .map(|(k, _)| k)
        .collect()
}

/// Entries of each thread's table of recent columns' statistics.
const RECENT: usize = 256;

/// Columns gathered together by [`column_stats`]. Inside a block the runs of
/// neighbouring columns lie side by side, so a group reads one stretch of
/// `GATHER_COLUMNS · BLOCK_TRIALS` values per block, which the hardware
/// prefetches; a lone column read 16 values a block apart (one cache miss
/// each).
const GATHER_COLUMNS: usize = 8;

/// Per-thread buffers of [`column_stats`].
struct ColumnScratch<S> {
    /// The group's columns, each in trial order.
    bufs: Vec<Vec<f64>>,
    stats: StatsScratch,
    /// Recent columns, at the hash of their summary: (summary, column, statistics).
    recent: Vec<Option<(Summary, usize, S)>>,
}

/// Summarises every column of a block-major store (`n` trials in blocks of
/// [`BLOCK_TRIALS`], `[column][trial]` inside each block, `stride` columns),
/// in parallel over groups of columns. Each column is gathered in trial
/// order, so the result does not depend on the thread count.
///
/// A column whose values are bit for bit those of a column summarised
/// before on the same thread (a vendor with one product reports that
/// product's series, a country's share of compute can be one vendor's: in
/// the baseline, one column in eleven) gets that column's statistics: a
/// candidate is the one with the same least, greatest and sum, confirmed by
/// comparing every value's bits (so −0.0 and +0.0 differ); the result is the
/// same.
pub(crate) fn column_stats<S: Send + Copy>(
    store: &[f64],
    n: usize,
    stride: usize,
    of: impl Fn(&[f64], Summary, &mut StatsScratch) -> S + Sync,
) -> Vec<S> {
    // Blocks in order, trials in order within each block.
    let runs = move |col: usize| {
        (0..n).step_by(BLOCK_TRIALS).map(move |first| {
            let len = BLOCK_TRIALS.min(n - first);
            let base = first * stride + col * len;
            &store[base..base + len]
        })
    };
    (0..stride.div_ceil(GATHER_COLUMNS))
        .into_par_iter()
        .map_init(
            || ColumnScratch {
                bufs: (0..GATHER_COLUMNS).map(|_| Vec::with_capacity(n)).collect(),
                stats: StatsScratch::default(),
                recent: vec![None; RECENT],
            },
            |st: &mut ColumnScratch<S>, group| {
                let cols = group * GATHER_COLUMNS..((group + 1) * GATHER_COLUMNS).min(stride);
                let width = cols.len();
                let bufs = &mut st.bufs[..width];
                bufs.iter_mut().for_each(Vec::clear);
                // Each column's summary takes its values in trial order, as
                // `Summary::of` would; a full group's eight running sums
                // advance side by side instead of one long chain of additions.
                let mut summaries = [Summary::default(); GATHER_COLUMNS];
                for first in (0..n).step_by(BLOCK_TRIALS) {
                    let len = BLOCK_TRIALS.min(n - first);
                    let base = first * stride + cols.start * len;
                    let stretch = &store[base..base + width * len];
                    for (buf, run) in bufs.iter_mut().zip(stretch.chunks_exact(len)) {
                        // A full block's run has a known length, so the copy
                        // is a few moves instead of a call to `memcpy`.
                        match <&[f64; BLOCK_TRIALS]>::try_from(run) {
                            Ok(full) => buf.extend_from_slice(full),
                            Err(_) => buf.extend_from_slice(run),
                        }
                    }
                    if let Ok(full) = <&[f64; GATHER_COLUMNS * BLOCK_TRIALS]>::try_from(stretch) {
                        // A full group of full runs: fixed indices, no checks;
                        // four columns at a time, whose summaries stay in
                        // registers (eight spill).
                        for (quad, runs) in summaries
                            .chunks_exact_mut(4)
                            .zip(full.chunks_exact(4 * BLOCK_TRIALS))
                        {
                            let [mut a, mut b, mut c, mut d] = [quad[0], quad[1], quad[2], quad[3]];
                            for i in 0..BLOCK_TRIALS {
                                a.add(runs[i]);
                                b.add(runs[BLOCK_TRIALS + i]);
                                c.add(runs[2 * BLOCK_TRIALS + i]);
                                d.add(runs[3 * BLOCK_TRIALS + i]);
                            }
                            quad.copy_from_slice(&[a, b, c, d]);
                        }
                    } else if width == GATHER_COLUMNS {
                        for i in 0..len {
                            for (k, summary) in summaries.iter_mut().enumerate() {
                                summary.add(stretch[k * len + i]);
                            }
                        }
                    } else {
                        for (summary, run) in summaries.iter_mut().zip(stretch.chunks_exact(len)) {
                            run.iter().for_each(|&x| summary.add(x));
                        }
                    }
                }
                let mut out = [None; GATHER_COLUMNS];
                for (k, col) in cols.enumerate() {
                    let buf = &st.bufs[k];
                    let summary = summaries[k];
                    let key = summary.hash() % RECENT;
                    if let Some((s, earlier, stats)) = &st.recent[key] {
                        // A constant column's statistics cost less than the check.
                        if summary.lo != summary.hi
                            && s.same_bits(&summary)
                            && same_values(runs(*earlier), buf)
                        {
                            out[k] = Some(*stats);
                            continue;
                        }
                    }
                    let stats = of(buf, summary, &mut st.stats);
                    st.recent[key] = Some((summary, col, stats));
                    out[k] = Some(stats);
                }
                out
            },
        )
        // In column order: the groups in order, each group's columns in order.
        .flat_map_iter(|out| out.into_iter().flatten())
        .collect()
}

/// Whether the runs hold `values`, bit for bit.
fn same_values<'a>(runs: impl Iterator<Item = &'a [f64]>, values: &[f64]) -> bool {
    let mut at = 0;
    for run in runs {
        let Some(v) = values.get(at..at + run.len()) else {
            return false;
        };
        if !run.iter().zip(v).all(|(a, b)| a.to_bits() == b.to_bits()) {
            return false;
        }
        at += run.len();
    }
    at == values.len()
}

/// Writes a block's rows (`rows[local · stride + c]`, `count` trials) into
/// the store's block `out` column after column (`out[c · count + local]`),
/// two columns of two trials at a time. The rows' lines stay in the cache
/// from one pair of columns to the next, and the block is written in order.
pub(crate) fn transpose_block(rows: &[f64], out: &mut [f64], count: usize, stride: usize) {
    let (rows, out) = (&rows[..count * stride], &mut out[..count * stride]);
    let mut pairs = out.chunks_exact_mut(2 * count);
    for (pair, ab) in pairs.by_ref().enumerate() {
        let (a, b) = ab.split_at_mut(count);
        if let (Ok(a), Ok(b)) = (
            <&mut [f64; BLOCK_TRIALS]>::try_from(&mut *a),
            <&mut [f64; BLOCK_TRIALS]>::try_from(&mut *b),
        ) {
            // A full block: a fixed number of trials, unrolled.
            if let Some(x) = rows.get(2 * pair..2 * pair + (BLOCK_TRIALS - 1) * stride + 2) {
                for local in 0..BLOCK_TRIALS {
                    if let Some(p) = x.get(local * stride..local * stride + 2) {
                        a[local] = p[0];
                        b[local] = p[1];
                    }
                }
                continue;
            }
        }
        let mut at = 2 * pair;
        let mut local = 0;
        while local + 1 < count {
            // Both rows' pairs: `at + stride + 1 < rows.len()`.
            let Some(x) = rows.get(at..at + stride + 2) else {
                break;
            };
            let (p, q) = (&x[..2], &x[stride..]);
            a[local] = p[0];
            a[local + 1] = q[0];
            b[local] = p[1];
            b[local + 1] = q[1];
            at += 2 * stride;
            local += 2;
        }
        if local < count {
            if let Some(p) = rows.get(at..at + 2) {
                a[local] = p[0];
                b[local] = p[1];
            }
        }
    }
    // An odd last column.
    let rest = pairs.into_remainder();
    for (local, d) in rest.iter_mut().enumerate() {
        if let Some(&x) = rows.get(local * stride + stride - 1) {
            *d = x;
        }
    }
}

/// A zeroed buffer of `len` values for the per-month store, which can be
/// hundreds of MB. On Linux it asks for transparent huge pages: the first
/// touch of each 4 KiB page otherwise costs a page fault (a 4000-trial
/// baseline run took ≈21 000 of them, ≈2 000 with huge pages, and ran
/// 5–10 % faster). Only advice: if the kernel declines, nothing changes but
/// the speed.
pub(crate) fn large_zeroed(len: usize) -> Vec<f64> {
    let v = vec![0.0; len];
    #[cfg(target_os = "linux")]
    {
        const HUGE: usize = 2 << 20;
        let bytes = len * std::mem::size_of::<f64>();
        if bytes >= 2 * HUGE {
            let start = v.as_ptr() as usize;
            let aligned = start.next_multiple_of(HUGE);
            let end = (start + bytes) / HUGE * HUGE;
            if end > aligned {
                // SAFETY: [aligned, end) lies inside `v`'s allocation, which
                // lives until the end of this function's caller's use; madvise
                // with MADV_HUGEPAGE only advises the kernel and never changes
                // the memory's contents (still zero) or its validity.
                unsafe {
                    libc::madvise(
                        aligned as *mut libc::c_void,
                        end - aligned,
                        libc::MADV_HUGEPAGE,
                    );
                }
            }
        }
    }
    v
}

/// Runs several scenarios, in parallel, on the current rayon pool.
pub fn run_scenarios(
    scenarios: &[Scenario],
    settings: &RunSettings,
    progress: &dyn Progress,
    stop: &AtomicBool,
) -> Result<Vec<ScenarioResults>, EngineError> {
    let share = RunSettings {
        memory_budget_bytes: settings.memory_budget_bytes / scenarios.len().max(1),
        ..settings.clone()
    };
    scenarios
        .par_iter()
        .map(|sc| run_scenario(sc, &share, progress, stop))
        .collect()
}

/// Runs one scenario's trials and aggregates them.
pub fn run_scenario(
    sc: &Scenario,
    settings: &RunSettings,
    progress: &dyn Progress,
    stop: &AtomicBool,
) -> Result<ScenarioResults, EngineError> {
    let trials = settings.trials.unwrap_or(sc.trials).max(1);
    let seed = settings.seed.unwrap_or(sc.seed);
    let n = trials as usize;
    let months = sc.months;
    let layout = MetricLayout::new(sc);
    let model = Model::new(sc, seed);
    let drawn = drawn_inputs(sc);
    let n_monthly = layout.monthly.len();
    let n_horizon = layout.horizon.len();
    let mut table_columns: Vec<String> = drawn.iter().map(|&i| sc.inputs[i].path.clone()).collect();
    table_columns.extend(sc.shocks.iter().map(|s| s.month_path.clone()));
    table_columns.extend(
        layout
            .horizon
            .iter()
            .map(|s| format!("{}:{}", s.metric, s.entity)),
    );
    let n_cols = table_columns.len();

    // Plan the passes.
    let table_bytes = n * n_cols * 8;
    let series_bytes = (n * months * 8).max(1);
    let per_pass = (settings.memory_budget_bytes.saturating_sub(table_bytes) / series_bytes)
        .clamp(1, n_monthly.max(1));
    let passes = n_monthly.div_ceil(per_pass).max(1);
    progress.add_work(trials * passes as u64);

    let mut table = vec![0.0; n * n_cols];
    let mut monthly: Vec<Stats> = Vec::with_capacity(n_monthly * months);
    let first_error: Mutex<Option<(u64, EngineError)>> = Mutex::new(None);
    // Keeps the error of the lowest trial, so the message does not depend on
    // which thread got there first.
    let report_non_finite = |trial: u64, month: String, series: &super::metrics::SeriesName| {
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
    for pass in 0..passes {
        let series = pass * per_pass..((pass + 1) * per_pass).min(n_monthly);
        let stride = series.len() * months;
        let mut store = large_zeroed(n * stride);
        let with_table = pass == 0;
        let mut empty_table: Vec<f64> = Vec::new();
        let table_target: &mut Vec<f64> = if with_table {
            &mut table
        } else {
            &mut empty_table
        };
        let table_chunk = if with_table { BLOCK_TRIALS * n_cols } else { 0 };
        let work = |state: &mut (Workspace, TrialRecord, Scratch, Vec<f64>, Vec<f64>),
                    block: usize,
                    store_chunk: &mut [f64],
                    table_chunk: &mut [f64]| {
            if stop.load(Ordering::Relaxed) {
                return;
            }
            let (ws, rec, scratch, month_buf, rows) = state;
            let first = block * BLOCK_TRIALS;
            let count = (store_chunk.len() / stride.max(1)).min(n - first);
            rows.resize(count * stride, 0.0);
            for local in 0..count {
                let trial = (first + local) as u64;
                model.run_trial(trial, ws, rec);
                // A row per trial first (written in the cache), turned into
                // the store's `[column][trial]` once the block is done: written
                // straight into the store, each value of a trial landed on a
                // line of its own (2 592 first-level cache misses a baseline
                // trial, ≈330 this way).
                if let Some((t, s)) = row_month_metrics(
                    sc,
                    rec,
                    scratch,
                    series.clone(),
                    &mut rows[local * stride..(local + 1) * stride],
                    month_buf,
                    n_monthly,
                ) {
                    report_non_finite(trial, sc.month_label(t), &layout.monthly[s]);
                }
                if with_table {
                    let trow = &mut table_chunk[local * n_cols..(local + 1) * n_cols];
                    for (c, &i) in drawn.iter().enumerate() {
                        trow[c] = rec.inputs[i];
                    }
                    let off = drawn.len();
                    for (c, &m) in rec.shock_months.iter().enumerate() {
                        trow[off + c] = m as f64;
                    }
                    let off = off + rec.shock_months.len();
                    horizon_metrics(sc, rec, scratch, &mut SliceSink::new(&mut trow[off..]));
                    // Sums over the horizon can overflow even when every month is finite.
                    if let Some(bad) = trow[off..].iter().position(|x| !x.is_finite()) {
                        report_non_finite(trial, "the horizon".to_string(), &layout.horizon[bad]);
                    }
                }
            }
            transpose_block(rows, store_chunk, count, stride);
            progress.advance(count as u64);
        };
        let pool = StatePool::new();
        let init = || {
            pool.take(|| {
                (
                    Workspace::default(),
                    TrialRecord::default(),
                    Scratch::default(),
                    Vec::new(),
                    Vec::with_capacity(BLOCK_TRIALS * stride),
                )
            })
        };
        if with_table {
            store
                .par_chunks_mut(BLOCK_TRIALS * stride)
                .zip(table_target.par_chunks_mut(table_chunk.max(1)))
                .enumerate()
                .for_each_init(init, |state, (block, (sc_chunk, tb_chunk))| {
                    work(state.get(), block, sc_chunk, tb_chunk)
                });
        } else {
            store
                .par_chunks_mut(BLOCK_TRIALS * stride)
                .enumerate()
                .for_each_init(init, |state, (block, sc_chunk)| {
                    work(state.get(), block, sc_chunk, &mut [])
                });
        }
        if stop.load(Ordering::Relaxed) {
            return Err(EngineError::Interrupted);
        }
        if let Some((_, err)) = first_error.lock().unwrap_or_else(|e| e.into_inner()).take() {
            return Err(err);
        }
        // Statistics of every (series, month) column of this pass, in trial order.
        monthly.extend(column_stats(&store, n, stride, Stats::of_summarised));
    }
    let horizon: Vec<Stats> = (0..n_horizon)
        .into_par_iter()
        .map_init(
            || (Vec::with_capacity(n), StatsScratch::default()),
            |(buf, scratch): &mut (Vec<f64>, StatsScratch), h| {
                let c = n_cols - n_horizon + h;
                buf.clear();
                buf.extend((0..n).map(|tr| table[tr * n_cols + c]));
                Stats::of_with(buf, scratch)
            },
        )
        .collect();
    Ok(ScenarioResults {
        scenario: sc.clone(),
        trials,
        seed,
        layout,
        monthly,
        horizon,
        table_columns,
        table,
        passes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Columns equal to an earlier one, or equal but for the sign of a zero,
    /// get exactly the statistics of their own values.
    #[test]
    fn duplicate_columns_get_their_own_statistics() {
        let n = 40; // two full blocks and a partial one
        let base: Vec<f64> = (0..n)
            .map(|i| {
                if i % 5 == 0 {
                    0.0
                } else {
                    (i * 37 % 11) as f64 - 3.0
                }
            })
            .collect();
        let mut signed = base.clone();
        signed[10] = -0.0; // same least, greatest and sum; other bits
        let mut moved = base.clone();
        moved.swap(1, 2); // same summary, other order
        let scaled: Vec<f64> = base.iter().map(|x| x * 3.0).collect();
        // A full group of gathered columns and a partial one, with
        // duplicates inside a group and across groups.
        let columns = [
            base.clone(),
            base.clone(),
            signed,
            moved.clone(),
            base.clone(),
            scaled.clone(),
            moved,
            scaled.clone(),
            base.clone(),
            scaled,
            base,
        ];
        let stride = columns.len();
        let mut store = vec![0.0; n * stride];
        for first in (0..n).step_by(BLOCK_TRIALS) {
            let len = BLOCK_TRIALS.min(n - first);
            for (c, col) in columns.iter().enumerate() {
                for local in 0..len {
                    store[first * stride + c * len + local] = col[first + local];
                }
            }
        }
        let got = column_stats(&store, n, stride, Stats::of_summarised);
        for (c, col) in columns.iter().enumerate() {
            let want = Stats::of(col);
            assert_eq!(
                got[c].columns().map(f64::to_bits),
                want.columns().map(f64::to_bits),
                "column {c}"
            );
        }
    }
}
