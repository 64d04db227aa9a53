//! Validation and resolution: raw file → [`Scenario`], collecting every
//! problem with its place instead of stopping at the first.

use super::error::{Problem, nearest};
use super::month::YearMonth;
use super::raw::*;
use super::*;
use crate::sampling::{Distribution, Support};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::ops::Range;
use toml::Spanned;
use toml::de::DeTable;

/// Deserializes and resolves a scenario document: every problem, sorted by
/// place.
///
/// `root` is the document's tree; its spans point into `virtual_text` (for
/// a composed document, the sources' texts joined by `"\n"`, see `compose`).
/// Every structural problem (unknown fields, wrong types, missing fields) is
/// reported, each repaired so that the semantic checks still run on the rest
/// of the document. `text` and `file` are the scenario's own file (its text
/// is hashed into the manifest).
pub(super) fn resolve_document(
    root: Spanned<DeTable<'_>>,
    virtual_text: &str,
    text: &str,
    file: &str,
) -> Result<Scenario, Vec<Problem>> {
    let structure = super::recover::repair(root, virtual_text);
    let mut problems = structure.problems;
    let Some(raw) = structure.raw else {
        return Err(problems);
    };
    let mut resolver = Resolver::default();
    let scenario = resolver.resolve(raw, text, file);
    if structure.semantics_reliable {
        // Problems at a placeholder, or of a table holding a removed unknown
        // field, are consequences of a problem already reported.
        problems.extend(resolver.problems.into_iter().filter(|p| {
            p.span.as_ref().is_none_or(|s| {
                !structure.placeholders.contains(s)
                    && !structure
                        .removed
                        .iter()
                        .any(|r| s.start <= r.start && r.end <= s.end)
            })
        }));
    } else if let Some(last) = problems
        .iter_mut()
        .max_by_key(|p| p.span.as_ref().map_or(0, |s| s.start))
    {
        // On the problem shown last: problems are shown by place, the
        // sources (files, then --set arguments) in the order of their offsets.
        last.notes
            .push("the file's values are checked once its structure is fixed".into());
    }
    if problems.is_empty() {
        Ok(scenario)
    } else {
        problems.sort_by_key(|p| p.span.as_ref().map_or(0, |s| s.start));
        Err(problems)
    }
}

/// The valid range of a field's value.
#[derive(Debug, Clone, Copy, PartialEq)]
enum ValueRange {
    Any,
    NonNegative,
    Positive,
    Unit,
    Fee,
    AboveMinusOne,
    NonPositive,
}

impl ValueRange {
    fn admits(self, s: Support) -> bool {
        match self {
            ValueRange::Any => true,
            ValueRange::NonNegative => s.lo >= 0.0,
            ValueRange::Positive => s.lo > 0.0 || (s.lo == 0.0 && !s.lo_attained),
            ValueRange::Unit => s.lo >= 0.0 && s.hi <= 1.0,
            ValueRange::Fee => s.lo >= 0.0 && (s.hi < 1.0 || (s.hi == 1.0 && !s.hi_attained)),
            ValueRange::AboveMinusOne => s.lo > -1.0 || (s.lo == -1.0 && !s.lo_attained),
            ValueRange::NonPositive => s.hi <= 0.0,
        }
    }
    fn describe(self) -> &'static str {
        match self {
            ValueRange::Any => "any number",
            ValueRange::NonNegative => "≥ 0",
            ValueRange::Positive => "> 0",
            ValueRange::Unit => "in [0, 1]",
            ValueRange::Fee => "in [0, 1)",
            ValueRange::AboveMinusOne => "> −1",
            ValueRange::NonPositive => "≤ 0",
        }
    }
}

/// Smallest and largest `h100e` accepted.
const MIN_H100E: f64 = 1e-6;
const MAX_H100E: f64 = 1e6;

const IDENT_HELP: &str =
    "names start with a letter or digit and may use letters, digits, '-', '_' and '.'";

fn is_identifier(s: &str) -> bool {
    // The first character is a letter or digit: names become folder names and
    // column headers, so `.`, `..` and hidden names are refused.
    s.starts_with(|c: char| c.is_ascii_alphanumeric())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

fn fmt_num(x: f64) -> String {
    if x == x.trunc() && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        format!("{x}")
    }
}

/// The help for a share, rate or fee above 1.
///
/// From 2 to 100 the value is most likely a percentage (a fraction of 2 or
/// more is no near miss), and the fraction meant is shown; just above 1 it
/// is more likely a slip of the fraction itself, and above 100 it is neither.
/// A fee is below 1, so 100 % is no fee and gets no percent hint.
fn fraction_help(x: f64, range: ValueRange) -> Option<String> {
    let fee = matches!(range, ValueRange::Fee);
    if x >= 2.0 && (x < 100.0 || x == 100.0 && !fee) {
        Some(format!(
            "shares and rates are fractions: {} % is {}",
            fmt_num(x),
            percent_as_fraction(x)?
        ))
    } else if x > 1.0 && x < 2.0 || fee && x == 1.0 {
        Some(if fee {
            "fees are fractions below 1".to_string()
        } else {
            "shares and rates are fractions: at most 1".to_string()
        })
    } else {
        None
    }
}

/// `x / 100` written by moving the decimal point of `x`'s shortest text, so
/// that no float noise shows (1.4 / 100 is 0.013999999999999999). None for
/// a value that is not finite.
pub(super) fn percent_as_fraction(x: f64) -> Option<String> {
    if !x.is_finite() {
        return None;
    }
    let text = fmt_num(x);
    if x < 0.0 || text.contains(['e', 'E']) {
        return Some(fmt_num(x / 100.0));
    }
    let (int, frac) = text.split_once('.').unwrap_or((&text, ""));
    let int = format!("{int:0>3}");
    let (whole, cents) = int.split_at(int.len() - 2);
    let whole = whole.trim_start_matches('0');
    let frac = format!("{cents}{frac}");
    let frac = frac.trim_end_matches('0');
    let whole = if whole.is_empty() { "0" } else { whole };
    Some(if frac.is_empty() {
        whole.to_string()
    } else {
        format!("{whole}.{frac}")
    })
}

