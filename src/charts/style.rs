//! Shared look of all charts: fonts, the entity colour map, axis ticks and
//! number/month formatting, and small drawing helpers (header, footer, legend).

use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::render::DrawErr;
use super::text::draw_str;

/// The only font family used; registered from the bundled DejaVu files.
pub(crate) const FAMILY: &str = "DejaVu Sans";

pub(crate) static REGULAR: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/assets/fonts/DejaVuSans.ttf"
));
pub(crate) static BOLD: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/assets/fonts/DejaVuSans-Bold.ttf"
));

/// Registers the bundled fonts with plotters exactly once per process.
///
/// Why: with `default-features = false` plotters has no system font lookup,
/// so every text draw fails unless the family was registered first.
pub(crate) fn ensure_fonts() -> Result<(), String> {
    static FONTS: OnceLock<Result<(), String>> = OnceLock::new();
    FONTS
        .get_or_init(|| {
            plotters::style::register_font(FAMILY, FontStyle::Normal, REGULAR)
                .map_err(|_| "bundled font DejaVuSans.ttf is not a valid font".to_string())?;
            plotters::style::register_font(FAMILY, FontStyle::Bold, BOLD)
                .map_err(|_| "bundled font DejaVuSans-Bold.ttf is not a valid font".to_string())?;
            Ok(())
        })
        .clone()
}

// ---------------------------------------------------------------------------
// Palette

/// Body text colour (near black; pure black looks harsh in reports).
pub(crate) const TEXT: RGBColor = RGBColor(0x22, 0x22, 0x22);
/// Secondary text (subtitles, footers, tick labels).
pub(crate) const MUTED: RGBColor = RGBColor(0x5F, 0x5F, 0x5F);
/// Grid lines.
pub(crate) const GRID: RGBColor = RGBColor(0xE3, 0xE3, 0xE3);
/// Axis lines.
pub(crate) const AXIS: RGBColor = RGBColor(0x9A, 0x9A, 0x9A);
/// Neutral colour for market-wide aggregates (`market`, `total`).
pub(crate) const NEUTRAL: RGBColor = RGBColor(0x4D, 0x4D, 0x4D);

/// Opacity of the 90 % (p5–p95) band.
pub(crate) const ALPHA_90: f64 = 0.15;
/// Opacity of the 50 % (p25–p75) band.
pub(crate) const ALPHA_50: f64 = 0.35;

const fn hex(v: u32) -> RGBColor {
    RGBColor((v >> 16) as u8, (v >> 8) as u8, v as u8)
}

/// Colours for names that are not in the fixed map. Chosen to stay clear of
/// the fixed vendor and origin colours below.
const FALLBACK: [RGBColor; 7] = [
    hex(0x1B9E77), // teal green
    hex(0xB8860B), // dark goldenrod
    hex(0x6A5ACD), // slate blue
    hex(0x008B8B), // dark cyan
    hex(0xD2691E), // chocolate
    hex(0x556B2F), // dark olive green
    hex(0xBC8F8F), // rosy brown
];

/// Lower-case alphanumerics only, so "Moore Threads", "moore-threads"
/// and "MooreThreads" map to the same colour. Non-ASCII letters and digits
/// are kept, and a name without any alphanumeric is kept whole (lower-cased),
/// so that no non-blank name becomes "", the key of the aggregates.
fn normalise(name: &str) -> String {
    let key: String = name
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect();
    if key.is_empty() {
        name.trim().to_lowercase()
    } else {
        key
    }
}

