//! Mutated scenario texts: lines deleted, duplicated, retyped, numbers
//! perturbed, text cut short. Whatever the damage, the file is either
//! refused cleanly (exit status 2, every problem located) or it runs and
//! every invariant holds; nothing panics.

use crate::random_scenarios::random_scenario;
use crate::support::{data, run_cli, shipped};
use proptest::prelude::*;
use std::sync::atomic::AtomicBool;
use tradeflow::app::AppError;
use tradeflow::engine::{EngineError, NoProgress, RunSettings, run_scenario};
use tradeflow::scenario::{ScenarioError, parse_scenario};
use tradeflow::verify::verify_trials;

/// The valid texts mutations start from: every shipped scenario, the format
/// reference example, and (index ≥ 6) random valid scenarios.
fn base_text(i: u64) -> String {
    let files = [
        "baseline.toml",
        "domestic-mandate.toml",
        "fast-domestic-ramp.toml",
        "h200-reban.toml",
        "no-controls.toml",
    ];
    match i {
        0..5 => std::fs::read_to_string(shipped(files[i as usize])).expect("shipped"),
        5 => std::fs::read_to_string(data("format-example.toml")).expect("example"),
        seed => random_scenario(seed),
    }
}

/// One edit of the text.
#[derive(Debug, Clone, Copy)]
pub enum Mutation {
    /// Delete a line.
    Delete(usize),
    /// Repeat a line right after itself.
    Duplicate(usize),
    /// Move a line elsewhere.
    Move(usize, usize),
    /// Replace a value by one of another type.
    Retype(usize, usize),
    /// Replace a number by a far-off or non-finite one.
    Perturb(usize, usize),
    /// Cut the text short at a fraction (per mille) of its length.
    Truncate(u16),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        1 => any::<usize>().prop_map(Mutation::Delete),
        1 => any::<usize>().prop_map(Mutation::Duplicate),
        1 => (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::Move(a, b)),
        3 => (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::Retype(a, b)),
        4 => (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::Perturb(a, b)),
        1 => (0u16..1000).prop_map(Mutation::Truncate),
    ]
}

/// Values of other types, and numbers that break ranges or finiteness.
const RETYPED: [&str; 8] = [
    "\"text\"",
    "42",
    "-1.5",
    "true",
    "[1, 2]",
    "{ dist = \"uniform\", min = 2, max = 1 }",
    "2026-01-01",
    "\"2026-13\"",
];
const PERTURBED: [&str; 14] = [
    "0",
    "-1",
    "1e308",
    "-1e308",
    "nan",
    "inf",
    "-inf",
    "1e-320",
    "0.5",
    "1.0000001",
    "9223372036854775807",
    "-0.0",
    "1200",
    "1e6",
];

/// The lines that assign a value (`key = value`), as line indices.
fn assignments(lines: &[String]) -> Vec<usize> {
    lines
        .iter()
        .enumerate()
        .filter(|(_, l)| {
            let t = l.trim_start();
            !t.starts_with('#') && !t.starts_with('[') && t.contains('=')
        })
        .map(|(i, _)| i)
        .collect()
}

/// Applies `m` to `text`.
pub fn apply(text: &str, m: Mutation) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    if lines.is_empty() {
        return text.to_string();
    }
    let n = lines.len();
    match m {
        Mutation::Delete(i) => {
            lines.remove(i % n);
        }
        Mutation::Duplicate(i) => {
            let l = lines[i % n].clone();
            lines.insert(i % n, l);
        }
        Mutation::Move(a, b) => {
            let l = lines.remove(a % n);
            lines.insert(b % n, l);
        }
        Mutation::Retype(i, v) | Mutation::Perturb(i, v) => {
            let targets = assignments(&lines);
            if targets.is_empty() {
                return lines.join("\n");
            }
            let k = targets[i % targets.len()];
            let line = lines[k].clone();
            let Some((key, value)) = line.split_once('=') else {
                return lines.join("\n");
            };
            lines[k] = if let Mutation::Retype(..) = m {
                format!("{key}= {}", RETYPED[v % RETYPED.len()])
            } else {
                format!("{key}={}", perturb(value, v))
            };
        }
        Mutation::Truncate(per_mille) => {
            let mut cut = text.len() * per_mille as usize / 1000;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            return text[..cut].to_string();
        }
    }
    lines.join("\n")
}

/// Replaces the `v`-th number in `value` (or the whole value) with a perturbed one.
fn perturb(value: &str, v: usize) -> String {
    let replacement = PERTURBED[v % PERTURBED.len()];
    // The numbers in the value: runs of digits, signs, dots and exponents.
    let bytes = value.as_bytes();
    let mut spans = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_digit() {
            let start = if i > 0 && bytes[i - 1] == b'-' {
                i - 1
            } else {
                i
            };
            while i < bytes.len()
                && (bytes[i].is_ascii_alphanumeric()
                    || matches!(bytes[i], b'.' | b'_' | b'-' | b'+'))
            {
                i += 1;
            }
            spans.push(start..i);
        } else {
            i += 1;
        }
    }
    match spans.get((v / PERTURBED.len()) % spans.len().max(1)) {
        Some(s) => format!("{}{replacement}{}", &value[..s.start], &value[s.end..]),
        None => replacement.to_string(),
    }
}

