//! One trial: draw the inputs, fire the shocks, run the months.

use super::market::{Buyer, BuyerMandate, Clearing, ProductOffer, clear_market};
use super::policy::{RuleSource, Timelines, rule_in_force, shock_month};
use super::production::{production_units, schedule_units};
use crate::sampling::{InputStreams, StreamKey, standard_normal_quantile};
use crate::scenario::{
    ExportRegime, ExportRule, ImportRegime, ImportRule, Mandate, ProductionCurve, Scenario,
    ShockRule,
};

/// Stream path of the demand's monthly random walk.
pub const DEMAND_WALK_PATH: &str = "market.demand.walk";

/// A scenario prepared for running: stream keys and timelines.
#[derive(Debug, Clone)]
pub struct Model<'a> {
    /// The scenario.
    pub scenario: &'a Scenario,
    streams: InputStreams,
    walk_key: StreamKey,
    shock_keys: Vec<StreamKey>,
    timelines: Timelines,
    durations: Vec<Option<i64>>,
    /// Months where a scheduled rule starts or ends or a product launches.
    fixed_policy_changes: Vec<i64>,
    /// Units of each product's production schedule in every month, before
    /// the scale (empty for other products): the same every trial.
    scheduled_units: Vec<Vec<f64>>,
}

/// Everything one trial produced, month-major: `x[t * P + j]` per product,
/// `x[t * S + s]` per segment.
#[derive(Debug, Clone, Default)]
pub struct TrialRecord {
    /// Months simulated.
    pub months: usize,
    /// Number of products P.
    pub n_products: usize,
    /// Number of segments S.
    pub n_segments: usize,
    /// Value of every input (by `InputId`) in this trial.
    pub inputs: Vec<f64>,
    /// Month index each shock fired in, −1 if not within the horizon.
    pub shock_months: Vec<i64>,
    /// Units sold.
    pub units: Vec<f64>,
    /// Compute sold, H100e.
    pub compute_h100e: Vec<f64>,
    /// Gross spend by buyers, USD.
    pub gross_usd: Vec<f64>,
    /// Export fee, USD.
    pub export_fee_usd: Vec<f64>,
    /// Buyer price per unit, USD.
    pub price_usd: Vec<f64>,
    /// 1 if some segment may buy it, else 0.
    pub available: Vec<f64>,
    /// Good units produced (domestic products; 0 for foreign).
    pub production_units: Vec<f64>,
    /// Unsold units at the end of the month (domestic products).
    pub inventory_units: Vec<f64>,
    /// Demand after the price response, H100e.
    pub segment_demand_h100e: Vec<f64>,
    /// Compute bought, H100e.
    pub segment_purchased_h100e: Vec<f64>,
    /// Compute demanded but not bought, H100e.
    pub segment_unmet_h100e: Vec<f64>,
    /// Foreign compute cut by the mandate, H100e.
    pub segment_mandate_cut_h100e: Vec<f64>,
}

impl TrialRecord {
    fn reset(&mut self, months: usize, p: usize, s: usize, n_inputs: usize, n_shocks: usize) {
        self.months = months;
        self.n_products = p;
        self.n_segments = s;
        self.inputs.resize(n_inputs, 0.0);
        self.shock_months.resize(n_shocks, -1);
        // Every month writes every cell of these, so old values need no clearing.
        for v in [
            &mut self.units,
            &mut self.compute_h100e,
            &mut self.gross_usd,
            &mut self.export_fee_usd,
            &mut self.price_usd,
            &mut self.available,
            &mut self.production_units,
            &mut self.inventory_units,
        ] {
            v.resize(months * p, 0.0);
        }
        for v in [
            &mut self.segment_demand_h100e,
            &mut self.segment_purchased_h100e,
            &mut self.segment_unmet_h100e,
            &mut self.segment_mandate_cut_h100e,
        ] {
            v.resize(months * s, 0.0);
        }
    }
}

/// One month's clearing, as shown to an observer.
#[derive(Debug)]
pub struct MonthView<'w> {
    /// Month index.
    pub month: usize,
    /// What was offered.
    pub offer: &'w ProductOffer<'w>,
    /// The buyers and the outcome.
    pub clearing: &'w Clearing,
}

