//! `tradeflow sweep SCENARIO --vary PATH=FROM:TO:STEP [--vary PATH=v1,v2,...]`:
//! the scenario at every point of a one- or two-axis grid, each point a full
//! run with the same seed (common random numbers).
//!
//! A grid point is the scenario with `--set PATH=VALUE` for each axis: its
//! results are exactly those of `tradeflow run SCENARIO --set PATH=VALUE ...`.
//! Points run a few at a time (as many as there are worker threads), each
//! with its trials in parallel; a point's results depend only on its
//! scenario and the seed, so the files are the same bytes for any thread
//! count. Without `--point-files` a point keeps only its horizon metrics
//! (what `sweep.csv` reports); with it, each point is a full run whose
//! folder is written under `points/`.
//!
//! Writes `OUT/sweep-NAME/`:
//!
//! ```text
//! sweep-baseline/
//! ├── sweep.csv                one row per point, horizon metric and entity
//! ├── sweep-METRIC-ENTITY.png  one axis: median and 90 % band against the value
//! ├── heatmap-METRIC-ENTITY.png  two axes: the median over the grid
//! ├── manifest.json
//! └── points/p000/ ...         with --point-files: each point's run folder
//! ```

use super::{CommonOptions, MetricSpec, WhatIfError, csv_error, csv_file, scenario_json};
use crate::app::{AppError, check_stop};
use crate::charts::{self, ChartFormat};
use crate::engine::{self, ProgressBar, RunSettings, STAT_COLUMNS, SeriesName, Stats};
use crate::output::{self, OutputError, RunInfo, StagedDir, number, timestamp_utc};
use crate::scenario::{ComposedScenario, Override, Scenario};
use rayon::prelude::*;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Instant, SystemTime};

/// Most values on one axis.
pub const MAX_AXIS_VALUES: usize = 1000;
/// Most grid points in one sweep.
pub const MAX_POINTS: usize = 10_000;

/// One axis of the grid: a scenario path and the values it takes, as text
/// handed to `--set PATH=VALUE`.
#[derive(Debug, Clone, PartialEq)]
pub struct Axis {
    /// The path varied, as `--set` takes it.
    pub path: String,
    /// The values, in order, as `--set` values.
    pub values: Vec<String>,
}

/// A decimal number as an integer mantissa and a count of decimals.
fn parse_decimal(s: &str) -> Option<(i128, u32)> {
    let s = s.trim();
    let (neg, digits) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let int = int.replace('_', "");
    if int.is_empty() && frac.is_empty()
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
        || int.len() + frac.len() > 30
    {
        return None;
    }
    let mantissa: i128 = format!("{}{frac}", if int.is_empty() { "0" } else { &int })
        .parse()
        .ok()?;
    Some((if neg { -mantissa } else { mantissa }, frac.len() as u32))
}

/// The exact decimal text of `mantissa / 10^decimals`, without trailing
/// zeros but with at least one decimal when `decimals > 0` (so a float stays
/// a float in TOML: `1.0`, not `1`).
fn format_decimal(mantissa: i128, decimals: u32) -> String {
    let sign = if mantissa < 0 { "-" } else { "" };
    let m = mantissa.unsigned_abs();
    if decimals == 0 {
        return format!("{sign}{m}");
    }
    let p = 10u128.pow(decimals);
    let frac = format!("{:0width$}", m % p, width = decimals as usize);
    let frac = frac.trim_end_matches('0');
    let frac = if frac.is_empty() { "0" } else { frac };
    format!("{sign}{}.{frac}", m / p)
}