#[derive(Default)]
struct Resolver {
    problems: Vec<Problem>,
    inputs: Vec<InputDef>,
    paths: HashMap<String, Option<Range<usize>>>,
    start: Option<YearMonth>,
    months: i64,
    /// Input paths registered twice, with the second one's place.
    collisions: Vec<(String, Option<Range<usize>>)>,
}

impl Resolver {
    fn err(&mut self, span: Option<Range<usize>>, msg: impl Into<String>) -> &mut Problem {
        self.problems.push(Problem::new(span, msg));
        self.problems.last_mut().expect("just pushed")
    }

    fn identifier(&mut self, s: &Spanned<String>, what: &str) -> String {
        let v = s.get_ref();
        if !is_identifier(v) {
            self.err(
                Some(s.span()),
                format!("{what} \"{v}\" is not a valid name"),
            )
            .help = Some(IDENT_HELP.into());
        }
        v.clone()
    }

    fn year_month(&mut self, s: &Spanned<String>) -> Option<YearMonth> {
        match YearMonth::parse(s.get_ref()) {
            Ok(m) => Some(m),
            Err(e) => {
                self.err(Some(s.span()), e);
                None
            }
        }
    }

    /// Month index relative to the start (0 when the start itself is broken).
    fn month_index(&mut self, s: &Spanned<String>) -> i64 {
        match (self.year_month(s), self.start) {
            (Some(m), Some(start)) => start.months_until(m),
            _ => 0,
        }
    }

    fn finite(&mut self, v: &Spanned<f64>, what: &str, range: ValueRange) -> f64 {
        let x = *v.get_ref();
        if !x.is_finite() {
            self.err(
                Some(v.span()),
                format!("{what} must be a finite number, found {x}"),
            );
            return 0.0;
        }
        let s = Support {
            lo: x,
            hi: x,
            lo_attained: true,
            hi_attained: true,
        };
        if !range.admits(s) {
            let p = self.err(
                Some(v.span()),
                format!("{what} must be {}, found {}", range.describe(), fmt_num(x)),
            );
            if matches!(range, ValueRange::Unit | ValueRange::Fee) {
                p.help = fraction_help(x, range);
            }
        }
        x
    }

    fn register(
        &mut self,
        path: String,
        distribution: Distribution,
        span: Option<Range<usize>>,
    ) -> InputId {
        if self.paths.contains_key(&path) {
            // Two inputs with one path always follow from a problem reported
            // on its own (a duplicate name, two rules with one `from`): kept
            // as a last check at the end of `resolve`.
            self.collisions.push((path.clone(), span));
        } else {
            self.paths.insert(path.clone(), span);
        }
        self.inputs.push(InputDef { path, distribution });
        InputId(self.inputs.len() - 1)
    }

    fn uncertain(
        &mut self,
        v: &Spanned<RawUncertain>,
        path: String,
        what: &str,
        range: ValueRange,
    ) -> InputId {
        let span = v.span();
        let dist = match v.get_ref() {
            RawUncertain::Constant(c) => {
                let c = self.finite(&Spanned::new(span.clone(), *c), what, range);
                Distribution::Constant(c)
            }
            RawUncertain::Distribution(d) => match self.distribution(d, span.clone(), what) {
                Some(dist) => {
                    let s = dist.support();
                    if !range.admits(s) {
                        self.err(
                            Some(span.clone()),
                            format!(
                                "{what} must be {}, but this {} can draw values in [{}, {}]",
                                range.describe(),
                                d.dist.get_ref(),
                                fmt_num(s.lo),
                                fmt_num(s.hi)
                            ),
                        )
                        .help = Some("bound it with `min` and `max`, or choose a distribution whose support fits".into());
                    }
                    dist
                }
                None => Distribution::Constant(0.0),
            },
        };
        self.register(path, dist, Some(span))
    }

    fn uncertain_or(
        &mut self,
        v: Option<&Spanned<RawUncertain>>,
        default: f64,
        path: String,
        what: &str,
        range: ValueRange,
    ) -> InputId {
        match v {
            Some(v) => self.uncertain(v, path, what, range),
            None => self.register(path, Distribution::Constant(default), None),
        }
    }