/// Per-thread buffers reused across trials.
#[derive(Debug, Clone, Default)]
pub struct Workspace {
    clearing: Clearing,
    fired: Vec<Option<i64>>,
    cap_left: Vec<f64>,
    inventory: Vec<f64>,
    cap_units: Vec<f64>,
    ln_quality_price: Vec<f64>,
    ln_reference_quality_price: Vec<f64>,
    /// ln(price / (h100e · preference)) at month 0, per product.
    ln_base_quality_price: Vec<f64>,
    list_usd: Vec<f64>,
    monthly_price_factor: Vec<f64>,
    fee: Vec<f64>,
    /// `1 − (1 − φ) f`: the vendor's net per list dollar.
    fee_keep: Vec<f64>,
    /// `1 − f`: buyers pay the net grossed up by the fee.
    fee_divisor: Vec<f64>,
    /// Units the export rule and supply allow a month (before the import rule's cumulative cap).
    policy_cap_units: Vec<f64>,
    /// Months (sorted) in which the policy in force may change this trial.
    policy_changes: Vec<i64>,
    /// Whether some segment may buy the product under the policy in force.
    product_available: Vec<bool>,
    /// The mandate binding each segment's mandated part, under the policy in force.
    segment_mandate: Vec<Option<BuyerMandate>>,
    /// The share of each segment that complies with its mandate (0 without one).
    segment_compliance: Vec<f64>,
    /// ln(buyer price / list price): the fee's mark-up, per product.
    fee_log: Vec<f64>,
    /// Recent fee logs' arguments, per product (see [`Memo`]).
    fee_log_memo: Vec<Memo>,
    /// Recent fee factors' arguments, `[s * P + j]` (see [`Memo`]).
    fee_factor_memo: Vec<Memo>,
    /// Each segment's σ in this trial.
    segment_sigma: Vec<f64>,
    /// Whether a segment's CES terms are carried forward by multiplication
    /// (see [`fast_response`]); else taken afresh every month.
    segment_fast: Vec<bool>,
    /// Month a segment's carried terms were last computed afresh; `None`
    /// when the policy changed since, so that they no longer hold.
    terms_month: Vec<Option<usize>>,
    /// Reference terms `R_j`, `[s * P + j]`: `exp((1 − σ) ln x*_j − M)`.
    reference_term: Vec<f64>,
    /// How the segments' CES terms are taken (see [`CesTerms`]).
    ces_terms: CesTerms,
    /// Largest difference seen between carried and fresh terms under [`CesTerms::Checked`].
    ces_check_error: f64,
    /// Scratch row for [`CesTerms::Checked`].
    ces_check_weight: Vec<f64>,
    /// Fee factors `F_j`, `[s * P + j]`: `exp((1 − σ) ln(c_j / list_j))`, 0 where unavailable.
    fee_factor: Vec<f64>,
    /// Monthly growth of a reference term, `[s * P + j]`: `exp((1 − σ) ln(1 + trend_j) / 12)`.
    term_growth: Vec<f64>,
    launched: Vec<bool>,
    import_rule: Vec<Option<RuleSource>>,
    export_open: Vec<bool>,
    segment_available: Vec<bool>,
    /// Linear CES weights of each segment's available products, `[s * P + j]`.
    segment_weight: Vec<f64>,
    production: Vec<f64>,
    h100e: Vec<f64>,
    domestic: Vec<bool>,
    ln_trend: Vec<f64>,
    active: Vec<usize>,
    offer_h100e: Vec<f64>,
    offer_domestic: Vec<bool>,
    offer_cap_units: Vec<f64>,
    offer_ln_quality_price: Vec<f64>,
}

/// How a segment's CES exponentials (its clearing weights and the terms of
/// its price indices) are taken month by month.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum CesTerms {
    /// Carried forward from the last fresh computation by each term's
    /// constant monthly growth, taken afresh when the policy changes, every
    /// 12 months, and whenever they leave a safe range (the default).
    #[default]
    Carried,
    /// Taken afresh every month: slower; the reference for `Carried`.
    Fresh,
    /// Carried, and compared every month with fresh ones taken from the
    /// same state (for tests): see [`Workspace::ces_check_error`].
    Checked,
}

impl Workspace {
    /// A workspace taking the CES terms as `terms` says.
    pub fn with_ces_terms(terms: CesTerms) -> Self {
        Workspace {
            ces_terms: terms,
            ..Workspace::default()
        }
    }

    /// Under [`CesTerms::Checked`], the largest difference seen so far
    /// between carried and fresh terms: relative for demand after the price
    /// response, absolute for each product's share of a segment's weights.
    pub fn ces_check_error(&self) -> f64 {
        self.ces_check_error
    }
}

impl<'a> Model<'a> {
    /// Prepares `scenario` to run with `seed`.
    pub fn new(scenario: &'a Scenario, seed: u64) -> Self {
        Model {
            scenario,
            streams: InputStreams::new(
                seed,
                scenario
                    .inputs
                    .iter()
                    .map(|i| (i.path.as_str(), &i.distribution)),
            ),
            walk_key: StreamKey::new(seed, DEMAND_WALK_PATH),
            shock_keys: scenario
                .shocks
                .iter()
                .map(|s| StreamKey::new(seed, &s.month_path))
                .collect(),
            timelines: Timelines::new(scenario),
            durations: scenario.shocks.iter().map(|s| s.duration_months).collect(),
            fixed_policy_changes: fixed_policy_changes(scenario),
            scheduled_units: scenario
                .products
                .iter()
                .map(|p| match p.production.as_ref().map(|pr| &pr.curve) {
                    Some(ProductionCurve::Schedule(points)) => (0..scenario.months)
                        .map(|t| schedule_units(points, t as i64))
                        .collect(),
                    _ => Vec::new(),
                })
                .collect(),
        }
    }

    fn export_rule(&self, src: RuleSource) -> &ExportRule {
        match src {
            RuleSource::Scheduled(i) => &self.scenario.export_rules[i].rule,
            RuleSource::Shock(i) => match &self.scenario.shocks[i].rule {
                ShockRule::Export(r) => r,
                _ => unreachable!("export timelines hold export shocks only"),
            },
        }
    }

    fn import_rule(&self, src: RuleSource) -> &ImportRule {
        match src {
            RuleSource::Scheduled(i) => &self.scenario.import_rules[i].rule,
            RuleSource::Shock(i) => match &self.scenario.shocks[i].rule {
                ShockRule::Import(r) => r,
                _ => unreachable!("import timelines hold import shocks only"),
            },
        }
    }

