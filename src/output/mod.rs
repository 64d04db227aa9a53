//! Results files: `timeseries.csv`, `summary.csv`, `trials.csv`,
//! `manifest.json` per scenario, and `comparison.csv` across scenarios.
//!
//! A scenario's folder is staged beside its final place and renamed over it
//! only when complete ([`StagedDir::commit`]), so a reader never sees half a
//! result and a failed run leaves the previous one intact.

mod manifest;
mod staged;
mod tables;

pub use manifest::{RunInfo, manifest_json, timestamp_utc};
pub(crate) use staged::sweep_abandoned;
pub use staged::{StagedDir, write_file_atomic};
pub(crate) use tables::{number, write_trial_rows};
pub use tables::{write_comparison_csv, write_summary_csv, write_timeseries_csv, write_trials_csv};

use crate::engine::ScenarioResults;
use std::path::{Path, PathBuf};

/// Why results could not be written.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// A file or folder could not be written.
    #[error("cannot write {path}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The output folder is unusable.
    #[error("output folder {path} is not usable: {reason}")]
    BadOutputDir {
        /// The path.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A CSV record could not be written.
    #[error("cannot write CSV {path}")]
    Csv {
        /// The path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: csv::Error,
    },
}

impl OutputError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        OutputError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Checks that `out` is a folder (created if missing) that can be written.
pub fn prepare_output_dir(out: &Path) -> Result<(), OutputError> {
    if out.exists() && !out.is_dir() {
        return Err(OutputError::BadOutputDir {
            path: out.to_path_buf(),
            reason: "it is a file, not a folder".into(),
        });
    }
    std::fs::create_dir_all(out).map_err(|e| OutputError::BadOutputDir {
        path: out.to_path_buf(),
        reason: format!("cannot create it ({e})"),
    })?;
    let probe = out.join(format!(".tradeflow-write-test-{}", std::process::id()));
    std::fs::write(&probe, b"").map_err(|e| OutputError::BadOutputDir {
        path: out.to_path_buf(),
        reason: format!("cannot write in it ({e})"),
    })?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

/// Stages a scenario's folder `out/<name>` with its CSV files and manifest.
/// Charts may be added to the staged folder before it is committed.
pub fn stage_scenario_results(
    out: &Path,
    results: &ScenarioResults,
    info: &RunInfo,
) -> Result<StagedDir, OutputError> {
    let staged = StagedDir::new(&out.join(&results.scenario.name))?;
    let dir = staged.path();
    write_timeseries_csv(&dir.join("timeseries.csv"), results)?;
    write_summary_csv(&dir.join("summary.csv"), results)?;
    write_trials_csv(&dir.join("trials.csv"), results)?;
    let manifest = manifest_json(results, info);
    let text = serde_json::to_string_pretty(&manifest).unwrap_or_else(|_| "{}".into());
    let path = dir.join("manifest.json");
    std::fs::write(&path, text + "\n").map_err(|e| OutputError::io(&path, e))?;
    Ok(staged)
}
