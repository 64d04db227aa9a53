//! `manifest.json`: what was run, with what, when.

use crate::engine::ScenarioResults;
use crate::sampling::Distribution;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::time::{SystemTime, UNIX_EPOCH};

/// Facts about the run that are not in the results.
#[derive(Debug, Clone)]
pub struct RunInfo {
    /// Worker threads.
    pub threads: usize,
    /// Start, RFC 3339 UTC.
    pub start_time: String,
    /// End, RFC 3339 UTC.
    pub end_time: String,
    /// Wall-clock seconds.
    pub wall_seconds: f64,
    /// The command line, for the record.
    pub command: Vec<String>,
}

/// `YYYY-MM-DDTHH:MM:SSZ` of a system time.
pub fn timestamp_utc(t: SystemTime) -> String {
    let secs = t
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The manifest of one scenario's results.
pub fn manifest_json(r: &ScenarioResults, info: &RunInfo) -> Value {
    let sc = &r.scenario;
    let sha_hex = sha256_hex(&sc.source_text);
    let extends: Vec<Value> = sc
        .provenance
        .extends
        .iter()
        .map(|f| json!({ "file": f.file, "sha256": sha256_hex(&f.text) }))
        .collect();
    let inputs: Vec<Value> = sc
        .inputs
        .iter()
        .map(|i| {
            json!({
                "path": i.path,
                "distribution": i.distribution.to_string(),
                "drawn": !matches!(i.distribution, Distribution::Constant(_)),
                "mean": i.distribution.mean(),
            })
        })
        .collect();
    json!({
        "engine": { "name": "tradeflow", "version": env!("CARGO_PKG_VERSION") },
        "scenario": {
            "name": sc.name,
            "title": sc.title,
            "description": sc.description,
            "file": sc.source_file,
            "sha256": sha_hex,
            "extends": extends,
            "start": sc.start.to_string(),
            "months": sc.months,
            "market": sc.market_name,
        },
        "seed": r.seed,
        "trials": r.trials,
        "threads": info.threads,
        "passes": r.passes,
        "start_time": info.start_time,
        "end_time": info.end_time,
        "wall_seconds": info.wall_seconds,
        "command": info.command,
        "overrides": sc.provenance.overrides,
        "inputs": inputs,
        "shocks": sc.shocks.iter().map(|s| s.name.clone()).collect::<Vec<_>>(),
        "files": ["timeseries.csv", "summary.csv", "trials.csv", "manifest.json"],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn timestamps_are_civil_utc() {
        assert_eq!(timestamp_utc(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        // 2026-01-21T12:34:56Z = 1769000096 s.
        assert_eq!(
            timestamp_utc(UNIX_EPOCH + Duration::from_secs(1_768_998_896)),
            "2026-01-21T12:34:56Z"
        );
        assert_eq!(
            timestamp_utc(UNIX_EPOCH + Duration::from_secs(951_782_400)),
            "2000-02-29T00:00:00Z"
        );
    }
}
