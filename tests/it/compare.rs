//! `tradeflow compare`: paired differences with common random numbers.

use crate::support::{run_cli, scenario};
use std::path::Path;
use std::sync::atomic::AtomicBool;
use tradeflow::engine::{NoProgress, RunSettings, run_paired, run_scenario};

/// A small market: one foreign product under a quota, one domestic product
/// with an uncertain ramp, and a shock that may lift the quota.
pub const SMALL: &str = r#"
[scenario]
name = "small"
start = "2026-01"
months = 12
trials = 400
seed = 7

[market]
name = "China"
home = "CN"

[market.demand]
initial = { dist = "lognormal", p5 = 60000, p95 = 160000 }
annual_growth = { dist = "uniform", min = 0.1, max = 0.5 }
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
price = { dist = "uniform", min = 25000, max = 32000 }
supply = 80000

[[product]]
name = "Ascend"
vendor = "Huawei"
origin = "CN"
h100e = 0.8
price = 17000

[product.production]
ceiling = { dist = "pert", min = 30000, mode = 60000, max = 120000 }
midpoint = "2026-06"
ramp_months = 12

[[export_rule]]
product = "H200"
from = "2026-01"
regime = "licensed"
quota = 40000
approval_rate = { dist = "beta", mean = 0.7, sd = 0.1 }
revenue_fee = 0.25

[[shock]]
name = "quota-lift"
monthly_hazard = 0.05
window = ["2026-06", "2026-12"]
[shock.export_rule]
product = "H200"
regime = "open"
"#;

/// The same market with the H200 banned from April.
pub fn small_reban() -> String {
    SMALL.replace("name = \"small\"", "name = \"reban\"")
        + r#"
[[export_rule]]
product = "H200"
from = "2026-04"
regime = "banned"
"#
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write scenario");
    p.to_str().expect("utf-8").to_string()
}

