//! The integration tests: one binary (one link), a module per behaviour.

mod cli;
mod closed_form;
mod compare;
mod composition;
mod invariants;
mod random_scenarios;
mod reproducibility;
mod sensitivity;
mod support;
mod sweep;
