//! Policy in force: which rule of each timeline holds in a month, given the
//! months in which the trial's shocks fired.

use crate::scenario::{RuleWindow, Scenario, ShockRule, ShockTrigger};

/// Where a rule comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleSource {
    /// Index into the scenario's scheduled rules of that kind.
    Scheduled(usize),
    /// Index into the scenario's shocks.
    Shock(usize),
}

/// A rule that may hold on a timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candidate {
    /// Its origin.
    pub source: RuleSource,
    /// Its months, for a scheduled rule (a shock's depend on when it fired).
    pub window: RuleWindow,
    /// Position in the file, among rules of its kind (or among shocks).
    pub order: usize,
}

/// Rule candidates of every timeline, prepared once per scenario.
#[derive(Debug, Clone, Default)]
pub struct Timelines {
    /// Export rules per product.
    pub export: Vec<Vec<Candidate>>,
    /// Import rules per product.
    pub import: Vec<Vec<Candidate>>,
    /// Mandates per segment.
    pub mandate: Vec<Vec<Candidate>>,
}

impl Timelines {
    /// Sorts every rule and shock of `scenario` onto its timelines.
    pub fn new(scenario: &Scenario) -> Self {
        let np = scenario.products.len();
        let ns = scenario.segments.len();
        let mut t = Timelines {
            export: vec![Vec::new(); np],
            import: vec![Vec::new(); np],
            mandate: vec![Vec::new(); ns],
        };
        let unset = RuleWindow {
            from: 0,
            until: None,
        };
        for (i, r) in scenario.export_rules.iter().enumerate() {
            t.export[r.rule.product].push(Candidate {
                source: RuleSource::Scheduled(i),
                window: r.window,
                order: r.order,
            });
        }
        for (i, r) in scenario.import_rules.iter().enumerate() {
            t.import[r.rule.product].push(Candidate {
                source: RuleSource::Scheduled(i),
                window: r.window,
                order: r.order,
            });
        }
        for (i, r) in scenario.mandates.iter().enumerate() {
            for &s in &r.rule.segments {
                t.mandate[s].push(Candidate {
                    source: RuleSource::Scheduled(i),
                    window: r.window,
                    order: r.order,
                });
            }
        }
        for (i, sh) in scenario.shocks.iter().enumerate() {
            let c = Candidate {
                source: RuleSource::Shock(i),
                window: unset,
                order: i,
            };
            match &sh.rule {
                ShockRule::Export(r) => t.export[r.product].push(c),
                ShockRule::Import(r) => t.import[r.product].push(c),
                ShockRule::Mandate(m) => {
                    for &s in &m.segments {
                        t.mandate[s].push(c);
                    }
                }
            }
        }
        t
    }
}

/// The rule in force in month `t` among `candidates`, given each shock's
/// firing month (`fired[i]`, `None` if it did not fire) and duration.
///
/// Among the rules whose window contains `t`, the latest `from` wins; on a
/// tie a fired shock beats a scheduled rule, then the later in the file wins.
pub fn rule_in_force(
    candidates: &[Candidate],
    fired: &[Option<i64>],
    durations: &[Option<i64>],
    t: i64,
) -> Option<RuleSource> {
    let mut best: Option<((i64, u8, usize), RuleSource)> = None;
    for c in candidates {
        let (window, is_shock) = match c.source {
            RuleSource::Scheduled(_) => (c.window, 0u8),
            RuleSource::Shock(i) => match fired[i] {
                Some(k) => (
                    RuleWindow {
                        from: k,
                        until: durations[i].map(|d| k.saturating_add(d - 1)),
                    },
                    1u8,
                ),
                None => continue,
            },
        };
        if !window.contains(t) {
            continue;
        }
        let key = (window.from, is_shock, c.order);
        if best.is_none_or(|(b, _)| key > b) {
            best = Some((key, c.source));
        }
    }
    best.map(|(_, s)| s)
}

