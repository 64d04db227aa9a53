//! The command line as a user runs it: files, columns, exit statuses.

use crate::support::{data, run_cli, shipped};
use std::path::Path;

fn header(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines().next().unwrap_or_default().to_string()
}

fn csv_rows(path: &Path) -> Vec<Vec<String>> {
    let mut r = csv::Reader::from_path(path).expect("csv");
    r.records()
        .map(|rec| rec.expect("row").iter().map(str::to_string).collect())
        .collect()
}

#[test]
fn run_without_a_file_runs_the_built_in_baseline_and_writes_every_file() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let o = run_cli(
        tmp.path(),
        &["run", "--trials", "50", "--quiet", "--out", "res"],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let dir = tmp.path().join("res/baseline");
    assert_eq!(
        header(&dir.join("timeseries.csv")),
        "scenario,month,metric,entity,mean,sd,p5,p25,p50,p75,p95"
    );
    assert_eq!(
        header(&dir.join("summary.csv")),
        "scenario,metric,entity,mean,sd,p5,p25,p50,p75,p95"
    );
    let trials_header = header(&dir.join("trials.csv"));
    assert!(
        trials_header.starts_with("trial,market.demand.initial"),
        "{trials_header}"
    );
    assert!(
        trials_header.contains(",total_revenue_usd:Nvidia,"),
        "{trials_header}"
    );
    assert_eq!(csv_rows(&dir.join("trials.csv")).len(), 50);
    for f in [
        "market_share.png",
        "market_share.svg",
        "revenue.png",
        "revenue.svg",
    ] {
        assert!(dir.join(f).is_file(), "{f} missing");
    }
    let manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("manifest.json")).expect("manifest"),
    )
    .expect("json");
    assert_eq!(manifest["trials"], 50);
    assert_eq!(manifest["scenario"]["name"], "baseline");
    assert_eq!(
        manifest["scenario"]["sha256"].as_str().map(str::len),
        Some(64)
    );
    // Every required metric is present, with its entities.
    let rows = csv_rows(&dir.join("timeseries.csv"));
    let has = |metric: &str, entity: &str| rows.iter().any(|r| r[2] == metric && r[3] == entity);
    for (m, e) in [
        ("demand_h100e", "market"),
        ("purchased_h100e", "market"),
        ("unmet_h100e", "market"),
        ("mandate_cut_h100e", "market"),
        ("revenue_usd", "total"),
        ("revenue_usd", "Nvidia"),
        ("vendor_net_usd", "Huawei"),
        ("export_fee_usd", "US"),
        ("share_compute", "CN"),
        ("share_compute", "Nvidia"),
        ("share_revenue", "Huawei"),
        ("units", "H200"),
        ("compute_h100e", "H20"),
        ("available", "H200"),
    ] {
        assert!(has(m, e), "timeseries.csv lacks {m}:{e}");
    }
    let summary = csv_rows(&dir.join("summary.csv"));
    for m in [
        "total_revenue_usd",
        "total_vendor_net_usd",
        "total_export_fee_usd",
        "total_units",
        "total_unmet_h100e",
        "final_share_compute",
        "mean_share_compute",
    ] {
        assert!(summary.iter().any(|r| r[1] == m), "summary.csv lacks {m}");
    }
    // Quantiles are ordered in every row.
    for r in rows.iter().chain(&summary) {
        let q: Vec<f64> = r[r.len() - 5..]
            .iter()
            .map(|x| x.parse().expect("number"))
            .collect();
        assert!(
            q.windows(2).all(|w| w[0] <= w[1]),
            "unordered quantiles in {r:?}"
        );
    }
}

