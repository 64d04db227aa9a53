//! Charts of paired differences (`tradeflow compare`):
//!
//! - `delta_market_share`: the change in the share of compute per month, by
//!   origin and by vendor, in percentage points (fan chart around zero);
//! - `delta_revenue`: the change in revenue per month by vendor and in the
//!   export fee, $ B / month;
//! - `horizon_deltas`: for every alternative, bars of the median change over
//!   the horizon with its 90 % interval, in four small panels.
//!
//! All are drawn from `deltas_timeseries.csv` / `deltas_summary.csv` and the
//! folder's `manifest.json` alone.

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::bands::{BandSeries, Panel, draw_panel, month_span, order_series};
use super::read::{Comparison, Quantiles, Series, TimeSeries};
use super::render::{Chart, DrawErr, write_chart};
use super::rows::{
    RowChart, RowPanel, draw_median_dot, draw_panel_grid, draw_row_panel, draw_whisker,
};
use super::style::{
    LegendItem, MUTED, MonthAxis, PAGE_MARGIN, Swatch, TEXT, draw_legend, draw_text, entity_colour,
    font, legend_height, nice_axis, page,
};
use super::{ChartError, ChartFormat};

/// What the manifest of a comparison folder says about the two sides.
#[derive(Debug, Clone, Default)]
struct Sides {
    /// The alternative's title (one alternative's folder only).
    title: Option<String>,
    /// The alternative's name.
    alt: Option<String>,
    /// The base's name.
    base: Option<String>,
    /// Whether the runs were paired (common random numbers).
    paired: bool,
}

