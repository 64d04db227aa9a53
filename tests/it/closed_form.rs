//! Small scenarios whose answers are known in closed form.

use crate::support::{assert_close, horizon_stat, month_stat, scenario, simulate};

/// A one-segment market with constant demand; products and rules appended.
fn market(months: u32, sigma: f64, body: &str) -> String {
    format!(
        r#"
[scenario]
name = "closed-form"
start = "2026-01"
months = {months}
trials = 1

[market]
name = "China"
home = "CN"

[market.demand]
initial = 1000

[[segment]]
name = "all"
share = 1
substitution_elasticity = {sigma:?}

{body}
"#
    )
}

#[test]
fn capacity_limited_single_product_sells_its_cap_and_leaves_the_rest_unmet() {
    let sc = scenario(&market(
        3,
        2.0,
        r#"[[product]]
name = "X"
vendor = "Nvidia"
origin = "US"
h100e = 0.5
price = 10000
supply = 600"#,
    ));
    let r = simulate(&sc, 1);
    for t in 0..3 {
        assert_close(month_stat(&r, "units", "X", t).p50, 600.0, 1e-12);
        assert_close(
            month_stat(&r, "purchased_h100e", "market", t).p50,
            300.0,
            1e-12,
        );
        assert_close(month_stat(&r, "unmet_h100e", "market", t).p50, 700.0, 1e-12);
        assert_close(month_stat(&r, "revenue_usd", "Nvidia", t).p50, 6e6, 1e-12);
        assert_close(month_stat(&r, "share_compute", "US", t).p50, 1.0, 1e-12);
    }
    assert_close(
        horizon_stat(&r, "total_revenue_usd", "Nvidia").p50,
        18e6,
        1e-12,
    );
    assert_close(
        horizon_stat(&r, "total_unmet_h100e", "market").p50,
        2100.0,
        1e-12,
    );
}

const TWO_PRODUCTS: &str = r#"[[product]]
name = "A"
vendor = "Nvidia"
origin = "US"
h100e = 1
price = 10000

[[product]]
name = "B"
vendor = "AMD"
origin = "US"
h100e = 1
price = 30000
preference = 1.5"#;

#[test]
fn ces_shares_follow_the_closed_form() {
    // c/a = 10000 and 20000: shares ∝ (c/a)^(1−σ).
    for sigma in [0.5, 1.0, 3.0, 8.0] {
        let r = simulate(&scenario(&market(1, sigma, TWO_PRODUCTS)), 1);
        let wa = 10000f64.powf(1.0 - sigma);
        let wb = 20000f64.powf(1.0 - sigma);
        let share_a = wa / (wa + wb);
        assert_close(
            month_stat(&r, "compute_h100e", "A", 0).p50,
            1000.0 * share_a,
            1e-9,
        );
        assert_close(
            month_stat(&r, "compute_h100e", "B", 0).p50,
            1000.0 * (1.0 - share_a),
            1e-9,
        );
        assert_close(
            month_stat(&r, "share_compute", "Nvidia", 0).p50,
            share_a,
            1e-9,
        );
    }
}

#[test]
fn export_fee_with_and_without_pass_through() {
    // Buyer price p = list (1 − (1 − φ) f) / (1 − f); vendor nets p (1 − f).
    for (phi, price, net) in [
        (0.0, 10000.0, 7500.0),
        (1.0, 10000.0 / 0.75, 10000.0),
        (0.5, 8750.0 / 0.75, 8750.0),
    ] {
        let body = format!(
            r#"[[product]]
name = "X"
vendor = "Nvidia"
origin = "US"
h100e = 1
price = 10000

[[export_rule]]
product = "X"
from = "2026-01"
revenue_fee = 0.25
fee_pass_through = {phi:?}"#
        );
        let r = simulate(&scenario(&market(1, 2.0, &body)), 1);
        // Demand 1000 H100e, unlimited supply: 1000 units.
        assert_close(month_stat(&r, "price_usd", "X", 0).p50, price, 1e-12);
        assert_close(
            month_stat(&r, "revenue_usd", "Nvidia", 0).p50,
            1000.0 * price,
            1e-12,
        );
        assert_close(
            month_stat(&r, "vendor_net_usd", "Nvidia", 0).p50,
            1000.0 * net,
            1e-12,
        );
        assert_close(
            month_stat(&r, "export_fee_usd", "US", 0).p50,
            1000.0 * (price - net),
            1e-12,
        );
    }
}

