//! Panels of labelled rows on one value axis — a row per scenario or per
//! alternative, the first on top — laid out two to a line: the scenario
//! comparison (medians with whiskers) and the horizon deltas (bars with
//! whiskers) are both drawn on them.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::read::Quantiles;
use super::render::DrawErr;
use super::style::{
    AXIS, AxisLabels, GRID, MUTED, NumAxis, TEXT, Ticked, bold, draw_axis_labels, draw_text,
    ellipsize, font, nice_axis, text_width,
};

/// The chart a row panel draws on: values across, rows `0..n` up the side.
pub(crate) type RowChart<'a, DB> = ChartContext<'a, DB, Cartesian2d<Ticked, Ticked>>;

/// Lays `panels` out two to a line on `grid`, with gutters between them.
pub(crate) fn draw_panel_grid<DB: DrawingBackend, P>(
    grid: &DrawingArea<DB, Shift>,
    panels: &[P],
    mut draw: impl FnMut(&DrawingArea<DB, Shift>, &P) -> Result<(), DrawErr>,
) -> Result<(), DrawErr> {
    let cols = panels.len().min(2);
    let rows = panels.len().div_ceil(2);
    let cells = grid.split_evenly((rows, cols));
    for (i, (panel, cell)) in panels.iter().zip(&cells).enumerate() {
        // Gutter between columns and rows.
        let (l, r) = if cols == 2 && i % 2 == 0 {
            (0, 24)
        } else if cols == 2 {
            (24, 0)
        } else {
            (0, 0)
        };
        let b = if i / 2 + 1 < rows { 16 } else { 0 };
        draw(&cell.margin(4, b, l, r), panel)?;
    }
    Ok(())
}

/// What [`draw_row_panel`] hands the panel's own drawing.
pub(crate) struct RowPanel<'p, DB: DrawingBackend> {
    /// The area under the caption (for text placed by pixel).
    pub plot_area: &'p DrawingArea<DB, Shift>,
    /// The value axis.
    pub x: NumAxis,
    /// Number of rows; row `i` (from the top) is centred at `n − 1 − i`.
    pub n: usize,
}

/// Draws a row panel's caption, row labels, value axis (spanning every
/// finite p5, p50 and p95 of `values`, and 0) and the separators between
/// rows, then lets `body` draw the rows' marks.
pub(crate) fn draw_row_panel<'q, DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    caption: &str,
    row_names: &[String],
    values: impl Iterator<Item = &'q Quantiles>,
    body: impl FnOnce(&mut RowChart<'_, DB>, &RowPanel<'_, DB>) -> Result<(), DrawErr>,
) -> Result<(), DrawErr> {
    const CAPTION_H: u32 = 38;
    let (w, _) = area.dim_in_pixel();
    draw_text(
        area,
        caption,
        (4, CAPTION_H as i32 / 2),
        &bold(21.0, TEXT),
        (HPos::Left, VPos::Center),
    )?;
    let plot_area = area.split_vertically(CAPTION_H).1;

    // Row labels on the left, shortened if very long.
    let label_style = font(19.0, TEXT);
    let max_label = (w as f64 * 0.36) as u32;
    let labels: Vec<String> = row_names
        .iter()
        .map(|s| ellipsize(area, s, &label_style, max_label))
        .collect();
    let label_w = labels
        .iter()
        .map(|l| text_width(area, l, &label_style))
        .max()
        .unwrap_or(40);

    let (lo, hi) = values
        .flat_map(|q| [q.p5, q.p50, q.p95])
        .filter(|v| v.is_finite())
        .fold((0.0f64, 0.0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let x = nice_axis(lo, hi, 5);

    let n = row_names.len().max(1);
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
    chart
        .configure_mesh()
        .disable_y_mesh()
        .bold_line_style(GRID.stroke_width(1))
        .light_line_style(TRANSPARENT)
        .axis_style(AXIS.stroke_width(1))
        .set_all_tick_mark_size(5)
        .label_style(label_style.color(&TRANSPARENT))
        .draw()?;
    draw_axis_labels(
        &plot_area,
        &chart,
        &AxisLabels {
            x: x.ticks.iter().map(|&t| (t, x.label(t))).collect(),
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
    // Light separators between rows.
    for k in 1..n {
        let yk = k as f64 - 0.5;
        chart.draw_series(std::iter::once(PathElement::new(
            vec![(x.lo, yk), (x.hi, yk)],
            GRID.stroke_width(1),
        )))?;
    }
    let panel = RowPanel {
        plot_area: &plot_area,
        x,
        n,
    };
    body(&mut chart, &panel)
}

/// A horizontal whisker from `lo` to `hi` at height `y`, with end caps of
/// half-height `cap`.
pub(crate) fn draw_whisker<DB: DrawingBackend>(
    chart: &mut RowChart<'_, DB>,
    (lo, hi): (f64, f64),
    y: f64,
    cap: f64,
    colour: RGBColor,
) -> Result<(), DrawErr> {
    let style = colour.stroke_width(3);
    chart.draw_series([
        PathElement::new(vec![(lo, y), (hi, y)], style),
        PathElement::new(vec![(lo, y - cap), (lo, y + cap)], style),
        PathElement::new(vec![(hi, y - cap), (hi, y + cap)], style),
    ])?;
    Ok(())
}

/// A median dot: filled in the entity's colour, ringed in white.
pub(crate) fn draw_median_dot<DB: DrawingBackend>(
    chart: &mut RowChart<'_, DB>,
    at: (f64, f64),
    radius: i32,
    colour: RGBColor,
) -> Result<(), DrawErr> {
    chart.draw_series([
        Circle::new(at, radius, colour.filled()),
        Circle::new(at, radius, WHITE.stroke_width(2)),
    ])?;
    Ok(())
}