impl Sides {
    fn read(dir: &Path) -> Self {
        let json: serde_json::Value = std::fs::read_to_string(dir.join("manifest.json"))
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default();
        let field = |obj: &str, k: &str| {
            json.get(obj)
                .and_then(|s| s.get(k))
                .and_then(|v| v.as_str())
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        Sides {
            title: field("scenario", "title"),
            alt: field("scenario", "name"),
            base: field("base", "name"),
            paired: json.get("paired").and_then(|v| v.as_bool()).unwrap_or(true),
        }
    }

    fn base(&self) -> String {
        self.base.clone().unwrap_or_else(|| "the base".into())
    }

    fn footer(&self, reading: &str) -> String {
        let how = if self.paired {
            "trial by trial with common random numbers"
        } else {
            "trial by trial, NOT paired (different seeds)"
        };
        match &self.alt {
            Some(a) => format!(
                "Source: tradeflow Monte Carlo simulation, \u{201c}{a}\u{201d} minus \u{201c}{}\u{201d}, {how}. {reading}.",
                self.base()
            ),
            None => format!("Source: tradeflow Monte Carlo simulation, {how}. {reading}."),
        }
    }
}

/// True when every quantile of every month is exactly zero.
fn all_zero(series: &Series) -> bool {
    series
        .values()
        .all(|q| [q.p5, q.p25, q.p50, q.p75, q.p95].iter().all(|&v| v == 0.0))
}

/// Keeps the series that change somewhere; if none does, keeps them all (so
/// that "no change at all" is still drawn). Returns the kept series and the
/// labels of the unchanged ones.
fn drop_unchanged(series: Vec<(BandSeries, bool)>) -> (Vec<BandSeries>, Vec<String>) {
    if series.iter().all(|(_, zero)| *zero) {
        return (series.into_iter().map(|(s, _)| s).collect(), Vec::new());
    }
    let mut kept = Vec::new();
    let mut unchanged = Vec::new();
    for (s, zero) in series {
        if zero {
            unchanged.push(s.label);
        } else {
            kept.push(s);
        }
    }
    (kept, unchanged)
}

fn unchanged_note(unchanged: &[String]) -> String {
    if unchanged.is_empty() {
        String::new()
    } else {
        format!(
            "; unchanged in every trial, not drawn: {}",
            unchanged.join(", ")
        )
    }
}

/// Change in the share of compute, by origin and by vendor.
struct DeltaShare {
    sides: Sides,
    origins: Vec<BandSeries>,
    vendors: Vec<BandSeries>,
    unchanged: Vec<String>,
    span: (i32, i32),
}

impl DeltaShare {
    fn new(ts: &TimeSeries, sides: &Sides) -> Option<Self> {
        let shares = ts.metric("share_compute")?;
        let vendor_names = ts.vendors();
        let (mut origins, mut vendors) = (Vec::new(), Vec::new());
        for (entity, series) in shares {
            let mut s = BandSeries::new(entity, entity.clone(), series, 100.0);
            s.band50 = true;
            let zero = all_zero(series);
            if vendor_names.contains(entity) {
                vendors.push((s, zero));
            } else {
                origins.push((s, zero));
            }
        }
        let (origins, mut unchanged) = drop_unchanged(origins);
        let (vendors, u) = drop_unchanged(vendors);
        unchanged.extend(u);
        let (origins, vendors) = (order_series(origins), order_series(vendors));
        if origins.is_empty() && vendors.is_empty() {
            return None;
        }
        Some(DeltaShare {
            sides: sides.clone(),
            origins,
            vendors,
            unchanged,
            span: month_span([shares])?,
        })
    }
}

impl Chart for DeltaShare {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), DrawErr> {
        let title = self
            .sides
            .title
            .clone()
            .unwrap_or_else(|| "Change in the share of compute".into());
        let body = page(
            root,
            &title,
            &subtitle(
                format!(
                    "Change against \u{201c}{}\u{201d} in the share of compute bought, percentage points",
                    self.sides.base()
                ),
                &self.origins.iter().chain(&self.vendors).collect::<Vec<_>>(),
            ),
            &self.sides.footer(&format!(
                "Lines show the median difference; bands the 50 % and 90 % intervals{}",
                unchanged_note(&self.unchanged)
            )),
        )?;
        let panels: Vec<(&str, &[BandSeries])> = [
            ("By origin", self.origins.as_slice()),
            ("By vendor", self.vendors.as_slice()),
        ]
        .into_iter()
        .filter(|(_, s)| !s.is_empty())
        .collect();
        // One value axis for both panels, so their bands compare by eye.
        let both: Vec<&BandSeries> = self.origins.iter().chain(&self.vendors).collect();
        let y = shared_axis(&both, 6);
        let x = MonthAxis::new(
            self.span.0,
            self.span.1,
            if panels.len() > 1 { 7 } else { 8 },
        );
        let (w, _) = body.dim_in_pixel();
        let body = body.margin(0, 0, PAGE_MARGIN - 10, PAGE_MARGIN - 20);
        let areas = if panels.len() > 1 {
            let (left, right) = body.split_horizontally(w / 2 - PAGE_MARGIN as u32 + 10);
            vec![left.margin(0, 0, 0, 20), right.margin(0, 0, 20, 0)]
        } else {
            vec![body]
        };
        for ((caption, series), area) in panels.into_iter().zip(&areas) {
            draw_panel(
                area,
                &Panel {
                    caption: Some(caption),
                    series,
                    x: &x,
                    y: &y,
                    y_desc: "percentage points",
                    zero_line: true,
                },
            )?;
        }
        Ok(())
    }
}

/// Whether every value of every series is exactly zero.
fn nothing_changes(series: &[&BandSeries]) -> bool {
    series.iter().flat_map(|s| &s.points).all(|(_, q)| {
        [q.p5, q.p25, q.p50, q.p75, q.p95]
            .iter()
            .all(|v| *v == 0.0 || v.is_nan())
    })
}

/// The subtitle, with a note when nothing changes.
fn subtitle(text: String, series: &[&BandSeries]) -> String {
    if nothing_changes(series) {
        text + " \u{2014} no change in any trial or month"
    } else {
        text
    }
}

/// A value axis covering every band of `series` and zero (centred on zero
/// when nothing changes).
fn shared_axis(series: &[&BandSeries], target: usize) -> super::style::NumAxis {
    if nothing_changes(series) {
        return nice_axis(-1.0, 1.0, target);
    }
    let mut lo = 0.0f64;
    let mut hi = 0.0f64;
    for (_, q) in series.iter().flat_map(|s| &s.points) {
        for v in [q.p5, q.p25, q.p50, q.p75, q.p95] {
            if v.is_finite() {
                lo = lo.min(v);
                hi = hi.max(v);
            }
        }
    }
    nice_axis(lo, hi, target)
}

