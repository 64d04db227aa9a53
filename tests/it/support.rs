//! Helpers shared by the test modules.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use tradeflow::engine::{NoProgress, RunSettings, ScenarioResults, run_scenario};
use tradeflow::scenario::{Scenario, parse_scenario};

/// The built `tradeflow` binary.
pub fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_tradeflow"))
}

/// Runs the binary with `args` in `dir`.
pub fn run_cli(dir: &Path, args: &[&str]) -> Output {
    Command::new(binary())
        .args(args)
        .current_dir(dir)
        .env_remove("RUST_BACKTRACE")
        .output()
        .expect("binary runs")
}

/// A file under `tests/data`.
pub fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// A file under `scenarios/`.
pub fn shipped(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join(name)
}

/// Parses scenario text, panicking with the rendered problems.
pub fn scenario(text: &str) -> Scenario {
    match parse_scenario(text, "test.toml") {
        Ok(s) => s,
        Err(e) => panic!("scenario does not parse:\n{e}\n---\n{text}"),
    }
}

/// Runs `trials` trials of a scenario in this process.
pub fn simulate(sc: &Scenario, trials: u64) -> ScenarioResults {
    let settings = RunSettings {
        trials: Some(trials),
        ..RunSettings::default()
    };
    run_scenario(
        sc,
        &settings,
        &NoProgress,
        &std::sync::atomic::AtomicBool::new(false),
    )
    .expect("run succeeds")
}

/// Statistics of monthly series (metric, entity) in month `t`.
pub fn month_stat(
    r: &ScenarioResults,
    metric: &str,
    entity: &str,
    t: usize,
) -> tradeflow::engine::Stats {
    let s = r
        .layout
        .monthly
        .iter()
        .position(|n| n.metric == metric && n.entity == entity)
        .unwrap_or_else(|| panic!("no series {metric}:{entity}"));
    *r.month_stats(s, t)
}

/// Statistics of horizon series (metric, entity).
pub fn horizon_stat(r: &ScenarioResults, metric: &str, entity: &str) -> tradeflow::engine::Stats {
    let s = r
        .layout
        .horizon
        .iter()
        .position(|n| n.metric == metric && n.entity == entity)
        .unwrap_or_else(|| panic!("no horizon series {metric}:{entity}"));
    r.horizon[s]
}

/// Asserts `a ≈ b` to a relative tolerance.
#[track_caller]
pub fn assert_close(a: f64, b: f64, rel: f64) {
    assert!(
        (a - b).abs() <= rel * b.abs().max(1e-12),
        "{a} ≠ {b} (rel {rel})"
    );
}