/// 32-bit FNV-1a. Used instead of std's `DefaultHasher`, whose output is
/// not guaranteed across Rust releases, so colours never change between builds.
pub(crate) fn fnv1a(bytes: &[u8]) -> u32 {
    let mut h: u32 = 0x811C_9DC5;
    for &b in bytes {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

/// The named vendors in legend order, with their normalised aliases and
/// colour. One table for both [`entity_colour`] and [`entity_rank`] (the
/// rank is the index), so that order and colours are edited together.
const VENDORS: [(&[&str], RGBColor); 9] = [
    (&["nvidia"], hex(0x76B900)),
    (
        &["huawei", "huaweiascend", "ascend", "hisilicon"],
        hex(0xC7000B),
    ),
    (&["cambricon"], hex(0x1F77B4)),
    (&["hygon"], hex(0x9467BD)),
    // AMD's own red would clash with Huawei, hence orange.
    (&["amd"], hex(0xFF7F0E)),
    (&["biren"], hex(0x8C564B)),
    (&["metax"], hex(0xE377C2)),
    (&["moorethreads", "moorethread", "mthreads"], hex(0x17BECF)),
    (&["alibaba", "thead", "alibabathead"], hex(0xBCBD22)),
];

/// The named origins in legend order. US navy is much darker than
/// Cambricon's blue; CN uses a dark red rather than flag red so it is not
/// mistaken for Huawei.
const ORIGINS: [(&[&str], RGBColor); 2] = [
    (&["us", "usa"], hex(0x3C3B6E)),
    (&["cn", "china", "prc"], hex(0x8B0000)),
];

/// Residual groups ("Other CN vendors", "other") in a quiet grey.
const RESIDUAL: RGBColor = hex(0x8C8C8C);

/// Rank (see [`entity_rank`]) and colour of a normalised name.
fn classify(key: &str) -> (u8, RGBColor) {
    let find = |table: &[(&[&str], RGBColor)]| {
        table
            .iter()
            .position(|(aliases, _)| aliases.contains(&key))
            .map(|i| (i as u8, table[i].1))
    };
    let n = VENDORS.len() as u8;
    if let Some(v) = find(&VENDORS) {
        v
    } else if let Some((i, c)) = find(&ORIGINS) {
        (n + 2 + i, c)
    } else if matches!(key, "market" | "total" | "") {
        (n + 2 + ORIGINS.len() as u8, NEUTRAL)
    } else if key.starts_with("other") || key == "rest" {
        (n + 1, RESIDUAL)
    } else {
        (
            n,
            FALLBACK[(fnv1a(key.as_bytes()) as usize) % FALLBACK.len()],
        )
    }
}

/// The colour of a vendor, origin or aggregate, identical in every chart.
pub(crate) fn entity_colour(name: &str) -> RGBColor {
    classify(&normalise(name)).1
}

/// Sort key giving every chart and scenario the same entity order, by the
/// table that fixes the colours: the named vendors in the order of
/// [`VENDORS`], then any other name alphabetically (by normalised name),
/// then residual groups ("Other CN vendors"), then the origins US and CN,
/// then aggregates. The rank sees only a name, so an origin other than US
/// and CN (e.g. "EU") cannot be told from a vendor here; lists of origins
/// use [`origin_rank`], which puts such origins after US and CN. (Ordering
/// by size made the legend change from one scenario to the next.)
pub(crate) fn entity_rank(name: &str) -> (u8, String) {
    let key = normalise(name);
    (classify(&key).0, key)
}

/// Sort key for a list known to hold origins (the origin panel, export
/// fees): as [`entity_rank`], except that names it cannot place are other
/// origins and so come after US and CN (alphabetically), before aggregates.
pub(crate) fn origin_rank(name: &str) -> (u8, String) {
    let (rank, key) = entity_rank(name);
    let n = VENDORS.len() as u8;
    let after_origins = n + 2 + ORIGINS.len() as u8;
    let rank = match rank {
        r if r == n => after_origins,
        r if r == after_origins => after_origins + 1,
        r => r,
    };
    (rank, key)
}

// ---------------------------------------------------------------------------
// Fonts

/// Regular text style in the bundled family.
pub(crate) fn font(size: f64, colour: RGBColor) -> TextStyle<'static> {
    (FAMILY, size).into_font().color(&colour)
}

/// Bold text style in the bundled family.
pub(crate) fn bold(size: f64, colour: RGBColor) -> TextStyle<'static> {
    (FAMILY, size, FontStyle::Bold).into_font().color(&colour)
}

// ---------------------------------------------------------------------------
// Month axis

/// Months since year 0, so that `index % 12 == 0` is a January.
pub(crate) type MonthIndex = i32;

/// Parses "YYYY-MM" (also "YYYY-M" and "YYYY-MM-DD") into a month index.
pub(crate) fn parse_month(s: &str) -> Option<MonthIndex> {
    let mut parts = s.trim().split('-');
    let year: i32 = parts.next()?.trim().parse().ok()?;
    let month: i32 = parts.next()?.trim().parse().ok()?;
    if !(1..=12).contains(&month) || !(0..=9999).contains(&year) {
        return None;
    }
    Some(year * 12 + month - 1)
}

const MONTH_NAMES: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// "Jan 2026"; just "2026" when ticks are a year or more apart.
pub(crate) fn month_label(m: MonthIndex, step: i32) -> String {
    let year = m.div_euclid(12);
    let month = m.rem_euclid(12) as usize;
    if step >= 12 {
        format!("{year}")
    } else {
        format!("{} {year}", MONTH_NAMES[month])
    }
}