/// Change in revenue per month by vendor, and in the export fee.
struct DeltaRevenue {
    sides: Sides,
    series: Vec<BandSeries>,
    unchanged: Vec<String>,
    span: (i32, i32),
}

impl DeltaRevenue {
    fn new(ts: &TimeSeries, sides: &Sides) -> Option<Self> {
        let mut vendors = Vec::new();
        if let Some(rev) = ts.metric("revenue_usd") {
            for (entity, series) in rev.iter().filter(|(e, _)| *e != "total") {
                let s = BandSeries::new(entity, entity.clone(), series, 1e-9);
                vendors.push((s, all_zero(series)));
            }
        }
        let mut fees = Vec::new();
        if let Some(fee) = ts.metric("export_fee_usd") {
            for (origin, series) in fee {
                let mut s = BandSeries::new(origin, format!("{origin} export fee"), series, 1e-9);
                s.dashed = true;
                fees.push((s, all_zero(series)));
            }
        }
        // Fees are kept apart so they are listed after the vendors.
        let everything_zero = vendors.iter().chain(&fees).all(|(_, zero)| *zero);
        let mut unchanged = Vec::new();
        let mut keep = |group: Vec<(BandSeries, bool)>| -> Vec<BandSeries> {
            let mut kept = Vec::new();
            for (s, zero) in group {
                if zero && !everything_zero {
                    unchanged.push(s.label);
                } else {
                    kept.push(s);
                }
            }
            order_series(kept)
        };
        let mut series = keep(vendors);
        series.extend(keep(fees));
        if series.is_empty() {
            return None;
        }
        let maps = ["revenue_usd", "export_fee_usd"]
            .into_iter()
            .filter_map(|m| ts.metric(m));
        Some(DeltaRevenue {
            sides: sides.clone(),
            series,
            unchanged,
            span: month_span(maps)?,
        })
    }
}

impl Chart for DeltaRevenue {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), DrawErr> {
        let title = self
            .sides
            .title
            .clone()
            .unwrap_or_else(|| "Change in revenue".into());
        let body = page(
            root,
            &title,
            &subtitle(
                format!(
                    "Change against \u{201c}{}\u{201d} in revenue per month by vendor, and in the export fee",
                    self.sides.base()
                ),
                &self.series.iter().collect::<Vec<_>>(),
            ),
            &self.sides.footer(&format!(
                "Lines show the median difference; shaded bands the 90 % interval{}",
                unchanged_note(&self.unchanged)
            )),
        )?;
        let body = body.margin(0, 0, PAGE_MARGIN - 10, PAGE_MARGIN - 20);
        let x = MonthAxis::new(self.span.0, self.span.1, 8);
        let y = shared_axis(&self.series.iter().collect::<Vec<_>>(), 6);
        draw_panel(
            &body,
            &Panel {
                caption: None,
                series: &self.series,
                x: &x,
                y: &y,
                y_desc: "$ B / month",
                zero_line: true,
            },
        )
    }
}

/// Draws `delta_market_share.*` and `delta_revenue.*` in `dir` from
/// `dir/deltas_timeseries.csv` (and `dir/manifest.json` for the titles).
pub fn draw_delta_charts(dir: &Path, formats: &[ChartFormat]) -> Result<Vec<PathBuf>, ChartError> {
    let path = dir.join("deltas_timeseries.csv");
    let ts = TimeSeries::read(&path)?;
    let sides = Sides::read(dir);
    let share = DeltaShare::new(&ts, &sides);
    let revenue = DeltaRevenue::new(&ts, &sides);
    if share.is_none() && revenue.is_none() {
        return Err(ChartError::Missing {
            path,
            what: "data for metric `share_compute`, `revenue_usd` or `export_fee_usd`".into(),
        });
    }
    let mut written = Vec::new();
    if let Some(chart) = share {
        written.extend(write_chart(dir, "delta_market_share", formats, &chart)?);
    }
    if let Some(chart) = revenue {
        written.extend(write_chart(dir, "delta_revenue", formats, &chart)?);
    }
    Ok(written)
}