#[test]
fn binding_mandate_with_scarce_domestic_capacity_caps_imports() {
    // Domestic D: 0.5 H100e/unit, 100 units a month; foreign F: 1 H100e, unlimited.
    // Equal price per compute: CES wants 500 H100e of each (1000 units of D, 500 of F):
    // domestic unit share 2/3 ≥ r = 0.5, so no nest adjustment. D is capped at 100
    // units (50 H100e); its 450 H100e shortfall may not go abroad. The cut then
    // limits F to domestic units × (1 − r) / r = 100 units: 400 H100e cut.
    let body = r#"[[product]]
name = "D"
vendor = "Huawei"
origin = "CN"
h100e = 0.5
price = 5000

[product.production]
schedule = [["2026-01", 100]]

[[product]]
name = "F"
vendor = "Nvidia"
origin = "US"
h100e = 1
price = 10000

[[domestic_mandate]]
from = "2026-01"
share = 0.5
basis = "units""#;
    let r = simulate(&scenario(&market(2, 2.0, body)), 1);
    for t in 0..2 {
        assert_close(month_stat(&r, "units", "D", t).p50, 100.0, 1e-9);
        assert_close(month_stat(&r, "units", "F", t).p50, 100.0, 1e-9);
        assert_close(
            month_stat(&r, "mandate_cut_h100e", "market", t).p50,
            400.0,
            1e-9,
        );
        assert_close(month_stat(&r, "unmet_h100e", "market", t).p50, 850.0, 1e-9);
        assert_close(
            month_stat(&r, "inventory_units", "D", t).p50 + 1.0,
            1.0,
            1e-12,
        );
    }
}

#[test]
fn a_scheduled_ban_stops_sales_and_the_earlier_rule_returns_after_until() {
    let body = r#"[[product]]
name = "H200"
vendor = "Nvidia"
origin = "US"
h100e = 1
price = 10000

[[product]]
name = "Ascend"
vendor = "Huawei"
origin = "CN"
h100e = 1
price = 10000

[product.production]
schedule = [["2026-01", 100000]]

[[export_rule]]
product = "H200"
from = "2025-06"
regime = "open"

[[export_rule]]
product = "H200"
from = "2026-07"
until = "2026-09"
regime = "banned""#;
    let r = simulate(&scenario(&market(12, 2.0, body)), 1);
    for t in 0..12 {
        let banned = (6..=8).contains(&t);
        let units = month_stat(&r, "units", "H200", t).p50;
        let available = month_stat(&r, "available", "H200", t).p50;
        if banned {
            assert_eq!(units, 0.0, "month {t}");
            assert_eq!(available, 0.0, "month {t}");
            assert_close(month_stat(&r, "units", "Ascend", t).p50, 1000.0, 1e-12);
        } else {
            assert_close(units, 500.0, 1e-12);
            assert_eq!(available, 1.0, "month {t}");
        }
    }
}

/// The fraction of `trials` whose shock fired by month `k` against its
/// analytic probability, within 4 standard errors.
fn assert_frequency(observed: usize, trials: usize, p: f64, what: &str) {
    let freq = observed as f64 / trials as f64;
    let se = (p * (1.0 - p) / trials as f64).sqrt();
    assert!(
        (freq - p).abs() < 4.0 * se + 1e-12,
        "{what}: observed {freq}, expected {p} (se {se})"
    );
}

fn shock_scenario(trigger: &str) -> String {
    market(
        24,
        2.0,
        &format!(
            r#"[[product]]
name = "H200"
vendor = "Nvidia"
origin = "US"
h100e = 1
price = 10000

[[shock]]
name = "reban"
{trigger}
window = ["2026-01", "2026-12"]
[shock.export_rule]
product = "H200"
regime = "banned""#
        ),
    )
}

