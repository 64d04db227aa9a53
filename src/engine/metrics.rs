//! The metric registry: which (metric, entity) series a trial yields, per month
//! and over the horizon, and how each is computed from a [`TrialRecord`].
//!
//! One function per kind walks the metrics in a fixed order and hands each
//! (metric, entity, value) to a sink: a sink that keeps names builds the
//! layout once, a sink that keeps values fills a row per trial. The layout and
//! the values therefore cannot drift apart.

use crate::model::TrialRecord;
use crate::scenario::Scenario;

/// Receives metric values in registry order.
pub trait Sink {
    /// One value of series (metric, entity).
    fn put(&mut self, metric: &'static str, entity: &str, value: f64);
}

/// A (metric, entity) pair naming one series.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeriesName {
    /// Metric name, e.g. `share_compute`.
    pub metric: &'static str,
    /// Entity: a product, vendor, origin, segment, `market` or `total`.
    pub entity: String,
}

impl Sink for Vec<SeriesName> {
    fn put(&mut self, metric: &'static str, entity: &str, _: f64) {
        self.push(SeriesName {
            metric,
            entity: entity.to_string(),
        });
    }
}

/// Writes values into a slice, in order.
pub struct SliceSink<'a> {
    out: &'a mut [f64],
    next: usize,
}

impl<'a> SliceSink<'a> {
    /// A sink writing from the start of `out`.
    pub fn new(out: &'a mut [f64]) -> Self {
        SliceSink { out, next: 0 }
    }
}

impl Sink for SliceSink<'_> {
    #[inline]
    fn put(&mut self, _: &'static str, _: &str, value: f64) {
        self.out[self.next] = value;
        self.next += 1;
    }
}

/// Money and compute summed by vendor and by origin over some months.
#[derive(Debug, Clone, Default)]
struct Sums {
    /// By vendor: gross, net and compute; then by origin: fee and compute
    /// (one buffer, so it is zeroed at once).
    acc: Vec<f64>,
    /// Number of vendors.
    vendors: usize,
    total_gross_usd: f64,
    total_compute_h100e: f64,
}

impl Sums {
    fn vendor_gross_usd(&self) -> &[f64] {
        &self.acc[..self.vendors]
    }

    fn vendor_net_usd(&self) -> &[f64] {
        &self.acc[self.vendors..2 * self.vendors]
    }

    fn vendor_compute_h100e(&self) -> &[f64] {
        &self.acc[2 * self.vendors..3 * self.vendors]
    }

    fn origin_fee_usd(&self) -> &[f64] {
        let origins = (self.acc.len() - 3 * self.vendors) / 2;
        &self.acc[3 * self.vendors..3 * self.vendors + origins]
    }

    fn origin_compute_h100e(&self) -> &[f64] {
        let origins = (self.acc.len() - 3 * self.vendors) / 2;
        &self.acc[3 * self.vendors + origins..]
    }

    /// Sums the products' records over `months` (the buffer is reused).
    fn over(&mut self, sc: &Scenario, rec: &TrialRecord, months: std::ops::Range<usize>) {
        let (nv, no) = (sc.vendors.len(), sc.origins.len());
        self.vendors = nv;
        self.acc.clear();
        self.acc.resize(3 * nv + 2 * no, 0.0);
        let (vendor_gross, rest) = self.acc.split_at_mut(nv);
        let (vendor_net, rest) = rest.split_at_mut(nv);
        let (vendor_compute, rest) = rest.split_at_mut(nv);
        let (origin_fee, origin_compute) = rest.split_at_mut(no);
        let mut total_gross = 0.0;
        let np = rec.n_products;
        for t in months {
            // One month's slices, so the products are walked without index checks.
            let k = t * np..(t + 1) * np;
            let gross = &rec.gross_usd[k.clone()];
            let fee = &rec.export_fee_usd[k.clone()];
            let compute = &rec.compute_h100e[k];
            for (((p, &g), &f), &c) in sc.products.iter().zip(gross).zip(fee).zip(compute) {
                vendor_gross[p.vendor] += g;
                vendor_net[p.vendor] += g - f;
                vendor_compute[p.vendor] += c;
                origin_fee[p.origin] += f;
                origin_compute[p.origin] += c;
                total_gross += g;
            }
        }
        self.total_gross_usd = total_gross;
        self.total_compute_h100e = origin_compute.iter().sum();
    }
}