    fn mandate(&self, src: RuleSource) -> &Mandate {
        match src {
            RuleSource::Scheduled(i) => &self.scenario.mandates[i].rule,
            RuleSource::Shock(i) => match &self.scenario.shocks[i].rule {
                ShockRule::Mandate(m) => m,
                _ => unreachable!("mandate timelines hold mandate shocks only"),
            },
        }
    }

    /// Index of an import rule's cumulative-cap counter.
    fn cap_slot(&self, src: RuleSource) -> usize {
        match src {
            RuleSource::Scheduled(i) => i,
            RuleSource::Shock(i) => self.scenario.import_rules.len() + i,
        }
    }

    /// Runs trial `trial` into `rec`.
    pub fn run_trial(&self, trial: u64, ws: &mut Workspace, rec: &mut TrialRecord) {
        self.run_trial_observed(trial, ws, rec, &mut |_| {});
    }

    /// Runs trial `trial` into `rec`, showing each month's clearing to
    /// `observe` (for invariant checks; the plain run passes a no-op).
    pub fn run_trial_observed(
        &self,
        trial: u64,
        ws: &mut Workspace,
        rec: &mut TrialRecord,
        observe: &mut impl FnMut(&MonthView),
    ) {
        let sc = self.scenario;
        let (np, ns, months) = (sc.products.len(), sc.segments.len(), sc.months);
        rec.reset(months, np, ns, sc.inputs.len(), sc.shocks.len());
        self.streams.draw_all(trial, &mut rec.inputs);
        let v = &rec.inputs;

        // Shocks: one uniform each. A fired shock's rule starts and (with a
        // duration) ends at months where the policy must be looked up again.
        ws.fired.clear();
        ws.policy_changes.clear();
        ws.policy_changes
            .extend_from_slice(&self.fixed_policy_changes);
        for (i, sh) in sc.shocks.iter().enumerate() {
            let m = shock_month(
                sh.trigger,
                sh.window,
                months as i64,
                self.shock_keys[i].uniform(trial),
            );
            ws.fired.push(m);
            rec.shock_months[i] = m.unwrap_or(-1);
            if let Some(k) = m {
                ws.policy_changes.push(k);
                if let Some(d) = self.durations[i] {
                    ws.policy_changes
                        .push(k.saturating_add(d - 1).saturating_add(1));
                }
            }
        }
        ws.policy_changes.sort_unstable();
        ws.policy_changes.dedup();

        // Per-trial state.
        ws.cap_left.clear();
        for r in &sc.import_rules {
            ws.cap_left.push(
                r.rule
                    .cumulative_cap_units
                    .map_or(f64::INFINITY, |c| v[c.0]),
            );
        }
        for sh in &sc.shocks {
            let cap = match &sh.rule {
                ShockRule::Import(r) => r.cumulative_cap_units.map_or(f64::INFINITY, |c| v[c.0]),
                _ => f64::INFINITY,
            };
            ws.cap_left.push(cap);
        }
        ws.ln_trend.clear();
        ws.ln_trend
            .extend(sc.products.iter().map(|p| (1.0 + v[p.price_trend.0]).ln()));
        // List prices move by a constant factor a month: no power per month.
        ws.monthly_price_factor.clear();
        ws.monthly_price_factor
            .extend(ws.ln_trend.iter().map(|l| (l / 12.0).exp()));
        ws.list_usd.clear();
        ws.list_usd
            .extend(sc.products.iter().map(|p| v[p.price_usd.0]));
        ws.ln_base_quality_price.clear();
        ws.ln_base_quality_price.extend(
            sc.products
                .iter()
                .map(|p| (v[p.price_usd.0] / (p.h100e * v[p.preference.0])).ln()),
        );
        ws.inventory.clear();
        ws.h100e.clear();
        ws.domestic.clear();
        for p in &sc.products {
            ws.inventory.push(
                p.production
                    .as_ref()
                    .map_or(0.0, |pr| v[pr.initial_inventory_units.0]),
            );
            ws.h100e.push(p.h100e);
            ws.domestic.push(p.domestic);
        }
        for buf in [
            &mut ws.cap_units,
            &mut ws.ln_quality_price,
            &mut ws.ln_reference_quality_price,
            &mut ws.fee,
            &mut ws.fee_keep,
            &mut ws.fee_divisor,
            &mut ws.policy_cap_units,
            &mut ws.production,
        ] {
            buf.clear();
            buf.resize(np, 0.0);
        }
        ws.launched.clear();
        ws.launched.resize(np, false);
        ws.export_open.clear();
        ws.export_open.resize(np, false);
        ws.import_rule.clear();
        ws.import_rule.resize(np, None);
        ws.product_available.clear();
        ws.product_available.resize(np, false);
        ws.segment_available.clear();
        ws.segment_available.resize(ns * np, false);
        ws.segment_weight.clear();
        ws.segment_weight.resize(ns * np, 0.0);
        ws.segment_mandate.clear();
        ws.segment_mandate.resize(ns, None);
        ws.segment_compliance.clear();
        ws.segment_compliance.resize(ns, 0.0);
        ws.fee_log.clear();
        ws.fee_log.resize(np, 0.0);
        // A memo holds exact values of a pure function: those of earlier
        // trials are as good as this one's, so it is only sized, not cleared.
        ws.fee_log_memo.resize(np, Memo::default());
        ws.fee_factor_memo.resize(ns * np, Memo::default());
        for buf in [
            &mut ws.reference_term,
            &mut ws.fee_factor,
            &mut ws.term_growth,
        ] {
            buf.clear();
            buf.resize(ns * np, 0.0);
        }
        ws.segment_sigma.clear();
        ws.segment_fast.clear();
        for (s, seg) in sc.segments.iter().enumerate() {
            let sigma = v[seg.substitution_elasticity.0];
            let rho = 1.0 - sigma;
            let mut fast = rho.abs() >= 1e-9;
            for j in 0..np {
                let monthly_log = rho * ws.ln_trend[j] / 12.0;
                fast &= monthly_log.abs() <= MAX_MONTHLY_LOG_MOVE;
                ws.term_growth[s * np + j] = monthly_log.exp();
            }
            ws.segment_sigma.push(sigma);
            ws.segment_fast
                .push(fast && ws.ces_terms != CesTerms::Fresh);
        }
        ws.terms_month.clear();
        ws.terms_month.resize(ns, None);

        let d = &sc.demand;
        let d0 = v[d.initial_h100e.0];
        let growth = v[d.annual_growth.0];
        let ln_growth = (1.0 + growth).ln();
        let vol = v[d.monthly_volatility.0];
        let eta = v[d.price_elasticity.0];
        let mut walk = self.walk_key.open(trial);
        let mut ln_walk = 0.0;
        let mut next_change = 0;

        for t in 0..months {
            let ti = t as i64;
            // Policy (launches, rules in force, availability, mandates) only
            // changes at the months collected above: look it up there alone.
            if t == 0 || ws.policy_changes.get(next_change) == Some(&ti) {
                while ws.policy_changes.get(next_change).is_some_and(|&m| m <= ti) {
                    next_change += 1;
                }
                self.apply_policy(ti, ws, v);
            }

            // Demand: growth times a mean-one geometric random walk.
            if t > 0 && vol > 0.0 {
                ln_walk += vol * standard_normal_quantile(walk.next_uniform()) - 0.5 * vol * vol;
            }
            let demand_t = d0 * ((ti as f64 / 12.0) * ln_growth).exp() * ln_walk.exp();

            // Products: prices and caps. Every per-product buffer is cut to
            // `np` first, so that the loop indexes without bounds checks.
            let row = t * np..(t + 1) * np;
            let years = ti as f64 / 12.0;
            let products = &sc.products[..np];
            let launched = &ws.launched[..np];
            let list_usd = &mut ws.list_usd[..np];
            let monthly_price_factor = &ws.monthly_price_factor[..np];
            let ln_base_quality_price = &ws.ln_base_quality_price[..np];
            let ln_trend = &ws.ln_trend[..np];
            let ln_reference_quality_price = &mut ws.ln_reference_quality_price[..np];
            let fees = &ws.fee[..np];
            let production = &mut ws.production[..np];
            let inventory = &ws.inventory[..np];
            let import_rule = &ws.import_rule[..np];
            let policy_cap_units = &ws.policy_cap_units[..np];
            let fee_keep = &ws.fee_keep[..np];
            let fee_divisor = &ws.fee_divisor[..np];
            let cap_units = &mut ws.cap_units[..np];
            let fee_log = &mut ws.fee_log[..np];
            let fee_log_memo = &mut ws.fee_log_memo[..np];
            let ln_quality_price = &mut ws.ln_quality_price[..np];
            let product_available = &ws.product_available[..np];
            let price_usd = &mut rec.price_usd[row.clone()];
            let production_out = &mut rec.production_units[row.clone()];
            let available_out = &mut rec.available[row.clone()];
            rec.compute_h100e[row.clone()].fill(0.0);
            for j in 0..np {
                let p = &products[j];
                let launched = launched[j];
                let list = list_usd[j];
                list_usd[j] *= monthly_price_factor[j];
                let ln_reference = ln_base_quality_price[j] + years * ln_trend[j];
                ln_reference_quality_price[j] = ln_reference;
                let fee = fees[j];
                let cap = if p.domestic {
                    production[j] = 0.0;
                    if let (Some(prod), true) = (&p.production, launched) {
                        let units = match self.scheduled_units[j].get(t) {
                            Some(&units) => units,
                            None => production_units(&prod.curve, v, ti),
                        };
                        production[j] = (units * v[prod.scale.0]).max(0.0);
                    }
                    if launched {
                        production[j] + inventory[j]
                    } else {
                        0.0
                    }
                } else if let Some(src) = import_rule[j] {
                    policy_cap_units[j].min(ws.cap_left[self.cap_slot(src)])
                } else {
                    policy_cap_units[j]
                };
                // The vendor nets list·(1 − (1 − φ) f); buyers pay that grossed up by the fee.
                let buyer_price = list * fee_keep[j] / fee_divisor[j];
                cap_units[j] = cap.max(0.0);
                fee_log[j] = if fee > 0.0 {
                    fee_log_memo[j].get(buyer_price / list, f64::ln)
                } else {
                    0.0
                };
                ln_quality_price[j] = if fee > 0.0 {
                    ln_reference + fee_log[j]
                } else {
                    ln_reference
                };
                price_usd[j] = buyer_price;
                production_out[j] = production[j];
                available_out[j] = if product_available[j] { 1.0 } else { 0.0 };
            }

            // Segments: price response, and their buyers straight into the
            // clearing (only products some segment may buy take part in it).
            ws.clearing.reset(ws.active.len());
            let seg_row = t * ns..(t + 1) * ns;
            let segment_demand = &mut rec.segment_demand_h100e[seg_row.clone()];
            let segment_purchased = &mut rec.segment_purchased_h100e[seg_row.clone()];
            let segment_unmet = &mut rec.segment_unmet_h100e[seg_row.clone()];
            let segment_cut = &mut rec.segment_mandate_cut_h100e[seg_row];
            for (s, seg) in sc.segments.iter().enumerate() {
                let sigma = ws.segment_sigma[s];
                let demand_s = seg.share * demand_t;
                let mut response = None;
                if ws.segment_fast[s] {
                    let fresh = ws.terms_month[s].is_none_or(|m| t >= m + TERMS_REFRESH_MONTHS);
                    if fresh {
                        self.reset_terms(s, t, ws);
                    }
                    response = fast_response(ws, s, np, sigma, eta, !fresh);
                    if response.is_none() && !fresh {
                        // The terms drifted out of range: renormalise and retry.
                        self.reset_terms(s, t, ws);
                        response = fast_response(ws, s, np, sigma, eta, false);
                    }
                }
                let demand_s = match response {
                    Some(factor) if ws.ces_terms == CesTerms::Checked => {
                        check_against_fresh(ws, s, np, sigma, eta, demand_s, factor)
                    }
                    Some(factor) => demand_s * factor,
                    None => exact_response(ws, s, np, sigma, eta, demand_s),
                };
                segment_demand[s] = demand_s;
                segment_purchased[s] = 0.0;
                segment_unmet[s] = 0.0;
                segment_cut[s] = 0.0;
                // The mandated part, then the free part, with the segment's rows.
                let compliance = ws.segment_compliance[s];
                let rows = (
                    &ws.segment_available[s * np..][..np],
                    &ws.segment_weight[s * np..][..np],
                );
                if compliance > 0.0 {
                    let buyer = Buyer {
                        segment: s,
                        demand_h100e: compliance * demand_s,
                        sigma,
                        mandate: ws.segment_mandate[s],
                    };
                    add_segment_buyer(&mut ws.clearing, buyer, rows, &ws.active);
                }
                if compliance < 1.0 {
                    let buyer = Buyer {
                        segment: s,
                        demand_h100e: (1.0 - compliance) * demand_s,
                        sigma,
                        mandate: None,
                    };
                    add_segment_buyer(&mut ws.clearing, buyer, rows, &ws.active);
                }
            }
            // Sources taken as slices first: read through `ws` they would be
            // reloaded after every store.
            let (cap_units, ln_quality_price) = (&ws.cap_units[..], &ws.ln_quality_price[..]);
            for ((cap, ln_price), &j) in ws
                .offer_cap_units
                .iter_mut()
                .zip(&mut ws.offer_ln_quality_price)
                .zip(&ws.active)
            {
                *cap = cap_units[j];
                *ln_price = ln_quality_price[j];
            }

            // Clearing.
            let offer = ProductOffer {
                h100e: &ws.offer_h100e,
                domestic: &ws.offer_domestic,
                cap_units: &ws.offer_cap_units,
                ln_quality_price: &ws.offer_ln_quality_price,
            };
            clear_market(&offer, &mut ws.clearing);
            observe(&MonthView {
                month: t,
                offer: &offer,
                clearing: &ws.clearing,
            });

            // Record the month.
            let compute = &mut rec.compute_h100e[row.clone()];
            let (clearing, active) = (&ws.clearing, &ws.active[..]);
            for (b, buyer) in clearing.buyers().iter().enumerate() {
                let s = buyer.segment;
                // Read before the stores below, which the compiler cannot
                // tell apart from the clearing's buffers.
                let (unmet, cut) = (clearing.unmet(b), clearing.mandate_cut(b));
                let mut bought = 0.0;
                for (&q, &j) in clearing.allocations(b).iter().zip(active) {
                    bought += q;
                    compute[j] += q;
                }
                segment_purchased[s] += bought;
                segment_unmet[s] += unmet;
                segment_cut[s] += cut;
            }
            let h100e = &ws.h100e[..np];
            let domestic = &ws.domestic[..np];
            let launched = &ws.launched[..np];
            let fees = &ws.fee[..np];
            let production = &ws.production[..np];
            let inventory = &mut ws.inventory[..np];
            let import_rule = &ws.import_rule[..np];
            let price_usd = &rec.price_usd[row.clone()];
            let units_out = &mut rec.units[row.clone()];
            let gross_usd = &mut rec.gross_usd[row.clone()];
            let export_fee_usd = &mut rec.export_fee_usd[row.clone()];
            let inventory_units = &mut rec.inventory_units[row];
            for j in 0..np {
                let units = compute[j] / h100e[j];
                units_out[j] = units;
                gross_usd[j] = units * price_usd[j];
                export_fee_usd[j] = if domestic[j] {
                    0.0
                } else {
                    fees[j] * gross_usd[j]
                };
                inventory_units[j] = 0.0;
                if domestic[j] {
                    if launched[j] {
                        inventory[j] = (production[j] + inventory[j] - units).max(0.0);
                    }
                    inventory_units[j] = inventory[j];
                } else if let Some(src) = import_rule[j] {
                    let slot = self.cap_slot(src);
                    ws.cap_left[slot] = (ws.cap_left[slot] - units).max(0.0);
                }
            }
        }
    }

