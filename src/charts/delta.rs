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

use super::bands::{BandSeries, Panel, draw_panel, month_span, order_origins, order_series};
use super::read::{Comparison, Quantiles, Series, TimeSeries};
use super::render::{Chart, DrawErr, write_chart};
use super::rows::{
    RowChart, RowPanel, draw_median_dot, draw_panel_grid, draw_row_panel, draw_whisker,
};
use super::style::{
    LegendItem, MUTED, MonthAxis, PAGE_MARGIN, Swatch, TEXT, draw_legend, draw_text, entity_colour,
    entity_rank, font, legend_height, nice_axis, origin_rank, page, text_width,
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

/// True when the data prove that every trial tied in every month (see
/// [`Quantiles::never_changes`]); all-zero quantiles alone do not.
fn never_changes(series: &Series) -> bool {
    series.values().all(Quantiles::never_changes)
}

/// Keeps the series that change somewhere; if none does, keeps them all (so
/// that "no change at all" is still drawn). Returns the kept series and the
/// labels of the unchanged ones.
fn drop_unchanged(
    series: Vec<(BandSeries, bool)>,
    rank: fn(&str) -> (u8, String),
) -> (Vec<BandSeries>, Vec<String>) {
    if series.iter().all(|(_, unchanged)| *unchanged) {
        return (series.into_iter().map(|(s, _)| s).collect(), Vec::new());
    }
    let mut kept = Vec::new();
    let mut unchanged = Vec::new();
    for (s, same) in series {
        if same {
            unchanged.push(s);
        } else {
            kept.push(s);
        }
    }
    (kept, ranked_labels(unchanged, rank))
}

/// The labels of `series` in the fixed entity order (ties by label), so a
/// list of names reads the same as the legends.
fn ranked_labels(mut series: Vec<BandSeries>, rank: fn(&str) -> (u8, String)) -> Vec<String> {
    series.sort_by_cached_key(|s| (rank(&s.entity), s.label.clone()));
    series.into_iter().map(|s| s.label).collect()
}

/// "2.6 %" for a share of trials; never rounds a non-zero share to 0 or a
/// share below one to 100.
fn percent(p: f64) -> String {
    let v = p * 100.0;
    if v == 0.0 {
        "0 %".into()
    } else if v < 0.05 {
        "< 0.1 %".into()
    } else if v < 10.0 {
        format!("{v:.1} %")
    } else if v < 99.5 {
        format!("{v:.0} %")
    } else if v < 100.0 {
        "> 99 %".into()
    } else {
        "100 %".into()
    }
}

/// The largest finite value, if any.
fn max_finite(values: impl Iterator<Item = f64>) -> Option<f64> {
    values.filter(|v| v.is_finite()).reduce(f64::max)
}

/// Largest share of trials that changed (either way) in any one month.
fn max_changed(s: &BandSeries) -> Option<f64> {
    max_finite(s.points.iter().map(|(_, q)| q.p_higher + q.p_lower))
}

/// Whether a drawn series lies flat at zero (median and bands 0 in every
/// month), and if so whether the data prove that some trials change
/// (`Some(true)`) or prove nothing either way (`Some(false)`, e.g. a file
/// without the `p_alt_*`, `mean` and `sd` columns).
fn flat(s: &BandSeries) -> Option<bool> {
    if !s.points.iter().all(|(_, q)| q.quantiles_zero())
        || s.points.iter().all(|(_, q)| q.never_changes())
    {
        return None;
    }
    Some(s.points.iter().any(|(_, q)| q.some_change()))
}

/// The footer's notes on unchanged (not drawn) and flat (drawn) series.
fn unchanged_note(unchanged: &[String], drawn: &[&BandSeries]) -> String {
    let mut note = String::new();
    if !unchanged.is_empty() {
        note += &format!(
            "; unchanged in every trial and month, not drawn: {}",
            unchanged.join(", ")
        );
    }
    let changing: Vec<String> = drawn
        .iter()
        .filter(|s| flat(s) == Some(true))
        .map(|s| match max_changed(s) {
            Some(p) if p > 0.0 => format!("{} (up to {} of trials a month)", s.label, percent(p)),
            _ => s.label.clone(),
        })
        .collect();
    if !changing.is_empty() {
        note += &format!(
            "; flat at 0 (median and 90 % band 0 in every month) but changed in some trials: {}",
            changing.join(", ")
        );
    }
    // No claim either way where the data cannot tell.
    let unknown: Vec<&str> = drawn
        .iter()
        .filter(|s| flat(s) == Some(false))
        .map(|s| s.label.as_str())
        .collect();
    if !unknown.is_empty() {
        note += &format!(
            "; flat at 0 (median and 90 % band 0 in every month): {}",
            unknown.join(", ")
        );
    }
    note
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
            let same = never_changes(series);
            if vendor_names.contains(entity) {
                vendors.push((s, same));
            } else {
                origins.push((s, same));
            }
        }
        let (origins, mut unchanged) = drop_unchanged(origins, origin_rank);
        let (vendors, u) = drop_unchanged(vendors, entity_rank);
        unchanged.extend(u);
        let (origins, vendors) = (order_origins(origins), order_series(vendors));
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
                unchanged_note(
                    &self.unchanged,
                    &self.origins.iter().chain(&self.vendors).collect::<Vec<_>>()
                )
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

/// Whether every quantile of every series is zero (or missing).
fn quantiles_zero(series: &[&BandSeries]) -> bool {
    series
        .iter()
        .flat_map(|s| &s.points)
        .all(|(_, q)| q.quantiles_zero())
}

/// The subtitle, with a note when nothing changes, or when every line and
/// band lies at zero although some trials change.
fn subtitle(text: String, series: &[&BandSeries]) -> String {
    let points = || series.iter().flat_map(|s| &s.points);
    if points().all(|(_, q)| q.never_changes()) {
        text + " \u{2014} no change in any trial or month"
    } else if quantiles_zero(series) {
        text + " \u{2014} medians and 90 % bands 0 in every month"
    } else {
        text
    }
}

/// A value axis covering every band of `series` and zero (centred on zero
/// when nothing changes).
fn shared_axis(series: &[&BandSeries], target: usize) -> super::style::NumAxis {
    if quantiles_zero(series) {
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
                vendors.push((s, never_changes(series)));
            }
        }
        let mut fees = Vec::new();
        if let Some(fee) = ts.metric("export_fee_usd") {
            for (origin, series) in fee {
                let mut s = BandSeries::new(origin, format!("{origin} export fee"), series, 1e-9);
                s.dashed = true;
                fees.push((s, never_changes(series)));
            }
        }
        // Fees are kept apart so they are listed after the vendors.
        let everything_same = vendors.iter().chain(&fees).all(|(_, same)| *same);
        let mut unchanged = Vec::new();
        let mut keep = |group: Vec<(BandSeries, bool)>, origins: bool| -> Vec<BandSeries> {
            let (mut kept, mut same_here) = (Vec::new(), Vec::new());
            for (s, same) in group {
                if same && !everything_same {
                    same_here.push(s);
                } else {
                    kept.push(s);
                }
            }
            if origins {
                unchanged.extend(ranked_labels(same_here, origin_rank));
                order_origins(kept)
            } else {
                unchanged.extend(ranked_labels(same_here, entity_rank));
                order_series(kept)
            }
        };
        let mut series = keep(vendors, false);
        series.extend(keep(fees, true));
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
                unchanged_note(&self.unchanged, &self.series.iter().collect::<Vec<_>>())
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
        // Entities that tie in every trial of every alternative are left out
        // (the footer says so), unless that would leave nothing. Zero
        // quantiles are not enough: a change in a few trials leaves them 0.
        let changes = |j: usize| {
            values
                .iter()
                .any(|row| row[j].is_some_and(|q| !q.never_changes()))
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
        let origins = data.origins("total_export_fee_usd");
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
        let (xr, _) = chart.plotting_area().get_pixel_range();
        let (bx, by) = plot_area.get_base_pixel();
        for (s, row) in panel.values.iter().enumerate() {
            let centre = (n - 1 - s) as f64;
            // Where the dots would all sit at zero, say what the row holds
            // instead of leaving it blank-looking.
            if let Some(lines) = row_note(row) {
                let (px, py) = chart.backend_coord(&(0.0, centre));
                // Beside the zero line, on the side with more room; one line
                // if it fits, else one line per part.
                let (room, dx, anchor) = if px - xr.start > xr.end - px {
                    (px - xr.start, -14, HPos::Right)
                } else {
                    (xr.end - px, 14, HPos::Left)
                };
                let widest = |lines: &[String], style: &TextStyle| {
                    lines
                        .iter()
                        .map(|l| text_width(plot_area, l, style) as i32 + 20)
                        .max()
                        .unwrap_or(0)
                };
                let one = vec![lines.join(" ")];
                let lines = if widest(&one, &no_change_style) <= room {
                    one
                } else {
                    lines
                };
                // Narrow panels: a smaller font rather than text over the edge.
                let mut size = 18.0;
                let mut style = no_change_style.clone();
                while size > 13.0 && widest(&lines, &style) > room {
                    size -= 1.0;
                    style = font(size, MUTED);
                }
                let step = (size * 1.25) as i32;
                let first = py - by - step * (lines.len() as i32 - 1) / 2;
                for (i, line) in lines.iter().enumerate() {
                    draw_text(
                        plot_area,
                        line,
                        (px - bx + dx, first + step * i as i32),
                        &style,
                        (anchor, VPos::Center),
                    )?;
                }
            }
            // Every trial tied: the note says it all.
            if row.iter().flatten().all(|q| q.never_changes()) {
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

/// The note for an alternative's row whose medians and 90 % intervals are
/// all zero (parts to print on one line or one per line), or `None` when
/// the row shows a change. "No change in any trial" only when every trial
/// tied, as `p_alt_higher` = `p_alt_lower` = 0 proves.
fn row_note(row: &[Option<Quantiles>]) -> Option<Vec<String>> {
    let present: Vec<&Quantiles> = row.iter().flatten().collect();
    if present.is_empty() {
        return Some(vec!["no data".into()]);
    }
    let zero = |q: &&Quantiles| [q.p5, q.p50, q.p95].iter().all(|v| *v == 0.0 || v.is_nan());
    if !present.iter().all(zero) {
        return None;
    }
    if present.iter().all(|q| q.never_changes()) {
        return Some(vec!["no change in any trial".into()]);
    }
    let one = present.len() == 1;
    let head = if one {
        "median and 90 % interval 0;"
    } else {
        "medians and 90 % intervals 0;"
    };
    let (hi, lo) = (
        max_finite(present.iter().map(|q| q.p_higher)),
        max_finite(present.iter().map(|q| q.p_lower)),
    );
    // Over several entities, the largest shares ("≤"), to stay short.
    let upto = if one { "" } else { "\u{2264} " };
    let trials = match (hi, lo) {
        (Some(hi), Some(lo)) if hi > 0.0 && lo > 0.0 => format!(
            "higher in {upto}{} of trials, lower in {upto}{}",
            percent(hi),
            percent(lo)
        ),
        (Some(hi), Some(_)) if hi > 0.0 => {
            format!("higher in {upto}{} of trials, never lower", percent(hi))
        }
        (Some(_), Some(lo)) if lo > 0.0 => {
            format!("lower in {upto}{} of trials, never higher", percent(lo))
        }
        _ => return Some(vec![head.trim_end_matches(';').into()]),
    };
    Some(vec![head.into(), trials])
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

    /// The SVG's text elements joined by spaces, so that a phrase wrapped
    /// onto two lines still reads as one.
    fn svg_text(svg: &str) -> String {
        svg.split("</text>")
            .filter_map(|chunk| chunk.rsplit_once('>').map(|(_, t)| t.trim()))
            .filter(|t| !t.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The text of the per-month delta chart drawn from `csv` (a
    /// `deltas_timeseries.csv`), as an SVG's words in reading order.
    fn monthly_chart_text(csv: &str) -> String {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("deltas_timeseries.csv"), csv).unwrap();
        let out = draw_delta_charts(dir.path(), &[ChartFormat::Svg]).unwrap();
        svg_text(&std::fs::read_to_string(&out[0]).unwrap())
    }

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
            let svg = svg_text(&std::fs::read_to_string(p).unwrap());
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
        let svg = svg_text(&std::fs::read_to_string(&out[0]).unwrap());
        assert!(svg.contains("unchanged in every trial and month, not drawn: Cambricon"));
        assert!(svg.contains("$ B / month"));
    }

    #[test]
    fn zero_band_with_rare_changes_is_drawn_not_called_unchanged() {
        // Quantiles all 0 in every month, but 3 % of trials lower in one
        // month: the old test on quantiles alone hid it as "unchanged".
        let mut s = HEADER.to_string();
        for (m, lower) in [("2026-01", "0"), ("2026-02", "0.03")] {
            s += &format!("alt,base,{m},revenue_usd,Nvidia,-1e9,0,-2e9,-1e9,-1e9,-5e8,0,0,0.9\n");
            s += &format!("alt,base,{m},revenue_usd,Cambricon,-1e6,1e7,0,0,0,0,0,0,{lower}\n");
            s += &format!("alt,base,{m},revenue_usd,Hygon,0,0,0,0,0,0,0,0,0\n");
        }
        let svg = monthly_chart_text(&s);
        assert!(svg.contains("not drawn: Hygon"), "{svg}");
        assert!(!svg.contains("not drawn: Cambricon"));
        assert!(svg.contains("Cambricon (up to 3.0 % of trials a month)"));
        assert!(!svg.contains("no change in any trial"));
    }

    #[test]
    fn all_zero_bands_with_rare_changes_are_not_no_change() {
        let mut s = HEADER.to_string();
        for m in ["2026-01", "2026-02"] {
            s += &format!("alt,base,{m},revenue_usd,Nvidia,-1e6,1e7,0,0,0,0,0,0.01,0.02\n");
        }
        let svg = monthly_chart_text(&s);
        assert!(!svg.contains("no change in any trial"), "{svg}");
        assert!(svg.contains("medians and 90 % bands 0 in every month"));
    }

    #[test]
    fn without_p_alt_columns_mean_and_sd_decide() {
        // A hand-made file without p_alt_higher/p_alt_lower: Hygon's mean
        // and sd 0 prove it never changed; Cambricon's sd proves it did.
        let mut s = "scenario,base,month,metric,entity,mean,sd,p5,p25,p50,p75,p95\n".to_string();
        for m in ["2026-01", "2026-02"] {
            s += &format!("alt,base,{m},revenue_usd,Nvidia,-1e9,1e8,-2e9,-1e9,-1e9,-5e8,0\n");
            s += &format!("alt,base,{m},revenue_usd,Cambricon,-1e6,1e7,0,0,0,0,0\n");
            s += &format!("alt,base,{m},revenue_usd,Hygon,0,0,0,0,0,0,0\n");
        }
        let svg = monthly_chart_text(&s);
        assert!(svg.contains("not drawn: Hygon"), "{svg}");
        assert!(
            svg.contains("but changed in some trials: Cambricon."),
            "{svg}"
        );
    }

    #[test]
    fn without_any_evidence_flat_series_claim_nothing() {
        // Only quantiles: an all-zero series may or may not have changed.
        let mut s = "scenario,base,month,metric,entity,p5,p25,p50,p75,p95\n".to_string();
        for m in ["2026-01", "2026-02"] {
            s += &format!("alt,base,{m},revenue_usd,Nvidia,-2e9,-1e9,-1e9,-5e8,0\n");
            s += &format!("alt,base,{m},revenue_usd,Hygon,0,0,0,0,0\n");
        }
        let svg = monthly_chart_text(&s);
        assert!(!svg.contains("changed in some trials"), "{svg}");
        assert!(!svg.contains("not drawn"), "{svg}");
        assert!(
            svg.contains("flat at 0 (median and 90 % band 0 in every month): Hygon."),
            "{svg}"
        );
    }

    #[test]
    fn not_drawn_list_is_in_the_fixed_entity_order() {
        let mut s = HEADER.to_string();
        for m in ["2026-01", "2026-02"] {
            s +=
                &format!("alt,base,{m},revenue_usd,Cambricon,-1e9,0,-2e9,-1e9,-1e9,-5e8,0,0,0.9\n");
            for e in ["Zeta", "Huawei", "Nvidia"] {
                s += &format!("alt,base,{m},revenue_usd,{e},0,0,0,0,0,0,0,0,0\n");
            }
        }
        let svg = monthly_chart_text(&s);
        assert!(svg.contains("not drawn: Nvidia, Huawei, Zeta."), "{svg}");
    }

    #[test]
    fn unchanged_fees_list_us_and_cn_before_other_origins() {
        let mut s = HEADER.to_string();
        for m in ["2026-01", "2026-02"] {
            s +=
                &format!("alt,base,{m},revenue_usd,Cambricon,-1e9,0,-2e9,-1e9,-1e9,-5e8,0,0,0.9\n");
            for o in ["EU", "CN", "US"] {
                s += &format!("alt,base,{m},export_fee_usd,{o},0,0,0,0,0,0,0,0,0\n");
            }
        }
        let svg = monthly_chart_text(&s);
        assert!(
            svg.contains("not drawn: US export fee, CN export fee, EU export fee."),
            "{svg}"
        );
    }

    /// A horizon summary with one alternative per given row.
    fn horizon_svg(rows: &str) -> String {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("deltas_summary.csv"),
            format!(
                "scenario,base,metric,entity,mean,sd,p5,p25,p50,p75,p95,p_alt_higher,p_alt_lower\n{rows}"
            ),
        )
        .unwrap();
        let out = draw_horizon_deltas_chart(dir.path(), &[ChartFormat::Svg]).unwrap();
        svg_text(&std::fs::read_to_string(&out[0]).unwrap())
    }

    #[test]
    fn horizon_zero_quantiles_with_changes_are_not_no_change() {
        // The domestic-mandate export fee: every quantile 0, 2.6 % lower.
        let svg = horizon_svg(
            "alt,base,total_export_fee_usd,US,-1.3e6,2.1e7,0,0,0,0,0,0,0.026\n\
             other,base,total_export_fee_usd,US,-1e9,1e9,-3e9,-1e9,-1e8,0,0,0,0.6\n",
        );
        assert!(!svg.contains("no change in any trial"), "{svg}");
        assert!(svg.contains("median and 90 % interval 0"));
        assert!(svg.contains("lower in 2.6 % of trials, never higher"));
    }

    #[test]
    fn horizon_ties_in_every_trial_say_no_change() {
        let svg = horizon_svg(
            "alt,base,total_export_fee_usd,US,0,0,0,0,0,0,0,0,0\n\
             other,base,total_export_fee_usd,US,-1e9,1e9,-3e9,-1e9,-1e8,0,0,0,0.6\n",
        );
        assert!(svg.contains("no change in any trial"), "{svg}");
    }

    #[test]
    fn a_long_footer_wraps_instead_of_being_cut() {
        let mut s = HEADER.to_string();
        let names: Vec<String> = (1..=12).map(|i| format!("Vendor-number-{i}")).collect();
        for m in ["2026-01", "2026-02"] {
            s += &format!("alt,base,{m},revenue_usd,Nvidia,-1e9,0,-2e9,-1e9,-1e9,-5e8,0,0,0.9\n");
            for n in &names {
                s += &format!("alt,base,{m},revenue_usd,{n},0,0,0,0,0,0,0,0,0\n");
            }
        }
        let svg = monthly_chart_text(&s);
        assert!(!svg.contains('\u{2026}'), "{svg}");
        let mut sorted = names.clone();
        sorted.sort();
        let note = format!(
            "shaded bands the 90 % interval; unchanged in every trial and month, not drawn: {}.",
            sorted.join(", ")
        );
        assert!(svg.contains(&note), "{svg}");
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