/// Per-vendor and per-origin sums, reused across months and trials.
#[derive(Debug, Clone, Default)]
pub struct Scratch {
    /// One month's, or the horizon's.
    span: Sums,
    /// The last month's, for the final shares.
    last: Sums,
}

fn share(part: f64, whole: f64) -> f64 {
    if whole > 0.0 { part / whole } else { 0.0 }
}

/// Emits the metrics of month `t`.
pub fn month_metrics(
    sc: &Scenario,
    rec: &TrialRecord,
    t: usize,
    scratch: &mut Scratch,
    sink: &mut impl Sink,
) {
    let (np, ns) = (rec.n_products, rec.n_segments);
    // This month's slices, so the loops below run without index checks.
    let segs = t * ns..(t + 1) * ns;
    let unmet_s = &rec.segment_unmet_h100e[segs.clone()];
    let (mut demand, mut bought, mut unmet, mut cut) = (0.0, 0.0, 0.0, 0.0);
    for (((&d, &b), &u), &c) in rec.segment_demand_h100e[segs.clone()]
        .iter()
        .zip(&rec.segment_purchased_h100e[segs.clone()])
        .zip(unmet_s)
        .zip(&rec.segment_mandate_cut_h100e[segs])
    {
        demand += d;
        bought += b;
        unmet += u;
        cut += c;
    }
    sink.put("demand_h100e", "market", demand);
    sink.put("purchased_h100e", "market", bought);
    sink.put("unmet_h100e", "market", unmet);
    sink.put("mandate_cut_h100e", "market", cut);
    for (segment, &u) in sc.segments.iter().zip(unmet_s) {
        sink.put("unmet_h100e", &segment.name, u);
    }
    let prods = t * np..(t + 1) * np;
    for (p, &v) in sc.products.iter().zip(&rec.units[prods.clone()]) {
        sink.put("units", &p.name, v);
    }
    for (p, &v) in sc.products.iter().zip(&rec.compute_h100e[prods.clone()]) {
        sink.put("compute_h100e", &p.name, v);
    }
    for (p, &v) in sc.products.iter().zip(&rec.price_usd[prods.clone()]) {
        sink.put("price_usd", &p.name, v);
    }
    for (p, &v) in sc.products.iter().zip(&rec.available[prods.clone()]) {
        sink.put("available", &p.name, v);
    }
    let m = &mut scratch.span;
    m.over(sc, rec, t..t + 1);
    for (name, &x) in sc.vendors.iter().zip(m.vendor_gross_usd()) {
        sink.put("revenue_usd", name, x);
    }
    sink.put("revenue_usd", "total", m.total_gross_usd);
    for (name, &x) in sc.vendors.iter().zip(m.vendor_net_usd()) {
        sink.put("vendor_net_usd", name, x);
    }
    for o in sc.foreign_origins() {
        sink.put("export_fee_usd", &sc.origins[o], m.origin_fee_usd()[o]);
    }
    for (name, &x) in sc.origins.iter().zip(m.origin_compute_h100e()) {
        sink.put("share_compute", name, share(x, m.total_compute_h100e));
    }
    for (name, &x) in sc.vendors.iter().zip(m.vendor_compute_h100e()) {
        sink.put("share_compute", name, share(x, m.total_compute_h100e));
    }
    for (name, &x) in sc.vendors.iter().zip(m.vendor_gross_usd()) {
        sink.put("share_revenue", name, share(x, m.total_gross_usd));
    }
    let production = &rec.production_units[prods.clone()];
    for (p, &v) in sc.products.iter().zip(production) {
        if p.domestic {
            sink.put("production_units", &p.name, v);
        }
    }
    for (p, &v) in sc.products.iter().zip(&rec.inventory_units[prods]) {
        if p.domestic {
            sink.put("inventory_units", &p.name, v);
        }
    }
}

