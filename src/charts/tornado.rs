//! `tornado`: which inputs move an outcome, drawn from `sensitivity.csv`.
//!
//! One row per input, strongest on top: a bar from the outcome's overall
//! mean (or median, as `sensitivity.csv`'s `swing` column says) to its mean
//! over the trials where the input is at or below its 10th percentile (light)
//! and one to its mean where it is at or above its 90th (dark), ties
//! included, so a group may exceed 10 % of the trials; the Spearman
//! correlation is written at the right.

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::read::Manifest;
use super::render::{Chart, DrawErr, write_chart};
use super::style::{
    AXIS, AxisLabels, GRID, MUTED, PAGE_MARGIN, TEXT, Ticked, draw_axis_labels, draw_text,
    ellipsize, font, nice_axis, page, text_width,
};
use super::units::{describe, display_unit};
use super::{ChartError, ChartFormat};

/// Bar colour: the input at or below its 10th percentile.
const LOW: RGBColor = RGBColor(0x9E, 0xC3, 0xE6);
/// Bar colour: the input at or above its 90th percentile.
const HIGH: RGBColor = RGBColor(0x1F, 0x4E, 0x8C);

/// A colour mixed two parts in three with white: an input whose effect is
/// within noise.
fn fade(c: RGBColor) -> RGBColor {
    let f = |v: u8| (f64::from(v) + (255.0 - f64::from(v)) * 0.65).round() as u8;
    RGBColor(f(c.0), f(c.1), f(c.2))
}

/// Bars drawn when the manifest does not say.
const DEFAULT_TOP: usize = 15;

#[derive(Debug, Clone)]
struct Row {
    input: String,
    spearman: Option<f64>,
    low: f64,
    high: f64,
    /// The swing is within two standard errors of zero (mean swing only).
    faint: bool,
}

struct Tornado {
    title: String,
    scenario: Option<String>,
    metric: String,
    entity: String,
    month: Option<String>,
    /// `mean` or `median`.
    statistic: String,
    centre: f64,
    rows: Vec<Row>,
    more: usize,
}

