//! What-if analyses on top of the engine, as library functions behind the
//! commands `compare` (paired differences of alternatives against a base),
//! `sweep` (a grid of scenario variants) and `sensitivity` (which uncertain
//! inputs drive an outcome).
//!
//! Each command writes one results folder, staged and renamed into place when
//! complete, with a `manifest.json` listing its files and their SHA-256.

pub mod compare;
pub mod sensitivity;
pub mod sweep;

use crate::app::AppError;
use crate::charts::ChartFormat;
use crate::engine::{HorizonMismatch, SeriesName};
use crate::output::OutputError;
use crate::scenario::{self, Override, Scenario, ScenarioError, nearest};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::fmt;
use std::path::{Path, PathBuf};

/// Bad requests to the what-if commands: each means exit status 2, nothing written.
#[derive(Debug, thiserror::Error)]
pub enum WhatIfError {
    /// `--metric` is not `METRIC:ENTITY`.
    #[error("--metric {given:?}: expected METRIC:ENTITY, for example total_revenue_usd:Nvidia")]
    MetricSyntax {
        /// What was given.
        given: String,
    },
    /// The metric is not one the scenario reports.
    #[error(
        "--metric {given}: no {kind} metric `{metric}`{}; {kind} metrics: {valid}",
        did_you_mean(.suggestion)
    )]
    UnknownMetric {
        /// What was given.
        given: String,
        /// `horizon` or `monthly`.
        kind: &'static str,
        /// The metric part.
        metric: String,
        /// The nearest valid metric.
        suggestion: Option<String>,
        /// Every valid metric, comma-separated.
        valid: String,
    },
    /// The metric exists but not for that entity.
    #[error(
        "--metric {given}: metric `{metric}` has no entity `{entity}`{}; its entities: {valid}",
        did_you_mean(.suggestion)
    )]
    UnknownEntity {
        /// What was given.
        given: String,
        /// The metric part.
        metric: String,
        /// The entity part.
        entity: String,
        /// The nearest valid entity.
        suggestion: Option<String>,
        /// The metric's entities, comma-separated.
        valid: String,
    },
    /// A monthly metric was asked for without a month.
    #[error(
        "--metric {given}: `{metric}` is reported per month; add --month YYYY-MM, or use a \
         horizon metric ({horizon})"
    )]
    MonthNeeded {
        /// What was given.
        given: String,
        /// The metric part.
        metric: String,
        /// Horizon metrics with a similar meaning, or all of them.
        horizon: String,
    },
    /// `--month` is malformed or outside the horizon.
    #[error("--month {given}: {reason}")]
    BadMonth {
        /// What was given.
        given: String,
        /// Why it is unusable.
        reason: String,
    },
    /// A `--vary` argument is malformed.
    #[error("--vary {given:?}: {reason}")]
    BadVary {
        /// What was given.
        given: String,
        /// What is wrong, and what was expected.
        reason: String,
    },
    /// Alternatives must cover the base's months.
    #[error(transparent)]
    Horizon(#[from] HorizonMismatch),
    /// Two alternatives would share a folder.
    #[error(
        "two alternatives are named \"{name}\" ({first} and {second}): their results would share \
         a folder; rename one"
    )]
    DuplicateAlternative {
        /// The shared name.
        name: String,
        /// One file.
        first: String,
        /// The other file.
        second: String,
    },
    /// Nothing varies, so there is nothing to attribute.
    #[error("scenario \"{scenario}\" has no uncertain input: there is nothing to rank")]
    NoUncertainInputs {
        /// The scenario's name.
        scenario: String,
    },
    /// The outcome took one value in every trial.
    #[error(
        "{metric} is {value} in every one of the {trials} trials: no input changes it, so there \
         is nothing to rank; choose another metric or entity"
    )]
    ConstantMetric {
        /// `METRIC:ENTITY` (and month).
        metric: String,
        /// Its only value.
        value: String,
        /// Trials run.
        trials: u64,
    },
}

fn did_you_mean(s: &Option<String>) -> String {
    s.as_ref()
        .map(|s| format!(" (did you mean `{s}`?)"))
        .unwrap_or_default()
}

/// A `METRIC:ENTITY` pair as written on the command line, e.g.
/// `total_revenue_usd:Nvidia` (the column names of `trials.csv`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricSpec {
    /// Metric name.
    pub metric: String,
    /// Entity name.
    pub entity: String,
}