impl Axis {
    /// Parses `PATH=FROM:TO:STEP` (numbers; `FROM` to `TO` inclusive in
    /// steps of `STEP`, computed exactly in decimal) or `PATH=v1,v2,...`
    /// (values as `--set` takes them).
    pub fn parse(arg: &str) -> Result<Axis, WhatIfError> {
        let bad = |reason: String| WhatIfError::BadVary {
            given: arg.to_string(),
            reason,
        };
        let Some((path, spec)) = arg.split_once('=') else {
            return Err(bad(
                "expected PATH=FROM:TO:STEP or PATH=v1,v2,..., for example \
                 export_rule.H200.2026-01.quota=0:100000:25000"
                    .into(),
            ));
        };
        let path = path.trim();
        let spec = spec.trim();
        if path.is_empty() {
            return Err(bad("the path before `=` is empty".into()));
        }
        if spec.is_empty() {
            return Err(bad("no values after `=`".into()));
        }
        let values = if spec.contains(':') && !spec.contains(['{', '[', '"', ',']) {
            let parts: Vec<&str> = spec.split(':').collect();
            let [from, to, step] = parts.as_slice() else {
                return Err(bad(format!(
                    "a range is FROM:TO:STEP, three numbers; found {} part(s)",
                    parts.len()
                )));
            };
            let num = |s: &str, what: &str| {
                parse_decimal(s).ok_or_else(|| {
                    bad(format!(
                        "{what} {s:?} is not a decimal number (write 0.25, 30000, -1.5)"
                    ))
                })
            };
            let (f, fd) = num(from, "FROM")?;
            let (t, td) = num(to, "TO")?;
            let (s, sd) = num(step, "STEP")?;
            let d = fd.max(td).max(sd);
            let scale = |m: i128, k: u32| m.checked_mul(10i128.pow(d - k));
            let overflow = || bad("numbers too long".into());
            let (f, t, s) = (
                scale(f, fd).ok_or_else(overflow)?,
                scale(t, td).ok_or_else(overflow)?,
                scale(s, sd).ok_or_else(overflow)?,
            );
            if s <= 0 {
                return Err(bad(format!("STEP must be positive, found {step}")));
            }
            if t < f {
                return Err(bad(format!("TO ({to}) is below FROM ({from})")));
            }
            let count = (t - f) / s + 1;
            if count > MAX_AXIS_VALUES as i128 {
                return Err(bad(format!(
                    "{count} values; at most {MAX_AXIS_VALUES} per axis"
                )));
            }
            (0..count).map(|k| format_decimal(f + k * s, d)).collect()
        } else {
            let values: Vec<String> = split_values(spec);
            if values.iter().any(|v| v.is_empty()) {
                return Err(bad("an empty value in the list".into()));
            }
            if values.len() > MAX_AXIS_VALUES {
                return Err(bad(format!(
                    "{} values; at most {MAX_AXIS_VALUES} per axis",
                    values.len()
                )));
            }
            values
        };
        for (i, v) in values.iter().enumerate() {
            if values[..i].contains(v) {
                return Err(bad(format!("the value {v} appears twice")));
            }
        }
        Ok(Axis {
            path: path.to_string(),
            values,
        })
    }

    /// The values as numbers, when every one is a number.
    pub fn numeric(&self) -> Option<Vec<f64>> {
        self.values
            .iter()
            .map(|v| {
                v.replace('_', "")
                    .parse::<f64>()
                    .ok()
                    .filter(|x| x.is_finite())
            })
            .collect()
    }
}

/// Splits `v1,v2,...` at top-level commas (not inside `{}`, `[]` or quotes),
/// so inline tables and arrays can be values.
fn split_values(spec: &str) -> Vec<String> {
    let mut out = Vec::new();
    let (mut depth, mut quote) = (0i32, None::<char>);
    let mut cur = String::new();
    for c in spec.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '{' | '[') => depth += 1,
            (None, '}' | ']') => depth -= 1,
            (None, ',') if depth == 0 => {
                out.push(cur.trim().to_string());
                cur.clear();
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    out.push(cur.trim().to_string());
    out
}

/// One grid point: its index and the value of each axis.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// Index, row-major (the first axis outer).
    pub index: usize,
    /// Index of the value on each axis.
    pub at: Vec<usize>,
    /// `PATH=VALUE` for each axis.
    pub assignments: Vec<String>,
}

