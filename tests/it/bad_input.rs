//! The catalogue of bad input (`docs/errors.md`): every mistake is refused by
//! the real binary with exit status 2, a message naming file, line and
//! column, what was expected and what was found, and nothing written.
//!
//! Each case is a small edit of the format reference example
//! (`tests/data/format-example.toml`); an edit must match the text exactly
//! once, so a change of the example cannot silently turn a case into a no-op.

use crate::support::{data, run_cli};
use std::path::Path;

/// One mistake: edits of the example and what the message must say.
struct Case {
    /// What the case is about (shown on failure).
    name: &'static str,
    /// `(old, new)` pairs applied in order; `old` must occur exactly once.
    /// An empty `old` appends `new` at the end.
    edits: &'static [(&'static str, &'static str)],
    /// Substrings the error output must contain.
    expect: &'static [&'static str],
}

fn example_text() -> String {
    std::fs::read_to_string(data("format-example.toml")).expect("example")
}

fn apply(name: &str, edits: &[(&str, &str)]) -> String {
    let mut text = example_text();
    for (old, new) in edits {
        if old.is_empty() {
            text.push_str(new);
            continue;
        }
        let n = text.matches(old).count();
        assert_eq!(n, 1, "case {name}: {old:?} occurs {n} times in the example");
        text = text.replacen(old, new, 1);
    }
    text
}

/// Lists a folder's entries (names), sorted.
fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// Runs `check FILE` and `run FILE --out out` in a fresh folder holding only
/// `bad.toml`; both must exit 2 with every expected part and write nothing.
/// Returns the message, or what was wrong with it.
fn refusal(name: &str, bytes: &[u8], expect: &[&str]) -> Result<String, String> {
    let tmp = tempfile::tempdir().expect("temp dir");
    std::fs::write(tmp.path().join("bad.toml"), bytes).expect("write");
    let mut shown = String::new();
    for args in [
        &["check", "bad.toml"][..],
        &[
            "run", "bad.toml", "--out", "out", "--trials", "2", "--quiet",
        ][..],
    ] {
        let o = run_cli(tmp.path(), args);
        let err = String::from_utf8_lossy(&o.stderr).into_owned();
        let cmd = args[0];
        if o.status.code() != Some(2) {
            return Err(format!(
                "case {name}, {cmd}: exit status {:?}\n{err}",
                o.status.code()
            ));
        }
        if !o.stdout.is_empty() {
            return Err(format!("case {name}, {cmd}: printed to stdout"));
        }
        if let Some(e) = expect.iter().find(|e| !err.contains(*e)) {
            return Err(format!(
                "case {name}, {cmd}: the message lacks {e:?}:\n{err}"
            ));
        }
        if err.contains("panicked") {
            return Err(format!("case {name}, {cmd}: {err}"));
        }
        if entries(tmp.path()) != ["bad.toml"] {
            return Err(format!("case {name}, {cmd}: something was written"));
        }
        shown = err;
    }
    Ok(shown)
}

