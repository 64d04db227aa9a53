//! Reading the engine's result files into plain structs.
//!
//! Reading is deliberately lenient about content (rows in any order, blank
//! or unparsable numbers, unknown metrics) because the charts are a view on
//! the results, not their validator; only unreadable files and missing
//! key columns are errors.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs::File;
use std::io::ErrorKind;
use std::path::Path;

use super::ChartError;
use super::style::{MonthIndex, entity_rank, origin_rank, parse_month};

/// The quantiles of one (month, metric, entity) or (scenario, metric, entity)
/// cell. Missing or unparsable values are NaN.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Quantiles {
    /// Mean and sd over the trials (NaN where the file has no such column).
    pub mean: f64,
    pub sd: f64,
    pub p5: f64,
    pub p25: f64,
    pub p50: f64,
    pub p75: f64,
    pub p95: f64,
    /// Share of trials with a positive / negative difference
    /// (`p_alt_higher` / `p_alt_lower`; NaN where the file has no such
    /// column). Unlike the quantiles these see changes in a few trials.
    pub p_higher: f64,
    pub p_lower: f64,
}

impl Quantiles {
    /// All values multiplied by `k` (unit conversion).
    pub(crate) fn scaled(self, k: f64) -> Self {
        Quantiles {
            mean: self.mean * k,
            sd: self.sd * k.abs(),
            p5: self.p5 * k,
            p25: self.p25 * k,
            p50: self.p50 * k,
            p75: self.p75 * k,
            p95: self.p95 * k,
            // Shares of trials have no unit.
            p_higher: self.p_higher,
            p_lower: self.p_lower,
        }
    }

    /// Whether p5, p25, p50, p75 and p95 are all zero (or missing).
    pub(crate) fn quantiles_zero(&self) -> bool {
        [self.p5, self.p25, self.p50, self.p75, self.p95]
            .iter()
            .all(|v| *v == 0.0 || v.is_nan())
    }

    /// Whether the data prove that every trial tied (difference 0):
    /// `p_alt_higher` = `p_alt_lower` = 0 does; without those columns, mean
    /// and sd both 0 do (the trials then all equal their mean; only
    /// differences below ~1e-154, whose squares underflow, could hide, which
    /// is why the shares win when present). Zero quantiles alone do not,
    /// since a change in under 5 % of trials leaves them all at 0.
    pub(crate) fn never_changes(&self) -> bool {
        if self.p_higher.is_nan() || self.p_lower.is_nan() {
            self.mean == 0.0 && self.sd == 0.0
        } else {
            self.p_higher == 0.0 && self.p_lower == 0.0
        }
    }

    /// Whether the data prove that some trial changed: a positive share of
    /// trials higher or lower, a positive sd or a non-zero mean. Missing
    /// (NaN) values prove nothing, and compare false here.
    pub(crate) fn some_change(&self) -> bool {
        self.p_higher > 0.0 || self.p_lower > 0.0 || self.sd > 0.0 || self.mean.abs() > 0.0
    }

    /// The p5–p95 interval, if both ends are finite (ordered low, high).
    pub(crate) fn band90(&self) -> Option<(f64, f64)> {
        band(self.p5, self.p95)
    }

    /// The p25–p75 interval, if both ends are finite (ordered low, high).
    pub(crate) fn band50(&self) -> Option<(f64, f64)> {
        band(self.p25, self.p75)
    }
}

fn band(a: f64, b: f64) -> Option<(f64, f64)> {
    (a.is_finite() && b.is_finite()).then(|| (a.min(b), a.max(b)))
}

/// Parses a number cell; blank, "NaN", "NA", infinities → NaN.
fn number(cell: Option<&str>) -> f64 {
    cell.and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|v| v.is_finite())
        .unwrap_or(f64::NAN)
}

/// Column positions in a header, by (case-insensitive) name.
struct Columns(HashMap<String, usize>);

impl Columns {
    fn new(headers: &csv::StringRecord) -> Self {
        Columns(
            headers
                .iter()
                .enumerate()
                // A UTF-8 byte-order mark would otherwise hide the first column.
                .map(|(i, h)| {
                    (
                        h.trim_start_matches('\u{feff}').trim().to_ascii_lowercase(),
                        i,
                    )
                })
                .collect(),
        )
    }

