//! The CSV files. Numbers are written in Rust's shortest round-trip form, so
//! a reader gets back the exact `f64`.

use super::OutputError;
use crate::engine::{STAT_COLUMNS, ScenarioResults, Stats};
use rayon::prelude::*;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

fn csv_writer(path: &Path) -> Result<csv::Writer<std::io::BufWriter<std::fs::File>>, OutputError> {
    let file = std::fs::File::create(path).map_err(|e| OutputError::io(path, e))?;
    Ok(csv::Writer::from_writer(std::io::BufWriter::new(file)))
}

fn csv_err(path: &Path) -> impl Fn(csv::Error) -> OutputError + '_ {
    move |source| OutputError::Csv {
        path: path.to_path_buf(),
        source,
    }
}

fn finish(
    mut w: csv::Writer<std::io::BufWriter<std::fs::File>>,
    path: &Path,
) -> Result<(), OutputError> {
    w.flush().map_err(|e| OutputError::io(path, e))?;
    Ok(())
}

/// Shortest round-trip text of a number, with −0 written as 0.
pub(crate) fn number(x: f64) -> String {
    (x + 0.0).to_string()
}

fn push_stats(record: &mut Vec<String>, s: &Stats) {
    for x in s.columns() {
        record.push(number(x));
    }
}

/// `timeseries.csv`: one row per (month, metric, entity).
pub fn write_timeseries_csv(path: &Path, r: &ScenarioResults) -> Result<(), OutputError> {
    let mut w = csv_writer(path)?;
    let mut header = vec!["scenario", "month", "metric", "entity"];
    header.extend(STAT_COLUMNS);
    w.write_record(&header).map_err(csv_err(path))?;
    let mut rec: Vec<String> = Vec::with_capacity(11);
    for t in 0..r.scenario.months {
        let month = r.scenario.month_label(t);
        for (s, name) in r.layout.monthly.iter().enumerate() {
            rec.clear();
            rec.extend([
                r.scenario.name.clone(),
                month.clone(),
                name.metric.to_string(),
                name.entity.clone(),
            ]);
            push_stats(&mut rec, r.month_stats(s, t));
            w.write_record(&rec).map_err(csv_err(path))?;
        }
    }
    finish(w, path)
}

/// `summary.csv`: one row per horizon (metric, entity).
pub fn write_summary_csv(path: &Path, r: &ScenarioResults) -> Result<(), OutputError> {
    let mut w = csv_writer(path)?;
    let mut header = vec!["scenario", "metric", "entity"];
    header.extend(STAT_COLUMNS);
    w.write_record(&header).map_err(csv_err(path))?;
    let mut rec: Vec<String> = Vec::with_capacity(10);
    for (h, name) in r.layout.horizon.iter().enumerate() {
        rec.clear();
        rec.extend([
            r.scenario.name.clone(),
            name.metric.to_string(),
            name.entity.clone(),
        ]);
        push_stats(&mut rec, &r.horizon[h]);
        w.write_record(&rec).map_err(csv_err(path))?;
    }
    finish(w, path)
}

/// `trials.csv`: one row per trial: drawn inputs, shock months, horizon metrics.
pub fn write_trials_csv(path: &Path, r: &ScenarioResults) -> Result<(), OutputError> {
    let mut w = csv_writer(path)?;
    let n_cols = r.table_columns.len();
    let mut header = vec!["trial".to_string()];
    header.extend(r.table_columns.iter().cloned());
    w.write_record(&header).map_err(csv_err(path))?;
    let shocks = {
        let start = n_cols - r.layout.horizon.len() - r.scenario.shocks.len();
        start..start + r.scenario.shocks.len()
    };
    write_trial_rows(path, w, r.trials as usize, |trial, text| {
        // Writing into a String cannot fail.
        let _ = write!(text, "{trial}");
        for (c, &x) in r.table[trial * n_cols..(trial + 1) * n_cols]
            .iter()
            .enumerate()
        {
            let _ = if shocks.contains(&c) {
                write!(text, ",{}", x as i64)
            } else {
                write!(text, ",{}", x + 0.0)
            };
        }
    })
}

