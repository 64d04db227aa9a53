//! Report-ready charts drawn from a results folder.
//!
//! The charts read only the files the engine writes (`timeseries.csv`,
//! `manifest.json`, `comparison.csv`), so `tradeflow plot DIR` can redraw
//! them at any time. Each chart is written as PNG (1600×1000 px) and/or SVG
//! with the same layout; every file is written whole or not at all.

mod bands;
mod comparison;
mod delta;
mod market_share;
mod read;
mod render;
mod revenue;
mod rows;
mod style;
mod sweep;
mod text;
mod tornado;
mod units;

use std::path::{Path, PathBuf};

pub use delta::{draw_delta_charts, draw_horizon_deltas_chart};
use read::{Comparison, Manifest, TimeSeries};
use render::write_chart;
pub use sweep::draw_sweep_charts;
pub use tornado::draw_tornado_chart;

/// Pixel size of every chart (width, height).
pub const CHART_SIZE: (u32, u32) = (1600, 1000);

/// Output image format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChartFormat {
    /// Raster image, 1600×1000 px.
    Png,
    /// Vector image with the same layout as the PNG.
    Svg,
}

impl ChartFormat {
    /// File extension without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            ChartFormat::Png => "png",
            ChartFormat::Svg => "svg",
        }
    }
}

/// Why a chart could not be drawn. Every variant names the file concerned.
#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    /// A file could not be read or written.
    #[error("cannot access {}", path.display())]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// An input CSV file is malformed (e.g. not UTF-8).
    #[error("cannot parse {}", path.display())]
    Csv {
        /// The CSV file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: csv::Error,
    },
    /// An input file, column or the data for every chart is missing.
    #[error("{}: missing {what}", path.display())]
    Missing {
        /// The input file.
        path: PathBuf,
        /// What was expected, e.g. "file" or "column `p50`".
        what: String,
    },
    /// Plotting failed.
    #[error("cannot draw {}: {message}", path.display())]
    Draw {
        /// The chart file being drawn.
        path: PathBuf,
        /// The plotting library's message.
        message: String,
    },
}

/// Scenario title and source note shared by the per-scenario charts.
#[derive(Debug, Clone)]
pub(crate) struct Meta {
    pub title: String,
    pub name: Option<String>,
}

impl Meta {
    fn new(manifest: Manifest, ts: &TimeSeries, dir: &Path) -> Self {
        let fallback = || {
            dir.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| "Scenario".into())
        };
        let name = manifest.name.or_else(|| ts.scenario.clone());
        let title = manifest
            .title
            .or_else(|| ts.scenario.clone())
            .unwrap_or_else(fallback);
        Meta { title, name }
    }

    /// Footer line: source, scenario name and how to read the chart.
    pub(crate) fn footer(&self, reading: &str) -> String {
        match &self.name {
            Some(name) => {
                format!(
                    "Source: tradeflow Monte Carlo simulation, scenario \u{201c}{name}\u{201d}. {reading}."
                )
            }
            None => format!("Source: tradeflow Monte Carlo simulation. {reading}."),
        }
    }
}

/// Draws `market_share.{png,svg}` and `revenue.{png,svg}` in `dir` from
/// `dir/timeseries.csv` (and `dir/manifest.json` for the title, if present).
///
/// A chart whose metrics are absent is skipped; if neither can be drawn the
/// result is [`ChartError::Missing`]. Returns the paths written.
pub fn draw_scenario_charts(
    dir: &Path,
    formats: &[ChartFormat],
) -> Result<Vec<PathBuf>, ChartError> {
    let path = dir.join("timeseries.csv");
    let ts = TimeSeries::read(&path)?;
    let meta = Meta::new(Manifest::read(dir), &ts, dir);
    let share = market_share::MarketShare::new(&ts, &meta);
    let revenue = revenue::Revenue::new(&ts, &meta);
    if share.is_none() && revenue.is_none() {
        return Err(ChartError::Missing {
            path,
            what: format!(
                "data for metric `{}`, `{}` or `{}`",
                market_share::METRIC,
                revenue::REVENUE,
                revenue::FEE
            ),
        });
    }
    let mut written = Vec::new();
    if let Some(chart) = share {
        written.extend(write_chart(dir, "market_share", formats, &chart)?);
    }
    if let Some(chart) = revenue {
        written.extend(write_chart(dir, "revenue", formats, &chart)?);
    }
    Ok(written)
}

