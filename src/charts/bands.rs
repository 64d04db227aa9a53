//! A time-series panel: per entity a median line over shaded uncertainty
//! bands, a month axis, and a legend below the plot (never over the data).

use std::collections::BTreeMap;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::read::{Quantiles, Series};
use super::render::DrawErr;
use super::style::{
    ALPHA_50, ALPHA_90, AXIS, AxisLabels, GRID, LegendItem, MUTED, MonthAxis, MonthIndex, NumAxis,
    Swatch, TEXT, Ticked, bold, draw_axis_labels, draw_legend, draw_text, entity_colour,
    entity_rank, font, legend_height, nice_axis, origin_rank, text_width,
};

/// One entity's series, already in display units.
pub(crate) struct BandSeries {
    /// The entity, for the fixed order; `label` may add to it ("US export fee").
    pub entity: String,
    pub label: String,
    pub colour: RGBColor,
    pub points: Vec<(f64, Quantiles)>,
    /// Also shade the 50 % (p25–p75) band.
    pub band50: bool,
    /// Dashed median line (used for the export fee).
    pub dashed: bool,
}

impl BandSeries {
    /// Converts `series` into display units (`scale`), in the colour of `entity`.
    pub(crate) fn new(entity: &str, label: String, series: &Series, scale: f64) -> Self {
        BandSeries {
            entity: entity.to_string(),
            label,
            colour: entity_colour(entity),
            points: series
                .iter()
                .map(|(&m, q)| (f64::from(m), q.scaled(scale)))
                .collect(),
            band50: false,
            dashed: false,
        }
    }

    /// Whether any value at all can be drawn.
    pub(crate) fn has_data(&self) -> bool {
        self.points
            .iter()
            .any(|(_, q)| q.p50.is_finite() || q.band90().is_some() || q.band50().is_some())
    }

    fn legend_item(&self) -> LegendItem {
        LegendItem {
            label: self.label.clone(),
            colour: self.colour,
            swatch: Swatch::Bands {
                band50: self.band50,
                dashed: self.dashed,
            },
        }
    }
}

/// Puts series in the fixed entity order ([`entity_rank`], ties by label)
/// and drops empty ones.
pub(crate) fn order_series(series: Vec<BandSeries>) -> Vec<BandSeries> {
    order_series_by(series, entity_rank)
}

/// [`order_series`] for a list of origins ([`origin_rank`]).
pub(crate) fn order_origins(series: Vec<BandSeries>) -> Vec<BandSeries> {
    order_series_by(series, origin_rank)
}

fn order_series_by(mut series: Vec<BandSeries>, rank: fn(&str) -> (u8, String)) -> Vec<BandSeries> {
    series.retain(BandSeries::has_data);
    series.sort_by(|a, b| {
        rank(&a.entity)
            .cmp(&rank(&b.entity))
            .then_with(|| a.label.cmp(&b.label))
    });
    series
}

/// Month span covered by the given series maps.
pub(crate) fn month_span<'a>(
    maps: impl IntoIterator<Item = &'a BTreeMap<String, Series>>,
) -> Option<(MonthIndex, MonthIndex)> {
    let mut span: Option<(MonthIndex, MonthIndex)> = None;
    for map in maps {
        for s in map.values() {
            if let (Some((&a, _)), Some((&b, _))) = (s.first_key_value(), s.last_key_value()) {
                span = Some(span.map_or((a, b), |(lo, hi)| (lo.min(a), hi.max(b))));
            }
        }
    }
    span
}

/// Value axis from 0 (or below, for negative data) to the largest upper band.
pub(crate) fn value_axis(series: &[BandSeries], target: usize) -> NumAxis {
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

/// What one panel shows.
pub(crate) struct Panel<'a> {
    pub caption: Option<&'a str>,
    pub series: &'a [BandSeries],
    pub x: &'a MonthAxis,
    pub y: &'a NumAxis,
    pub y_desc: &'a str,
    /// Draw a dark line at zero (difference charts).
    pub zero_line: bool,
}

const CAPTION_H: u32 = 40;
const X_LABEL_H: u32 = 46;

