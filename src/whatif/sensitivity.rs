//! `tradeflow sensitivity SCENARIO --metric METRIC:ENTITY`: which uncertain
//! inputs drive an outcome.
//!
//! From one run's trials, for every drawn input (and every shock's firing
//! month):
//!
//! - the Spearman rank correlation of the input with the outcome (average
//!   ranks for ties);
//! - the swing: the outcome over the trials where the input lies in its
//!   highest decile (at or above its 90th percentile) minus the outcome over
//!   the trials where it lies in its lowest decile (at or below its 10th
//!   percentile), both as means and as medians. The tornado draws one of them
//!   (`--swing mean`, the default, or `--swing median`).
//!
//! Why deciles of the trials rather than one-at-a-time runs at p10/p90 with
//! the other inputs at their medians: the trials already hold every input's
//! effect averaged over the real spread of the others, at no extra cost; the
//! one-at-a-time point "everything else at its median" can sit where an
//! input does nothing at all (in the shipped baseline about half the trials
//! never see China clear H200 imports, so with that shock at its median month
//! the H200 quota or price would show almost no swing), and shock months have
//! no meaningful "median" setting.
//! Inputs are drawn independently, so a decile's other inputs are a fair
//! sample of theirs.
//!
//! Why the mean by default: many outcomes have a point mass at a bound (the
//! domestic share is 100 % in most baseline trials, Nvidia's revenue 0), where
//! the median of a decile does not move at all or moves by jumps; with a
//! bimodal outcome the medians of two 10 % subsets are also noisy enough to
//! rank an input with a rank correlation of 0.00 among the first five. The
//! conditional mean uses every trial of the decile and follows shifts of
//! probability mass; its standard error is reported beside it.
//!
//! A shock that does not fire within the horizon counts as firing after it
//! (its month index is taken as the number of months), so "later" ranks
//! above every month of the horizon.

use super::{CommonOptions, MetricSpec, WhatIfError, csv_error, csv_file, scenario_json, slug};
use crate::app::{AppError, check_stop, load_scenarios_with};
use crate::charts::{self, ChartFormat};
use crate::engine::{self, InputSample, MetricLayout, ProgressBar, RunSettings, TrialMetric};
use crate::output::{self, OutputError, StagedDir, number, timestamp_utc};
use crate::scenario::{Scenario, YearMonth};
use rayon::prelude::*;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::{Instant, SystemTime};

/// Default number of inputs drawn in the tornado chart.
pub const DEFAULT_TOP: usize = 15;

/// Options of `tradeflow sensitivity`.
#[derive(Debug, Clone, Default)]
pub struct SensitivityOptions {
    /// The scenario file (`None`: the built-in baseline).
    pub scenario: Option<PathBuf>,
    /// The outcome, `METRIC:ENTITY`.
    pub metric: String,
    /// For a monthly metric, the month (`YYYY-MM`).
    pub month: Option<String>,
    /// Inputs drawn in the tornado chart (all are in the CSV).
    pub top: usize,
    /// The swing drawn and ranked by.
    pub swing: Swing,
    /// Trials, seed, threads, output folder, charts.
    pub common: CommonOptions,
}

/// What `sensitivity` wrote.
#[derive(Debug, Clone)]
pub struct SensitivityReport {
    /// The results folder.
    pub folder: PathBuf,
    /// The strongest inputs, one line each, for the terminal.
    pub lines: Vec<String>,
}

/// The effect of one input on the outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct InputEffect {
    /// The input's path (`product.H200.price`, `shock.NAME.month`, ...).
    pub input: String,
    /// Spearman rank correlation; `None` when the input did not vary.
    pub spearman: Option<f64>,
    /// The input's 10th percentile (type 7).
    pub p10: f64,
    /// The input's 90th percentile.
    pub p90: f64,
    /// The outcome's median over trials with the input ≤ its p10.
    pub median_low: f64,
    /// The outcome's median over trials with the input ≥ its p90.
    pub median_high: f64,
    /// The outcome's mean over trials with the input ≤ its p10.
    pub mean_low: f64,
    /// The outcome's mean over trials with the input ≥ its p90.
    pub mean_high: f64,
    /// `median_high − median_low` (0 when the input did not vary).
    pub swing_median: f64,
    /// `mean_high − mean_low` (0 when the input did not vary).
    pub swing_mean: f64,
    /// Standard error of `swing_mean`: `√(s²_low / n_low + s²_high / n_high)`.
    pub swing_mean_se: f64,
    /// Trials in the low group.
    pub trials_low: usize,
    /// Trials in the high group.
    pub trials_high: usize,
}

