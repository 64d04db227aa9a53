//! `--set PATH=VALUE`: one change to a scenario, applied after `extends`
//! composition and validated exactly as the file would be.

use super::document::{Node, Seg, parse_path};
use super::error::{Problem, ScenarioError};
use std::fmt;
use std::str::FromStr;
use toml::de::DeValue;

/// One override, `PATH=VALUE`, as given to `--set`.
///
/// `PATH` addresses a value of the composed scenario document:
/// keys joined by `.` (`market.demand.annual_growth`), named items by their
/// name (`product.H200.price`, `segment.state.share`, `shock.us-h200-reban.monthly_hazard`),
/// rules by their content key as in the input paths (`export_rule.H200.2026-01.quota`,
/// `domestic_mandate.2025-11.state.share`) or by their position in the composed
/// scenario (`domestic_mandate[0].share`, counted after `extends` and `remove`).
/// A key with characters other than letters, digits, `-`, `_` and `+` can be quoted:
/// `product."H100.sxm".price`.
///
/// `VALUE` is a TOML value, written as in the file: `30000`, `"text"`,
/// `{ dist = "uniform", min = 0.3, max = 0.7 }`, `[1, 2]`. It replaces the value at
/// `PATH` whole; the tables on the way are created if missing (like a `[a.b]`
/// header), but items of arrays are never created.
///
/// ```text
/// let o = Override::parse("product.H200.price=30000")?;
/// assert_eq!(o.path(), "product.H200.price");
/// assert_eq!(o.to_string(), "product.H200.price=30000");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Override {
    /// The argument as given (the text that error messages quote).
    arg: String,
    /// Byte range of the path in `arg`.
    path_range: std::ops::Range<usize>,
    /// Byte range of the value in `arg`.
    value_range: std::ops::Range<usize>,
    /// The parsed path; spans are offsets in `arg`.
    pub(crate) segs: Vec<Seg>,
    /// The parsed value; spans are offsets in `arg`.
    pub(crate) value: Node,
    /// The `--vary` argument, as typed, this is a point of; None for `--set`.
    vary: Option<String>,
}

impl Override {
    /// Parses `PATH=VALUE`. The path's syntax and the value's TOML are
    /// checked here; whether the path names something in a scenario, and
    /// whether the value is valid there, is checked when it is applied.
    pub fn parse(arg: &str) -> Result<Override, ScenarioError> {
        Self::parse_as(arg, None)
    }

    /// Parses `PATH=VALUE`, one point of the sweep argument `--vary vary`:
    /// messages name that argument, and helps fix its list.
    pub fn parse_point(arg: &str, vary: &str) -> Result<Override, ScenarioError> {
        Self::parse_as(arg, Some(vary))
    }

    fn parse_as(arg: &str, vary: Option<&str>) -> Result<Override, ScenarioError> {
        let option = if vary.is_some() { "--vary" } else { "--set" };
        let fail = |mut p: Problem| {
            if let Some(v) = vary.filter(|v| *v != arg) {
                p.notes.push(format!("a point of --vary {v}"));
            }
            ScenarioError::Override {
                option: option.into(),
                arg: arg.to_string(),
                problems: vec![p],
            }
        };
        let Some(eq) = find_equals(arg) else {
            return Err(fail(
                Problem::new(None, "expected PATH=VALUE")
                    .help("for example: --set product.H200.price=30000"),
            ));
        };
        let path_range = trimmed(arg, 0..eq);
        let value_range = trimmed(arg, eq + 1..arg.len());
        if path_range.is_empty() {
            return Err(fail(
                Problem::new(Some(eq..eq + 1), "no path before `=`")
                    .help("for example: --set product.H200.price=30000"),
            ));
        }
        if value_range.is_empty() {
            return Err(fail(
                Problem::new(Some(eq..eq + 1), "no value after `=`").help(
                    "write a TOML value: 30000, \"text\", { dist = \"uniform\", min = 1, max = 2 }",
                ),
            ));
        }
        let segs = parse_path(&arg[path_range.clone()], path_range.start).map_err(fail)?;
        let value_text = &arg[value_range.clone()];
        let value = match DeValue::parse(value_text) {
            Ok(v) => Node::from_de(&v, value_range.start),
            Err(e) => {
                let span = e
                    .span()
                    .map(|s| s.start + value_range.start..s.end + value_range.start)
                    .unwrap_or(value_range.clone());
                let mut p = Problem::new(
                    Some(span),
                    format!("the value is not valid TOML: {}", e.message().trim()),
                );
                // The number meant by `25%` or `50,000`, as for a file's
                // value: the help is worded for `KEY = VALUE`, with the last key.
                let key = arg[path_range.clone()].rsplit('.').next().unwrap_or("");
                let line = format!("{key} = {value_text}");
                let path = &arg[path_range.clone()];
                // The argument that writes `x` instead: for a point, its
                // --vary list with this value replaced.
                let rewritten = |x: &str| match vary {
                    None => Some(format!("--set {path}={x}")),
                    Some(v) => {
                        // The other values kept as typed; a comma inside `{}`
                        // splits no value, so one exact match is required.
                        let (vpath, list) = v.split_once('=')?;
                        let mut values: Vec<&str> = list.split(',').collect();
                        let hits: Vec<usize> = (0..values.len())
                            .filter(|&i| values[i].trim() == value_text)
                            .collect();
                        let [i] = hits[..] else {
                            return None;
                        };
                        values[i] = x;
                        Some(format!("--vary {vpath}={}", values.join(",")))
                    }
                };
                // The last character's span: `line.len() - 1` may fall inside `×`.
                let last = line.char_indices().last().map_or(0, |(i, _)| i);
                if let Some((_, says, x)) =
                    super::recover::number_slip_parts(&line, last..line.len())
                {
                    // The alternative `(or 50_000)` would not fit in a list.
                    let x = if vary.is_some() {
                        x.split(" (or ").next().unwrap_or(&x).to_string()
                    } else {
                        x
                    };
                    if let Some(fixed) = rewritten(&x) {
                        p = p.help(format!("{says}{fixed}"));
                    }
                } else if value_text
                    .chars()
                    .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | ' '))
                    && let Some(fixed) = rewritten(&format!("\"{value_text}\""))
                {
                    // Quoted for the shell: the value holds no `'`.
                    let (option, rest) = fixed.split_once(' ').unwrap_or(("", &fixed));
                    p = p.help(format!(
                        "text needs quotes, as in the file: {option} '{rest}'"
                    ));
                }
                return Err(fail(p));
            }
        };
        Ok(Override {
            arg: arg.to_string(),
            path_range,
            value_range,
            segs,
            value,
            vary: vary.map(str::to_string),
        })
    }

    /// The option the user gave this with: `--set`, or `--vary` for a
    /// point of a sweep.
    pub fn option(&self) -> &'static str {
        if self.vary.is_some() {
            "--vary"
        } else {
            "--set"
        }
    }

    /// The `--vary` argument, as typed, this is a point of.
    pub fn vary(&self) -> Option<&str> {
        self.vary.as_deref()
    }

    /// The path, as written.
    pub fn path(&self) -> &str {
        &self.arg[self.path_range.clone()]
    }

    /// The value's TOML text, as written.
    pub fn value(&self) -> &str {
        &self.arg[self.value_range.clone()]
    }

    /// The argument as given on the command line.
    pub fn arg(&self) -> &str {
        &self.arg
    }
}