/// The month a shock fires in, from its one uniform `u`: the inverse CDF of
/// the firing month's distribution, with "did not fire within the horizon"
/// as `None`. `window` is in month indices; `months` is the horizon.
pub fn shock_month(trigger: ShockTrigger, window: (i64, i64), months: i64, u: f64) -> Option<i64> {
    let (w0, w1) = window;
    let len = w1 - w0 + 1;
    if len <= 0 {
        return None;
    }
    let month = match trigger {
        ShockTrigger::MonthlyHazard(h) => {
            if h <= 0.0 {
                return None;
            }
            // Geometric: P(first fire at month i of the window) = h (1 − h)^i.
            let i = if h >= 1.0 {
                0.0
            } else {
                ((1.0 - u).ln() / (1.0 - h).ln()).floor()
            };
            if i >= len as f64 {
                return None;
            }
            w0 + i as i64
        }
        ShockTrigger::Probability(p) => {
            if u >= p {
                return None;
            }
            // Given u < p, u / p is uniform: the month, uniform over the window.
            let i = ((u / p) * len as f64).floor().min((len - 1) as f64);
            w0 + i as i64
        }
    };
    (month < months && month >= 0).then_some(month)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sched(i: usize, from: i64, until: Option<i64>) -> Candidate {
        Candidate {
            source: RuleSource::Scheduled(i),
            window: RuleWindow { from, until },
            order: i,
        }
    }

    #[test]
    fn latest_from_wins_and_earlier_rule_returns_after_until() {
        let c = [sched(0, 0, None), sched(1, 6, Some(11))];
        assert_eq!(
            rule_in_force(&c, &[], &[], 3),
            Some(RuleSource::Scheduled(0))
        );
        assert_eq!(
            rule_in_force(&c, &[], &[], 6),
            Some(RuleSource::Scheduled(1))
        );
        assert_eq!(
            rule_in_force(&c, &[], &[], 11),
            Some(RuleSource::Scheduled(1))
        );
        assert_eq!(
            rule_in_force(&c, &[], &[], 12),
            Some(RuleSource::Scheduled(0))
        );
        assert_eq!(rule_in_force(&[sched(0, 5, None)], &[], &[], 4), None);
    }

    #[test]
    fn a_fired_shock_wins_a_tie_and_lasts_its_duration() {
        let shock = Candidate {
            source: RuleSource::Shock(0),
            window: RuleWindow {
                from: 0,
                until: None,
            },
            order: 0,
        };
        let c = [sched(0, 6, None), shock];
        let fired = [Some(6)];
        let dur = [Some(3)];
        assert_eq!(
            rule_in_force(&c, &fired, &dur, 6),
            Some(RuleSource::Shock(0))
        );
        assert_eq!(
            rule_in_force(&c, &fired, &dur, 8),
            Some(RuleSource::Shock(0))
        );
        assert_eq!(
            rule_in_force(&c, &fired, &dur, 9),
            Some(RuleSource::Scheduled(0))
        );
        assert_eq!(
            rule_in_force(&c, &[None], &dur, 7),
            Some(RuleSource::Scheduled(0))
        );
    }

    #[test]
    fn shock_month_inverts_its_distribution() {
        let h = ShockTrigger::MonthlyHazard(0.5);
        // P(fire in first month) = 0.5: u < 0.5 → month w0.
        assert_eq!(shock_month(h, (2, 10), 36, 0.49), Some(2));
        assert_eq!(shock_month(h, (2, 10), 36, 0.51), Some(3));
        // 1 − (0.5)^9 of the mass is inside a 9-month window.
        assert_eq!(
            shock_month(h, (2, 10), 36, 1.0 - 0.5f64.powi(9) + 1e-6),
            None
        );
        let p = ShockTrigger::Probability(0.3);
        assert_eq!(shock_month(p, (0, 9), 36, 0.31), None);
        assert_eq!(shock_month(p, (0, 9), 36, 0.0299), Some(0));
        assert_eq!(shock_month(p, (0, 9), 36, 0.2999), Some(9));
        // Months past the horizon have no effect.
        assert_eq!(shock_month(p, (30, 49), 36, 0.29), None);
    }
}