/// Calendar-aligned tick months within `first..=last`, at most `max_ticks`
/// of them (always at least one). Returns `(step, ticks)`.
///
/// Steps are 1, 2, 3, 6 months or whole years, aligned so ticks fall on
/// January/July etc., which is what readers expect on a date axis.
pub(crate) fn month_ticks(
    first: MonthIndex,
    last: MonthIndex,
    max_ticks: usize,
) -> (i32, Vec<MonthIndex>) {
    // 1, 2, 3, 6 months, then 1, 2, 5 × 10^k years.
    let steps = [1, 2, 3, 6]
        .into_iter()
        .chain((0..5).flat_map(|k| [12, 24, 60].map(|s| s * 10i32.pow(k))));
    let (first, last) = (first.min(last), first.max(last));
    let max_ticks = max_ticks.max(1) as i64;
    let count = |step: i32| -> i64 {
        let lo = i64::from(first.div_euclid(step)) + i64::from(first.rem_euclid(step) != 0);
        let hi = i64::from(last.div_euclid(step));
        (hi - lo + 1).max(0)
    };
    let mut step = 1;
    for s in steps {
        step = s;
        if count(s) <= max_ticks && count(s) > 0 {
            break;
        }
    }
    let start = first.div_euclid(step) * step + if first.rem_euclid(step) != 0 { step } else { 0 };
    let ticks: Vec<MonthIndex> = (0..)
        .map(|i| start + i * step)
        .take_while(|&m| m <= last)
        .collect();
    // Only reachable for spans shorter than the chosen step (never in
    // practice); still label something.
    if ticks.is_empty() {
        return (step, vec![first]);
    }
    (step, ticks)
}

/// The x extent and ticks of a month axis.
pub(crate) struct MonthAxis {
    pub lo: f64,
    pub hi: f64,
    pub step: i32,
    pub ticks: Vec<f64>,
}

impl MonthAxis {
    /// Axis covering `first..=last`; a single month gets one month of room
    /// either side so the range is never empty.
    pub(crate) fn new(first: MonthIndex, last: MonthIndex, max_ticks: usize) -> Self {
        let (step, ticks) = month_ticks(first, last, max_ticks);
        let (lo, hi) = if first == last {
            (f64::from(first) - 1.0, f64::from(last) + 1.0)
        } else {
            (f64::from(first.min(last)), f64::from(first.max(last)))
        };
        MonthAxis {
            lo,
            hi,
            step,
            ticks: ticks.into_iter().map(f64::from).collect(),
        }
    }

    pub(crate) fn label(&self, v: f64) -> String {
        month_label(v.round() as i32, self.step)
    }
}

// ---------------------------------------------------------------------------
// Value axis

/// A numeric axis with "nice" round ticks.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct NumAxis {
    pub lo: f64,
    pub hi: f64,
    pub ticks: Vec<f64>,
    pub decimals: usize,
}

/// 1, 2, 2.5 or 5 times a power of ten, at least `raw`.
fn nice_step(raw: f64) -> f64 {
    let mag = 10f64.powf(raw.log10().floor());
    let norm = raw / mag;
    let nice = if norm <= 1.0 {
        1.0
    } else if norm <= 2.0 {
        2.0
    } else if norm <= 2.5 {
        2.5
    } else if norm <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * mag
}

/// Round axis covering `min..=max` with about `target` intervals. Non-finite
/// or empty ranges fall back to something drawable (e.g. all-zero data → 0–1).
pub(crate) fn nice_axis(min: f64, max: f64, target: usize) -> NumAxis {
    let (mut min, mut max) = match (min.is_finite(), max.is_finite()) {
        (true, true) => (min.min(max), min.max(max)),
        (true, false) => (min, min),
        (false, true) => (max, max),
        (false, false) => (0.0, 1.0),
    };
    if max - min <= f64::EPSILON * max.abs().max(1.0) {
        if max == 0.0 {
            max = 1.0;
        } else if max > 0.0 {
            min = min.min(0.0);
            max *= 1.2;
        } else {
            max = 0.0;
            min *= 1.2;
        }
    }
    let step = nice_step((max - min) / target.max(1) as f64);
    // The epsilon keeps float noise (e.g. 2.0000000001 steps) from adding a
    // needless extra tick at either end.
    let lo = (min / step + 1e-9).floor() * step;
    let hi = (max / step - 1e-9).ceil() * step;
    let n = ((hi - lo) / step).round() as i64;
    // Fewest decimals that print multiples of `step` exactly (0.25 needs 2).
    let decimals = (0..=12)
        .find(|&d| {
            let scaled = step * 10f64.powi(d);
            (scaled - scaled.round()).abs() < 1e-6 * scaled.max(1.0)
        })
        .unwrap_or(12) as usize;
    let ticks = (0..=n).map(|i| lo + i as f64 * step).collect();
    NumAxis {
        lo,
        hi,
        ticks,
        decimals,
    }
}