// ---------------------------------------------------------------------------
// Horizon deltas: bars with 90 % whiskers

/// One small panel: a horizon metric's change for every alternative and entity.
struct BarPanel {
    caption: String,
    /// (entity, colour)
    entities: Vec<(String, RGBColor)>,
    /// `values[alternative][entity]` in display units.
    values: Vec<Vec<Option<Quantiles>>>,
}

impl BarPanel {
    fn build(
        data: &Comparison,
        metric: &str,
        caption: String,
        entities: Vec<String>,
        scale: f64,
    ) -> Option<Self> {
        let values: Vec<Vec<Option<Quantiles>>> = (0..data.scenarios.len())
            .map(|s| {
                entities
                    .iter()
                    .map(|e| data.get(s, metric, e).map(|q| q.scaled(scale)))
                    .collect()
            })
            .collect();
        // Entities without any change in any alternative are left out (the
        // caption says so), unless that would leave nothing.
        let changes = |j: usize| {
            values
                .iter()
                .any(|row| row[j].is_some_and(|q| [q.p5, q.p50, q.p95].iter().any(|v| *v != 0.0)))
        };
        let keep: Vec<usize> = {
            let k: Vec<usize> = (0..entities.len()).filter(|&j| changes(j)).collect();
            if k.is_empty() {
                (0..entities.len()).collect()
            } else {
                k
            }
        };
        let drawable = values
            .iter()
            .flatten()
            .flatten()
            .any(|q| q.p50.is_finite() || q.band90().is_some());
        drawable.then(|| BarPanel {
            caption,
            entities: keep
                .iter()
                .map(|&j| (entities[j].clone(), entity_colour(&entities[j])))
                .collect(),
            values: values
                .iter()
                .map(|row| keep.iter().map(|&j| row[j]).collect())
                .collect(),
        })
    }
}

/// The horizon-difference chart of a comparison folder.
struct HorizonDeltas {
    sides: Sides,
    alternatives: Vec<String>,
    panels: Vec<BarPanel>,
    legend: Vec<LegendItem>,
}

impl HorizonDeltas {
    fn new(data: &Comparison, sides: &Sides) -> Option<Self> {
        let mut vendors = data.entities("total_vendor_net_usd");
        for e in data.entities("total_revenue_usd") {
            if e != "total" && !vendors.contains(&e) {
                vendors.push(e);
            }
        }
        let shares: Vec<String> = data
            .entities("mean_share_compute")
            .into_iter()
            .filter(|e| vendors.is_empty() || vendors.contains(e))
            .collect();
        let revenue: Vec<String> = data
            .entities("total_revenue_usd")
            .into_iter()
            .filter(|e| e != "total")
            .collect();
        let origins = data.entities("total_export_fee_usd");
        let fee_caption = match origins.as_slice() {
            [one] => format!("{one} export fee over the horizon ($ B)"),
            _ => "Export fee over the horizon ($ B)".to_string(),
        };
        let panels: Vec<BarPanel> = [
            BarPanel::build(
                data,
                "mean_share_compute",
                "Mean share of compute, by vendor (percentage points)".into(),
                shares,
                100.0,
            ),
            BarPanel::build(
                data,
                "total_revenue_usd",
                "Revenue over the horizon, by vendor ($ B)".into(),
                revenue,
                1e-9,
            ),
            BarPanel::build(data, "total_export_fee_usd", fee_caption, origins, 1e-9),
            BarPanel::build(
                data,
                "total_unmet_h100e",
                "Unmet demand over the horizon (million H100e)".into(),
                data.entities("total_unmet_h100e"),
                1e-6,
            ),
        ]
        .into_iter()
        .flatten()
        .collect();
        if panels.is_empty() {
            return None;
        }
        let mut legend: Vec<LegendItem> = Vec::new();
        for (entity, colour) in panels.iter().flat_map(|p| &p.entities) {
            if entity != "market" && entity != "total" && !legend.iter().any(|l| &l.label == entity)
            {
                legend.push(LegendItem {
                    label: entity.clone(),
                    colour: *colour,
                    swatch: Swatch::Dot,
                });
            }
        }
        Some(HorizonDeltas {
            sides: sides.clone(),
            alternatives: data.scenarios.clone(),
            panels,
            legend,
        })
    }
}

