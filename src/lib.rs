//! # tradeflow
//!
//! A Monte Carlo engine for the trade in AI accelerators under export
//! controls. A scenario file describes one importing market (e.g. China), its
//! buyers, the products on offer, export and import rules, domestic mandates,
//! production ramps and shocks, with uncertain inputs as distributions; the
//! engine runs thousands of trials and reports market shares, revenue, export
//! fees and unmet demand with their uncertainty.
//!
//! The modules follow the data's way through the program:
//! [`scenario`] (parse, validate, resolve) → [`sampling`] (distributions,
//! named random streams) → [`model`] (one trial, month by month) → [`engine`]
//! (trials in parallel, statistics) → [`output`] (CSV, manifest) →
//! [`charts`] (drawn from the output files). [`whatif`] builds the analyses
//! `compare`, `sweep` and `sensitivity` on the engine. [`verify`] checks every
//! invariant of the model over whole trials, for the tests and the fuzzer.

pub mod app;
pub mod charts;
pub mod check;
pub mod engine;
pub mod interrupt;
pub mod model;
pub mod output;
pub mod sampling;
pub mod scenario;
pub mod verify;
pub mod whatif;
