//! Paired runs: a base scenario and alternatives run with the same seed and
//! trial indices (common random numbers), reduced to the per-trial
//! differences `alternative − base` of every series both report.
//!
//! Trial `i` of the base and trial `i` of an alternative draw every input
//! they share from the same stream position, so their difference holds only
//! the effect of what the alternative changes; its spread is far narrower than
//! that of two independent runs.
//!
//! Like [`run_scenario`](super::run_scenario), trials run in blocks on rayon's
//! pool, every value lands at a position fixed by its trial index and the
//! statistics are taken in trial order, so results are the same bytes for any
//! thread count. Memory is bounded the same way: the per-trial horizon deltas
//! are kept whole; the per-month deltas (one column of `trials × months`
//! values per alternative and series) are kept as many columns at a time as
//! fit the budget, and the trials are run again for the next group.

use super::metrics::{
    MetricLayout, Scratch, SeriesName, SliceSink, all_month_metrics, horizon_metrics,
};
use super::run::{
    BLOCK_TRIALS, EngineError, Progress, RunSettings, StatePool, column_stats, large_zeroed,
    transpose_block,
};
use super::stats::{Stats, StatsScratch, Summary};
use crate::model::{Model, TrialRecord, Workspace};
use crate::scenario::Scenario;
use rayon::prelude::*;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

/// Relative size below which a difference is rounding noise.
pub const TIE_TOLERANCE: f64 = 1e-9;

/// `alt − base`, or exactly 0 when the two differ by less than
/// [`TIE_TOLERANCE`] of the larger magnitude: the same quantity computed
/// along a slightly different path (another product mix in the clearing)
/// can differ in its last bits, and such noise must not count as "higher".
#[inline]
pub fn difference(alt: f64, base: f64) -> f64 {
    let d = alt - base;
    if d.abs() <= TIE_TOLERANCE * alt.abs().max(base.abs()) {
        0.0
    } else {
        d
    }
}

/// Statistics of one column of paired differences.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DeltaStats {
    /// Mean, sd and quantiles of `alternative − base` over trials.
    pub stats: Stats,
    /// Share of trials in which the alternative's value is strictly higher
    /// (difference > 0). Exact ties count as not higher.
    pub p_higher: f64,
    /// Share of trials in which the alternative's value is strictly lower.
    /// `1 − p_higher − p_lower` is the share of exact ties.
    pub p_lower: f64,
}

impl DeltaStats {
    /// Summarises differences taken in trial order.
    pub fn of(deltas: &[f64]) -> Self {
        Self::of_with(deltas, &mut StatsScratch::default())
    }

    /// [`DeltaStats::of`], with buffers reused from column to column.
    pub fn of_with(deltas: &[f64], scratch: &mut StatsScratch) -> Self {
        Self::of_summarised(deltas, Summary::of(deltas), scratch)
    }

    /// [`DeltaStats::of_with`] given the [`Summary`] of `deltas`.
    pub(crate) fn of_summarised(
        deltas: &[f64],
        summary: Summary,
        scratch: &mut StatsScratch,
    ) -> Self {
        let n = deltas.len().max(1) as f64;
        let higher = deltas.iter().filter(|&&d| d > 0.0).count() as f64;
        let lower = deltas.iter().filter(|&&d| d < 0.0).count() as f64;
        DeltaStats {
            stats: Stats::of_summarised(deltas, summary, scratch),
            p_higher: higher / n,
            p_lower: lower / n,
        }
    }
}

/// The paired differences of one alternative against the base.
#[derive(Debug, Clone)]
pub struct AltDeltas {
    /// The alternative scenario.
    pub scenario: Scenario,
    /// Monthly series both scenarios report, in the base's order.
    pub monthly_names: Vec<SeriesName>,
    /// Statistics per month: `monthly[series * months + t]`.
    pub monthly: Vec<DeltaStats>,
    /// Horizon series both scenarios report, in the base's order.
    pub horizon_names: Vec<SeriesName>,
    /// Statistics of the horizon differences, per horizon series.
    pub horizon: Vec<DeltaStats>,
    /// Series only the base reports (no difference is taken), monthly then horizon.
    pub only_in_base: Vec<SeriesName>,
    /// Series only the alternative reports, monthly then horizon.
    pub only_in_alt: Vec<SeriesName>,
    /// First column of this alternative in [`PairedResults::table`].
    table_offset: usize,
}

