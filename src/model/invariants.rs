//! The invariants of `docs/model.md`, as checks a test (or a long
//! verification run) applies to every month of every trial.

use super::market::NEGLIGIBLE;
use super::trial::{MonthView, TrialRecord};
use crate::scenario::MandateBasis;

/// Relative tolerance of the checks (floating-point sums of a few terms).
const TOL: f64 = 1e-7;

fn close(a: f64, b: f64, scale: f64) -> bool {
    (a - b).abs() <= TOL * scale.abs().max(1.0)
}

/// Checks one month's clearing: finiteness, caps, each buyer's balance,
/// mandate shares, and that unmet demand is left only when every product the
/// buyer could still turn to is saturated (or the mandate cut it).
pub fn check_month(view: &MonthView) -> Result<(), String> {
    let (o, c) = (view.offer, view.clearing);
    let t = view.month;
    let p = o.h100e.len();
    let buyers = c.buyers();
    // Sold per product, units.
    let mut sold = vec![0.0; p];
    for (b, buyer) in buyers.iter().enumerate() {
        let d = buyer.demand_h100e;
        let mut bought = 0.0;
        for (j, s) in sold.iter_mut().enumerate() {
            let q = c.allocation(b, j);
            if !q.is_finite() || q < 0.0 {
                return Err(format!(
                    "month {t}: buyer {b} allocation of product {j} is {q}"
                ));
            }
            if q > 0.0 && !c.is_available(b, j) {
                return Err(format!(
                    "month {t}: buyer {b} bought product {j}, which it may not buy"
                ));
            }
            *s += q / o.h100e[j];
            bought += q;
        }
        let unmet = c.unmet(b);
        let cut = c.mandate_cut(b);
        if !unmet.is_finite() || unmet < 0.0 || !cut.is_finite() || cut < 0.0 {
            return Err(format!("month {t}: buyer {b} unmet {unmet}, cut {cut}"));
        }
        if !close(bought + unmet, d, d) {
            return Err(format!(
                "month {t}: buyer {b} bought {bought} + unmet {unmet} ≠ demand {d}"
            ));
        }
        if let Some(m) = buyer.mandate {
            let (mut dom, mut all) = (0.0, 0.0);
            for j in 0..p {
                let q = match m.basis {
                    MandateBasis::Compute => c.allocation(b, j),
                    MandateBasis::Units => c.allocation(b, j) / o.h100e[j],
                };
                all += q;
                if o.domestic[j] {
                    dom += q;
                }
            }
            // An absolute floor, as in the balance check: at a subnormal
            // demand (1e-320 H100e) the amounts have a few significant bits,
            // and no clearing can hold a share to better than one of them.
            if all > 0.0 && dom < m.share * all * (1.0 - TOL) - NEGLIGIBLE * d.max(1.0) {
                return Err(format!(
                    "month {t}: mandated buyer {b} domestic share {} below r = {}",
                    dom / all,
                    m.share
                ));
            }
        }
    }
    for (j, (&s, &cap)) in sold.iter().zip(o.cap_units).enumerate() {
        if s > cap * (1.0 + TOL) + 1e-9 {
            return Err(format!(
                "month {t}: product {j} sold {s} units above its cap {cap}"
            ));
        }
    }
    let saturated = |j: usize| sold[j] >= o.cap_units[j] * (1.0 - TOL) - 1e-9;
    for (b, buyer) in buyers.iter().enumerate() {
        let d = buyer.demand_h100e;
        if c.unmet(b) <= TOL * d.max(1.0) || c.mandate_cut(b) > 0.0 {
            continue;
        }
        let wants = |j: usize| c.is_available(b, j) && c.target_share(b, j) > 0.0;
        let open: Vec<usize> = (0..p)
            .filter(|&j| wants(j) && !saturated(j))
            .filter(|&j| buyer.mandate.is_none() || o.domestic[j])
            .collect();
        if !open.is_empty() {
            return Err(format!(
                "month {t}: buyer {b} has unmet demand {} while products {open:?} it could turn to have capacity",
                c.unmet(b)
            ));
        }
    }
    Ok(())
}

/// Checks a whole trial's record: money adds up, shares over origins and
/// over vendors sum to 1 in months with purchases (0 otherwise), and every
/// recorded number is finite and non-negative.
pub fn check_record(
    rec: &TrialRecord,
    origin_of: &[usize],
    vendor_of: &[usize],
    n_origins: usize,
    n_vendors: usize,
) -> Result<(), String> {
    let p = rec.n_products;
    for (name, v) in [
        ("units", &rec.units),
        ("compute", &rec.compute_h100e),
        ("gross", &rec.gross_usd),
        ("fee", &rec.export_fee_usd),
        ("production", &rec.production_units),
        ("inventory", &rec.inventory_units),
        ("segment demand", &rec.segment_demand_h100e),
        ("segment unmet", &rec.segment_unmet_h100e),
    ] {
        if let Some(x) = v.iter().find(|x| !x.is_finite() || **x < 0.0) {
            return Err(format!("{name} holds {x}"));
        }
    }
    for t in 0..rec.months {
        let mut by_origin = vec![0.0; n_origins];
        let mut by_vendor = vec![0.0; n_vendors];
        let mut total = 0.0;
        for j in 0..p {
            let k = t * p + j;
            let net = rec.gross_usd[k] - rec.export_fee_usd[k];
            if net < -1e-9 * rec.gross_usd[k].max(1.0)
                || !close(
                    net + rec.export_fee_usd[k],
                    rec.gross_usd[k],
                    rec.gross_usd[k],
                )
            {
                return Err(format!("month {t}: product {j} gross ≠ net + fee"));
            }
            by_origin[origin_of[j]] += rec.compute_h100e[k];
            by_vendor[vendor_of[j]] += rec.compute_h100e[k];
            total += rec.compute_h100e[k];
        }
        for shares in [&by_origin, &by_vendor] {
            let sum: f64 = shares
                .iter()
                .map(|x| if total > 0.0 { x / total } else { 0.0 })
                .sum();
            let expect = if total > 0.0 { 1.0 } else { 0.0 };
            if (sum - expect).abs() > 1e-9 {
                return Err(format!("month {t}: shares sum to {sum}, expected {expect}"));
            }
        }
    }
    Ok(())
}