/// The outcome of a mutated text, in-process: a refusal that is exit 2 and
/// located, or a run (capped to 36 months and 2 trials) whose invariants hold.
fn check_text(text: &str) -> Result<&'static str, String> {
    let mut sc = match parse_scenario(text, "mutated.toml") {
        Ok(sc) => sc,
        Err(e) => {
            let rendered = e.to_string();
            if let ScenarioError::Invalid { problems, .. } = &e {
                if problems.is_empty() {
                    return Err("refused without a problem".into());
                }
                for p in problems {
                    if p.message.trim().is_empty() {
                        return Err(format!("a problem without a message:\n{rendered}"));
                    }
                }
                // Every located problem shows file:line:col.
                let located = problems.iter().filter(|p| p.span.is_some()).count();
                if rendered.matches("--> mutated.toml:").count() != located {
                    return Err(format!(
                        "a located problem lacks file:line:col:\n{rendered}"
                    ));
                }
            }
            let status = AppError::from(e).exit_status();
            if status != 2 {
                return Err(format!("refused with status {status}"));
            }
            return Ok("refused");
        }
    };
    sc.months = sc.months.min(36);
    let settings = RunSettings {
        trials: Some(2),
        ..RunSettings::default()
    };
    match run_scenario(&sc, &settings, &NoProgress, &AtomicBool::new(false)) {
        Ok(r) => {
            if r.monthly
                .iter()
                .chain(&r.horizon)
                .any(|s| !s.mean.is_finite())
            {
                return Err("a successful run with non-finite statistics".into());
            }
            verify_trials(&sc, r.seed, 0..2).map_err(|v| v.to_string())?;
            Ok("ran")
        }
        // A clean run-time error naming trial, month and quantity.
        Err(EngineError::NonFinite { .. }) => Ok("non-finite"),
        Err(e) => Err(format!("unexpected engine error: {e}")),
    }
}

/// Mutates base `base` with `mutations` and checks the outcome.
pub fn check_mutated(base: u64, mutations: &[Mutation]) -> Result<&'static str, String> {
    let mut text = base_text(base);
    for &m in mutations {
        text = apply(&text, m);
    }
    check_text(&text)
        .map_err(|e| format!("{e}\nmutations {mutations:?} of base {base}\n---\n{text}"))
}

fn base_index() -> impl Strategy<Value = u64> {
    prop_oneof![0u64..6, 6u64..100_000]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// In-process: a clean refusal (exit status 2, located) or invariants that hold.
    #[test]
    fn a_mutated_scenario_is_refused_cleanly_or_runs_with_every_invariant(
        base in base_index(),
        mutations in prop::collection::vec(mutation(), 1..4),
    ) {
        if let Err(e) = check_mutated(base, &mutations) {
            prop_assert!(false, "{}", e);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    /// Through the binary: `check` exits 0 or 2, never panics, prints
    /// errors on stderr only.
    #[test]
    fn the_binary_refuses_a_mutated_scenario_with_exit_2_or_accepts_it(
        base in 0u64..6,
        mutations in prop::collection::vec(mutation(), 1..4),
    ) {
        let mut text = base_text(base);
        for &m in &mutations {
            text = apply(&text, m);
        }
        let tmp = tempfile::tempdir().expect("temp dir");
        std::fs::write(tmp.path().join("m.toml"), &text).expect("write");
        let o = run_cli(tmp.path(), &["check", "m.toml"]);
        let err = String::from_utf8_lossy(&o.stderr);
        prop_assert!(!err.contains("panicked"), "{}", err);
        match o.status.code() {
            Some(0) => prop_assert!(err.is_empty(), "{}", err),
            Some(2) => {
                prop_assert!(o.stdout.is_empty());
                prop_assert!(err.contains("m.toml"), "{}", err);
            }
            other => prop_assert!(false, "status {:?}: {}", other, err),
        }
    }
}

#[test]
fn the_mutations_do_what_they_say() {
    let text = "a = 1\nb = \"x\"\n[t]\nc = { min = 2, max = 30 }";
    assert_eq!(
        apply(text, Mutation::Delete(1)),
        "a = 1\n[t]\nc = { min = 2, max = 30 }"
    );
    assert_eq!(
        apply(text, Mutation::Duplicate(0)),
        "a = 1\na = 1\nb = \"x\"\n[t]\nc = { min = 2, max = 30 }"
    );
    assert_eq!(
        apply(text, Mutation::Retype(0, 0)),
        "a = \"text\"\nb = \"x\"\n[t]\nc = { min = 2, max = 30 }"
    );
    // The second number of `c` becomes nan.
    assert_eq!(
        apply(text, Mutation::Perturb(2, 4 + PERTURBED.len())),
        "a = 1\nb = \"x\"\n[t]\nc = { min = 2, max = nan }"
    );
    assert_eq!(
        apply(text, Mutation::Truncate(500)),
        &text[..text.len() / 2]
    );
}

/// Found by the mutation test at scale: a subnormal demand (1e-320) gives
/// purchases that match the CES closed form only to the spacing of subnormal
/// numbers; the check allows that absolute error.
#[test]
fn a_subnormal_demand_keeps_every_invariant() {
    let r = check_mutated(
        5004613,
        &[Mutation::Perturb(
            11449536994412998432,
            12593803173415199379,
        )],
    );
    assert!(r.is_ok(), "{}", r.err().unwrap_or_default());
}