    /// Computes segment `s`'s CES terms afresh in month `t`: the reference
    /// terms `R_j` of the launched products relative to the largest, and the
    /// fee factors `F_j` of the available ones (see [`fast_response`]).
    fn reset_terms(&self, s: usize, t: usize, ws: &mut Workspace) {
        let np = self.scenario.products.len();
        let rho = 1.0 - ws.segment_sigma[s];
        let row = s * np..(s + 1) * np;
        // Every buffer cut to `np`, so that the loops index without bounds checks.
        let launched = &ws.launched[..np];
        let ln_reference = &ws.ln_reference_quality_price[..np];
        let fee_log = &ws.fee_log[..np];
        let mut max = f64::NEG_INFINITY;
        for j in 0..np {
            if launched[j] {
                max = max.max(rho * ln_reference[j]);
            }
        }
        let avail = &ws.segment_available[row.clone()][..np];
        let r = &mut ws.reference_term[row.clone()][..np];
        let f = &mut ws.fee_factor[row.clone()][..np];
        let memo = &mut ws.fee_factor_memo[row][..np];
        for j in 0..np {
            r[j] = if launched[j] {
                (rho * ln_reference[j] - max).exp()
            } else {
                0.0
            };
            f[j] = if !avail[j] {
                0.0
            } else if fee_log[j] == 0.0 {
                1.0
            } else {
                memo[j].get(rho * fee_log[j], f64::exp)
            };
        }
        ws.terms_month[s] = Some(t);
    }

