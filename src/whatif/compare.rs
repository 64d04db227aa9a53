//! `tradeflow compare BASE ALT...`: every alternative against the base, trial
//! by trial, with common random numbers.
//!
//! Writes `OUT/compare-BASE/`:
//!
//! ```text
//! compare-baseline/
//! ├── deltas_summary.csv       horizon differences of every alternative
//! ├── horizon_deltas.png/.svg  bars: median horizon difference with its 90 % interval
//! ├── manifest.json
//! └── h200-reban/              one folder per alternative
//!     ├── deltas_timeseries.csv
//!     ├── deltas_summary.csv
//!     ├── deltas_trials.csv
//!     ├── delta_market_share.png/.svg
//!     ├── delta_revenue.png/.svg
//!     └── manifest.json
//! ```

use super::{CommonOptions, WhatIfError, csv_error, csv_file, scenario_json, write_manifest};
use crate::app::{AppError, check_stop};
use crate::charts::{self, ChartFormat};
use crate::engine::{
    self, DeltaStats, PairedResults, ProgressBar, RunSettings, STAT_COLUMNS, check_pairable,
};
use crate::output::{self, OutputError, StagedDir, number, timestamp_utc};
use serde_json::json;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::{Instant, SystemTime};

/// Columns after the statistics: the share of trials with a positive and a
/// negative difference.
pub const PROBABILITY_COLUMNS: [&str; 2] = ["p_alt_higher", "p_alt_lower"];

/// Options of `tradeflow compare`.
#[derive(Debug, Clone, Default)]
pub struct CompareOptions {
    /// The base scenario file.
    pub base: PathBuf,
    /// The alternatives, one or more.
    pub alternatives: Vec<PathBuf>,
    /// Run the alternatives under this seed instead of the base's, i.e. *not*
    /// paired: for measuring what pairing gains.
    pub alt_seed: Option<u64>,
    /// Trials, seed, threads, output folder, charts.
    pub common: CommonOptions,
}

/// What `compare` wrote.
#[derive(Debug, Clone)]
pub struct CompareReport {
    /// `OUT/compare-BASE`.
    pub folder: PathBuf,
    /// One line per alternative, for the terminal.
    pub lines: Vec<String>,
}

/// Name of the results folder of a comparison against `base`.
pub fn folder_name(base: &str) -> String {
    format!("compare-{base}")
}

/// `tradeflow compare`: run, write the difference tables and charts.
///
/// Setting `stop` stops it with [`engine::EngineError::Interrupted`] at the
/// next block of trials, or before its folder is committed: nothing is
/// written then, and previous results are left as they were.
pub fn compare(opts: &CompareOptions, stop: &AtomicBool) -> Result<CompareReport, AppError> {
    crate::app::leave_no_folder(&opts.common.out, || compare_in(opts, stop))
}

