//! The CSV files. Numbers are written in Rust's shortest round-trip form, so
//! a reader gets back the exact `f64`.

use super::OutputError;
use crate::engine::{STAT_COLUMNS, ScenarioResults, Stats};
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
    let shock_cols = r.scenario.shocks.len();
    let shock_start = n_cols - r.layout.horizon.len() - shock_cols;
    let mut rec: Vec<String> = Vec::with_capacity(n_cols + 1);
    for trial in 0..r.trials as usize {
        rec.clear();
        rec.push(trial.to_string());
        for (c, x) in r.table[trial * n_cols..(trial + 1) * n_cols]
            .iter()
            .enumerate()
        {
            if (shock_start..shock_start + shock_cols).contains(&c) {
                rec.push((*x as i64).to_string());
            } else {
                rec.push(number(*x));
            }
        }
        w.write_record(&rec).map_err(csv_err(path))?;
    }
    finish(w, path)
}

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
