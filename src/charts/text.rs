//! Text drawing with correct glyph placement in PNGs.
//!
//! plotters 0.3.7 with the `ab_glyph` feature drops each glyph's left side
//! bearing when rasterising, so letters sit unevenly ("Hua wei", "Lin es"),
//! and it centres text about 4 px too high. For raster output
//! [`draw_str`] therefore draws one glyph at a time at the right pen
//! position: plotters' own advance widths (kerning included) plus the bearing
//! read from the bundled font's `hmtx` table, with the baseline set from the
//! cap height. SVG output keeps whole strings (selectable, searchable text).
//! All chart text, tick labels included, goes through [`draw_str`].

use std::cell::Cell;
use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::FontTransform;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::render::DrawErr;
use super::style::{BOLD, FAMILY, REGULAR};

/// Big-endian readers that return `None` past the end (fonts are bundled,
/// but parsing must never panic).
fn u16_at(d: &[u8], off: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*d.get(off)?, *d.get(off + 1)?]))
}

fn i16_at(d: &[u8], off: usize) -> Option<i16> {
    u16_at(d, off).map(|v| v as i16)
}

fn u32_at(d: &[u8], off: usize) -> Option<u32> {
    Some(u32::from_be_bytes([
        *d.get(off)?,
        *d.get(off + 1)?,
        *d.get(off + 2)?,
        *d.get(off + 3)?,
    ]))
}

/// The bytes of table `tag` of a TrueType font.
fn table<'a>(font: &'a [u8], tag: &[u8; 4]) -> Option<&'a [u8]> {
    let n = usize::from(u16_at(font, 4)?);
    (0..n).find_map(|i| {
        let rec = 12 + 16 * i;
        if font.get(rec..rec + 4)? != tag {
            return None;
        }
        let off = u32_at(font, rec + 8)? as usize;
        let len = u32_at(font, rec + 12)? as usize;
        font.get(off..off.checked_add(len)?)
    })
}

/// The horizontal metrics needed to place glyphs the way ab_glyph draws them.
pub(crate) struct Metrics {
    /// hhea ascent − descent in font units: ab_glyph's pixel scale divides by it.
    height_units: f64,
    /// Capital height in font units.
    cap_units: f64,
    hmtx: &'static [u8],
    num_hmetrics: usize,
    /// The format-4 (Unicode BMP) cmap subtable.
    cmap4: &'static [u8],
}

impl Metrics {
    fn parse(font: &'static [u8]) -> Option<Self> {
        let hhea = table(font, b"hhea")?;
        let ascent = f64::from(i16_at(hhea, 4)?);
        let descent = f64::from(i16_at(hhea, 6)?);
        let num_hmetrics = usize::from(u16_at(hhea, 34)?);
        let hmtx = table(font, b"hmtx")?;
        let upem = f64::from(u16_at(table(font, b"head")?, 18)?);
        let cap_units = table(font, b"OS/2")
            .filter(|os2| u16_at(os2, 0).is_some_and(|v| v >= 2))
            .and_then(|os2| i16_at(os2, 88))
            .map_or(0.7 * upem, f64::from);

        let cmap = table(font, b"cmap")?;
        let cmap4 = (0..usize::from(u16_at(cmap, 2)?)).find_map(|i| {
            let rec = 4 + 8 * i;
            let (platform, encoding) = (u16_at(cmap, rec)?, u16_at(cmap, rec + 2)?);
            let unicode = platform == 0 || (platform == 3 && encoding == 1);
            let sub = cmap.get(u32_at(cmap, rec + 4)? as usize..)?;
            (unicode && u16_at(sub, 0)? == 4).then_some(sub)
        })?;
        (ascent - descent > 0.0).then_some(Metrics {
            height_units: ascent - descent,
            cap_units,
            hmtx,
            num_hmetrics,
            cmap4,
        })
    }

    /// Glyph id of `c` (0, the missing glyph, if unmapped).
    fn glyph(&self, c: char) -> u16 {
        self.glyph_opt(u32::from(c)).unwrap_or(0)
    }

    fn glyph_opt(&self, c: u32) -> Option<u16> {
        let t = self.cmap4;
        let c = u16::try_from(c).ok()?;
        let seg_count = usize::from(u16_at(t, 6)? / 2);
        let ends = 14;
        let starts = ends + 2 * seg_count + 2;
        let deltas = starts + 2 * seg_count;
        let ranges = deltas + 2 * seg_count;
        let i = (0..seg_count).find(|&i| u16_at(t, ends + 2 * i).is_some_and(|end| end >= c))?;
        let start = u16_at(t, starts + 2 * i)?;
        if start > c {
            return None;
        }
        let delta = u16_at(t, deltas + 2 * i)?;
        let range = usize::from(u16_at(t, ranges + 2 * i)?);
        if range == 0 {
            return Some(c.wrapping_add(delta));
        }
        let at = ranges + 2 * i + range + 2 * usize::from(c - start);
        let g = u16_at(t, at)?;
        (g != 0).then(|| g.wrapping_add(delta))
    }

    /// Left side bearing of glyph `g` in font units.
    fn lsb(&self, g: u16) -> i16 {
        let g = usize::from(g);
        let off = if g < self.num_hmetrics {
            4 * g + 2
        } else {
            4 * self.num_hmetrics + 2 * (g - self.num_hmetrics)
        };
        i16_at(self.hmtx, off).unwrap_or(0)
    }

    /// Advance width of glyph `g` in font units.
    #[cfg(test)]
    fn advance(&self, g: u16) -> u16 {
        let g = usize::from(g).min(self.num_hmetrics.saturating_sub(1));
        u16_at(self.hmtx, 4 * g).unwrap_or(0)
    }

