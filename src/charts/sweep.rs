//! Sweep charts, drawn from `sweep.csv` and the folder's `manifest.json`:
//!
//! - one axis: `sweep-METRIC-ENTITY`: the metric's median with its 50 % and
//!   90 % bands against the varied value;
//! - two axes: `heatmap-METRIC-ENTITY`: the median over the grid, each cell
//!   labelled, with a colour scale.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::read::{Manifest, Quantiles};
use super::render::{Chart, DrawErr, write_chart};
use super::style::{
    ALPHA_50, ALPHA_90, AXIS, AxisLabels, GRID, MUTED, NumAxis, PAGE_MARGIN, TEXT, Ticked,
    draw_axis_labels, draw_text, ellipsize, entity_colour, font, group_thousands, nice_axis, page,
    text_width,
};
use super::units::{describe, display_unit};
use super::{ChartError, ChartFormat};

/// The contents of `sweep.csv`.
#[derive(Debug, Default)]
struct SweepData {
    /// Varied paths, in axis order.
    axes: Vec<String>,
    /// Each axis's values in order of first appearance.
    values: Vec<Vec<String>>,
    /// (metric, entity, value index per axis) → quantiles.
    cells: HashMap<(String, String, Vec<usize>), Quantiles>,
}

fn parse_cell(s: Option<&str>) -> f64 {
    s.and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|v| v.is_finite())
        .unwrap_or(f64::NAN)
}

impl SweepData {
    fn read(path: &Path) -> Result<Self, ChartError> {
        let file = std::fs::File::open(path).map_err(|source| match source.kind() {
            std::io::ErrorKind::NotFound => ChartError::Missing {
                path: path.to_path_buf(),
                what: "file".into(),
            },
            _ => ChartError::Io {
                path: path.to_path_buf(),
                source,
            },
        })?;
        let csv_err = |source| ChartError::Csv {
            path: path.to_path_buf(),
            source,
        };
        let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(file);
        let headers: Vec<String> = reader
            .headers()
            .map_err(csv_err)?
            .iter()
            .map(|h| h.trim().to_string())
            .collect();
        let col = |name: &str| headers.iter().position(|h| h == name);
        let missing = |what: &str| ChartError::Missing {
            path: path.to_path_buf(),
            what: format!("column `{what}`"),
        };
        let point = col("point").ok_or_else(|| missing("point"))?;
        let metric = col("metric").ok_or_else(|| missing("metric"))?;
        let entity = col("entity").ok_or_else(|| missing("entity"))?;
        col("p50").ok_or_else(|| missing("p50"))?;
        // The axes are the columns between `point` and `metric`.
        let axis_cols: Vec<usize> = (point + 1..metric).collect();
        let mut data = SweepData {
            axes: axis_cols.iter().map(|&c| headers[c].clone()).collect(),
            values: vec![Vec::new(); axis_cols.len()],
            cells: HashMap::new(),
        };
        let q =
            |rec: &csv::StringRecord, name: &str| parse_cell(col(name).and_then(|i| rec.get(i)));
        for rec in reader.records() {
            let rec = rec.map_err(csv_err)?;
            let (Some(m), Some(e)) = (rec.get(metric), rec.get(entity)) else {
                continue;
            };
            let mut at = Vec::with_capacity(axis_cols.len());
            for (k, &c) in axis_cols.iter().enumerate() {
                let v = rec.get(c).unwrap_or_default().trim().to_string();
                let i = match data.values[k].iter().position(|x| *x == v) {
                    Some(i) => i,
                    None => {
                        data.values[k].push(v);
                        data.values[k].len() - 1
                    }
                };
                at.push(i);
            }
            data.cells.insert(
                (m.trim().to_string(), e.trim().to_string(), at),
                Quantiles {
                    mean: f64::NAN,
                    sd: f64::NAN,
                    p5: q(&rec, "p5"),
                    p25: q(&rec, "p25"),
                    p50: q(&rec, "p50"),
                    p75: q(&rec, "p75"),
                    p95: q(&rec, "p95"),
                    p_higher: f64::NAN,
                    p_lower: f64::NAN,
                },
            );
        }
        Ok(data)
    }