fn compare_in(opts: &CompareOptions, stop: &AtomicBool) -> Result<CompareReport, AppError> {
    let mut paths = vec![opts.base.clone()];
    paths.extend(opts.alternatives.iter().cloned());
    let overrides = opts.common.overrides()?;
    let mut scenarios = super::load_files(&paths, &overrides)?;
    let base = scenarios.remove(0);
    let alts = scenarios;
    for (i, a) in alts.iter().enumerate() {
        if let Some(b) = alts[..i].iter().find(|b| b.name == a.name) {
            return Err(WhatIfError::DuplicateAlternative {
                name: a.name.clone(),
                first: b.source_file.clone(),
                second: a.source_file.clone(),
            }
            .into());
        }
    }
    check_pairable(&base, &alts).map_err(WhatIfError::from)?;
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
    let results =
        pool.install(|| engine::run_paired(&base, &alts, &settings, opts.alt_seed, &bar, stop));
    bar.finish();
    let results = results?;
    check_stop(stop)?;
    let run_info = json!({
        "threads": threads,
        "passes": results.passes,
        "start_time": timestamp_utc(started),
        "end_time": timestamp_utc(SystemTime::now()),
        "wall_seconds": clock.elapsed().as_secs_f64(),
        "command": c.command,
    });

    let staged = StagedDir::new(&c.out.join(folder_name(&base.name)))?;
    let dir = staged.path();
    for k in 0..results.alts.len() {
        let alt_dir = dir.join(&results.alts[k].scenario.name);
        std::fs::create_dir_all(&alt_dir).map_err(|e| OutputError::io(&alt_dir, e))?;
        write_deltas_timeseries(&alt_dir.join("deltas_timeseries.csv"), &results, k)?;
        write_deltas_summary(&alt_dir.join("deltas_summary.csv"), &results, &[k])?;
        write_deltas_trials(&alt_dir.join("deltas_trials.csv"), &results, k)?;
        // The charts read the manifest for their titles: write it first,
        // then again with the charts' hashes.
        let fields = manifest(&results, Some(k), &run_info);
        write_manifest(&alt_dir, fields.clone())?;
        if !c.charts.is_empty() {
            charts::draw_delta_charts(&alt_dir, &c.charts)?;
            write_manifest(&alt_dir, fields)?;
        }
        check_stop(stop)?;
    }
    let all: Vec<usize> = (0..results.alts.len()).collect();
    write_deltas_summary(&dir.join("deltas_summary.csv"), &results, &all)?;
    let fields = manifest(&results, None, &run_info);
    write_manifest(dir, fields.clone())?;
    if !c.charts.is_empty() {
        charts::draw_horizon_deltas_chart(dir, &c.charts)?;
        write_manifest(dir, fields)?;
    }
    check_stop(stop)?;
    let folder = staged.commit()?;
    let lines = results
        .alts
        .iter()
        .map(|a| {
            format!(
                "{} − {}: {} × {} → {}",
                a.scenario.name,
                base.name,
                crate::app::count(
                    results.trials,
                    if results.alt_seed.is_some() {
                        "unpaired trial"
                    } else {
                        "paired trial"
                    }
                ),
                crate::app::count(base.months, "month"),
                folder.join(&a.scenario.name).display()
            )
        })
        .collect();
    Ok(CompareReport { folder, lines })
}

/// The manifest of the whole comparison (`alt` = `None`) or of one alternative.
fn manifest(r: &PairedResults, alt: Option<usize>, run: &serde_json::Value) -> serde_json::Value {
    let mut m = json!({
        "engine": { "name": "tradeflow", "version": env!("CARGO_PKG_VERSION") },
        "analysis": "compare",
        "base": scenario_json(&r.base),
        "seed": r.seed,
        "alternative_seed": r.alt_seed.unwrap_or(r.seed),
        "paired": r.alt_seed.is_none(),
        "trials": r.trials,
        "difference": "alternative minus base, per trial index",
        "ties": "p_alt_higher counts differences > 0 and p_alt_lower differences < 0; exact ties (= 0) count in neither",
    });
    if let serde_json::Value::Object(map) = &mut m {
        if let serde_json::Value::Object(run) = run {
            for (k, v) in run {
                map.insert(k.clone(), v.clone());
            }
        }
        match alt {
            Some(k) => {
                let a = &r.alts[k];
                map.insert("scenario".into(), scenario_json(&a.scenario));
                let names = |v: &[engine::SeriesName]| {
                    v.iter()
                        .map(|n| format!("{}:{}", n.metric, n.entity))
                        .collect::<Vec<_>>()
                };
                map.insert("only_in_base".into(), json!(names(&a.only_in_base)));
                map.insert("only_in_alternative".into(), json!(names(&a.only_in_alt)));
            }
            None => {
                map.insert(
                    "alternatives".into(),
                    json!(
                        r.alts
                            .iter()
                            .map(|a| scenario_json(&a.scenario))
                            .collect::<Vec<_>>()
                    ),
                );
            }
        }
    }
    m
}

fn push_delta(rec: &mut Vec<String>, d: &DeltaStats) {
    rec.extend(d.stats.columns().iter().map(|&x| number(x)));
    rec.push(number(d.p_higher));
    rec.push(number(d.p_lower));
}