impl NumAxis {
    /// Tick label: fixed decimals, "0" for zero, thin thousands grouping.
    pub(crate) fn label(&self, v: f64) -> String {
        if v.abs() < 1e-12 {
            return "0".into();
        }
        group_thousands(&format!("{:.*}", self.decimals, v))
    }
}

/// "12345.5" → "12,345.5" (only for numbers of five or more integer digits,
/// where grouping actually helps reading).
pub(crate) fn group_thousands(s: &str) -> String {
    let (sign, rest) = s.strip_prefix('-').map_or(("", s), |r| ("-", r));
    let (int, frac) = rest
        .split_once('.')
        .map_or((rest, None), |(a, b)| (a, Some(b)));
    if int.len() < 5 || !int.bytes().all(|b| b.is_ascii_digit()) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + int.len() / 3);
    out.push_str(sign);
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if let Some(f) = frac {
        out.push('.');
        out.push_str(f);
    }
    out
}

// ---------------------------------------------------------------------------
// Coordinate with our own ticks

/// A linear f64 axis whose grid lines and labels sit exactly at `ticks`.
///
/// Why not plotters' `with_key_points`: on an f64 range it loses the value
/// formatter, so `configure_mesh` would not compile.
#[derive(Debug, Clone)]
pub(crate) struct Ticked {
    lo: f64,
    hi: f64,
    ticks: Vec<f64>,
}

impl Ticked {
    pub(crate) fn new(lo: f64, hi: f64, ticks: &[f64]) -> Self {
        Ticked {
            lo,
            hi,
            ticks: ticks.to_vec(),
        }
    }
}

impl Ranged for Ticked {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let span = self.hi - self.lo;
        if span.abs() < f64::MIN_POSITIVE || !value.is_finite() {
            return (limit.0 + limit.1) / 2;
        }
        let t = (value - self.lo) / span;
        limit.0 + (f64::from(limit.1 - limit.0) * t).round() as i32
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        // Only bold points: light grid lines would clutter a report chart.
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.lo..self.hi
    }
}

// ---------------------------------------------------------------------------
// Text helpers

/// Pixel width of `text`, with a rough fallback if the backend cannot tell.
pub(crate) fn text_width<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    text: &str,
    style: &TextStyle,
) -> u32 {
    area.estimate_text_size(text, style)
        .map(|(w, _)| w)
        .unwrap_or_else(|_| (text.chars().count() as f64 * 0.6 * style.font.get_size()) as u32)
}

/// Shortens `text` with an ellipsis until it fits `max_width` pixels.
pub(crate) fn ellipsize<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    text: &str,
    style: &TextStyle,
    max_width: u32,
) -> String {
    if text_width(area, text, style) <= max_width {
        return text.to_string();
    }
    let chars: Vec<char> = text.chars().collect();
    let mut n = chars.len();
    while n > 1 {
        n -= 1;
        let candidate: String = chars[..n].iter().collect::<String>().trim_end().to_string() + "…";
        if text_width(area, &candidate, style) <= max_width {
            return candidate;
        }
    }
    "…".into()
}

/// Draws horizontal `text` at pixel `(x, y)` of `area` with the given anchor.
pub(crate) fn draw_text<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    text: &str,
    pos: (i32, i32),
    style: &TextStyle,
    anchor: (HPos, VPos),
) -> Result<(), DrawErr> {
    draw_str(area, text, pos, style, anchor, false)
}

/// Tick labels and the y-axis title of a chart on [`Ticked`] axes.
///
/// Drawn by us rather than by plotters' mesh so that raster text gets the
/// glyph placement fix (see `text.rs`); the mesh draws the grid and ticks.
pub(crate) struct AxisLabels<'a> {
    pub x: Vec<(f64, String)>,
    pub y: Vec<(f64, String)>,
    pub x_style: TextStyle<'a>,
    pub y_style: TextStyle<'a>,
    /// Rotated title centred in the left label area of this width.
    pub y_desc: Option<(&'a str, u32)>,
}

/// Distance from the axis line to tick labels (tick mark plus a gap).
const LABEL_GAP: i32 = 11;

