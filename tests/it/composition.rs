//! Scenario composition (`extends`, `remove`) and `--set PATH=VALUE` overrides.

use crate::support::{run_cli, shipped};
use std::path::Path;
use tradeflow::sampling::Distribution;
use tradeflow::scenario::{
    ComposedScenario, Override, Provenance, Scenario, ScenarioError, load_scenario, parse_scenario,
    parse_scenario_with,
};

/// A small parent: two segments, a foreign and a domestic product, one rule
/// of each kind and a shock.
const PARENT: &str = r#"[scenario]
name = "parent"
start = "2026-01"
months = 12
seed = 7

[market]
name = "China"
home = "CN"

[market.demand]
initial = { dist = "uniform", min = 1000, max = 2000 }
annual_growth = 0.2

[[segment]]
name = "cloud"
share = 0.6
substitution_elasticity = 3.0

[[segment]]
name = "state"
share = 0.4
substitution_elasticity = 2.0

[[product]]
name = "H200"
vendor = "Nvidia"
origin = "US"
h100e = 1.0
price = { dist = "uniform", min = 25000, max = 32000 }
supply = 500

[[product]]
name = "Ascend"
vendor = "Huawei"
origin = "CN"
h100e = 0.8
price = 17000

[product.production]
schedule = [["2026-01", 800]]

[[export_rule]]
product = "H200"
from = "2026-01"
regime = "licensed"
quota = 400
revenue_fee = 0.25

[[import_rule]]
product = "H200"
from = "2026-03"
cumulative_cap = 3000

[[domestic_mandate]]
from = "2026-01"
segments = ["state"]
share = 0.9

[[shock]]
name = "us-reban"
monthly_hazard = 0.02
window = ["2026-02", "2026-12"]
[shock.export_rule]
product = "H200"
regime = "banned"
"#;

/// The resolved scenario as text, without the fields that name its files
/// (which differ between a child and its self-contained equivalent by design).
fn resolved(sc: &Scenario) -> String {
    let mut sc = sc.clone();
    sc.source_file.clear();
    sc.source_text.clear();
    sc.provenance = Provenance::default();
    format!("{sc:?}")
}

fn parsed(text: &str) -> Scenario {
    parse_scenario(text, "expected.toml").unwrap_or_else(|e| panic!("{e}"))
}

fn loaded(path: &Path) -> Scenario {
    load_scenario(path).unwrap_or_else(|e| panic!("{e}"))
}

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write");
    p
}

fn input<'a>(sc: &'a Scenario, path: &str) -> &'a Distribution {
    &sc.inputs
        .iter()
        .find(|i| i.path == path)
        .unwrap_or_else(|| panic!("no input {path}"))
        .distribution
}

