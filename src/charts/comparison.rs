//! `comparison`: horizon metrics of several scenarios side by side, as
//! median dots with p5–p95 whiskers in small panels.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::read::{Comparison, Quantiles};
use super::render::{Chart, DrawErr};
use super::style::{
    AXIS, AxisLabels, GRID, LegendItem, MUTED, PAGE_MARGIN, Swatch, TEXT, Ticked, bold,
    draw_axis_labels, draw_legend, draw_text, ellipsize, entity_colour, font, legend_height,
    nice_axis, page, text_width,
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
        let origins = data.entities("total_export_fee_usd");
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
            "Source: tradeflow Monte Carlo simulation. Dots show the median across runs; \
             whiskers the 5th to 95th percentile.",
        )?;
        let body = body.margin(0, 0, PAGE_MARGIN - 10, PAGE_MARGIN - 10);
        let (w, _) = body.dim_in_pixel();
        let legend_h = legend_height(&body, &self.legend, w as i32);
        let (legend_area, grid) = body.split_vertically(legend_h);
        draw_legend(&legend_area, &self.legend)?;

        let cols = self.panels.len().min(2);
        let rows = self.panels.len().div_ceil(2);
        let cells = grid.split_evenly((rows, cols));
        for (i, (panel, cell)) in self.panels.iter().zip(&cells).enumerate() {
            // Gutter between columns and rows.
            let (l, r) = if cols == 2 && i % 2 == 0 {
                (0, 24)
            } else if cols == 2 {
                (24, 0)
            } else {
                (0, 0)
            };
            let b = if i / 2 + 1 < rows { 16 } else { 0 };
            self.draw_panel(&cell.margin(4, b, l, r), panel)?;
        }
        Ok(())
    }
}

impl ComparisonChart {
    fn draw_panel<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        panel: &DotPanel,
    ) -> Result<(), DrawErr> {
        const CAPTION_H: u32 = 38;
        let (w, _) = area.dim_in_pixel();
        draw_text(
            area,
            &panel.caption,
            (4, CAPTION_H as i32 / 2),
            &bold(21.0, TEXT),
            (HPos::Left, VPos::Center),
        )?;
        let plot_area = area.split_vertically(CAPTION_H).1;

        // Scenario labels on the left, shortened if very long.
        let label_style = font(19.0, TEXT);
        let max_label = (w as f64 * 0.36) as u32;
        let labels: Vec<String> = self
            .scenarios
            .iter()
            .map(|s| ellipsize(area, s, &label_style, max_label))
            .collect();
        let label_w = labels
            .iter()
            .map(|l| text_width(area, l, &label_style))
            .max()
            .unwrap_or(40);

        let (lo, hi) = panel
            .values
            .iter()
            .flatten()
            .flatten()
            .flat_map(|q| [q.p5, q.p50, q.p95])
            .filter(|v| v.is_finite())
            .fold((0.0f64, 0.0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
        let x = nice_axis(lo, hi, 5);

        let n = self.scenarios.len().max(1);
        // Scenario i sits at y = n-1-i so the first scenario is on top.
        let centres: Vec<f64> = (0..n).map(|i| i as f64).collect();
        let mut chart = ChartBuilder::on(&plot_area)
            .margin_top(6)
            .margin_right(24)
            .x_label_area_size(40)
            .y_label_area_size(label_w + 18)
            .build_cartesian_2d(
                Ticked::new(x.lo, x.hi, &x.ticks),
                Ticked::new(-0.5, n as f64 - 0.5, &centres),
            )?;
        let hidden = label_style.color(&TRANSPARENT);
        chart
            .configure_mesh()
            .disable_y_mesh()
            .bold_line_style(GRID.stroke_width(1))
            .light_line_style(TRANSPARENT)
            .axis_style(AXIS.stroke_width(1))
            .set_all_tick_mark_size(5)
            .label_style(hidden)
            .draw()?;
        draw_axis_labels(
            &plot_area,
            &chart,
            &AxisLabels {
                x: x.ticks.iter().map(|&t| (t, x.label(t))).collect(),
                // Scenario i sits at y = n-1-i.
                y: labels
                    .iter()
                    .enumerate()
                    .map(|(i, l)| ((n - 1 - i) as f64, l.clone()))
                    .collect(),
                x_style: font(19.0, MUTED),
                y_style: label_style.clone(),
                y_desc: None,
            },
        )?;

        // Light separators between scenario rows.
        for k in 1..n {
            let yk = k as f64 - 0.5;
            chart.draw_series(std::iter::once(PathElement::new(
                vec![(x.lo, yk), (x.hi, yk)],
                GRID.stroke_width(1),
            )))?;
        }

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
                    let (lo, hi) = (clamp(lo), clamp(hi));
                    let style = colour.stroke_width(3);
                    chart.draw_series([
                        PathElement::new(vec![(lo, y), (hi, y)], style),
                        PathElement::new(vec![(lo, y - cap), (lo, y + cap)], style),
                        PathElement::new(vec![(hi, y - cap), (hi, y + cap)], style),
                    ])?;
                }
                if q.p50.is_finite() {
                    let p = (clamp(q.p50), y);
                    chart.draw_series([
                        Circle::new(p, 7, colour.filled()),
                        Circle::new(p, 7, WHITE.stroke_width(2)),
                    ])?;
                }
            }
        }
        Ok(())
    }
}