/// Draws `labels` for `chart`, whose labels areas lie inside `area`.
pub(crate) fn draw_axis_labels<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    chart: &ChartContext<'_, DB, Cartesian2d<Ticked, Ticked>>,
    labels: &AxisLabels,
) -> Result<(), DrawErr> {
    let (bx, by) = area.get_base_pixel();
    let (xr, yr) = chart.plotting_area().get_pixel_range();
    let (x_lo, y_lo) = (chart.x_range().start, chart.y_range().start);
    for (v, text) in &labels.x {
        let (px, _) = chart.backend_coord(&(*v, y_lo));
        let pos = (px - bx, yr.end - by + LABEL_GAP);
        draw_text(area, text, pos, &labels.x_style, (HPos::Center, VPos::Top))?;
    }
    for (v, text) in &labels.y {
        let (_, py) = chart.backend_coord(&(x_lo, *v));
        let pos = (xr.start - bx - LABEL_GAP, py - by);
        draw_text(
            area,
            text,
            pos,
            &labels.y_style,
            (HPos::Right, VPos::Center),
        )?;
    }
    if let Some((desc, label_w)) = labels.y_desc {
        let pos = (
            xr.start - bx - label_w as i32 + 16,
            (yr.start + yr.end) / 2 - by,
        );
        let style = font(20.0, TEXT);
        draw_str(area, desc, pos, &style, (HPos::Center, VPos::Center), true)?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Page furniture

/// Left/right page margin in pixels.
pub(crate) const PAGE_MARGIN: i32 = 40;
const HEADER_H: u32 = 112;
const FOOTER_H: u32 = 44;

/// Draws the bold title and grey subtitle at the top left, and a footer
/// note at the bottom left; returns the area left in between.
pub(crate) fn page<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    subtitle: &str,
    footer: &str,
) -> Result<DrawingArea<DB, Shift>, DrawErr> {
    let (w, h) = root.dim_in_pixel();
    let max_w = w.saturating_sub(2 * PAGE_MARGIN as u32);

    // Long scenario titles shrink first, then get an ellipsis.
    let mut size = 34.0;
    let mut title_style = bold(size, TEXT);
    while size > 22.0 && text_width(root, title, &title_style) > max_w {
        size -= 2.0;
        title_style = bold(size, TEXT);
    }
    let title = ellipsize(root, title, &title_style, max_w);
    draw_text(
        root,
        &title,
        (PAGE_MARGIN, 24),
        &title_style,
        (HPos::Left, VPos::Top),
    )?;

    let sub_style = font(22.0, MUTED);
    let subtitle = ellipsize(root, subtitle, &sub_style, max_w);
    draw_text(
        root,
        &subtitle,
        (PAGE_MARGIN, 72),
        &sub_style,
        (HPos::Left, VPos::Top),
    )?;

    // Long notes wrap (the body gives up the room) rather than lose their end.
    let foot_style = font(17.0, MUTED);
    let lines = wrap(root, footer, &foot_style, max_w, FOOTER_MAX_LINES);
    let extra = FOOTER_LINE_H * (lines.len().max(1) as u32 - 1);
    let first = h as i32 - FOOTER_H as i32 / 2 - extra as i32;
    for (i, line) in lines.iter().enumerate() {
        draw_text(
            root,
            line,
            (PAGE_MARGIN, first + (FOOTER_LINE_H as usize * i) as i32),
            &foot_style,
            (HPos::Left, VPos::Center),
        )?;
    }

    let (_, body) = root.split_vertically(HEADER_H);
    let (body, _) = body.split_vertically(h.saturating_sub(HEADER_H + FOOTER_H + extra));
    Ok(body)
}

/// Footer lines at most; a longer note gets an ellipsis on the last.
const FOOTER_MAX_LINES: usize = 3;
/// Distance between footer lines (17 px text).
const FOOTER_LINE_H: u32 = 22;

/// Breaks `text` at spaces into lines of at most `max_w` pixels, at most
/// `max_lines` of them (the last then ellipsized); a word wider than a line
/// is ellipsized.
pub(crate) fn wrap<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    text: &str,
    style: &TextStyle,
    max_w: u32,
    max_lines: usize,
) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut words = text.split(' ').filter(|w| !w.is_empty()).peekable();
    while let Some(word) = words.next() {
        if lines.len() + 1 == max_lines.max(1) {
            // The last allowed line takes the rest.
            let rest: Vec<&str> = std::iter::once(word).chain(words.by_ref()).collect();
            lines.push(ellipsize(area, &rest.join(" "), style, max_w));
            break;
        }
        let mut line = word.to_string();
        while let Some(next) = words.peek() {
            let candidate = format!("{line} {next}");
            if text_width(area, &candidate, style) > max_w {
                break;
            }
            line = candidate;
            words.next();
        }
        lines.push(ellipsize(area, &line, style, max_w));
    }
    lines
}