    /// The values of axis `k` as numbers, when all are.
    fn numeric(&self, k: usize) -> Option<Vec<f64>> {
        self.values[k]
            .iter()
            .map(|v| {
                v.replace('_', "")
                    .parse::<f64>()
                    .ok()
                    .filter(|x| x.is_finite())
            })
            .collect()
    }
}

/// Title, scenario name and charted metrics from the manifest.
struct SweepMeta {
    title: String,
    name: Option<String>,
    metrics: Vec<(String, String)>,
    trials: Option<u64>,
}

impl SweepMeta {
    fn read(dir: &Path) -> Self {
        let m = Manifest::read(dir);
        let json: serde_json::Value = std::fs::read_to_string(dir.join("manifest.json"))
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default();
        let metrics = json
            .get("metrics")
            .and_then(|v| v.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str())
                    .filter_map(|s| s.split_once(':'))
                    .map(|(m, e)| (m.to_string(), e.to_string()))
                    .collect()
            })
            .unwrap_or_default();
        SweepMeta {
            title: m
                .title
                .clone()
                .or(m.name.clone())
                .unwrap_or_else(|| "Sweep".into()),
            name: m.name,
            metrics,
            trials: json.get("trials").and_then(|v| v.as_u64()),
        }
    }

    fn footer(&self, reading: &str) -> String {
        let trials = self
            .trials
            .map(|t| format!(", {t} trials per point"))
            .unwrap_or_default();
        match &self.name {
            Some(n) => format!(
                "Source: tradeflow Monte Carlo simulation, scenario \u{201c}{n}\u{201d} at every grid point, common random numbers{trials}. {reading}."
            ),
            None => format!("Source: tradeflow Monte Carlo simulation{trials}. {reading}."),
        }
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}

/// One axis: median and bands against the varied value.
struct LineChart {
    meta_title: String,
    subtitle: String,
    footer: String,
    x_title: String,
    y_title: String,
    colour: RGBColor,
    /// (x position, x label, quantiles in display units)
    points: Vec<(f64, String, Quantiles)>,
    numeric: bool,
}