/// Notes whether every value put is finite, while another sink keeps them.
struct FiniteCheck<'a, S> {
    inner: &'a mut S,
    finite: bool,
}

impl<S: Sink> Sink for FiniteCheck<'_, S> {
    #[inline]
    fn put(&mut self, metric: &'static str, entity: &str, value: f64) {
        self.finite &= value.is_finite();
        self.inner.put(metric, entity, value);
    }
}

/// Writes every month's metrics of the trial in `rec` into `out`, month by
/// month (`n_series` values a month, in [`MetricLayout::monthly`] order), and
/// returns the month and series of the first value that is not finite.
pub fn all_month_metrics(
    sc: &Scenario,
    rec: &TrialRecord,
    scratch: &mut Scratch,
    out: &mut [f64],
    n_series: usize,
) -> Option<(usize, usize)> {
    let mut finite = true;
    for t in 0..rec.months {
        let mut sink = FiniteCheck {
            inner: &mut SliceSink::new(&mut out[t * n_series..]),
            finite: true,
        };
        month_metrics(sc, rec, t, scratch, &mut sink);
        finite &= sink.finite;
    }
    if finite {
        // Checked as they were written: no second look in the usual case.
        return None;
    }
    out[..rec.months * n_series]
        .iter()
        .position(|x| !x.is_finite())
        .map(|bad| (bad / n_series, bad % n_series))
}

/// Writes the monthly series `series` of one trial into its row of the
/// pass's columns (column `(s − series.start) · months + t`). `ALL`: the range
/// is every series, so no value needs a range check.
struct RowSink<'a, const ALL: bool> {
    row: &'a mut [f64],
    /// Index of the next series put.
    next: usize,
    series: std::ops::Range<usize>,
    /// Where the next value of the series in range goes.
    at: usize,
    /// From one series' column to the next one's, in one month.
    step: usize,
    /// Sum of `value · 0`: NaN once any value put is infinite or NaN, else 0.
    check: f64,
}

impl<const ALL: bool> Sink for RowSink<'_, ALL> {
    #[inline]
    fn put(&mut self, _: &'static str, _: &str, value: f64) {
        // Two instructions a value; the place of a bad value is looked for
        // only when there is one.
        self.check += value * 0.0;
        if ALL || self.series.contains(&self.next) {
            self.row[self.at] = value;
            self.at += self.step;
        }
        self.next += 1;
    }
}

/// Writes every month's metrics of series `series` of the trial in `rec` into
/// its row `row` of the pass's columns (see [`RowSink`]), and returns the
/// month and series of the first value that is not finite, among all series
/// (as [`all_month_metrics`] does; `month_buf` is used only to find it).
pub(crate) fn row_month_metrics(
    sc: &Scenario,
    rec: &TrialRecord,
    scratch: &mut Scratch,
    series: std::ops::Range<usize>,
    row: &mut [f64],
    month_buf: &mut Vec<f64>,
    n_series: usize,
) -> Option<(usize, usize)> {
    let finite = if series == (0..n_series) && rec.months > 0 {
        row_all_series(sc, rec, scratch, row)
    } else {
        row_months::<false>(sc, rec, scratch, series, row)
    };
    if finite {
        return None;
    }
    month_buf.resize(rec.months * n_series, 0.0);
    all_month_metrics(sc, rec, scratch, month_buf, n_series)
}

/// The next `len` values of `rest` (fewer if it has fewer), and `rest` moves past them.
fn take<'a>(rest: &mut &'a mut [f64], len: usize) -> &'a mut [f64] {
    let all = std::mem::take(rest);
    let (taken, after) = all.split_at_mut(len.min(all.len()));
    *rest = after;
    taken
}

