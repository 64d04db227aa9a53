//! The engine: trials in parallel, metrics, statistics.

mod metrics;
mod paired;
mod per_trial;
mod progress;
mod run;
mod stats;

pub use metrics::{
    MetricLayout, Scratch, SeriesName, Sink, SliceSink, horizon_metrics, month_metrics,
};
pub use paired::{
    AltDeltas, DeltaStats, HorizonMismatch, PairedResults, TIE_TOLERANCE, check_pairable,
    difference, run_paired,
};
pub use per_trial::{HorizonResults, InputSample, TrialMetric, run_horizon, sample_inputs};
pub use progress::ProgressBar;
pub use run::{
    DEFAULT_MEMORY_BUDGET_BYTES, EngineError, NoProgress, Progress, RunSettings, ScenarioResults,
    drawn_inputs, run_scenario, run_scenarios,
};
pub use stats::{QUANTILES, STAT_COLUMNS, Stats};
