//! The integration tests: one binary (one link), a module per behaviour.

mod at_scale;
mod bad_input;
mod cli;
mod closed_form;
mod compare;
mod composition;
mod extremes;
mod invariants;
mod mutations;
mod random_scenarios;
mod reproducibility;
mod sensitivity;
mod signals;
mod support;
mod sweep;