/// Writes series `k` of a record laid out `[month][entity]` (`width`
/// entities a month) into `out`, month after month.
fn entity_series(out: &mut [f64], values: &[f64], width: usize, k: usize) {
    for (d, month) in out.iter_mut().zip(values.chunks_exact(width)) {
        *d = month[k];
    }
}

/// Every series of [`month_metrics`], in its order, written series after
/// series (`row[s · months + t]`) straight from the record: the values a
/// [`RowSink`] would get (the same sums, in the same order), without a call
/// per value. Whether every value is finite. `rec.months` is not zero.
fn row_all_series(
    sc: &Scenario,
    rec: &TrialRecord,
    scratch: &mut Scratch,
    row: &mut [f64],
) -> bool {
    let (months, np, ns) = (rec.months, rec.n_products, rec.n_segments);
    let mut rest = &mut *row;
    let market = take(&mut rest, 4 * months);
    let (demand, rest4) = market.split_at_mut(months.min(market.len()));
    let (bought, rest4) = rest4.split_at_mut(months.min(rest4.len()));
    let (unmet, cut) = rest4.split_at_mut(months.min(rest4.len()));
    for t in 0..months {
        let segs = t * ns..(t + 1) * ns;
        let (mut d_sum, mut b_sum, mut u_sum, mut c_sum) = (0.0, 0.0, 0.0, 0.0);
        for (((&d, &b), &u), &c) in rec.segment_demand_h100e[segs.clone()]
            .iter()
            .zip(&rec.segment_purchased_h100e[segs.clone()])
            .zip(&rec.segment_unmet_h100e[segs.clone()])
            .zip(&rec.segment_mandate_cut_h100e[segs])
        {
            d_sum += d;
            b_sum += b;
            u_sum += u;
            c_sum += c;
        }
        if let (Some(d), Some(b), Some(u), Some(c)) = (
            demand.get_mut(t),
            bought.get_mut(t),
            unmet.get_mut(t),
            cut.get_mut(t),
        ) {
            (*d, *b, *u, *c) = (d_sum, b_sum, u_sum, c_sum);
        }
    }
    if ns > 0 {
        let values = &rec.segment_unmet_h100e[..months * ns];
        for k in 0..sc.segments.len().min(ns) {
            entity_series(take(&mut rest, months), values, ns, k);
        }
    }
    let products = if np > 0 { sc.products.len().min(np) } else { 0 };
    for values in [
        &rec.units,
        &rec.compute_h100e,
        &rec.price_usd,
        &rec.available,
    ] {
        for j in 0..products {
            entity_series(take(&mut rest, months), &values[..months * np], np, j);
        }
    }
    // The money series: each month's sums by vendor and origin, then that
    // month's value of each series.
    let (nv, no) = (sc.vendors.len(), sc.origins.len());
    let foreign = sc.foreign_origins().count();
    let money = take(&mut rest, (4 * nv + 1 + foreign + no) * months);
    let m = &mut scratch.span;
    for t in 0..months {
        m.over(sc, rec, t..t + 1);
        let mut at = t;
        let mut put = |x: f64| {
            if let Some(d) = money.get_mut(at) {
                *d = x;
            }
            at += months;
        };
        m.vendor_gross_usd().iter().for_each(|&x| put(x));
        put(m.total_gross_usd);
        m.vendor_net_usd().iter().for_each(|&x| put(x));
        for o in sc.foreign_origins() {
            put(m.origin_fee_usd()[o]);
        }
        let (compute, gross) = (m.total_compute_h100e, m.total_gross_usd);
        m.origin_compute_h100e()
            .iter()
            .for_each(|&x| put(share(x, compute)));
        m.vendor_compute_h100e()
            .iter()
            .for_each(|&x| put(share(x, compute)));
        m.vendor_gross_usd()
            .iter()
            .for_each(|&x| put(share(x, gross)));
    }
    for values in [&rec.production_units, &rec.inventory_units] {
        for (j, p) in sc.products.iter().enumerate().take(products) {
            if p.domestic {
                entity_series(take(&mut rest, months), &values[..months * np], np, j);
            }
        }
    }
    debug_assert!(rest.is_empty(), "every series written");
    all_finite(row)
}

