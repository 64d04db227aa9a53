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
use std::marker::PhantomData;
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

/// Columns summarised side by side by [`column_stats`]: each column's sum is
/// one long chain of additions, so a group's four chains advance together
/// (four streams, which the hardware prefetches). Eight summaries do not
/// fit in the registers.
const GROUP_COLUMNS: usize = 4;

/// Per-thread buffers of [`column_stats`].
struct ColumnScratch<S> {
    stats: StatsScratch,
    /// Recent columns, at the hash of their summary: (summary, column, statistics).
    recent: Vec<Option<(Summary, usize, S)>>,
}

/// Summarises every column of a column-major store (`columns` columns of `n`
/// trials, `store[c · n + trial]`, as [`StoreWriter`] fills it), in parallel
/// over groups of columns. Each column is read in place, in trial order, so
/// the result does not depend on the thread count.
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
    columns: usize,
    of: impl Fn(&[f64], Summary, &mut StatsScratch) -> S + Sync,
) -> Vec<S> {
    let column = move |c: usize| &store[c * n..(c + 1) * n];
    (0..columns.div_ceil(GROUP_COLUMNS))
        .into_par_iter()
        .map_init(
            || ColumnScratch {
                stats: StatsScratch::default(),
                recent: vec![None; RECENT],
            },
            |st: &mut ColumnScratch<S>, group| {
                let cols = group * GROUP_COLUMNS..((group + 1) * GROUP_COLUMNS).min(columns);
                // Each column's summary takes its values in trial order, as
                // `Summary::of` would.
                let mut summaries = [Summary::default(); GROUP_COLUMNS];
                let values = &store[cols.start * n..cols.end * n];
                let mut full = values.chunks_exact(n);
                if let (Some(a), Some(b), Some(c), Some(d)) =
                    (full.next(), full.next(), full.next(), full.next())
                {
                    // Locals, so that the four summaries stay in registers.
                    let [mut sa, mut sb, mut sc, mut sd] = summaries;
                    for (((&xa, &xb), &xc), &xd) in a.iter().zip(b).zip(c).zip(d) {
                        sa.add(xa);
                        sb.add(xb);
                        sc.add(xc);
                        sd.add(xd);
                    }
                    summaries = [sa, sb, sc, sd];
                } else {
                    for (summary, column) in summaries.iter_mut().zip(values.chunks_exact(n)) {
                        column.iter().for_each(|&x| summary.add(x));
                    }
                }
                let mut out = [None; GROUP_COLUMNS];
                for (k, col) in cols.enumerate() {
                    let values = column(col);
                    let summary = summaries[k];
                    let key = summary.hash() % RECENT;
                    if let Some((s, earlier, stats)) = &st.recent[key] {
                        // A constant column's statistics cost less than the check.
                        if summary.lo != summary.hi
                            && s.same_bits(&summary)
                            && same_values(column(*earlier), values)
                        {
                            out[k] = Some(*stats);
                            continue;
                        }
                    }
                    let stats = of(values, summary, &mut st.stats);
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

/// Whether two columns hold the same values, bit for bit.
fn same_values(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
}

/// The per-month store of a pass while the trials fill it, block by block
/// in parallel: column after column over all trials (`store[c · n + trial]`),
/// so that the statistics read each column in place. A block's trials are a
/// run of 16 places in every column, so the blocks' places interleave and
/// cannot be handed out as disjoint slices; each block is instead claimed
/// once, and writes only its own places.
pub(crate) struct StoreWriter<'a> {
    store: *mut f64,
    n: usize,
    columns: usize,
    /// Whether each block has been written (or is being written).
    claimed: Vec<AtomicBool>,
    _store: PhantomData<&'a mut [f64]>,
}

// SAFETY: the writer writes through `store` only in `write_block`, where a
// block's places are written by the one call that claimed it, so threads
// write disjoint places; the exclusive borrow keeps anyone else from reading
// or writing the store meanwhile.
unsafe impl Send for StoreWriter<'_> {}
unsafe impl Sync for StoreWriter<'_> {}

impl<'a> StoreWriter<'a> {
    /// A writer of `columns` columns of `n` trials into `store`.
    pub(crate) fn new(store: &'a mut [f64], n: usize, columns: usize) -> Self {
        assert!(store.len() >= n * columns, "the store holds every column");
        StoreWriter {
            store: store.as_mut_ptr(),
            n,
            columns,
            claimed: (0..n.div_ceil(BLOCK_TRIALS))
                .map(|_| AtomicBool::new(false))
                .collect(),
            _store: PhantomData,
        }
    }

    /// Blocks of [`BLOCK_TRIALS`] trials (the last may be shorter).
    pub(crate) fn blocks(&self) -> usize {
        self.claimed.len()
    }

    /// Trials in block `block`.
    pub(crate) fn block_trials(&self, block: usize) -> usize {
        BLOCK_TRIALS.min(self.n.saturating_sub(block * BLOCK_TRIALS))
    }

    /// Writes block `block`'s values, a row per trial
    /// (`rows[local · columns + c]`), each to its place in its column.
    /// Built as rows in the cache first: written straight into the store,
    /// each value of a trial would land on a line of its own.
    ///
    /// Panics if the block does not exist or was written before.
    pub(crate) fn write_block(&self, block: usize, rows: &[f64]) {
        assert!(block < self.blocks(), "block {block} of {}", self.blocks());
        let already = self.claimed[block].swap(true, Ordering::Relaxed);
        assert!(!already, "block {block} written twice");
        let first = block * BLOCK_TRIALS;
        let count = self.block_trials(block);
        let columns = self.columns;
        let rows = &rows[..count * columns];
        let place = |c: usize| {
            debug_assert!(c < columns);
            // SAFETY: for `c < columns`, `c · n + first + count ≤ c · n + n
            // ≤ columns · n`, within the store (checked in `new`), which
            // `self` borrows exclusively; these places belong to this block
            // alone, claimed above by this call, and each column's run is
            // taken once, so no other reference to them exists.
            unsafe { self.store.add(c * self.n + first) }
        };
        let mut c = 0;
        if count == BLOCK_TRIALS {
            // A full block: four columns at a time, a fixed number of trials.
            while c + 4 <= columns {
                // SAFETY: as for `place`; a full block's run is `BLOCK_TRIALS` long.
                let [r0, r1, r2, r3] = [c, c + 1, c + 2, c + 3]
                    .map(|k| unsafe { &mut *place(k).cast::<[f64; BLOCK_TRIALS]>() });
                for local in 0..BLOCK_TRIALS {
                    let at = local * columns + c;
                    if let Some(x) = rows.get(at..at + 4) {
                        (r0[local], r1[local], r2[local], r3[local]) = (x[0], x[1], x[2], x[3]);
                    }
                }
                c += 4;
            }
        }
        for c in c..columns {
            // SAFETY: as for `place`.
            let run = unsafe { std::slice::from_raw_parts_mut(place(c), count) };
            for (d, row) in run.iter_mut().zip(rows.chunks_exact(columns)) {
                *d = row[c];
            }
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
        let table_chunk_len = if with_table { BLOCK_TRIALS * n_cols } else { 0 };
        let writer = StoreWriter::new(&mut store, n, stride);
        let work = |state: &mut (Workspace, TrialRecord, Scratch, Vec<f64>, Vec<f64>),
                    block: usize,
                    table_chunk: &mut [f64]| {
            if stop.load(Ordering::Relaxed) {
                return;
            }
            let (ws, rec, scratch, month_buf, rows) = state;
            let first = block * BLOCK_TRIALS;
            let count = writer.block_trials(block);
            rows.resize(count * stride, 0.0);
            for local in 0..count {
                let trial = (first + local) as u64;
                model.run_trial(trial, ws, rec);
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
            writer.write_block(block, rows);
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
        if with_table && table_chunk_len > 0 {
            table_target
                .par_chunks_mut(table_chunk_len)
                .enumerate()
                .for_each_init(init, |state, (block, tb_chunk)| {
                    work(state.get(), block, tb_chunk)
                });
        } else {
            (0..writer.blocks())
                .into_par_iter()
                .for_each_init(init, |state, block| work(state.get(), block, &mut []));
        }
        drop(writer);
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
        // Full groups of columns summarised together and a partial one, with
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
        // Written as the trials' blocks write it: a row per trial, block by block.
        let mut store = vec![0.0; n * stride];
        let writer = StoreWriter::new(&mut store, n, stride);
        for block in (0..writer.blocks()).rev() {
            let first = block * BLOCK_TRIALS;
            let rows: Vec<f64> = (first..first + writer.block_trials(block))
                .flat_map(|trial| columns.iter().map(move |col| col[trial]))
                .collect();
            writer.write_block(block, &rows);
        }
        drop(writer);
        for (c, col) in columns.iter().enumerate() {
            assert_eq!(&store[c * n..(c + 1) * n], &col[..], "column {c}");
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
