//! Scenario files: parse (serde + toml), validate (every problem, located),
//! resolve into a [`Scenario`] of indices, month numbers and timelines that the
//! model can run without looking at a name.

mod compose;
mod document;
mod error;
mod month;
mod overrides;
mod raw;
mod recover;
mod resolve;

pub use compose::{
    BUILTIN_BASELINE_REF, ComposedScenario, MAX_SCENARIO_BYTES, load_scenario, load_scenario_with,
    parse_scenario, parse_scenario_with,
};
pub use error::{Problem, ScenarioError, edit_distance, line_column, nearest};
pub use month::YearMonth;
pub use overrides::Override;

use crate::sampling::Distribution;

/// The baseline scenario shipped in `scenarios/baseline.toml`, compiled in so
/// that `tradeflow run` with no file runs it.
pub const BUILTIN_BASELINE: &str = include_str!("../../scenarios/baseline.toml");
/// The name under which the built-in baseline is reported.
pub const BUILTIN_BASELINE_NAME: &str = "<built-in baseline>";

/// Where a resolved scenario came from besides its own file: the files it
/// extends and the overrides applied (for `check` and the manifest).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Provenance {
    /// The files it extends, nearest parent first (empty without `extends`).
    pub extends: Vec<SourceFile>,
    /// The `--set` overrides applied, in order, as `PATH=VALUE`.
    pub overrides: Vec<String>,
}

/// A file of an `extends` chain.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceFile {
    /// The file as shown (relative to the child's folder, or the built-in name).
    pub file: String,
    /// Its text (hashed into the manifest).
    pub text: String,
}

/// Identifies one uncertain input: an index into [`Scenario::inputs`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct InputId(pub usize);

/// An input that is drawn once per trial (possibly a constant).
#[derive(Debug, Clone, PartialEq)]
pub struct InputDef {
    /// Its content-keyed path, e.g. `product.H200.price`: the name of its random stream.
    pub path: String,
    /// Its distribution (a constant is [`Distribution::Constant`]).
    pub distribution: Distribution,
}

/// A resolved scenario: everything the model needs, by index.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Identifier; names the results folder.
    pub name: String,
    /// Title for charts.
    pub title: String,
    /// Free text.
    pub description: String,
    /// The file it came from, as given (or the built-in baseline's name); a
    /// file that `extends` another is this file, the child.
    pub source_file: String,
    /// The file's text (its SHA-256 goes in the manifest); the parents' texts
    /// are in [`Scenario::provenance`].
    pub source_text: String,
    /// First simulated month.
    pub start: YearMonth,
    /// Number of months simulated.
    pub months: usize,
    /// Trials (default; the command line may override).
    pub trials: u64,
    /// Seed (default; the command line may override).
    pub seed: u64,
    /// The importing market's name (e.g. China).
    pub market_name: String,
    /// Index into `origins` of the market's home: its products are domestic.
    pub home_origin: usize,
    /// Demand inputs.
    pub demand: DemandSpec,
    /// Buyer segments.
    pub segments: Vec<Segment>,
    /// Products, in file order.
    pub products: Vec<Product>,
    /// Vendor names, in order of first appearance.
    pub vendors: Vec<String>,
    /// Origin codes, the home first, then in order of first appearance.
    pub origins: Vec<String>,
    /// Scheduled export rules.
    pub export_rules: Vec<Scheduled<ExportRule>>,
    /// Scheduled import rules.
    pub import_rules: Vec<Scheduled<ImportRule>>,
    /// Scheduled domestic mandates.
    pub mandates: Vec<Scheduled<Mandate>>,
    /// Shocks: rules with an uncertain start.
    pub shocks: Vec<Shock>,
    /// Every uncertain input, in file order.
    pub inputs: Vec<InputDef>,
    /// The files it extends and the overrides applied.
    pub provenance: Provenance,
}

impl Scenario {
    /// The input's definition.
    pub fn input(&self, id: InputId) -> &InputDef {
        &self.inputs[id.0]
    }
    /// The month label (`YYYY-MM`) of month index `t`.
    pub fn month_label(&self, t: usize) -> String {
        self.start.plus(t as i64).to_string()
    }
    /// Indices of the domestic products.
    pub fn domestic_products(&self) -> impl Iterator<Item = usize> + '_ {
        self.products
            .iter()
            .enumerate()
            .filter(|(_, p)| p.domestic)
            .map(|(i, _)| i)
    }
    /// Indices of foreign origins (all but the home).
    pub fn foreign_origins(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.origins.len()).filter(move |&o| o != self.home_origin)
    }
}

/// `[market.demand]`.
#[derive(Debug, Clone)]
pub struct DemandSpec {
    /// Compute demanded in month 0, H100e per month.
    pub initial_h100e: InputId,
    /// Yearly growth rate.
    pub annual_growth: InputId,
    /// Monthly volatility of the mean-one random walk.
    pub monthly_volatility: InputId,
    /// Price elasticity of demand (≤ 0) against the CES price index.
    pub price_elasticity: InputId,
}

/// A buyer segment.
#[derive(Debug, Clone)]
pub struct Segment {
    /// Identifier.
    pub name: String,
    /// Share of demand (constant).
    pub share: f64,
    /// CES substitution elasticity σ.
    pub substitution_elasticity: InputId,
    /// Share of the segment bound by a mandate in force.
    pub mandate_compliance: InputId,
}