impl Chart for HorizonDeltas {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), DrawErr> {
        let body = page(
            root,
            &format!("Change against \u{201c}{}\u{201d}", self.sides.base()),
            "Over the horizon: median difference (dot and bar) with its 90 % interval (whisker)",
            &self.sides.footer(
                "Bars: median per-trial difference; whiskers: 5th to 95th percentile; \
                 entities that never change are left out",
            ),
        )?;
        let body = body.margin(0, 0, PAGE_MARGIN - 10, PAGE_MARGIN - 10);
        let (w, _) = body.dim_in_pixel();
        let legend_h = legend_height(&body, &self.legend, w as i32);
        let (legend_area, grid) = body.split_vertically(legend_h);
        draw_legend(&legend_area, &self.legend)?;
        draw_panel_grid(&grid, &self.panels, |cell, panel| {
            self.draw_panel(cell, panel)
        })?;
        Ok(())
    }
}

impl HorizonDeltas {
    fn draw_panel<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        panel: &BarPanel,
    ) -> Result<(), DrawErr> {
        let values = panel.values.iter().flatten().flatten();
        draw_row_panel(
            area,
            &panel.caption,
            &self.alternatives,
            values,
            |chart, rows| self.draw_bars(chart, rows, panel),
        )
    }

    /// Each alternative's row: per entity a bar to the median difference,
    /// its 90 % whisker and a median dot; a note where nothing changed.
    fn draw_bars<DB: DrawingBackend>(
        &self,
        chart: &mut RowChart<'_, DB>,
        rows: &RowPanel<'_, DB>,
        panel: &BarPanel,
    ) -> Result<(), DrawErr> {
        let (x, n, plot_area) = (&rows.x, rows.n, rows.plot_area);
        // The zero line: no change.
        chart.draw_series(std::iter::once(PathElement::new(
            vec![(0.0, -0.5), (0.0, n as f64 - 0.5)],
            TEXT.stroke_width(2),
        )))?;
        let k = panel.entities.len().max(1);
        // Each alternative's row holds one bar per entity, first on top.
        let band = 0.8 / k as f64;
        let half = band * 0.36;
        let clamp = |v: f64| v.clamp(x.lo, x.hi);
        let no_change_style = font(18.0, MUTED);
        for (s, row) in panel.values.iter().enumerate() {
            let centre = (n - 1 - s) as f64;
            let unchanged = row.iter().all(|q| {
                q.is_none_or(|q| [q.p5, q.p50, q.p95].iter().all(|v| *v == 0.0 || v.is_nan()))
            });
            if unchanged {
                // Say so, rather than leave an empty row.
                let (px, py) = chart.backend_coord(&(0.0, centre));
                let (bx, by) = plot_area.get_base_pixel();
                // Beside the zero line, on the side with more room.
                let (xr, _) = chart.plotting_area().get_pixel_range();
                let (dx, anchor) = if px - xr.start > xr.end - px {
                    (-12, HPos::Right)
                } else {
                    (12, HPos::Left)
                };
                draw_text(
                    plot_area,
                    "no change in any trial",
                    (px - bx + dx, py - by),
                    &no_change_style,
                    (anchor, VPos::Center),
                )?;
                continue;
            }
            for (j, (q, (_, colour))) in row.iter().zip(&panel.entities).enumerate() {
                let Some(q) = q else { continue };
                let y = centre + 0.4 - band * (j as f64 + 0.5);
                if q.p50.is_finite() && q.p50 != 0.0 {
                    chart.draw_series(std::iter::once(Rectangle::new(
                        [(0.0, y - half), (clamp(q.p50), y + half)],
                        colour.mix(0.45).filled(),
                    )))?;
                }
                if let Some((lo, hi)) = q.band90() {
                    draw_whisker(chart, (clamp(lo), clamp(hi)), y, half * 0.8, *colour)?;
                }
                if q.p50.is_finite() {
                    draw_median_dot(chart, (clamp(q.p50), y), 6, *colour)?;
                }
            }
        }
        Ok(())
    }
}

