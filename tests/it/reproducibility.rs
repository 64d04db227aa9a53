//! Results are a pure function of (scenario, seed): any thread count, any
//! memory budget; scenarios share the draws of the inputs they share.

use crate::support::{data, run_cli, scenario, simulate};
use std::path::Path;

fn read(dir: &Path, scenario: &str, file: &str) -> Vec<u8> {
    std::fs::read(dir.join(scenario).join(file)).unwrap_or_else(|e| panic!("{file}: {e}"))
}

#[test]
fn output_is_byte_identical_for_1_and_4_threads_and_any_memory_budget() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let example = data("format-example.toml");
    let example = example.to_str().expect("utf-8 path");
    let runs = [
        ("t1", vec!["--threads", "1"]),
        ("t4", vec!["--threads", "4"]),
        // 16 MiB forces the per-month series into several passes.
        (
            "t3-small-memory",
            vec!["--threads", "3", "--memory-mib", "16"],
        ),
    ];
    for (out, extra) in &runs {
        let mut args = vec![
            "run", example, "--trials", "3000", "--quiet", "--charts", "none", "--out", out,
        ];
        args.extend(extra.iter());
        let o = run_cli(tmp.path(), &args);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let manifest: serde_json::Value = serde_json::from_slice(&read(
        &tmp.path().join("t3-small-memory"),
        "h200-licensed",
        "manifest.json",
    ))
    .expect("json");
    assert!(
        manifest["passes"].as_u64().expect("passes") > 1,
        "the small budget must force several passes"
    );
    for file in ["timeseries.csv", "summary.csv", "trials.csv"] {
        let a = read(&tmp.path().join("t1"), "h200-licensed", file);
        for (out, _) in &runs[1..] {
            assert!(
                a == read(&tmp.path().join(out), "h200-licensed", file),
                "{file} differs in {out}"
            );
        }
    }
}

const BASE: &str = r#"
[scenario]
name = "crn"
start = "2026-01"
months = 6
seed = 99

[market]
name = "China"
home = "CN"

[market.demand]
initial = { dist = "lognormal", p5 = 60000, p95 = 160000 }
monthly_volatility = 0.05

[[segment]]
name = "all"
share = 1
substitution_elasticity = 3

[[product]]
name = "H200"
vendor = "Nvidia"
origin = "US"
h100e = 1
price = { dist = "uniform", min = 10000, max = 13000 }
"#;

#[test]
fn scenarios_with_the_same_seed_share_the_draws_of_shared_inputs() {
    let base = simulate(&scenario(BASE), 200);
    // Change one distribution and add an input: the other draws must not move,
    // and the changed one keeps its quantile (uniform ×2 ⇒ value ×2).
    let alt_text = BASE.replace("min = 10000, max = 13000", "min = 20000, max = 26000")
        + r#"
[[product]]
name = "Ascend"
vendor = "Huawei"
origin = "CN"
h100e = 0.8
price = { dist = "uniform", min = 15000, max = 19000 }

[product.production]
schedule = [["2026-01", 1000]]
"#;
    let alt = simulate(&scenario(&alt_text), 200);
    let col = |r: &tradeflow::engine::ScenarioResults, name: &str| -> Vec<f64> {
        let c = r
            .table_columns
            .iter()
            .position(|n| n == name)
            .unwrap_or_else(|| panic!("{name}"));
        (0..r.trials as usize)
            .map(|t| r.table[t * r.table_columns.len() + c])
            .collect()
    };
    assert_eq!(
        col(&base, "market.demand.initial"),
        col(&alt, "market.demand.initial")
    );
    let (p0, p1) = (
        col(&base, "product.H200.price"),
        col(&alt, "product.H200.price"),
    );
    for (a, b) in p0.iter().zip(&p1) {
        assert!(
            (b - 2.0 * a).abs() < 1e-9 * b,
            "quantile not kept: {a} vs {b}"
        );
    }
    // Demand (initial × the same random walk) is identical month by month.
    let demand = |r: &tradeflow::engine::ScenarioResults| {
        let s = r
            .layout
            .monthly
            .iter()
            .position(|n| n.metric == "demand_h100e")
            .expect("demand");
        (0..6).map(|t| r.month_stats(s, t).mean).collect::<Vec<_>>()
    };
    assert_eq!(demand(&base), demand(&alt));
    // A different seed changes the draws.
    let other = simulate(&scenario(&BASE.replace("seed = 99", "seed = 100")), 200);
    assert_ne!(
        col(&base, "market.demand.initial"),
        col(&other, "market.demand.initial")
    );
}
