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
    vendor_gross_usd: Vec<f64>,
    vendor_net_usd: Vec<f64>,
    vendor_compute_h100e: Vec<f64>,
    origin_fee_usd: Vec<f64>,
    origin_compute_h100e: Vec<f64>,
    total_gross_usd: f64,
    total_compute_h100e: f64,
}

impl Sums {
    /// Sums the products' records over `months` (the vectors are reused).
    fn over(&mut self, sc: &Scenario, rec: &TrialRecord, months: std::ops::Range<usize>) {
        for v in [
            &mut self.vendor_gross_usd,
            &mut self.vendor_net_usd,
            &mut self.vendor_compute_h100e,
        ] {
            v.clear();
            v.resize(sc.vendors.len(), 0.0);
        }
        for v in [&mut self.origin_fee_usd, &mut self.origin_compute_h100e] {
            v.clear();
            v.resize(sc.origins.len(), 0.0);
        }
        self.total_gross_usd = 0.0;
        let np = rec.n_products;
        for t in months {
            for (j, p) in sc.products.iter().enumerate() {
                let k = t * np + j;
                self.vendor_gross_usd[p.vendor] += rec.gross_usd[k];
                self.vendor_net_usd[p.vendor] += rec.gross_usd[k] - rec.export_fee_usd[k];
                self.vendor_compute_h100e[p.vendor] += rec.compute_h100e[k];
                self.origin_fee_usd[p.origin] += rec.export_fee_usd[k];
                self.origin_compute_h100e[p.origin] += rec.compute_h100e[k];
                self.total_gross_usd += rec.gross_usd[k];
            }
        }
        self.total_compute_h100e = self.origin_compute_h100e.iter().sum();
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
    let seg = |v: &[f64], s: usize| v[t * ns + s];
    let (mut demand, mut bought, mut unmet, mut cut) = (0.0, 0.0, 0.0, 0.0);
    for s in 0..ns {
        demand += seg(&rec.segment_demand_h100e, s);
        bought += seg(&rec.segment_purchased_h100e, s);
        unmet += seg(&rec.segment_unmet_h100e, s);
        cut += seg(&rec.segment_mandate_cut_h100e, s);
    }
    sink.put("demand_h100e", "market", demand);
    sink.put("purchased_h100e", "market", bought);
    sink.put("unmet_h100e", "market", unmet);
    sink.put("mandate_cut_h100e", "market", cut);
    for (s, segment) in sc.segments.iter().enumerate() {
        sink.put(
            "unmet_h100e",
            &segment.name,
            seg(&rec.segment_unmet_h100e, s),
        );
    }
    let k = |j: usize| t * np + j;
    for (j, p) in sc.products.iter().enumerate() {
        sink.put("units", &p.name, rec.units[k(j)]);
    }
    for (j, p) in sc.products.iter().enumerate() {
        sink.put("compute_h100e", &p.name, rec.compute_h100e[k(j)]);
    }
    for (j, p) in sc.products.iter().enumerate() {
        sink.put("price_usd", &p.name, rec.price_usd[k(j)]);
    }
    for (j, p) in sc.products.iter().enumerate() {
        sink.put("available", &p.name, rec.available[k(j)]);
    }
    let m = &mut scratch.span;
    m.over(sc, rec, t..t + 1);
    for (v, name) in sc.vendors.iter().enumerate() {
        sink.put("revenue_usd", name, m.vendor_gross_usd[v]);
    }
    sink.put("revenue_usd", "total", m.total_gross_usd);
    for (v, name) in sc.vendors.iter().enumerate() {
        sink.put("vendor_net_usd", name, m.vendor_net_usd[v]);
    }
    for o in sc.foreign_origins() {
        sink.put("export_fee_usd", &sc.origins[o], m.origin_fee_usd[o]);
    }
    for (o, name) in sc.origins.iter().enumerate() {
        sink.put(
            "share_compute",
            name,
            share(m.origin_compute_h100e[o], m.total_compute_h100e),
        );
    }
    for (v, name) in sc.vendors.iter().enumerate() {
        sink.put(
            "share_compute",
            name,
            share(m.vendor_compute_h100e[v], m.total_compute_h100e),
        );
    }
    for (v, name) in sc.vendors.iter().enumerate() {
        sink.put(
            "share_revenue",
            name,
            share(m.vendor_gross_usd[v], m.total_gross_usd),
        );
    }
    for j in sc.domestic_products() {
        sink.put(
            "production_units",
            &sc.products[j].name,
            rec.production_units[k(j)],
        );
    }
    for j in sc.domestic_products() {
        sink.put(
            "inventory_units",
            &sc.products[j].name,
            rec.inventory_units[k(j)],
        );
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
    for t in 0..rec.months {
        month_metrics(
            sc,
            rec,
            t,
            scratch,
            &mut SliceSink::new(&mut out[t * n_series..]),
        );
    }
    out[..rec.months * n_series]
        .iter()
        .position(|x| !x.is_finite())
        .map(|bad| (bad / n_series, bad % n_series))
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
        sink.put("total_revenue_usd", name, h.vendor_gross_usd[v]);
    }
    sink.put("total_revenue_usd", "total", h.total_gross_usd);
    for (v, name) in sc.vendors.iter().enumerate() {
        sink.put("total_vendor_net_usd", name, h.vendor_net_usd[v]);
    }
    for o in sc.foreign_origins() {
        sink.put("total_export_fee_usd", &sc.origins[o], h.origin_fee_usd[o]);
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
            share(last.origin_compute_h100e[o], last.total_compute_h100e),
        );
    }
    for (v, name) in sc.vendors.iter().enumerate() {
        sink.put(
            "final_share_compute",
            name,
            share(last.vendor_compute_h100e[v], last.total_compute_h100e),
        );
    }
    // Compute-weighted over the horizon: total compute of each / all compute bought.
    let h = &scratch.span;
    for (o, name) in sc.origins.iter().enumerate() {
        sink.put(
            "mean_share_compute",
            name,
            share(h.origin_compute_h100e[o], h.total_compute_h100e),
        );
    }
    for (v, name) in sc.vendors.iter().enumerate() {
        sink.put(
            "mean_share_compute",
            name,
            share(h.vendor_compute_h100e[v], h.total_compute_h100e),
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