/// Whether every value is finite: none has every exponent bit set (adding
/// one to the exponent field then carries into the sign bit). Integer
/// operations, which the compiler vectorises.
fn all_finite(values: &[f64]) -> bool {
    const EXPONENT: u64 = 0x7FF0_0000_0000_0000;
    let flag = |x: &f64| (x.to_bits() & EXPONENT) + (1 << 52);
    // Four lanes, so that the compiler keeps four values in a register.
    let mut fours = values.chunks_exact(4);
    let mut lanes = [0u64; 4];
    for x in fours.by_ref() {
        for (lane, x) in lanes.iter_mut().zip(x) {
            *lane |= flag(x);
        }
    }
    let carry = fours.remainder().iter().fold(0, |acc, x| acc | flag(x));
    (carry | lanes[0] | lanes[1] | lanes[2] | lanes[3]) >> 63 == 0
}

/// The months of [`row_month_metrics`]; whether every value is finite.
fn row_months<const ALL: bool>(
    sc: &Scenario,
    rec: &TrialRecord,
    scratch: &mut Scratch,
    series: std::ops::Range<usize>,
    row: &mut [f64],
) -> bool {
    let mut sink = RowSink::<ALL> {
        row,
        next: 0,
        series,
        at: 0,
        step: rec.months,
        check: 0.0,
    };
    for t in 0..rec.months {
        sink.next = 0;
        sink.at = t;
        month_metrics(sc, rec, t, scratch, &mut sink);
    }
    sink.check == 0.0
}

/// Emits the metrics over the whole horizon.
pub fn horizon_metrics(
    sc: &Scenario,
    rec: &TrialRecord,
    scratch: &mut Scratch,
    sink: &mut impl Sink,
) {
    let (np, ns, months) = (rec.n_products, rec.n_segments, rec.months);
    let h = &mut scratch.span;
    h.over(sc, rec, 0..months);
    for (v, name) in sc.vendors.iter().enumerate() {
        sink.put("total_revenue_usd", name, h.vendor_gross_usd()[v]);
    }
    sink.put("total_revenue_usd", "total", h.total_gross_usd);
    for (v, name) in sc.vendors.iter().enumerate() {
        sink.put("total_vendor_net_usd", name, h.vendor_net_usd()[v]);
    }
    for o in sc.foreign_origins() {
        sink.put(
            "total_export_fee_usd",
            &sc.origins[o],
            h.origin_fee_usd()[o],
        );
    }
    for (j, p) in sc.products.iter().enumerate() {
        let units: f64 = (0..months).map(|t| rec.units[t * np + j]).sum();
        sink.put("total_units", &p.name, units);
    }
    let sum_seg = |v: &[f64]| -> f64 { v[..months * ns].iter().sum() };
    sink.put(
        "total_demand_h100e",
        "market",
        sum_seg(&rec.segment_demand_h100e),
    );
    sink.put(
        "total_purchased_h100e",
        "market",
        sum_seg(&rec.segment_purchased_h100e),
    );
    sink.put(
        "total_unmet_h100e",
        "market",
        sum_seg(&rec.segment_unmet_h100e),
    );
    let last = &mut scratch.last;
    last.over(sc, rec, months - 1..months);
    for (o, name) in sc.origins.iter().enumerate() {
        sink.put(
            "final_share_compute",
            name,
            share(last.origin_compute_h100e()[o], last.total_compute_h100e),
        );
    }
    for (v, name) in sc.vendors.iter().enumerate() {
        sink.put(
            "final_share_compute",
            name,
            share(last.vendor_compute_h100e()[v], last.total_compute_h100e),
        );
    }
    // Compute-weighted over the horizon: total compute of each / all compute bought.
    let h = &scratch.span;
    for (o, name) in sc.origins.iter().enumerate() {
        sink.put(
            "mean_share_compute",
            name,
            share(h.origin_compute_h100e()[o], h.total_compute_h100e),
        );
    }
    for (v, name) in sc.vendors.iter().enumerate() {
        sink.put(
            "mean_share_compute",
            name,
            share(h.vendor_compute_h100e()[v], h.total_compute_h100e),
        );
    }
}