impl AltDeltas {
    /// Statistics of monthly series `series` in month `t`.
    pub fn month_stats(&self, series: usize, t: usize) -> &DeltaStats {
        &self.monthly[series * self.scenario.months + t]
    }
}

/// The result of [`run_paired`].
#[derive(Debug, Clone)]
pub struct PairedResults {
    /// The base scenario.
    pub base: Scenario,
    /// Trials run (the same indices for every scenario).
    pub trials: u64,
    /// Seed of the base (and of the alternatives, unless `alt_seed`).
    pub seed: u64,
    /// Seed of the alternatives when they were deliberately *not* paired.
    pub alt_seed: Option<u64>,
    /// One entry per alternative, in the order given.
    pub alts: Vec<AltDeltas>,
    /// Horizon differences per trial, row-major: `table[trial * width + column]`,
    /// each alternative's columns together (see [`PairedResults::trial_deltas`]).
    pub table: Vec<f64>,
    /// Columns of `table`.
    pub table_width: usize,
    /// How many times the trials were run (1 unless the memory budget forced more).
    pub passes: usize,
}

impl PairedResults {
    /// The horizon differences of alternative `alt` in trial `trial`, in the
    /// order of its `horizon_names`.
    pub fn trial_deltas(&self, alt: usize, trial: usize) -> &[f64] {
        let a = &self.alts[alt];
        let start = trial * self.table_width + a.table_offset;
        &self.table[start..start + a.horizon_names.len()]
    }
}

/// Why two scenarios cannot be paired.
#[derive(Debug, thiserror::Error)]
#[error(
    "scenario \"{alt}\" covers {alt_start} + {alt_months} months but the base \"{base}\" covers \
     {base_start} + {base_months}: paired differences need the same months; give both files the \
     same `start` and `months`"
)]
pub struct HorizonMismatch {
    /// The base's name.
    pub base: String,
    /// Its first month.
    pub base_start: String,
    /// Its months.
    pub base_months: usize,
    /// The alternative's name.
    pub alt: String,
    /// Its first month.
    pub alt_start: String,
    /// Its months.
    pub alt_months: usize,
}

/// Checks that every alternative covers the base's months.
pub fn check_pairable(base: &Scenario, alts: &[Scenario]) -> Result<(), HorizonMismatch> {
    for a in alts {
        if a.start != base.start || a.months != base.months {
            return Err(HorizonMismatch {
                base: base.name.clone(),
                base_start: base.start.to_string(),
                base_months: base.months,
                alt: a.name.clone(),
                alt_start: a.start.to_string(),
                alt_months: a.months,
            });
        }
    }
    Ok(())
}

/// Pairs of (base index, alternative index) of the series both report, and
/// the series reported by one side only.
fn match_series(
    base: &[SeriesName],
    alt: &[SeriesName],
) -> (Vec<(usize, usize)>, Vec<SeriesName>, Vec<SeriesName>) {
    let mut pairs = Vec::new();
    let mut only_base = Vec::new();
    for (b, name) in base.iter().enumerate() {
        match alt.iter().position(|n| n == name) {
            Some(a) => pairs.push((b, a)),
            None => only_base.push(name.clone()),
        }
    }
    let only_alt = alt.iter().filter(|n| !base.contains(n)).cloned().collect();
    (pairs, only_base, only_alt)
}

/// One column of monthly differences: alternative `alt`, series `base_s` of
/// the base against series `alt_s` of the alternative.
#[derive(Debug, Clone, Copy)]
struct Column {
    alt: usize,
    base_s: usize,
    alt_s: usize,
}