/// Draws `comparison.{png,svg}` in `dir` from `dir/comparison.csv`.
///
/// Returns the paths written; [`ChartError::Missing`] if the file is absent
/// or holds none of the compared metrics.
pub fn draw_comparison_chart(
    dir: &Path,
    formats: &[ChartFormat],
) -> Result<Vec<PathBuf>, ChartError> {
    let path = dir.join("comparison.csv");
    let data = Comparison::read(&path)?;
    let chart = comparison::ComparisonChart::new(&data).ok_or_else(|| ChartError::Missing {
        path,
        what: "data for metric `mean_share_compute`, `total_revenue_usd`, \
               `total_export_fee_usd` or `total_unmet_h100e`"
            .into(),
    })?;
    write_chart(dir, "comparison", formats, &chart)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fmt::Write as _;

    const HEADER: &str = "scenario,month,metric,entity,mean,sd,p5,p25,p50,p75,p95\n";

    /// Appends a row whose quantiles spread `rel` around `mid`.
    fn row(out: &mut String, month: &str, metric: &str, entity: &str, mid: f64, rel: f64) {
        let q = |z: f64| mid * (1.0 + rel * z);
        writeln!(
            out,
            "test,{month},{metric},{entity},{mid},{},{:e},{},{},{},{:e}",
            mid * rel,
            q(-1.645),
            q(-0.674),
            mid,
            q(0.674),
            q(1.645)
        )
        .unwrap();
    }

    /// 36 months from 2026-01: US share falling 30 % → 10 %, three vendors.
    fn synthetic_timeseries(months: usize) -> String {
        let mut s = HEADER.to_string();
        for i in 0..months {
            let m = format!("{}-{:02}", 2026 + i / 12, i % 12 + 1);
            let t = i as f64 / (months.max(2) - 1) as f64;
            let us = 0.3 - 0.2 * t;
            let w = 0.1 + 0.3 * t;
            row(&mut s, &m, "share_compute", "US", us, w);
            row(&mut s, &m, "share_compute", "CN", 1.0 - us, w * 0.3);
            row(&mut s, &m, "share_compute", "Nvidia", us, w);
            row(&mut s, &m, "share_compute", "Huawei", (1.0 - us) * 0.7, w);
            row(
                &mut s,
                &m,
                "share_compute",
                "Cambricon",
                (1.0 - us) * 0.3,
                w,
            );
            for (v, r) in [("Nvidia", 2.5e9), ("Huawei", 1.5e9), ("Cambricon", 0.5e9)] {
                row(&mut s, &m, "revenue_usd", v, r, w);
                row(&mut s, &m, "vendor_net_usd", v, r * 0.8, w);
            }
            row(&mut s, &m, "revenue_usd", "total", 4.5e9, w);
            row(&mut s, &m, "export_fee_usd", "US", 0.2e9, w);
        }
        s
    }

    fn png_size(bytes: &[u8]) -> (u32, u32) {
        assert!(bytes.len() > 24, "PNG too short");
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
        assert_eq!(&bytes[12..16], b"IHDR");
        let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
        (be(&bytes[16..20]), be(&bytes[20..24]))
    }

    /// Whether the SVG has a text element reading exactly `text` (plotters
    /// puts the text on its own line).
    fn has_text(svg: &str, text: &str) -> bool {
        svg.lines().any(|l| l.trim() == text)
    }

    fn assert_no_temp_files(dir: &Path) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let name = entry.unwrap().file_name().to_string_lossy().into_owned();
            assert!(!name.contains(".tmp-"), "temp file left behind: {name}");
        }
    }

    const BOTH: [ChartFormat; 2] = [ChartFormat::Png, ChartFormat::Svg];

    #[test]
    fn scenario_charts_png_and_svg() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("timeseries.csv"), synthetic_timeseries(36)).unwrap();
        std::fs::write(
            dir.path().join("manifest.json"),
            r#"{"scenario":{"name":"base","title":"Synthetic Baseline Title"}}"#,
        )
        .unwrap();
        let paths = draw_scenario_charts(dir.path(), &BOTH).unwrap();
        let names: Vec<String> = paths
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            names,
            [
                "market_share.png",
                "market_share.svg",
                "revenue.png",
                "revenue.svg"
            ]
        );
        for p in &paths {
            let bytes = std::fs::read(p).unwrap();
            if p.extension().unwrap() == "png" {
                assert_eq!(png_size(&bytes), CHART_SIZE);
            } else {
                let svg = String::from_utf8(bytes).unwrap();
                assert!(svg.contains("<svg"));
                assert!(svg.contains("Synthetic Baseline Title"));
                assert!(svg.contains("Nvidia"));
                assert!(svg.contains("Jan 2027"));
            }
        }
        let rev = std::fs::read_to_string(dir.path().join("revenue.svg")).unwrap();
        assert!(rev.contains("US export fee"));
        assert!(rev.contains("$ B / month"));
        let share = std::fs::read_to_string(dir.path().join("market_share.svg")).unwrap();
        assert!(share.contains("By origin") && share.contains("By vendor"));
        assert!(has_text(&share, "Cambricon") && has_text(&share, "US"));
        assert_no_temp_files(dir.path());
    }

    #[test]
    fn missing_timeseries_names_path() {
        let dir = tempfile::tempdir().unwrap();
        let err = draw_scenario_charts(dir.path(), &BOTH).unwrap_err();
        let expected = dir.path().join("timeseries.csv");
        match &err {
            ChartError::Missing { path, .. } => assert_eq!(path, &expected),
            other => panic!("unexpected error {other:?}"),
        }
        assert!(err.to_string().contains(&expected.display().to_string()));
        let err = draw_comparison_chart(dir.path(), &BOTH).unwrap_err();
        assert!(err.to_string().contains("comparison.csv"), "{err}");
    }

    #[test]
    fn odd_timeseries_do_not_panic() {
        let dir = tempfile::tempdir().unwrap();
        let ts = dir.path().join("timeseries.csv");
        let png = [ChartFormat::Png];

        // Empty file and header-only file: nothing to draw.
        for content in ["", HEADER] {
            std::fs::write(&ts, content).unwrap();
            let err = draw_scenario_charts(dir.path(), &png).unwrap_err();
            assert!(matches!(err, ChartError::Missing { .. }), "{err}");
        }

        // Single month, no manifest: title falls back to the scenario column.
        std::fs::write(&ts, synthetic_timeseries(1)).unwrap();
        let svg = draw_scenario_charts(dir.path(), &[ChartFormat::Svg]).unwrap();
        assert_eq!(svg.len(), 2);
        assert!(has_text(&std::fs::read_to_string(&svg[0]).unwrap(), "test"));

        // All zeros and NaN cells.
        let mut s = HEADER.to_string();
        for m in ["2026-01", "2026-02", "2026-03"] {
            s += &format!("x,{m},share_compute,US,0,0,0,0,0,0,0\n");
            s += &format!("x,{m},revenue_usd,Nvidia,0,0,0,0,0,0,0\n");
            s += &format!("x,{m},export_fee_usd,US,NaN,,NaN,nan,,inf,NaN\n");
        }
        s += "x,2026-04,share_compute,Huawei,0.5,0.1,abc,0.4,0.5,0.6,0.7\n";
        std::fs::write(&ts, s).unwrap();
        assert_eq!(draw_scenario_charts(dir.path(), &png).unwrap().len(), 2);

        // Only one chart's metrics present: only that chart is written.
        let mut s = HEADER.to_string();
        row(&mut s, "2026-01", "revenue_usd", "Huawei", 1e9, 0.1);
        row(&mut s, "2026-02", "revenue_usd", "Huawei", 1.2e9, 0.1);
        std::fs::write(&ts, s).unwrap();
        let only = draw_scenario_charts(dir.path(), &png).unwrap();
        assert_eq!(only, vec![dir.path().join("revenue.png")]);

        // Key column missing.
        std::fs::write(&ts, "scenario,month,metric,entity,mean\nx,2026-01,a,b,1\n").unwrap();
        let err = draw_scenario_charts(dir.path(), &png).unwrap_err();
        assert!(err.to_string().contains("p50"), "{err}");
        assert_no_temp_files(dir.path());
    }

    fn synthetic_comparison() -> String {
        let mut s = String::from("scenario,metric,entity,mean,sd,p5,p25,p50,p75,p95\n");
        for (sc, k) in [("baseline", 1.0), ("strict-controls", 0.4), ("no-fee", 1.3)] {
            let mut add = |metric: &str, entity: &str, mid: f64| {
                writeln!(
                    s,
                    "{sc},{metric},{entity},{mid},0,{},{},{mid},{},{}",
                    mid * 0.6,
                    mid * 0.8,
                    mid * 1.2,
                    mid * 1.5
                )
                .unwrap();
            };
            for (v, share, rev) in [
                ("Nvidia", 0.2 * k, 60e9 * k),
                ("Huawei", 0.55, 70e9),
                ("Cambricon", 0.25, 25e9),
            ] {
                add("mean_share_compute", v, share);
                add("final_share_compute", v, share);
                add("total_revenue_usd", v, rev);
                add("total_vendor_net_usd", v, rev * 0.8);
            }
            add("mean_share_compute", "US", 0.2 * k);
            add("mean_share_compute", "CN", 1.0 - 0.2 * k);
            add("total_revenue_usd", "total", 150e9);
            add("total_export_fee_usd", "US", 6e9 * k);
            add("total_unmet_h100e", "market", 1.5e6 / k);
            add("total_units", "H20", 1e6);
        }
        s
    }

    #[test]
    fn comparison_png_and_svg() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("comparison.csv"), synthetic_comparison()).unwrap();
        let paths = draw_comparison_chart(dir.path(), &BOTH).unwrap();
        assert_eq!(
            paths,
            vec![
                dir.path().join("comparison.png"),
                dir.path().join("comparison.svg")
            ]
        );
        assert_eq!(png_size(&std::fs::read(&paths[0]).unwrap()), CHART_SIZE);
        let svg = std::fs::read_to_string(&paths[1]).unwrap();
        for text in [
            "<svg",
            "Scenario comparison",
            "strict-controls",
            "Huawei",
            "US export fee",
            "Unmet demand over the horizon (million H100e)",
        ] {
            assert!(svg.contains(text), "SVG lacks {text:?}");
        }
        assert_no_temp_files(dir.path());
    }

    #[test]
    fn comparison_odd_data() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("comparison.csv");
        let svg = [ChartFormat::Svg];
        std::fs::write(&path, "scenario,metric,entity,mean,sd,p5,p25,p50,p75,p95\n").unwrap();
        assert!(matches!(
            draw_comparison_chart(dir.path(), &svg),
            Err(ChartError::Missing { .. })
        ));
        // One panel, one scenario, NaN whiskers, all zero.
        std::fs::write(
            &path,
            "scenario,metric,entity,mean,sd,p5,p25,p50,p75,p95\n\
             only,total_unmet_h100e,market,0,0,NaN,0,0,0,\n",
        )
        .unwrap();
        assert_eq!(draw_comparison_chart(dir.path(), &svg).unwrap().len(), 1);
        // Empty format list writes nothing.
        assert!(draw_comparison_chart(dir.path(), &[]).unwrap().is_empty());
    }
}