/// The names of every series, per month and over the horizon, for `sc`.
#[derive(Debug, Clone)]
pub struct MetricLayout {
    /// Series reported per month (`timeseries.csv`).
    pub monthly: Vec<SeriesName>,
    /// Series reported over the horizon (`summary.csv`, `trials.csv`).
    pub horizon: Vec<SeriesName>,
}

impl MetricLayout {
    /// Builds the layout by running the registry with a naming sink.
    pub fn new(sc: &Scenario) -> Self {
        let rec = TrialRecord {
            months: sc.months,
            n_products: sc.products.len(),
            n_segments: sc.segments.len(),
            units: vec![0.0; sc.months * sc.products.len()],
            compute_h100e: vec![0.0; sc.months * sc.products.len()],
            gross_usd: vec![0.0; sc.months * sc.products.len()],
            export_fee_usd: vec![0.0; sc.months * sc.products.len()],
            price_usd: vec![0.0; sc.months * sc.products.len()],
            available: vec![0.0; sc.months * sc.products.len()],
            production_units: vec![0.0; sc.months * sc.products.len()],
            inventory_units: vec![0.0; sc.months * sc.products.len()],
            segment_demand_h100e: vec![0.0; sc.months * sc.segments.len()],
            segment_purchased_h100e: vec![0.0; sc.months * sc.segments.len()],
            segment_unmet_h100e: vec![0.0; sc.months * sc.segments.len()],
            segment_mandate_cut_h100e: vec![0.0; sc.months * sc.segments.len()],
            ..TrialRecord::default()
        };
        let mut scratch = Scratch::default();
        let mut monthly = Vec::new();
        month_metrics(sc, &rec, 0, &mut scratch, &mut monthly);
        let mut horizon = Vec::new();
        horizon_metrics(sc, &rec, &mut scratch, &mut horizon);
        MetricLayout { monthly, horizon }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Model, Workspace};
    use crate::scenario::ComposedScenario;
    use std::path::Path;

    /// The series written straight from the record are those the registry
    /// puts, bit for bit, in every shipped scenario and the format example.
    #[test]
    fn series_from_the_record_match_the_registry() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files: Vec<_> = std::fs::read_dir(root.join("scenarios"))
            .expect("scenarios folder")
            .map(|e| e.expect("entry").path())
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        files.push(root.join("tests/data/format-example.toml"));
        files.sort();
        for file in &files {
            let sc = ComposedScenario::load(file)
                .and_then(|c| c.resolve())
                .expect("a shipped scenario");
            let layout = MetricLayout::new(&sc);
            let n_series = layout.monthly.len();
            let model = Model::new(&sc, 11);
            let (mut ws, mut rec, mut scratch) = (
                Workspace::default(),
                TrialRecord::default(),
                Scratch::default(),
            );
            let width = n_series * sc.months;
            for trial in 0..20 {
                model.run_trial(trial, &mut ws, &mut rec);
                let (mut fast, mut sunk) = (vec![f64::NAN; width], vec![f64::NAN; width]);
                assert!(row_all_series(&sc, &rec, &mut scratch, &mut fast));
                assert!(row_months::<true>(
                    &sc,
                    &rec,
                    &mut scratch,
                    0..n_series,
                    &mut sunk
                ));
                assert_eq!(
                    fast.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
                    sunk.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
                    "{} trial {trial}",
                    file.display()
                );
            }
        }
    }

    #[test]
    fn finite_check_finds_every_kind_of_non_finite_value() {
        assert!(all_finite(&[0.0, -0.0, f64::MAX, f64::MIN, 5e-324, -1.0]));
        for bad in [f64::INFINITY, f64::NEG_INFINITY, f64::NAN, -f64::NAN] {
            assert!(!all_finite(&[1.0, bad, 2.0]), "{bad}");
        }
    }
}