impl MetricSpec {
    /// Parses `METRIC:ENTITY`.
    pub fn parse(s: &str) -> Result<Self, WhatIfError> {
        match s.trim().split_once(':') {
            Some((m, e)) if !m.trim().is_empty() && !e.trim().is_empty() => Ok(MetricSpec {
                metric: m.trim().to_string(),
                entity: e.trim().to_string(),
            }),
            _ => Err(WhatIfError::MetricSyntax {
                given: s.to_string(),
            }),
        }
    }

    /// Index of this series in `names`, or why it is not there (with the
    /// nearest valid name). `kind` is `horizon` or `monthly`.
    pub fn find(&self, names: &[SeriesName], kind: &'static str) -> Result<usize, WhatIfError> {
        if let Some(i) = names
            .iter()
            .position(|n| n.metric == self.metric && n.entity == self.entity)
        {
            return Ok(i);
        }
        let mut metrics: Vec<&str> = Vec::new();
        for n in names {
            if !metrics.contains(&n.metric) {
                metrics.push(n.metric);
            }
        }
        if !metrics.contains(&self.metric.as_str()) {
            return Err(WhatIfError::UnknownMetric {
                given: self.to_string(),
                kind,
                metric: self.metric.clone(),
                suggestion: nearest(&self.metric, metrics.iter().copied()).map(str::to_string),
                valid: metrics.join(", "),
            });
        }
        let entities: Vec<&str> = names
            .iter()
            .filter(|n| n.metric == self.metric)
            .map(|n| n.entity.as_str())
            .collect();
        Err(WhatIfError::UnknownEntity {
            given: self.to_string(),
            metric: self.metric.clone(),
            entity: self.entity.clone(),
            suggestion: nearest(&self.entity, entities.iter().copied()).map(str::to_string),
            valid: entities.join(", "),
        })
    }

    /// A file-name-safe form, `metric-entity`.
    pub fn slug(&self) -> String {
        slug(&format!("{}-{}", self.metric, self.entity))
    }
}

impl fmt::Display for MetricSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.metric, self.entity)
    }
}

/// Letters, digits, `-`, `_` and `.` kept; anything else becomes `_`.
pub(crate) fn slug(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Settings shared by the three commands.
#[derive(Debug, Clone, Default)]
pub struct CommonOptions {
    /// Trials (overrides the files).
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
    /// Memory budget, MiB.
    pub memory_mib: Option<usize>,
    /// The command line, for the manifest.
    pub command: Vec<String>,
    /// `--set PATH=VALUE` overrides, applied in order to every scenario
    /// after its `extends` composition.
    pub set: Vec<String>,
}

impl CommonOptions {
    /// The `--set` overrides, parsed (every bad one reported).
    pub fn overrides(&self) -> Result<Vec<Override>, AppError> {
        crate::app::parse_overrides(&self.set)
    }

    pub(crate) fn memory_budget_bytes(&self) -> usize {
        self.memory_mib
            .map_or(crate::engine::DEFAULT_MEMORY_BUDGET_BYTES, |m| m << 20)
    }
}

/// A rayon pool of `threads` workers (default: all cores), and its size.
pub(crate) fn thread_pool(threads: Option<usize>) -> Result<(rayon::ThreadPool, usize), AppError> {
    let threads =
        threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| AppError::Threads {
            threads,
            reason: e.to_string(),
        })?;
    Ok((pool, threads))
}

/// Loads scenario files (composing `extends`, then applying `overrides`),
/// reporting the problems of every file at once. Unlike `run`, two files may
/// share a name (a scenario compared with itself).
pub(crate) fn load_files(
    paths: &[PathBuf],
    overrides: &[Override],
) -> Result<Vec<Scenario>, AppError> {
    let mut out = Vec::new();
    let mut errors: Vec<ScenarioError> = Vec::new();
    for p in paths {
        match scenario::load_scenario_with(p, overrides) {
            Ok(s) => out.push(s),
            Err(e) => errors.push(e),
        }
    }
    match errors.len() {
        0 => Ok(out),
        1 => Err(errors.remove(0).into()),
        _ => Err(ScenarioError::Several(errors).into()),
    }
}