    fn get(&self, name: &str) -> Option<usize> {
        self.0.get(name).copied()
    }

    fn require(&self, name: &str, path: &Path) -> Result<usize, ChartError> {
        self.get(name).ok_or_else(|| ChartError::Missing {
            path: path.to_path_buf(),
            what: format!("column `{name}`"),
        })
    }

    fn quantiles(&self, rec: &csv::StringRecord) -> Quantiles {
        let cell = |name: &str| number(self.get(name).and_then(|i| rec.get(i)));
        Quantiles {
            mean: cell("mean"),
            sd: cell("sd"),
            p5: cell("p5"),
            p25: cell("p25"),
            p50: cell("p50"),
            p75: cell("p75"),
            p95: cell("p95"),
            p_higher: cell("p_alt_higher"),
            p_lower: cell("p_alt_lower"),
        }
    }
}

/// Opens a CSV file; a missing file is [`ChartError::Missing`].
fn open_csv(path: &Path) -> Result<(csv::Reader<File>, Columns), ChartError> {
    let file = File::open(path).map_err(|source| match source.kind() {
        ErrorKind::NotFound => ChartError::Missing {
            path: path.to_path_buf(),
            what: "file".into(),
        },
        _ => ChartError::Io {
            path: path.to_path_buf(),
            source,
        },
    })?;
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(file);
    let headers = reader.headers().map_err(|source| ChartError::Csv {
        path: path.to_path_buf(),
        source,
    })?;
    let cols = Columns::new(headers);
    Ok((reader, cols))
}

/// One (metric, entity) time series, keyed by month.
pub(crate) type Series = BTreeMap<MonthIndex, Quantiles>;

/// The contents of `timeseries.csv`.
#[derive(Debug, Default)]
pub(crate) struct TimeSeries {
    /// First non-empty value of the `scenario` column.
    pub scenario: Option<String>,
    /// metric → entity → month → quantiles.
    pub metrics: BTreeMap<String, BTreeMap<String, Series>>,
}

impl TimeSeries {
    /// Reads `path`; rows without a parsable month, metric or entity are skipped.
    pub(crate) fn read(path: &Path) -> Result<Self, ChartError> {
        let (mut reader, cols) = open_csv(path)?;
        let month_col = cols.require("month", path)?;
        let metric_col = cols.require("metric", path)?;
        let entity_col = cols.require("entity", path)?;
        cols.require("p50", path)?;
        let scenario_col = cols.get("scenario");

        let mut out = TimeSeries::default();
        for rec in reader.records() {
            let rec = rec.map_err(|source| ChartError::Csv {
                path: path.to_path_buf(),
                source,
            })?;
            if out.scenario.is_none() {
                out.scenario = scenario_col
                    .and_then(|i| rec.get(i))
                    .filter(|s| !s.is_empty())
                    .map(str::to_string);
            }
            let (Some(month), Some(metric), Some(entity)) = (
                rec.get(month_col).and_then(parse_month),
                rec.get(metric_col).filter(|s| !s.is_empty()),
                rec.get(entity_col).filter(|s| !s.is_empty()),
            ) else {
                continue;
            };
            out.metrics
                .entry(metric.to_string())
                .or_default()
                .entry(entity.to_string())
                .or_default()
                .insert(month, cols.quantiles(&rec));
        }
        Ok(out)
    }

    /// The series of `metric`, by entity (empty if the metric is absent).
    pub(crate) fn metric(&self, metric: &str) -> Option<&BTreeMap<String, Series>> {
        self.metrics.get(metric)
    }

    /// Vendor names: entities of `vendor_net_usd`, plus (for robustness when
    /// that metric is absent) those of `revenue_usd` except `total` and of
    /// `share_revenue`.
    pub(crate) fn vendors(&self) -> BTreeSet<String> {
        let mut v = BTreeSet::new();
        for m in ["vendor_net_usd", "revenue_usd", "share_revenue"] {
            if let Some(ents) = self.metrics.get(m) {
                v.extend(ents.keys().filter(|e| *e != "total").cloned());
            }
        }
        v
    }
}

/// The parts of `manifest.json` the charts use.
#[derive(Debug, Default, Clone)]
pub(crate) struct Manifest {
    pub title: Option<String>,
    pub name: Option<String>,
}

