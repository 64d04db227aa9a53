//! Fuzz target: scenario text → parse and validate → simulate a few trials
//! → every invariant checked.
//!
//! A clean refusal (a rendered error) or a clean run-time error (a trial
//! with a non-finite number, reported by the engine) is fine; a panic, an
//! invariant that does not hold, or a run that reports success with
//! non-finite statistics is a finding.
//!
//! Work is capped so that each input runs in milliseconds: at most 24 months
//! and 2 trials, and scenarios with many products × segments are only
//! validated.

#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::atomic::AtomicBool;
use tradeflow::engine::{EngineError, NoProgress, RunSettings, run_scenario};
use tradeflow::scenario::parse_scenario;
use tradeflow::verify::verify_trials;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // `extends` reads another file; the fuzzer must not wander the disk.
    if text.contains("extends") {
        return;
    }
    let mut sc = match parse_scenario(text, "fuzz.toml") {
        Ok(sc) => sc,
        Err(e) => {
            // Rendering the problems (line, column, quoted source) must not panic.
            let rendered = e.to_string();
            assert!(!rendered.is_empty());
            return;
        }
    };
    // `check` describes every valid scenario; that must not panic either.
    let _ = tradeflow::check::describe(&sc);
    if sc.products.len() * sc.segments.len().max(1) > 64 {
        return;
    }
    sc.months = sc.months.min(24);
    let settings = RunSettings {
        trials: Some(2),
        seed: None,
        memory_budget_bytes: 16 << 20,
    };
    match run_scenario(&sc, &settings, &NoProgress, &AtomicBool::new(false)) {
        Ok(results) => {
            for s in results.monthly.iter().chain(&results.horizon) {
                assert!(
                    s.mean.is_finite() && s.sd.is_finite(),
                    "non-finite statistics reported as a success"
                );
            }
            if let Err(v) = verify_trials(&sc, results.seed, 0..2) {
                panic!("invariant violated: {v}\n---\n{text}");
            }
        }
        Err(EngineError::NonFinite { .. }) => {}
        Err(e) => panic!("unexpected engine error: {e}"),
    }
});