// ---------------------------------------------------------------------------
// Legend

/// How a legend entry's sample is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Swatch {
    /// Median line over a 90 % band, optionally with a 50 % band.
    Bands { band50: bool, dashed: bool },
    /// A dot with a whisker (comparison chart).
    Dot,
}

/// One legend entry.
#[derive(Debug, Clone)]
pub(crate) struct LegendItem {
    pub label: String,
    pub colour: RGBColor,
    pub swatch: Swatch,
}

const SWATCH_W: i32 = 40;
const SWATCH_GAP: i32 = 10;
const ITEM_GAP: i32 = 34;
const ROW_H: i32 = 32;

fn legend_style() -> TextStyle<'static> {
    font(20.0, TEXT)
}

/// Splits legend items into rows that fit `width`; returns per row the item
/// indices and the row's total width.
fn legend_rows<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    items: &[LegendItem],
    width: i32,
) -> Vec<(Vec<usize>, i32)> {
    let style = legend_style();
    let mut rows: Vec<(Vec<usize>, i32)> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let w = SWATCH_W + SWATCH_GAP + text_width(area, &item.label, &style) as i32;
        match rows.last_mut() {
            Some((row, row_w)) if *row_w + ITEM_GAP + w <= width => {
                row.push(i);
                *row_w += ITEM_GAP + w;
            }
            _ => rows.push((vec![i], w)),
        }
    }
    rows
}

/// Height in pixels that [`draw_legend`] needs for `items` in `width`.
pub(crate) fn legend_height<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    items: &[LegendItem],
    width: i32,
) -> u32 {
    let rows = legend_rows(area, items, width).len() as i32;
    if rows == 0 {
        0
    } else {
        (rows * ROW_H + 12) as u32
    }
}

/// Draws a centred, possibly multi-row legend filling `area`.
pub(crate) fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    items: &[LegendItem],
) -> Result<(), DrawErr> {
    let (w, _) = area.dim_in_pixel();
    let style = legend_style();
    for (r, (row, row_w)) in legend_rows(area, items, w as i32).iter().enumerate() {
        let mut x = ((w as i32 - row_w) / 2).max(0);
        let cy = 6 + r as i32 * ROW_H + ROW_H / 2;
        for &i in row {
            let item = &items[i];
            draw_swatch(area, item, x, cy)?;
            let tx = x + SWATCH_W + SWATCH_GAP;
            draw_text(
                area,
                &item.label,
                (tx, cy),
                &style,
                (HPos::Left, VPos::Center),
            )?;
            x = tx + text_width(area, &item.label, &style) as i32 + ITEM_GAP;
        }
    }
    Ok(())
}