/// Every point of the grid, the first axis outer.
pub fn grid(axes: &[Axis]) -> Vec<Point> {
    let mut points = vec![Vec::new()];
    for axis in axes {
        points = points
            .into_iter()
            .flat_map(|p: Vec<usize>| {
                (0..axis.values.len()).map(move |i| {
                    let mut q = p.clone();
                    q.push(i);
                    q
                })
            })
            .collect();
    }
    points
        .into_iter()
        .enumerate()
        .map(|(index, at)| Point {
            index,
            assignments: at
                .iter()
                .zip(axes)
                .map(|(&i, a)| format!("{}={}", a.path, a.values[i]))
                .collect(),
            at,
        })
        .collect()
}

/// Makes the scenario of a grid point.
pub trait PointSource: Sync {
    /// The scenario with the point's overrides applied (after any
    /// overrides the user gave for the whole sweep).
    fn scenario(&self, point: &[Override]) -> Result<Scenario, AppError>;
    /// The file the sweep varies, for the manifest.
    fn describe(&self) -> serde_json::Value;
}

/// Options of `tradeflow sweep`.
#[derive(Debug, Clone, Default)]
pub struct SweepOptions {
    /// The scenario file (`None`: the built-in baseline).
    pub scenario: Option<PathBuf>,
    /// `PATH=FROM:TO:STEP` or `PATH=v1,v2,...`, once or twice.
    pub vary: Vec<String>,
    /// Horizon metrics to chart, `METRIC:ENTITY` (default: the domestic
    /// origin's mean share of compute).
    pub metrics: Vec<String>,
    /// Also write each point's full run folder under `points/`.
    pub point_files: bool,
    /// Trials, seed, threads, output folder, charts.
    pub common: CommonOptions,
}

/// What `sweep` wrote.
#[derive(Debug, Clone)]
pub struct SweepReport {
    /// The results folder.
    pub folder: PathBuf,
    /// Lines for the terminal.
    pub lines: Vec<String>,
}

/// Name of the results folder of a sweep of `scenario`.
pub fn folder_name(scenario: &str) -> String {
    format!("sweep-{scenario}")
}

/// The horizon statistics of one point.
struct PointResult {
    names: Vec<SeriesName>,
    stats: Vec<Stats>,
}

/// Points made from a scenario file (or the built-in baseline), composed
/// once; each point applies the sweep's `--set` overrides, then its own.
struct ComposedSource {
    composed: ComposedScenario,
    overrides: Vec<Override>,
}

impl PointSource for ComposedSource {
    fn scenario(&self, point: &[Override]) -> Result<Scenario, AppError> {
        let mut all = self.overrides.clone();
        all.extend_from_slice(point);
        Ok(self.composed.resolve_with(&all)?)
    }

    fn describe(&self) -> serde_json::Value {
        json!({
            "file": self.composed.file(),
            "extends": self.composed.parents().collect::<Vec<_>>(),
            "set": self.overrides.iter().map(|o| o.to_string()).collect::<Vec<_>>(),
        })
    }
}

/// `tradeflow sweep`: run every grid point, write `sweep.csv` and the charts.
///
/// A point is the scenario with the sweep's `--set` overrides and then
/// `--set PATH=VALUE` for each axis, so its results are those of
/// `tradeflow run SCENARIO --set ... --set PATH=VALUE` byte for byte.
pub fn sweep(opts: &SweepOptions, stop: &AtomicBool) -> Result<SweepReport, AppError> {
    let composed = match &opts.scenario {
        Some(p) => ComposedScenario::load(p)?,
        None => ComposedScenario::builtin_baseline()?,
    };
    let source = ComposedSource {
        composed,
        overrides: opts.common.overrides()?,
    };
    sweep_with(opts, &source, stop)
}

/// Runs the sweep with scenarios from `source` and writes its folder.
///
/// Setting `stop` stops it with [`engine::EngineError::Interrupted`] before
/// the next group of points or block of trials, or before its folder is
/// committed: nothing is written then, and previous results are left as they were.
pub fn sweep_with(
    opts: &SweepOptions,
    source: &dyn PointSource,
    stop: &AtomicBool,
) -> Result<SweepReport, AppError> {
    crate::app::leave_no_folder(&opts.common.out, || sweep_in(opts, source, stop))
}