impl Chart for LineChart {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), DrawErr> {
        let body = page(root, &self.meta_title, &self.subtitle, &self.footer)?;
        let body = body.margin(0, 0, PAGE_MARGIN - 10, PAGE_MARGIN);
        let (_, h) = body.dim_in_pixel();
        let x_title_h = 40u32;
        let (plot_area, x_title) = body.split_vertically(h - x_title_h);
        let (lo, hi) = self
            .points
            .iter()
            .flat_map(|(_, _, q)| [q.p5, q.p50, q.p95])
            .filter(|v| v.is_finite())
            .fold((0.0f64, 0.0f64), |(l, h), v| (l.min(v), h.max(v)));
        let y = nice_axis(lo, hi, 6);
        let xs: Vec<f64> = self.points.iter().map(|p| p.0).collect();
        let (x_lo, x_hi, x_ticks, x_labels): (f64, f64, Vec<f64>, Vec<String>) = if self.numeric {
            let (a, b) = xs
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &v| {
                    (l.min(v), h.max(v))
                });
            let ax = if a < b {
                nice_axis(a, b, 8)
            } else {
                nice_axis(a - 1.0, a + 1.0, 4)
            };
            let labels = ax.ticks.iter().map(|&t| ax.label(t)).collect();
            (ax.lo, ax.hi, ax.ticks.clone(), labels)
        } else {
            let n = self.points.len() as f64;
            (
                -0.5,
                n - 0.5,
                xs.clone(),
                self.points.iter().map(|p| p.1.clone()).collect(),
            )
        };
        let tick_style = font(19.0, MUTED);
        let label_w = y
            .ticks
            .iter()
            .map(|&t| text_width(&plot_area, &y.label(t), &tick_style))
            .max()
            .unwrap_or(30);
        let y_label_w = label_w + 58;
        let mut chart = ChartBuilder::on(&plot_area)
            .margin_top(16)
            .margin_right(36)
            .x_label_area_size(46)
            .y_label_area_size(y_label_w)
            .build_cartesian_2d(
                Ticked::new(x_lo, x_hi, &x_ticks),
                Ticked::new(y.lo, y.hi, &y.ticks),
            )?;
        chart
            .configure_mesh()
            .bold_line_style(GRID.stroke_width(1))
            .light_line_style(TRANSPARENT)
            .axis_style(AXIS.stroke_width(1))
            .set_all_tick_mark_size(6)
            .label_style(tick_style.color(&TRANSPARENT))
            .draw()?;
        draw_axis_labels(
            &plot_area,
            &chart,
            &AxisLabels {
                x: x_ticks.iter().copied().zip(x_labels).collect(),
                y: y.ticks.iter().map(|&t| (t, y.label(t))).collect(),
                x_style: tick_style.clone(),
                y_style: tick_style.clone(),
                y_desc: Some((&self.y_title, y_label_w)),
            },
        )?;
        let clamp = |v: f64| v.clamp(y.lo, y.hi);
        for (alpha, band) in [
            (
                ALPHA_90,
                (|q: &Quantiles| q.band90()) as fn(&Quantiles) -> Option<(f64, f64)>,
            ),
            (ALPHA_50, |q: &Quantiles| q.band50()),
        ] {
            let pts: Vec<(f64, f64, f64)> = self
                .points
                .iter()
                .filter_map(|(x, _, q)| band(q).map(|(l, h)| (*x, clamp(l), clamp(h))))
                .collect();
            if pts.len() >= 2 {
                let poly: Vec<(f64, f64)> = pts
                    .iter()
                    .map(|&(x, _, h)| (x, h))
                    .chain(pts.iter().rev().map(|&(x, l, _)| (x, l)))
                    .collect();
                chart.draw_series(std::iter::once(Polygon::new(
                    poly,
                    self.colour.mix(alpha).filled(),
                )))?;
            } else {
                for (x, l, h) in pts {
                    chart.draw_series(std::iter::once(PathElement::new(
                        vec![(x, l), (x, h)],
                        self.colour.mix(alpha).stroke_width(14),
                    )))?;
                }
            }
        }
        let line: Vec<(f64, f64)> = self
            .points
            .iter()
            .filter(|(_, _, q)| q.p50.is_finite())
            .map(|(x, _, q)| (*x, clamp(q.p50)))
            .collect();
        chart.draw_series(LineSeries::new(line.clone(), self.colour.stroke_width(3)))?;
        chart.draw_series(
            line.iter()
                .map(|&p| Circle::new(p, 6, self.colour.filled())),
        )?;
        let (xr, _) = chart.plotting_area().get_pixel_range();
        let centre = (xr.start + xr.end) / 2 - x_title.get_base_pixel().0;
        draw_text(
            &x_title,
            &self.x_title,
            (centre, x_title_h as i32 / 2),
            &font(20.0, TEXT),
            (HPos::Center, VPos::Center),
        )?;
        Ok(())
    }
}

/// Viridis, sampled at nine stops.
const VIRIDIS: [(u8, u8, u8); 9] = [
    (0x44, 0x01, 0x54),
    (0x47, 0x2c, 0x7a),
    (0x3b, 0x51, 0x8b),
    (0x2c, 0x71, 0x8e),
    (0x21, 0x90, 0x8d),
    (0x27, 0xad, 0x81),
    (0x5c, 0xc8, 0x63),
    (0xaa, 0xdc, 0x32),
    (0xfd, 0xe7, 0x25),
];

