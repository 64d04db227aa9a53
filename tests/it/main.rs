//! The integration tests: one binary (one link), a module per behaviour.

mod bad_input;
mod cli;
mod closed_form;
mod invariants;
mod random_scenarios;
mod reproducibility;
mod signals;
mod support;
