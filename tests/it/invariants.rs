//! Every invariant of the model, over random valid scenarios (proptest).

use crate::random_scenarios::random_scenario;
use crate::support::scenario;
use proptest::prelude::*;
use tradeflow::engine::{MetricLayout, Scratch, SliceSink, month_metrics};
use tradeflow::model::{Model, TrialRecord, Workspace, check_month, check_record};

fn check_scenario(seed: u64) -> Result<(), String> {
    let text = random_scenario(seed);
    let sc = scenario(&text);
    let model = Model::new(&sc, seed);
    let layout = MetricLayout::new(&sc);
    let (mut ws, mut rec) = (Workspace::default(), TrialRecord::default());
    let origin_of: Vec<usize> = sc.products.iter().map(|p| p.origin).collect();
    let vendor_of: Vec<usize> = sc.products.iter().map(|p| p.vendor).collect();
    let mut values = vec![0.0; layout.monthly.len()];
    let mut scratch = Scratch::default();
    for trial in 0..4 {
        let mut failure = None;
        model.run_trial_observed(trial, &mut ws, &mut rec, &mut |view| {
            if failure.is_none()
                && let Err(e) = check_month(view)
            {
                failure = Some(e);
            }
        });
        if let Some(e) = failure {
            return Err(format!("trial {trial}: {e}\n---\n{text}"));
        }
        check_record(
            &rec,
            &origin_of,
            &vendor_of,
            sc.origins.len(),
            sc.vendors.len(),
        )
        .map_err(|e| format!("trial {trial}: {e}\n---\n{text}"))?;
        // The reported metrics: shares sum to 1 (or all 0), money adds up.
        for t in 0..sc.months {
            month_metrics(&sc, &rec, t, &mut scratch, &mut SliceSink::new(&mut values));
            let get = |metric: &str, pred: &dyn Fn(&str) -> bool| -> Vec<f64> {
                layout
                    .monthly
                    .iter()
                    .zip(&values)
                    .filter(|(n, _)| n.metric == metric && pred(&n.entity))
                    .map(|(_, v)| *v)
                    .collect()
            };
            let purchased = get("purchased_h100e", &|_| true)[0];
            let expect = if purchased > 0.0 { 1.0 } else { 0.0 };
            let origin_sum: f64 = get("share_compute", &|e| sc.origins.iter().any(|o| o == e))
                .iter()
                .sum();
            let vendor_sum: f64 = get("share_compute", &|e| sc.vendors.iter().any(|v| v == e))
                .iter()
                .sum();
            let revenue_sum: f64 = get("share_revenue", &|_| true).iter().sum();
            let gross = get("revenue_usd", &|e| e == "total")[0];
            for (what, sum) in [("origin", origin_sum), ("vendor", vendor_sum)] {
                if (sum - expect).abs() > 1e-9 {
                    return Err(format!(
                        "trial {trial} month {t}: {what} compute shares sum to {sum}\n{text}"
                    ));
                }
            }
            if gross > 0.0 && (revenue_sum - 1.0).abs() > 1e-9 {
                return Err(format!(
                    "trial {trial} month {t}: revenue shares sum to {revenue_sum}"
                ));
            }
            let net: f64 = get("vendor_net_usd", &|_| true).iter().sum();
            let fees: f64 = get("export_fee_usd", &|_| true).iter().sum();
            if (net + fees - gross).abs() > 1e-9 * gross.max(1.0) {
                return Err(format!(
                    "trial {trial} month {t}: net {net} + fees {fees} ≠ gross {gross}"
                ));
            }
            let demand = get("demand_h100e", &|_| true)[0];
            let unmet = get("unmet_h100e", &|e| e == "market")[0];
            if (purchased + unmet - demand).abs() > 1e-7 * demand.max(1.0) {
                return Err(format!(
                    "trial {trial} month {t}: purchased + unmet ≠ demand"
                ));
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Finite, non-negative quantities; caps respected; each buyer's balance;
    /// mandate shares; unmet only when saturated or cut; money and shares add up.
    #[test]
    fn invariants_hold_in_random_scenarios(seed in any::<u64>()) {
        if let Err(e) = check_scenario(seed) {
            prop_assert!(false, "seed {}: {}", seed, e);
        }
    }
}

#[test]
#[ignore]
fn debug_scenario_file() {
    let text = std::fs::read_to_string(std::env::var("TF_DEBUG").unwrap()).unwrap();
    let sc = scenario(&text);
    let model = Model::new(&sc, std::env::var("TF_SEED").unwrap().parse().unwrap());
    let (mut ws, mut rec) = (Workspace::default(), TrialRecord::default());
    let month: usize = std::env::var("TF_MONTH").unwrap().parse().unwrap();
    let seed_trial: u64 = 0;
    model.run_trial_observed(seed_trial, &mut ws, &mut rec, &mut |v| {
        if v.month != month {
            return;
        }
        let c = v.clearing;
        eprintln!(
            "caps {:?}\nh {:?}\ndom {:?}\nqp {:?}",
            v.offer.cap_units, v.offer.h100e, v.offer.domestic, v.offer.ln_quality_price
        );
        for (b, buyer) in c.buyers().iter().enumerate() {
            eprintln!("buyer {b}: {buyer:?}");
            for j in 0..v.offer.h100e.len() {
                eprintln!(
                    "   j{j} avail {} target {:.4} alloc {:.3}",
                    c.is_available(b, j),
                    c.target_share(b, j),
                    c.allocation(b, j)
                );
            }
            eprintln!(
                "   unmet {:.3} cut {:.3} -> {:?}",
                c.unmet(b),
                c.mandate_cut(b),
                check_month(v)
            );
        }
    });
}