/// Writes rows `0..trials` after the header already in `w`, each row's
/// text (without its line end) made by `row`. The rows must need no quoting
/// (numbers only): they are formatted in parallel, a batch of trials at a
/// time (bounded memory), each task into one buffer, and written in order.
pub(crate) fn write_trial_rows(
    path: &Path,
    w: csv::Writer<std::io::BufWriter<std::fs::File>>,
    trials: usize,
    row: impl Fn(usize, &mut String) + Sync,
) -> Result<(), OutputError> {
    let mut file = w
        .into_inner()
        .map_err(|e| OutputError::io(path, e.into_error()))?;
    let format_rows = |rows: std::ops::Range<usize>| {
        let mut text = String::new();
        for trial in rows {
            row(trial, &mut text);
            text.push('\n');
        }
        text
    };
    for batch in (0..trials).step_by(TRIAL_ROWS_PER_BATCH) {
        let end = (batch + TRIAL_ROWS_PER_BATCH).min(trials);
        let texts: Vec<String> = (0..(end - batch).div_ceil(TRIAL_ROWS_PER_TASK))
            .into_par_iter()
            .map(|task| {
                let first = batch + task * TRIAL_ROWS_PER_TASK;
                format_rows(first..(first + TRIAL_ROWS_PER_TASK).min(end))
            })
            .collect();
        for text in &texts {
            file.write_all(text.as_bytes())
                .map_err(|e| OutputError::io(path, e))?;
        }
    }
    file.flush().map_err(|e| OutputError::io(path, e))
}

/// Rows formatted by one task of [`write_trial_rows`].
const TRIAL_ROWS_PER_TASK: usize = 256;

/// Rows formatted before they are written: for `trials.csv`, about 10 MB of
/// text for the baseline, whatever the number of trials.
const TRIAL_ROWS_PER_BATCH: usize = 16 * TRIAL_ROWS_PER_TASK;

/// `comparison.csv`: one row per (scenario, horizon metric, entity).
pub fn write_comparison_csv(path: &Path, all: &[ScenarioResults]) -> Result<(), OutputError> {
    let mut buf: Vec<u8> = Vec::new();
    {
        let mut w = csv::Writer::from_writer(&mut buf);
        let mut header = vec!["scenario", "metric", "entity"];
        header.extend(STAT_COLUMNS);
        w.write_record(&header).map_err(csv_err(path))?;
        for r in all {
            let mut rec: Vec<String> = Vec::with_capacity(10);
            for (h, name) in r.layout.horizon.iter().enumerate() {
                rec.clear();
                rec.extend([
                    r.scenario.name.clone(),
                    name.metric.to_string(),
                    name.entity.clone(),
                ]);
                push_stats(&mut rec, &r.horizon[h]);
                w.write_record(&rec).map_err(csv_err(path))?;
            }
        }
        w.flush().map_err(|e| OutputError::io(path, e))?;
    }
    super::write_file_atomic(path, |w| w.write_all(&buf))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{NoProgress, RunSettings, run_scenario};
    use crate::scenario::{BUILTIN_BASELINE, parse_scenario};
    use std::sync::atomic::AtomicBool;

    /// `trials.csv` is byte for byte what the csv crate writes for the
    /// header and the fields `trial`, `number(x)` (shock months as integers),
    /// across more than one batch and with awkward values.
    #[test]
    fn trials_csv_is_the_csv_crates_text() {
        let sc = parse_scenario(BUILTIN_BASELINE, "baseline.toml").expect("the baseline parses");
        let settings = RunSettings {
            trials: Some((TRIAL_ROWS_PER_BATCH + 37) as u64),
            ..RunSettings::default()
        };
        let mut r = run_scenario(&sc, &settings, &NoProgress, &AtomicBool::new(false))
            .expect("the baseline runs");
        let n_cols = r.table_columns.len();
        let awkward = [
            -0.0,
            1e300,
            -1e-300,
            0.1 + 0.2,
            123456789.0,
            f64::MIN_POSITIVE,
        ];
        for (i, &x) in awkward.iter().enumerate() {
            let last = r.table.len() - 1 - i * (n_cols + 1);
            r.table[last] = x;
        }
        let dir = std::env::temp_dir().join(format!("tradeflow-trials-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temporary folder");
        let path = dir.join("trials.csv");
        write_trials_csv(&path, &r).expect("written");
        let got = std::fs::read(&path).expect("read back");
        let _ = std::fs::remove_dir_all(&dir);

        let mut want = csv::Writer::from_writer(Vec::new());
        let mut header = vec!["trial".to_string()];
        header.extend(r.table_columns.iter().cloned());
        want.write_record(&header).expect("header");
        let shock_start = n_cols - r.layout.horizon.len() - sc.shocks.len();
        for trial in 0..r.trials as usize {
            let mut rec = vec![trial.to_string()];
            for (c, &x) in r.table[trial * n_cols..(trial + 1) * n_cols]
                .iter()
                .enumerate()
            {
                rec.push(
                    if (shock_start..shock_start + sc.shocks.len()).contains(&c) {
                        (x as i64).to_string()
                    } else {
                        number(x)
                    },
                );
            }
            want.write_record(&rec).expect("row");
        }
        let want = want.into_inner().expect("flushed");
        assert!(got.len() > 1_000_000);
        assert!(got == want, "trials.csv differs from the csv crate's text");
    }
}