/// Draws one panel into `area`: caption, plot, legend.
pub(crate) fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    panel: &Panel,
) -> Result<(), DrawErr> {
    let (w, h) = area.dim_in_pixel();
    let items: Vec<LegendItem> = panel.series.iter().map(BandSeries::legend_item).collect();
    let legend_h = legend_height(area, &items, w as i32);
    let (top, legend_area) = area.split_vertically(h.saturating_sub(legend_h));
    draw_legend(&legend_area, &items)?;

    let plot_area = match panel.caption {
        Some(caption) => {
            draw_text(
                &top,
                caption,
                (8, CAPTION_H as i32 / 2),
                &bold(22.0, TEXT),
                (HPos::Left, VPos::Center),
            )?;
            top.split_vertically(CAPTION_H).1
        }
        None => top,
    };

    // Room for the widest tick label plus the rotated axis title.
    let tick_style = font(19.0, MUTED);
    let label_w = panel
        .y
        .ticks
        .iter()
        .map(|&t| text_width(area, &panel.y.label(t), &tick_style))
        .max()
        .unwrap_or(30);
    let y_label_w = label_w + 58;

    let (x, y) = (panel.x, panel.y);
    // A little room beyond an axis end at exactly 0, so that a median of 0
    // (Nvidia's revenue in most baseline trials) is drawn whole above the
    // axis line rather than half hidden under it; the ticks stay put.
    let pad = 0.012 * (y.hi - y.lo);
    let y_lo = if y.lo == 0.0 { y.lo - pad } else { y.lo };
    let y_hi = if y.hi == 0.0 { y.hi + pad } else { y.hi };
    let mut chart = ChartBuilder::on(&plot_area)
        .margin_top(10)
        .margin_right(28)
        .x_label_area_size(X_LABEL_H)
        .y_label_area_size(y_label_w)
        .build_cartesian_2d(
            Ticked::new(x.lo, x.hi, &x.ticks),
            Ticked::new(y_lo, y_hi, &y.ticks),
        )?;

    let hidden = tick_style.color(&TRANSPARENT);
    chart
        .configure_mesh()
        .bold_line_style(GRID.stroke_width(1))
        .light_line_style(TRANSPARENT)
        .axis_style(AXIS.stroke_width(1))
        .set_all_tick_mark_size(6)
        .label_style(hidden)
        .draw()?;
    draw_axis_labels(
        &plot_area,
        &chart,
        &AxisLabels {
            x: x.ticks.iter().map(|&t| (t, x.label(t))).collect(),
            y: y.ticks.iter().map(|&t| (t, y.label(t))).collect(),
            x_style: tick_style.clone(),
            y_style: tick_style.clone(),
            y_desc: Some((panel.y_desc, y_label_w)),
        },
    )?;

    let clamp = |v: f64| v.clamp(y.lo, y.hi);
    // All bands first, then all lines, so no band veils another entity's line.
    for s in panel.series {
        draw_band(&mut chart, s, |q| q.band90(), ALPHA_90, clamp)?;
        if s.band50 {
            draw_band(&mut chart, s, |q| q.band50(), ALPHA_50, clamp)?;
        }
    }
    if panel.zero_line && y.lo <= 0.0 && y.hi >= 0.0 {
        chart.draw_series(std::iter::once(PathElement::new(
            vec![(x.lo, 0.0), (x.hi, 0.0)],
            TEXT.stroke_width(2),
        )))?;
    }
    for s in panel.series {
        let line: Vec<(f64, f64)> = s
            .points
            .iter()
            .filter(|(_, q)| q.p50.is_finite())
            .map(|&(m, q)| (m, clamp(q.p50)))
            .collect();
        let style = s.colour.stroke_width(3);
        match line.len() {
            0 => {}
            // A single month has no line to draw: mark it with a dot.
            1 => {
                chart.draw_series(std::iter::once(Circle::new(line[0], 6, s.colour.filled())))?;
            }
            _ if s.dashed => {
                chart.draw_series(DashedLineSeries::new(line, 12, 8, style))?;
            }
            _ => {
                chart.draw_series(LineSeries::new(line, style))?;
            }
        }
    }
    Ok(())
}

type PanelChart<'a, DB> = ChartContext<'a, DB, Cartesian2d<Ticked, Ticked>>;

/// Shades one band as a polygon (upper edge forward, lower edge back); a
/// lone month gets a vertical bar instead, since a polygon would be empty.
fn draw_band<DB: DrawingBackend>(
    chart: &mut PanelChart<'_, DB>,
    s: &BandSeries,
    band: impl Fn(&Quantiles) -> Option<(f64, f64)>,
    alpha: f64,
    clamp: impl Fn(f64) -> f64,
) -> Result<(), DrawErr> {
    let pts: Vec<(f64, f64, f64)> = s
        .points
        .iter()
        .filter_map(|(m, q)| band(q).map(|(lo, hi)| (*m, clamp(lo), clamp(hi))))
        .collect();
    let fill = s.colour.mix(alpha);
    match pts.len() {
        0 => {}
        1 => {
            let (m, lo, hi) = pts[0];
            chart.draw_series(std::iter::once(PathElement::new(
                vec![(m, lo), (m, hi)],
                fill.stroke_width(14),
            )))?;
        }
        _ => {
            let poly: Vec<(f64, f64)> = pts
                .iter()
                .map(|&(m, _, hi)| (m, hi))
                .chain(pts.iter().rev().map(|&(m, lo, _)| (m, lo)))
                .collect();
            chart.draw_series(std::iter::once(Polygon::new(poly, fill.filled())))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(entity: &str, p50: f64) -> BandSeries {
        let q = Quantiles {
            mean: f64::NAN,
            sd: f64::NAN,
            p5: p50,
            p25: p50,
            p50,
            p75: p50,
            p95: p50,
            p_higher: f64::NAN,
            p_lower: f64::NAN,
        };
        let s: Series = [(0, q), (1, q)].into_iter().collect();
        BandSeries::new(entity, entity.to_string(), &s, 1.0)
    }

    #[test]
    fn order_is_fixed_not_by_size() {
        let labels = |v: Vec<BandSeries>| -> Vec<String> {
            order_series(v).into_iter().map(|s| s.label).collect()
        };
        // Whichever is larger, the same order (baseline vs no-controls).
        for (us, cn) in [(0.1, 0.9), (0.9, 0.1)] {
            assert_eq!(
                labels(vec![series("CN", cn), series("US", us)]),
                ["US", "CN"]
            );
        }
        assert_eq!(
            labels(vec![
                series("Other-CN-vendors", 5.0),
                series("Zeta", 0.0),
                series("Cambricon", -1.0),
                series("Huawei", 9.0),
                series("Nvidia", 0.0),
            ]),
            ["Nvidia", "Huawei", "Cambricon", "Zeta", "Other-CN-vendors"]
        );
    }
}
