//! The integration tests: one binary (one link), a module per behaviour.

mod cli;
mod closed_form;
mod composition;
mod invariants;
mod random_scenarios;
mod reproducibility;
mod support;