impl Manifest {
    /// Reads `dir/manifest.json`. A missing or malformed manifest yields an
    /// empty one: titles then fall back to the CSV's scenario column.
    pub(crate) fn read(dir: &Path) -> Self {
        let Ok(text) = std::fs::read_to_string(dir.join("manifest.json")) else {
            return Manifest::default();
        };
        let Ok(json) = serde_json::from_str::<serde_json::Value>(&text) else {
            return Manifest::default();
        };
        let field = |k: &str| {
            json.get("scenario")
                .and_then(|s| s.get(k))
                .and_then(|v| v.as_str())
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        Manifest {
            title: field("title"),
            name: field("name"),
        }
    }
}

/// One row of `comparison.csv`.
#[derive(Debug, Clone)]
pub(crate) struct ComparisonRow {
    /// Index into [`Comparison::scenarios`].
    pub scenario: usize,
    pub metric: String,
    pub entity: String,
    pub q: Quantiles,
}

/// The contents of `comparison.csv`.
#[derive(Debug, Default)]
pub(crate) struct Comparison {
    /// Scenario names in order of first appearance.
    pub scenarios: Vec<String>,
    pub rows: Vec<ComparisonRow>,
}

impl Comparison {
    /// Reads `path`; rows without scenario, metric or entity are skipped.
    pub(crate) fn read(path: &Path) -> Result<Self, ChartError> {
        let (mut reader, cols) = open_csv(path)?;
        let scenario_col = cols.require("scenario", path)?;
        let metric_col = cols.require("metric", path)?;
        let entity_col = cols.require("entity", path)?;
        cols.require("p50", path)?;

        let mut out = Comparison::default();
        let mut index: HashMap<String, usize> = HashMap::new();
        for rec in reader.records() {
            let rec = rec.map_err(|source| ChartError::Csv {
                path: path.to_path_buf(),
                source,
            })?;
            let (Some(scenario), Some(metric), Some(entity)) = (
                rec.get(scenario_col).filter(|s| !s.is_empty()),
                rec.get(metric_col).filter(|s| !s.is_empty()),
                rec.get(entity_col).filter(|s| !s.is_empty()),
            ) else {
                continue;
            };
            let next = out.scenarios.len();
            let idx = *index.entry(scenario.to_string()).or_insert(next);
            if idx == next {
                out.scenarios.push(scenario.to_string());
            }
            out.rows.push(ComparisonRow {
                scenario: idx,
                metric: metric.to_string(),
                entity: entity.to_string(),
                q: cols.quantiles(&rec),
            });
        }
        Ok(out)
    }

    /// Entities of `metric` in the fixed order of [`entity_rank`] (the same
    /// in every chart, whatever order a scenario lists them in).
    pub(crate) fn entities(&self, metric: &str) -> Vec<String> {
        self.entities_by(metric, entity_rank)
    }

    /// [`Self::entities`] for a metric by origin ([`origin_rank`]).
    pub(crate) fn origins(&self, metric: &str) -> Vec<String> {
        self.entities_by(metric, origin_rank)
    }

    fn entities_by(&self, metric: &str, rank: fn(&str) -> (u8, String)) -> Vec<String> {
        let mut seen = Vec::<String>::new();
        for r in self.rows.iter().filter(|r| r.metric == metric) {
            if !seen.contains(&r.entity) {
                seen.push(r.entity.clone());
            }
        }
        seen.sort_by_cached_key(|e| rank(e));
        seen
    }