/// A product.
#[derive(Debug, Clone)]
pub struct Product {
    /// Identifier.
    pub name: String,
    /// Label for charts.
    pub label: String,
    /// Index into [`Scenario::vendors`].
    pub vendor: usize,
    /// Index into [`Scenario::origins`].
    pub origin: usize,
    /// Made in the importing market.
    pub domestic: bool,
    /// H100-equivalents of compute per unit.
    pub h100e: f64,
    /// List price, USD per unit.
    pub price_usd: InputId,
    /// Yearly change of the list price.
    pub price_trend: InputId,
    /// Quality multiplier per H100e.
    pub preference: InputId,
    /// First month index it is available (may be negative: before the start).
    pub launch_month: i64,
    /// Most units a month the vendor ships to this market (foreign only); `None` = unlimited.
    pub supply_units: Option<InputId>,
    /// Domestic output.
    pub production: Option<Production>,
}

/// How many good units a domestic product turns out each month.
#[derive(Debug, Clone)]
pub struct Production {
    /// The shape of output over time.
    pub curve: ProductionCurve,
    /// Multiplier on the curve.
    pub scale: InputId,
    /// Units in stock at the start.
    pub initial_inventory_units: InputId,
}

/// A logistic ramp or an explicit schedule.
#[derive(Debug, Clone)]
pub enum ProductionCurve {
    /// `ceiling / (1 + exp(−k (t − midpoint − shift)))`, `k = ln 81 / ramp_months`.
    Logistic {
        /// Units per month at full ramp.
        ceiling_units: InputId,
        /// Month index of half the ceiling.
        midpoint_month: i64,
        /// Drawn shift of the midpoint, months.
        midpoint_shift_months: InputId,
        /// Months from 10 % to 90 % of the ceiling.
        ramp_months: InputId,
    },
    /// `(month index, units)` points, linear between, flat outside.
    Schedule(Vec<(i64, f64)>),
}

/// Export regime of the exporting government.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportRegime {
    /// Sales allowed.
    Open,
    /// Sales under licences: at most `quota · approval_rate` units a month.
    Licensed,
    /// No sales.
    Banned,
}

/// Import regime of the importing government.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportRegime {
    /// Purchases allowed (to the listed segments).
    Open,
    /// Purchases suspended.
    Banned,
}

/// The basis on which a mandate's domestic share is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MandateBasis {
    /// Share of units bought.
    Units,
    /// Share of compute bought.
    Compute,
}

/// The months a scheduled rule covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuleWindow {
    /// First month index (may be negative: before the start).
    pub from: i64,
    /// Last month index, inclusive; `None` = open-ended.
    pub until: Option<i64>,
}

impl RuleWindow {
    /// Whether month `t` lies in the window.
    pub fn contains(&self, t: i64) -> bool {
        t >= self.from && self.until.is_none_or(|u| t <= u)
    }
}

/// An export rule for one product.
#[derive(Debug, Clone)]
pub struct ExportRule {
    /// Index of the product.
    pub product: usize,
    /// The regime.
    pub regime: ExportRegime,
    /// Licensed units a month (licensed only).
    pub quota_units: Option<InputId>,
    /// Share of the quota approved (licensed only).
    pub approval_rate: Option<InputId>,
    /// Share of gross spend taken by the exporting government.
    pub revenue_fee: Option<InputId>,
    /// Share of the fee the vendor recovers from buyers.
    pub fee_pass_through: Option<InputId>,
}

/// An import rule for one product.
#[derive(Debug, Clone)]
pub struct ImportRule {
    /// Index of the product.
    pub product: usize,
    /// The regime.
    pub regime: ImportRegime,
    /// Units approved in total while the rule is in force.
    pub cumulative_cap_units: Option<InputId>,
    /// Segments allowed to buy; `None` = all.
    pub segments: Option<Vec<usize>>,
}

/// A minimum domestic share of mandated purchases.
#[derive(Debug, Clone)]
pub struct Mandate {
    /// The minimum share r.
    pub share: InputId,
    /// Units or compute.
    pub basis: MandateBasis,
    /// Segments bound (all when the file names none).
    pub segments: Vec<usize>,
}

/// A rule with a schedule: its months, where it stands in the file.
#[derive(Debug, Clone)]
pub struct Scheduled<R> {
    /// Months covered.
    pub window: RuleWindow,
    /// Position among the rules of its kind in the file (later wins ties).
    pub order: usize,
    /// The rule.
    pub rule: R,
}

/// How a shock fires.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ShockTrigger {
    /// Fires in each month of its window with this probability, until it fires.
    MonthlyHazard(f64),
    /// Fires at all with this probability, in a month uniform over its window.
    Probability(f64),
}

/// The rule a shock puts in force.
#[derive(Debug, Clone)]
pub enum ShockRule {
    /// An export rule.
    Export(ExportRule),
    /// An import rule.
    Import(ImportRule),
    /// A domestic mandate.
    Mandate(Mandate),
}

/// A rule with an uncertain start.
#[derive(Debug, Clone)]
pub struct Shock {
    /// Identifier.
    pub name: String,
    /// Free text.
    pub description: String,
    /// Hazard or probability.
    pub trigger: ShockTrigger,
    /// First and last month index of the window (the last may pass the horizon).
    pub window: (i64, i64),
    /// Months in force once fired; `None` = to the end.
    pub duration_months: Option<i64>,
    /// The rule in force once fired.
    pub rule: ShockRule,
    /// Stream path of its firing month, `shock.NAME.month`.
    pub month_path: String,
}

/// Scenario defaults when the file says nothing.
pub mod defaults {
    /// Trials when neither the file nor the command line says.
    pub const TRIALS: u64 = 10_000;
    /// Seed when neither the file nor the command line says.
    pub const SEED: u64 = 1;
    /// Longest horizon accepted, months (a century).
    pub const MAX_MONTHS: i64 = 1200;
    /// Most trials accepted (the command line's limit too).
    pub const MAX_TRIALS: u64 = 100_000_000;
}