    /// Pixels per font unit at plotters font size `size`.
    fn scale(&self, size: f64) -> f64 {
        size / self.height_units
    }
}

/// Metrics of the bundled regular or bold face; `None` for other fonts.
fn metrics_for(family: &str, style: FontStyle) -> Option<&'static Metrics> {
    static REG: OnceLock<Option<Metrics>> = OnceLock::new();
    static BLD: OnceLock<Option<Metrics>> = OnceLock::new();
    if family != FAMILY {
        return None;
    }
    match style {
        FontStyle::Bold => BLD.get_or_init(|| Metrics::parse(BOLD)).as_ref(),
        // ab_glyph falls back to the regular face for other styles.
        _ => REG.get_or_init(|| Metrics::parse(REGULAR)).as_ref(),
    }
}

thread_local! {
    /// Whether the chart being drawn on this thread is a raster image.
    static RASTER: Cell<bool> = const { Cell::new(false) };
}

/// Marks the current thread as drawing a raster image until dropped.
///
/// Why a thread-local: the chart code is generic over the backend and
/// plotters offers no way to ask a backend whether it rasterises text.
pub(crate) struct RasterScope(bool);

impl RasterScope {
    pub(crate) fn enter() -> Self {
        RasterScope(RASTER.with(|r| r.replace(true)))
    }
}

impl Drop for RasterScope {
    fn drop(&mut self) {
        RASTER.with(|r| r.set(self.0));
    }
}

/// Draws `text` at pixel `(x, y)` of `area`, anchored at `anchor`;
/// `rotated` turns it to read bottom-to-top (y-axis titles).
pub(crate) fn draw_str<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    text: &str,
    (x, y): (i32, i32),
    style: &TextStyle,
    anchor: (HPos, VPos),
    rotated: bool,
) -> Result<(), DrawErr> {
    let trans = if rotated {
        FontTransform::Rotate270
    } else {
        FontTransform::None
    };
    let style = style.transform(trans.clone());
    let metrics = metrics_for(style.font.get_family().as_str(), style.font.get_style());
    let (Some(m), true) = (metrics, RASTER.with(Cell::get)) else {
        let style = style.pos(Pos::new(anchor.0, anchor.1));
        area.draw(&Text::new(text.to_string(), (x, y), style))?;
        return Ok(());
    };

    let width_of = |s: &str| -> Result<i32, DrawErr> {
        let ((x0, _), (x1, _)) = style
            .font
            .layout_box(s)
            .map_err(|e| DrawErr(format!("text layout failed: {e}")))?;
        Ok(x1 - x0)
    };
    let size = style.font.get_size();
    let scale = m.scale(size);
    let cap = m.cap_units * scale;
    let width = width_of(text)?;
    let dx = match anchor.0 {
        HPos::Left => 0,
        HPos::Right => -width,
        HPos::Center => -width / 2,
    };
    // Baseline below the anchor: caps hang from a top anchor, are centred on
    // a centre anchor, and descenders clear a bottom anchor.
    let baseline = match anchor.1 {
        VPos::Top => cap,
        VPos::Center => cap / 2.0,
        VPos::Bottom => -0.24 * size,
    };
    // ab_glyph draws a glyph's baseline `size / 2` below the given point.
    let dy = (baseline - size / 2.0).round() as i32;
    let glyph_style = style.pos(Pos::new(HPos::Left, VPos::Top));
    for (i, c) in text.char_indices() {
        if c.is_whitespace() {
            continue;
        }
        // Pen position from plotters' own advances (includes kerning).
        let pen = if i == 0 { 0 } else { width_of(&text[..i])? };
        let bearing = (f64::from(m.lsb(m.glyph(c))) * scale).floor() as i32;
        let (ox, oy) = trans.transform(dx + pen + bearing, dy);
        area.draw(&Text::new(
            c.to_string(),
            (x + ox, y + oy),
            glyph_style.clone(),
        ))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::style::{ensure_fonts, font};
    use super::*;

    #[test]
    fn bundled_metrics_parse() {
        let m = metrics_for(FAMILY, FontStyle::Normal).expect("regular metrics");
        let b = metrics_for(FAMILY, FontStyle::Bold).expect("bold metrics");
        assert!(metrics_for("Other", FontStyle::Normal).is_none());
        let (gh, gi) = (m.glyph('H'), m.glyph('i'));
        assert!(gh != 0 && gi != 0 && gh != gi);
        assert!(b.glyph('H') != 0);
        assert_eq!(m.glyph('\u{10FFFF}'), 0);
        // 'i' and 'H' have positive side bearings in DejaVu Sans.
        assert!(m.lsb(gi) > 0 && m.lsb(gh) > 0);
        assert!(m.cap_units > 1000.0 && m.cap_units < 2048.0);
    }

    #[test]
    fn advances_match_plotters_layout() {
        // Our scale must be ab_glyph's, or bearings would be misplaced.
        ensure_fonts().unwrap();
        let m = metrics_for(FAMILY, FontStyle::Normal).unwrap();
        let size = 100.0;
        let text = "HHHHHHHHHH";
        let ours = f64::from(m.advance(m.glyph('H'))) * 10.0 * m.scale(size);
        let style = font(size, RGBColor(0, 0, 0));
        let ((x0, _), (x1, _)) = style.font.layout_box(text).unwrap();
        assert!(
            (ours - f64::from(x1 - x0)).abs() < 2.0,
            "{ours} vs {}",
            x1 - x0
        );
    }
}
