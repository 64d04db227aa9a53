//! Verification of whole trials against every invariant of `docs/model.md`:
//! used by the property tests, the long invariants run and the fuzz target,
//! so that all three check the same things.
//!
//! Per month: each clearing ([`check_month`]) and, for buyers that no cap
//! constrains, the CES closed form computed independently of the clearing
//! code. Per trial: the record ([`check_record`]) and the reported metrics
//! (shares sum to 1 or are all 0, gross = net + fees, purchased + unmet = demand).

use crate::engine::{MetricLayout, Scratch, SliceSink, month_metrics};
use crate::model::Model;
use crate::model::{MonthView, NEGLIGIBLE, TrialRecord, Workspace, check_month, check_record};
use crate::scenario::Scenario;

/// An invariant that did not hold.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("trial {trial}: {message}")]
pub struct Violation {
    /// The trial index.
    pub trial: u64,
    /// What failed, with the month.
    pub message: String,
}

/// What a verification covered, so that tests can tell a check that passed
/// from one that never ran.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Coverage {
    /// Trials run.
    pub trials: u64,
    /// Months checked (over all trials).
    pub months: u64,
    /// Buyer-months compared with the CES closed form.
    pub ces_buyers: u64,
}

/// Relative tolerance of the closed-form comparison.
const CES_TOL: f64 = 1e-7;

/// Absolute tolerance far below any meaningful quantity, above the spacing
/// of subnormal numbers.
const SUBNORMAL_SLACK: f64 = 1e-300;

/// Checks that buyers with no mandate, none of whose products is sold out,
/// bought exactly their CES shares `∝ c_j^(1−σ)` of their demand (shares
/// below the negligible threshold are zero by rule). Returns how many buyers
/// were compared.
pub fn check_ces_closed_form(view: &MonthView) -> Result<u64, String> {
    let (o, c) = (view.offer, view.clearing);
    let p = o.h100e.len();
    let buyers = c.buyers();
    let mut sold = vec![0.0; p];
    for b in 0..buyers.len() {
        for (j, s) in sold.iter_mut().enumerate() {
            *s += c.allocation(b, j) / o.h100e[j];
        }
    }
    let binding = |j: usize| sold[j] >= o.cap_units[j] * (1.0 - 1e-7) - 1e-9;
    let mut weights = vec![0.0; p];
    let mut compared = 0;
    for (b, buyer) in buyers.iter().enumerate() {
        let d = buyer.demand_h100e;
        if buyer.mandate.is_some() || d <= 0.0 {
            continue;
        }
        let open: Vec<usize> = (0..p).filter(|&j| c.is_available(b, j)).collect();
        if open.is_empty() || open.iter().any(|&j| binding(j)) {
            continue;
        }
        // Log-sum-exp of (1 − σ) ln c_j: stable for any σ and price range.
        let rho = 1.0 - buyer.sigma;
        let max = open
            .iter()
            .map(|&j| rho * o.ln_quality_price[j])
            .fold(f64::NEG_INFINITY, f64::max);
        let mut total = 0.0;
        for &j in &open {
            weights[j] = (rho * o.ln_quality_price[j] - max).exp();
            total += weights[j];
        }
        for &j in &open {
            let expect = d * weights[j] / total;
            let got = c.allocation(b, j);
            // Below the negligible threshold a share may be zeroed; and a
            // subnormal demand (1e-320) carries absolute, not relative, error.
            let slack = CES_TOL * d + 2.0 * NEGLIGIBLE * d + SUBNORMAL_SLACK;
            if (got - expect).abs() > slack {
                return Err(format!(
                    "month {}: buyer {b} (σ {}) bought {got} of product {j}, the CES closed form says {expect}",
                    view.month, buyer.sigma
                ));
            }
        }
        compared += 1;
    }
    Ok(compared)
}