    /// Looks up the policy in force in month `ti`: launches, each product's
    /// export and import rule (fee, pass-through, the caps they set), what
    /// each segment may buy and the mandate binding it, and the products
    /// that take part in the clearing. Called only in months where some
    /// rule starts or ends or a product launches.
    fn apply_policy(&self, ti: i64, ws: &mut Workspace, v: &[f64]) {
        let sc = self.scenario;
        let np = sc.products.len();
        for (j, p) in sc.products.iter().enumerate() {
            ws.launched[j] = ti >= p.launch_month;
            let (mut fee, mut pass) = (0.0, 0.0);
            let mut cap = f64::INFINITY;
            ws.export_open[j] = true;
            ws.import_rule[j] = None;
            if !p.domestic {
                if let Some(s) = p.supply_units {
                    cap = v[s.0];
                }
                if let Some(src) =
                    rule_in_force(&self.timelines.export[j], &ws.fired, &self.durations, ti)
                {
                    let r = self.export_rule(src);
                    ws.export_open[j] = r.regime != ExportRegime::Banned;
                    fee = r.revenue_fee.map_or(0.0, |f| v[f.0]).min(1.0 - 1e-9);
                    pass = r.fee_pass_through.map_or(0.0, |f| v[f.0]);
                    if r.regime == ExportRegime::Licensed {
                        let quota = r.quota_units.map_or(f64::INFINITY, |q| v[q.0]);
                        let rate = r.approval_rate.map_or(1.0, |a| v[a.0]);
                        cap = cap.min(quota * rate);
                    }
                }
                ws.import_rule[j] =
                    rule_in_force(&self.timelines.import[j], &ws.fired, &self.durations, ti);
            }
            ws.fee[j] = fee;
            ws.fee_keep[j] = 1.0 - (1.0 - pass) * fee;
            ws.fee_divisor[j] = 1.0 - fee;
            ws.policy_cap_units[j] = cap;
            ws.product_available[j] = false;
        }
        for s in 0..sc.segments.len() {
            let row = &mut ws.segment_available[s * np..][..np];
            let launched = &ws.launched[..np];
            let export_open = &ws.export_open[..np];
            let import_rule = &ws.import_rule[..np];
            let product_available = &mut ws.product_available[..np];
            for j in 0..np {
                let ok = launched[j]
                    && export_open[j]
                    && match import_rule[j] {
                        None => true,
                        Some(src) => {
                            let r = self.import_rule(src);
                            r.regime == ImportRegime::Open
                                && r.segments.as_ref().is_none_or(|l| l.contains(&s))
                        }
                    };
                row[j] = ok;
                product_available[j] |= ok;
            }
            let mandate = rule_in_force(&self.timelines.mandate[s], &ws.fired, &self.durations, ti)
                .map(|src| self.mandate(src))
                .map(|m| BuyerMandate {
                    share: v[m.share.0],
                    basis: m.basis,
                })
                .filter(|m| m.share > 0.0);
            ws.segment_compliance[s] = if mandate.is_some() {
                v[sc.segments[s].mandate_compliance.0]
            } else {
                0.0
            };
            ws.segment_mandate[s] = mandate;
        }
        // Availability and fees moved: the carried CES terms start afresh.
        ws.terms_month.iter_mut().for_each(|m| *m = None);
        ws.active.clear();
        ws.offer_h100e.clear();
        ws.offer_domestic.clear();
        for j in 0..np {
            if ws.product_available[j] {
                ws.active.push(j);
                ws.offer_h100e.push(ws.h100e[j]);
                ws.offer_domestic.push(ws.domestic[j]);
            }
        }
        // Filled month by month from the active products.
        ws.offer_cap_units.resize(ws.active.len(), 0.0);
        ws.offer_ln_quality_price.resize(ws.active.len(), 0.0);
    }
}