fn cell(rec: &csv::StringRecord, headers: &csv::StringRecord, name: &str) -> Option<String> {
    let i = headers.iter().position(|h| h.trim() == name)?;
    rec.get(i)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

fn num(s: Option<String>) -> f64 {
    s.and_then(|s| s.parse::<f64>().ok())
        .filter(|v| v.is_finite())
        .unwrap_or(f64::NAN)
}

impl Tornado {
    fn read(dir: &Path) -> Result<Self, ChartError> {
        let path = dir.join("sensitivity.csv");
        let file = std::fs::File::open(&path).map_err(|source| match source.kind() {
            std::io::ErrorKind::NotFound => ChartError::Missing {
                path: path.clone(),
                what: "file".into(),
            },
            _ => ChartError::Io {
                path: path.clone(),
                source,
            },
        })?;
        let csv_err = |source| ChartError::Csv {
            path: path.clone(),
            source,
        };
        let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(file);
        let headers = reader.headers().map_err(csv_err)?.clone();
        let statistic = match headers.iter().position(|h| h.trim() == "swing") {
            Some(_) => None,
            None => Some("median".to_string()),
        };
        if !headers.iter().any(|h| h.trim() == "input") {
            return Err(ChartError::Missing {
                path: path.clone(),
                what: "column `input`".into(),
            });
        }
        let manifest = Manifest::read(dir);
        let top = std::fs::read_to_string(dir.join("manifest.json"))
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .and_then(|j| j.get("tornado_inputs").and_then(|v| v.as_u64()))
            .map_or(DEFAULT_TOP, |v| v.clamp(1, 60) as usize);
        let mut rows = Vec::new();
        let (mut metric, mut entity, mut month, mut scenario) = (None, None, None, None);
        let mut centre = f64::NAN;
        let mut statistic = statistic;
        for rec in reader.records() {
            let rec = rec.map_err(csv_err)?;
            let stat = statistic
                .get_or_insert_with(|| {
                    cell(&rec, &headers, "swing")
                        .filter(|s| s == "median")
                        .unwrap_or_else(|| "mean".into())
                })
                .clone();
            metric = metric.or_else(|| cell(&rec, &headers, "metric"));
            entity = entity.or_else(|| cell(&rec, &headers, "entity"));
            month = month.or_else(|| cell(&rec, &headers, "month"));
            scenario = scenario.or_else(|| cell(&rec, &headers, "scenario"));
            if centre.is_nan() {
                centre = num(cell(&rec, &headers, &format!("metric_{stat}")));
            }
            let spearman = cell(&rec, &headers, "spearman").and_then(|s| s.parse::<f64>().ok());
            // Inputs that did not vary have no correlation and no bar.
            let Some(spearman) = spearman else { continue };
            let se = num(cell(&rec, &headers, "swing_mean_se"));
            let swing = num(cell(&rec, &headers, "swing_mean"));
            rows.push(Row {
                faint: stat == "mean" && swing.abs() < 2.0 * se,
                input: cell(&rec, &headers, "input").unwrap_or_default(),
                spearman: Some(spearman),
                low: num(cell(&rec, &headers, &format!("{stat}_low_decile"))),
                high: num(cell(&rec, &headers, &format!("{stat}_high_decile"))),
            });
        }
        if rows.is_empty() {
            return Err(ChartError::Missing {
                path,
                what: "an input that varies".into(),
            });
        }
        let more = rows.len().saturating_sub(top);
        rows.truncate(top);
        let metric = metric.unwrap_or_default();
        let (k, _) = display_unit(&metric);
        if centre.is_nan() {
            centre = rows
                .iter()
                .map(|r| (r.low + r.high) / 2.0)
                .find(|v| v.is_finite())
                .unwrap_or(0.0);
        }
        for r in &mut rows {
            r.low *= k;
            r.high *= k;
        }
        Ok(Tornado {
            title: manifest
                .title
                .or_else(|| scenario.clone())
                .unwrap_or_else(|| "Sensitivity".into()),
            scenario: manifest.name.or(scenario),
            entity: entity.unwrap_or_default(),
            month,
            centre: centre * k,
            statistic: statistic.unwrap_or_else(|| "mean".into()),
            rows,
            more,
            metric,
        })
    }

    fn subject(&self) -> String {
        let what = describe(&self.metric);
        match &self.month {
            Some(m) => format!("{} of {} in {m}", what, self.entity),
            None => format!("{} of {}", what, self.entity),
        }
    }
}

impl Chart for Tornado {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), DrawErr> {
        let (_, unit) = display_unit(&self.metric);
        let source = match &self.scenario {
            Some(s) => {
                format!("Source: tradeflow Monte Carlo simulation, scenario \u{201c}{s}\u{201d}.")
            }
            None => "Source: tradeflow Monte Carlo simulation.".into(),
        };
        let faint = if self.rows.iter().any(|r| r.faint) {
            "; pale: within 2 standard errors of 0"
        } else {
            ""
        };
        let more = if self.more > 0 {
            format!("; {} more in sensitivity.csv", self.more)
        } else {
            String::new()
        };
        let body = page(
            root,
            &self.title,
            &format!(
                "What drives the {}: {} with each input at its 10th and 90th percentile",
                self.subject(),
                self.statistic
            ),
            // The groups are not "10 % of trials": ties at a percentile
            // (a shock that never fires counts as the month after the
            // horizon) all join them, often making them far larger.
            &format!(
                "{source} Groups: trials with the input at or below its 10th percentile, \
                 at or above its 90th, ties included (a shock that never fires counts as \
                 firing after the horizon), so a group may hold far more than 10 % of trials; \
                 sizes in sensitivity.csv. \u{3c1}: Spearman rank correlation{faint}{more}."
            ),
        )?;
        let body = body.margin(0, 0, PAGE_MARGIN - 10, PAGE_MARGIN);
        let (w, h) = body.dim_in_pixel();

        // Legend row.
        let legend_h = 44u32;
        let (legend, plot_area) = body.split_vertically(legend_h);
        let style = font(20.0, TEXT);
        let items = [
            (LOW, "input at or below its 10th percentile"),
            (HIGH, "input at or above its 90th percentile"),
        ];
        let mut x = 0i32;
        for (colour, label) in items {
            legend.draw(&Rectangle::new([(x, 10), (x + 34, 30)], colour.filled()))?;
            draw_text(
                &legend,
                label,
                (x + 44, 20),
                &style,
                (HPos::Left, VPos::Center),
            )?;
            x += 44 + text_width(&legend, label, &style) as i32 + 40;
        }
        legend.draw(&PathElement::new(
            vec![(x + 17, 6), (x + 17, 34)],
            TEXT.stroke_width(2),
        ))?;
        let centre_label = format!("{} over all trials", self.statistic);
        draw_text(
            &legend,
            &centre_label,
            (x + 44, 20),
            &style,
            (HPos::Left, VPos::Center),
        )?;

        // Left labels (input paths) and right column (ρ).
        let label_style = font(18.0, TEXT);
        let max_label = (w as f64 * 0.42) as u32;
        let labels: Vec<String> = self
            .rows
            .iter()
            .map(|r| ellipsize(&plot_area, &r.input, &label_style, max_label))
            .collect();
        let label_w = labels
            .iter()
            .map(|l| text_width(&plot_area, l, &label_style))
            .max()
            .unwrap_or(60);
        let rho_w = 110u32;
        let (lo, hi) = self
            .rows
            .iter()
            .flat_map(|r| [r.low, r.high])
            .chain(std::iter::once(self.centre))
            .filter(|v| v.is_finite())
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| {
                (l.min(v), h.max(v))
            });
        let (lo, hi) = if lo.is_finite() { (lo, hi) } else { (0.0, 1.0) };
        // Shares and money start from zero when the data are near it.
        let lo = if lo >= 0.0 && lo < (hi - lo) * 0.5 {
            0.0
        } else {
            lo
        };
        let axis = nice_axis(lo, hi, 6);
        let n = self.rows.len();
        let centres: Vec<f64> = (0..n).map(|i| i as f64).collect();
        let x_title_h = 34u32;
        let (plot_area, x_title) = plot_area.split_vertically(h - legend_h - x_title_h);
        let mut chart = ChartBuilder::on(&plot_area)
            .margin_top(8)
            .margin_right(rho_w)
            .x_label_area_size(40)
            .y_label_area_size(label_w + 20)
            .build_cartesian_2d(
                Ticked::new(axis.lo, axis.hi, &axis.ticks),
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
                x: axis.ticks.iter().map(|&t| (t, axis.label(t))).collect(),
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
        let clamp = |v: f64| v.clamp(axis.lo, axis.hi);
        let m = clamp(self.centre);
        for (i, r) in self.rows.iter().enumerate() {
            let y = (n - 1 - i) as f64;
            let half = 0.34;
            // The longer bar first, so that when both deciles lie on the same
            // side of the centre the shorter one stays visible on top.
            let mut bars = [(r.low, LOW), (r.high, HIGH)];
            bars.sort_by(|a, b| (b.0 - m).abs().total_cmp(&(a.0 - m).abs()));
            for (v, colour) in bars {
                if v.is_finite() {
                    let fill = if r.faint { fade(colour) } else { colour };
                    chart.draw_series(std::iter::once(Rectangle::new(
                        [(m, y - half), (clamp(v), y + half)],
                        fill.filled(),
                    )))?;
                }
            }
        }
        chart.draw_series(std::iter::once(PathElement::new(
            vec![(m, -0.5), (m, n as f64 - 0.5)],
            TEXT.stroke_width(2),
        )))?;
        // ρ column, right of the plot.
        let (xr, _) = chart.plotting_area().get_pixel_range();
        let (bx, by) = plot_area.get_base_pixel();
        let rho_style = font(18.0, MUTED);
        let (_, top_y) = chart.backend_coord(&(axis.lo, n as f64 - 0.5));
        draw_text(
            &plot_area,
            "\u{3c1}",
            (xr.end - bx + rho_w as i32 / 2, top_y - by - 4),
            &font(18.0, TEXT),
            (HPos::Center, VPos::Bottom),
        )?;
        for (i, r) in self.rows.iter().enumerate() {
            let (_, py) = chart.backend_coord(&(axis.lo, (n - 1 - i) as f64));
            let text = r.spearman.map_or("–".into(), |s| format!("{s:+.2}"));
            draw_text(
                &plot_area,
                &text,
                (xr.end - bx + rho_w as i32 / 2, py - by),
                &rho_style,
                (HPos::Center, VPos::Center),
            )?;
        }
        // X-axis title, centred under the plot.
        let centre = (xr.start + xr.end) / 2 - x_title.get_base_pixel().0;
        let title = format!("{} ({unit})", {
            let s = self.subject();
            let mut c = s.chars();
            c.next()
                .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
                .unwrap_or(s)
        });
        draw_text(
            &x_title,
            &title,
            (centre, x_title_h as i32 / 2),
            &font(20.0, TEXT),
            (HPos::Center, VPos::Center),
        )?;
        Ok(())
    }
}

