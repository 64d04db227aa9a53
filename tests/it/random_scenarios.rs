//! Random valid scenarios, as TOML text, for property tests.

use rand::rngs::ChaCha8Rng;
use rand::{Rng, RngExt, SeedableRng};
use std::fmt::Write;

/// A random valid scenario file from `seed`.
pub fn random_scenario(seed: u64) -> String {
    let mut r = ChaCha8Rng::seed_from_u64(seed);
    let mut s = String::new();
    let months: i64 = r.random_range(1..=30);
    let month = |i: i64| {
        let idx = 2026 * 12 + i;
        format!("{:04}-{:02}", idx.div_euclid(12), idx.rem_euclid(12) + 1)
    };
    let _ = writeln!(
        s,
        "[scenario]\nname = \"random-{seed}\"\nstart = \"2026-01\"\nmonths = {months}\ntrials = 4\nseed = {}\n",
        seed >> 2
    );
    let initial = if r.random_bool(0.1) {
        0.0
    } else {
        r.random_range(1.0..1e6)
    };
    let _ = writeln!(
        s,
        "[market]\nname = \"China\"\nhome = \"CN\"\n\n[market.demand]"
    );
    if r.random_bool(0.5) {
        let _ = writeln!(s, "initial = {initial:?}");
    } else {
        let _ = writeln!(
            s,
            "initial = {{ dist = \"lognormal\", p5 = {:?}, p95 = {:?} }}",
            initial * 0.5 + 1.0,
            initial * 2.0 + 2.0
        );
    }
    let _ = writeln!(s, "annual_growth = {:?}", r.random_range(-0.5..1.0));
    let _ = writeln!(s, "monthly_volatility = {:?}", r.random_range(0.0..0.3));
    let _ = writeln!(s, "price_elasticity = {:?}\n", r.random_range(-1.5..=0.0));

    let n_seg = r.random_range(1..=3usize);
    let weights: Vec<u32> = (0..n_seg).map(|_| r.random_range(1..10)).collect();
    let total: u32 = weights.iter().sum();
    let mut acc = 0.0;
    for (i, w) in weights.iter().enumerate() {
        let share = if i + 1 == n_seg {
            1.0 - acc
        } else {
            *w as f64 / total as f64
        };
        acc += share;
        let sigma = match r.random_range(0..4) {
            0 => 1.0,
            1 => r.random_range(0.2..1.0),
            _ => r.random_range(1.0..8.0),
        };
        let _ = writeln!(
            s,
            "[[segment]]\nname = \"S{i}\"\nshare = {share:?}\nsubstitution_elasticity = {sigma:?}\nmandate_compliance = {:?}\n",
            r.random_range(0.0..=1.0)
        );
    }
    let n_prod = r.random_range(1..=6usize);
    let mut foreign = Vec::new();
    for j in 0..n_prod {
        let domestic = r.random_bool(0.5);
        let vendor = if domestic {
            ["Huawei", "Cambricon"][r.random_range(0..2)]
        } else {
            ["Nvidia", "AMD"][r.random_range(0..2)]
        };
        let origin = if domestic {
            "CN"
        } else {
            ["US", "KR"][r.random_range(0..2)]
        };
        let _ = writeln!(
            s,
            "[[product]]\nname = \"P{j}\"\nvendor = \"{vendor}\"\norigin = \"{origin}\""
        );
        let _ = writeln!(s, "h100e = {:?}", r.random_range(0.05..2.0));
        if r.random_bool(0.3) {
            let lo = r.random_range(100.0..20000.0);
            let _ = writeln!(
                s,
                "price = {{ dist = \"uniform\", min = {lo:?}, max = {:?} }}",
                lo * 1.5
            );
        } else {
            let _ = writeln!(s, "price = {:?}", r.random_range(100.0..50000.0));
        }
        let _ = writeln!(s, "price_trend = {:?}", r.random_range(-0.3..0.3));
        let _ = writeln!(s, "preference = {:?}", r.random_range(0.3..3.0));
        if r.random_bool(0.3) {
            let _ = writeln!(s, "launch = \"{}\"", month(r.random_range(-3..months + 2)));
        }
        if domestic {
            let _ = writeln!(s, "\n[product.production]");
            if r.random_bool(0.6) {
                let _ = writeln!(s, "ceiling = {:?}", r.random_range(0.0..2e5));
                let _ = writeln!(
                    s,
                    "midpoint = \"{}\"",
                    month(r.random_range(-6..months + 6))
                );
                let _ = writeln!(s, "ramp_months = {:?}", r.random_range(0.5..30.0));
                if r.random_bool(0.5) {
                    let _ = writeln!(
                        s,
                        "midpoint_shift = {{ dist = \"normal\", mean = 0, sd = 3 }}"
                    );
                }
            } else {
                let n = r.random_range(1..4);
                let mut m = r.random_range(-3..3i64);
                let mut pts = Vec::new();
                for _ in 0..n {
                    pts.push(format!(
                        "[\"{}\", {:?}]",
                        month(m),
                        r.random_range(0.0..1e5)
                    ));
                    m += r.random_range(1..12);
                }
                let _ = writeln!(s, "schedule = [{}]", pts.join(", "));
            }
            if r.random_bool(0.5) {
                let _ = writeln!(s, "initial_inventory = {:?}", r.random_range(0.0..1e5));
            }
            if r.random_bool(0.3) {
                let _ = writeln!(s, "scale = {{ dist = \"uniform\", min = 0.5, max = 1.5 }}");
            }
        } else {
            foreign.push(j);
            if r.random_bool(0.6) {
                let _ = writeln!(s, "supply = {:?}", r.random_range(0.0..3e5));
            }
        }
        s.push('\n');
    }
    let seg_list = |r: &mut ChaCha8Rng| -> String {
        let picked: Vec<String> = (0..n_seg)
            .filter(|_| r.random_bool(0.6))
            .map(|i| format!("\"S{i}\""))
            .collect();
        if picked.is_empty() {
            "[\"S0\"]".into()
        } else {
            format!("[{}]", picked.join(", "))
        }
    };
    let export_body = |r: &mut ChaCha8Rng, s: &mut String| {
        match r.random_range(0..3) {
            0 => {
                let _ = writeln!(s, "regime = \"open\"");
            }
            1 => {
                let _ = writeln!(
                    s,
                    "regime = \"licensed\"\nquota = {:?}",
                    r.random_range(0.0..2e5)
                );
                let _ = writeln!(
                    s,
                    "approval_rate = {{ dist = \"beta\", mean = {:?}, sd = 0.1 }}",
                    r.random_range(0.3..0.7)
                );
            }
            _ => {
                let _ = writeln!(s, "regime = \"banned\"");
            }
        }
        let _ = writeln!(
            s,
            "revenue_fee = {:?}\nfee_pass_through = {:?}",
            r.random_range(0.0..0.9),
            r.random_range(0.0..=1.0)
        );
    };
    for &j in &foreign {
        let n_rules = r.random_range(0..=2i64);
        for k in 0..n_rules {
            let from = k * r.random_range(1..8) + r.random_range(-2..2) * (1 - k.min(1));
            let _ = writeln!(
                s,
                "[[export_rule]]\nproduct = \"P{j}\"\nfrom = \"{}\"",
                month(from + k * 20)
            );
            if r.random_bool(0.3) {
                let _ = writeln!(
                    s,
                    "until = \"{}\"",
                    month(from + k * 20 + r.random_range(0..10))
                );
            }
            export_body(&mut r, &mut s);
            s.push('\n');
        }
        let n_rules = r.random_range(0..=2i64);
        for k in 0..n_rules {
            let _ = writeln!(
                s,
                "[[import_rule]]\nproduct = \"P{j}\"\nfrom = \"{}\"",
                month(k * 7 + r.random_range(-2..3))
            );
            if r.random_bool(0.3) {
                let _ = writeln!(s, "regime = \"banned\"");
            }
            if r.random_bool(0.5) {
                let _ = writeln!(s, "cumulative_cap = {:?}", r.random_range(0.0..5e5));
            }
            if r.random_bool(0.5) {
                let _ = writeln!(s, "segments = {}", seg_list(&mut r));
            }
            s.push('\n');
        }
    }
    let n_mand = r.random_range(0..=2i64);
    for k in 0..n_mand {
        let _ = writeln!(
            s,
            "[[domestic_mandate]]\nfrom = \"{}\"",
            month(k * 9 + r.random_range(-2..4))
        );
        let _ = writeln!(s, "share = {:?}", r.random_range(0.0..=1.0));
        let _ = writeln!(
            s,
            "basis = \"{}\"",
            ["units", "compute"][r.random_range(0..2)]
        );
        if r.random_bool(0.3) {
            let _ = writeln!(s, "until = \"{}\"", month(k * 9 + 6));
        }
        s.push('\n');
    }
    let n_shock = r.random_range(0..=2);
    for k in 0..n_shock {
        let _ = writeln!(s, "[[shock]]\nname = \"shock{k}\"");
        if r.random_bool(0.5) {
            let _ = writeln!(s, "monthly_hazard = {:?}", r.random_range(0.0..0.5));
        } else {
            let _ = writeln!(s, "probability = {:?}", r.random_range(0.0..=1.0));
        }
        let w0 = r.random_range(0..months);
        let _ = writeln!(
            s,
            "window = [\"{}\", \"{}\"]",
            month(w0),
            month(w0 + r.random_range(0..20))
        );
        if r.random_bool(0.5) {
            let _ = writeln!(s, "duration_months = {}", r.random_range(1..12));
        }
        let kind = if foreign.is_empty() {
            2
        } else {
            r.random_range(0..3)
        };
        match kind {
            0 => {
                let j = foreign[r.random_range(0..foreign.len())];
                let _ = writeln!(s, "[shock.export_rule]\nproduct = \"P{j}\"");
                export_body(&mut r, &mut s);
            }
            1 => {
                let j = foreign[r.random_range(0..foreign.len())];
                let _ = writeln!(
                    s,
                    "[shock.import_rule]\nproduct = \"P{j}\"\nregime = \"banned\""
                );
            }
            _ => {
                let _ = writeln!(
                    s,
                    "[shock.domestic_mandate]\nshare = {:?}\nsegments = {}",
                    r.random_range(0.0..=1.0),
                    seg_list(&mut r)
                );
            }
        }
        s.push('\n');
    }
    let _ = r.next_u64();
    s
}