fn ov(arg: &str) -> Override {
    Override::parse(arg).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn a_child_equals_its_parent_with_the_change_applied() {
    let tmp = tempfile::tempdir().expect("temp dir");
    write(tmp.path(), "parent.toml", PARENT);
    let child = write(
        tmp.path(),
        "child.toml",
        r#"[scenario]
name = "child"
extends = "parent.toml"
months = 24
remove = ["shock.us-reban", "import_rule.H200.2026-03"]

[market.demand]
annual_growth = 0.3

[[segment]]
name = "state"
mandate_compliance = 0.8

[[product]]
name = "H200"
price = 28000

[[product]]
name = "Ascend"
[product.production]
scale = 1.2

[[export_rule]]
product = "H200"
from = "2026-07"
regime = "banned"
"#,
    );
    // The same scenario written out whole.
    let expected = PARENT
        .replace("name = \"parent\"", "name = \"child\"")
        .replace("months = 12", "months = 24")
        .replace("annual_growth = 0.2", "annual_growth = 0.3")
        .replace(
            "substitution_elasticity = 2.0\n",
            "substitution_elasticity = 2.0\nmandate_compliance = 0.8\n",
        )
        .replace(
            "price = { dist = \"uniform\", min = 25000, max = 32000 }",
            "price = 28000",
        )
        .replace(
            "schedule = [[\"2026-01\", 800]]\n",
            "schedule = [[\"2026-01\", 800]]\nscale = 1.2\n",
        )
        .replace(
            "revenue_fee = 0.25\n",
            "revenue_fee = 0.25\n\n[[export_rule]]\nproduct = \"H200\"\nfrom = \"2026-07\"\nregime = \"banned\"\n",
        )
        .replace(
            "[[import_rule]]\nproduct = \"H200\"\nfrom = \"2026-03\"\ncumulative_cap = 3000\n",
            "",
        );
    let expected = parsed(&expected[..expected.find("[[shock]]").expect("shock")]);
    let got = loaded(&child);
    assert_eq!(resolved(&got), resolved(&expected));
    assert_eq!(got.provenance.extends.len(), 1);
    assert!(got.provenance.extends[0].file.ends_with("parent.toml"));
    assert_eq!(got.source_file, child.display().to_string());
    // The appended rule comes after the parent's: the later `from` wins.
    assert_eq!(got.export_rules.len(), 2);
    assert_eq!(got.export_rules[1].window.from, 6);
}

#[test]
fn shipped_children_are_the_baseline_with_their_changes() {
    let baseline = loaded(&shipped("baseline.toml"));
    let base_text = std::fs::read_to_string(shipped("baseline.toml")).expect("baseline");
    // Each child's change, restated: text appended to the baseline, or overrides.
    let appended = |child: &str, block: &str, overrides: &[&str]| {
        let got = loaded(&shipped(child));
        let overrides: Vec<Override> = overrides.iter().map(|a| ov(a)).collect();
        let mut want = parse_scenario_with(
            &(base_text.clone() + block),
            "expected.toml",
            None,
            &overrides,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        // The header is the child's own.
        want.name = got.name.clone();
        want.title = got.title.clone();
        want.description = got.description.clone();
        assert_eq!(resolved(&got), resolved(&want), "{child}");
        assert_eq!(got.provenance.extends.len(), 1, "{child}");
        assert_ne!(
            resolved(&got),
            resolved(&baseline),
            "{child} changes nothing"
        );
    };
    appended(
        "h200-reban.toml",
        "\n[[export_rule]]\nproduct = \"H200\"\nfrom = \"2026-07\"\nregime = \"banned\"\n",
        &[],
    );
    appended(
        "domestic-mandate.toml",
        "\n[[domestic_mandate]]\nfrom = \"2026-07\"\nsegments = [\"hyperscalers\", \"ai-labs\", \"research\"]\n\
         share = { dist = \"discrete\", values = [0.3, 0.5, 0.7], weights = [0.25, 0.5, 0.25] }\nbasis = \"units\"\n",
        &[],
    );
    appended(
        "fast-domestic-ramp.toml",
        "",
        &[
            "product.Ascend-910B.production.scale={ dist = \"pert\", min = 0.8, mode = 1.0, max = 1.3 }",
            "product.Ascend-910C.production.scale={ dist = \"pert\", min = 0.8, mode = 1.0, max = 1.3 }",
            "product.Ascend-950.production.ceiling={ dist = \"pert\", min = 80000, mode = 130000, max = 200000 }",
            "product.Ascend-950.production.ramp_months={ dist = \"pert\", min = 5, mode = 7, max = 11 }",
            "product.Ascend-950.production.midpoint_shift={ dist = \"normal\", mean = 0, sd = 2, min = -4, max = 8 }",
            "product.Ascend-960.production.ceiling={ dist = \"pert\", min = 30000, mode = 80000, max = 160000 }",
            "product.Ascend-960.production.midpoint_shift={ dist = \"normal\", mean = 0, sd = 3, min = -6, max = 12 }",
            "product.MLU590.production.scale={ dist = \"lognormal\", p5 = 0.9, p95 = 2.2 }",
            "product.CN-other-accel.production.scale={ dist = \"lognormal\", p5 = 0.8, p95 = 2.0 }",
        ],
    );
    appended(
        "no-controls.toml",
        "",
        &[
            "export_rule=[]",
            "import_rule=[]",
            "domestic_mandate=[]",
            "shock=[]",
            "product.H20.supply={ dist = \"lognormal\", p5 = 40000, p95 = 130000 }",
            "product.H200.supply={ dist = \"lognormal\", p5 = 50000, p95 = 200000 }",
        ],
    );
}

#[test]
fn chains_of_extends_apply_each_file_in_turn() {
    let tmp = tempfile::tempdir().expect("temp dir");
    write(tmp.path(), "grandparent.toml", PARENT);
    std::fs::create_dir(tmp.path().join("sub")).expect("dir");
    write(
        tmp.path(),
        "sub/parent.toml",
        "[scenario]\nname = \"mid\"\nextends = \"../grandparent.toml\"\n\n\
         [[product]]\nname = \"H200\"\nprice = 30000\nsupply = 600\n",
    );
    let child = write(
        tmp.path(),
        "sub/child.toml",
        "[scenario]\nname = \"leaf\"\nextends = \"parent.toml\"\n\n\
         [[product]]\nname = \"H200\"\nprice = 31000\n",
    );
    let sc = loaded(&child);
    assert_eq!(sc.name, "leaf");
    assert_eq!(
        *input(&sc, "product.H200.price"),
        Distribution::Constant(31000.0)
    );
    assert_eq!(
        *input(&sc, "product.H200.supply"),
        Distribution::Constant(600.0)
    );
    assert_eq!(sc.seed, 7, "the grandparent's value comes through");
    let chain: Vec<String> = sc
        .provenance
        .extends
        .iter()
        .map(|f| f.file.replace('\\', "/"))
        .collect();
    assert_eq!(chain.len(), 2);
    assert!(chain[0].ends_with("sub/parent.toml"), "{chain:?}");
    assert!(chain[1].ends_with("sub/../grandparent.toml"), "{chain:?}");
    // The command line shows the chain.
    let o = run_cli(tmp.path(), &["check", "sub/child.toml"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        out.contains("extends: sub/parent.toml → sub/../grandparent.toml"),
        "{out}"
    );
}

#[test]
fn a_cycle_of_extends_is_refused_with_exit_2() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let body = &PARENT[PARENT.find("[market]").expect("market")..];
    write(
        tmp.path(),
        "a.toml",
        &format!("[scenario]\nname = \"a\"\nextends = \"b.toml\"\n\n{body}"),
    );
    write(
        tmp.path(),
        "b.toml",
        "[scenario]\nname = \"b\"\nextends = \"a.toml\"\n",
    );
    for cmd in [&["check", "a.toml"][..], &["run", "a.toml", "--out", "out"]] {
        let o = run_cli(tmp.path(), cmd);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(
            err.contains("`extends` makes a cycle: a.toml → b.toml → a.toml"),
            "{err}"
        );
        assert!(err.contains("--> b.toml:3:11"), "{err}");
        assert!(!tmp.path().join("out").exists());
    }
    // A file extending itself is the shortest cycle.
    let me = write(
        tmp.path(),
        "me.toml",
        "[scenario]\nname = \"me\"\nextends = \"me.toml\"\n",
    );
    let e = load_scenario(&me).expect_err("self");
    assert!(e.to_string().contains("cycle"), "{e}");
}

#[test]
fn removing_an_unknown_item_is_an_error_with_the_nearest_name() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let baseline = shipped("baseline.toml");
    write(
        tmp.path(),
        "child.toml",
        &format!(
            "[scenario]\nname = \"child\"\nextends = {:?}\nremove = [\"shock.h200-reban\", \"export_rule.H20.2025-09\"]\n",
            baseline.display().to_string()
        ),
    );
    let o = run_cli(tmp.path(), &["run", "child.toml", "--out", "out"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    for want in [
        "error: no shock named \"h200-reban\"",
        "--> child.toml:4:18",
        "did you mean `shock.us-h200-reban`?",
        "error: no export_rule with the key `H20.2025-09`",
        "--> child.toml:4:44",
        "did you mean `export_rule.H20.2025-08`?",
        "2 problems in child.toml",
    ] {
        assert!(err.contains(want), "lacks {want:?}:\n{err}");
    }
    assert!(!tmp.path().join("out").exists());
}

#[test]
fn a_childs_distribution_replaces_the_parents_value_whole() {
    let tmp = tempfile::tempdir().expect("temp dir");
    write(tmp.path(), "parent.toml", PARENT);
    let child = write(
        tmp.path(),
        "child.toml",
        "[scenario]\nname = \"child\"\nextends = \"parent.toml\"\n\n\
         [market.demand]\ninitial = { dist = \"normal\", mean = 1500, sd = 100, min = 0 }\n\n\
         [[product]]\nname = \"Ascend\"\nprice = { dist = \"pert\", min = 15000, mode = 17000, max = 20000 }\n",
    );
    let sc = loaded(&child);
    // The parent's uniform had `max = 2000`: merged key by key it would have
    // truncated the child's normal. A distribution is one value.
    assert_eq!(
        *input(&sc, "market.demand.initial"),
        Distribution::normal(1500.0, 100.0, 0.0, f64::INFINITY).expect("normal")
    );
    assert_eq!(
        *input(&sc, "product.Ascend.price"),
        Distribution::pert(15000.0, 17000.0, 20000.0).expect("pert")
    );
    // A constant over a distribution, and back.
    let back = write(
        tmp.path(),
        "back.toml",
        "[scenario]\nname = \"back\"\nextends = \"child.toml\"\n\n[market.demand]\ninitial = 1200\n",
    );
    assert_eq!(
        *input(&loaded(&back), "market.demand.initial"),
        Distribution::Constant(1200.0)
    );
}

#[test]
fn problems_are_reported_in_the_file_that_wrote_the_value() {
    let tmp = tempfile::tempdir().expect("temp dir");
    write(
        tmp.path(),
        "parent.toml",
        &PARENT.replace("cumulative_cap = 3000", "cumulative_cap = -3"),
    );
    write(
        tmp.path(),
        "child.toml",
        "[scenario]\nname = \"child\"\nextends = \"parent.toml\"\n\n\
         [[product]]\nname = \"H200\"\nprice = -1\n",
    );
    let o = run_cli(tmp.path(), &["check", "child.toml"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    let child_at = err.find("--> child.toml:7:9").expect(&err);
    let parent_at = err.find("--> parent.toml:53:18").expect(&err);
    assert!(
        child_at < parent_at,
        "the file asked for comes first:\n{err}"
    );
    assert!(err.contains("`price` must be > 0, found -1"), "{err}");
    assert!(
        err.contains("`cumulative_cap` must be ≥ 0, found -3"),
        "{err}"
    );
    // A type error in the child's value is placed in the child too.
    write(
        tmp.path(),
        "child.toml",
        "[scenario]\nname = \"child\"\nextends = \"parent.toml\"\nmonths = \"x\"\n",
    );
    let o = run_cli(tmp.path(), &["check", "child.toml"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("wrong type") && err.contains("--> child.toml:4:10"),
        "{err}"
    );
}

#[test]
fn every_structural_mistake_of_a_child_and_its_parent_is_reported_at_once() {
    let tmp = tempfile::tempdir().expect("temp dir");
    // The parent: a wrong type, an unknown field, a misspelt key in a distribution.
    write(
        tmp.path(),
        "parent.toml",
        &PARENT
            .replace("seed = 7", "seed = \"7\"")
            .replace("home = \"CN\"", "home = \"CN\"\nhomes = 1")
            .replace("min = 25000, max", "mn = 25000, max"),
    );
    // The child: a wrong type, unknown fields in a new and in a merged table,
    // a new product without a required field, a `remove` that names nothing.
    write(
        tmp.path(),
        "child.toml",
        "[scenario]\nname = \"child\"\nextends = \"parent.toml\"\nmonths = \"24\"\n\
         remove = [\"shock.us-rebna\"]\n\n\
         [market.demand]\nanual_growth = 0.3\n\n\
         [[product]]\nname = \"H200\"\nprise = 5\n\n\
         [[product]]\nname = \"New\"\nvendor = \"X\"\norigin = \"US\"\nprice = 1000\n",
    );
    let o = run_cli(tmp.path(), &["check", "child.toml"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    let wants = [
        // The file asked for first, in the order of its lines.
        "--> child.toml:4:10",
        "--> child.toml:5:18",
        "--> child.toml:8:1",
        "--> child.toml:12:1",
        "--> child.toml:14:1",
        "5 problems in child.toml",
        // Then its parent.
        "--> parent.toml:5:8",
        "--> parent.toml:10:1",
        "--> parent.toml:31:29",
        "3 problems in parent.toml",
    ];
    let mut at = 0;
    for w in wants {
        let found = err[at..]
            .find(w)
            .unwrap_or_else(|| panic!("lacks {w:?} (in order):\n{err}"));
        at += found + w.len();
    }
    for w in [
        "wrong type: expected an integer, found the string \"24\"",
        "no shock named \"us-rebna\"",
        "unknown field `anual_growth`",
        "unknown field `prise`",
        "missing required field `h100e`",
        "wrong type: expected an integer, found the string \"7\"",
        "unknown field `homes`",
        "unknown field `mn`",
    ] {
        assert!(err.contains(w), "lacks {w:?}:\n{err}");
    }
    // With an unusable --set on top, the --set is reported (the document is
    // not the one asked for), with the files' composition problems.
    let o = run_cli(
        tmp.path(),
        &["check", "child.toml", "--set", "product.H2000.price=1"],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("no product named \"H2000\""), "{err}");
    assert!(err.contains("no shock named \"us-rebna\""), "{err}");
}

#[test]
fn composition_mistakes_are_explained() {
    let tmp = tempfile::tempdir().expect("temp dir");
    write(tmp.path(), "parent.toml", PARENT);
    // A near file, but no suggestion from the far ones.
    write(tmp.path(), "lnorm.toml", PARENT);
    let far = "[scenario]\nname = \"c\"\nextends = \"nope.toml\"\n";
    write(tmp.path(), "c.toml", far);
    let o = run_cli(tmp.path(), &["check", "c.toml"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("nope.toml") && !err.contains("did you mean"),
        "{err}"
    );
    let cases: [(&str, &[&str]); 5] = [
        (
            "[scenario]\nname = \"c\"\nextends = \"parnet.toml\"\n",
            &[
                "cannot read the file `extends` names, parnet.toml",
                "did you mean \"parent.toml\"?",
                "c.toml:3:11",
            ],
        ),
        (
            "[scenario]\nextends = \"parent.toml\"\n\n[market.demand]\nannual_growth = 0.1\n",
            &["a scenario that extends another needs its own `name`"],
        ),
        (
            "extends = \"parent.toml\"\n[scenario]\nname = \"c\"\n",
            &["`extends` belongs in [scenario]", "c.toml:1:1"],
        ),
        (
            &PARENT.replace("seed = 7", "seed = 7\nremove = [\"shock.us-reban\"]"),
            &["`remove` without `extends`"],
        ),
        (
            "[scenario]\nname = \"c\"\nextends = \"builtin:baselin\"\n",
            &["no built-in scenario \"baselin\"", "builtin:baseline"],
        ),
    ];
    for (text, wants) in cases {
        let f = write(tmp.path(), "c.toml", text);
        let o = run_cli(tmp.path(), &["check", "c.toml"]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{err}");
        for w in wants {
            assert!(err.contains(w), "lacks {w:?}:\n{err}");
        }
        assert!(load_scenario(&f).is_err());
    }
    // `builtin:baseline` is the compiled-in baseline.
    let f = write(
        tmp.path(),
        "c.toml",
        "[scenario]\nname = \"c\"\nextends = \"builtin:baseline\"\n",
    );
    let sc = loaded(&f);
    assert_eq!(
        sc.provenance.extends[0].file,
        tradeflow::scenario::BUILTIN_BASELINE_NAME
    );
    assert_eq!(
        sc.inputs.len(),
        loaded(&shipped("baseline.toml")).inputs.len()
    );
}

#[test]
fn set_overrides_apply_after_extends_in_command_line_order() {
    let composed = ComposedScenario::load(&shipped("domestic-mandate.toml")).expect("compose");
    let sc = composed
        .resolve_with(&[
            ov("product.H200.price=30000"),
            ov("product.H200.price=31000"),
            // [1] counts in the composed order: the child's appended mandate.
            ov("domestic_mandate[1].share={dist=\"uniform\",min=0.3,max=0.7}"),
            ov("market.demand.annual_growth=0.5"),
        ])
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        *input(&sc, "product.H200.price"),
        Distribution::Constant(31000.0)
    );
    assert_eq!(
        *input(
            &sc,
            "domestic_mandate.2026-07.ai-labs+hyperscalers+research.share"
        ),
        Distribution::uniform(0.3, 0.7).expect("uniform")
    );
    assert_eq!(
        *input(&sc, "market.demand.annual_growth"),
        Distribution::Constant(0.5)
    );
    assert_eq!(
        sc.provenance.overrides,
        vec![
            "product.H200.price=30000",
            "product.H200.price=31000",
            "domestic_mandate[1].share={dist=\"uniform\",min=0.3,max=0.7}",
            "market.demand.annual_growth=0.5",
        ]
    );
    // The composed document is untouched: resolving again without overrides
    // gives the file's scenario.
    assert_eq!(
        resolved(&composed.resolve().expect("plain")),
        resolved(&loaded(&shipped("domestic-mandate.toml")))
    );
}

#[test]
fn every_input_path_can_be_set() {
    let composed = ComposedScenario::load(&shipped("baseline.toml")).expect("compose");
    let base = composed.resolve().expect("baseline");
    let mut checked = 0;
    for def in &base.inputs {
        if def.path.ends_with(".month") {
            continue; // a shock's firing month is drawn, not written
        }
        match composed.resolve_with(&[ov(&format!("{}=0.5", def.path))]) {
            Ok(sc) => {
                assert_eq!(
                    *input(&sc, &def.path),
                    Distribution::Constant(0.5),
                    "{}",
                    def.path
                );
                checked += 1;
            }
            // 0.5 is out of range for some fields (e.g. elasticity ≤ 0, a
            // ramp's months): the value is refused, never the path.
            Err(e) => {
                let text = e.to_string();
                assert!(text.contains("must be"), "{}: {text}", def.path);
            }
        }
    }
    assert!(checked > 40, "only {checked} paths took 0.5");
}

#[test]
fn set_of_an_unknown_path_exits_2_names_it_and_the_nearest_and_writes_nothing() {
    let tmp = tempfile::tempdir().expect("temp dir");
    for (arg, wants) in [
        (
            "product.H2000.price=30000",
            &[
                "error: no product named \"H2000\"",
                "--> --set product.H2000.price=30000",
                "did you mean `product.H200.price`?",
            ][..],
        ),
        (
            "product.H200.pricee=30000",
            &[
                "error: unknown field `pricee`",
                "--> --set product.H200.pricee=30000",
                "did you mean `product.H200.price`?",
            ],
        ),
        (
            "markt.demand.initial=5",
            &[
                "unknown field `markt`",
                "did you mean `market.demand.initial`?",
            ],
        ),
        (
            "domestic_mandate[3].share=0.5",
            &["`domestic_mandate` has no item [3]", "has 1 item: [0]"],
        ),
        (
            "scenario.extends=\"x.toml\"",
            &["`scenario.extends` cannot be set with --set"],
        ),
    ] {
        let o = run_cli(
            tmp.path(),
            &["run", "--quiet", "--out", "out", "--set", arg],
        );
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{arg}: {err}");
        for w in wants {
            assert!(err.contains(w), "{arg}: lacks {w:?}:\n{err}");
        }
        assert!(!tmp.path().join("out").exists(), "{arg}: wrote output");
    }
}

#[test]
fn set_values_are_validated_like_the_file() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let mandate = "domestic_mandate[0].share={dist=\"uniform\",min=0.3,max=1.7}";
    for (arg, wants) in [
        (
            "product.H200.price=-5",
            &[
                "`price` must be > 0, found -5",
                "--> --set product.H200.price=-5",
            ][..],
        ),
        (
            mandate,
            &["mandate `share` must be in [0, 1], but this uniform can draw values in [0.3, 1.7]"],
        ),
        (
            "product.H200.price=\"abc\"",
            &[
                "wrong type: expected a number or a distribution table",
                "found the string \"abc\"",
            ],
        ),
        (
            "product.H200.price=abc",
            &["the value is not valid TOML", "text needs quotes"],
        ),
        ("product.H200.price", &["expected PATH=VALUE"]),
        // A value ending in a character of several bytes still gets its help.
        (
            "export_rule.H200.2026-01.quota=0.7×",
            &["help: write a number, e.g. --set export_rule.H200.2026-01.quota=0.7"],
        ),
        // Thousands commas are dropped before the number is taken.
        (
            "export_rule.H200.2026-01.quota=20,000 units",
            &["--set export_rule.H200.2026-01.quota=20000"],
        ),
        // A fee is below 1: 100 % is no fee, and 1.5 is told so.
        (
            "export_rule.H20.2025-08.revenue_fee=1.5",
            &["help: fees are fractions below 1"],
        ),
    ] {
        let o = run_cli(
            tmp.path(),
            &[
                "check",
                &shipped("baseline.toml").display().to_string(),
                "--set",
                arg,
            ],
        );
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{arg}: {err}");
        for w in wants {
            assert!(err.contains(w), "{arg}: lacks {w:?}:\n{err}");
        }
        assert!(
            err.contains(&format!("--set {arg}")),
            "{arg}: the argument is named:\n{err}"
        );
    }
    let o = run_cli(
        tmp.path(),
        &[
            "check",
            &shipped("baseline.toml").display().to_string(),
            "--set",
            "export_rule.H20.2025-08.revenue_fee=100",
        ],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(!err.contains("100 % is 1"), "{err}");
    // The library gives the same, typed.
    let e = ComposedScenario::builtin_baseline()
        .expect("builtin")
        .resolve_with(&[ov(mandate)])
        .expect_err("out of range");
    assert!(
        matches!(e, ScenarioError::Override { ref arg, .. } if arg == mandate),
        "{e:?}"
    );
}

#[test]
fn a_problem_a_set_causes_in_the_file_names_the_set() {
    // A valid file made invalid by a --set elsewhere in the same rule: the
    // problem is at the file's `quota`, the cause is the argument.
    let tmp = tempfile::tempdir().expect("temp dir");
    let arg = "export_rule.H200.2026-01.regime=\"banned\"";
    let o = run_cli(
        tmp.path(),
        &["run", "--quiet", "--out", "out", "--set", arg],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    for w in [
        "error: `quota` applies only to regime = \"licensed\"",
        "error: `approval_rate` applies only to regime = \"licensed\"",
        "note: this table was changed by `--set export_rule.H200.2026-01.regime=\"banned\"`",
        "help: --set cannot remove a key; replace the whole table instead: \
         --set 'export_rule.H200.2026-01={ ",
    ] {
        assert!(err.contains(w), "lacks {w:?}:\n{err}");
    }
    assert!(!tmp.path().join("out").exists(), "wrote output");
    // The replacement the help offers is accepted.
    let help = err
        .lines()
        .find_map(|l| l.split("--set '").nth(1))
        .and_then(|l| l.split("', or edit").next())
        .expect("the suggested argument");
    assert!(
        !help.contains("quota") && !help.contains("approval_rate"),
        "{help}"
    );
    let baseline = shipped("baseline.toml").display().to_string();
    let o = run_cli(tmp.path(), &["check", &baseline, "--set", help]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{help}: {err}");
}

#[test]
fn a_problem_the_file_has_without_the_set_does_not_name_the_set() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let baseline = shipped("baseline.toml").display().to_string();
    let banned = format!(
        "[scenario]\nname = \"bad\"\nextends = {baseline:?}\n\n[[export_rule]]\n\
         product = \"H200\"\nfrom = \"2027-01\"\nregime = \"banned\"\nquota = 5\n"
    );
    let negative = format!(
        "[scenario]\nname = \"bad\"\nextends = {baseline:?}\n\n[market.demand]\ninitial = -5\n"
    );
    for (text, arg, want) in [
        (
            banned,
            "export_rule.H200.2027-01.revenue_fee=0.1",
            "`quota` applies only to regime = \"licensed\"",
        ),
        (
            negative,
            "market.demand.annual_growth=0.5",
            "demand `initial` must be ≥ 0, found -5",
        ),
    ] {
        write(tmp.path(), "bad.toml", &text);
        let o = run_cli(tmp.path(), &["check", "bad.toml", "--set", arg]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(err.contains(want), "{err}");
        assert!(!err.contains("changed by"), "{arg}: {err}");
        assert!(!err.contains("replace the whole table"), "{arg}: {err}");
    }
}

#[test]
fn set_is_recorded_in_the_manifest_and_used_by_the_run() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let o = run_cli(
        tmp.path(),
        &[
            "run",
            "--trials",
            "20",
            "--quiet",
            "--charts",
            "none",
            "--out",
            "res",
            "--set",
            "product.H200.price=30000",
            "--set",
            "scenario.name=\"priced\"",
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(tmp.path().join("res/priced/manifest.json")).expect("manifest"),
    )
    .expect("json");
    assert_eq!(
        manifest["overrides"],
        serde_json::json!(["product.H200.price=30000", "scenario.name=\"priced\""])
    );
    assert_eq!(manifest["scenario"]["extends"], serde_json::json!([]));
    let price = manifest["inputs"]
        .as_array()
        .expect("inputs")
        .iter()
        .find(|i| i["path"] == "product.H200.price")
        .expect("price input");
    assert_eq!(price["distribution"], "30000");
    assert_eq!(price["drawn"], false);
    // A child records its parent with the parent's hash.
    let o = run_cli(
        tmp.path(),
        &[
            "run",
            &shipped("h200-reban.toml").display().to_string(),
            "--trials",
            "20",
            "--quiet",
            "--charts",
            "none",
            "--out",
            "res2",
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(tmp.path().join("res2/h200-reban/manifest.json"))
            .expect("manifest"),
    )
    .expect("json");
    let parent = &manifest["scenario"]["extends"][0];
    assert!(
        parent["file"]
            .as_str()
            .expect("file")
            .ends_with("baseline.toml")
    );
    assert_eq!(parent["sha256"].as_str().map(str::len), Some(64));
    assert_eq!(manifest["overrides"], serde_json::json!([]));
}

#[test]
fn check_prints_the_overrides_it_applied() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let o = run_cli(
        tmp.path(),
        &[
            "check",
            &shipped("h200-reban.toml").display().to_string(),
            "--set",
            "export_rule.H200.2026-01.quota=1000",
        ],
    );
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(out.contains("baseline.toml"), "{out}");
    assert!(
        out.contains("  --set export_rule.H200.2026-01.quota=1000"),
        "{out}"
    );
    assert!(out.contains("licensed, quota 1000 × approval"), "{out}");
}

/// Pieces that spell real and broken paths and values.
const PATH_PIECES: [&str; 16] = [
    "product",
    "H200",
    "Ascend-950",
    "price",
    "production",
    "ceiling",
    "[0]",
    "[9]",
    "export_rule",
    "H200.2026-01",
    "domestic_mandate",
    "2025-11.state",
    "share",
    "shock",
    "market",
    "\"a.b\"",
];
const VALUES: [&str; 10] = [
    "1",
    "-1",
    "0.5",
    "\"x\"",
    "[1, 2]",
    "{}",
    "true",
    "1979-05-27",
    "{dist=\"uniform\",min=0,max=1}",
    "{dist=\"pert\",min=1}",
];

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 300, ..Default::default() })]

    /// Any `--set` argument, well-formed or not, is answered with a scenario
    /// or a typed error whose message names the argument; never a panic.
    #[test]
    fn any_set_argument_is_answered_without_panic(
        pieces in proptest::collection::vec(0..PATH_PIECES.len(), 1..6),
        value in 0..VALUES.len(),
        noise in "[a-z0-9_.=\\[\\]\"{} -]{0,12}",
    ) {
        let path: Vec<&str> = pieces.iter().map(|&i| PATH_PIECES[i]).collect();
        let path = path.join(".").replace(".[", "[");
        let base = ComposedScenario::builtin_baseline().expect("builtin");
        for arg in [format!("{path}={}", VALUES[value]), format!("{path}{noise}"), noise.clone()] {
            match Override::parse(&arg) {
                Ok(o) => {
                    if let Err(e) = base.resolve_with(&[o]) {
                        let text = e.to_string();
                        proptest::prop_assert!(text.contains("error: "), "{}: {}", arg, text);
                    }
                }
                Err(e) => {
                    let is_override = matches!(e, ScenarioError::Override { .. });
                    proptest::prop_assert!(is_override, "{}: {:?}", arg, e);
                }
            }
        }
    }
}