/// Ranks from 1, ties sharing the average of their ranks.
pub fn average_ranks(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]).then(a.cmp(&b)));
    let mut ranks = vec![0.0; values.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i + 1;
        while j < order.len() && values[order[j]] == values[order[i]] {
            j += 1;
        }
        // Positions i..j (0-based) share ranks i+1..=j: their mean.
        let rank = (i + 1 + j) as f64 / 2.0;
        for &k in &order[i..j] {
            ranks[k] = rank;
        }
        i = j;
    }
    ranks
}

/// Pearson correlation; `None` when either side has no variance.
pub fn pearson(a: &[f64], b: &[f64]) -> Option<f64> {
    let n = a.len().min(b.len());
    if n < 2 {
        return None;
    }
    let ma = a[..n].iter().sum::<f64>() / n as f64;
    let mb = b[..n].iter().sum::<f64>() / n as f64;
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in a[..n].iter().zip(&b[..n]) {
        let (dx, dy) = (x - ma, y - mb);
        sab += dx * dy;
        saa += dx * dx;
        sbb += dy * dy;
    }
    (saa > 0.0 && sbb > 0.0).then(|| (sab / (saa * sbb).sqrt()).clamp(-1.0, 1.0))
}

/// Spearman rank correlation of `x` with outcome ranks `y_ranks`.
pub fn spearman(x: &[f64], y_ranks: &[f64]) -> Option<f64> {
    pearson(&average_ranks(x), y_ranks)
}

/// Type-7 quantile of sorted values (NaN when empty).
fn quantile_sorted(sorted: &[f64], q: f64) -> f64 {
    match sorted.len() {
        0 => f64::NAN,
        n => {
            let h = (n - 1) as f64 * q;
            let lo = h.floor() as usize;
            let hi = (lo + 1).min(n - 1);
            sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
        }
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    quantile_sorted(&v, 0.5)
}

/// Mean and sample variance (NaN and 0 when empty).
fn mean_var(v: &[f64]) -> (f64, f64) {
    if v.is_empty() {
        return (f64::NAN, 0.0);
    }
    let n = v.len() as f64;
    let m = v.iter().sum::<f64>() / n;
    let var = if v.len() > 1 {
        v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (n - 1.0)
    } else {
        0.0
    };
    (m, var)
}

/// Which swing the tornado draws and ranks by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Swing {
    /// Difference of the deciles' means.
    #[default]
    Mean,
    /// Difference of the deciles' medians.
    Median,
}

impl Swing {
    /// `mean` or `median`.
    pub fn name(self) -> &'static str {
        match self {
            Swing::Mean => "mean",
            Swing::Median => "median",
        }
    }

    /// This swing of an effect.
    pub fn of(self, e: &InputEffect) -> f64 {
        match self {
            Swing::Mean => e.swing_mean,
            Swing::Median => e.swing_median,
        }
    }
}

/// The effect of input values `x` (one per trial) on outcome `y`.
pub fn input_effect(input: &str, x: &[f64], y: &[f64], y_ranks: &[f64]) -> InputEffect {
    let mut sorted = x.to_vec();
    sorted.sort_by(f64::total_cmp);
    let (p10, p90) = (quantile_sorted(&sorted, 0.1), quantile_sorted(&sorted, 0.9));
    let varies = sorted.first() != sorted.last();
    let low: Vec<f64> = x
        .iter()
        .zip(y)
        .filter(|(xi, _)| **xi <= p10)
        .map(|(_, yi)| *yi)
        .collect();
    let high: Vec<f64> = x
        .iter()
        .zip(y)
        .filter(|(xi, _)| **xi >= p90)
        .map(|(_, yi)| *yi)
        .collect();
    let (trials_low, trials_high) = (low.len(), high.len());
    let ((mean_low, var_low), (mean_high, var_high)) = (mean_var(&low), mean_var(&high));
    let (median_low, median_high) = (median(low), median(high));
    let se = (var_low / trials_low.max(1) as f64 + var_high / trials_high.max(1) as f64).sqrt();
    InputEffect {
        input: input.to_string(),
        spearman: if varies { spearman(x, y_ranks) } else { None },
        p10,
        p90,
        median_low,
        median_high,
        mean_low,
        mean_high,
        swing_median: if varies {
            median_high - median_low
        } else {
            0.0
        },
        swing_mean: if varies { mean_high - mean_low } else { 0.0 },
        swing_mean_se: if varies { se } else { 0.0 },
        trials_low,
        trials_high,
    }
}