/// Draws `tornado.*` in `dir` from `dir/sensitivity.csv` (and the manifest).
pub fn draw_tornado_chart(dir: &Path, formats: &[ChartFormat]) -> Result<Vec<PathBuf>, ChartError> {
    let chart = Tornado::read(dir)?;
    write_chart(dir, "tornado", formats, &chart)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "scenario,metric,entity,month,rank,input,spearman,input_p10,input_p90,\
        trials_low,trials_high,mean_low_decile,mean_high_decile,swing_mean,swing_mean_se,\
        median_low_decile,median_high_decile,swing_median,metric_mean,metric_median,swing\n";

    #[test]
    fn tornado_draws_varying_inputs_and_fades_noise() {
        let dir = tempfile::tempdir().unwrap();
        let csv = format!(
            "{HEADER}s,final_share_compute,CN,,1,shock.a.month,0.5,1,30,100,100,0.9,0.99,0.09,0.001,1,1,0,0.95,1,mean\n\
             s,final_share_compute,CN,,2,product.X.price,0.01,1,2,100,100,0.949,0.951,0.002,0.005,1,1,0,0.95,1,mean\n\
             s,final_share_compute,CN,,3,constant.input,,1,1,100,100,0.95,0.95,0,0,1,1,0,0.95,1,mean\n"
        );
        std::fs::write(dir.path().join("sensitivity.csv"), csv).unwrap();
        let chart = Tornado::read(dir.path()).unwrap();
        assert_eq!(chart.rows.len(), 2, "the constant input has no bar");
        assert!(!chart.rows[0].faint && chart.rows[1].faint);
        assert_eq!(chart.statistic, "mean");
        assert!((chart.centre - 95.0).abs() < 1e-9, "{}", chart.centre);
        let out = draw_tornado_chart(dir.path(), &[ChartFormat::Svg]).unwrap();
        let svg = std::fs::read_to_string(&out[0]).unwrap();
        assert!(svg.contains("shock.a.month") && svg.contains("% of compute"));
        assert!(svg.contains("+0.50"));
        // The groups are percentile cut-offs with ties, not 10 % of trials.
        assert!(!svg.contains("lowest 10 %") && !svg.contains("highest 10 %"));
        assert!(svg.contains("input at or below its 10th percentile"));
        assert!(svg.contains("input at or above its 90th percentile"));
        assert!(svg.contains("ties included"));
    }

    #[test]
    fn without_a_varying_input_there_is_nothing_to_draw() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            Tornado::read(dir.path()),
            Err(ChartError::Missing { .. })
        ));
        std::fs::write(
            dir.path().join("sensitivity.csv"),
            format!("{HEADER}s,m,e,,1,c,,1,1,1,1,1,1,0,0,1,1,0,1,1,mean\n"),
        )
        .unwrap();
        let e = Tornado::read(dir.path()).err().unwrap();
        assert!(e.to_string().contains("an input that varies"), "{e}");
    }
}