/// Adds a buyer of a segment to the clearing with the segment's rows of
/// availability and weights, `rows`, gathered over the active products.
/// Always inlined: called for every buyer every month, and out of line it
/// costs ≈ 8k instructions a baseline trial more.
#[inline(always)]
fn add_segment_buyer(
    clearing: &mut Clearing,
    buyer: Buyer,
    (segment_available, segment_weight): (&[bool], &[f64]),
    active: &[usize],
) {
    let (available, weight) = clearing.add_buyer_rows(buyer);
    for ((a, w), &j) in available.iter_mut().zip(weight).zip(active) {
        *a = segment_available[j];
        *w = segment_weight[j];
    }
}

/// The last two arguments of a function and its values there. A product's
/// ratio of buyer to list price, `list · keep / divisor / list`, takes only a
/// few values over the months (its rounding moves with the list price), so
/// most fee logs, and the fee factors taken from them, repeat one of the last
/// two: a value reused is the same bits as one computed afresh.
#[derive(Debug, Clone, Copy)]
struct Memo {
    args: [f64; 2],
    values: [f64; 2],
}

impl Default for Memo {
    fn default() -> Self {
        // NaN equals nothing: an empty memo never answers.
        Memo {
            args: [f64::NAN; 2],
            values: [f64::NAN; 2],
        }
    }
}

