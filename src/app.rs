//! The commands, as library functions: `run`, `check`, `plot`. The binary
//! only parses the command line, calls these and maps errors to exit statuses.

use crate::charts::{self, ChartError, ChartFormat};
use crate::engine::{self, EngineError, ProgressBar, RunSettings};
use crate::output::{self, OutputError, RunInfo};
use crate::scenario::{ComposedScenario, Override, Scenario, ScenarioError};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Instant, SystemTime};

/// Why a command failed; [`AppError::exit_status`] gives the process's status.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// A scenario file is missing, unreadable or invalid.
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    /// The request itself is inconsistent (e.g. two scenarios with one name).
    #[error("{0}")]
    Usage(String),
    /// Results could not be written.
    #[error(transparent)]
    Output(#[from] OutputError),
    /// The simulation failed.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// A chart could not be drawn.
    #[error(transparent)]
    Chart(#[from] ChartError),
    /// A what-if request is inconsistent (bad metric, bad grid, ...).
    #[error(transparent)]
    WhatIf(#[from] crate::whatif::WhatIfError),
    /// The thread pool could not be built.
    #[error("cannot start {threads} worker threads: {reason}")]
    Threads {
        /// Requested threads.
        threads: usize,
        /// Why.
        reason: String,
    },
}

impl AppError {
    /// 2 for bad input (nothing was written), 130 for an interruption, else 1.
    pub fn exit_status(&self) -> i32 {
        match self {
            AppError::Scenario(_) | AppError::Usage(_) | AppError::WhatIf(_) => 2,
            AppError::Output(OutputError::BadOutputDir { .. }) => 2,
            AppError::Engine(EngineError::Interrupted) => 130,
            _ => 1,
        }
    }
}

/// Options of `tradeflow run`.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Scenario files; empty runs the built-in baseline.
    pub scenarios: Vec<PathBuf>,
    /// Trials per scenario (overrides the files).
    pub trials: Option<u64>,
    /// Seed (overrides the files).
    pub seed: Option<u64>,
    /// Worker threads (default: all cores).
    pub threads: Option<usize>,
    /// Results folder.
    pub out: PathBuf,
    /// Chart formats to draw (empty: none).
    pub charts: Vec<ChartFormat>,
    /// No progress bar.
    pub quiet: bool,
    /// Memory budget for per-month values, MiB.
    pub memory_mib: Option<usize>,
    /// The command line, for the manifest.
    pub command: Vec<String>,
    /// `--set PATH=VALUE` overrides, applied in order to every scenario after
    /// its `extends` composition (recorded in each manifest).
    pub overrides: Vec<Override>,
}

/// What `run` wrote.
#[derive(Debug, Clone)]
pub struct RunReport {
    /// Each scenario's results folder.
    pub folders: Vec<PathBuf>,
    /// `comparison.csv`, when several scenarios ran.
    pub comparison: Option<PathBuf>,
    /// One line per scenario for the terminal.
    pub lines: Vec<String>,
}

/// Parses `--set` arguments, reporting every bad one.
pub fn parse_overrides(args: &[String]) -> Result<Vec<Override>, AppError> {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for a in args {
        match Override::parse(a) {
            Ok(o) => out.push(o),
            Err(e) => errors.push(e),
        }
    }
    one_error(errors)?;
    Ok(out)
}

/// Reads scenario files (or the built-in baseline when `paths` is empty) and
/// their `extends` chains, reporting the problems of every file; each result
/// resolves with any overrides at little cost (a sweep resolves one many times).
pub fn compose_scenarios(paths: &[PathBuf]) -> Result<Vec<ComposedScenario>, AppError> {
    if paths.is_empty() {
        return Ok(vec![ComposedScenario::builtin_baseline()?]);
    }
    let mut out = Vec::new();
    let mut errors: Vec<ScenarioError> = Vec::new();
    for p in paths {
        match ComposedScenario::load(p) {
            Ok(c) => out.push(c),
            Err(e) => errors.push(e),
        }
    }
    one_error(errors)?;
    Ok(out)
}

/// No error, one, or several reported together.
fn one_error(mut errors: Vec<ScenarioError>) -> Result<(), AppError> {
    match errors.len() {
        0 => Ok(()),
        1 => Err(errors.remove(0).into()),
        _ => Err(ScenarioError::Several(errors).into()),
    }
}

/// Loads scenario files (or the built-in baseline when `paths` is empty),
/// reporting the problems of every file.
pub fn load_scenarios(paths: &[PathBuf]) -> Result<Vec<Scenario>, AppError> {
    load_scenarios_with(paths, &[])
}

/// Loads scenario files (or the built-in baseline when `paths` is empty),
/// composes their `extends` chains and applies `overrides` to each,
/// reporting the problems of every file.
pub fn load_scenarios_with(
    paths: &[PathBuf],
    overrides: &[Override],
) -> Result<Vec<Scenario>, AppError> {
    let composed = compose_scenarios(paths)?;
    let mut out = Vec::new();
    let mut errors: Vec<ScenarioError> = Vec::new();
    for c in &composed {
        match c.resolve_with(overrides) {
            Ok(s) => out.push(s),
            Err(e) => errors.push(e),
        }
    }
    one_error(errors)?;
    let mut seen: Vec<(&str, &str)> = Vec::new();
    for s in &out {
        if let Some((_, file)) = seen.iter().find(|(n, _)| *n == s.name) {
            return Err(AppError::Usage(format!(
                "two scenarios are named \"{}\" ({} and {}): their results would share a folder; rename one",
                s.name, file, s.source_file
            )));
        }
        seen.push((&s.name, &s.source_file));
    }
    Ok(out)
}

/// `tradeflow check`: the resolved description of every file.
pub fn check(paths: &[PathBuf]) -> Result<String, AppError> {
    check_with(paths, &[])
}

/// `tradeflow check --set ...`: the resolved description of every file with
/// the overrides applied.
pub fn check_with(paths: &[PathBuf], overrides: &[Override]) -> Result<String, AppError> {
    let scenarios = load_scenarios_with(paths, overrides)?;
    Ok(scenarios
        .iter()
        .map(crate::check::describe)
        .collect::<Vec<_>>()
        .join("\n"))
}

/// `n noun`, the noun plural unless `n` is 1 (`1 trial`, `2 trials`).
pub(crate) fn count(n: impl std::fmt::Display, noun: &str) -> String {
    let n = n.to_string();
    let s = if n == "1" { "" } else { "s" };
    format!("{n} {noun}{s}")
}

/// `tradeflow plot DIR`: redraws a results folder's charts (or, for a folder
/// of several results with `comparison.csv`, the comparison and every
/// scenario folder's charts).
pub fn plot(dir: &Path, formats: &[ChartFormat]) -> Result<Vec<PathBuf>, AppError> {
    if !dir.exists() {
        return Err(AppError::Usage(format!("{} does not exist", dir.display())));
    }
    if !dir.is_dir() {
        return Err(AppError::Usage(format!(
            "{} is not a results folder",
            dir.display()
        )));
    }
    let mut written = Vec::new();
    if dir.join("timeseries.csv").is_file() {
        written.extend(charts::draw_scenario_charts(dir, formats)?);
    }
    if dir.join("comparison.csv").is_file() {
        written.extend(charts::draw_comparison_chart(dir, formats)?);
        let mut subdirs: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|e| OutputError::io(dir, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.join("timeseries.csv").is_file())
            .collect();
        subdirs.sort();
        for d in subdirs {
            written.extend(charts::draw_scenario_charts(&d, formats)?);
        }
    }
    // Folders of compare, sweep and sensitivity.
    written.extend(crate::whatif::plot(dir, formats)?);
    if written.is_empty() && !formats.is_empty() {
        return Err(AppError::Usage(format!(
            "{} holds neither timeseries.csv nor comparison.csv: not a results folder",
            dir.display()
        )));
    }
    Ok(written)
}

/// `tradeflow run`: simulate, write results and charts.
///
/// Setting `stop` (the signal handlers of [`crate::interrupt`] do) stops the
/// run with [`EngineError::Interrupted`] at the next block of trials, or
/// before results are committed: previous results are then left as they were.
pub fn run(opts: &RunOptions, stop: &AtomicBool) -> Result<RunReport, AppError> {
    let scenarios = load_scenarios_with(&opts.scenarios, &opts.overrides)?;
    leave_no_folder(&opts.out, || {
        output::prepare_output_dir(&opts.out)?;
        run_loaded(&scenarios, opts, stop)
    })
}

/// A note when `out` holds a `comparison.csv` of an earlier run that
/// included scenario `name`, whose folder a single-scenario run has just
/// replaced: the comparison may no longer match it. The file is the user's
/// to keep or remove, so it is named rather than deleted.
fn stale_comparison_note(out: &Path, name: &str) -> Option<String> {
    let path = out.join("comparison.csv");
    let mut reader = csv::Reader::from_path(&path).ok()?;
    let lists_it = reader
        .records()
        .any(|r| r.is_ok_and(|r| r.get(0) == Some(name)));
    lists_it.then(|| {
        format!(
            "note: {} is from an earlier run of several scenarios and may no longer match {}; \
             run the scenarios together again to refresh it",
            path.display(),
            out.join(name).display()
        )
    })
}

/// Runs `f`, a command that writes into the folder `out`: when it fails (an
/// interruption included) it leaves nothing behind, not even the folder it
/// made (`remove_dir` removes only an empty folder; results are staged and
/// removed by their own `Drop`).
pub(crate) fn leave_no_folder<T>(
    out: &Path,
    f: impl FnOnce() -> Result<T, AppError>,
) -> Result<T, AppError> {
    let existed = out.exists();
    let result = f();
    if result.is_err() && !existed {
        let _ = std::fs::remove_dir(out);
    }
    result
}

/// Fails with [`EngineError::Interrupted`] once `stop` is set.
pub(crate) fn check_stop(stop: &AtomicBool) -> Result<(), AppError> {
    if stop.load(Ordering::SeqCst) {
        Err(EngineError::Interrupted.into())
    } else {
        Ok(())
    }
}

fn run_loaded(
    scenarios: &[Scenario],
    opts: &RunOptions,
    stop: &AtomicBool,
) -> Result<RunReport, AppError> {
    let threads = opts
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| AppError::Threads {
            threads,
            reason: e.to_string(),
        })?;
    let settings = RunSettings {
        trials: opts.trials,
        seed: opts.seed,
        memory_budget_bytes: opts
            .memory_mib
            .map_or(engine::DEFAULT_MEMORY_BUDGET_BYTES, |m| m << 20),
    };
    let started = SystemTime::now();
    let clock = Instant::now();
    let bar = ProgressBar::new(opts.quiet);
    let results = pool.install(|| engine::run_scenarios(scenarios, &settings, &bar, stop));
    bar.finish();
    let results = results?;
    check_stop(stop)?;
    let info = RunInfo {
        threads,
        start_time: output::timestamp_utc(started),
        end_time: output::timestamp_utc(SystemTime::now()),
        wall_seconds: clock.elapsed().as_secs_f64(),
        command: opts.command.clone(),
    };
    // Stage every folder (with charts) before committing any.
    let mut staged = Vec::new();
    for r in &results {
        let dir = output::stage_scenario_results(&opts.out, r, &info)?;
        check_stop(stop)?;
        if !opts.charts.is_empty() {
            charts::draw_scenario_charts(dir.path(), &opts.charts)?;
        }
        check_stop(stop)?;
        staged.push(dir);
    }
    let mut folders = Vec::new();
    for dir in staged {
        folders.push(dir.commit()?);
    }
    let comparison = if results.len() > 1 {
        let path = opts.out.join("comparison.csv");
        output::write_comparison_csv(&path, &results)?;
        if !opts.charts.is_empty() {
            charts::draw_comparison_chart(&opts.out, &opts.charts)?;
        }
        Some(path)
    } else {
        None
    };
    let mut lines: Vec<String> = results
        .iter()
        .zip(&folders)
        .map(|(r, f)| {
            format!(
                "{}: {} × {} → {}",
                r.scenario.name,
                count(r.trials, "trial"),
                count(r.scenario.months, "month"),
                f.display()
            )
        })
        .collect();
    if let [only] = results.as_slice() {
        lines.extend(stale_comparison_note(&opts.out, &only.scenario.name));
    }
    Ok(RunReport {
        folders,
        comparison,
        lines,
    })
}