/// Per-thread buffers, reused across trials.
#[derive(Default)]
struct State {
    ws: Workspace,
    base_rec: TrialRecord,
    alt_rec: TrialRecord,
    scratch: Scratch,
    base_months: Vec<f64>,
    alt_months: Vec<f64>,
    base_horizon: Vec<f64>,
    alt_horizon: Vec<f64>,
    /// The block's monthly differences, a row per trial (see `transpose_block`).
    rows: Vec<f64>,
}

/// Runs `base` and every alternative with the same seed and trial indices
/// and summarises the per-trial differences `alternative − base`.
///
/// Trials and seed come from `settings`, else from the base: the
/// alternatives' own `trials` and `seed` are not used. With `alt_seed` the
/// alternatives run under that seed instead, i.e. *independently* of the
/// base; this exists to measure what pairing gains.
///
/// The alternatives must cover the base's months ([`check_pairable`]).
pub fn run_paired(
    base: &Scenario,
    alts: &[Scenario],
    settings: &RunSettings,
    alt_seed: Option<u64>,
    progress: &dyn Progress,
    stop: &AtomicBool,
) -> Result<PairedResults, EngineError> {
    let trials = settings.trials.unwrap_or(base.trials).max(1);
    let seed = settings.seed.unwrap_or(base.seed);
    let n = trials as usize;
    let months = base.months;

    let base_layout = MetricLayout::new(base);
    let alt_layouts: Vec<MetricLayout> = alts.iter().map(MetricLayout::new).collect();
    let base_model = Model::new(base, seed);
    let alt_models: Vec<Model> = alts
        .iter()
        .map(|a| Model::new(a, alt_seed.unwrap_or(seed)))
        .collect();

    // Which series are compared, per alternative.
    let mut columns: Vec<Column> = Vec::new();
    let mut horizon_pairs: Vec<Vec<(usize, usize)>> = Vec::new();
    let mut out: Vec<AltDeltas> = Vec::new();
    let mut width = 0;
    for (k, (alt, layout)) in alts.iter().zip(&alt_layouts).enumerate() {
        let (m_pairs, mut only_base, mut only_alt) =
            match_series(&base_layout.monthly, &layout.monthly);
        let (h_pairs, hb, ha) = match_series(&base_layout.horizon, &layout.horizon);
        only_base.extend(hb);
        only_alt.extend(ha);
        columns.extend(m_pairs.iter().map(|&(b, a)| Column {
            alt: k,
            base_s: b,
            alt_s: a,
        }));
        out.push(AltDeltas {
            scenario: alt.clone(),
            monthly_names: m_pairs
                .iter()
                .map(|&(b, _)| base_layout.monthly[b].clone())
                .collect(),
            monthly: Vec::with_capacity(m_pairs.len() * months),
            horizon_names: h_pairs
                .iter()
                .map(|&(b, _)| base_layout.horizon[b].clone())
                .collect(),
            horizon: Vec::new(),
            only_in_base: only_base,
            only_in_alt: only_alt,
            table_offset: width,
        });
        width += h_pairs.len();
        horizon_pairs.push(h_pairs);
    }

    // Plan the passes as the plain run does: the horizon table first, then
    // as many monthly columns as the rest of the budget holds.
    let n_columns = columns.len();
    let table_bytes = n * width * 8;
    let column_bytes = (n * months * 8).max(1);
    let per_pass = (settings.memory_budget_bytes.saturating_sub(table_bytes) / column_bytes)
        .clamp(1, n_columns.max(1));
    let passes = n_columns.div_ceil(per_pass).max(1);
    progress.add_work(trials * passes as u64);

    let (nb_m, nb_h) = (base_layout.monthly.len(), base_layout.horizon.len());
    let max_alt_m = alt_layouts
        .iter()
        .map(|l| l.monthly.len())
        .max()
        .unwrap_or(0);
    let max_alt_h = alt_layouts
        .iter()
        .map(|l| l.horizon.len())
        .max()
        .unwrap_or(0);

    let mut table = vec![0.0; n * width];
    let mut monthly_stats: Vec<DeltaStats> = Vec::with_capacity(n_columns * months);
    let first_error: Mutex<Option<(u64, EngineError)>> = Mutex::new(None);
    let report = |scenario: &Scenario, trial: u64, month: String, series: &SeriesName| {
        let err = EngineError::NonFinite {
            scenario: scenario.name.clone(),
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
        let cols = &columns[pass * per_pass..((pass + 1) * per_pass).min(n_columns)];
        let stride = cols.len() * months;
        let with_table = pass == 0;
        // Alternatives this pass needs: all in the first (horizon table), else
        // only those with a monthly column in the pass.
        let needed: Vec<bool> = (0..alts.len())
            .map(|k| with_table || cols.iter().any(|c| c.alt == k))
            .collect();
        // At least one slot per trial, so that the blocks run (and fill the
        // horizon table) even without a monthly column.
        let slots = stride.max(1);
        let mut store = large_zeroed(n * slots);
        let table_chunk_len = if with_table { BLOCK_TRIALS * width } else { 0 };

        let work =
            |st: &mut State, block: usize, store_chunk: &mut [f64], table_chunk: &mut [f64]| {
                if stop.load(Ordering::Relaxed) {
                    return;
                }
                let first = block * BLOCK_TRIALS;
                let count = BLOCK_TRIALS.min(n - first);
                st.base_months.resize(months * nb_m, 0.0);
                st.alt_months.resize(months * max_alt_m, 0.0);
                st.base_horizon.resize(nb_h, 0.0);
                st.alt_horizon.resize(max_alt_h, 0.0);
                st.rows.resize(count * slots, 0.0);
                for local in 0..count {
                    let trial = (first + local) as u64;
                    base_model.run_trial(trial, &mut st.ws, &mut st.base_rec);
                    if let Some((t, s)) = all_month_metrics(
                        base,
                        &st.base_rec,
                        &mut st.scratch,
                        &mut st.base_months,
                        nb_m,
                    ) {
                        report(base, trial, base.month_label(t), &base_layout.monthly[s]);
                    }
                    if with_table {
                        horizon_metrics(
                            base,
                            &st.base_rec,
                            &mut st.scratch,
                            &mut SliceSink::new(&mut st.base_horizon),
                        );
                        if let Some(bad) = st.base_horizon.iter().position(|x| !x.is_finite()) {
                            report(base, trial, "the horizon".into(), &base_layout.horizon[bad]);
                        }
                    }
                    for (k, alt) in alts.iter().enumerate() {
                        if !needed[k] {
                            continue;
                        }
                        let na_m = alt_layouts[k].monthly.len();
                        alt_models[k].run_trial(trial, &mut st.ws, &mut st.alt_rec);
                        if let Some((t, s)) = all_month_metrics(
                            alt,
                            &st.alt_rec,
                            &mut st.scratch,
                            &mut st.alt_months,
                            na_m,
                        ) {
                            report(alt, trial, alt.month_label(t), &alt_layouts[k].monthly[s]);
                        }
                        let alt_vals = &st.alt_months[..months * na_m];
                        // A row per trial, turned column-major once the
                        // block is done, as in the plain run.
                        let row = &mut st.rows[local * slots..(local + 1) * slots];
                        for (i, c) in cols.iter().enumerate().filter(|(_, c)| c.alt == k) {
                            for t in 0..months {
                                row[i * months + t] = difference(
                                    alt_vals[t * na_m + c.alt_s],
                                    st.base_months[t * nb_m + c.base_s],
                                );
                            }
                        }
                        if with_table {
                            let na_h = alt_layouts[k].horizon.len();
                            horizon_metrics(
                                alt,
                                &st.alt_rec,
                                &mut st.scratch,
                                &mut SliceSink::new(&mut st.alt_horizon[..na_h]),
                            );
                            if let Some(bad) =
                                st.alt_horizon[..na_h].iter().position(|x| !x.is_finite())
                            {
                                report(
                                    alt,
                                    trial,
                                    "the horizon".into(),
                                    &alt_layouts[k].horizon[bad],
                                );
                            }
                            let row = &mut table_chunk[local * width..(local + 1) * width];
                            let off = out[k].table_offset;
                            for (j, &(b, a)) in horizon_pairs[k].iter().enumerate() {
                                row[off + j] = difference(st.alt_horizon[a], st.base_horizon[b]);
                            }
                        }
                    }
                }
                transpose_block(&st.rows, store_chunk, count, slots);
                progress.advance(count as u64);
            };

        let pool = StatePool::new();
        let init = || pool.take(State::default);
        if with_table {
            store
                .par_chunks_mut(BLOCK_TRIALS * slots)
                .zip(table.par_chunks_mut(table_chunk_len.max(1)))
                .enumerate()
                .for_each_init(init, |st, (block, (sc_chunk, tb_chunk))| {
                    work(st.get(), block, sc_chunk, tb_chunk)
                });
        } else {
            store
                .par_chunks_mut(BLOCK_TRIALS * slots)
                .enumerate()
                .for_each_init(init, |st, (block, sc_chunk)| {
                    work(st.get(), block, sc_chunk, &mut [])
                });
        }
        if stop.load(Ordering::Relaxed) {
            return Err(EngineError::Interrupted);
        }
        if let Some((_, err)) = first_error.lock().unwrap_or_else(|e| e.into_inner()).take() {
            return Err(err);
        }
        monthly_stats.extend(column_stats(&store, n, stride, DeltaStats::of_summarised));
    }

    // Columns were laid out alternative after alternative, series after
    // series, months within: hand each alternative its run of statistics.
    let mut rest = monthly_stats.into_iter();
    for a in out.iter_mut() {
        a.monthly
            .extend(rest.by_ref().take(a.monthly_names.len() * months));
    }
    let horizon: Vec<DeltaStats> = (0..width)
        .into_par_iter()
        .map_init(
            || (Vec::with_capacity(n), StatsScratch::default()),
            |(buf, scratch): &mut (Vec<f64>, StatsScratch), c| {
                buf.clear();
                buf.extend((0..n).map(|tr| table[tr * width + c]));
                DeltaStats::of_with(buf, scratch)
            },
        )
        .collect();
    for a in out.iter_mut() {
        let off = a.table_offset;
        a.horizon = horizon[off..off + a.horizon_names.len()].to_vec();
    }
    Ok(PairedResults {
        base: base.clone(),
        trials,
        seed,
        alt_seed,
        alts: out,
        table,
        table_width: width,
        passes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ties_count_as_neither_higher_nor_lower() {
        let d = DeltaStats::of(&[0.0, 0.0, 1.0, -2.0, 3.0]);
        assert_eq!(d.p_higher, 0.4);
        assert_eq!(d.p_lower, 0.2);
        assert_eq!(d.stats.p50, 0.0);
        let zero = DeltaStats::of(&[0.0; 7]);
        assert_eq!(zero.p_higher, 0.0);
        assert_eq!(zero.p_lower, 0.0);
        assert_eq!(zero.stats.columns(), [0.0; 7]);
    }

    #[test]
    fn rounding_noise_is_a_tie() {
        assert_eq!(difference(5e10 + 7.6e-6, 5e10), 0.0);
        assert_eq!(difference(0.30000000000000004, 0.3), 0.0);
        assert_eq!(difference(0.0, 0.0), 0.0);
        assert_eq!(difference(2.0, 1.0), 1.0);
        assert_eq!(difference(1e-12, 0.0), 1e-12);
    }

    #[test]
    fn series_are_matched_by_name() {
        let s = |m: &'static str, e: &str| SeriesName {
            metric: m,
            entity: e.to_string(),
        };
        let base = [s("units", "A"), s("units", "B"), s("price_usd", "A")];
        let alt = [s("units", "B"), s("units", "C"), s("units", "A")];
        let (pairs, only_b, only_a) = match_series(&base, &alt);
        assert_eq!(pairs, [(0, 2), (1, 0)]);
        assert_eq!(only_b, [s("price_usd", "A")]);
        assert_eq!(only_a, [s("units", "C")]);
    }
}