impl Memo {
    /// `f(x)`, from the memo when `x` is one of its last two arguments.
    /// `==` matches only equal bits here but for ±0, which `ln` and `exp`
    /// map to the same value.
    #[inline]
    fn get(&mut self, x: f64, f: impl Fn(f64) -> f64) -> f64 {
        if x == self.args[0] {
            return self.values[0];
        }
        if x == self.args[1] {
            return self.values[1];
        }
        let y = f(x);
        // The newest first; the older of the two makes way.
        self.args = [x, self.args[0]];
        self.values = [y, self.values[0]];
        y
    }
}

/// Months between exact recomputations of the CES terms, which bounds the
/// rounding they gather from being carried forward by multiplication.
const TERMS_REFRESH_MONTHS: usize = 12;

/// Largest monthly move `|(1 − σ) ln(1 + trend) / 12|` of a term's log for
/// which terms are carried forward by multiplication: a term then changes by
/// at most e^12 a year relative to another, so a term too small to be
/// represented cannot grow to matter before the yearly refresh.
const MAX_MONTHLY_LOG_MOVE: f64 = 1.0;

/// Sums of a segment's carried-forward CES terms below this (or above its
/// inverse) are recomputed exactly, or left to [`exact_response`].
const TERMS_RANGE: f64 = 1e-150;

/// The segment's price response `(P / P*)^η` (capped at 1) from its carried
/// terms, and its clearing weights written into `segment_weight`; `None`
/// when the terms are out of range, so that the caller renormalises or
/// takes [`exact_response`].
///
/// With the reference terms `R_j = exp((1 − σ) ln x*_j − M)` of the launched
/// products and the fee factors `F_j = exp((1 − σ) ln(c_j / list_j))` of the
/// available ones, the weights are `E_j = R_j F_j` and
/// `ln P − ln P* = ln(Σ T_j / Σ R_j) / (1 − σ)`, with `T_j = E_j` where
/// available and, for σ ≤ 1, `R_j` where not (decision (b) of docs/model.md).
fn fast_response(
    ws: &mut Workspace,
    s: usize,
    np: usize,
    sigma: f64,
    eta: f64,
    advance: bool,
) -> Option<f64> {
    let rho = 1.0 - sigma;
    let substitutes = sigma > 1.0 + 1e-9;
    let row = s * np..(s + 1) * np;
    let avail = &ws.segment_available[row.clone()];
    let growth = &ws.term_growth[row.clone()];
    let fee_factor = &ws.fee_factor[row.clone()];
    let terms = &mut ws.reference_term[row.clone()];
    let weight = &mut ws.segment_weight[row];
    // Unlaunched products have R = 0 and unavailable ones F = 0, so every
    // product can enter every sum.
    let (mut sum_r, mut sum_t, mut sum_e) = (0.0, 0.0, 0.0);
    for ((((r, w), &g), &f), &ok) in terms
        .iter_mut()
        .zip(weight.iter_mut())
        .zip(growth)
        .zip(fee_factor)
        .zip(avail)
    {
        if advance {
            *r *= g;
        }
        let e = *r * f;
        *w = e;
        sum_r += *r;
        sum_e += e;
        sum_t += if ok || substitutes { e } else { *r };
    }
    let in_range = |x: f64| (TERMS_RANGE..=1.0 / TERMS_RANGE).contains(&x);
    // No launched product: no reference index, no response (as exact).
    if sum_r == 0.0 && sum_e == 0.0 {
        return Some(1.0);
    }
    if !in_range(sum_r) || (sum_e != 0.0 && !in_range(sum_e)) || (sum_t != 0.0 && !in_range(sum_t))
    {
        return None;
    }
    if eta == 0.0 {
        return Some(1.0);
    }
    if sum_t == 0.0 {
        // Substitutes with nothing to buy: an infinite index, no demand.
        return Some(0.0);
    }
    // Prices never fall below list and the set only shrinks, so P ≥ P*.
    let gap = ((sum_t / sum_r).ln() / rho).max(0.0);
    // exp(η · 0) is exactly 1: no exponential needed.
    Some(if gap != 0.0 { (eta * gap).exp() } else { 1.0 })
}