    /// The row for (scenario, metric, entity); the last one wins on duplicates.
    pub(crate) fn get(&self, scenario: usize, metric: &str, entity: &str) -> Option<Quantiles> {
        self.rows
            .iter()
            .rev()
            .find(|r| r.scenario == scenario && r.metric == metric && r.entity == entity)
            .map(|r| r.q)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn change_evidence_prefers_the_shares_of_trials() {
        let zero = Quantiles {
            mean: 0.0,
            sd: 0.0,
            p5: 0.0,
            p25: 0.0,
            p50: 0.0,
            p75: 0.0,
            p95: 0.0,
            p_higher: 0.0,
            p_lower: 0.0,
        };
        assert!(zero.never_changes() && !zero.some_change());
        // One trial in 1000 lower by 1e-320: mean and sd underflow to 0,
        // but the share of trials still shows the change.
        let tiny = Quantiles {
            p_lower: 0.001,
            ..zero
        };
        assert!(!tiny.never_changes() && tiny.some_change());
        // Without the shares, mean and sd decide; without those too, nothing.
        let no_p = Quantiles {
            p_higher: f64::NAN,
            p_lower: f64::NAN,
            ..zero
        };
        assert!(no_p.never_changes() && !no_p.some_change());
        let spread = Quantiles { sd: 1e7, ..no_p };
        assert!(!spread.never_changes() && spread.some_change());
        let nothing = Quantiles {
            mean: f64::NAN,
            sd: f64::NAN,
            ..no_p
        };
        assert!(!nothing.never_changes() && !nothing.some_change());
    }

    #[test]
    fn lenient_rows() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("timeseries.csv");
        std::fs::write(
            &p,
            "\u{feff}scenario,month,metric,entity,mean,sd,p5,p25,p50,p75,p95\n\
             s,2026-02,share_compute,US,0,0,0.1,0.2,0.3,0.4,0.5\n\
             s,2026-01,share_compute,US,0,0,1e-1,0.2,NaN,0.4,0.5\n\
             s,bad,share_compute,US,0,0,0.1,0.2,0.3,0.4,0.5\n\
             s,2026-03,share_compute\n\
             s,2026-03,vendor_net_usd,Nvidia,1,1,1,1,1,1,1\n",
        )
        .unwrap();
        let ts = TimeSeries::read(&p).unwrap();
        assert_eq!(ts.scenario.as_deref(), Some("s"));
        let us = &ts.metric("share_compute").unwrap()["US"];
        assert_eq!(us.len(), 2);
        let jan = us[&parse_month("2026-01").unwrap()];
        assert!(jan.p50.is_nan());
        assert_eq!(jan.p5, 0.1);
        assert_eq!(ts.vendors().into_iter().collect::<Vec<_>>(), ["Nvidia"]);
    }

    #[test]
    fn missing_column_and_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("timeseries.csv");
        std::fs::write(&p, "").unwrap();
        let e = TimeSeries::read(&p).unwrap_err();
        assert!(matches!(e, ChartError::Missing { .. }), "{e}");
        let e = Comparison::read(&dir.path().join("nope.csv")).unwrap_err();
        assert!(e.to_string().contains("nope.csv"), "{e}");
    }

    #[test]
    fn manifest_tolerant() {
        let dir = tempfile::tempdir().unwrap();
        assert!(Manifest::read(dir.path()).title.is_none());
        std::fs::write(dir.path().join("manifest.json"), "{not json").unwrap();
        assert!(Manifest::read(dir.path()).title.is_none());
        std::fs::write(
            dir.path().join("manifest.json"),
            r#"{"scenario":{"name":"base","title":"Baseline"}}"#,
        )
        .unwrap();
        let m = Manifest::read(dir.path());
        assert_eq!(m.title.as_deref(), Some("Baseline"));
        assert_eq!(m.name.as_deref(), Some("base"));
    }

    #[test]
    fn comparison_order() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("comparison.csv");
        std::fs::write(
            &p,
            "scenario,metric,entity,mean,sd,p5,p25,p50,p75,p95\n\
             zeta,total_units,H20,1,0,1,1,1,1,1\n\
             alpha,total_units,H20,2,0,2,2,2,2,2\n\
             zeta,total_units,B30A,3,0,3,3,3,3,3\n\
             zeta,share,CN,1,0,1,1,1,1,1\n\
             zeta,share,Other,1,0,1,1,1,1,1\n\
             zeta,share,US,1,0,1,1,1,1,1\n\
             zeta,share,Cambricon,1,0,1,1,1,1,1\n\
             zeta,share,Nvidia,1,0,1,1,1,1,1\n",
        )
        .unwrap();
        let c = Comparison::read(&p).unwrap();
        assert_eq!(c.scenarios, ["zeta", "alpha"]);
        // Entities in the fixed order, not the file's.
        assert_eq!(c.entities("total_units"), ["B30A", "H20"]);
        assert_eq!(c.get(1, "total_units", "H20").unwrap().p50, 2.0);
        assert_eq!(
            c.entities("share"),
            ["Nvidia", "Cambricon", "Other", "US", "CN"]
        );
    }
}