fn sweep_in(
    opts: &SweepOptions,
    source: &dyn PointSource,
    stop: &AtomicBool,
) -> Result<SweepReport, AppError> {
    if opts.vary.is_empty() || opts.vary.len() > 2 {
        return Err(WhatIfError::BadVary {
            given: opts.vary.join(" "),
            reason: format!("give --vary once or twice, not {} times", opts.vary.len()),
        }
        .into());
    }
    let axes: Vec<Axis> = opts
        .vary
        .iter()
        .map(|v| Axis::parse(v))
        .collect::<Result<_, _>>()?;
    if axes.len() == 2 && axes[0].path == axes[1].path {
        return Err(WhatIfError::BadVary {
            given: opts.vary[1].clone(),
            reason: format!("{} is already varied by the first --vary", axes[0].path),
        }
        .into());
    }
    let points = grid(&axes);
    if points.len() > MAX_POINTS {
        return Err(WhatIfError::BadVary {
            given: opts.vary.join(" "),
            reason: format!("{} grid points; at most {MAX_POINTS}", points.len()),
        }
        .into());
    }
    // Every point is built and validated before anything runs; they are
    // built again group by group below, so memory holds one group's.
    // Each point's problems name the `--vary` the user typed, not the
    // assignment the point becomes.
    let point = |p: &Point| -> Result<Scenario, AppError> {
        let overrides = p
            .assignments
            .iter()
            .zip(&opts.vary)
            .map(|(a, v)| Override::parse_point(a, v))
            .collect::<Result<Vec<_>, _>>()?;
        source.scenario(&overrides)
    };
    let base = point(&points[0])?;
    let metrics: Vec<MetricSpec> = if opts.metrics.is_empty() {
        vec![MetricSpec {
            metric: "mean_share_compute".into(),
            entity: base.origins[base.home_origin].clone(),
        }]
    } else {
        opts.metrics
            .iter()
            .map(|m| MetricSpec::parse(m))
            .collect::<Result<_, _>>()?
    };
    for p in &points {
        let sc = point(p)?;
        let layout = engine::MetricLayout::new(&sc);
        for m in &metrics {
            m.find(&layout.horizon, "horizon")?;
        }
    }
    let base = &base;
    let c = &opts.common;
    output::prepare_output_dir(&c.out)?;
    let (pool, threads) = super::thread_pool(c.threads)?;
    let settings = RunSettings {
        trials: c.trials,
        seed: c.seed,
        memory_budget_bytes: c.memory_budget_bytes(),
    };
    let staged = StagedDir::new(&c.out.join(folder_name(&base.name)))?;
    let dir = staged.path().to_path_buf();
    let points_dir = dir.join("points");
    if opts.point_files {
        std::fs::create_dir_all(&points_dir).map_err(|e| OutputError::io(&points_dir, e))?;
    }
    let started = SystemTime::now();
    let clock = Instant::now();
    let bar = ProgressBar::new(c.quiet);
    let mut results: Vec<PointResult> = Vec::with_capacity(points.len());
    let (mut trials, mut seed) = (0, 0);
    // A few points at a time, as many as there are workers: each point's
    // trials run in parallel too, and memory holds only this group.
    let mut run_all = || -> Result<(), AppError> {
        for (g, group) in points.chunks(threads.max(1)).enumerate() {
            if stop.load(Ordering::Relaxed) {
                return Err(engine::EngineError::Interrupted.into());
            }
            let group: Vec<Scenario> = group.iter().map(point).collect::<Result<_, _>>()?;
            let group_started = SystemTime::now();
            let group_clock = Instant::now();
            if !opts.point_files {
                // Only the horizon statistics are needed: no per-month values kept.
                let run: Vec<engine::HorizonResults> = pool.install(|| {
                    group
                        .par_iter()
                        .map(|sc| engine::run_horizon(sc, &settings, &bar, stop))
                        .collect::<Result<_, _>>()
                })?;
                for r in run {
                    (trials, seed) = (r.trials, r.seed);
                    results.push(PointResult {
                        names: r.names,
                        stats: r.stats,
                    });
                }
                continue;
            }
            let run = pool.install(|| engine::run_scenarios(&group, &settings, &bar, stop))?;
            for (i, r) in run.into_iter().enumerate() {
                (trials, seed) = (r.trials, r.seed);
                let info = RunInfo {
                    threads,
                    start_time: timestamp_utc(group_started),
                    end_time: timestamp_utc(SystemTime::now()),
                    wall_seconds: group_clock.elapsed().as_secs_f64(),
                    command: c.command.clone(),
                };
                let k = g * threads.max(1) + i;
                write_point_folder(&points_dir.join(point_folder(k)), &r, &info)?;
                results.push(PointResult {
                    names: r.layout.horizon.clone(),
                    stats: r.horizon.clone(),
                });
            }
        }
        Ok(())
    };
    let outcome = run_all();
    bar.finish();
    outcome?;
    check_stop(stop)?;
    write_sweep_csv(&dir.join("sweep.csv"), &axes, &points, &results)?;
    let fields = json!({
        "engine": { "name": "tradeflow", "version": env!("CARGO_PKG_VERSION") },
        "analysis": "sweep",
        "scenario": scenario_json(base),
        "source": source.describe(),
        "axes": axes.iter().map(|a| json!({ "path": a.path, "values": a.values })).collect::<Vec<_>>(),
        "points": points.iter().map(|p| json!({
            "point": p.index,
            "set": p.assignments,
            "folder": opts.point_files.then(|| format!("points/{}", point_folder(p.index))),
        })).collect::<Vec<_>>(),
        "metrics": metrics.iter().map(|m| m.to_string()).collect::<Vec<_>>(),
        "seed": seed,
        "trials": trials,
        "threads": threads,
        "start_time": timestamp_utc(started),
        "end_time": timestamp_utc(SystemTime::now()),
        "wall_seconds": clock.elapsed().as_secs_f64(),
        "command": c.command,
    });
    super::write_manifest(&dir, fields.clone())?;
    if !c.charts.is_empty() {
        charts::draw_sweep_charts(&dir, &c.charts)?;
        super::write_manifest(&dir, fields)?;
    }
    check_stop(stop)?;
    let folder = staged.commit()?;
    let lines = vec![format!(
        "{}: {} × {} → {}",
        base.name,
        crate::app::count(points.len(), "point"),
        crate::app::count(trials, "trial"),
        folder.display()
    )];
    Ok(SweepReport { folder, lines })
}

