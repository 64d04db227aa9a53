//! Throughput of the baseline scenario, in trial-months per second: one
//! trial (the model alone) and a full run (trials in parallel plus
//! statistics, no files), of 4 000 trials and of the scenario's own 10 000;
//! and the preparation of the inputs (their tables), once per run.
//! Run with `cargo bench --bench throughput`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::sync::atomic::AtomicBool;
use tradeflow::engine::{NoProgress, RunSettings, run_scenario};
use tradeflow::model::{Model, TrialRecord, Workspace};
use tradeflow::scenario::{BUILTIN_BASELINE, parse_scenario};

fn baseline_throughput(c: &mut Criterion) {
    let sc =
        parse_scenario(BUILTIN_BASELINE, "baseline.toml").expect("the built-in baseline parses");
    let months = sc.months as u64;

    let mut group = c.benchmark_group("baseline");
    group.throughput(Throughput::Elements(months));
    let model = Model::new(&sc, sc.seed);
    let (mut ws, mut rec) = (Workspace::default(), TrialRecord::default());
    let mut trial = 0u64;
    group.bench_function("single_trial", |b| {
        b.iter(|| {
            model.run_trial(trial, &mut ws, &mut rec);
            trial += 1;
        })
    });

    let streams = tradeflow::sampling::InputStreams::new(
        sc.seed,
        sc.inputs.iter().map(|i| (i.path.as_str(), &i.distribution)),
    );
    let mut values = vec![0.0; sc.inputs.len()];
    group.bench_function("draw_inputs_one_trial", |b| {
        b.iter(|| {
            streams.draw_all(trial, &mut values);
            trial += 1;
        })
    });

    // Preparing the inputs (stream keys and the beta/PERT tables), once per
    // run: in parallel as a run does it, and one input after another.
    group.throughput(Throughput::Elements(1));
    group.bench_function("prepare_inputs", |b| {
        b.iter(|| {
            tradeflow::sampling::InputStreams::new(
                sc.seed,
                sc.inputs.iter().map(|i| (i.path.as_str(), &i.distribution)),
            )
        })
    });
    group.bench_function("prepare_inputs_one_thread", |b| {
        b.iter(|| {
            sc.inputs
                .iter()
                .map(|i| i.distribution.quantile_guide())
                .collect::<Vec<_>>()
        })
    });

    let trials = 4000u64;
    group.throughput(Throughput::Elements(trials * months));
    group.sample_size(10);
    let settings = RunSettings {
        trials: Some(trials),
        ..RunSettings::default()
    };
    let stop = AtomicBool::new(false);
    group.bench_function("full_run_4000_trials", |b| {
        b.iter(|| run_scenario(&sc, &settings, &NoProgress, &stop).expect("run"))
    });

    // The baseline as `tradeflow run` runs it: its own trial count (10 000).
    let own = RunSettings::default();
    group.throughput(Throughput::Elements(sc.trials * months));
    group.bench_function("full_run_scenario_trials", |b| {
        b.iter(|| run_scenario(&sc, &own, &NoProgress, &stop).expect("run"))
    });
    group.finish();
}

criterion_group!(benches, baseline_throughput);
criterion_main!(benches);