/// Checks every case and reports all the failures together.
/// With `TRADEFLOW_ERRORS_DUMP=FILE`, every case's message is appended to
/// FILE: the examples of `docs/errors.md` are copied from there.
fn assert_all_refused<'a>(cases: impl IntoIterator<Item = (&'a str, Vec<u8>, Vec<&'a str>)>) {
    let mut failures = Vec::new();
    let mut dump = String::new();
    for (name, bytes, expect) in cases {
        match refusal(name, &bytes, &expect) {
            Ok(message) => dump.push_str(&format!("### {name}\n\n```text\n{message}```\n\n")),
            Err(e) => failures.push(e),
        }
    }
    if let Ok(path) = std::env::var("TRADEFLOW_ERRORS_DUMP") {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .expect("dump file");
        f.write_all(dump.as_bytes()).expect("dump");
    }
    assert!(
        failures.is_empty(),
        "{} case(s) failed:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

const CASES: &[Case] = &[
    // --- Structure: fields and types -------------------------------------
    Case {
        name: "unknown field, with the nearest valid name",
        edits: &[("annual_growth =", "anual_growth =")],
        expect: &[
            "error: unknown field `anual_growth`",
            "bad.toml:16:1",
            "expected one of: initial, annual_growth, monthly_volatility, price_elasticity",
            "did you mean `annual_growth`?",
        ],
    },
    Case {
        name: "unknown key inside a distribution table",
        edits: &[("p5 = 60000, p95", "p05 = 60000, p95")],
        expect: &["unknown field `p05`", "bad.toml:15:", "did you mean `p5`?"],
    },
    Case {
        name: "misspelt table name",
        edits: &[("[market.demand]", "[market.demnd]")],
        expect: &[
            "unknown field `demnd`",
            "bad.toml:14:",
            "did you mean `demand`?",
        ],
    },
    Case {
        name: "misspelt array-of-tables name",
        edits: &[("[[domestic_mandate]]", "[[domestic_mandates]]")],
        expect: &[
            "unknown field `domestic_mandates`",
            "bad.toml:122:",
            "did you mean `domestic_mandate`?",
        ],
    },
    Case {
        name: "wrong type: a string for an integer",
        edits: &[("months = 36", "months = \"36\"")],
        expect: &[
            "wrong type: expected an integer, found the string \"36\"",
            "bad.toml:6:10",
        ],
    },
    Case {
        name: "wrong type: a number for a string",
        edits: &[("vendor = \"Huawei\"", "vendor = 7")],
        expect: &[
            "wrong type: expected a string, found the integer 7",
            "bad.toml:69:10",
        ],
    },
    Case {
        name: "wrong type: a string for an uncertain number",
        edits: &[("price = 17000", "price = \"17000\"")],
        expect: &[
            "wrong type: expected a number or a distribution table",
            "found the string \"17000\"",
            "bad.toml:72:9",
        ],
    },
    Case {
        name: "wrong type: a boolean for a number",
        edits: &[("supply = 80000", "supply = true")],
        expect: &[
            "expected a number or a distribution table",
            "found the boolean true",
            "bad.toml:64:10",
        ],
    },
    Case {
        name: "wrong type: a TOML date for a month",
        edits: &[("start = \"2026-01\"", "start = 2026-01-01")],
        expect: &[
            "wrong type: expected a string",
            "bad.toml:5:9",
            "help: write months as strings, e.g. \"2026-01\"",
        ],
    },
    Case {
        name: "missing required field",
        edits: &[("h100e = 1.0\n", "")],
        expect: &[
            "missing required field `h100e`",
            "bad.toml:54:1",
            "add `h100e = ...`",
        ],
    },
    Case {
        name: "missing required table",
        edits: &[(
            "[market.demand]         # compute demand, H100e per month\ninitial = { dist = \"lognormal\", p5 = 60000, p95 = 160000 }\nannual_growth = { dist = \"triangular\", min = 0.15, mode = 0.40, max = 0.80 }\nmonthly_volatility = 0.05\nprice_elasticity = -0.3          # optional, default 0\n",
            "",
        )],
        expect: &["missing the [market.demand] table", "bad.toml:10:1"],
    },
    Case {
        name: "TOML syntax: unterminated string",
        edits: &[("name = \"h200-licensed\"", "name = \"h200-licensed")],
        expect: &["bad.toml:2:", "error:"],
    },
    Case {
        name: "TOML syntax: a key given twice",
        edits: &[("months = 36\n", "months = 36\nmonths = 48\n")],
        expect: &["invalid TOML: duplicate key `months`", "bad.toml:7:1"],
    },
    // --- Names ------------------------------------------------------------
    Case {
        name: "duplicate product name",
        edits: &[("name = \"H200\"", "name = \"H20\"")],
        expect: &["duplicate product name \"H20\"", "bad.toml:55:8"],
    },
    Case {
        name: "duplicate segment name",
        edits: &[("name = \"research\"", "name = \"ai-labs\"")],
        expect: &["duplicate segment name \"ai-labs\"", "bad.toml:33:8"],
    },
    Case {
        name: "duplicate shock name",
        edits: &[(
            "",
            "\n[[shock]]\nname = \"h200-reban\"\nprobability = 0.5\nwindow = [\"2027-01\", \"2027-12\"]\n[shock.import_rule]\nproduct = \"H20\"\nregime = \"banned\"\n",
        )],
        expect: &["duplicate shock name \"h200-reban\"", "bad.toml:139:8"],
    },
    Case {
        name: "a name with characters outside the allowed set",
        edits: &[("name = \"h200-licensed\"", "name = \"h200 licensed!\"")],
        expect: &[
            "scenario name \"h200 licensed!\" is not a valid name",
            "bad.toml:2:8",
            "letters, digits, '-', '_' and '.'",
        ],
    },
    Case {
        name: "a product name with a slash",
        edits: &[("name = \"MLU590\"", "name = \"MLU/590\"")],
        expect: &[
            "product name \"MLU/590\" is not a valid name",
            "bad.toml:82:8",
        ],
    },
    // --- Values outside their range ----------------------------------------
    Case {
        name: "segment share above 1",
        edits: &[("share = 0.55", "share = 1.55")],
        expect: &[
            "segment `share` must be in [0, 1], found 1.55",
            "bad.toml:22:9",
            // Just above 1 is a slip of the fraction, not a percentage.
            "help: shares and rates are fractions: at most 1",
        ],
    },
    Case {
        name: "segment shares not summing to 1",
        edits: &[("share = 0.15\n", "share = 0.25\n")],
        expect: &[
            "segment shares must sum to 1, they sum to 1.1",
            "bad.toml:20:1",
            "shares: hyperscalers 0.55, ai-labs 0.25, research 0.05, state 0.25",
        ],
    },
    Case {
        name: "negative mandate compliance",
        edits: &[("mandate_compliance = 0.7", "mandate_compliance = -0.7")],
        expect: &[
            "`mandate_compliance` must be in [0, 1], found -0.7",
            "bad.toml:24:22",
        ],
    },
    Case {
        name: "approval rate above 1",
        edits: &[(
            "approval_rate = { dist = \"beta\", mean = 0.7, sd = 0.1 }",
            "approval_rate = 1.2",
        )],
        expect: &[
            "`approval_rate` must be in [0, 1], found 1.2",
            "bad.toml:106:17",
            "help: shares and rates are fractions: at most 1",
        ],
    },
    Case {
        name: "revenue fee of 1",
        edits: &[("revenue_fee = 0.15", "revenue_fee = 1.0")],
        expect: &[
            "`revenue_fee` must be in [0, 1), found 1",
            "bad.toml:98:15",
            "help: fees are fractions below 1",
        ],
    },
    Case {
        name: "mandate share above 1",
        edits: &[("share = 0.5 ", "share = 50  ")],
        expect: &[
            "mandate `share` must be in [0, 1], found 50",
            "bad.toml:124:9",
        ],
    },
    Case {
        name: "hazard above 1",
        edits: &[("monthly_hazard = 0.02", "monthly_hazard = 2.0")],
        expect: &[
            "`monthly_hazard` must be in [0, 1], found 2",
            "bad.toml:130:18",
        ],
    },
    Case {
        name: "negative probability",
        edits: &[("monthly_hazard = 0.02", "probability = -0.3")],
        expect: &[
            "`probability` must be in [0, 1], found -0.3",
            "bad.toml:130:15",
        ],
    },
    Case {
        name: "a distribution that can leave the valid range",
        edits: &[(
            "approval_rate = { dist = \"beta\", mean = 0.7, sd = 0.1 }",
            "approval_rate = { dist = \"normal\", mean = 0.7, sd = 0.1 }",
        )],
        expect: &[
            "`approval_rate` must be in [0, 1], but this normal can draw values in",
            "bad.toml:106:17",
            "bound it with `min` and `max`",
        ],
    },
    // --- Months and windows ----------------------------------------------
    Case {
        name: "a month not YYYY-MM",
        edits: &[("start = \"2026-01\"", "start = \"2026-1\"")],
        expect: &[
            "expected a month as \"YYYY-MM\", found \"2026-1\"",
            "bad.toml:5:9",
        ],
    },
    Case {
        name: "a month out of range",
        edits: &[("launch = \"2026-01\"", "launch = \"2026-13\"")],
        expect: &[
            "month 13 in \"2026-13\" is not between 01 and 12",
            "bad.toml:63:10",
        ],
    },
    Case {
        name: "a year out of range",
        edits: &[("midpoint = \"2026-06\"", "midpoint = \"3026-06\"")],
        expect: &[
            "year 3026 in \"3026-06\" is outside 1900–2200",
            "bad.toml:76:12",
        ],
    },
    Case {
        name: "until before from",
        edits: &[(
            "from = \"2026-03\"\n",
            "from = \"2026-03\"\nuntil = \"2026-02\"\n",
        )],
        expect: &[
            "`until` (2026-02) is before `from` (2026-03)",
            "bad.toml:120:9",
        ],
    },
    Case {
        name: "a reversed window",
        edits: &[(
            "window = [\"2026-04\", \"2028-12\"]",
            "window = [\"2028-12\", \"2026-04\"]",
        )],
        expect: &[
            "window ends (2026-04) before it starts (2028-12)",
            "bad.toml:131:10",
        ],
    },
    Case {
        name: "a window outside the horizon",
        edits: &[(
            "window = [\"2026-04\", \"2028-12\"]",
            "window = [\"2030-04\", \"2030-12\"]",
        )],
        expect: &[
            "window starts (2030-04) outside the horizon of the scenario",
            "bad.toml:131:11",
            "2026-01 to 2028-12",
        ],
    },
    Case {
        name: "a window with one month",
        edits: &[(
            "window = [\"2026-04\", \"2028-12\"]",
            "window = [\"2026-04\"]",
        )],
        expect: &[
            "wrong number of elements",
            "bad.toml:131:10",
            "[\"YYYY-MM\", \"YYYY-MM\"]",
        ],
    },
    // --- References ----------------------------------------------------------
    Case {
        name: "a rule naming an unknown product",
        edits: &[(
            "product = \"H20\"\nfrom = \"2026-01\"",
            "product = \"H21\"\nfrom = \"2026-01\"",
        )],
        expect: &[
            "export rule names unknown product \"H21\"",
            "bad.toml:95:11",
            "known products: H20, H200, Ascend-910C, MLU590",
            "did you mean \"H20\"?",
        ],
    },
    Case {
        name: "a rule naming an unknown segment",
        edits: &[("\"ai-labs\", \"research\"]", "\"ai-labs\", \"reserch\"]")],
        expect: &[
            "unknown segment \"reserch\"",
            "bad.toml:114:",
            "did you mean \"research\"?",
        ],
    },
    Case {
        name: "an export rule naming a domestic product",
        edits: &[(
            "product = \"H20\"\nfrom = \"2026-01\"",
            "product = \"MLU590\"\nfrom = \"2026-01\"",
        )],
        expect: &[
            "export rule names \"MLU590\", a domestic product",
            "bad.toml:95:11",
        ],
    },
    Case {
        name: "an unknown regime",
        edits: &[("regime = \"licensed\"", "regime = \"licenced\"")],
        expect: &[
            "unknown export regime \"licenced\"",
            "bad.toml:104:10",
            "did you mean \"licensed\"?",
        ],
    },
    Case {
        name: "a domestic product without production",
        edits: &[(
            "[product.production]\nschedule = [[\"2026-01\", 8000], [\"2026-12\", 20000], [\"2028-12\", 40000]]   # linear between points\nscale = { dist = \"uniform\", min = 0.7, max = 1.3 }                      # optional\n",
            "",
        )],
        expect: &[
            "domestic product \"MLU590\" (origin CN) has no [product.production]",
            "bad.toml:82:8",
        ],
    },
    Case {
        name: "a foreign product with production",
        edits: &[(
            "supply = 150000                  # most units a month the vendor ships to this market; default unlimited\n",
            "supply = 150000\n[product.production]\nceiling = 1000\nmidpoint = \"2026-06\"\nramp_months = 6\n",
        )],
        expect: &[
            "\"H20\" is foreign (origin US) but has [product.production]",
            "bad.toml:53:1",
        ],
    },
    Case {
        name: "a shock without a rule table",
        edits: &[(
            "[shock.export_rule]              # exactly one of export_rule, import_rule, domestic_mandate;\n                                 # no from/until here: the shock's month is its from\nproduct = \"H200\"\nregime = \"banned\"",
            "",
        )],
        expect: &["shock \"h200-reban\" has no rule table", "bad.toml:129:8"],
    },
    Case {
        name: "a shock with two rule tables",
        edits: &[(
            "",
            "\n[shock.import_rule]\nproduct = \"H20\"\nregime = \"banned\"\n",
        )],
        expect: &["shock \"h200-reban\" has 2 rule tables", "bad.toml:129:8"],
    },
    // --- Distributions -----------------------------------------------------
    Case {
        name: "uniform with min > max",
        edits: &[("min = 25000, max = 32000", "min = 32000, max = 25000")],
        expect: &[
            "`price`: min (32000) must not exceed max (25000)",
            "bad.toml:60:9",
        ],
    },
    Case {
        name: "triangular with the mode outside",
        edits: &[(
            "min = 0.15, mode = 0.40, max = 0.80",
            "min = 0.15, mode = 0.90, max = 0.80",
        )],
        expect: &[
            "`annual_growth`: mode (0.9) must lie between min (0.15) and max (0.8)",
            "bad.toml:16:17",
        ],
    },
    Case {
        name: "pert with the mode outside",
        edits: &[("mode = 60000", "mode = 160000")],
        expect: &[
            "`ceiling`: mode (160000) must lie between min (30000) and max (120000)",
            "bad.toml:75:11",
        ],
    },
    Case {
        name: "normal with sd = 0",
        edits: &[("mean = 0, sd = 3", "mean = 0, sd = 0")],
        expect: &[
            "`midpoint_shift`: sd must be > 0 (found 0)",
            "bad.toml:77:18",
        ],
    },
    Case {
        name: "beta with an infeasible mean and sd",
        edits: &[("mean = 0.7, sd = 0.1", "mean = 0.7, sd = 0.5")],
        expect: &["`approval_rate`", "sd", "bad.toml:106:17"],
    },
    Case {
        name: "beta with a negative sd",
        edits: &[("mean = 0.7, sd = 0.1", "mean = 0.7, sd = -0.1")],
        expect: &["`approval_rate`: sd must be > 0", "bad.toml:106:17"],
    },
    Case {
        name: "lognormal with p5 >= p95",
        edits: &[("p5 = 60000, p95 = 160000", "p5 = 160000, p95 = 60000")],
        expect: &[
            "demand `initial`: p5 (160000) must be below p95 (60000)",
            "bad.toml:15:11",
        ],
    },
    Case {
        name: "lognormal with sigma = 0",
        edits: &[("p5 = 60000, p95 = 160000", "median = 100000, sigma = 0")],
        expect: &[
            "demand `initial`: sigma must be > 0 (found 0)",
            "bad.toml:15:11",
        ],
    },
    Case {
        name: "discrete with a negative weight",
        edits: &[(
            "price = 9000",
            "price = { dist = \"discrete\", values = [8000, 9000], weights = [1, -1] }",
        )],
        expect: &[
            "`price`: weight #2 must be a finite number ≥ 0 (found -1)",
            "bad.toml:87:9",
        ],
    },
    Case {
        name: "discrete with all weights zero",
        edits: &[(
            "price = 9000",
            "price = { dist = \"discrete\", values = [8000, 9000], weights = [0, 0] }",
        )],
        expect: &[
            "`price`: discrete weights must not all be zero",
            "bad.toml:87:9",
        ],
    },
    Case {
        name: "discrete with lengths that differ",
        edits: &[(
            "price = 9000",
            "price = { dist = \"discrete\", values = [8000, 9000], weights = [1, 2, 3] }",
        )],
        expect: &[
            "`price`: discrete has 2 values but 3 weights; give one weight per value",
            "bad.toml:87:9",
        ],
    },
    Case {
        name: "discrete with no values",
        edits: &[(
            "price = 9000",
            "price = { dist = \"discrete\", values = [] }",
        )],
        expect: &[
            "`price`: a discrete distribution needs at least one value",
            "bad.toml:87:9",
        ],
    },
    Case {
        name: "an unknown distribution",
        edits: &[("dist = \"triangular\"", "dist = \"triangle\"")],
        expect: &[
            "unknown distribution \"triangle\"",
            "bad.toml:16:",
            "did you mean \"triangular\"?",
        ],
    },
    Case {
        name: "a distribution missing a parameter",
        edits: &[("min = 10000, max = 13000", "min = 10000")],
        expect: &[
            "`price`: a uniform distribution is missing parameters",
            "bad.toml:50:9",
            "{ dist = \"uniform\", min, max }",
        ],
    },
    Case {
        name: "a distribution with a parameter of another form",
        edits: &[(
            "min = 10000, max = 13000",
            "min = 10000, max = 13000, sd = 5",
        )],
        expect: &[
            "`price`: `sd` does not belong to this uniform distribution",
            "bad.toml:50:9",
        ],
    },
    // --- NaN and infinities --------------------------------------------------
    Case {
        name: "nan",
        edits: &[("monthly_volatility = 0.05", "monthly_volatility = nan")],
        expect: &[
            "`monthly_volatility` must be a finite number, found NaN",
            "bad.toml:17:22",
        ],
    },
    Case {
        name: "inf",
        edits: &[("h100e = 0.8 ", "h100e = inf ")],
        expect: &[
            "`h100e` must be a finite number, found inf",
            "bad.toml:71:9",
        ],
    },
    Case {
        name: "-inf",
        edits: &[("price = 9000", "price = -inf")],
        expect: &[
            "`price` must be a finite number, found -inf",
            "bad.toml:87:9",
        ],
    },
    Case {
        name: "nan inside a distribution",
        edits: &[("min = 10000, max = 13000", "min = nan, max = 13000")],
        expect: &["`price`", "finite", "bad.toml:50:9"],
    },
    Case {
        name: "inf in a schedule",
        edits: &[("[\"2026-12\", 20000]", "[\"2026-12\", inf]")],
        expect: &[
            "scheduled units must be a finite number, found inf",
            "bad.toml:91:",
        ],
    },
    Case {
        name: "nan segment share",
        edits: &[("share = 0.55", "share = nan")],
        expect: &[
            "segment `share` must be a finite number, found NaN",
            "bad.toml:22:9",
        ],
    },
    // --- Negative amounts ------------------------------------------------------
    Case {
        name: "negative price",
        edits: &[("price = 17000", "price = -17000")],
        expect: &["`price` must be > 0, found -17000", "bad.toml:72:9"],
    },
    Case {
        name: "negative demand",
        edits: &[(
            "initial = { dist = \"lognormal\", p5 = 60000, p95 = 160000 }",
            "initial = -5",
        )],
        expect: &["demand `initial` must be ≥ 0, found -5", "bad.toml:15:11"],
    },
    Case {
        name: "negative h100e",
        edits: &[("h100e = 0.35", "h100e = -0.35")],
        expect: &["`h100e` must be > 0, found -0.35", "bad.toml:86:9"],
    },
    Case {
        name: "zero h100e",
        edits: &[("h100e = 0.35", "h100e = 0")],
        expect: &["`h100e` must be > 0, found 0", "bad.toml:86:9"],
    },
    Case {
        name: "a subnormal h100e",
        edits: &[("h100e = 0.35", "h100e = 1e-320")],
        expect: &[
            "`h100e` must be between 1e-6 and 1e6, found 1e-320",
            "bad.toml:86:9",
        ],
    },
    Case {
        name: "negative supply",
        edits: &[("supply = 80000", "supply = -80000")],
        expect: &["`supply` must be ≥ 0, found -80000", "bad.toml:64:10"],
    },
    Case {
        name: "negative quota",
        edits: &[("quota = 50000", "quota = -50000")],
        expect: &["`quota` must be ≥ 0, found -50000", "bad.toml:105:9"],
    },
    // --- Sizes ---------------------------------------------------------------
    Case {
        name: "trials = 0",
        edits: &[("trials = 10000 ", "trials = 0     ")],
        expect: &[
            "trials must be between 1 and 100000000, found 0",
            "bad.toml:7:10",
        ],
    },
    Case {
        name: "months = 0",
        edits: &[("months = 36", "months = 0")],
        expect: &[
            "months must be between 1 and 1200, found 0",
            "bad.toml:6:10",
        ],
    },
    Case {
        name: "months absurdly large",
        edits: &[("months = 36", "months = 100000000")],
        expect: &[
            "months must be between 1 and 1200, found 100000000",
            "bad.toml:6:10",
        ],
    },
    Case {
        name: "months beyond any integer",
        edits: &[("months = 36", "months = 99999999999999999999")],
        expect: &[
            "the integer 99999999999999999999 is too large: the largest is 9223372036854775807",
            "bad.toml:6:10",
        ],
    },
    Case {
        name: "negative seed",
        edits: &[("seed = 20260121", "seed = -1")],
        expect: &["seed must be ≥ 0, found -1", "bad.toml:8:8"],
    },
    // --- Plausible slips of a new user, each with the fix in the message ----------
    Case {
        name: "a percentage where a fraction belongs",
        edits: &[("share = 0.55 ", "share = 55   ")],
        expect: &[
            "segment `share` must be in [0, 1], found 55",
            "bad.toml:22:9",
            "help: shares and rates are fractions: 55 % is 0.55",
        ],
    },
    Case {
        name: "a fee in per cent",
        edits: &[("revenue_fee = 0.25", "revenue_fee = 25")],
        expect: &[
            "`revenue_fee` must be in [0, 1), found 25",
            "25 % is 0.25",
            "bad.toml:107:15",
        ],
    },
    Case {
        name: "a decimal point in an integer",
        edits: &[("months = 36", "months = 36.0")],
        expect: &[
            "expected an integer, found the number 36.0",
            "bad.toml:6:10",
            "help: write a whole number: months = 36",
        ],
    },
    Case {
        name: "`type` for `dist`",
        edits: &[(
            "price = { dist = \"uniform\", min = 10000",
            "price = { type = \"uniform\", min = 10000",
        )],
        expect: &[
            "unknown field `type`",
            "bad.toml:50:11",
            "did you mean `dist`?",
        ],
    },
    Case {
        name: "a string without quotes",
        edits: &[("vendor = \"Huawei\"", "vendor = Huawei")],
        expect: &[
            "invalid TOML: string values must be quoted",
            "bad.toml:69:10",
            "double quotes",
        ],
    },
    Case {
        name: "[product] for a second [[product]]",
        edits: &[(
            "[[product]]\nname = \"MLU590\"",
            "[product]\nname = \"MLU590\"",
        )],
        expect: &[
            "duplicate key `product`",
            "bad.toml:81:2",
            "[[product]] with double brackets",
        ],
    },
    Case {
        name: "an abbreviated keyword",
        edits: &[(
            "regime = \"banned\"                # open | banned",
            "regime = \"Ban\"                # open | banned",
        )],
        expect: &[
            "unknown import regime \"Ban\"",
            "bad.toml:120:10",
            "did you mean \"banned\"?",
        ],
    },
    Case {
        name: "half a table name",
        edits: &[("[[domestic_mandate]]", "[[mandate]]")],
        expect: &[
            "unknown field `mandate`",
            "bad.toml:122:3",
            "did you mean `domestic_mandate`?",
        ],
    },
    Case {
        name: "a segment named with other capitals",
        edits: &[("\"ai-labs\", \"research\"]", "\"AI-labs\", \"research\"]")],
        expect: &[
            "unknown segment \"AI-labs\"",
            "bad.toml:114:29",
            "did you mean \"ai-labs\"?",
        ],
    },
    Case {
        name: "a price with a currency sign and separators",
        edits: &[("price = 17000", "price = \"$17,000\"")],
        expect: &[
            "found the string \"$17,000\"",
            "bad.toml:72:9",
            "help: write a plain number, without quotes, currency or separators: price = 17000",
        ],
    },
    Case {
        name: "a percentage without quotes",
        edits: &[("revenue_fee = 0.25", "revenue_fee = 25%")],
        expect: &[
            "invalid TOML",
            "bad.toml:107:15",
            "help: write a plain number, without quotes, currency or separators: revenue_fee = 0.25",
        ],
    },
    Case {
        name: "a comma between thousands",
        edits: &[("quota = 50000 ", "quota = 50,000")],
        expect: &[
            "invalid TOML",
            "bad.toml:105:",
            "help: TOML numbers have no `,` between thousands: quota = 50000 (or 50_000)",
        ],
    },
    Case {
        name: "a stray character after a number",
        edits: &[("revenue_fee = 0.25", "revenue_fee = 0.25x")],
        expect: &[
            "invalid TOML",
            "bad.toml:107:",
            "help: write a number, e.g. revenue_fee = 0.25",
        ],
    },
    Case {
        name: "a distribution for a constant",
        edits: &[(
            "h100e = 1.0",
            "h100e = { dist = \"uniform\", min = 0.5, max = 1 }",
        )],
        expect: &[
            "expected a number, found a table",
            "bad.toml:59:9",
            "help: `h100e` is a constant, not uncertain: write a plain number",
        ],
    },
    Case {
        name: "a unit after a number",
        edits: &[("ramp_months = 18 ", "ramp_months = \"18 months\" ")],
        expect: &[
            "found the string \"18 months\"",
            "bad.toml:78:15",
            "ramp_months = 18",
        ],
    },
    Case {
        name: "a year for a month",
        edits: &[("launch = \"2026-01\"", "launch = 2027")],
        expect: &[
            "expected a string, found the integer 2027",
            "bad.toml:63:10",
            "months are strings \"YYYY-MM\", e.g. launch = \"2027-01\"",
        ],
    },
    Case {
        name: "one segment without a list",
        edits: &[("# segments = [\"state\"]", "segments = \"state\"")],
        expect: &[
            "expected an array, found the string \"state\"",
            "bad.toml:126:12",
            "segments = [\"state\"]",
        ],
    },
    Case {
        name: "`from` inside a shock's rule",
        edits: &[(
            "product = \"H200\"\nregime = \"banned\"",
            "product = \"H200\"\nfrom = \"2027-01\"\nregime = \"banned\"",
        )],
        expect: &[
            "a shock's rule has no `from` or `until`",
            "bad.toml:136:8",
            "set `window` and `duration_months` on the shock instead",
        ],
    },
    Case {
        name: "a lognormal given by mean and sd",
        edits: &[("p5 = 60000, p95 = 160000", "mean = 100000, sd = 30000")],
        expect: &[
            "demand `initial`: a lognormal distribution is missing parameters",
            "bad.toml:15:11",
            "{ dist = \"lognormal\", median, sigma } or { dist = \"lognormal\", p5, p95 }",
        ],
    },
    // --- Several problems at once ------------------------------------------------
    Case {
        name: "every problem of a file at once",
        edits: &[
            ("annual_growth =", "anual_growth ="),
            ("months = 36", "months = \"36\""),
            ("share = 0.15\n", "share = 0.25\n"),
            ("price = 9000", "price = -9000"),
            ("dist = \"triangular\"", "dist = \"triangle\""),
            ("regime = \"licensed\"", "regime = \"licenced\""),
        ],
        expect: &[
            "bad.toml:6:10",
            "bad.toml:16:1",
            "bad.toml:20:1",
            "bad.toml:87:9",
            "bad.toml:104:10",
            "5 problems in bad.toml",
        ],
    },
];

#[test]
fn every_catalogued_mistake_is_refused_with_its_place_and_nothing_written() {
    assert_all_refused(CASES.iter().map(|c| {
        (
            c.name,
            apply(c.name, c.edits).into_bytes(),
            c.expect.to_vec(),
        )
    }));
}

/// Whole files rather than edits.
#[test]
fn empty_files_and_files_without_products_or_segments_are_refused() {
    let minimal_head = "[scenario]\nname = \"x\"\nstart = \"2026-01\"\nmonths = 12\n\n[market]\nname = \"China\"\nhome = \"CN\"\n\n[market.demand]\ninitial = 1000\n";
    let segment = "\n[[segment]]\nname = \"all\"\nshare = 1\nsubstitution_elasticity = 2\n";
    let product = "\n[[product]]\nname = \"H20\"\nvendor = \"Nvidia\"\norigin = \"US\"\nh100e = 0.15\nprice = 12000\n";
    let cases: Vec<(&str, String, Vec<&str>)> = vec![
        (
            "empty file",
            String::new(),
            vec!["the scenario file is empty", "bad.toml"],
        ),
        (
            "only blanks and comments",
            "\n  \n# nothing yet\n".into(),
            vec!["the scenario file is empty", "bad.toml"],
        ),
        (
            "no product",
            format!("{minimal_head}{segment}"),
            vec!["the scenario has no [[product]]", "bad.toml:6:1"],
        ),
        (
            "no segment",
            format!("{minimal_head}{product}"),
            vec!["the scenario has no [[segment]]", "bad.toml:6:1"],
        ),
        (
            "arrays nested 100 000 deep",
            format!("a = {}{}\n", "[".repeat(100_000), "]".repeat(100_000)),
            vec![
                "invalid TOML: cannot recurse further; max recursion depth met",
                "bad.toml:1:",
            ],
        ),
        (
            "no [scenario]",
            format!("{segment}{product}"),
            vec!["missing the [scenario] table", "bad.toml:1:1"],
        ),
    ];
    assert_all_refused(
        cases
            .into_iter()
            .map(|(name, text, expect)| (name, text.into_bytes(), expect)),
    );
    // A minimal file with both is accepted: the cases above fail for their reason only.
    let tmp = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        tmp.path().join("ok.toml"),
        format!("{minimal_head}{segment}{product}"),
    )
    .expect("write");
    let o = run_cli(tmp.path(), &["check", "ok.toml"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn unreadable_scenario_files_are_refused() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path();
    std::fs::create_dir(dir.join("folder.toml")).expect("mkdir");
    std::fs::write(dir.join("latin1.toml"), b"[scenario]\nname = \"caf\xe9\"\n").expect("write");
    // Larger than any scenario: refused before it is read into memory whole.
    let huge = vec![b'#'; (tradeflow::scenario::MAX_SCENARIO_BYTES + 10) as usize];
    std::fs::write(dir.join("huge.toml"), huge).expect("write");
    let mut cases = vec![
        (
            "huge.toml",
            vec!["cannot read scenario file huge.toml", "larger than 16 MiB"],
        ),
        (
            "missing.toml",
            vec!["cannot read scenario file missing.toml", "No such file"],
        ),
        (
            "folder.toml",
            vec![
                "cannot read scenario file folder.toml",
                "it is a folder, not a file",
            ],
        ),
        (
            "latin1.toml",
            vec![
                "cannot read scenario file latin1.toml",
                "not UTF-8",
                "invalid byte 0xe9 at line 2, column 12",
            ],
        ),
    ];
    // An endless device (a slip of the shell) is refused too, not read for ever.
    if std::path::Path::new("/dev/zero").exists() {
        cases.push((
            "/dev/zero",
            vec!["cannot read scenario file /dev/zero", "larger than 16 MiB"],
        ));
    }
    for (file, expect) in cases {
        for args in [
            &["check", file][..],
            &["run", file, "--out", "out", "--quiet"][..],
        ] {
            let o = run_cli(dir, args);
            let err = String::from_utf8_lossy(&o.stderr);
            assert_eq!(o.status.code(), Some(2), "{file}: {err}");
            for e in &expect {
                assert!(err.contains(e), "{file}: the message lacks {e:?}:\n{err}");
            }
            assert!(!dir.join("out").exists(), "{file}: output written");
        }
    }
}

#[test]
fn unusable_output_folders_are_refused_before_anything_runs() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path();
    let scenario = data("format-example.toml");
    let scenario = scenario.to_str().expect("utf-8 path");
    std::fs::write(dir.join("a-file"), b"keep me").expect("write");
    let mut cases = vec![
        (
            "a-file",
            "output folder a-file is not usable: it is a file, not a folder",
        ),
        (
            "a-file/sub",
            "output folder a-file/sub is not usable: cannot create it",
        ),
    ];
    if cfg!(target_os = "linux") {
        // Nobody may create folders in /proc, not even root.
        cases.push((
            "/proc/tradeflow-out",
            "output folder /proc/tradeflow-out is not usable",
        ));
    }
    for (out, expect) in cases {
        let o = run_cli(
            dir,
            &["run", scenario, "--out", out, "--trials", "2", "--quiet"],
        );
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{out}: {err}");
        assert!(
            err.contains(expect),
            "{out}: the message lacks {expect:?}:\n{err}"
        );
        assert_eq!(std::fs::read(dir.join("a-file")).expect("read"), b"keep me");
        assert_eq!(entries(dir), ["a-file"], "{out}: something was written");
    }
    // A folder without write permission (meaningless for root, who may write anywhere).
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let ro = dir.join("read-only");
        std::fs::create_dir(&ro).expect("mkdir");
        std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).expect("chmod");
        if std::fs::write(ro.join("probe"), b"").is_err() {
            let o = run_cli(
                dir,
                &[
                    "run",
                    scenario,
                    "--out",
                    "read-only",
                    "--trials",
                    "2",
                    "--quiet",
                ],
            );
            let err = String::from_utf8_lossy(&o.stderr);
            assert_eq!(o.status.code(), Some(2), "{err}");
            assert!(
                err.contains("output folder read-only is not usable: cannot write in it"),
                "{err}"
            );
            assert!(entries(&ro).is_empty());
        }
        let _ = std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o755));
    }
}

