//! `tradeflow check`: the resolved scenario in words — inputs (constant or
//! distribution), segments, products, and the policy timeline month by month.

use crate::model::{RuleSource, Timelines, rule_in_force};
use crate::sampling::Distribution;
use crate::scenario::{
    ExportRegime, ExportRule, ImportRegime, ImportRule, InputId, Mandate, MandateBasis,
    ProductionCurve, Scenario, ShockRule, ShockTrigger,
};
use std::fmt::Write;

fn input(sc: &Scenario, id: InputId) -> String {
    sc.input(id).distribution.to_string()
}

fn export_text(sc: &Scenario, r: &ExportRule) -> String {
    let mut s = match r.regime {
        ExportRegime::Open => "open".to_string(),
        ExportRegime::Banned => "banned".to_string(),
        ExportRegime::Licensed => format!(
            "licensed, quota {} × approval {}",
            r.quota_units.map_or("?".into(), |q| input(sc, q)),
            r.approval_rate.map_or("1".into(), |a| input(sc, a))
        ),
    };
    if let Some(f) = r.revenue_fee {
        let _ = write!(s, ", fee {}", input(sc, f));
        if let Some(p) = r.fee_pass_through {
            let _ = write!(s, " (pass-through {})", input(sc, p));
        }
    }
    s
}

fn import_text(sc: &Scenario, r: &ImportRule) -> String {
    let mut s = match r.regime {
        ImportRegime::Open => "open".to_string(),
        ImportRegime::Banned => "banned".to_string(),
    };
    if let Some(c) = r.cumulative_cap_units {
        let _ = write!(s, ", cumulative cap {} units", input(sc, c));
    }
    if let Some(segs) = &r.segments {
        let names: Vec<&str> = segs.iter().map(|&i| sc.segments[i].name.as_str()).collect();
        let _ = write!(s, ", to {}", names.join(", "));
    }
    s
}

fn mandate_text(sc: &Scenario, m: &Mandate) -> String {
    let basis = match m.basis {
        MandateBasis::Units => "units",
        MandateBasis::Compute => "compute",
    };
    format!("domestic ≥ {} of {basis}", input(sc, m.share))
}

