//! The market model: one trial, month by month (`docs/model.md`).
//!
//! [`Model`] is prepared once per scenario and seed; [`Model::run_trial`] fills
//! a [`TrialRecord`] using a per-thread [`Workspace`], allocating nothing once
//! the buffers have grown to size.

mod invariants;
mod market;
mod policy;
mod production;
mod trial;

pub use invariants::{check_month, check_record};
pub use market::{Buyer, BuyerMandate, Clearing, NEGLIGIBLE, ProductOffer, clear_market};
pub use policy::{Candidate, RuleSource, Timelines, rule_in_force, shock_month};
pub use production::production_units;
pub use trial::{CesTerms, Model, MonthView, TrialRecord, Workspace, ln_price_index};