/// Every input's effect, strongest first: by |swing|, then |spearman|, then
/// path; inputs that did not vary come last.
pub fn rank_inputs(sample: &InputSample, months: usize, swing: Swing) -> Vec<InputEffect> {
    let y = &sample.metric;
    let y_ranks = average_ranks(y);
    let mut effects: Vec<InputEffect> = (0..sample.columns.len())
        .into_par_iter()
        .map(|c| {
            let shock = c >= sample.n_inputs;
            let x: Vec<f64> = sample
                .column(c)
                .map(|v| if shock && v < 0.0 { months as f64 } else { v })
                .collect();
            input_effect(&sample.columns[c], &x, y, &y_ranks)
        })
        .collect();
    effects.sort_by(|a, b| {
        b.spearman
            .is_some()
            .cmp(&a.spearman.is_some())
            .then(swing.of(b).abs().total_cmp(&swing.of(a).abs()))
            .then(
                b.spearman
                    .unwrap_or(0.0)
                    .abs()
                    .total_cmp(&a.spearman.unwrap_or(0.0).abs()),
            )
            .then(a.input.cmp(&b.input))
    });
    effects
}

/// The outcome asked for, resolved against the scenario.
#[derive(Debug, Clone)]
struct Target {
    spec: MetricSpec,
    metric: TrialMetric,
    month: Option<String>,
}

impl Target {
    fn resolve(sc: &Scenario, metric: &str, month: Option<&str>) -> Result<Self, WhatIfError> {
        let spec = MetricSpec::parse(metric)?;
        let layout = MetricLayout::new(sc);
        let is_monthly = layout.monthly.iter().any(|n| n.metric == spec.metric);
        let is_horizon = layout.horizon.iter().any(|n| n.metric == spec.metric);
        match month {
            None if !is_horizon && is_monthly => {
                let similar: Vec<String> = {
                    let mut v: Vec<String> = Vec::new();
                    for n in &layout.horizon {
                        if n.metric.ends_with(&spec.metric) && !v.iter().any(|m| m == n.metric) {
                            v.push(n.metric.to_string());
                        }
                    }
                    v
                };
                Err(WhatIfError::MonthNeeded {
                    given: spec.to_string(),
                    metric: spec.metric.clone(),
                    horizon: if similar.is_empty() {
                        "see docs/outputs.md".into()
                    } else {
                        similar.join(", ")
                    },
                })
            }
            None => Ok(Target {
                metric: TrialMetric::Horizon(spec.find(&layout.horizon, "horizon")?),
                spec,
                month: None,
            }),
            Some(m) => {
                if is_horizon && !is_monthly {
                    return Err(WhatIfError::BadMonth {
                        given: m.to_string(),
                        reason: format!(
                            "`{}` is a horizon metric, one value per trial; drop --month",
                            spec.metric
                        ),
                    });
                }
                let ym = YearMonth::parse(m).map_err(|reason| WhatIfError::BadMonth {
                    given: m.to_string(),
                    reason,
                })?;
                let t = sc.start.months_until(ym);
                if t < 0 || t >= sc.months as i64 {
                    return Err(WhatIfError::BadMonth {
                        given: m.to_string(),
                        reason: format!(
                            "outside the scenario's horizon {} to {}",
                            sc.month_label(0),
                            sc.month_label(sc.months - 1)
                        ),
                    });
                }
                Ok(Target {
                    metric: TrialMetric::Month {
                        series: spec.find(&layout.monthly, "monthly")?,
                        month: t as usize,
                    },
                    spec,
                    month: Some(ym.to_string()),
                })
            }
        }
    }

    fn label(&self) -> String {
        match &self.month {
            Some(m) => format!("{} in {m}", self.spec),
            None => self.spec.to_string(),
        }
    }
}

/// Name of the results folder for `scenario` and an outcome.
pub fn folder_name(scenario: &str, spec: &MetricSpec, month: Option<&str>) -> String {
    let mut name = format!("sensitivity-{scenario}-{}", spec.slug());
    if let Some(m) = month {
        name.push('-');
        name.push_str(&slug(m));
    }
    name
}

/// `tradeflow sensitivity`: run, rank the inputs, write the table and the tornado.
///
/// Setting `stop` stops it with [`engine::EngineError::Interrupted`] at the
/// next block of trials, or before its folder is committed: nothing is
/// written then, and previous results are left as they were.
pub fn sensitivity(
    opts: &SensitivityOptions,
    stop: &AtomicBool,
) -> Result<SensitivityReport, AppError> {
    crate::app::leave_no_folder(&opts.common.out, || sensitivity_in(opts, stop))
}