/// Under [`CesTerms::Checked`]: the demand and weights from carried terms
/// (already in `segment_weight`) against those taken afresh from the same
/// state; records the largest difference and returns the carried demand.
fn check_against_fresh(
    ws: &mut Workspace,
    s: usize,
    np: usize,
    sigma: f64,
    eta: f64,
    demand_s: f64,
    factor: f64,
) -> f64 {
    let carried_demand = demand_s * factor;
    let row = s * np..(s + 1) * np;
    ws.ces_check_weight.clear();
    ws.ces_check_weight
        .extend_from_slice(&ws.segment_weight[row.clone()]);
    let fresh_demand = exact_response(ws, s, np, sigma, eta, demand_s);
    let mut error: f64 = if carried_demand == fresh_demand {
        0.0
    } else {
        (carried_demand - fresh_demand).abs() / carried_demand.abs().max(fresh_demand.abs())
    };
    let carried_sum: f64 = ws.ces_check_weight.iter().sum();
    let fresh_sum: f64 = ws.segment_weight[row.clone()].iter().sum();
    for (c, f) in ws
        .ces_check_weight
        .iter()
        .zip(&ws.segment_weight[row.clone()])
    {
        let (c, f) = (
            if carried_sum > 0.0 {
                c / carried_sum
            } else {
                0.0
            },
            if fresh_sum > 0.0 { f / fresh_sum } else { 0.0 },
        );
        error = error.max((c - f).abs());
    }
    ws.ces_check_error = ws.ces_check_error.max(error);
    ws.segment_weight[row].copy_from_slice(&ws.ces_check_weight);
    carried_demand
}

/// The segment's demand after the price response, from exponentials taken
/// afresh (no carried terms), and its clearing weights: for σ = 1, extreme
/// σ or price trends, and terms out of range.
fn exact_response(
    ws: &mut Workspace,
    s: usize,
    np: usize,
    sigma: f64,
    eta: f64,
    demand_s: f64,
) -> f64 {
    let mut demand_s = demand_s;
    let rho = 1.0 - sigma;
    let cobb_douglas = rho.abs() < 1e-9;
    let avail = &ws.segment_available[s * np..(s + 1) * np];
    let weight = &mut ws.segment_weight[s * np..(s + 1) * np];
    // The CES weights over the available products, relative to the largest:
    // the clearing's targets, and for σ > 1 the terms of the price index too.
    let mut max_log_weight = f64::NEG_INFINITY;
    for j in 0..np {
        if avail[j] {
            let w = if cobb_douglas {
                0.0
            } else {
                rho * ws.ln_quality_price[j]
            };
            weight[j] = w;
            max_log_weight = max_log_weight.max(w);
        }
    }
    let mut weight_sum = 0.0;
    for j in 0..np {
        weight[j] = if avail[j] {
            let w = (weight[j] - max_log_weight).exp();
            weight_sum += w;
            w
        } else {
            0.0
        };
    }
    if eta != 0.0 {
        let ln_ref = ln_price_index(
            sigma,
            (0..np)
                .filter(|&j| ws.launched[j])
                .map(|j| ws.ln_reference_quality_price[j]),
        );
        let ln_p = if sigma > 1.0 + 1e-9 {
            // Substitutes: an unavailable product drops out (its term → 0).
            if max_log_weight == f64::NEG_INFINITY {
                f64::INFINITY
            } else {
                (max_log_weight + weight_sum.ln()) / rho
            }
        } else {
            // σ ≤ 1: the unweighted index would fall when a variety is
            // removed, so removal is valued at the reference price and
            // only price changes move the index (docs/model.md).
            ln_price_index(
                sigma,
                (0..np).filter(|&j| ws.launched[j]).map(|j| {
                    if avail[j] {
                        ws.ln_quality_price[j]
                    } else {
                        ws.ln_reference_quality_price[j]
                    }
                }),
            )
        };
        if ln_ref.is_finite() {
            // Prices never fall below list and the set only shrinks,
            // so P ≥ P*: the response only ever lowers demand.
            let gap = (ln_p - ln_ref).max(0.0);
            demand_s *= if ln_p.is_finite() {
                (eta * gap).exp()
            } else {
                0.0
            };
        }
    }
    demand_s
}

/// Months where the scheduled policy may change: every scheduled rule's
/// first month and the month after its last, and every launch.
fn fixed_policy_changes(sc: &Scenario) -> Vec<i64> {
    let windows = sc
        .export_rules
        .iter()
        .map(|r| r.window)
        .chain(sc.import_rules.iter().map(|r| r.window))
        .chain(sc.mandates.iter().map(|r| r.window));
    let mut months: Vec<i64> = sc.products.iter().map(|p| p.launch_month).collect();
    for w in windows {
        months.push(w.from);
        if let Some(u) = w.until {
            months.push(u.saturating_add(1));
        }
    }
    months.sort_unstable();
    months.dedup();
    months
}

/// Natural log of the CES price index `(Σ x^(1−σ))^(1/(1−σ))` from the
/// logs of the quality prices `x`, by log-sum-exp so that no power
/// overflows; `σ ≈ 1` uses the Cobb–Douglas limit (geometric mean). `+∞`
/// for an empty set.
pub fn ln_price_index(sigma: f64, ln_quality_prices: impl Iterator<Item = f64> + Clone) -> f64 {
    let rho = 1.0 - sigma;
    if rho.abs() < 1e-9 {
        let (mut sum, mut n) = (0.0, 0usize);
        for x in ln_quality_prices {
            sum += x;
            n += 1;
        }
        return if n == 0 {
            f64::INFINITY
        } else {
            sum / n as f64
        };
    }
    let max = ln_quality_prices
        .clone()
        .map(|x| rho * x)
        .fold(f64::NEG_INFINITY, f64::max);
    if max == f64::NEG_INFINITY {
        return f64::INFINITY;
    }
    let lse = max
        + ln_quality_prices
            .map(|x| (rho * x - max).exp())
            .sum::<f64>()
            .ln();
    lse / rho
}