fn rows(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::Reader::from_path(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let header = r
        .headers()
        .expect("header")
        .iter()
        .map(String::from)
        .collect();
    let rows = r
        .records()
        .map(|rec| rec.expect("row").iter().map(String::from).collect())
        .collect();
    (header, rows)
}

#[test]
fn a_scenario_compared_with_itself_differs_by_zero_in_every_trial() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let f = write(tmp.path(), "small.toml", SMALL);
    let o = run_cli(
        tmp.path(),
        &[
            "compare", &f, &f, "--trials", "300", "--quiet", "--out", "res",
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let dir = tmp.path().join("res/compare-small/small");
    // Every horizon difference of every trial is exactly zero.
    let (header, trials) = rows(&dir.join("deltas_trials.csv"));
    assert_eq!(trials.len(), 300);
    assert!(header.contains(&"total_revenue_usd:Nvidia".to_string()));
    for row in &trials {
        assert!(
            row[1..].iter().all(|v| v == "0"),
            "non-zero difference: {row:?}"
        );
    }
    // So is every statistic of every month, and no trial is "higher".
    let (header, months) = rows(&dir.join("deltas_timeseries.csv"));
    assert_eq!(
        header.join(","),
        "scenario,base,month,metric,entity,mean,sd,p5,p25,p50,p75,p95,p_alt_higher,p_alt_lower"
    );
    assert!(months.len() > 12 * 20);
    for row in &months {
        assert!(row[5..].iter().all(|v| v == "0"), "{row:?}");
    }
    let (_, summary) = rows(&dir.join("deltas_summary.csv"));
    assert!(summary.iter().all(|r| r[4..].iter().all(|v| v == "0")));
    for f in [
        "delta_market_share.png",
        "delta_market_share.svg",
        "delta_revenue.png",
        "delta_revenue.svg",
    ] {
        assert!(dir.join(f).is_file(), "{f} missing");
    }
    // The manifests record what ran and hash every file.
    let m: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("manifest.json")).expect("manifest"),
    )
    .expect("json");
    assert_eq!(m["analysis"], "compare");
    assert_eq!(m["trials"], 300);
    assert_eq!(m["seed"], 7);
    assert_eq!(m["paired"], true);
    let files: Vec<&str> = m["files"]
        .as_array()
        .expect("files")
        .iter()
        .map(|f| f["file"].as_str().expect("name"))
        .collect();
    assert!(files.contains(&"deltas_trials.csv") && files.contains(&"delta_revenue.svg"));
    assert!(
        m["files"]
            .as_array()
            .expect("files")
            .iter()
            .all(|f| f["sha256"].as_str().map(str::len) == Some(64))
    );
    let top = tmp.path().join("res/compare-small");
    assert!(top.join("horizon_deltas.png").is_file());
    assert!(top.join("deltas_summary.csv").is_file());
    // `plot` redraws the folder's charts from its files.
    std::fs::remove_file(top.join("horizon_deltas.svg")).expect("remove");
    std::fs::remove_file(dir.join("delta_revenue.svg")).expect("remove");
    let o = run_cli(
        tmp.path(),
        &["plot", "res/compare-small", "--charts", "svg"],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let svg = std::fs::read_to_string(top.join("horizon_deltas.svg")).expect("redrawn");
    assert!(svg.contains("no change in any trial"));
    assert!(dir.join("delta_revenue.svg").is_file());
}

#[test]
fn paired_differences_are_the_differences_of_the_two_runs_trial_by_trial() {
    let base = scenario(SMALL);
    let alt = scenario(&small_reban());
    let settings = RunSettings {
        trials: Some(200),
        ..RunSettings::default()
    };
    let stop = AtomicBool::new(false);
    let paired = run_paired(
        &base,
        std::slice::from_ref(&alt),
        &settings,
        None,
        &NoProgress,
        &stop,
    )
    .expect("paired run");
    let b = run_scenario(&base, &settings, &NoProgress, &stop).expect("base");
    let a = run_scenario(&alt, &settings, &NoProgress, &stop).expect("alt");
    let col = |r: &tradeflow::engine::ScenarioResults, name: &str| {
        r.table_columns
            .iter()
            .position(|c| c == name)
            .unwrap_or_else(|| panic!("{name}"))
    };
    let names = &paired.alts[0].horizon_names;
    let mut changed = 0;
    for (h, n) in names.iter().enumerate() {
        let key = format!("{}:{}", n.metric, n.entity);
        let (cb, ca) = (col(&b, &key), col(&a, &key));
        for t in 0..200 {
            let expect = tradeflow::engine::difference(
                a.table[t * a.table_columns.len() + ca],
                b.table[t * b.table_columns.len() + cb],
            );
            assert_eq!(paired.trial_deltas(0, t)[h], expect, "{key}, trial {t}");
            changed += usize::from(expect != 0.0);
        }
    }
    assert!(changed > 100, "the re-ban must change something");
    // Nvidia loses H200 revenue in (almost) every trial: P(higher) = 0.
    let nv = names
        .iter()
        .position(|n| n.metric == "total_revenue_usd" && n.entity == "Nvidia")
        .expect("Nvidia");
    let d = paired.alts[0].horizon[nv];
    assert_eq!(d.p_higher, 0.0);
    assert!(d.p_lower > 0.99, "{}", d.p_lower);
    assert!(d.stats.p95 <= 0.0);
}

#[test]
fn pairing_narrows_the_interval_of_a_difference() {
    let base = scenario(SMALL);
    let alt = scenario(&small_reban());
    let settings = RunSettings {
        trials: Some(1000),
        ..RunSettings::default()
    };
    let stop = AtomicBool::new(false);
    let width = |alt_seed: Option<u64>| {
        let r = run_paired(
            &base,
            std::slice::from_ref(&alt),
            &settings,
            alt_seed,
            &NoProgress,
            &stop,
        )
        .expect("run");
        let a = &r.alts[0];
        let h = a
            .horizon_names
            .iter()
            .position(|n| n.metric == "total_revenue_usd" && n.entity == "Huawei")
            .expect("Huawei");
        a.horizon[h].stats.p95 - a.horizon[h].stats.p5
    };
    let (paired, unpaired) = (width(None), width(Some(8)));
    // The domestic ramp and demand dominate Huawei's revenue and are the
    // same in both runs of a trial: pairing removes them from the difference.
    assert!(
        paired < 0.5 * unpaired,
        "paired 90 % width {paired}, unpaired {unpaired}"
    );
}

#[test]
fn results_do_not_depend_on_threads_or_the_memory_budget() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let b = write(tmp.path(), "small.toml", SMALL);
    let a = write(tmp.path(), "reban.toml", &small_reban());
    for (out, extra) in [
        ("t1", vec!["--threads", "1"]),
        ("t3", vec!["--threads", "3", "--memory-mib", "16"]),
    ] {
        let mut args = vec![
            "compare", &b, &a, "--trials", "8000", "--quiet", "--charts", "none", "--out", out,
        ];
        args.extend(extra);
        let o = run_cli(tmp.path(), &args);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let read = |out: &str, f: &str| {
        std::fs::read(tmp.path().join(out).join("compare-small/reban").join(f)).expect(f)
    };
    let m: serde_json::Value = serde_json::from_slice(&read("t3", "manifest.json")).expect("json");
    assert!(
        m["passes"].as_u64().expect("passes") > 1,
        "16 MiB must force passes"
    );
    for f in [
        "deltas_timeseries.csv",
        "deltas_summary.csv",
        "deltas_trials.csv",
    ] {
        assert!(read("t1", f) == read("t3", f), "{f} differs");
    }
}

#[test]
fn mismatched_horizons_and_clashing_names_exit_2_and_write_nothing() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let b = write(tmp.path(), "small.toml", SMALL);
    let longer = write(
        tmp.path(),
        "longer.toml",
        &small_reban().replace("months = 12", "months = 18"),
    );
    let o = run_cli(
        tmp.path(),
        &["compare", &b, &longer, "--quiet", "--out", "res"],
    );
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("same `start` and `months`"), "{err}");
    let a = write(tmp.path(), "reban.toml", &small_reban());
    let a2 = write(tmp.path(), "reban2.toml", &small_reban());
    let o = run_cli(
        tmp.path(),
        &["compare", &b, &a, &a2, "--quiet", "--out", "res"],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("two alternatives are named \"reban\""));
    let o = run_cli(tmp.path(), &["compare", &b, "--quiet", "--out", "res"]);
    assert_eq!(o.status.code(), Some(2), "one file is not a comparison");
    assert!(!tmp.path().join("res/compare-small").exists());
}