/// The colour of `t` in 0..=1 on the scale.
fn colour_at(t: f64) -> RGBColor {
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let x = t * (VIRIDIS.len() - 1) as f64;
    let i = (x.floor() as usize).min(VIRIDIS.len() - 2);
    let f = x - i as f64;
    let (a, b) = (VIRIDIS[i], VIRIDIS[i + 1]);
    let mix = |p: u8, q: u8| (f64::from(p) + f * (f64::from(q) - f64::from(p))).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// Two axes: the median over the grid.
struct Heatmap {
    meta_title: String,
    subtitle: String,
    footer: String,
    x_title: String,
    y_title: String,
    unit: String,
    x_labels: Vec<String>,
    y_labels: Vec<String>,
    /// `medians[y][x]` in display units.
    medians: Vec<Vec<f64>>,
}

impl Chart for Heatmap {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), DrawErr> {
        let body = page(root, &self.meta_title, &self.subtitle, &self.footer)?;
        let body = body.margin(0, 0, PAGE_MARGIN - 10, PAGE_MARGIN);
        let (w, h) = body.dim_in_pixel();
        let scale_w = 190u32;
        let (main, scale_area) = body.split_horizontally(w - scale_w);
        let x_title_h = 40u32;
        let (plot_area, x_title) = main.split_vertically(h - x_title_h);
        let (lo, hi) = self
            .medians
            .iter()
            .flatten()
            .filter(|v| v.is_finite())
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &v| {
                (l.min(v), h.max(v))
            });
        let scale = if lo.is_finite() {
            nice_axis(lo, hi, 5)
        } else {
            nice_axis(0.0, 1.0, 5)
        };
        let t_of = |v: f64| (v - scale.lo) / (scale.hi - scale.lo);
        let (nx, ny) = (self.x_labels.len(), self.y_labels.len());
        let tick_style = font(18.0, TEXT);
        let label_w = self
            .y_labels
            .iter()
            .map(|l| text_width(&plot_area, l, &tick_style))
            .max()
            .unwrap_or(30);
        let y_label_w = label_w + 58;
        let xc: Vec<f64> = (0..nx).map(|i| i as f64).collect();
        let yc: Vec<f64> = (0..ny).map(|i| i as f64).collect();
        let mut chart = ChartBuilder::on(&plot_area)
            .margin_top(12)
            .margin_right(20)
            .x_label_area_size(46)
            .y_label_area_size(y_label_w)
            .build_cartesian_2d(
                Ticked::new(-0.5, nx as f64 - 0.5, &xc),
                Ticked::new(-0.5, ny as f64 - 0.5, &yc),
            )?;
        chart
            .configure_mesh()
            .disable_mesh()
            .axis_style(AXIS.stroke_width(1))
            .set_all_tick_mark_size(6)
            .label_style(tick_style.color(&TRANSPARENT))
            .draw()?;
        // Label every value when they fit, else every k-th.
        let every = |n: usize| n.div_ceil(12).max(1);
        draw_axis_labels(
            &plot_area,
            &chart,
            &AxisLabels {
                x: self
                    .x_labels
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| i % every(nx) == 0)
                    .map(|(i, l)| (i as f64, l.clone()))
                    .collect(),
                y: self
                    .y_labels
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| i % every(ny) == 0)
                    .map(|(i, l)| (i as f64, l.clone()))
                    .collect(),
                x_style: tick_style.clone(),
                y_style: tick_style.clone(),
                y_desc: Some((&self.y_title, y_label_w)),
            },
        )?;
        for (yi, row) in self.medians.iter().enumerate() {
            for (xi, &v) in row.iter().enumerate() {
                let (x, y) = (xi as f64, yi as f64);
                let fill = if v.is_finite() {
                    colour_at(t_of(v))
                } else {
                    RGBColor(0xDD, 0xDD, 0xDD)
                };
                chart.draw_series(std::iter::once(Rectangle::new(
                    [(x - 0.5, y - 0.5), (x + 0.5, y + 0.5)],
                    fill.filled(),
                )))?;
                chart.draw_series(std::iter::once(Rectangle::new(
                    [(x - 0.5, y - 0.5), (x + 0.5, y + 0.5)],
                    WHITE.stroke_width(1),
                )))?;
            }
        }
        // Values in the cells when the grid is small enough to read them.
        if nx <= 12 && ny <= 12 {
            let (xr, yr) = chart.plotting_area().get_pixel_range();
            let cell_w = (xr.end - xr.start) / nx.max(1) as i32;
            let (bx, by) = plot_area.get_base_pixel();
            let size = if cell_w < 70 { 14.0 } else { 17.0 };
            let _ = yr;
            for (yi, row) in self.medians.iter().enumerate() {
                for (xi, &v) in row.iter().enumerate() {
                    if !v.is_finite() {
                        continue;
                    }
                    let (px, py) = chart.backend_coord(&(xi as f64, yi as f64));
                    let dark = t_of(v) < 0.6;
                    let colour = if dark { WHITE } else { TEXT };
                    draw_text(
                        &plot_area,
                        &scale_label(v, &scale),
                        (px - bx, py - by),
                        &font(size, colour),
                        (HPos::Center, VPos::Center),
                    )?;
                }
            }
        }
        let (xr, _) = chart.plotting_area().get_pixel_range();
        let centre = (xr.start + xr.end) / 2 - x_title.get_base_pixel().0;
        draw_text(
            &x_title,
            &self.x_title,
            (centre, x_title_h as i32 / 2),
            &font(20.0, TEXT),
            (HPos::Center, VPos::Center),
        )?;
        // Colour scale: a vertical bar with labelled ticks and the unit.
        let (_, sh) = scale_area.dim_in_pixel();
        let top = 40i32;
        let bottom = sh as i32 - x_title_h as i32 - 60;
        let (x0, x1) = (20i32, 50i32);
        let steps = 120;
        for s in 0..steps {
            let t0 = s as f64 / steps as f64;
            let y0 = bottom - ((bottom - top) as f64 * t0) as i32;
            let y1 = bottom - ((bottom - top) as f64 * (t0 + 1.0 / steps as f64)) as i32;
            scale_area.draw(&Rectangle::new(
                [(x0, y1), (x1, y0)],
                colour_at(t0 + 0.5 / steps as f64).filled(),
            ))?;
        }
        scale_area.draw(&Rectangle::new(
            [(x0, top), (x1, bottom)],
            AXIS.stroke_width(1),
        ))?;
        for &t in &scale.ticks {
            let f = t_of(t);
            let y = bottom - ((bottom - top) as f64 * f).round() as i32;
            scale_area.draw(&PathElement::new(
                vec![(x1, y), (x1 + 6, y)],
                AXIS.stroke_width(1),
            ))?;
            draw_text(
                &scale_area,
                &scale.label(t),
                (x1 + 10, y),
                &font(17.0, MUTED),
                (HPos::Left, VPos::Center),
            )?;
        }
        let unit = ellipsize(&scale_area, &self.unit, &font(18.0, TEXT), scale_w - 10);
        draw_text(
            &scale_area,
            &unit,
            (x0 - 4, top - 22),
            &font(18.0, TEXT),
            (HPos::Left, VPos::Center),
        )?;
        Ok(())
    }
}

