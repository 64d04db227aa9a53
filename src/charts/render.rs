//! Backend-independent chart drawing and atomic file output.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use plotters::coord::Shift;
use plotters::prelude::*;

use super::style::ensure_fonts;
use super::text::RasterScope;
use super::{CHART_SIZE, ChartError, ChartFormat};

/// A drawing failure, carried as text so one type serves every backend.
#[derive(Debug)]
pub(crate) struct DrawErr(pub String);

impl<E: std::error::Error + Send + Sync> From<DrawingAreaErrorKind<E>> for DrawErr {
    fn from(e: DrawingAreaErrorKind<E>) -> Self {
        DrawErr(e.to_string())
    }
}

/// A chart that can draw itself on any plotters backend, so PNG and SVG
/// share one layout.
pub(crate) trait Chart {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), DrawErr>;
}

/// Distinguishes temp files of concurrent writers within one process.
static TMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Writes `dir/stem.{ext}` for each format, each file whole or not at all.
pub(crate) fn write_chart<C: Chart>(
    dir: &Path,
    stem: &str,
    formats: &[ChartFormat],
    chart: &C,
) -> Result<Vec<PathBuf>, ChartError> {
    let mut written = Vec::new();
    let mut done: Vec<ChartFormat> = Vec::new();
    for &format in formats {
        if done.contains(&format) {
            continue;
        }
        done.push(format);
        written.push(write_one(dir, stem, format, chart)?);
    }
    Ok(written)
}

fn write_one<C: Chart>(
    dir: &Path,
    stem: &str,
    format: ChartFormat,
    chart: &C,
) -> Result<PathBuf, ChartError> {
    let ext = format.extension();
    let path = dir.join(format!("{stem}.{ext}"));
    let draw_error = |message: String| ChartError::Draw {
        path: path.clone(),
        message,
    };
    ensure_fonts().map_err(draw_error)?;

    // The temp name keeps the real extension: plotters picks the image
    // encoder from it. The leading dot hides it from casual listings.
    crate::output::sweep_abandoned(dir, stem);
    let n = TMP_COUNTER.fetch_add(1, Ordering::Relaxed);
    let tmp = dir.join(format!(".{stem}.tmp-{}-{n}.{ext}", std::process::id()));
    crate::interrupt::register_temporary(&tmp);

    let result = match format {
        ChartFormat::Png => render_png(&tmp, chart).map_err(|e| draw_error(e.0)),
        ChartFormat::Svg => match render_svg(chart) {
            Ok(svg) => std::fs::write(&tmp, svg).map_err(|source| ChartError::Io {
                path: tmp.clone(),
                source,
            }),
            Err(e) => Err(draw_error(e.0)),
        },
    }
    .and_then(|()| {
        std::fs::rename(&tmp, &path).map_err(|source| ChartError::Io {
            path: path.clone(),
            source,
        })
    });
    if result.is_err() {
        // Best effort: the temp file may not even exist.
        let _ = std::fs::remove_file(&tmp);
    }
    crate::interrupt::unregister_temporary(&tmp);
    result.map(|()| path)
}

fn render_png<C: Chart>(tmp: &Path, chart: &C) -> Result<(), DrawErr> {
    let _raster = RasterScope::enter();
    let root = BitMapBackend::new(tmp, CHART_SIZE).into_drawing_area();
    root.fill(&WHITE)?;
    chart.draw(&root)?;
    root.present()?;
    Ok(())
}

fn render_svg<C: Chart>(chart: &C) -> Result<String, DrawErr> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, CHART_SIZE).into_drawing_area();
        root.fill(&WHITE)?;
        chart.draw(&root)?;
        root.present()?;
    }
    Ok(svg)
}