fn sensitivity_in(
    opts: &SensitivityOptions,
    stop: &AtomicBool,
) -> Result<SensitivityReport, AppError> {
    let files: Vec<PathBuf> = opts.scenario.iter().cloned().collect();
    let sc = load_scenarios_with(&files, &opts.common.overrides()?)?.remove(0);
    let target = Target::resolve(&sc, &opts.metric, opts.month.as_deref())?;
    if engine::drawn_inputs(&sc).is_empty() && sc.shocks.is_empty() {
        return Err(WhatIfError::NoUncertainInputs {
            scenario: sc.name.clone(),
        }
        .into());
    }
    let c = &opts.common;
    output::prepare_output_dir(&c.out)?;
    let (pool, threads) = super::thread_pool(c.threads)?;
    let settings = RunSettings {
        trials: c.trials,
        seed: c.seed,
        memory_budget_bytes: c.memory_budget_bytes(),
    };
    let started = SystemTime::now();
    let clock = Instant::now();
    let bar = ProgressBar::new(c.quiet);
    let sample = pool.install(|| engine::sample_inputs(&sc, &settings, target.metric, &bar, stop));
    bar.finish();
    let sample = sample?;
    check_stop(stop)?;
    let (lo, hi) = sample
        .metric
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &v| {
            (l.min(v), h.max(v))
        });
    if lo == hi {
        return Err(WhatIfError::ConstantMetric {
            metric: target.label(),
            value: number(lo),
            trials: sample.trials,
        }
        .into());
    }
    let effects = pool.install(|| rank_inputs(&sample, sc.months, opts.swing));
    check_stop(stop)?;
    let overall = Overall {
        median: median(sample.metric.clone()),
        mean: mean_var(&sample.metric).0,
    };

    let name = folder_name(&sc.name, &target.spec, target.month.as_deref());
    let staged = StagedDir::new(&c.out.join(name))?;
    let dir = staged.path();
    write_csv(
        &dir.join("sensitivity.csv"),
        &sc,
        &target,
        opts.swing,
        &overall,
        &effects,
    )?;
    let fields = json!({
        "engine": { "name": "tradeflow", "version": env!("CARGO_PKG_VERSION") },
        "analysis": "sensitivity",
        "scenario": scenario_json(&sc),
        "metric": target.spec.metric,
        "entity": target.spec.entity,
        "month": target.month,
        "seed": sample.seed,
        "trials": sample.trials,
        "threads": threads,
        "start_time": timestamp_utc(started),
        "end_time": timestamp_utc(SystemTime::now()),
        "wall_seconds": clock.elapsed().as_secs_f64(),
        "command": c.command,
        "method": "Spearman rank correlation (average ranks for ties) of each drawn input with the \
                   metric over the trials; swing = the metric's mean (or median) over trials with \
                   the input at or above its 90th percentile minus its mean (or median) over trials \
                   with the input at or below its 10th percentile. A shock not firing within the \
                   horizon counts as firing in the month after it.",
        "swing": opts.swing.name(),
        "metric_median": overall.median,
        "metric_mean": overall.mean,
        "tornado_inputs": opts.top.max(1),
    });
    super::write_manifest(dir, fields.clone())?;
    if !c.charts.is_empty() {
        charts::draw_tornado_chart(dir, &c.charts)?;
        super::write_manifest(dir, fields)?;
    }
    check_stop(stop)?;
    let folder = staged.commit()?;
    let mut lines = vec![format!(
        "{}: {} — {} → {}",
        sc.name,
        target.label(),
        crate::app::count(sample.trials, "trial"),
        folder.display()
    )];
    for (i, e) in effects
        .iter()
        .filter(|e| e.spearman.is_some())
        .take(5)
        .enumerate()
    {
        lines.push(format!(
            "  {}. {}  swing ({}) {}  spearman {:+.2}",
            i + 1,
            e.input,
            opts.swing.name(),
            short_number(opts.swing.of(e)),
            e.spearman.unwrap_or(0.0)
        ));
    }
    Ok(SensitivityReport { folder, lines })
}

/// A swing for the console: four significant figures (the CSV keeps them all).
fn short_number(x: f64) -> String {
    let a = x.abs();
    if a != 0.0 && !(1e-3..1e5).contains(&a) {
        format!("{x:+.3e}")
    } else {
        format!("{x:+.4}")
    }
}

/// The columns of `sensitivity.csv`.
pub const COLUMNS: [&str; 21] = [
    "scenario",
    "metric",
    "entity",
    "month",
    "rank",
    "input",
    "spearman",
    "input_p10",
    "input_p90",
    "trials_low",
    "trials_high",
    "mean_low_decile",
    "mean_high_decile",
    "swing_mean",
    "swing_mean_se",
    "median_low_decile",
    "median_high_decile",
    "swing_median",
    "metric_mean",
    "metric_median",
    "swing",
];