    fn distribution(
        &mut self,
        d: &RawDistribution,
        span: Range<usize>,
        what: &str,
    ) -> Option<Distribution> {
        const FORMS: [&str; 7] = [
            "uniform",
            "normal",
            "lognormal",
            "triangular",
            "pert",
            "beta",
            "discrete",
        ];
        let form = d.dist.get_ref().as_str();
        let present: Vec<(&str, bool)> = vec![
            ("min", d.min.is_some()),
            ("max", d.max.is_some()),
            ("mode", d.mode.is_some()),
            ("mean", d.mean.is_some()),
            ("sd", d.sd.is_some()),
            ("median", d.median.is_some()),
            ("sigma", d.sigma.is_some()),
            ("p5", d.p5.is_some()),
            ("p95", d.p95.is_some()),
            ("alpha", d.alpha.is_some()),
            ("beta", d.beta.is_some()),
            ("values", d.values.is_some()),
            ("weights", d.weights.is_some()),
        ];
        let has = |k: &str| present.iter().any(|(n, p)| *n == k && *p);
        // Which keys a form takes: (required alternatives, optional).
        let (alternatives, optional): (Vec<Vec<&str>>, Vec<&str>) = match form {
            "uniform" => (vec![vec!["min", "max"]], vec![]),
            "normal" => (vec![vec!["mean", "sd"]], vec!["min", "max"]),
            "lognormal" => (
                vec![vec!["median", "sigma"], vec!["p5", "p95"]],
                vec!["min", "max"],
            ),
            "triangular" | "pert" => (vec![vec!["min", "mode", "max"]], vec![]),
            "beta" => (vec![vec!["alpha", "beta"], vec!["mean", "sd"]], vec![]),
            "discrete" => (vec![vec!["values"]], vec!["weights"]),
            other => {
                let p = self.err(
                    Some(d.dist.span()),
                    format!("unknown distribution \"{other}\" for {what}"),
                );
                p.notes
                    .push(format!("expected one of: {}", FORMS.join(", ")));
                if let Some(n) = nearest(other, FORMS) {
                    p.help = Some(format!("did you mean \"{n}\"?"));
                }
                return None;
            }
        };
        let chosen = alternatives.iter().find(|alt| alt.iter().all(|k| has(k)));
        let Some(chosen) = chosen else {
            let forms: Vec<String> = alternatives
                .iter()
                .map(|alt| format!("{{ dist = \"{form}\", {} }}", alt.join(", ")))
                .collect();
            self.err(
                Some(span),
                format!("{what}: a {form} distribution is missing parameters"),
            )
            .notes
            .push(format!("expected {}", forms.join(" or ")));
            return None;
        };
        let extra: Vec<&str> = present
            .iter()
            .filter(|(k, p)| *p && !chosen.contains(k) && !optional.contains(k))
            .map(|(k, _)| *k)
            .collect();
        if !extra.is_empty() {
            self.err(
                Some(span.clone()),
                format!(
                    "{what}: `{}` does not belong to this {form} distribution",
                    extra.join("`, `")
                ),
            )
            .notes
            .push(format!(
                "it takes {}{}",
                chosen.join(", "),
                if optional.is_empty() {
                    String::new()
                } else {
                    format!(" and optionally {}", optional.join(", "))
                }
            ));
            return None;
        }
        let f = |x: Option<f64>| x.unwrap_or(f64::NAN);
        let lo = d.min.unwrap_or(f64::NEG_INFINITY);
        let hi = d.max.unwrap_or(f64::INFINITY);
        let result = match form {
            "uniform" => Distribution::uniform(f(d.min), f(d.max)),
            "normal" => Distribution::normal(f(d.mean), f(d.sd), lo, hi),
            "lognormal" => {
                let lo = d.min.unwrap_or(0.0);
                if chosen.contains(&"median") {
                    Distribution::lognormal_median(f(d.median), f(d.sigma), lo, hi)
                } else {
                    Distribution::lognormal_range(f(d.p5), f(d.p95), lo, hi)
                }
            }
            "triangular" => Distribution::triangular(f(d.min), f(d.mode), f(d.max)),
            "pert" => Distribution::pert(f(d.min), f(d.mode), f(d.max)),
            "beta" => {
                if chosen.contains(&"alpha") {
                    Distribution::beta(f(d.alpha), f(d.beta))
                } else {
                    Distribution::beta_mean_sd(f(d.mean), f(d.sd))
                }
            }
            _ => Distribution::discrete(d.values.clone().unwrap_or_default(), d.weights.clone()),
        };
        match result {
            Ok(dist) => Some(dist),
            Err(msg) => {
                self.err(Some(span), format!("{what}: {msg}"));
                None
            }
        }
    }