#[test]
fn several_scenarios_write_a_comparison() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let a = shipped("baseline.toml");
    let b = shipped("no-controls.toml");
    let o = run_cli(
        tmp.path(),
        &[
            "run",
            a.to_str().unwrap(),
            b.to_str().unwrap(),
            "--trials",
            "40",
            "--quiet",
            "--out",
            "res",
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = tmp.path().join("res");
    assert_eq!(
        header(&out.join("comparison.csv")),
        "scenario,metric,entity,mean,sd,p5,p25,p50,p75,p95"
    );
    let rows = csv_rows(&out.join("comparison.csv"));
    for s in ["baseline", "no-controls"] {
        assert!(rows.iter().any(|r| r[0] == s), "comparison.csv lacks {s}");
    }
    assert!(out.join("comparison.png").is_file() && out.join("comparison.svg").is_file());
    // `plot` redraws from the files alone.
    std::fs::remove_file(out.join("baseline/market_share.png")).expect("remove");
    let o = run_cli(tmp.path(), &["plot", "res/baseline"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(out.join("baseline/market_share.png").is_file());

    // A later run of one of them alone into the same folder leaves the
    // comparison in place but says it may be stale; one of another scenario
    // does not.
    let run_alone = |file: &std::path::Path| {
        let o = run_cli(
            tmp.path(),
            &[
                "run",
                file.to_str().unwrap(),
                "--trials",
                "30",
                "--charts",
                "none",
                "--quiet",
                "--out",
                "res",
            ],
        );
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let said = run_alone(&a);
    assert!(
        said.contains("comparison.csv is from an earlier run") && said.contains("baseline"),
        "{said}"
    );
    assert!(out.join("comparison.csv").is_file());
    assert!(!run_alone(&shipped("h200-reban.toml")).contains("note:"));
}

#[test]
fn the_format_reference_example_parses_and_runs() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let example = data("format-example.toml");
    let o = run_cli(tmp.path(), &["check", example.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("scenario h200-licensed"));
    assert!(text.contains("export_rule.H200.2026-01.approval_rate"));
    assert!(text.contains("2026-07 to 2028-12"), "{text}");
    assert!(
        std::fs::read_dir(tmp.path()).expect("dir").next().is_none(),
        "check must write nothing"
    );
    let o = run_cli(
        tmp.path(),
        &[
            "run",
            example.to_str().unwrap(),
            "--trials",
            "100",
            "--quiet",
            "--charts",
            "none",
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        tmp.path()
            .join("outputs/h200-licensed/summary.csv")
            .is_file()
    );
}

/// Runs the binary on a scenario text and asserts exit status 2, the
/// message parts, and that nothing was written.
fn assert_rejected(text: &str, expected: &[&str]) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let file = tmp.path().join("bad.toml");
    std::fs::write(&file, text).expect("write");
    for cmd in ["check", "run"] {
        let o = run_cli(
            tmp.path(),
            &[cmd, "bad.toml", "--out", "out"][..if cmd == "check" { 2 } else { 4 }],
        );
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{cmd}: {err}");
        for e in expected {
            assert!(err.contains(e), "{cmd}: message lacks {e:?}:\n{err}");
        }
        assert!(!tmp.path().join("out").exists(), "{cmd} wrote output");
        assert!(!err.contains("panicked"), "{err}");
    }
}

fn example_text() -> String {
    std::fs::read_to_string(data("format-example.toml")).expect("example")
}

#[test]
fn a_misspelt_field_is_refused_with_its_place_and_the_nearest_name() {
    let text = example_text().replace("annual_growth =", "anual_growth =");
    assert_rejected(
        &text,
        &[
            "unknown field `anual_growth`",
            "bad.toml:16:1",
            "did you mean `annual_growth`?",
        ],
    );
}

#[test]
fn semantic_errors_are_all_reported_with_their_places() {
    let text = example_text()
        .replace("share = 0.15\n", "share = 0.25\n")
        .replace(
            "product = \"H20\"\nfrom = \"2026-03\"",
            "product = \"H2O\"\nfrom = \"2026-03\"",
        )
        .replace("min = 25000, max = 32000", "min = 32000, max = 25000");
    assert_rejected(
        &text,
        &[
            "segment shares must sum to 1, they sum to 1.1",
            "import rule names unknown product \"H2O\"",
            "did you mean \"H20\"?",
            "min (32000) must not exceed max (25000)",
            "3 problems in bad.toml",
        ],
    );
}

#[test]
fn wrong_types_missing_files_and_bad_options_exit_2() {
    assert_rejected(
        &example_text().replace("months = 36", "months = \"36\""),
        &["wrong type", "bad.toml:6:"],
    );
    assert_rejected(
        &example_text().replace("h100e = 1.0\n", ""),
        &["missing required field `h100e`"],
    );
    let tmp = tempfile::tempdir().expect("temp dir");
    let o = run_cli(tmp.path(), &["run", "nope.toml", "--out", "out"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("nope.toml"));
    let o = run_cli(tmp.path(), &["run", "--trials", "0", "--out", "out"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(!tmp.path().join("out").exists());
    // A folder that is not there is said to be missing, not to be of the wrong kind.
    let o = run_cli(tmp.path(), &["plot", "nonexist"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("nonexist does not exist"), "{err}");
}

#[test]
fn one_trial_is_one_trial() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let o = run_cli(tmp.path(), &["run", "--trials", "1", "--out", "out"]);
    assert_eq!(o.status.code(), Some(0));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("baseline: 1 trial × 36 months"), "{out}");
}

#[test]
fn two_rules_of_one_timeline_with_the_same_from_are_refused() {
    let text = example_text().replace(
        "[[import_rule]]\nproduct = \"H20\"\nfrom = \"2026-03\"",
        "[[import_rule]]\nproduct = \"H200\"\nfrom = \"2026-01\"\nregime = \"banned\"\n\n[[import_rule]]\nproduct = \"H20\"\nfrom = \"2026-03\"",
    );
    assert_rejected(
        &text,
        &[
            "two import rules of \"H200\" start in the same month",
            "bad.toml:117:1",
        ],
    );
}