fn draw_swatch<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    item: &LegendItem,
    x: i32,
    cy: i32,
) -> Result<(), DrawErr> {
    let c = item.colour;
    match item.swatch {
        Swatch::Bands { band50, dashed } => {
            area.draw(&Rectangle::new(
                [(x, cy - 10), (x + SWATCH_W, cy + 10)],
                c.mix(ALPHA_90).filled(),
            ))?;
            if band50 {
                area.draw(&Rectangle::new(
                    [(x, cy - 5), (x + SWATCH_W, cy + 5)],
                    c.mix(ALPHA_50).filled(),
                ))?;
            }
            if dashed {
                for s in [0, 16, 32] {
                    let e = (s + 9).min(SWATCH_W);
                    area.draw(&PathElement::new(
                        vec![(x + s, cy), (x + e, cy)],
                        c.stroke_width(3),
                    ))?;
                }
            } else {
                area.draw(&PathElement::new(
                    vec![(x, cy), (x + SWATCH_W, cy)],
                    c.stroke_width(3),
                ))?;
            }
        }
        Swatch::Dot => {
            area.draw(&PathElement::new(
                vec![(x + 4, cy), (x + SWATCH_W - 4, cy)],
                c.stroke_width(2),
            ))?;
            area.draw(&Circle::new((x + SWATCH_W / 2, cy), 6, c.filled()))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_parse_and_label() {
        assert_eq!(parse_month("2026-01"), Some(2026 * 12));
        assert_eq!(parse_month(" 2026-7 "), Some(2026 * 12 + 6));
        assert_eq!(parse_month("2026-12-01"), Some(2026 * 12 + 11));
        assert_eq!(parse_month("2026-13"), None);
        assert_eq!(parse_month("junk"), None);
        assert_eq!(parse_month(""), None);
        assert_eq!(month_label(2026 * 12 + 6, 6), "Jul 2026");
        assert_eq!(month_label(2027 * 12, 12), "2027");
    }

    #[test]
    fn ticks_every_six_months_for_three_years() {
        let first = parse_month("2026-01").unwrap();
        let last = parse_month("2028-12").unwrap();
        let (step, ticks) = month_ticks(first, last, 7);
        assert_eq!(step, 6);
        let labels: Vec<String> = ticks.iter().map(|&m| month_label(m, step)).collect();
        assert_eq!(
            labels,
            [
                "Jan 2026", "Jul 2026", "Jan 2027", "Jul 2027", "Jan 2028", "Jul 2028"
            ]
        );
    }

    #[test]
    fn ticks_adapt_to_horizon() {
        let m = |s| parse_month(s).unwrap();
        // Ten years: yearly ticks would be 10 > 7, so every two years.
        let (step, ticks) = month_ticks(m("2026-01"), m("2035-12"), 7);
        assert_eq!(step, 24);
        assert!(ticks.len() <= 7 && !ticks.is_empty());
        assert!(ticks.iter().all(|t| t % 24 == 0));
        // Short horizon: monthly.
        let (step, ticks) = month_ticks(m("2026-03"), m("2026-08"), 7);
        assert_eq!(step, 1);
        assert_eq!(ticks.len(), 6);
        // Single month.
        let (_, ticks) = month_ticks(m("2026-05"), m("2026-05"), 7);
        assert_eq!(ticks, vec![m("2026-05")]);
        // Unaligned start: first tick is the next calendar-aligned month.
        let (step, ticks) = month_ticks(m("2026-02"), m("2028-12"), 7);
        assert_eq!(step, 6);
        assert_eq!(ticks[0], m("2026-07"));
        // Absurd horizon still terminates with few ticks.
        let (_, ticks) = month_ticks(0, 9999 * 12, 7);
        assert!(!ticks.is_empty() && ticks.len() <= 9);
    }

    #[test]
    fn colours_are_fixed_and_stable() {
        assert_eq!(entity_colour("Nvidia"), hex(0x76B900));
        assert_eq!(entity_colour("NVIDIA"), hex(0x76B900));
        assert_eq!(entity_colour("Huawei"), hex(0xC7000B));
        assert_eq!(entity_colour("Cambricon"), hex(0x1F77B4));
        assert_eq!(
            entity_colour("Moore-Threads"),
            entity_colour("Moore Threads")
        );
        assert_eq!(entity_colour("US"), hex(0x3C3B6E));
        assert_ne!(entity_colour("AMD"), entity_colour("Huawei"));
        // Origins differ from the vendors they are shown next to.
        for o in ["US", "CN"] {
            for v in ["Nvidia", "Huawei", "Cambricon", "AMD", "Hygon"] {
                assert_ne!(entity_colour(o), entity_colour(v), "{o} vs {v}");
            }
        }
        // Unknown names: stable FNV-1a pick from the fallback palette.
        assert_eq!(fnv1a(b""), 0x811C_9DC5);
        assert_eq!(fnv1a(b"a"), 0xE40C_292C);
        let c = entity_colour("Zhonghao Xinying");
        assert_eq!(c, entity_colour("Zhonghao Xinying"));
        assert_eq!(
            c,
            FALLBACK[(fnv1a(b"zhonghaoxinying") as usize) % FALLBACK.len()]
        );
        assert!(FALLBACK.contains(&entity_colour("SomeNewVendor")));
        assert_eq!(entity_colour("Other-CN-vendors"), hex(0x8C8C8C));
    }

    /// The map before the table and the non-ASCII keys, kept to check that
    /// no name with an ASCII alphanumeric changed colour or rank.
    fn old_colour_and_rank(name: &str) -> (RGBColor, u8) {
        let key: String = name
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_lowercase())
            .collect();
        match key.as_str() {
            "nvidia" => (hex(0x76B900), 0),
            "huawei" | "huaweiascend" | "ascend" | "hisilicon" => (hex(0xC7000B), 1),
            "cambricon" => (hex(0x1F77B4), 2),
            "hygon" => (hex(0x9467BD), 3),
            "amd" => (hex(0xFF7F0E), 4),
            "biren" => (hex(0x8C564B), 5),
            "metax" => (hex(0xE377C2), 6),
            "moorethreads" | "moorethread" | "mthreads" => (hex(0x17BECF), 7),
            "alibaba" | "thead" | "alibabathead" => (hex(0xBCBD22), 8),
            "us" | "usa" => (hex(0x3C3B6E), 11),
            "cn" | "china" | "prc" => (hex(0x8B0000), 12),
            "market" | "total" | "" => (NEUTRAL, 13),
            k if k.starts_with("other") || k == "rest" => (hex(0x8C8C8C), 10),
            _ => (
                FALLBACK[(fnv1a(key.as_bytes()) as usize) % FALLBACK.len()],
                9,
            ),
        }
    }

    #[test]
    fn one_table_gives_the_old_colours_and_ranks_of_ascii_names() {
        let mut names: Vec<String> = VENDORS
            .iter()
            .chain(&ORIGINS)
            .flat_map(|(a, _)| a.iter().map(|s| s.to_uppercase()))
            .collect();
        names.extend(
            [
                "Moore Threads",
                "T-Head",
                "Other CN vendors",
                "rest",
                "market",
                "Total",
                "EU",
                "Zhonghao Xinying",
                "SomeNewVendor",
                "a",
                "Z9",
            ]
            .map(String::from),
        );
        // Every one- and two-character printable ASCII name with an
        // alphanumeric.
        let printable: Vec<char> = (0x20u8..0x7F).map(char::from).collect();
        for &a in &printable {
            names.push(a.to_string());
            for &b in &printable {
                names.push(format!("{a}{b}"));
            }
        }
        for n in names
            .iter()
            .filter(|n| n.chars().any(|c| c.is_ascii_alphanumeric()))
        {
            let (colour, rank) = old_colour_and_rank(n);
            assert_eq!(entity_colour(n), colour, "{n:?}");
            assert_eq!(entity_rank(n).0, rank, "{n:?}");
        }
    }

    #[test]
    fn non_ascii_names_are_ordinary_vendors() {
        for n in ["海光", "沐曦", "Ωmega", "-", "+"] {
            let (rank, key) = entity_rank(n);
            assert!(!key.is_empty(), "{n:?}");
            assert_eq!(rank, 9, "{n:?}");
            assert!(FALLBACK.contains(&entity_colour(n)), "{n:?}");
        }
        assert_eq!(normalise("海光 Hygon"), "海光hygon");
        assert_ne!(entity_colour("海光"), NEUTRAL);
        assert_eq!(entity_colour("total"), NEUTRAL);
        // Only a blank name is an aggregate.
        assert_eq!(entity_rank(" ").0, 13);
        // Ranks and order of a mixed list.
        let mut v = [
            "Total",
            "CN",
            "海光",
            "Other CN vendors",
            "US",
            "Nvidia",
            "EU",
        ];
        v.sort_by_cached_key(|n| entity_rank(n));
        assert_eq!(
            v,
            [
                "Nvidia",
                "EU",
                "海光",
                "Other CN vendors",
                "US",
                "CN",
                "Total"
            ]
        );
    }

    #[test]
    fn origins_other_than_us_and_cn_come_after_them() {
        let mut v = ["EU", "Total", "CN", "Other origins", "AE", "US"];
        v.sort_by_cached_key(|n| origin_rank(n));
        assert_eq!(v, ["Other origins", "US", "CN", "AE", "EU", "Total"]);
        // Known names keep their rank.
        for n in ["Nvidia", "US", "CN", "Other CN vendors"] {
            assert_eq!(origin_rank(n), entity_rank(n), "{n}");
        }
    }

    #[test]
    fn nice_axes() {
        let a = nice_axis(0.0, 2.7, 6);
        assert_eq!(a.lo, 0.0);
        assert_eq!(a.hi, 3.0);
        assert_eq!(a.decimals, 1);
        assert_eq!(a.label(0.5), "0.5");
        assert_eq!(a.label(0.0), "0");
        // All zero → still a valid range.
        let z = nice_axis(0.0, 0.0, 6);
        assert!(z.hi > z.lo);
        let n = nice_axis(f64::NAN, f64::NAN, 6);
        assert!(n.hi > n.lo);
        let big = nice_axis(0.0, 123_456.0, 5);
        assert_eq!(big.label(100_000.0), "100,000");
        assert!(big.ticks.len() >= 3);
        let q = nice_axis(0.0, 0.23, 5);
        assert_eq!(q.label(0.05), "0.05");
    }
}