    fn resolve(&mut self, raw: RawScenarioFile, text: &str, file: &str) -> Scenario {
        let header = raw.scenario.get_ref();
        let name = self.identifier(&header.name, "scenario name");
        self.start = self.year_month(&header.start);
        let months = *header.months.get_ref();
        if !(1..=defaults::MAX_MONTHS).contains(&months) {
            self.err(
                Some(header.months.span()),
                format!(
                    "months must be between 1 and {}, found {months}",
                    defaults::MAX_MONTHS
                ),
            );
        }
        // An unusable horizon is replaced by the longest, so that no window
        // or date is also refused as outside it.
        self.months = if (1..=defaults::MAX_MONTHS).contains(&months) {
            months
        } else {
            defaults::MAX_MONTHS
        };
        let trials = match &header.trials {
            Some(t) if !(1..=defaults::MAX_TRIALS as i64).contains(t.get_ref()) => {
                self.err(
                    Some(t.span()),
                    format!(
                        "trials must be between 1 and {}, found {}",
                        defaults::MAX_TRIALS,
                        t.get_ref()
                    ),
                );
                1
            }
            Some(t) => *t.get_ref() as u64,
            None => defaults::TRIALS,
        };
        let seed = match &header.seed {
            Some(s) if *s.get_ref() < 0 => {
                self.err(
                    Some(s.span()),
                    format!("seed must be ≥ 0, found {}", s.get_ref()),
                );
                0
            }
            Some(s) => *s.get_ref() as u64,
            None => defaults::SEED,
        };

        // Market and demand.
        let market = raw.market.get_ref();
        let home = self.identifier(&market.home, "home origin code");
        let demand_raw = market.demand.get_ref();
        let demand = DemandSpec {
            initial_h100e: self.uncertain(
                &demand_raw.initial,
                "market.demand.initial".into(),
                "demand `initial`",
                ValueRange::NonNegative,
            ),
            annual_growth: self.uncertain_or(
                demand_raw.annual_growth.as_ref(),
                0.0,
                "market.demand.annual_growth".into(),
                "`annual_growth`",
                ValueRange::AboveMinusOne,
            ),
            monthly_volatility: self.uncertain_or(
                demand_raw.monthly_volatility.as_ref(),
                0.0,
                "market.demand.monthly_volatility".into(),
                "`monthly_volatility`",
                ValueRange::NonNegative,
            ),
            price_elasticity: self.uncertain_or(
                demand_raw.price_elasticity.as_ref(),
                0.0,
                "market.demand.price_elasticity".into(),
                "`price_elasticity`",
                ValueRange::NonPositive,
            ),
        };

        // Segments.
        let mut segments = Vec::new();
        let mut segment_index: HashMap<String, usize> = HashMap::new();
        if raw.segment.is_empty() {
            self.err(Some(raw.market.span()), "the scenario has no [[segment]]")
                .help = Some(
                "add at least one [[segment]] with name, share = 1 and substitution_elasticity"
                    .into(),
            );
        }
        let mut share_sum = 0.0;
        // The sum is checked only when every share is itself valid.
        let problems_before_shares = self.problems.len();
        for seg in &raw.segment {
            let s = seg.get_ref();
            let seg_name = self.identifier(&s.name, "segment name");
            if segment_index.contains_key(&seg_name) {
                self.err(
                    Some(s.name.span()),
                    format!("duplicate segment name \"{seg_name}\""),
                );
            }
            let share = self.finite(&s.share, "segment `share`", ValueRange::Unit);
            share_sum += share;
            let sigma = self.uncertain(
                &s.substitution_elasticity,
                format!("segment.{seg_name}.substitution_elasticity"),
                "`substitution_elasticity`",
                ValueRange::Positive,
            );
            let compliance = self.uncertain_or(
                s.mandate_compliance.as_ref(),
                1.0,
                format!("segment.{seg_name}.mandate_compliance"),
                "`mandate_compliance`",
                ValueRange::Unit,
            );
            segment_index.insert(seg_name.clone(), segments.len());
            segments.push(Segment {
                name: seg_name,
                share,
                substitution_elasticity: sigma,
                mandate_compliance: compliance,
            });
        }
        let shares_valid = !self.problems[problems_before_shares..]
            .iter()
            .any(|p| p.message.starts_with("segment `share`"));
        if !raw.segment.is_empty() && shares_valid && (share_sum - 1.0).abs() > 1e-6 {
            let span = raw.segment.first().map(|s| s.span());
            self.err(
                span,
                format!(
                    "segment shares must sum to 1, they sum to {}",
                    fmt_num((share_sum * 1e9).round() / 1e9)
                ),
            )
            .notes
            .push(format!(
                "shares: {}",
                segments
                    .iter()
                    .map(|s| format!("{} {}", s.name, fmt_num(s.share)))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }

        // Products, vendors, origins.
        let mut vendors: Vec<String> = Vec::new();
        let mut origins: Vec<String> = vec![home.clone()];
        let mut products = Vec::new();
        let mut product_index: HashMap<String, usize> = HashMap::new();
        if raw.product.is_empty() {
            self.err(Some(raw.market.span()), "the scenario has no [[product]]")
                .help = Some(
                "add at least one [[product]] with name, vendor, origin, h100e and price".into(),
            );
        }
        for prod in &raw.product {
            let p = prod.get_ref();
            let pname = self.identifier(&p.name, "product name");
            if product_index.contains_key(&pname) {
                self.err(
                    Some(p.name.span()),
                    format!("duplicate product name \"{pname}\""),
                );
            }
            let vendor = self.identifier(&p.vendor, "vendor name");
            let origin = self.identifier(&p.origin, "origin code");
            let vendor_idx = index_or_push(&mut vendors, &vendor);
            let origin_idx = index_or_push(&mut origins, &origin);
            let domestic = origin == home;
            let h100e = self.finite(&p.h100e, "`h100e`", ValueRange::Positive);
            // Units and compute convert through h100e; far from 1 (a subnormal
            // 1e-320, say) the conversion loses the precision caps rely on.
            if h100e > 0.0 && !(MIN_H100E..=MAX_H100E).contains(&h100e) {
                self.err(
                    Some(p.h100e.span()),
                    format!("`h100e` must be between 1e-6 and 1e6, found {h100e:e}"),
                )
                .notes
                .push(
                    "H100-equivalents of compute per unit: an H100 is 1, an H20 about 0.15".into(),
                );
            }
            let base = format!("product.{pname}");
            let price = self.uncertain(
                &p.price,
                format!("{base}.price"),
                "`price`",
                ValueRange::Positive,
            );
            let price_trend = self.uncertain_or(
                p.price_trend.as_ref(),
                0.0,
                format!("{base}.price_trend"),
                "`price_trend`",
                ValueRange::AboveMinusOne,
            );
            let preference = self.uncertain_or(
                p.preference.as_ref(),
                1.0,
                format!("{base}.preference"),
                "`preference`",
                ValueRange::Positive,
            );
            let launch_month = match &p.launch {
                Some(l) => self.month_index(l),
                None => 0,
            };
            let supply_units = match &p.supply {
                Some(s) if domestic => {
                    self.err(Some(s.span()), format!("`supply` is for foreign products; \"{pname}\" is domestic (origin {home})"))
                        .help = Some("a domestic product's output is set by [product.production]".into());
                    None
                }
                Some(s) => Some(self.uncertain(
                    s,
                    format!("{base}.supply"),
                    "`supply`",
                    ValueRange::NonNegative,
                )),
                None => None,
            };
            let production = match (&p.production, domestic) {
                (Some(prod_raw), true) => Some(self.production(prod_raw, &base)),
                (Some(prod_raw), false) => {
                    self.err(
                        Some(prod_raw.span()),
                        format!(
                            "\"{pname}\" is foreign (origin {origin}) but has [product.production]"
                        ),
                    )
                    .help = Some(format!(
                        "production is for domestic products (origin {home}); a foreign product's monthly shipments are `supply`"
                    ));
                    None
                }
                (None, true) => {
                    self.err(
                        Some(p.name.span()),
                        format!("domestic product \"{pname}\" (origin {home}) has no [product.production]"),
                    )
                    .help = Some("add [product.production] with ceiling, midpoint and ramp_months, or a schedule".into());
                    None
                }
                (None, false) => None,
            };
            product_index.insert(pname.clone(), products.len());
            products.push(Product {
                label: p.label.clone().unwrap_or_else(|| pname.clone()),
                name: pname,
                vendor: vendor_idx,
                origin: origin_idx,
                domestic,
                h100e,
                price_usd: price,
                price_trend,
                preference,
                launch_month,
                supply_units,
                production,
            });
        }
        self.check_namespaces(&raw, &vendors, &origins);

        // Rules.
        let export_rules = self.product_timeline(
            &raw.export_rule,
            |r| (r.from.as_ref(), r.until.as_ref()),
            |me, r, from| me.export_rule(r, &product_index, &products, Some(from), "export_rule"),
            |rule| rule.product,
            "export",
            &products,
        );
        let import_rules = self.product_timeline(
            &raw.import_rule,
            |r| (r.from.as_ref(), r.until.as_ref()),
            |me, r, from| {
                me.import_rule(
                    r,
                    &product_index,
                    &products,
                    &segment_index,
                    Some(from),
                    "import_rule",
                )
            },
            |rule| rule.product,
            "import",
            &products,
        );
        let mut mandates = Vec::new();
        let mut mandate_froms: HashSet<(usize, i64)> = HashSet::new();
        for (order, m) in raw.domestic_mandate.iter().enumerate() {
            let Some((from_text, window)) = self.scheduled_window(
                m.get_ref().from.as_ref(),
                m.get_ref().until.as_ref(),
                m.span(),
            ) else {
                continue;
            };
            let mandate = self.mandate(
                m.get_ref(),
                &segment_index,
                &segments,
                &from_text,
                "domestic_mandate",
            );
            let mut clash = false;
            for &s in &mandate.segments {
                if !mandate_froms.insert((s, window.from)) {
                    clash = true;
                }
            }
            if clash {
                self.err(
                    Some(m.span()),
                    "two domestic mandates binding the same segment start in the same month",
                )
                .help = Some("within one timeline each rule needs its own `from`".into());
            }
            mandates.push(Scheduled {
                window,
                order,
                rule: mandate,
            });
        }

        // Shocks.
        let mut shocks = Vec::new();
        let mut shock_names: HashSet<String> = HashSet::new();
        for sh in &raw.shock {
            if let Some(shock) =
                self.shock(sh, &product_index, &products, &segment_index, &segments)
            {
                if !shock_names.insert(shock.name.clone()) {
                    self.err(
                        Some(sh.get_ref().name.span()),
                        format!("duplicate shock name \"{}\"", shock.name),
                    );
                }
                shocks.push(shock);
            }
        }

        if self.problems.is_empty() {
            // Unreachable as far as known (see `register`), but never run a
            // scenario whose inputs would share a random stream.
            for (path, span) in std::mem::take(&mut self.collisions) {
                self.err(
                    span,
                    format!("two inputs would have the same path `{path}`"),
                );
            }
        }
        Scenario {
            name,
            title: header
                .title
                .clone()
                .unwrap_or_else(|| header.name.get_ref().clone()),
            description: header.description.clone().unwrap_or_default(),
            source_file: file.to_string(),
            source_text: text.to_string(),
            start: self.start.unwrap_or(YearMonth {
                year: 2026,
                month: 1,
            }),
            months: self.months as usize,
            trials,
            seed,
            market_name: market.name.get_ref().clone(),
            home_origin: 0,
            demand,
            segments,
            products,
            vendors,
            origins,
            export_rules,
            import_rules,
            mandates,
            shocks,
            inputs: std::mem::take(&mut self.inputs),
            provenance: Provenance::default(),
        }
    }

    /// The scheduled rules of one kind, each resolved with `resolve`, with
    /// the check that no two rules of one product's timeline share a `from`.
    fn product_timeline<T, R>(
        &mut self,
        raw: &[Spanned<T>],
        dates: impl Fn(&T) -> (Option<&Spanned<String>>, Option<&Spanned<String>>),
        mut resolve: impl FnMut(&mut Self, &T, String) -> Option<R>,
        product_of: impl Fn(&R) -> usize,
        kind: &str,
        products: &[Product],
    ) -> Vec<Scheduled<R>> {
        let mut out = Vec::new();
        let mut froms: HashSet<(usize, i64)> = HashSet::new();
        for (order, r) in raw.iter().enumerate() {
            let (from, until) = dates(r.get_ref());
            let Some((from_text, window)) = self.scheduled_window(from, until, r.span()) else {
                continue;
            };
            let Some(rule) = resolve(self, r.get_ref(), from_text) else {
                continue;
            };
            let product = product_of(&rule);
            if !froms.insert((product, window.from)) {
                self.err(
                    Some(r.span()),
                    format!(
                        "two {kind} rules of \"{}\" start in the same month",
                        products[product].name
                    ),
                )
                .help = Some("within one timeline each rule needs its own `from`".into());
            }
            out.push(Scheduled {
                window,
                order,
                rule,
            });
        }
        out
    }

    /// `from`/`until` of a scheduled rule: (the `from` text, the window).
    fn scheduled_window(
        &mut self,
        from: Option<&Spanned<String>>,
        until: Option<&Spanned<String>>,
        span: Range<usize>,
    ) -> Option<(String, RuleWindow)> {
        let Some(from) = from else {
            self.err(Some(span), "missing required field `from`").help =
                Some("add `from = \"YYYY-MM\"`: the first month the rule is in force".into());
            return None;
        };
        let from_idx = self.month_index(from);
        let until_idx = until.map(|u| {
            let idx = self.month_index(u);
            if idx < from_idx {
                self.err(
                    Some(u.span()),
                    format!(
                        "`until` ({}) is before `from` ({})",
                        u.get_ref(),
                        from.get_ref()
                    ),
                );
            }
            idx
        });
        Some((
            from.get_ref().clone(),
            RuleWindow {
                from: from_idx,
                until: until_idx,
            },
        ))
    }

    fn product_ref(
        &mut self,
        name: &Spanned<String>,
        product_index: &HashMap<String, usize>,
        products: &[Product],
        kind: &str,
    ) -> Option<usize> {
        match product_index.get(name.get_ref()) {
            Some(&i) => {
                if products[i].domestic {
                    self.err(
                        Some(name.span()),
                        format!("{kind} names \"{}\", a domestic product", name.get_ref()),
                    )
                    .notes
                    .push("export and import rules apply to foreign products only".into());
                    None
                } else {
                    Some(i)
                }
            }
            None => {
                let p = self.err(
                    Some(name.span()),
                    format!("{kind} names unknown product \"{}\"", name.get_ref()),
                );
                let mut known: Vec<&str> = Vec::new();
                for p in products {
                    if !known.contains(&p.name.as_str()) {
                        known.push(&p.name);
                    }
                }
                p.notes
                    .push(format!("known products: {}", known.join(", ")));
                if let Some(n) = nearest(name.get_ref(), products.iter().map(|p| p.name.as_str())) {
                    p.help = Some(format!("did you mean \"{n}\"?"));
                }
                None
            }
        }
    }

    fn segment_refs(
        &mut self,
        list: &Spanned<Vec<Spanned<String>>>,
        segment_index: &HashMap<String, usize>,
    ) -> Vec<usize> {
        let mut out = Vec::new();
        if list.get_ref().is_empty() {
            self.err(Some(list.span()), "`segments` is empty").help =
                Some("name at least one segment, or leave `segments` out to mean all".into());
        }
        for s in list.get_ref() {
            match segment_index.get(s.get_ref()) {
                Some(&i) => {
                    if !out.contains(&i) {
                        out.push(i);
                    }
                }
                None => {
                    let mut names: Vec<&str> = segment_index.keys().map(String::as_str).collect();
                    names.sort();
                    let p = self.err(
                        Some(s.span()),
                        format!("unknown segment \"{}\"", s.get_ref()),
                    );
                    p.notes
                        .push(format!("known segments: {}", names.join(", ")));
                    if let Some(n) = nearest(s.get_ref(), names.iter().copied()) {
                        p.help = Some(format!("did you mean \"{n}\"?"));
                    }
                }
            }
        }
        out.sort_unstable();
        out
    }

    /// An export rule; `from` is the text used in input paths (`None` inside a shock).
    fn export_rule(
        &mut self,
        r: &RawExportRule,
        product_index: &HashMap<String, usize>,
        products: &[Product],
        from: Option<String>,
        prefix: &str,
    ) -> Option<ExportRule> {
        let product = self.product_ref(&r.product, product_index, products, "export rule")?;
        let base = match &from {
            Some(f) => format!("{prefix}.{}.{f}", r.product.get_ref()),
            None => prefix.to_string(),
        };
        let mut regime_known = true;
        let regime = match r.regime.as_ref().map(|s| s.get_ref().as_str()) {
            None | Some("open") => ExportRegime::Open,
            Some("licensed") => ExportRegime::Licensed,
            Some("banned") => ExportRegime::Banned,
            Some(other) => {
                // Whether `quota` belongs depends on the regime meant: no guesses.
                regime_known = false;
                let span = r.regime.as_ref().map(|s| s.span());
                let p = self.err(span, format!("unknown export regime \"{other}\""));
                p.notes
                    .push("expected one of: open, licensed, banned".into());
                if let Some(n) = nearest(other, ["open", "licensed", "banned"]) {
                    p.help = Some(format!("did you mean \"{n}\"?"));
                }
                ExportRegime::Open
            }
        };
        let licensed = regime == ExportRegime::Licensed;
        let quota = match (&r.quota, licensed) {
            (Some(q), true) => Some(self.uncertain(
                q,
                format!("{base}.quota"),
                "`quota`",
                ValueRange::NonNegative,
            )),
            (None, true) => {
                self.err(
                    r.regime.as_ref().map(|s| s.span()),
                    "the licensed regime needs a `quota` (units a month)",
                );
                None
            }
            (Some(q), false) => {
                if regime_known {
                    self.err(
                        Some(q.span()),
                        "`quota` applies only to regime = \"licensed\"",
                    )
                    .misplaced_key = true;
                }
                None
            }
            (None, false) => None,
        };
        let approval_rate = match (&r.approval_rate, licensed) {
            (Some(a), true) => Some(self.uncertain(
                a,
                format!("{base}.approval_rate"),
                "`approval_rate`",
                ValueRange::Unit,
            )),
            (Some(a), false) => {
                if regime_known {
                    self.err(
                        Some(a.span()),
                        "`approval_rate` applies only to regime = \"licensed\"",
                    )
                    .misplaced_key = true;
                }
                None
            }
            (None, _) => None,
        };
        let revenue_fee = r.revenue_fee.as_ref().map(|f| {
            self.uncertain(
                f,
                format!("{base}.revenue_fee"),
                "`revenue_fee`",
                ValueRange::Fee,
            )
        });
        let fee_pass_through = r.fee_pass_through.as_ref().map(|f| {
            self.uncertain(
                f,
                format!("{base}.fee_pass_through"),
                "`fee_pass_through`",
                ValueRange::Unit,
            )
        });
        Some(ExportRule {
            product,
            regime,
            quota_units: quota,
            approval_rate,
            revenue_fee,
            fee_pass_through,
        })
    }

    fn import_rule(
        &mut self,
        r: &RawImportRule,
        product_index: &HashMap<String, usize>,
        products: &[Product],
        segment_index: &HashMap<String, usize>,
        from: Option<String>,
        prefix: &str,
    ) -> Option<ImportRule> {
        let product = self.product_ref(&r.product, product_index, products, "import rule")?;
        let base = match &from {
            Some(f) => format!("{prefix}.{}.{f}", r.product.get_ref()),
            None => prefix.to_string(),
        };
        let regime = match r.regime.as_ref().map(|s| s.get_ref().as_str()) {
            None | Some("open") => ImportRegime::Open,
            Some("banned") => ImportRegime::Banned,
            Some(other) => {
                let span = r.regime.as_ref().map(|s| s.span());
                let p = self.err(span, format!("unknown import regime \"{other}\""));
                p.notes.push("expected one of: open, banned".into());
                if let Some(n) = nearest(other, ["open", "banned"]) {
                    p.help = Some(format!("did you mean \"{n}\"?"));
                }
                ImportRegime::Open
            }
        };
        let cumulative_cap_units = r.cumulative_cap.as_ref().map(|c| {
            self.uncertain(
                c,
                format!("{base}.cumulative_cap"),
                "`cumulative_cap`",
                ValueRange::NonNegative,
            )
        });
        let segments = r
            .segments
            .as_ref()
            .map(|l| self.segment_refs(l, segment_index));
        Some(ImportRule {
            product,
            regime,
            cumulative_cap_units,
            segments,
        })
    }

    fn mandate(
        &mut self,
        m: &RawMandate,
        segment_index: &HashMap<String, usize>,
        segments: &[Segment],
        from_text: &str,
        prefix: &str,
    ) -> Mandate {
        let bound = match &m.segments {
            Some(l) => self.segment_refs(l, segment_index),
            None => (0..segments.len()).collect(),
        };
        // Keyed by content: a mandate naming segments carries their names
        // (sorted), so its path never depends on the other mandates.
        let mut base = prefix.to_string();
        if !from_text.is_empty() {
            base = format!("{base}.{from_text}");
        }
        if m.segments.is_some() {
            let mut names: Vec<&str> = bound.iter().map(|&s| segments[s].name.as_str()).collect();
            names.sort_unstable();
            base = format!("{base}.{}", names.join("+"));
        }
        let share = self.uncertain(
            &m.share,
            format!("{base}.share"),
            "mandate `share`",
            ValueRange::Unit,
        );
        let basis = match m.basis.as_ref().map(|s| s.get_ref().as_str()) {
            None | Some("units") => MandateBasis::Units,
            Some("compute") => MandateBasis::Compute,
            Some(other) => {
                let span = m.basis.as_ref().map(|s| s.span());
                let p = self.err(span, format!("unknown mandate basis \"{other}\""));
                p.notes.push("expected one of: units, compute".into());
                if let Some(n) = nearest(other, ["units", "compute"]) {
                    p.help = Some(format!("did you mean \"{n}\"?"));
                }
                MandateBasis::Units
            }
        };
        Mandate {
            share,
            basis,
            segments: bound,
        }
    }

    fn shock(
        &mut self,
        sh: &Spanned<RawShock>,
        product_index: &HashMap<String, usize>,
        products: &[Product],
        segment_index: &HashMap<String, usize>,
        segments: &[Segment],
    ) -> Option<Shock> {
        let s = sh.get_ref();
        let name = self.identifier(&s.name, "shock name");
        let trigger = match (&s.monthly_hazard, &s.probability) {
            (Some(h), None) => {
                ShockTrigger::MonthlyHazard(self.finite(h, "`monthly_hazard`", ValueRange::Unit))
            }
            (None, Some(p)) => {
                ShockTrigger::Probability(self.finite(p, "`probability`", ValueRange::Unit))
            }
            (Some(h), Some(_)) => {
                self.err(
                    Some(h.span()),
                    format!("shock \"{name}\" has both `monthly_hazard` and `probability`"),
                )
                .help =
                    Some("keep one: a hazard per month, or one probability over the window".into());
                return None;
            }
            (None, None) => {
                self.err(
                    Some(s.name.span()),
                    format!("shock \"{name}\" needs `monthly_hazard` or `probability`"),
                );
                return None;
            }
        };
        let (w0, w1) = s.window.get_ref();
        let start_idx = self.month_index(w0);
        let end_idx = self.month_index(w1);
        if end_idx < start_idx {
            self.err(
                Some(s.window.span()),
                format!(
                    "window ends ({}) before it starts ({})",
                    w1.get_ref(),
                    w0.get_ref()
                ),
            );
        } else if start_idx < 0 || start_idx >= self.months {
            let note = match self.start {
                Some(start) => format!(
                    "a shock's window must start within the simulated months, {} to {}",
                    start,
                    start.plus(self.months - 1)
                ),
                None => "a shock's window must start within the simulated months".into(),
            };
            self.err(
                Some(w0.span()),
                format!(
                    "window starts ({}) outside the horizon of the scenario",
                    w0.get_ref()
                ),
            )
            .notes
            .push(note);
        }
        let duration_months = match &s.duration_months {
            Some(d) if !(1..=defaults::MAX_MONTHS).contains(d.get_ref()) => {
                self.err(
                    Some(d.span()),
                    format!(
                        "`duration_months` must be between 1 and {}, found {}",
                        defaults::MAX_MONTHS,
                        d.get_ref()
                    ),
                );
                None
            }
            Some(d) => Some(*d.get_ref()),
            None => None,
        };
        let prefix = format!("shock.{name}");
        let tables = [
            s.export_rule.is_some(),
            s.import_rule.is_some(),
            s.domestic_mandate.is_some(),
        ];
        let count = tables.iter().filter(|b| **b).count();
        if count != 1 {
            self.err(
                Some(s.name.span()),
                if count == 0 {
                    format!("shock \"{name}\" has no rule table")
                } else {
                    format!("shock \"{name}\" has {count} rule tables")
                },
            )
            .help = Some("give exactly one of [shock.export_rule], [shock.import_rule], [shock.domestic_mandate]".into());
            return None;
        }
        let no_dates =
            |me: &mut Self, from: &Option<Spanned<String>>, until: &Option<Spanned<String>>| {
                for d in [from, until].into_iter().flatten() {
                    me.err(
                        Some(d.span()),
                        "a shock's rule has no `from` or `until`: the shock's month is its start",
                    )
                    .help = Some("set `window` and `duration_months` on the shock instead".into());
                }
            };
        let rule = if let Some(r) = &s.export_rule {
            no_dates(self, &r.get_ref().from, &r.get_ref().until);
            ShockRule::Export(self.export_rule(
                r.get_ref(),
                product_index,
                products,
                None,
                &format!("{prefix}.export_rule"),
            )?)
        } else if let Some(r) = &s.import_rule {
            no_dates(self, &r.get_ref().from, &r.get_ref().until);
            ShockRule::Import(self.import_rule(
                r.get_ref(),
                product_index,
                products,
                segment_index,
                None,
                &format!("{prefix}.import_rule"),
            )?)
        } else if let Some(m) = &s.domestic_mandate {
            no_dates(self, &m.get_ref().from, &m.get_ref().until);
            ShockRule::Mandate(self.mandate(
                m.get_ref(),
                segment_index,
                segments,
                "",
                &format!("{prefix}.domestic_mandate"),
            ))
        } else {
            return None;
        };
        let month_path = format!("{prefix}.month");
        Some(Shock {
            name,
            description: s.description.clone().unwrap_or_default(),
            trigger,
            window: (start_idx, end_idx),
            duration_months,
            rule,
            month_path,
        })
    }

    fn production(&mut self, p: &Spanned<RawProduction>, base: &str) -> Production {
        let raw = p.get_ref();
        let base = format!("{base}.production");
        let logistic_keys = [
            ("ceiling", raw.ceiling.is_some()),
            ("midpoint", raw.midpoint.is_some()),
            ("ramp_months", raw.ramp_months.is_some()),
            ("midpoint_shift", raw.midpoint_shift.is_some()),
        ];
        let curve = if let Some(schedule) = &raw.schedule {
            let extra: Vec<&str> = logistic_keys
                .iter()
                .filter(|(_, p)| *p)
                .map(|(k, _)| *k)
                .collect();
            if !extra.is_empty() {
                self.err(
                    Some(p.span()),
                    format!("production has both a `schedule` and logistic fields (`{}`)", extra.join("`, `")),
                )
                .help = Some("use either schedule = [[\"YYYY-MM\", units], ...] or ceiling, midpoint, ramp_months".into());
            }
            if schedule.get_ref().is_empty() {
                self.err(Some(schedule.span()), "`schedule` is empty").help =
                    Some("give at least one [\"YYYY-MM\", units] point".into());
            }
            let mut points = Vec::new();
            // Compared as calendar months: a broken `start` or point must
            // not make every later point look out of order.
            let mut last: Option<YearMonth> = None;
            for pt in schedule.get_ref() {
                let (m, u) = pt.get_ref();
                let month = self.year_month(m);
                let idx = match (month, self.start) {
                    (Some(month), Some(start)) => start.months_until(month),
                    _ => 0,
                };
                let units = self.finite(u, "scheduled units", ValueRange::NonNegative);
                if let (Some(prev), Some(month)) = (last, month)
                    && month <= prev
                {
                    self.err(
                        Some(m.span()),
                        format!("schedule months must increase; {} does not", m.get_ref()),
                    );
                }
                last = month.or(last);
                points.push((idx, units));
            }
            ProductionCurve::Schedule(points)
        } else {
            let missing: Vec<&str> = logistic_keys
                .iter()
                .take(3)
                .filter(|(_, p)| !*p)
                .map(|(k, _)| *k)
                .collect();
            if !missing.is_empty() {
                self.err(Some(p.span()), format!("production is missing `{}`", missing.join("`, `"))).help = Some(
                    "a logistic ramp needs ceiling, midpoint and ramp_months; or give schedule = [[\"YYYY-MM\", units], ...]"
                        .into(),
                );
            }
            let ceiling = match &raw.ceiling {
                Some(c) => self.uncertain(
                    c,
                    format!("{base}.ceiling"),
                    "`ceiling`",
                    ValueRange::NonNegative,
                ),
                None => self.register(format!("{base}.ceiling"), Distribution::Constant(0.0), None),
            };
            let midpoint_month = raw.midpoint.as_ref().map_or(0, |m| self.month_index(m));
            let shift = self.uncertain_or(
                raw.midpoint_shift.as_ref(),
                0.0,
                format!("{base}.midpoint_shift"),
                "`midpoint_shift`",
                ValueRange::Any,
            );
            let ramp = match &raw.ramp_months {
                Some(r) => self.uncertain(
                    r,
                    format!("{base}.ramp_months"),
                    "`ramp_months`",
                    ValueRange::Positive,
                ),
                None => self.register(
                    format!("{base}.ramp_months"),
                    Distribution::Constant(1.0),
                    None,
                ),
            };
            ProductionCurve::Logistic {
                ceiling_units: ceiling,
                midpoint_month,
                midpoint_shift_months: shift,
                ramp_months: ramp,
            }
        };
        let scale = self.uncertain_or(
            raw.scale.as_ref(),
            1.0,
            format!("{base}.scale"),
            "`scale`",
            ValueRange::NonNegative,
        );
        let inventory = self.uncertain_or(
            raw.initial_inventory.as_ref(),
            0.0,
            format!("{base}.initial_inventory"),
            "`initial_inventory`",
            ValueRange::NonNegative,
        );
        Production {
            curve,
            scale,
            initial_inventory_units: inventory,
        }
    }

    /// Product, vendor, segment names and origin codes share the outputs' `entity` column.
    fn check_namespaces(&mut self, raw: &RawScenarioFile, vendors: &[String], origins: &[String]) {
        let mut owner: BTreeMap<String, &'static str> = BTreeMap::new();
        owner.insert("market".into(), "a reserved word");
        owner.insert("total".into(), "a reserved word");
        let mut clash = |me: &mut Self, name: &str, kind: &'static str, span: Range<usize>| {
            match owner.get(name) {
                Some(&other) if other != kind => {
                    me.err(Some(span), format!("{kind} \"{name}\" has the same name as {other}"))
                        .notes
                        .push("product, vendor and segment names, origin codes, `market` and `total` must all differ (they share the outputs' entity column)".into());
                }
                _ => {
                    owner.insert(name.to_string(), kind);
                }
            }
        };
        for s in &raw.segment {
            clash(
                self,
                s.get_ref().name.get_ref(),
                "segment",
                s.get_ref().name.span(),
            );
        }
        for p in &raw.product {
            let p = p.get_ref();
            clash(self, p.name.get_ref(), "product", p.name.span());
        }
        for p in &raw.product {
            let p = p.get_ref();
            if vendors.contains(p.vendor.get_ref()) {
                clash(self, p.vendor.get_ref(), "vendor", p.vendor.span());
            }
            if origins.contains(p.origin.get_ref()) {
                clash(self, p.origin.get_ref(), "origin code", p.origin.span());
            }
        }
        let home = &raw.market.get_ref().home;
        clash(self, home.get_ref(), "origin code", home.span());
    }
}

fn index_or_push(list: &mut Vec<String>, name: &str) -> usize {
    match list.iter().position(|n| n == name) {
        Some(i) => i,
        None => {
            list.push(name.to_string());
            list.len() - 1
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_percent_hint_is_for_percentages_only_and_without_float_noise() {
        let help = |x: f64| fraction_help(x, ValueRange::Unit).unwrap_or_default();
        assert_eq!(help(1.4), "shares and rates are fractions: at most 1");
        assert_eq!(help(1.1), "shares and rates are fractions: at most 1");
        assert_eq!(help(25.0), "shares and rates are fractions: 25 % is 0.25");
        assert_eq!(
            help(15.5),
            "shares and rates are fractions: 15.5 % is 0.155"
        );
        assert_eq!(help(2.0), "shares and rates are fractions: 2 % is 0.02");
        assert_eq!(help(100.0), "shares and rates are fractions: 100 % is 1");
        assert_eq!(fraction_help(150.0, ValueRange::Unit), None);
        assert_eq!(fraction_help(1.0, ValueRange::Unit), None);
        assert_eq!(percent_as_fraction(2.345).as_deref(), Some("0.02345"));
        assert_eq!(percent_as_fraction(55.0).as_deref(), Some("0.55"));
    }

    #[test]
    fn a_fee_is_told_it_is_below_1_and_never_that_100_percent_is_1() {
        let fee = |x: f64| fraction_help(x, ValueRange::Fee);
        assert_eq!(fee(100.0), None);
        assert_eq!(fee(1.5).as_deref(), Some("fees are fractions below 1"));
        assert_eq!(fee(1.0).as_deref(), Some("fees are fractions below 1"));
        assert_eq!(
            fee(25.0).as_deref(),
            Some("shares and rates are fractions: 25 % is 0.25")
        );
    }

    #[test]
    fn no_fraction_is_made_of_a_value_that_is_not_finite() {
        assert_eq!(percent_as_fraction(f64::INFINITY), None);
        assert_eq!(percent_as_fraction(f64::NAN), None);
        assert_eq!(percent_as_fraction(f64::NEG_INFINITY), None);
    }
}
