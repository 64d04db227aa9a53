//! `tradeflow sweep`: a grid of scenario variants with common random numbers.

use crate::compare::SMALL;
use crate::support::run_cli;
use std::path::Path;

fn setup() -> (tempfile::TempDir, String) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let p = tmp.path().join("small.toml");
    std::fs::write(&p, SMALL).expect("write");
    let p = p.to_str().expect("utf-8").to_string();
    (tmp, p)
}

fn read_rows(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
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

const QUOTA: &str = "export_rule.H200.2026-01.quota";

#[test]
fn a_sweep_point_equals_a_direct_run_byte_for_byte() {
    let (tmp, f) = setup();
    let vary = format!("{QUOTA}=10000:50000:20000");
    let o = run_cli(
        tmp.path(),
        &[
            "sweep",
            &f,
            "--vary",
            &vary,
            "--set",
            "market.demand.monthly_volatility=0.1",
            "--metric",
            "total_revenue_usd:Nvidia",
            "--trials",
            "300",
            "--point-files",
            "--quiet",
            "--out",
            "sw",
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // Without --point-files the points keep only their horizon metrics: the
    // same sweep.csv.
    let o = run_cli(
        tmp.path(),
        &[
            "sweep",
            &f,
            "--vary",
            &vary,
            "--set",
            "market.demand.monthly_volatility=0.1",
            "--trials",
            "300",
            "--charts",
            "none",
            "--quiet",
            "--out",
            "lean",
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(!tmp.path().join("lean/sweep-small/points").exists());
    assert!(
        std::fs::read(tmp.path().join("lean/sweep-small/sweep.csv")).expect("lean")
            == std::fs::read(tmp.path().join("sw/sweep-small/sweep.csv")).expect("full"),
        "sweep.csv depends on --point-files"
    );
    let set = format!("{QUOTA}=30000");
    let o = run_cli(
        tmp.path(),
        &[
            "run",
            &f,
            "--set",
            "market.demand.monthly_volatility=0.1",
            "--set",
            &set,
            "--trials",
            "300",
            "--charts",
            "none",
            "--quiet",
            "--out",
            "direct",
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let sweep = tmp.path().join("sw/sweep-small");
    let point = sweep.join("points/p001");
    let direct = tmp.path().join("direct/small");
    for file in ["timeseries.csv", "summary.csv", "trials.csv"] {
        let a = std::fs::read(point.join(file)).expect("point file");
        let b = std::fs::read(direct.join(file)).expect("direct file");
        assert!(a == b, "{file} of point 1 differs from the direct run");
    }
    // sweep.csv: one row per point and horizon series, the statistics of
    // the point's summary.csv, the grid values as columns.
    let (header, rows) = read_rows(&sweep.join("sweep.csv"));
    assert_eq!(
        header.join(","),
        format!("point,{QUOTA},metric,entity,mean,sd,p5,p25,p50,p75,p95")
    );
    let (_, summary) = read_rows(&direct.join("summary.csv"));
    let point_rows: Vec<&Vec<String>> = rows.iter().filter(|r| r[0] == "1").collect();
    assert_eq!(point_rows.len(), summary.len());
    for (p, s) in point_rows.iter().zip(&summary) {
        assert_eq!(p[1], "30000");
        assert_eq!(p[2..], s[1..], "sweep row differs from summary.csv");
    }
    assert_eq!(rows.len(), 3 * summary.len());
    // The manifest records the grid and the overrides of every point.
    let m: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(sweep.join("manifest.json")).expect("manifest"),
    )
    .expect("json");
    assert_eq!(
        m["axes"][0]["values"],
        serde_json::json!(["10000", "30000", "50000"])
    );
    assert_eq!(m["points"][1]["set"][0], set.as_str());
    assert_eq!(
        m["source"]["set"][0],
        "market.demand.monthly_volatility=0.1"
    );
    let point_manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(point.join("manifest.json")).expect("manifest"),
    )
    .expect("json");
    assert_eq!(
        point_manifest["overrides"],
        serde_json::json!(["market.demand.monthly_volatility=0.1", set])
    );
    assert!(sweep.join("sweep-total_revenue_usd-Nvidia.png").is_file());
    let svg =
        std::fs::read_to_string(sweep.join("sweep-total_revenue_usd-Nvidia.svg")).expect("svg");
    assert!(svg.contains(QUOTA) && svg.contains("$ B"));
    // A larger quota never lowers Nvidia's median revenue.
    let medians: Vec<f64> = rows
        .iter()
        .filter(|r| r[2] == "total_revenue_usd" && r[3] == "Nvidia")
        .map(|r| r[8].parse().expect("p50"))
        .collect();
    assert_eq!(medians.len(), 3);
    assert!(
        medians[0] < medians[1] && medians[1] <= medians[2],
        "{medians:?}"
    );
}

#[test]
fn a_two_axis_sweep_is_the_same_for_any_thread_count() {
    let (tmp, f) = setup();
    let q = format!("{QUOTA}=20000,60000");
    for (out, threads) in [("t1", "1"), ("t3", "3")] {
        let o = run_cli(
            tmp.path(),
            &[
                "sweep",
                &f,
                "--vary",
                &q,
                "--vary",
                "market.demand.annual_growth=0.1:0.5:0.2",
                "--metric",
                "mean_share_compute:Huawei",
                "--trials",
                "200",
                "--threads",
                threads,
                "--quiet",
                "--out",
                out,
            ],
        );
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let read = |out: &str| {
        std::fs::read(tmp.path().join(out).join("sweep-small/sweep.csv")).expect("sweep.csv")
    };
    assert!(read("t1") == read("t3"), "sweep.csv depends on --threads");
    let (_, rows) = read_rows(&tmp.path().join("t1/sweep-small/sweep.csv"));
    let grid: Vec<(String, String)> = rows
        .iter()
        .filter(|r| r[3] == "total_revenue_usd" && r[4] == "total")
        .map(|r| (r[1].clone(), r[2].clone()))
        .collect();
    assert_eq!(
        grid,
        [
            ("20000", "0.1"),
            ("20000", "0.3"),
            ("20000", "0.5"),
            ("60000", "0.1"),
            ("60000", "0.3"),
            ("60000", "0.5")
        ]
        .map(|(a, b)| (a.to_string(), b.to_string()))
    );
    let dir = tmp.path().join("t1/sweep-small");
    assert!(dir.join("heatmap-mean_share_compute-Huawei.png").is_file());
    let svg =
        std::fs::read_to_string(dir.join("heatmap-mean_share_compute-Huawei.svg")).expect("svg");
    assert!(svg.contains("market.demand.annual_growth") && svg.contains("% of compute"));
}

#[test]
fn bad_grids_exit_2_and_write_nothing() {
    let (tmp, f) = setup();
    for (args, needle) in [
        (
            vec!["--vary", "market.demand.annual_growth"],
            "expected PATH=FROM:TO:STEP",
        ),
        (
            vec!["--vary", "market.demand.annual_growth=0.5:0.1:0.1"],
            "below FROM",
        ),
        (
            vec!["--vary", "market.demand.anual_growth=0.1,0.2"],
            "annual_growth",
        ),
        // The option the user typed is named, not the --set a point becomes.
        (
            vec!["--vary", "market.demand.anual_growth=0.1,0.2"],
            "--> --vary market.demand.anual_growth=0.1",
        ),
        (
            vec!["--vary", "market.demand.anual_growth=0.1,0.2"],
            "a point of --vary market.demand.anual_growth=0.1,0.2",
        ),
        (
            vec!["--vary", "a=1,2", "--vary", "b=1,2", "--vary", "c=1,2"],
            "once or twice",
        ),
        (
            vec![
                "--vary",
                "market.demand.annual_growth=0.1,0.2",
                "--metric",
                "total_revenue_usd:Nvdia",
            ],
            "did you mean `Nvidia`",
        ),
        (
            vec!["--vary", "market.demand.annual_growth=0.1,-3"],
            "annual_growth",
        ),
    ] {
        let mut all = vec![
            "sweep",
            f.as_str(),
            "--trials",
            "50",
            "--quiet",
            "--out",
            "res",
        ];
        all.extend(&args);
        let o = run_cli(tmp.path(), &all);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
        assert!(
            !tmp.path().join("res/sweep-small").exists(),
            "{args:?} wrote results"
        );
    }
}

#[test]
fn a_points_problem_is_fixed_in_the_vary_list() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let sweep = |args: &[&str]| {
        let mut all = vec!["sweep", "--trials", "10", "--quiet", "--out", "res"];
        all.extend(args);
        let o = run_cli(tmp.path(), &all);
        let err = String::from_utf8_lossy(&o.stderr).to_string();
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(!tmp.path().join("res").exists(), "{args:?} wrote results");
        err
    };
    let err = sweep(&["--vary", "export_rule.H200.2026-01.revenue_fee=25%,0.3"]);
    assert!(
        err.contains("--> --vary export_rule.H200.2026-01.revenue_fee=25%"),
        "{err}"
    );
    assert!(
        err.contains(
            "help: write a plain number, without quotes, currency or separators: \
             --vary export_rule.H200.2026-01.revenue_fee=0.25,0.3"
        ),
        "{err}"
    );
    assert!(!err.contains("--set"), "{err}");
    // Replacing the table would break the licensed point: no such help.
    let vary = "export_rule.H200.2026-01.regime=\"banned\",\"licensed\"";
    let err = sweep(&["--vary", vary]);
    assert!(
        err.contains(&format!(
            "note: this table was changed by a point of `--vary {vary}`"
        )),
        "{err}"
    );
    assert!(
        err.contains("help: a sweep point cannot remove a key"),
        "{err}"
    );
    assert!(!err.contains("--set"), "{err}");
    // A --set with the same text as a point is still named --set.
    let arg = "export_rule.H200.2026-01.regime=\"banned\"";
    let err = sweep(&["--set", arg, "--vary", arg]);
    assert!(err.contains(&format!("changed by `--set {arg}`")), "{err}");
    assert!(
        err.contains(&format!("changed by a point of `--vary {arg}`")),
        "{err}"
    );
}