/// `deltas_timeseries.csv` of alternative `k`: one row per (month, metric, entity).
fn write_deltas_timeseries(path: &Path, r: &PairedResults, k: usize) -> Result<(), OutputError> {
    let a = &r.alts[k];
    let mut w = csv_file(path)?;
    let mut header = vec!["scenario", "base", "month", "metric", "entity"];
    header.extend(STAT_COLUMNS);
    header.extend(PROBABILITY_COLUMNS);
    w.write_record(&header).map_err(csv_error(path))?;
    let mut rec: Vec<String> = Vec::with_capacity(header.len());
    for t in 0..r.base.months {
        let month = r.base.month_label(t);
        for (s, name) in a.monthly_names.iter().enumerate() {
            rec.clear();
            rec.extend([
                a.scenario.name.clone(),
                r.base.name.clone(),
                month.clone(),
                name.metric.to_string(),
                name.entity.clone(),
            ]);
            push_delta(&mut rec, a.month_stats(s, t));
            w.write_record(&rec).map_err(csv_error(path))?;
        }
    }
    w.flush().map_err(|e| OutputError::io(path, e))
}

/// `deltas_summary.csv` of the alternatives `alts`: one row per horizon (metric, entity).
fn write_deltas_summary(path: &Path, r: &PairedResults, alts: &[usize]) -> Result<(), OutputError> {
    let mut w = csv_file(path)?;
    let mut header = vec!["scenario", "base", "metric", "entity"];
    header.extend(STAT_COLUMNS);
    header.extend(PROBABILITY_COLUMNS);
    w.write_record(&header).map_err(csv_error(path))?;
    let mut rec: Vec<String> = Vec::with_capacity(header.len());
    for &k in alts {
        let a = &r.alts[k];
        for (h, name) in a.horizon_names.iter().enumerate() {
            rec.clear();
            rec.extend([
                a.scenario.name.clone(),
                r.base.name.clone(),
                name.metric.to_string(),
                name.entity.clone(),
            ]);
            push_delta(&mut rec, &a.horizon[h]);
            w.write_record(&rec).map_err(csv_error(path))?;
        }
    }
    w.flush().map_err(|e| OutputError::io(path, e))
}

/// `deltas_trials.csv` of alternative `k`: per trial, every horizon difference.
fn write_deltas_trials(path: &Path, r: &PairedResults, k: usize) -> Result<(), OutputError> {
    let a = &r.alts[k];
    let mut w = csv_file(path)?;
    let mut header = vec!["trial".to_string()];
    header.extend(
        a.horizon_names
            .iter()
            .map(|n| format!("{}:{}", n.metric, n.entity)),
    );
    w.write_record(&header).map_err(csv_error(path))?;
    output::write_trial_rows(path, w, r.trials as usize, |trial, text| {
        // Writing into a String cannot fail.
        let _ = write!(text, "{trial}");
        for &x in r.trial_deltas(k, trial) {
            let _ = write!(text, ",{}", x + 0.0);
        }
    })
}

/// Redraws a comparison folder's charts (the folder itself or one
/// alternative's); empty when `dir` is neither.
pub fn plot(dir: &Path, formats: &[ChartFormat]) -> Result<Vec<PathBuf>, AppError> {
    let mut written = Vec::new();
    if dir.join("deltas_timeseries.csv").is_file() {
        written.extend(charts::draw_delta_charts(dir, formats)?);
    }
    let subdirs = || -> Result<Vec<PathBuf>, AppError> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|e| OutputError::io(dir, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.join("deltas_timeseries.csv").is_file())
            .collect();
        v.sort();
        Ok(v)
    };
    if dir.join("deltas_summary.csv").is_file() && !dir.join("deltas_timeseries.csv").is_file() {
        written.extend(charts::draw_horizon_deltas_chart(dir, formats)?);
        for d in subdirs()? {
            written.extend(charts::draw_delta_charts(&d, formats)?);
        }
    }
    Ok(written)
}