/// The `scenario` object of a manifest.
pub(crate) fn scenario_json(sc: &Scenario) -> Value {
    json!({
        "name": sc.name,
        "title": sc.title,
        "file": sc.source_file,
        "sha256": sha256_hex(sc.source_text.as_bytes()),
        "extends": sc
            .provenance
            .extends
            .iter()
            .map(|f| json!({ "file": f.file, "sha256": sha256_hex(f.text.as_bytes()) }))
            .collect::<Vec<_>>(),
        "overrides": sc.provenance.overrides,
        "start": sc.start.to_string(),
        "months": sc.months,
        "market": sc.market_name,
    })
}

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `[{ "file": NAME, "sha256": HEX }]` for every regular, visible file of
/// `dir` except `manifest.json`, sorted by name.
pub(crate) fn files_json(dir: &Path) -> Result<Value, OutputError> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map_err(|e| OutputError::io(dir, e))?
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.') && n != "manifest.json")
        .collect();
    names.sort();
    let mut files = Vec::new();
    for n in names {
        let path = dir.join(&n);
        let bytes = std::fs::read(&path).map_err(|e| OutputError::io(&path, e))?;
        files.push(json!({ "file": n, "sha256": sha256_hex(&bytes) }));
    }
    Ok(Value::Array(files))
}

/// Writes `value` as pretty JSON with a final newline.
pub(crate) fn write_json(path: &Path, value: &Value) -> Result<(), OutputError> {
    let text = serde_json::to_string_pretty(value).unwrap_or_else(|_| "{}".into());
    std::fs::write(path, text + "\n").map_err(|e| OutputError::io(path, e))
}

/// Writes `manifest.json` in `dir`: `fields`, then the `files` of the folder
/// with their SHA-256.
pub(crate) fn write_manifest(dir: &Path, mut fields: Value) -> Result<(), OutputError> {
    let files = files_json(dir)?;
    if let Value::Object(map) = &mut fields {
        map.insert("files".into(), files);
    }
    write_json(&dir.join("manifest.json"), &fields)
}

/// A CSV writer on a new file.
pub(crate) fn csv_file(
    path: &Path,
) -> Result<csv::Writer<std::io::BufWriter<std::fs::File>>, OutputError> {
    let file = std::fs::File::create(path).map_err(|e| OutputError::io(path, e))?;
    Ok(csv::Writer::from_writer(std::io::BufWriter::new(file)))
}

/// Maps a CSV error on `path`.
pub(crate) fn csv_error(path: &Path) -> impl Fn(csv::Error) -> OutputError + '_ {
    move |source| OutputError::Csv {
        path: path.to_path_buf(),
        source,
    }
}

/// Redraws the charts of a `compare`, `sweep` or `sensitivity` folder from
/// its files; an empty list when `dir` is none of these.
pub fn plot(dir: &Path, formats: &[ChartFormat]) -> Result<Vec<PathBuf>, AppError> {
    let mut written = Vec::new();
    written.extend(compare::plot(dir, formats)?);
    written.extend(sweep::plot(dir, formats)?);
    written.extend(sensitivity::plot(dir, formats)?);
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Vec<SeriesName> {
        let s = |m: &'static str, e: &str| SeriesName {
            metric: m,
            entity: e.to_string(),
        };
        vec![
            s("total_revenue_usd", "Nvidia"),
            s("total_revenue_usd", "Huawei"),
            s("mean_share_compute", "CN"),
        ]
    }

    #[test]
    fn metric_specs_parse_and_resolve_with_suggestions() {
        let m = MetricSpec::parse("total_revenue_usd:Huawei").unwrap();
        assert_eq!(m.find(&names(), "horizon").unwrap(), 1);
        assert_eq!(m.to_string(), "total_revenue_usd:Huawei");
        assert!(matches!(
            MetricSpec::parse("total_revenue_usd"),
            Err(WhatIfError::MetricSyntax { .. })
        ));
        assert!(MetricSpec::parse(":x").is_err());
        let e = MetricSpec::parse("total_revenue:Nvidia")
            .unwrap()
            .find(&names(), "horizon")
            .unwrap_err()
            .to_string();
        assert!(e.contains("did you mean `total_revenue_usd`"), "{e}");
        let e = MetricSpec::parse("total_revenue_usd:Nvdia")
            .unwrap()
            .find(&names(), "horizon")
            .unwrap_err()
            .to_string();
        assert!(e.contains("did you mean `Nvidia`"), "{e}");
        assert!(e.contains("its entities: Nvidia, Huawei"), "{e}");
    }

    #[test]
    fn slugs_are_safe_file_names() {
        assert_eq!(
            slug("share_compute-Moore Threads/x"),
            "share_compute-Moore_Threads_x"
        );
    }
}
