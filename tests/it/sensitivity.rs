//! `tradeflow sensitivity`: the inputs that drive an outcome, ranked.

use crate::support::run_cli;
use std::path::Path;

/// One foreign product; `{DEMAND}` and `{SUPPLY}` choose which input is wide.
const MARKET: &str = r#"
[scenario]
name = "drivers"
start = "2026-01"
months = 12
trials = 2000
seed = 11

[market]
name = "China"
home = "CN"

[market.demand]
initial = {DEMAND}
annual_growth = { dist = "uniform", min = 0.30, max = 0.32 }
monthly_volatility = 0.01

[[segment]]
name = "all"
share = 1
substitution_elasticity = 3
mandate_compliance = { dist = "uniform", min = 0.4, max = 0.6 }

[[product]]
name = "H200"
vendor = "Nvidia"
origin = "US"
h100e = 1
price = { dist = "uniform", min = 25000, max = 26000 }
supply = {SUPPLY}

[[product]]
name = "Ascend"
vendor = "Huawei"
origin = "CN"
h100e = 0.8
price = 17000
preference = { dist = "uniform", min = 0.9, max = 1.1 }

[product.production]
schedule = [["2026-01", 1000]]
"#;

fn market(demand: &str, supply: &str) -> String {
    MARKET
        .replace("{DEMAND}", demand)
        .replace("{SUPPLY}", supply)
}

fn first_rows(path: &Path) -> Vec<Vec<String>> {
    let mut r = csv::Reader::from_path(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(
        r.headers()
            .expect("header")
            .iter()
            .collect::<Vec<_>>()
            .join(","),
        tradeflow::whatif::sensitivity::COLUMNS.join(",")
    );
    r.records()
        .map(|rec| rec.expect("row").iter().map(String::from).collect())
        .collect()
}

#[test]
fn the_tornado_ranks_first_the_input_a_scenario_makes_dominant() {
    let tmp = tempfile::tempdir().expect("temp dir");
    // Demand spread over two orders of magnitude, unlimited supply: demand
    // drives purchases. Then narrow demand, supply far below it and spread
    // tenfold: supply drives purchases (and Nvidia's revenue).
    let cases = [
        (
            "demand.toml",
            market(
                r#"{ dist = "lognormal", p5 = 10000, p95 = 1000000 }"#,
                "1000000000",
            ),
            "total_purchased_h100e:market",
            "market.demand.initial",
            5,
        ),
        (
            "supply.toml",
            market(
                r#"{ dist = "uniform", min = 900000, max = 1000000 }"#,
                r#"{ dist = "uniform", min = 10000, max = 100000 }"#,
            ),
            "total_revenue_usd:Nvidia",
            "product.H200.supply",
            6,
        ),
    ];
    for (file, text, metric, dominant, drawn) in cases {
        let path = tmp.path().join(file);
        std::fs::write(&path, text).expect("write");
        let out = format!("res-{file}");
        let o = run_cli(
            tmp.path(),
            &[
                "sensitivity",
                path.to_str().expect("utf-8"),
                "--metric",
                metric,
                "--quiet",
                "--out",
                &out,
            ],
        );
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let (m, e) = metric.split_once(':').expect("spec");
        let dir = tmp
            .path()
            .join(&out)
            .join(format!("sensitivity-drivers-{m}-{e}"));
        let rows = first_rows(&dir.join("sensitivity.csv"));
        // rank, input, spearman, ..., swing_mean
        assert_eq!(rows[0][4], "1");
        assert_eq!(rows[0][5], dominant, "{file}: {:?}", rows[0]);
        let rho: f64 = rows[0][6].parse().expect("spearman");
        assert!(rho > 0.9, "{file}: spearman {rho}");
        let swing: f64 = rows[0][13].parse().expect("swing");
        let runner_up: f64 = rows[1][13].parse().expect("swing");
        assert!(
            swing > 10.0 * runner_up.abs(),
            "{file}: {swing} vs {runner_up}"
        );
        // Every drawn input is listed once.
        assert_eq!(rows.len(), drawn, "{file}");
        let svg = std::fs::read_to_string(dir.join("tornado.svg")).expect("svg");
        assert!(svg.contains(dominant));
        assert!(dir.join("tornado.png").is_file());
        let manifest: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join("manifest.json")).expect("manifest"),
        )
        .expect("json");
        assert_eq!(manifest["swing"], "mean");
        assert_eq!(manifest["trials"], 2000);
        // `plot` redraws the tornado from sensitivity.csv.
        std::fs::remove_file(dir.join("tornado.svg")).expect("remove");
        let o = run_cli(&dir, &["plot", ".", "--charts", "svg"]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert!(
            std::fs::read_to_string(dir.join("tornado.svg"))
                .expect("svg")
                .contains(dominant)
        );
    }
}

#[test]
fn a_monthly_metric_needs_a_month_and_unknown_names_get_the_nearest() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let path = tmp.path().join("m.toml");
    std::fs::write(
        &path,
        market(r#"{ dist = "lognormal", p5 = 1e4, p95 = 1e5 }"#, "50000"),
    )
    .expect("write");
    let p = path.to_str().expect("utf-8");
    for (args, needle) in [
        (
            vec!["--metric", "total_revenue:Nvidia"],
            "did you mean `total_revenue_usd`",
        ),
        (
            vec!["--metric", "total_revenue_usd:Nvdia"],
            "did you mean `Nvidia`",
        ),
        (vec!["--metric", "share_compute:CN"], "add --month YYYY-MM"),
        (
            vec!["--metric", "share_compute:CN", "--month", "2030-01"],
            "outside the scenario's horizon",
        ),
        (
            vec!["--metric", "final_share_compute:CN", "--month", "2026-05"],
            "drop --month",
        ),
        (vec!["--metric", "nonsense"], "expected METRIC:ENTITY"),
    ] {
        let mut all = vec!["sensitivity", p, "--quiet", "--out", "res"];
        all.extend(&args);
        let o = run_cli(tmp.path(), &all);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
    }
    assert!(
        !tmp.path()
            .join("res")
            .join("sensitivity-drivers-share_compute-CN")
            .exists()
    );
    // A monthly metric at a month works.
    let o = run_cli(
        tmp.path(),
        &[
            "sensitivity",
            p,
            "--metric",
            "share_compute:US",
            "--month",
            "2026-06",
            "--trials",
            "300",
            "--quiet",
            "--charts",
            "none",
            "--out",
            "res",
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let rows = first_rows(
        &tmp.path()
            .join("res/sensitivity-drivers-share_compute-US-2026-06/sensitivity.csv"),
    );
    assert!(rows.iter().all(|r| r[3] == "2026-06"));
}
