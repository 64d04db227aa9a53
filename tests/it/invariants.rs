//! Every invariant of the model, over random valid scenarios (proptest).

use crate::random_scenarios::random_scenario;
use crate::support::scenario;
use proptest::prelude::*;
use tradeflow::verify::verify_trials;

/// Every invariant in every month of four trials of random scenario `seed`.
pub fn check_scenario(seed: u64) -> Result<(), String> {
    let text = random_scenario(seed);
    let sc = scenario(&text);
    verify_trials(&sc, seed, 0..4)
        .map(|_| ())
        .map_err(|e| format!("{e}\n---\n{text}"))
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

/// Products and buyers for a clearing with no binding cap.
fn unlimited_market(
    ln_prices: &[f64],
    h100e: &[f64],
    domestic: &[bool],
    sigma: f64,
    mandate: Option<tradeflow::model::BuyerMandate>,
) -> tradeflow::model::Clearing {
    use tradeflow::model::{Buyer, Clearing, ProductOffer, clear_market};
    let caps = vec![f64::INFINITY; ln_prices.len()];
    let offer = ProductOffer {
        h100e,
        domestic,
        cap_units: &caps,
        ln_quality_price: ln_prices,
    };
    let mut c = Clearing::default();
    c.reset(ln_prices.len());
    c.add_buyer(
        Buyer {
            segment: 0,
            demand_h100e: 1000.0,
            sigma,
            mandate,
        },
        |_| true,
    );
    clear_market(&offer, &mut c);
    c
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// With no cap binding and no mandate, purchases are the CES closed form.
    #[test]
    fn unconstrained_shares_equal_the_ces_closed_form(
        prices in proptest::collection::vec(1.0f64..1e5, 1..8),
        sigma in 0.1f64..12.0,
    ) {
        let ln: Vec<f64> = prices.iter().map(|p| p.ln()).collect();
        let n = prices.len();
        let c = unlimited_market(&ln, &vec![1.0; n], &vec![false; n], sigma, None);
        let weights: Vec<f64> = prices.iter().map(|p| (p / prices[0]).powf(1.0 - sigma)).collect();
        let total: f64 = weights.iter().sum();
        for (j, w) in weights.iter().enumerate() {
            let expect = 1000.0 * w / total;
            // Shares below 1e-9 of demand are zero by rule.
            let expect = if expect < 1e-6 { 0.0 } else { expect };
            prop_assert!((c.allocation(0, j) - expect).abs() <= 1e-9 * 1000.0, "{} vs {}", c.allocation(0, j), expect);
        }
        prop_assert!(c.unmet(0) <= 1e-9 * 1000.0 * n as f64, "unmet {}", c.unmet(0));
    }

    /// A mandated buyer with no cap binding ends with exactly max(r, its CES
    /// domestic share) on the mandate's basis, CES proportions kept inside nests.
    #[test]
    fn a_mandate_moves_the_domestic_share_to_exactly_r(
        prices in proptest::collection::vec(1.0f64..1e5, 2..7),
        h in proptest::collection::vec(0.1f64..2.0, 7),
        split in 1usize..6,
        sigma in 0.5f64..6.0,
        r in 0.01f64..1.0,
        units_basis in any::<bool>(),
    ) {
        use tradeflow::model::BuyerMandate;
        use tradeflow::scenario::MandateBasis;
        let n = prices.len();
        let split = split.min(n - 1);
        let domestic: Vec<bool> = (0..n).map(|j| j < split).collect();
        let h = &h[..n];
        let ln: Vec<f64> = prices.iter().zip(h).map(|(p, h)| (p / h).ln()).collect();
        let basis = if units_basis { MandateBasis::Units } else { MandateBasis::Compute };
        let c = unlimited_market(&ln, h, &domestic, sigma, Some(BuyerMandate { share: r, basis }));
        let free = unlimited_market(&ln, h, &domestic, sigma, None);
        let on_basis = |c: &tradeflow::model::Clearing, j: usize| {
            if units_basis { c.allocation(0, j) / h[j] } else { c.allocation(0, j) }
        };
        let share = |c: &tradeflow::model::Clearing| {
            let dom: f64 = (0..n).filter(|&j| domestic[j]).map(|j| on_basis(c, j)).sum();
            let all: f64 = (0..n).map(|j| on_basis(c, j)).sum();
            dom / all
        };
        let ces = share(&free);
        prop_assert!((share(&c) - ces.max(r)).abs() < 1e-7, "share {} vs max(r {}, ces {})", share(&c), r, ces);
        prop_assert!(c.unmet(0) <= 1e-9 * 1000.0 * n as f64 / r && c.mandate_cut(0) <= 1e-9 * 1000.0 * n as f64 / r, "unmet {} cut {}", c.unmet(0), c.mandate_cut(0));
        // Proportions inside each nest are the free buyer's.
        for nest in [true, false] {
            let idx: Vec<usize> = (0..n).filter(|&j| domestic[j] == nest).collect();
            let (a0, f0) = (c.allocation(0, idx[0]), free.allocation(0, idx[0]));
            for &j in &idx[1..] {
                // Allocations near the 1e-9 zeroing threshold are left out.
                if a0 > 1e-5 && f0 > 1e-5 && c.allocation(0, j) > 1e-5 && free.allocation(0, j) > 1e-5 {
                    let ratio_m = c.allocation(0, j) / a0;
                    let ratio_f = free.allocation(0, j) / f0;
                    prop_assert!((ratio_m - ratio_f).abs() <= 1e-9 * ratio_f, "{} vs {}", ratio_m, ratio_f);
                }
            }
        }
    }
}

/// The CES terms carried forward month to month by their growth factors
/// (the default) equal exponentials taken afresh from the same state, to
/// rounding: demand after the price response and every product's share of
/// each segment's weights, every month of random scenarios, extreme ones and
/// the built-in baseline. (Whole trials are not compared: rationing is
/// path-dependent, so a rounding-sized remainder of a cap can move a later
/// month's split between buyers.)
#[test]
fn carried_ces_terms_match_fresh_exponentials() {
    use tradeflow::model::{CesTerms, Model, TrialRecord, Workspace};
    let mut texts: Vec<String> = (0..300).map(random_scenario).collect();
    texts.push(tradeflow::scenario::BUILTIN_BASELINE.to_string());
    let mut ws = Workspace::with_ces_terms(CesTerms::Checked);
    let mut rec = TrialRecord::default();
    let mut segment_months = 0;
    for text in &texts {
        let sc = scenario(text);
        let model = Model::new(&sc, 11);
        for trial in 0..3 {
            model.run_trial(trial, &mut ws, &mut rec);
            segment_months += rec.months * rec.n_segments;
        }
    }
    assert!(
        segment_months > 10_000,
        "only {segment_months} segment-months"
    );
    let error = ws.ces_check_error();
    assert!(
        error < 1e-12,
        "carried CES terms differ from fresh ones by {error:e}"
    );
    assert!(
        error > 0.0,
        "the check compared nothing: carried terms never used"
    );
}
