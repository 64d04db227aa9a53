//! `comparison`: horizon metrics of several scenarios side by side, as
//! median dots with p5–p95 whiskers in small panels.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::read::{Comparison, Quantiles};
use super::render::{Chart, DrawErr};
use super::rows::{
    RowChart, RowPanel, draw_median_dot, draw_panel_grid, draw_row_panel, draw_whisker,
};
use super::style::{
    LegendItem, PAGE_MARGIN, Swatch, draw_legend, entity_colour, legend_height, page,
};

/// One small panel: a metric for every scenario and entity.
struct DotPanel {
    caption: String,
    /// (entity, legend label, colour)
    entities: Vec<(String, String, RGBColor)>,
    /// `values[scenario][entity]` in display units.
    values: Vec<Vec<Option<Quantiles>>>,
}

impl DotPanel {
    fn build(
        data: &Comparison,
        metric: &str,
        caption: String,
        entities: Vec<String>,
        scale: f64,
        label: impl Fn(&str) -> String,
    ) -> Option<Self> {
        let values: Vec<Vec<Option<Quantiles>>> = (0..data.scenarios.len())
            .map(|s| {
                entities
                    .iter()
                    .map(|e| data.get(s, metric, e).map(|q| q.scaled(scale)))
                    .collect()
            })
            .collect();
        let drawable = values
            .iter()
            .flatten()
            .flatten()
            .any(|q| q.p50.is_finite() || q.band90().is_some());
        drawable.then(|| DotPanel {
            caption,
            entities: entities
                .iter()
                .map(|e| (e.clone(), label(e), entity_colour(e)))
                .collect(),
            values,
        })
    }
}

/// The data of the comparison chart.
pub(crate) struct ComparisonChart {
    scenarios: Vec<String>,
    panels: Vec<DotPanel>,
    legend: Vec<LegendItem>,
}

impl ComparisonChart {
    /// `None` when none of the four panels has drawable data.
    pub(crate) fn new(data: &Comparison) -> Option<Self> {
        // Vendors as in the time series: entities of the vendor-net metric,
        // plus revenue entities in case that metric is missing.
        let mut vendors = data.entities("total_vendor_net_usd");
        for e in data.entities("total_revenue_usd") {
            if e != "total" && !vendors.contains(&e) {
                vendors.push(e);
            }
        }
        let shares: Vec<String> = data
            .entities("mean_share_compute")
            .into_iter()
            // Without any vendor information, show every entity rather than none.
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
        let unmet = data.entities("total_unmet_h100e");

        let same = |e: &str| e.to_string();
        let panels: Vec<DotPanel> = [
            DotPanel::build(
                data,
                "mean_share_compute",
                "Mean share of compute, by vendor (%)".into(),
                shares,
                100.0,
                same,
            ),
            DotPanel::build(
                data,
                "total_revenue_usd",
                "Revenue over the horizon ($ B)".into(),
                revenue,
                1e-9,
                same,
            ),
            DotPanel::build(
                data,
                "total_export_fee_usd",
                fee_caption,
                origins,
                1e-9,
                |e| format!("{e} export fee"),
            ),
            DotPanel::build(
                data,
                "total_unmet_h100e",
                "Unmet demand over the horizon (million H100e)".into(),
                unmet,
                1e-6,
                same,
            ),
        ]
        .into_iter()
        .flatten()
        .collect();
        if panels.is_empty() {
            return None;
        }

        // One shared legend; the market aggregate is explained by its caption.
        let mut legend: Vec<LegendItem> = Vec::new();
        for (entity, label, colour) in panels.iter().flat_map(|p| &p.entities) {
            if entity != "market" && entity != "total" && !legend.iter().any(|l| &l.label == label)
            {
                legend.push(LegendItem {
                    label: label.clone(),
                    colour: *colour,
                    swatch: Swatch::Dot,
                });
            }
        }
        Some(ComparisonChart {
            scenarios: data.scenarios.clone(),
            panels,
            legend,
        })
    }
}

impl Chart for ComparisonChart {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), DrawErr> {
        let body = page(
            root,
            "Scenario comparison",
            "medians with 90 % intervals",
            "Source: tradeflow Monte Carlo simulation. Dots show the median across trials; \
             whiskers the 5th to 95th percentile.",
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

impl ComparisonChart {
    fn draw_panel<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        panel: &DotPanel,
    ) -> Result<(), DrawErr> {
        let values = panel.values.iter().flatten().flatten();
        draw_row_panel(
            area,
            &panel.caption,
            &self.scenarios,
            values,
            |chart, rows| self.draw_dots(chart, rows, panel),
        )
    }

    /// Each scenario's row: a median dot with its 90 % whisker per entity.
    fn draw_dots<DB: DrawingBackend>(
        &self,
        chart: &mut RowChart<'_, DB>,
        rows: &RowPanel<'_, DB>,
        panel: &DotPanel,
    ) -> Result<(), DrawErr> {
        let (x, n) = (&rows.x, rows.n);
        let k = panel.entities.len();
        // Entities are spread vertically within a row, first on top.
        let spread = if k > 1 {
            (0.16 * (k - 1) as f64).min(0.62)
        } else {
            0.0
        };
        let cap = if k > 1 {
            (spread / (k - 1) as f64 * 0.3).min(0.08)
        } else {
            0.08
        };
        let clamp = |v: f64| v.clamp(x.lo, x.hi);
        for (s, row) in panel.values.iter().enumerate() {
            let centre = (n - 1 - s) as f64;
            for (j, (q, (_, _, colour))) in row.iter().zip(&panel.entities).enumerate() {
                let Some(q) = q else { continue };
                let y = if k > 1 {
                    centre + spread / 2.0 - j as f64 * spread / (k - 1) as f64
                } else {
                    centre
                };
                if let Some((lo, hi)) = q.band90() {
                    draw_whisker(chart, (clamp(lo), clamp(hi)), y, cap, *colour)?;
                }
                if q.p50.is_finite() {
                    draw_median_dot(chart, (clamp(q.p50), y), 7, *colour)?;
                }
            }
        }
        Ok(())
    }
}
