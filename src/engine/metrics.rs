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

/// Per-vendor and per-origin sums, reused across months.
#[derive(Debug, Clone, Default)]
pub struct Scratch {
    vendor_a: Vec<f64>,
    vendor_b: Vec<f64>,
    vendor_c: Vec<f64>,
    origin_a: Vec<f64>,
    origin_b: Vec<f64>,
}

impl Scratch {
    fn reset(&mut self, vendors: usize, origins: usize) {
        for v in [&mut self.vendor_a, &mut self.vendor_b, &mut self.vendor_c] {
            v.clear();
            v.resize(vendors, 0.0);
        }
        for v in [&mut self.origin_a, &mut self.origin_b] {
            v.clear();
            v.resize(origins, 0.0);
        }
    }
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
    scratch.reset(sc.vendors.len(), sc.origins.len());
    let mut total_gross = 0.0;
    for (j, p) in sc.products.iter().enumerate() {
        scratch.vendor_a[p.vendor] += rec.gross_usd[k(j)];
        scratch.vendor_b[p.vendor] += rec.gross_usd[k(j)] - rec.export_fee_usd[k(j)];
        scratch.vendor_c[p.vendor] += rec.compute_h100e[k(j)];
        scratch.origin_a[p.origin] += rec.export_fee_usd[k(j)];
        scratch.origin_b[p.origin] += rec.compute_h100e[k(j)];
        total_gross += rec.gross_usd[k(j)];
    }
    for (v, name) in sc.vendors.iter().enumerate() {
        sink.put("revenue_usd", name, scratch.vendor_a[v]);
    }
    sink.put("revenue_usd", "total", total_gross);
    for (v, name) in sc.vendors.iter().enumerate() {
        sink.put("vendor_net_usd", name, scratch.vendor_b[v]);
    }
    for o in sc.foreign_origins() {
        sink.put("export_fee_usd", &sc.origins[o], scratch.origin_a[o]);
    }
    let total_compute: f64 = scratch.origin_b.iter().sum();
    for (o, name) in sc.origins.iter().enumerate() {
        sink.put(
            "share_compute",
            name,
            share(scratch.origin_b[o], total_compute),
        );
    }
    for (v, name) in sc.vendors.iter().enumerate() {
        sink.put(
            "share_compute",
            name,
            share(scratch.vendor_c[v], total_compute),
        );
    }
    for (v, name) in sc.vendors.iter().enumerate() {
        sink.put(
            "share_revenue",
            name,
            share(scratch.vendor_a[v], total_gross),
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

/// Emits the metrics over the whole horizon.
pub fn horizon_metrics(
    sc: &Scenario,
    rec: &TrialRecord,
    scratch: &mut Scratch,
    sink: &mut impl Sink,
) {
    let (np, ns, months) = (rec.n_products, rec.n_segments, rec.months);
    scratch.reset(sc.vendors.len(), sc.origins.len());
    let mut total_gross = 0.0;
    for t in 0..months {
        for (j, p) in sc.products.iter().enumerate() {
            let k = t * np + j;
            scratch.vendor_a[p.vendor] += rec.gross_usd[k];
            scratch.vendor_b[p.vendor] += rec.gross_usd[k] - rec.export_fee_usd[k];
            scratch.vendor_c[p.vendor] += rec.compute_h100e[k];
            scratch.origin_a[p.origin] += rec.export_fee_usd[k];
            scratch.origin_b[p.origin] += rec.compute_h100e[k];
            total_gross += rec.gross_usd[k];
        }
    }
    for (v, name) in sc.vendors.iter().enumerate() {
        sink.put("total_revenue_usd", name, scratch.vendor_a[v]);
    }
    sink.put("total_revenue_usd", "total", total_gross);
    for (v, name) in sc.vendors.iter().enumerate() {
        sink.put("total_vendor_net_usd", name, scratch.vendor_b[v]);
    }
    for o in sc.foreign_origins() {
        sink.put("total_export_fee_usd", &sc.origins[o], scratch.origin_a[o]);
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
    // Final month shares.
    let last = months - 1;
    scratch.origin_a.iter_mut().for_each(|x| *x = 0.0);
    scratch.vendor_a.iter_mut().for_each(|x| *x = 0.0);
    for (j, p) in sc.products.iter().enumerate() {
        let q = rec.compute_h100e[last * np + j];
        scratch.origin_a[p.origin] += q;
        scratch.vendor_a[p.vendor] += q;
    }
    let last_total: f64 = scratch.origin_a.iter().sum();
    for (o, name) in sc.origins.iter().enumerate() {
        sink.put(
            "final_share_compute",
            name,
            share(scratch.origin_a[o], last_total),
        );
    }
    for (v, name) in sc.vendors.iter().enumerate() {
        sink.put(
            "final_share_compute",
            name,
            share(scratch.vendor_a[v], last_total),
        );
    }
    // Compute-weighted over the horizon: total compute of each / all compute bought.
    let total_compute: f64 = scratch.origin_b.iter().sum();
    for (o, name) in sc.origins.iter().enumerate() {
        sink.put(
            "mean_share_compute",
            name,
            share(scratch.origin_b[o], total_compute),
        );
    }
    for (v, name) in sc.vendors.iter().enumerate() {
        sink.put(
            "mean_share_compute",
            name,
            share(scratch.vendor_c[v], total_compute),
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