/// `PATH=VALUE`, with any spaces around `=` dropped.
impl fmt::Display for Override {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.path(), self.value())
    }
}

impl FromStr for Override {
    type Err = ScenarioError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Override::parse(s)
    }
}

/// The first `=` outside quotes (a quoted key may hold anything).
fn find_equals(arg: &str) -> Option<usize> {
    let mut quote: Option<char> = None;
    for (i, c) in arg.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '=') => return Some(i),
            (None, _) => {}
        }
    }
    None
}

fn trimmed(s: &str, r: std::ops::Range<usize>) -> std::ops::Range<usize> {
    let part = &s[r.clone()];
    let start = r.start + (part.len() - part.trim_start().len());
    let end = r.end - (part.len() - part.trim_end().len());
    start..end.max(start)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_keeps_path_and_value_and_prints_them_back() {
        let o = Override::parse("product.H200.price = 30000").expect("override");
        assert_eq!(o.path(), "product.H200.price");
        assert_eq!(o.value(), "30000");
        assert_eq!(o.to_string(), "product.H200.price=30000");
        let d = Override::parse("domestic_mandate[0].share={dist=\"uniform\",min=0.3,max=0.7}")
            .expect("distribution");
        assert_eq!(d.value(), "{dist=\"uniform\",min=0.3,max=0.7}");
        assert_eq!(d.segs.len(), 3);
        // A quoted key may hold `=`; the value starts after the first bare one.
        let q = Override::parse("product.\"a=b\".label=\"x\"").expect("quoted");
        assert_eq!(q.path(), "product.\"a=b\".label");
    }

    #[test]
    fn bad_arguments_are_refused_with_a_reason() {
        for (arg, want) in [
            ("product.H200.price", "expected PATH=VALUE"),
            ("=3", "no path before `=`"),
            ("product.H200.price=", "no value after `=`"),
            ("product..price=3", "expected a key"),
            ("domestic_mandate[x].share=3", "is not an index"),
            ("product.H200.label=Nvidia", "not valid TOML"),
        ] {
            let e = Override::parse(arg).expect_err(arg);
            let text = e.to_string();
            assert!(text.contains(want), "{arg}: {text}");
            assert!(text.contains(&format!("--set {arg}")), "{arg}: {text}");
        }
        // A number written as in prose gets the number meant.
        let e = Override::parse("export_rule.H200.2026-01.revenue_fee=25%").expect_err("%");
        assert!(
            e.to_string()
                .contains("--set export_rule.H200.2026-01.revenue_fee=0.25"),
            "{e}"
        );
        let e = Override::parse("export_rule.H200.2026-01.quota=50,000").expect_err(",");
        assert!(e.to_string().contains("quota=50000 (or 50_000)"), "{e}");
        let e = Override::parse("product.H200.label=Nvidia H200").expect_err("bare");
        assert!(
            e.to_string()
                .contains("--set 'product.H200.label=\"Nvidia H200\"'"),
            "{e}"
        );
    }

    #[test]
    fn a_sweep_points_help_fixes_its_vary_list() {
        let help = |arg: &str, vary: &str| {
            let e = Override::parse_point(arg, vary).expect_err(arg);
            match e {
                ScenarioError::Override {
                    option, problems, ..
                } => {
                    assert_eq!(option, "--vary");
                    problems[0].help.clone().unwrap_or_default()
                }
                other => panic!("{other:?}"),
            }
        };
        let path = "export_rule.H200.2026-01.revenue_fee";
        assert!(
            help(&format!("{path}=25%"), &format!("{path}=25%, 0.3"))
                .ends_with(&format!("--vary {path}=0.25, 0.3")),
        );
        // The value twice in the list, or inside a table: no list to offer.
        assert_eq!(help(&format!("{path}=25%"), &format!("{path}=25%,25%")), "");
        assert!(
            help("product.H200.label=abc", "product.H200.label=abc,\"x\"")
                .ends_with("--vary 'product.H200.label=\"abc\",\"x\"'")
        );
    }
}