/// The folder of point `k` under `points/`.
pub fn point_folder(k: usize) -> String {
    format!("p{k:03}")
}

/// A point's folder: the same files as `tradeflow run` writes for it.
fn write_point_folder(
    dir: &Path,
    r: &engine::ScenarioResults,
    info: &RunInfo,
) -> Result<(), OutputError> {
    std::fs::create_dir_all(dir).map_err(|e| OutputError::io(dir, e))?;
    output::write_timeseries_csv(&dir.join("timeseries.csv"), r)?;
    output::write_summary_csv(&dir.join("summary.csv"), r)?;
    output::write_trials_csv(&dir.join("trials.csv"), r)?;
    super::write_json(&dir.join("manifest.json"), &output::manifest_json(r, info))
}

/// The columns of `sweep.csv` before the axes' paths.
const LEADING: [&str; 1] = ["point"];

fn write_sweep_csv(
    path: &Path,
    axes: &[Axis],
    points: &[Point],
    results: &[PointResult],
) -> Result<(), OutputError> {
    let mut w = csv_file(path)?;
    let mut header: Vec<String> = LEADING.iter().map(|s| s.to_string()).collect();
    header.extend(axes.iter().map(|a| a.path.clone()));
    header.extend(["metric".to_string(), "entity".to_string()]);
    header.extend(STAT_COLUMNS.iter().map(|s| s.to_string()));
    w.write_record(&header).map_err(csv_error(path))?;
    let mut rec: Vec<String> = Vec::with_capacity(header.len());
    for (p, r) in points.iter().zip(results) {
        for (name, s) in r.names.iter().zip(&r.stats) {
            rec.clear();
            rec.push(p.index.to_string());
            rec.extend(p.at.iter().zip(axes).map(|(&i, a)| a.values[i].clone()));
            rec.push(name.metric.to_string());
            rec.push(name.entity.clone());
            rec.extend(s.columns().iter().map(|&x| number(x)));
            w.write_record(&rec).map_err(csv_error(path))?;
        }
    }
    w.flush().map_err(|e| OutputError::io(path, e))
}