/// The resolved scenario as text for `tradeflow check`.
pub fn describe(sc: &Scenario) -> String {
    let mut o = String::new();
    let end = sc.start.plus(sc.months as i64 - 1);
    let _ = writeln!(o, "scenario {} — {}", sc.name, sc.title);
    let _ = writeln!(o, "  file: {}", sc.source_file);
    if !sc.provenance.extends.is_empty() {
        let chain: Vec<&str> = sc
            .provenance
            .extends
            .iter()
            .map(|f| f.file.as_str())
            .collect();
        let _ = writeln!(o, "  extends: {}", chain.join(" → "));
    }
    for ov in &sc.provenance.overrides {
        let _ = writeln!(o, "  --set {ov}");
    }
    let _ = writeln!(
        o,
        "  months: {} ({} to {}), trials {}, seed {}",
        sc.months, sc.start, end, sc.trials, sc.seed
    );
    let _ = writeln!(
        o,
        "  market: {} (home origin {})",
        sc.market_name, sc.origins[sc.home_origin]
    );

    let drawn = sc
        .inputs
        .iter()
        .filter(|i| !matches!(i.distribution, Distribution::Constant(_)))
        .count();
    let _ = writeln!(
        o,
        "\ninputs ({} in all, {drawn} drawn per trial):",
        sc.inputs.len()
    );
    let width = sc.inputs.iter().map(|i| i.path.len()).max().unwrap_or(0);
    for i in &sc.inputs {
        let _ = writeln!(o, "  {:width$}  {}", i.path, i.distribution);
    }

    let _ = writeln!(o, "\nsegments:");
    for s in &sc.segments {
        let _ = writeln!(
            o,
            "  {:14} share {:<6} σ {:<28} mandate compliance {}",
            s.name,
            s.share,
            input(sc, s.substitution_elasticity),
            input(sc, s.mandate_compliance)
        );
    }

    let _ = writeln!(o, "\nproducts:");
    for p in &sc.products {
        let kind = if p.domestic { "domestic" } else { "foreign" };
        let launch = if p.launch_month > 0 {
            format!(", launch {}", sc.start.plus(p.launch_month))
        } else {
            String::new()
        };
        let _ = writeln!(
            o,
            "  {} ({}): vendor {}, origin {} ({kind}), {} H100e/unit, price {} USD{launch}",
            p.name,
            p.label,
            sc.vendors[p.vendor],
            sc.origins[p.origin],
            p.h100e,
            input(sc, p.price_usd)
        );
        if let Some(s) = p.supply_units {
            let _ = writeln!(o, "      supply {} units/month", input(sc, s));
        }
        if let Some(prod) = &p.production {
            match &prod.curve {
                ProductionCurve::Logistic {
                    ceiling_units,
                    midpoint_month,
                    midpoint_shift_months,
                    ramp_months,
                } => {
                    let _ = writeln!(
                        o,
                        "      production: logistic, ceiling {} units/month, midpoint {} shifted by {} months, 10→90 % in {} months",
                        input(sc, *ceiling_units),
                        sc.start.plus(*midpoint_month),
                        input(sc, *midpoint_shift_months),
                        input(sc, *ramp_months)
                    );
                }
                ProductionCurve::Schedule(points) => {
                    let pts: Vec<String> = points
                        .iter()
                        .map(|(m, u)| format!("{} {}", sc.start.plus(*m), u))
                        .collect();
                    let _ = writeln!(o, "      production: schedule {}", pts.join(", "));
                }
            }
            let _ = writeln!(
                o,
                "      scale {}, initial inventory {} units",
                input(sc, prod.scale),
                input(sc, prod.initial_inventory_units)
            );
        }
    }

    if !sc.shocks.is_empty() {
        let _ = writeln!(
            o,
            "\nshocks (not in the timeline below; each may fire in its window):"
        );
        for s in &sc.shocks {
            let trig = match s.trigger {
                ShockTrigger::MonthlyHazard(h) => format!("hazard {h}/month"),
                ShockTrigger::Probability(p) => format!("probability {p}"),
            };
            let dur = s
                .duration_months
                .map_or("to the end".to_string(), |d| format!("for {d} months"));
            let rule = match &s.rule {
                ShockRule::Export(r) => format!(
                    "export {}: {}",
                    sc.products[r.product].name,
                    export_text(sc, r)
                ),
                ShockRule::Import(r) => format!(
                    "import {}: {}",
                    sc.products[r.product].name,
                    import_text(sc, r)
                ),
                ShockRule::Mandate(m) => format!("mandate: {}", mandate_text(sc, m)),
            };
            let _ = writeln!(
                o,
                "  {}: {trig} in {}–{}, {dur}: {rule}",
                s.name,
                sc.start.plus(s.window.0),
                sc.start.plus(s.window.1)
            );
        }
    }

    // The timeline: each month's rules in force (shocks unfired), identical
    // consecutive months collapsed.
    let _ = writeln!(
        o,
        "\npolicy timeline (scheduled rules; months with the same rules are grouped):"
    );
    let tl = Timelines::new(sc);
    let no_fire = vec![None; sc.shocks.len()];
    let durations: Vec<Option<i64>> = sc.shocks.iter().map(|s| s.duration_months).collect();
    let month_text = |t: i64| -> String {
        let mut parts = Vec::new();
        for (j, p) in sc.products.iter().enumerate() {
            if p.domestic {
                continue;
            }
            let launched = t >= p.launch_month;
            let ex = rule_in_force(&tl.export[j], &no_fire, &durations, t);
            let im = rule_in_force(&tl.import[j], &no_fire, &durations, t);
            let ex_text = match ex {
                Some(RuleSource::Scheduled(i)) => export_text(sc, &sc.export_rules[i].rule),
                _ => "open".into(),
            };
            let im_text = match im {
                Some(RuleSource::Scheduled(i)) => import_text(sc, &sc.import_rules[i].rule),
                _ => "open".into(),
            };
            let not_yet = if launched { "" } else { " (not launched)" };
            parts.push(format!(
                "{}{not_yet}: export {ex_text}; import {im_text}",
                p.name
            ));
        }
        for (s, seg) in sc.segments.iter().enumerate() {
            if let Some(RuleSource::Scheduled(i)) =
                rule_in_force(&tl.mandate[s], &no_fire, &durations, t)
            {
                parts.push(format!(
                    "{} mandate: {}",
                    seg.name,
                    mandate_text(sc, &sc.mandates[i].rule)
                ));
            }
        }
        parts.join("\n      ")
    };
    let mut t = 0i64;
    while t < sc.months as i64 {
        let text = month_text(t);
        let mut u = t;
        while u + 1 < sc.months as i64 && month_text(u + 1) == text {
            u += 1;
        }
        let span = if u == t {
            format!("{}", sc.start.plus(t))
        } else {
            format!("{} to {}", sc.start.plus(t), sc.start.plus(u))
        };
        let _ = writeln!(o, "  {span}:\n      {text}");
        t = u + 1;
    }
    o
}