#[test]
fn hazard_shock_fires_with_geometric_timing_and_bans_while_in_force() {
    let n = 20_000usize;
    let r = simulate(&scenario(&shock_scenario("monthly_hazard = 0.1")), n as u64);
    let col = r
        .table_columns
        .iter()
        .position(|c| c == "shock.reban.month")
        .expect("shock column");
    let months: Vec<i64> = (0..n)
        .map(|t| r.table[t * r.table_columns.len() + col] as i64)
        .collect();
    // P(fires in month k of the window) = 0.1 · 0.9^k; P(fires at all in 12 months) = 1 − 0.9^12.
    for k in [0usize, 1, 5, 11] {
        let p = 0.1 * 0.9f64.powi(k as i32);
        assert_frequency(
            months.iter().filter(|&&m| m == k as i64).count(),
            n,
            p,
            &format!("month {k}"),
        );
    }
    assert_frequency(
        months.iter().filter(|&&m| m >= 0).count(),
        n,
        1.0 - 0.9f64.powi(12),
        "fired",
    );
    assert!(months.iter().all(|&m| (-1..12).contains(&m)));
    // Banned to the end once fired: available in month t with probability 0.9^(t+1), then flat.
    for t in [0usize, 3, 11, 20] {
        let p = 0.9f64.powi(t.min(11) as i32 + 1);
        let avail = month_stat(&r, "available", "H200", t).mean;
        assert_frequency(
            (avail * n as f64).round() as usize,
            n,
            p,
            &format!("available in {t}"),
        );
    }
}

#[test]
fn probability_shock_fires_once_uniformly_over_its_window() {
    let n = 20_000usize;
    let r = simulate(
        &scenario(&shock_scenario("probability = 0.3\nduration_months = 2")),
        n as u64,
    );
    let col = r
        .table_columns
        .iter()
        .position(|c| c == "shock.reban.month")
        .expect("shock column");
    let months: Vec<i64> = (0..n)
        .map(|t| r.table[t * r.table_columns.len() + col] as i64)
        .collect();
    assert_frequency(months.iter().filter(|&&m| m >= 0).count(), n, 0.3, "fired");
    for k in [0i64, 6, 11] {
        assert_frequency(
            months.iter().filter(|&&m| m == k).count(),
            n,
            0.3 / 12.0,
            &format!("month {k}"),
        );
    }
    // In force for 2 months: unavailable in month 1 iff fired in month 0 or 1.
    let avail = month_stat(&r, "available", "H200", 1).mean;
    assert_frequency(
        ((1.0 - avail) * n as f64).round() as usize,
        n,
        2.0 * 0.3 / 12.0,
        "banned in month 1",
    );
    // After the window and duration, always available again.
    assert_eq!(month_stat(&r, "available", "H200", 13).mean, 1.0);
}

/// A foreign product and domestic ones, all at 10 000 USD per H100e, under a
/// compute-basis mandate binding the whole segment.
fn zero_output_market(share: f64, second_domestic_units: Option<f64>) -> String {
    let second = second_domestic_units.map_or(String::new(), |u| {
        format!(
            r#"
[[product]]
name = "D2"
vendor = "Cambricon"
origin = "CN"
h100e = 1
price = 10000

[product.production]
schedule = [["2026-01", {u:?}]]
"#
        )
    });
    market(
        1,
        2.0,
        &format!(
            r#"[[product]]
name = "F"
vendor = "Nvidia"
origin = "US"
h100e = 1
price = 10000

[[product]]
name = "D1"
vendor = "Huawei"
origin = "CN"
h100e = 1
price = 10000

[product.production]
schedule = [["2026-01", 0]]
{second}
[[domestic_mandate]]
from = "2026-01"
share = {share:?}
basis = "compute""#
        ),
    )
}

#[test]
fn a_domestic_product_with_zero_output_sends_mandated_demand_to_domestic_products_only() {
    // Thirds by CES (domestic 2/3 ≥ r = 0.6): D1 makes nothing, so its third
    // spills to D2, the other domestic product, not abroad.
    let r = simulate(&scenario(&zero_output_market(0.6, Some(100000.0))), 1);
    assert_close(
        month_stat(&r, "compute_h100e", "F", 0).p50,
        1000.0 / 3.0,
        1e-9,
    );
    assert_close(
        month_stat(&r, "compute_h100e", "D2", 0).p50,
        2000.0 / 3.0,
        1e-9,
    );
    assert_eq!(month_stat(&r, "unmet_h100e", "market", 0).p50, 0.0);
    assert_eq!(month_stat(&r, "mandate_cut_h100e", "market", 0).p50, 0.0);
    // With no domestic output at all, r = 0.5 allows no foreign purchase:
    // half the demand is unmet at once, the other half is cut.
    let r = simulate(&scenario(&zero_output_market(0.5, None)), 1);
    assert_eq!(month_stat(&r, "compute_h100e", "F", 0).p50, 0.0);
    assert_close(
        month_stat(&r, "mandate_cut_h100e", "market", 0).p50,
        500.0,
        1e-9,
    );
    assert_close(month_stat(&r, "unmet_h100e", "market", 0).p50, 1000.0, 1e-9);
}