/// A cell's value with one more decimal than the scale's ticks.
fn scale_label(v: f64, axis: &NumAxis) -> String {
    let d = axis.decimals + 1;
    let s = format!("{v:.d$}");
    if s.trim_start_matches('-')
        .chars()
        .all(|c| c == '0' || c == '.')
    {
        "0".into()
    } else {
        group_thousands(&s)
    }
}

/// Draws the sweep charts of `dir` from `dir/sweep.csv`: one per metric the
/// manifest names (or, without one, per metric and entity of the first rows).
pub fn draw_sweep_charts(dir: &Path, formats: &[ChartFormat]) -> Result<Vec<PathBuf>, ChartError> {
    let path = dir.join("sweep.csv");
    let data = SweepData::read(&path)?;
    let meta = SweepMeta::read(dir);
    if data.axes.is_empty() || data.axes.len() > 2 {
        return Err(ChartError::Missing {
            path,
            what: "one or two varied columns between `point` and `metric`".into(),
        });
    }
    let metrics = if meta.metrics.is_empty() {
        let mut keys: Vec<(String, String)> = data
            .cells
            .keys()
            .map(|(m, e, _)| (m.clone(), e.clone()))
            .collect();
        keys.sort();
        keys.dedup();
        keys.into_iter()
            .filter(|(m, _)| m == "mean_share_compute")
            .take(1)
            .collect()
    } else {
        meta.metrics.clone()
    };
    let mut written = Vec::new();
    for (metric, entity) in metrics {
        let (k, unit) = display_unit(&metric);
        let what = format!("{} of {entity}", describe(&metric));
        let slug: String = format!("{metric}-{entity}")
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        if data.axes.len() == 1 {
            let numeric = data.numeric(0);
            let points: Vec<(f64, String, Quantiles)> = data.values[0]
                .iter()
                .enumerate()
                .filter_map(|(i, label)| {
                    let q = data.cells.get(&(metric.clone(), entity.clone(), vec![i]))?;
                    let x = numeric.as_ref().map_or(i as f64, |v| v[i]);
                    Some((x, group_thousands(label), q.scaled(k)))
                })
                .collect();
            if points.is_empty() {
                continue;
            }
            let chart = LineChart {
                meta_title: meta.title.clone(),
                subtitle: format!(
                    "{} against {} (median, 50 % and 90 % bands)",
                    capitalise(&what),
                    data.axes[0]
                ),
                footer: meta.footer("Line: median over trials; bands: 50 % and 90 % intervals"),
                x_title: data.axes[0].clone(),
                y_title: unit.to_string(),
                colour: entity_colour(&entity),
                points,
                numeric: numeric.is_some(),
            };
            written.extend(write_chart(dir, &format!("sweep-{slug}"), formats, &chart)?);
        } else {
            let medians: Vec<Vec<f64>> = (0..data.values[1].len())
                .map(|yi| {
                    (0..data.values[0].len())
                        .map(|xi| {
                            data.cells
                                .get(&(metric.clone(), entity.clone(), vec![xi, yi]))
                                .map_or(f64::NAN, |q| q.p50 * k)
                        })
                        .collect()
                })
                .collect();
            if medians.iter().flatten().all(|v| v.is_nan()) {
                continue;
            }
            let chart = Heatmap {
                meta_title: meta.title.clone(),
                subtitle: format!(
                    "Median {what} ({unit}) over {} × {}",
                    data.axes[0], data.axes[1]
                ),
                footer: meta.footer("Each cell: the median over trials at that grid point"),
                x_title: data.axes[0].clone(),
                y_title: data.axes[1].clone(),
                unit: unit.to_string(),
                // Grouped like the line chart's numeric ticks ("10,000").
                x_labels: data.values[0].iter().map(|v| group_thousands(v)).collect(),
                y_labels: data.values[1].iter().map(|v| group_thousands(v)).collect(),
                medians,
            };
            written.extend(write_chart(
                dir,
                &format!("heatmap-{slug}"),
                formats,
                &chart,
            )?);
        }
    }
    if written.is_empty() && !formats.is_empty() {
        return Err(ChartError::Missing {
            path,
            what: "rows for the charted metrics".into(),
        });
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "point,x.path,metric,entity,mean,sd,p5,p25,p50,p75,p95\n";

    #[test]
    fn one_axis_numeric_or_not_and_two_axes_draw() {
        let dir = tempfile::tempdir().unwrap();
        let svg = [ChartFormat::Svg];
        // Numeric values: a line chart on a numeric axis.
        let mut s = HEADER.to_string();
        for (i, v) in ["0", "0.5", "1.0"].iter().enumerate() {
            let m = 1e9 * (i as f64 + 1.0);
            s += &format!(
                "{i},{v},total_revenue_usd,Nvidia,{m},0,{},{},{m},{},{}\n",
                m * 0.5,
                m * 0.8,
                m * 1.2,
                m * 1.5
            );
        }
        std::fs::write(dir.path().join("sweep.csv"), &s).unwrap();
        std::fs::write(
            dir.path().join("manifest.json"),
            r#"{"scenario":{"name":"b","title":"T"},"metrics":["total_revenue_usd:Nvidia"],"trials":10}"#,
        )
        .unwrap();
        let out = draw_sweep_charts(dir.path(), &svg).unwrap();
        assert_eq!(
            out,
            vec![dir.path().join("sweep-total_revenue_usd-Nvidia.svg")]
        );
        let text = std::fs::read_to_string(&out[0]).unwrap();
        assert!(text.contains("x.path") && text.contains("$ B"));
        // Text values and a NaN cell: one position per value.
        let s = s.replace(",0.5,", ",\"banned\",").replace(
            ",1.0,total_revenue_usd,Nvidia,3000000000,0,",
            ",1.0,total_revenue_usd,Nvidia,NaN,0,",
        );
        std::fs::write(dir.path().join("sweep.csv"), s).unwrap();
        assert_eq!(draw_sweep_charts(dir.path(), &svg).unwrap().len(), 1);
        // Two axes: a heatmap with its colour scale.
        let mut s = "point,a,b,metric,entity,mean,sd,p5,p25,p50,p75,p95\n".to_string();
        for (i, (a, b)) in [("1", "x"), ("1", "y"), ("2", "x"), ("2", "y")]
            .iter()
            .enumerate()
        {
            s += &format!(
                "{i},{a},{b},total_revenue_usd,Nvidia,1,0,1,1,{},1,1\n",
                1e9 * i as f64
            );
        }
        std::fs::write(dir.path().join("sweep.csv"), s).unwrap();
        let out = draw_sweep_charts(dir.path(), &svg).unwrap();
        assert_eq!(
            out,
            vec![dir.path().join("heatmap-total_revenue_usd-Nvidia.svg")]
        );
        let text = std::fs::read_to_string(&out[0]).unwrap();
        assert!(text.contains("Median revenue over the horizon of Nvidia"));
    }

    #[test]
    fn heatmap_values_are_grouped_like_the_line_chart_ticks() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = "point,a,b,metric,entity,mean,sd,p5,p25,p50,p75,p95\n".to_string();
        for (i, (a, b)) in [
            ("10000", "0"),
            ("10000", "0.5"),
            ("20000", "0"),
            ("20000", "0.5"),
        ]
        .iter()
        .enumerate()
        {
            s += &format!("{i},{a},{b},total_revenue_usd,Nvidia,1,0,1,1,{i}e9,1,1\n");
        }
        std::fs::write(dir.path().join("sweep.csv"), s).unwrap();
        std::fs::write(
            dir.path().join("manifest.json"),
            r#"{"scenario":{"name":"b"},"metrics":["total_revenue_usd:Nvidia"]}"#,
        )
        .unwrap();
        let out = draw_sweep_charts(dir.path(), &[ChartFormat::Svg]).unwrap();
        let text = std::fs::read_to_string(&out[0]).unwrap();
        assert!(
            text.contains("\n10,000\n") && text.contains("\n20,000\n"),
            "{text}"
        );
        assert!(!text.contains("\n10000\n"));
    }

    #[test]
    fn missing_or_axis_less_files_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let svg = [ChartFormat::Svg];
        let e = draw_sweep_charts(dir.path(), &svg).unwrap_err();
        assert!(e.to_string().contains("sweep.csv"), "{e}");
        std::fs::write(
            dir.path().join("sweep.csv"),
            "point,metric,entity,mean,sd,p5,p25,p50,p75,p95\n0,m,e,1,1,1,1,1,1,1\n",
        )
        .unwrap();
        assert!(matches!(
            draw_sweep_charts(dir.path(), &svg),
            Err(ChartError::Missing { .. })
        ));
    }

    #[test]
    fn the_colour_scale_runs_from_dark_to_light() {
        assert_eq!(colour_at(0.0), RGBColor(0x44, 0x01, 0x54));
        assert_eq!(colour_at(1.0), RGBColor(0xfd, 0xe7, 0x25));
        assert_eq!(colour_at(f64::NAN), colour_at(0.0));
        assert_eq!(colour_at(7.0), colour_at(1.0));
    }
}