/// A reader that stops early (`tradeflow check f.toml | head -1`) closes the
/// pipe: that is no reason to panic.
#[cfg(unix)]
#[test]
fn a_closed_output_pipe_is_not_a_panic() {
    use std::os::fd::FromRawFd;
    use std::process::{Command, Stdio};
    /// The write end of a pipe whose read end is already closed.
    fn broken_pipe() -> Stdio {
        let mut fds = [0; 2];
        // SAFETY: pipe(2) fills two new descriptors; the read end is closed at
        // once and the write end is owned by the returned `File`.
        unsafe {
            assert_eq!(libc::pipe(fds.as_mut_ptr()), 0, "pipe");
            libc::close(fds[0]);
            Stdio::from(std::fs::File::from_raw_fd(fds[1]))
        }
    }
    let example = data("format-example.toml");
    for args in [
        vec!["check", example.to_str().expect("utf-8 path")],
        vec!["check", "missing.toml"],
    ] {
        let status = Command::new(crate::support::binary())
            .args(&args)
            .stdout(broken_pipe())
            .stderr(broken_pipe())
            .status()
            .expect("run");
        assert_ne!(status.code(), Some(101), "{args:?}: panicked");
        assert!(matches!(status.code(), Some(0 | 2)), "{args:?}: {status:?}");
    }
}