/// Redraws a sweep folder's charts; empty when `dir` is not one.
pub fn plot(dir: &Path, formats: &[ChartFormat]) -> Result<Vec<PathBuf>, AppError> {
    if dir.join("sweep.csv").is_file() {
        Ok(charts::draw_sweep_charts(dir, formats)?)
    } else {
        Ok(Vec::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_exact_decimals() {
        let a = Axis::parse("market.demand.annual_growth=0.1:0.5:0.1").unwrap();
        assert_eq!(a.path, "market.demand.annual_growth");
        assert_eq!(a.values, ["0.1", "0.2", "0.3", "0.4", "0.5"]);
        let b = Axis::parse("export_rule.H200.2026-01.quota=0:100000:25000").unwrap();
        assert_eq!(b.values, ["0", "25000", "50000", "75000", "100000"]);
        // The step need not divide the span: TO is an upper bound.
        let c = Axis::parse("x=-0.5:0.25:0.3").unwrap();
        assert_eq!(c.values, ["-0.5", "-0.2", "0.1"]);
        assert_eq!(c.numeric(), Some(vec![-0.5, -0.2, 0.1]));
        let d = Axis::parse("x=0.3:0.7:0.05").unwrap();
        assert_eq!(d.values.len(), 9);
        assert_eq!(d.values[..3], ["0.3", "0.35", "0.4"]);
        let e = Axis::parse("x=0.5:2:0.5").unwrap();
        assert_eq!(e.values, ["0.5", "1.0", "1.5", "2.0"]);
    }

    #[test]
    fn lists_keep_values_as_written() {
        let a = Axis::parse("domestic_mandate.2026-07.share=0.3, 0.5,0.7").unwrap();
        assert_eq!(a.values, ["0.3", "0.5", "0.7"]);
        let b = Axis::parse(r#"export_rule.H200.2026-07.regime="banned","licensed""#).unwrap();
        assert_eq!(b.values, [r#""banned""#, r#""licensed""#]);
        assert_eq!(b.numeric(), None);
        let c = Axis::parse("p={ dist = \"uniform\", min = 1, max = 2 },3").unwrap();
        assert_eq!(c.values.len(), 2);
    }

    #[test]
    fn bad_grids_say_what_is_wrong() {
        for (arg, needle) in [
            ("nopath", "expected PATH=FROM:TO:STEP"),
            ("=1,2", "path before"),
            ("x=", "no values"),
            ("x=1:2", "three numbers"),
            ("x=1:a:1", "TO \"a\" is not a decimal"),
            ("x=0:1:0", "STEP must be positive"),
            ("x=2:1:0.5", "below FROM"),
            ("x=0:100000:1", "at most 1000"),
            ("x=1,,2", "empty value"),
            ("x=1,2,1", "appears twice"),
        ] {
            let e = Axis::parse(arg).unwrap_err().to_string();
            assert!(e.contains(needle), "{arg}: {e}");
        }
    }

    #[test]
    fn grids_are_row_major() {
        let axes = [
            Axis::parse("a=1,2").unwrap(),
            Axis::parse("b=10,20,30").unwrap(),
        ];
        let g = grid(&axes);
        assert_eq!(g.len(), 6);
        assert_eq!(g[0].assignments, ["a=1", "b=10"]);
        assert_eq!(g[2].assignments, ["a=1", "b=30"]);
        assert_eq!(g[3].at, [1, 0]);
        assert_eq!(g[5].index, 5);
    }
}