/// Runs trials `trials` of `sc` with `seed` and checks every invariant in
/// every month; the first violation found is returned.
pub fn verify_trials(
    sc: &Scenario,
    seed: u64,
    trials: std::ops::Range<u64>,
) -> Result<Coverage, Violation> {
    let mut coverage = Coverage::default();
    let model = Model::new(sc, seed);
    let layout = MetricLayout::new(sc);
    let (mut ws, mut rec) = (Workspace::default(), TrialRecord::default());
    let origin_of: Vec<usize> = sc.products.iter().map(|p| p.origin).collect();
    let vendor_of: Vec<usize> = sc.products.iter().map(|p| p.vendor).collect();
    let mut values = vec![0.0; layout.monthly.len()];
    let mut scratch = Scratch::default();
    for trial in trials {
        let fail = |message: String| Violation { trial, message };
        let mut failure = None;
        model.run_trial_observed(trial, &mut ws, &mut rec, &mut |view| {
            if failure.is_some() {
                return;
            }
            match check_month(view).and_then(|()| check_ces_closed_form(view)) {
                Ok(n) => {
                    coverage.months += 1;
                    coverage.ces_buyers += n;
                }
                Err(e) => failure = Some(e),
            }
        });
        if let Some(e) = failure {
            return Err(fail(e));
        }
        check_record(
            &rec,
            &origin_of,
            &vendor_of,
            sc.origins.len(),
            sc.vendors.len(),
        )
        .map_err(fail)?;
        for t in 0..sc.months {
            month_metrics(sc, &rec, t, &mut scratch, &mut SliceSink::new(&mut values));
            check_month_metrics(sc, &layout, &values, t).map_err(fail)?;
        }
        coverage.trials += 1;
    }
    Ok(coverage)
}

/// The reported metrics of one month: finite, shares sum to 1 (or all 0),
/// money adds up, purchased + unmet = demand.
fn check_month_metrics(
    sc: &Scenario,
    layout: &MetricLayout,
    values: &[f64],
    t: usize,
) -> Result<(), String> {
    if let Some(i) = values.iter().position(|v| !v.is_finite()) {
        let s = &layout.monthly[i];
        return Err(format!(
            "month {t}: {} of {} is {}",
            s.metric, s.entity, values[i]
        ));
    }
    let sum = |metric: &str, pred: &dyn Fn(&str) -> bool| -> f64 {
        layout
            .monthly
            .iter()
            .zip(values)
            .filter(|(n, _)| n.metric == metric && pred(&n.entity))
            .map(|(_, v)| *v)
            .sum()
    };
    let purchased = sum("purchased_h100e", &|e| e == "market");
    let expect = if purchased > 0.0 { 1.0 } else { 0.0 };
    let by_origin = sum("share_compute", &|e| sc.origins.iter().any(|o| o == e));
    let by_vendor = sum("share_compute", &|e| sc.vendors.iter().any(|v| v == e));
    for (what, s) in [("origin", by_origin), ("vendor", by_vendor)] {
        if (s - expect).abs() > 1e-9 {
            return Err(format!(
                "month {t}: compute shares by {what} sum to {s}, expected {expect}"
            ));
        }
    }
    let gross = sum("revenue_usd", &|e| e == "total");
    let revenue_shares = sum("share_revenue", &|_| true);
    if gross > 0.0 && (revenue_shares - 1.0).abs() > 1e-9 {
        return Err(format!("month {t}: revenue shares sum to {revenue_shares}"));
    }
    let net = sum("vendor_net_usd", &|_| true);
    let fees = sum("export_fee_usd", &|_| true);
    if (net + fees - gross).abs() > 1e-9 * gross.max(1.0) {
        return Err(format!(
            "month {t}: vendor net {net} + export fees {fees} ≠ gross {gross}"
        ));
    }
    let demand = sum("demand_h100e", &|e| e == "market");
    let unmet = sum("unmet_h100e", &|e| e == "market");
    if (purchased + unmet - demand).abs() > 1e-7 * demand.max(1.0) {
        return Err(format!(
            "month {t}: purchased {purchased} + unmet {unmet} ≠ demand {demand}"
        ));
    }
    Ok(())
}
