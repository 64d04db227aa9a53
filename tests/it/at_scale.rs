//! Invariants at scale: every invariant of `docs/model.md` over at least
//! 10 000 random valid scenarios, plus extreme and mutated ones. Ignored by
//! default (about 10 s on two cores for 10 000; 100 000 take under 2 min);
//! run it with
//!
//! ```text
//! cargo test --release -- --ignored invariants_at_scale --nocapture
//! ```
//!
//! `TRADEFLOW_SCALE=N` sets the number of random valid scenarios (default
//! 10 000; extremes and mutations get N/4 each) and `TRADEFLOW_SCALE_SEED`
//! moves the seeds. CI runs the faster slices: `invariants::
//! invariants_hold_in_random_scenarios` (256), the extremes proptest (64) and
//! the mutation proptest (256).
//!
//! `dump_scenarios` writes the same random and extreme scenario files to a
//! folder, to check that a speed-up leaves every result byte-identical
//! (run them through the old and the new binary and compare the files).

use crate::extremes::{extreme_strategy, extreme_text};
use crate::invariants::check_scenario;
use crate::mutations::{Mutation, check_mutated};
use crate::support::scenario;
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::sync::Mutex;
use tradeflow::verify::verify_trials;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A random list of 1 to 3 mutations from `seed`.
fn random_mutations(seed: u64) -> Vec<Mutation> {
    let mut r = ChaCha8Rng::seed_from_u64(seed);
    let n = r.random_range(1..=3);
    (0..n)
        .map(|_| {
            let (a, b) = (r.random_range(0..usize::MAX), r.random_range(0..usize::MAX));
            match r.random_range(0..12) {
                0 => Mutation::Delete(a),
                1 => Mutation::Duplicate(a),
                2 => Mutation::Move(a, b),
                3..=5 => Mutation::Retype(a, b),
                6..=10 => Mutation::Perturb(a, b),
                _ => Mutation::Truncate(r.random_range(0..1000)),
            }
        })
        .collect()
}

#[test]
#[ignore = "long: cargo test --release -- --ignored invariants_at_scale"]
fn invariants_at_scale() {
    let n = env_u64("TRADEFLOW_SCALE", 10_000);
    let base = env_u64("TRADEFLOW_SCALE_SEED", 0);
    let started = std::time::Instant::now();

    // 1. Random valid scenarios, four trials each, every invariant every month.
    let failures: Vec<String> = (base..base + n)
        .into_par_iter()
        .filter_map(|seed| {
            check_scenario(seed)
                .err()
                .map(|e| format!("seed {seed}: {e}"))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {n} random scenarios broke an invariant; first:\n{}",
        failures.len(),
        failures[0]
    );
    eprintln!(
        "{n} random valid scenarios: every invariant held ({:.0?})",
        started.elapsed()
    );

    // 2. Extremes (σ 0.05–50, prices 1e-3–1e9, zero demand or capacity, 1–12
    //    products, up to 120 months), from the proptest strategy.
    let extremes = n / 4;
    let strategy = extreme_strategy();
    let ces = Mutex::new(0u64);
    let failures: Vec<String> = (base..base + extremes)
        .into_par_iter()
        .filter_map(|seed| {
            let mut bytes = [0u8; 32];
            bytes[..8].copy_from_slice(&seed.to_le_bytes());
            let mut runner = TestRunner::new_with_rng(
                Config::default(),
                TestRng::from_seed(RngAlgorithm::ChaCha, &bytes),
            );
            let x = strategy.new_tree(&mut runner).ok()?.current();
            let sc = scenario(&extreme_text(&x));
            match verify_trials(&sc, sc.seed, 0..2) {
                Ok(c) => {
                    *ces.lock().unwrap_or_else(|e| e.into_inner()) += c.ces_buyers;
                    None
                }
                Err(v) => Some(format!("{v}\n{x:?}")),
            }
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {extremes} extreme scenarios broke an invariant; first:\n{}",
        failures.len(),
        failures[0]
    );
    eprintln!(
        "{extremes} extreme scenarios: every invariant held; {} buyer-months matched the CES closed form ({:.0?})",
        ces.into_inner().unwrap_or_default(),
        started.elapsed()
    );

    // 3. Mutated texts: a clean refusal, or a run whose invariants hold.
    let mutated = n / 4;
    let outcomes = Mutex::new(BTreeMap::<&str, u64>::new());
    let failures: Vec<String> = (base..base + mutated)
        .into_par_iter()
        .filter_map(|seed| {
            let text_base = if seed % 3 == 0 { seed % 6 } else { 6 + seed };
            match check_mutated(text_base, &random_mutations(seed)) {
                Ok(kind) => {
                    *outcomes
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .entry(kind)
                        .or_default() += 1;
                    None
                }
                Err(e) => Some(e),
            }
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {mutated} mutated scenarios failed; the first few:\n{}",
        failures.len(),
        failures
            .iter()
            .take(5)
            .map(|f| f.lines().take(3).collect::<Vec<_>>().join("\n"))
            .collect::<Vec<_>>()
            .join("\n\n")
    );
    eprintln!(
        "{mutated} mutated scenarios: {:?} ({:.0?})",
        outcomes.into_inner().unwrap_or_default(),
        started.elapsed()
    );
}

/// Writes random valid scenarios (`random-N.toml`) and extreme ones
/// (`extreme-N.toml`) to `TRADEFLOW_DUMP_DIR`, `TRADEFLOW_SCALE` of each.
#[test]
#[ignore = "a tool: TRADEFLOW_DUMP_DIR=DIR cargo test -- --ignored dump_scenarios"]
fn dump_scenarios() {
    let Ok(dir) = std::env::var("TRADEFLOW_DUMP_DIR") else {
        panic!("set TRADEFLOW_DUMP_DIR to the folder to write to");
    };
    let dir = std::path::Path::new(&dir);
    std::fs::create_dir_all(dir).expect("create the dump folder");
    let n = env_u64("TRADEFLOW_SCALE", 300);
    let strategy = extreme_strategy();
    for seed in 0..n {
        let text = crate::random_scenarios::random_scenario(seed);
        std::fs::write(dir.join(format!("random-{seed}.toml")), text).expect("write");
        let mut bytes = [0u8; 32];
        bytes[..8].copy_from_slice(&seed.to_le_bytes());
        let mut runner = TestRunner::new_with_rng(
            Config::default(),
            TestRng::from_seed(RngAlgorithm::ChaCha, &bytes),
        );
        let x = strategy.new_tree(&mut runner).expect("a value").current();
        std::fs::write(dir.join(format!("extreme-{seed}.toml")), extreme_text(&x)).expect("write");
    }
}