/// Draws `horizon_deltas.*` in `dir` from `dir/deltas_summary.csv`.
pub fn draw_horizon_deltas_chart(
    dir: &Path,
    formats: &[ChartFormat],
) -> Result<Vec<PathBuf>, ChartError> {
    let path = dir.join("deltas_summary.csv");
    let data = Comparison::read(&path)?;
    let chart =
        HorizonDeltas::new(&data, &Sides::read(dir)).ok_or_else(|| ChartError::Missing {
            path,
            what: "data for metric `mean_share_compute`, `total_revenue_usd`, \
               `total_export_fee_usd` or `total_unmet_h100e`"
                .into(),
        })?;
    write_chart(dir, "horizon_deltas", formats, &chart)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str =
        "scenario,base,month,metric,entity,mean,sd,p5,p25,p50,p75,p95,p_alt_higher,p_alt_lower\n";

    #[test]
    fn all_zero_differences_say_so() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = HEADER.to_string();
        for m in ["2026-01", "2026-02"] {
            for (metric, e) in [
                ("share_compute", "US"),
                ("share_compute", "Nvidia"),
                ("revenue_usd", "Nvidia"),
                ("vendor_net_usd", "Nvidia"),
                ("export_fee_usd", "US"),
            ] {
                s += &format!("alt,base,{m},{metric},{e},0,0,0,0,0,0,0,0,0\n");
            }
        }
        std::fs::write(dir.path().join("deltas_timeseries.csv"), s).unwrap();
        std::fs::write(
            dir.path().join("manifest.json"),
            r#"{"scenario":{"name":"alt","title":"Alt"},"base":{"name":"base"},"paired":true}"#,
        )
        .unwrap();
        let out = draw_delta_charts(dir.path(), &[ChartFormat::Svg]).unwrap();
        assert_eq!(out.len(), 2);
        for p in out {
            let svg = std::fs::read_to_string(p).unwrap();
            assert!(svg.contains("no change in any trial or month"));
            assert!(svg.contains("\u{201c}alt\u{201d} minus \u{201c}base\u{201d}"));
        }
    }

    #[test]
    fn unchanged_entities_are_named_not_drawn() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = HEADER.to_string();
        for m in ["2026-01", "2026-02"] {
            s += &format!("alt,base,{m},revenue_usd,Nvidia,-1e9,0,-2e9,-1e9,-1e9,-5e8,0,0,0.9\n");
            s += &format!("alt,base,{m},revenue_usd,Cambricon,0,0,0,0,0,0,0,0,0\n");
        }
        std::fs::write(dir.path().join("deltas_timeseries.csv"), s).unwrap();
        let out = draw_delta_charts(dir.path(), &[ChartFormat::Svg]).unwrap();
        assert_eq!(out, vec![dir.path().join("delta_revenue.svg")]);
        let svg = std::fs::read_to_string(&out[0]).unwrap();
        assert!(svg.contains("unchanged in every trial, not drawn: Cambricon"));
        assert!(svg.contains("$ B / month"));
    }

    #[test]
    fn horizon_bars_need_a_known_metric() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("deltas_summary.csv"),
            "scenario,base,metric,entity,mean,sd,p5,p25,p50,p75,p95,p_alt_higher,p_alt_lower\n\
             alt,base,total_units,H20,1,0,1,1,1,1,1,1,0\n",
        )
        .unwrap();
        assert!(matches!(
            draw_horizon_deltas_chart(dir.path(), &[ChartFormat::Svg]),
            Err(ChartError::Missing { .. })
        ));
    }
}