/// The outcome over all trials.
struct Overall {
    median: f64,
    mean: f64,
}

fn write_csv(
    path: &Path,
    sc: &Scenario,
    target: &Target,
    swing: Swing,
    overall: &Overall,
    effects: &[InputEffect],
) -> Result<(), OutputError> {
    let mut w = csv_file(path)?;
    w.write_record(COLUMNS).map_err(csv_error(path))?;
    for (i, e) in effects.iter().enumerate() {
        let rec = [
            sc.name.clone(),
            target.spec.metric.clone(),
            target.spec.entity.clone(),
            target.month.clone().unwrap_or_default(),
            (i + 1).to_string(),
            e.input.clone(),
            e.spearman.map(number).unwrap_or_default(),
            number(e.p10),
            number(e.p90),
            e.trials_low.to_string(),
            e.trials_high.to_string(),
            number(e.mean_low),
            number(e.mean_high),
            number(e.swing_mean),
            number(e.swing_mean_se),
            number(e.median_low),
            number(e.median_high),
            number(e.swing_median),
            number(overall.mean),
            number(overall.median),
            swing.name().to_string(),
        ];
        w.write_record(&rec).map_err(csv_error(path))?;
    }
    w.flush().map_err(|e| OutputError::io(path, e))
}

/// Redraws the tornado of a sensitivity folder; empty when `dir` is not one.
pub fn plot(dir: &Path, formats: &[ChartFormat]) -> Result<Vec<PathBuf>, AppError> {
    if dir.join("sensitivity.csv").is_file() {
        Ok(charts::draw_tornado_chart(dir, formats)?)
    } else {
        Ok(Vec::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ties_share_their_average_rank() {
        assert_eq!(
            average_ranks(&[10.0, 20.0, 10.0, 30.0, 20.0, 10.0]),
            [2.0, 4.5, 2.0, 6.0, 4.5, 2.0]
        );
        assert_eq!(average_ranks(&[]), Vec::<f64>::new());
    }

    #[test]
    fn spearman_matches_a_hand_computed_value() {
        // x ranks 1..5, y ranks [2,1,4,3,5]: rho = 1 − 6·Σd²/(n(n²−1)) = 1 − 6·4/120 = 0.8.
        let x = [1.0, 2.0, 3.0, 4.0, 5.0];
        let y = [20.0, 10.0, 40.0, 30.0, 50.0];
        let rho = spearman(&x, &average_ranks(&y)).unwrap();
        assert!((rho - 0.8).abs() < 1e-12, "{rho}");
        // Monotone but non-linear: exactly 1; reversed: −1.
        let y2: Vec<f64> = x.iter().map(|v: &f64| v.powi(3)).collect();
        assert_eq!(spearman(&x, &average_ranks(&y2)), Some(1.0));
        let y3: Vec<f64> = x.iter().map(|v| -v).collect();
        assert_eq!(spearman(&x, &average_ranks(&y3)), Some(-1.0));
        // A constant side has no correlation.
        assert_eq!(spearman(&[1.0; 5], &average_ranks(&y)), None);
    }

    #[test]
    fn swing_compares_the_extreme_deciles() {
        // x = 0..99, y = 2x: low decile x ≤ 9.9 → y 0..18 (median 9),
        // high decile x ≥ 89.1 → y 180..198 (median 189).
        let x: Vec<f64> = (0..100).map(f64::from).collect();
        let y: Vec<f64> = x.iter().map(|v| 2.0 * v).collect();
        let e = input_effect("a", &x, &y, &average_ranks(&y));
        assert_eq!((e.trials_low, e.trials_high), (10, 10));
        assert_eq!(e.median_low, 9.0);
        assert_eq!(e.median_high, 189.0);
        assert_eq!(e.swing_median, 180.0);
        assert_eq!(e.mean_low, 9.0);
        assert_eq!(e.mean_high, 189.0);
        assert_eq!(e.swing_mean, 180.0);
        // Each decile's y = 2k has sample variance 4 · var(0..9) = 4 · 55/6.
        let se = (2.0 * 4.0 * 55.0 / 6.0 / 10.0f64).sqrt();
        assert!((e.swing_mean_se - se).abs() < 1e-12);
        assert_eq!(e.spearman, Some(1.0));
        // A constant input: no correlation, no swing.
        let c = input_effect("c", &[3.0; 100], &y, &average_ranks(&y));
        assert_eq!(c.spearman, None);
        assert_eq!((c.swing_mean, c.swing_median), (0.0, 0.0));
    }
}
