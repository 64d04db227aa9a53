//! Reading the file's structure with error recovery, so that `check` reports
//! every problem of a file at once, as a compiler does.
//!
//! serde stops at the first unknown field or wrong type. So the text is first
//! parsed into a spanned TOML tree (reporting every syntax error), and the
//! tree is deserialized again and again: after each structural error the
//! offending entry is repaired in the tree (an unknown field removed, a value
//! of the wrong type or a missing required field replaced by a placeholder)
//! and deserialization is retried. Spans are those of the original text, so
//! every problem keeps its file:line:col.
//!
//! Placeholders never reach the user: problems the semantic checks raise at a
//! placeholder's span are dropped. A string or array placeholder (a name, a
//! month, a window) would make later checks misleading (a product named "",
//! every date month 0), so after one of those only the structural problems
//! are reported.

use super::error::{Problem, nearest};
use super::raw::RawScenarioFile;
use serde::Deserialize;
use std::ops::Range;
use toml::Spanned;
use toml::de::{DeTable, DeValue, Deserializer};

/// Most repairs tried before giving up on a file (each repair fixes one problem).
const MAX_REPAIRS: usize = 64;

/// The outcome of reading a file's structure.
pub(super) struct Structure {
    /// The deserialized file, when it could be repaired into one.
    pub raw: Option<RawScenarioFile>,
    /// Structural problems (syntax, unknown fields, types, missing fields), in the order found.
    pub problems: Vec<Problem>,
    /// Spans of placeholder values: problems found there are consequences, not causes.
    pub placeholders: Vec<Range<usize>>,
    /// Spans of the unknown fields removed: a problem of a table or
    /// distribution around one (a distribution "missing" the misspelt key)
    /// is a consequence too.
    pub removed: Vec<Range<usize>>,
    /// Whether the semantic checks on `raw` can be trusted to be about the user's text.
    pub semantics_reliable: bool,
}

/// A placeholder value for a field whose real value is unusable; tried in
/// order until one has the type the field wants.
///
/// The number comes first (NaN is refused by every numeric check, at the
/// placeholder's own span); 1200 is the longest horizon, so that an unusable
/// `months` makes no window or date fall outside the horizon.
const PLACEHOLDERS: [&str; 5] = ["nan", "1200", "{}", "\"\"", "[\"\", \"\"]"];
/// Index of the first placeholder after which semantic checks are not reliable.
const FIRST_UNRELIABLE: usize = 3;
/// Fields whose empty-string placeholder misleads no other check: nothing
/// refers to them, and a problem with the placeholder itself is dropped.
/// (`from` and `start` are not: a month 0 there collides with real rules.)
const HARMLESS_STRINGS: [&str; 11] = [
    "dist",
    "regime",
    "basis",
    "label",
    "title",
    "description",
    "launch",
    "midpoint",
    "until",
    "window",
    "segments",
];
/// Fields that hold a month.
const MONTH_KEYS: [&str; 5] = ["start", "launch", "midpoint", "from", "until"];

/// Parses `text` into the raw scenario, repairing and recording each structural problem.
#[cfg(test)]
pub(super) fn read_structure(text: &str) -> Structure {
    match parse(text) {
        Ok(root) => repair(root, text),
        Err(problems) => Structure {
            raw: None,
            problems,
            placeholders: Vec::new(),
            removed: Vec::new(),
            semantics_reliable: false,
        },
    }
}

/// Parses `text` into a spanned TOML tree, or reports every syntax error.
///
/// The tree of a file with syntax errors is a guess: only the syntax is
/// reported then, and the structure is read once it is fixed.
pub(super) fn parse(text: &str) -> Result<Spanned<DeTable<'_>>, Vec<Problem>> {
    let (root, syntax) = DeTable::parse_recoverable(text);
    if syntax.is_empty() {
        Ok(root)
    } else {
        Err(syntax.iter().map(|e| syntax_problem(text, e)).collect())
    }
}

/// Deserializes the tree `root` into the raw scenario, repairing and
/// recording each structural problem (unknown fields, types, missing fields).
///
/// `text` is the text the tree's spans point into: the file's, or for a
/// composed document the sources' texts joined by `"\n"` (the virtual
/// offsets of `compose`). It is quoted in messages (the number written) and
/// bounds the spans: placeholders for missing fields get spans past its end.
pub(super) fn repair(root: Spanned<DeTable<'_>>, text: &str) -> Structure {
    let mut root = root;
    let mut problems = Vec::new();
    // Every placeholder inserted: its span and the index of its current candidate.
    let mut placed: Vec<(Range<usize>, usize, String)> = Vec::new();
    // Missing-field placeholders get spans past the end of the text, unique
    // to each, so that an error about one names it alone.
    let mut next_synthetic = text.len() + 1;
    let mut reliable = true;
    let mut removed = Vec::new();
    // (table span, the name an unknown field there was probably meant to
    // be): that field's "missing" is the misspelling again, not news.
    let mut meant: Vec<(Range<usize>, String)> = Vec::new();
    for _ in 0..MAX_REPAIRS {
        let error = match RawScenarioFile::deserialize(Deserializer::from(root.clone())) {
            Ok(raw) => {
                return Structure {
                    raw: Some(raw),
                    problems,
                    placeholders: placed.into_iter().map(|(s, _, _)| s).collect(),
                    removed,
                    semantics_reliable: reliable,
                };
            }
            Err(e) => e,
        };
        let message = error.message().trim().to_string();
        let Some(span) = error.span() else {
            problems.push(Problem::new(None, message));
            break;
        };
        // A placeholder of the wrong type: try the next candidate.
        if let Some(slot) = placed.iter_mut().find(|(s, _, _)| *s == span) {
            slot.1 += 1;
            let Some(candidate) = PLACEHOLDERS.get(slot.1) else {
                break;
            };
            reliable &= slot.1 < FIRST_UNRELIABLE || HARMLESS_STRINGS.contains(&slot.2.as_str());
            if !replace_value(&mut root, &span, placeholder(candidate, span.clone())) {
                break;
            }
            continue;
        }
        if let Some(rest) = message.strip_prefix("unknown field `") {
            let key = rest.split('`').next().unwrap_or("").to_string();
            let problem = unknown_field_problem(&message, span.clone());
            let suggestion = problem.help.as_ref().and_then(|h| h.split('`').nth(1));
            let suggestion = suggestion.map(str::to_string);
            problems.push(problem);
            let Some(table) = remove_key(&mut root, &span, &key) else {
                break;
            };
            removed.push(span);
            if let Some(n) = suggestion {
                meant.push((table, n));
            }
        } else if let Some(rest) = message.strip_prefix("missing field `") {
            let key = rest.split('`').next().unwrap_or("").to_string();
            if !meant.iter().any(|(t, n)| *t == span && *n == key) {
                problems.push(missing_field_problem(&key, span.clone()));
            }
            let synthetic = next_synthetic..next_synthetic;
            next_synthetic += 1;
            if !insert_key(
                &mut root,
                &span,
                &key,
                placeholder(PLACEHOLDERS[0], synthetic.clone()),
            ) {
                break;
            }
            placed.push((synthetic, 0, key));
        } else {
            let found = find_value(&root, &span);
            let key = found.as_ref().map_or(String::new(), |(k, _)| k.clone());
            problems.push(type_problem(text, &message, span.clone(), found));
            if !replace_value(&mut root, &span, placeholder(PLACEHOLDERS[0], span.clone())) {
                break;
            }
            placed.push((span, 0, key));
        }
    }
    Structure {
        raw: None,
        problems,
        placeholders: placed.into_iter().map(|(s, _, _)| s).collect(),
        removed,
        semantics_reliable: false,
    }
}

fn placeholder(source: &'static str, span: Range<usize>) -> Spanned<DeValue<'static>> {
    // The candidates are valid TOML values; parsing cannot fail, but a
    // failure would only mean an empty table.
    let value = DeValue::parse(source)
        .map(Spanned::into_inner)
        .unwrap_or(DeValue::Table(DeTable::new()));
    respan(value, &span)
}

/// `value` with every span in it (nested elements too) set to `span`, so
/// that an error anywhere inside a placeholder is known as the placeholder's.
fn respan(value: DeValue<'static>, span: &Range<usize>) -> Spanned<DeValue<'static>> {
    let value = match value {
        DeValue::Array(a) => DeValue::Array(
            a.into_iter()
                .map(|x| respan(x.into_inner(), span))
                .collect(),
        ),
        DeValue::Table(t) => {
            let mut out = DeTable::new();
            for (k, v) in t {
                out.insert(
                    Spanned::new(span.clone(), k.into_inner()),
                    respan(v.into_inner(), span),
                );
            }
            DeValue::Table(out)
        }
        other => other,
    };
    Spanned::new(span.clone(), value)
}

/// What a serde type name means to a scenario author.
fn plain_type(expected: &str) -> String {
    let e = expected.trim();
    if e == "i64" || e == "u64" || e == "an integer" {
        return "an integer".into();
    }
    if e == "f64" || e == "a float" {
        return "a number".into();
    }
    if e.starts_with("struct ") || e == "a map" {
        return "a table".into();
    }
    if let Some(n) = e.strip_prefix("a tuple of size ") {
        return format!("an array of {n} elements");
    }
    if e == "a sequence" {
        return "an array".into();
    }
    e.to_string()
}

/// Describes the value written in the file, with its text.
fn describe_found(
    text: &str,
    span: &Range<usize>,
    value: Option<&(String, DeValue<'_>)>,
) -> String {
    let src = text.get(span.clone()).unwrap_or("").trim();
    match value.map(|(_, v)| v) {
        Some(DeValue::String(s)) => format!("the string \"{s}\""),
        Some(DeValue::Integer(_)) => format!("the integer {src}"),
        Some(DeValue::Float(_)) => format!("the number {src}"),
        Some(DeValue::Boolean(b)) => format!("the boolean {b}"),
        Some(DeValue::Datetime(_)) => format!("the TOML date {src}"),
        Some(DeValue::Array(a)) => format!("an array of {} elements", a.len()),
        Some(DeValue::Table(_)) => "a table".into(),
        None => "another type".into(),
    }
}

fn syntax_problem(text: &str, e: &toml::de::Error) -> Problem {
    let msg = e.message().trim();
    let mut p = Problem::new(e.span(), format!("invalid TOML: {msg}"));
    if msg.contains("duplicate key") {
        // The span is the key given again: name it.
        if let Some(key) = e.span().and_then(|s| text.get(s)) {
            p.message = format!("invalid TOML: duplicate key `{}`", key.trim());
        }
        // `[product]` after `[[product]]`: a second table where a list was meant.
        let line_start = e
            .span()
            .and_then(|s| text.get(..s.start))
            .map_or(0, |before| before.rfind('\n').map_or(0, |i| i + 1));
        let line = text.get(line_start..).unwrap_or("").trim_start();
        if line.starts_with('[') && !line.starts_with("[[") {
            let name = line[1..].split(']').next().unwrap_or("").trim();
            p = p.help(format!(
                "a table that repeats, one per {name}, is written [[{name}]] with double brackets"
            ));
        } else {
            p = p.help("each key may appear once in a table; remove or rename one of them");
        }
    } else if let Some(help) = e.span().and_then(|s| second_key(text, s)) {
        p = p.help(help);
    } else if let Some(help) = e.span().and_then(|s| number_slip(text, s)) {
        // `25%`, `50,000`, `0.7x`: a number was meant, not a string.
        p = p.help(help);
    } else if msg.contains("invalid string") || msg.contains("string") {
        p = p.help("strings are written in double quotes, e.g. name = \"H200\"");
    }
    p
}

/// The help for two keys on one line (`quota = 5000 approval_rate = 0.5`),
/// when the syntax error at `span` follows the first `=` of such a line.
/// Lines with quotes, brackets or comments are left alone: unsure.
fn second_key(text: &str, span: Range<usize>) -> Option<String> {
    let line_start = text.get(..span.start)?.rfind('\n').map_or(0, |i| i + 1);
    let line = text[line_start..].lines().next().unwrap_or("");
    let eq = line.find('=')?;
    if span.start <= line_start + eq || line.contains(['"', '\'', '#', '{', '[']) {
        return None;
    }
    let rest = &line[eq + 1..];
    let before = rest[..rest.find('=')?].trim_end();
    let (value, key) = before.rsplit_once(char::is_whitespace)?;
    let bare = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-');
    // A number first: after `name = foo bar = x` the text may be the value.
    let number = value
        .trim()
        .starts_with(|c: char| c.is_ascii_digit() || "+-.".contains(c));
    (number && !key.is_empty() && key.chars().all(bare))
        .then(|| format!("one key per line: start `{key} = ...` on a new line"))
}

/// The help for a value that starts as a number but is not valid TOML
/// (`revenue_fee = 25%`, `quota = 50,000`, `approval_rate = 0.7x`), when
/// the syntax error at `span` lies in such a value of a `key = value` line.
pub(super) fn number_slip(text: &str, span: Range<usize>) -> Option<String> {
    let (key, says, x) = number_slip_parts(text, span)?;
    Some(format!("{says}{key} = {x}"))
}

/// [`number_slip`] in parts: the key, what the help says before `key = `,
/// and the value to write (with an alternative in parentheses).
pub(super) fn number_slip_parts(
    text: &str,
    span: Range<usize>,
) -> Option<(String, &'static str, String)> {
    let line_start = text.get(..span.start)?.rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[line_start..]
        .find('\n')
        .map_or(text.len(), |i| line_start + i);
    let line = &text[line_start..line_end];
    let eq = line.find('=')?;
    if span.start < line_start + eq {
        return None;
    }
    let key = line[..eq].trim();
    let value = line[eq + 1..].split('#').next().unwrap_or("").trim();
    let numeric = |c: char| c.is_ascii_digit() || matches!(c, '+' | '-' | '.');
    if key.is_empty() || !value.starts_with(|c: char| numeric(c) || CURRENCY.contains(&c)) {
        return None;
    }
    let (says, x) = match number_meant(value)? {
        Meant::Thousands(digits) => (
            "TOML numbers have no `,` between thousands: ",
            format!("{digits} (or {})", value.replace(',', "_")),
        ),
        Meant::DecimalComma(x) => ("TOML numbers use a decimal point: ", x),
        Meant::Plain(x) => (PLAIN_NUMBER, x),
        Meant::Lead(x) => ("write a number, e.g. ", x),
    };
    // A help that repeats what was written would not be one.
    (x != value).then(|| (key.to_string(), says, x))
}

const CURRENCY: [char; 3] = ['$', '€', '£'];

const PLAIN_NUMBER: &str = "write a plain number, without quotes, currency or separators: ";

fn plain_number_help(key: &str, x: &str) -> String {
    format!("{PLAIN_NUMBER}{key} = {x}")
}

/// How text that starts as a number was meant.
#[derive(Debug, PartialEq)]
enum Meant {
    /// `50,000` alone: the number without its thousands commas.
    Thousands(String),
    /// `0,7` alone: the number with a decimal point.
    DecimalComma(String),
    /// `$17,000`, `25 %`, `18 months`: the number alone (a percentage as a
    /// fraction).
    Plain(String),
    /// `0.7x`: a number with something glued to it; the number before it.
    Lead(String),
}

/// The number that text such as `17000`, `$17,000`, `25 %`, `18 months`
/// or `0.7x` means. None when unsure (`1,5`, `5000 rate = 1`, `1e400`):
/// a hint must never be false.
fn number_meant(s: &str) -> Option<Meant> {
    let s = s.trim();
    let body = s.trim_start_matches(CURRENCY).trim_start();
    let bare = body.len() == s.len();
    // The number's own characters: a sign, digits, commas, a point, an exponent.
    let bytes = body.as_bytes();
    let end = (0..bytes.len())
        .find(|&i| {
            let c = bytes[i];
            let ok = c.is_ascii_digit()
                || matches!(c, b',' | b'.')
                || (matches!(c, b'+' | b'-') && (i == 0 || matches!(bytes[i - 1], b'e' | b'E')))
                || (matches!(c, b'e' | b'E')
                    && i > 0
                    && bytes[i - 1].is_ascii_digit()
                    && bytes
                        .get(i + 1)
                        .is_some_and(|d| d.is_ascii_digit() || matches!(d, b'+' | b'-')));
            !ok
        })
        .unwrap_or(bytes.len());
    let (num, after) = body.split_at(end);
    let rest = after.trim();
    // Only a unit, currency or `%` may follow; `=` or `,` means another mistake.
    let unit_like = |c: char| c.is_alphabetic() || c.is_whitespace() || "%$€£/×".contains(c);
    if num.is_empty() || !rest.chars().all(unit_like) {
        return None;
    }
    let number = if num.contains(',') {
        if let Some(digits) = thousands(num) {
            if rest.is_empty() && bare {
                return Some(Meant::Thousands(digits));
            }
            digits
        } else {
            return decimal_comma(num)
                .filter(|_| rest.is_empty() && bare)
                .map(Meant::DecimalComma);
        }
    } else {
        num.to_string()
    };
    let x = number.parse::<f64>().ok().filter(|x| x.is_finite())?;
    if rest.contains('%') {
        // `25 % of revenue` or `5 %%`: unsure what was meant.
        return (rest == "%")
            .then(|| super::resolve::percent_as_fraction(x))
            .flatten()
            .map(Meant::Plain);
    }
    let glued = !rest.is_empty() && !after.starts_with(char::is_whitespace);
    Some(
        if glued && rest.starts_with(|c: char| c.is_alphabetic() || c == '×') {
            Meant::Lead(x.to_string())
        } else {
            Meant::Plain(x.to_string())
        },
    )
}

/// `50,000` or `-1,234.5` (`^[+-]?[1-9]\d{0,2}(,\d{3})+(\.\d+)?$`) without
/// its commas; None for `5000,`, `1,2,3` or `0,500`.
fn thousands(s: &str) -> Option<String> {
    let unsigned = s.strip_prefix(['+', '-']).unwrap_or(s);
    let (int, frac) = unsigned.split_once('.').unwrap_or((unsigned, "0"));
    let digits = |g: &str| !g.is_empty() && g.bytes().all(|b| b.is_ascii_digit());
    let mut groups = int.split(',');
    let first = groups.next().unwrap_or("");
    let grouped = digits(first)
        && first.len() <= 3
        && !first.starts_with('0')
        && int.contains(',')
        && groups.all(|g| g.len() == 3 && digits(g));
    (grouped && digits(frac)).then(|| s.replace(',', ""))
}

/// `0,7` with a decimal point, when the comma can be nothing else: one
/// comma, not followed by exactly three digits (`1,500` may be thousands).
fn decimal_comma(s: &str) -> Option<String> {
    let (int, frac) = s.split_once(',')?;
    let unsigned = int.strip_prefix(['+', '-']).unwrap_or(int);
    let digits = |g: &str| !g.is_empty() && g.bytes().all(|b| b.is_ascii_digit());
    let leading_zero = unsigned.len() > 1 && unsigned.starts_with('0');
    (digits(unsigned) && digits(frac) && frac.len() != 3 && !leading_zero)
        .then(|| format!("{int}.{frac}"))
}

fn unknown_field_problem(message: &str, span: Range<usize>) -> Problem {
    let ticked: Vec<&str> = message.split('`').skip(1).step_by(2).collect();
    let found = ticked.first().copied().unwrap_or("");
    let expected: Vec<&str> = ticked.iter().skip(1).copied().collect();
    let mut p = Problem::new(Some(span), format!("unknown field `{found}`"));
    if expected.is_empty() {
        p = p.note("this table takes no fields");
    } else {
        p = p.note(format!("expected one of: {}", expected.join(", ")));
    }
    // Names other tools use for a field of ours.
    const SYNONYMS: [(&str, &str); 6] = [
        ("type", "dist"),
        ("kind", "dist"),
        ("distribution", "dist"),
        ("stdev", "sd"),
        ("std", "sd"),
        ("mu", "mean"),
    ];
    let synonym = SYNONYMS
        .iter()
        .find(|(s, n)| found.eq_ignore_ascii_case(s) && expected.contains(n))
        .map(|(_, n)| *n);
    if let Some(n) = nearest(found, expected.iter().copied()).or(synonym) {
        p = p.help(format!("did you mean `{n}`?"));
    }
    p
}

fn missing_field_problem(key: &str, span: Range<usize>) -> Problem {
    let table = |name: &str, help: &str| {
        Problem::new(Some(span.clone()), format!("missing the [{name}] table")).help(help)
    };
    match key {
        "scenario" => table(
            "scenario",
            "add a [scenario] table with name, start and months",
        ),
        "market" => table("market", "add a [market] table with name and home"),
        "demand" => table(
            "market.demand",
            "add a [market.demand] table with at least `initial`",
        ),
        _ => Problem::new(Some(span), format!("missing required field `{key}`"))
            .help(format!("add `{key} = ...` to this table")),
    }
}

fn type_problem(
    text: &str,
    message: &str,
    span: Range<usize>,
    found: Option<(String, DeValue<'_>)>,
) -> Problem {
    let key = found.as_ref().map(|(k, _)| k.as_str()).unwrap_or("");
    let found_text = describe_found(text, &span, found.as_ref());
    if let Some(rest) = message.strip_prefix("invalid type: ") {
        let expected = plain_type(
            rest.split_once(", expected ")
                .map_or("another type", |(_, e)| e),
        );
        let value = found.as_ref().map(|(_, v)| v);
        if matches!(value, Some(DeValue::Integer(_))) && expected == "an integer" {
            // An integer serde could not take: beyond 64 bits.
            let src = text.get(span.clone()).unwrap_or("").trim().to_string();
            return Problem::new(
                Some(span),
                format!(
                    "the integer {src} is too large: the largest is {}",
                    i64::MAX
                ),
            );
        }
        let src = text.get(span.clone()).unwrap_or("").trim();
        let mut p = Problem::new(
            Some(span.clone()),
            format!("wrong type: expected {expected}, found {found_text}"),
        );
        match value {
            Some(DeValue::Datetime(_)) => {
                p = p.help("write months as strings, e.g. \"2026-01\"");
            }
            Some(DeValue::String(s)) if expected == "an array" => {
                p = p.help(format!("write a list: {key} = [\"{s}\"]"));
            }
            Some(DeValue::String(s)) if expected != "a string" => {
                // "17000", "$17,000", "25 %": the number meant, written plainly.
                match number_meant(s) {
                    Some(Meant::Thousands(x) | Meant::Plain(x)) => {
                        p = p.help(plain_number_help(key, &x));
                    }
                    Some(Meant::DecimalComma(x)) => {
                        p = p.help(format!(
                            "write a number, without quotes, with a decimal point: {key} = {x}"
                        ));
                    }
                    // `"0.7x"`: too unsure to name a number.
                    Some(Meant::Lead(_)) | None => {}
                }
            }
            Some(DeValue::Integer(_) | DeValue::Float(_))
                if expected == "a string" && MONTH_KEYS.contains(&key) =>
            {
                p = p.help(format!(
                    "months are strings \"YYYY-MM\", e.g. {key} = \"{}-01\"",
                    src.split('.').next().unwrap_or(src)
                ));
            }
            Some(DeValue::Table(t))
                if (expected == "a number" || expected == "an integer")
                    && t.iter().any(|(k, _)| k.get_ref() == "dist") =>
            {
                // A distribution where the format takes only a constant
                // (`h100e`, a segment's `share`, a hazard): say so, with the
                // distribution's centre when it gives one.
                let centre = ["mode", "mean", "median"].iter().find_map(|c| {
                    t.iter()
                        .find(|(k, _)| k.get_ref() == c)
                        .and_then(|(_, v)| text.get(v.span()))
                });
                p = p.help(match centre {
                    Some(c) => format!(
                        "`{key}` is a constant, not uncertain: write a plain number, e.g. {key} = {}",
                        c.trim()
                    ),
                    None => format!("`{key}` is a constant, not uncertain: write a plain number"),
                });
            }
            Some(DeValue::Float(_)) if expected == "an integer" => {
                if let Ok(x) = src.parse::<f64>()
                    && x.fract() == 0.0
                    && x.abs() < 1e15
                {
                    p = p.help(format!("write a whole number: {key} = {}", x as i64));
                }
            }
            _ => {}
        }
        return p;
    }
    if let Some(rest) = message.strip_prefix("invalid length ") {
        let (n, expected) = rest
            .split_once(", expected ")
            .unwrap_or((rest, "another length"));
        let mut p = Problem::new(
            Some(span),
            format!(
                "wrong number of elements: expected {}, found {n}",
                plain_type(expected)
            ),
        );
        p = match key {
            "window" => {
                p.help("write window = [\"YYYY-MM\", \"YYYY-MM\"]: the first and last month")
            }
            _ => p.help("a schedule point is written [\"YYYY-MM\", units]"),
        };
        return p;
    }
    Problem::new(Some(span), message.to_string())
}

/// Every value in the tree, depth first, with its key (or its array's key).
fn for_each_value<'a, 'i>(
    table: &'a DeTable<'i>,
    f: &mut impl FnMut(&str, &'a Spanned<DeValue<'i>>) -> bool,
) -> bool {
    for (k, v) in table.iter() {
        if walk_value(k.get_ref(), v, f) {
            return true;
        }
    }
    false
}

fn walk_value<'a, 'i>(
    key: &str,
    v: &'a Spanned<DeValue<'i>>,
    f: &mut impl FnMut(&str, &'a Spanned<DeValue<'i>>) -> bool,
) -> bool {
    if f(key, v) {
        return true;
    }
    match v.get_ref() {
        DeValue::Table(t) => for_each_value(t, f),
        DeValue::Array(a) => a.iter().any(|x| walk_value(key, x, f)),
        _ => false,
    }
}

/// The value at `span`, with its key.
fn find_value<'i>(
    root: &Spanned<DeTable<'i>>,
    span: &Range<usize>,
) -> Option<(String, DeValue<'i>)> {
    let mut found = None;
    for_each_value(root.get_ref(), &mut |k, v| {
        if v.span() == *span {
            found = Some((k.to_string(), v.get_ref().clone()));
            true
        } else {
            false
        }
    });
    found
}

/// Applies `f` to the first table (the root included) for which `select`
/// holds, with its span; returns whether one did.
fn with_table<'i>(
    root: &mut Spanned<DeTable<'i>>,
    select: &dyn Fn(&Range<usize>, &DeTable<'i>) -> bool,
    f: &mut dyn FnMut(&Range<usize>, &mut DeTable<'i>),
) -> bool {
    let span = root.span();
    if select(&span, root.get_ref()) {
        f(&span, root.get_mut());
        return true;
    }
    table_rec(root.get_mut(), select, f)
}

fn table_rec<'i>(
    t: &mut DeTable<'i>,
    select: &dyn Fn(&Range<usize>, &DeTable<'i>) -> bool,
    f: &mut dyn FnMut(&Range<usize>, &mut DeTable<'i>),
) -> bool {
    for (_, v) in t.iter_mut() {
        if value_rec(v, select, f) {
            return true;
        }
    }
    false
}

fn value_rec<'i>(
    v: &mut Spanned<DeValue<'i>>,
    select: &dyn Fn(&Range<usize>, &DeTable<'i>) -> bool,
    f: &mut dyn FnMut(&Range<usize>, &mut DeTable<'i>),
) -> bool {
    let span = v.span();
    match v.get_mut() {
        DeValue::Table(t) => {
            if select(&span, t) {
                f(&span, t);
                return true;
            }
            table_rec(t, select, f)
        }
        DeValue::Array(a) => a.iter_mut().any(|x| value_rec(x, select, f)),
        _ => false,
    }
}

/// Removes the entry `key` of the table whose key or own span is `span`;
/// returns that table's span.
fn remove_key(
    root: &mut Spanned<DeTable<'_>>,
    span: &Range<usize>,
    key: &str,
) -> Option<Range<usize>> {
    let mut removed = false;
    let mut table_span = None;
    let found = with_table(
        root,
        &|s, t| {
            t.iter()
                .any(|(k, _)| k.span() == *span && k.get_ref() == key)
                || (*s == *span && t.iter().any(|(k, _)| k.get_ref() == key))
        },
        &mut |s, t| {
            removed = t.remove(key).is_some();
            table_span = Some(s.clone());
        },
    );
    if found && removed { table_span } else { None }
}

/// Inserts `key = value` into the table whose span is `span`.
fn insert_key(
    root: &mut Spanned<DeTable<'_>>,
    span: &Range<usize>,
    key: &str,
    value: Spanned<DeValue<'static>>,
) -> bool {
    let mut value = Some(value);
    with_table(
        root,
        &|s, t| *s == *span && !t.iter().any(|(k, _)| k.get_ref() == key),
        &mut |_, t| {
            if let Some(v) = value.take() {
                let k = Spanned::new(v.span(), std::borrow::Cow::Owned(key.to_string()));
                t.insert(k, v);
            }
        },
    )
}

/// Replaces the value whose span is `span`.
fn replace_value(
    root: &mut Spanned<DeTable<'_>>,
    span: &Range<usize>,
    value: Spanned<DeValue<'static>>,
) -> bool {
    let mut value = Some(value);
    replace_rec(root.get_mut(), span, &mut value)
}

fn replace_rec<'i>(
    t: &mut DeTable<'i>,
    span: &Range<usize>,
    value: &mut Option<Spanned<DeValue<'static>>>,
) -> bool {
    for (_, v) in t.iter_mut() {
        if replace_in_value(v, span, value) {
            return true;
        }
    }
    false
}

fn replace_in_value<'i>(
    v: &mut Spanned<DeValue<'i>>,
    span: &Range<usize>,
    value: &mut Option<Spanned<DeValue<'static>>>,
) -> bool {
    if v.span() == *span {
        if let Some(new) = value.take() {
            *v = new;
        }
        return true;
    }
    match v.get_mut() {
        DeValue::Table(t) => replace_rec(t, span, value),
        DeValue::Array(a) => a.iter_mut().any(|x| replace_in_value(x, span, value)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn messages(text: &str) -> (Vec<String>, bool, bool) {
        let s = read_structure(text);
        (
            s.problems.iter().map(|p| p.message.clone()).collect(),
            s.raw.is_some(),
            s.semantics_reliable,
        )
    }

    const OK: &str = "[scenario]\nname = \"x\"\nstart = \"2026-01\"\nmonths = 12\n\n[market]\nname = \"China\"\nhome = \"CN\"\n\n[market.demand]\ninitial = 1000\n\n[[segment]]\nname = \"all\"\nshare = 1\nsubstitution_elasticity = 2\n\n[[product]]\nname = \"H20\"\nvendor = \"Nvidia\"\norigin = \"US\"\nh100e = 0.15\nprice = 12000\n";

    #[test]
    fn a_valid_file_has_no_structural_problem() {
        assert_eq!(messages(OK), (vec![], true, true));
    }

    #[test]
    fn unknown_fields_are_all_reported_and_the_rest_still_read() {
        let text = OK
            .replace("months = 12", "month = 12")
            .replace("home = \"CN\"", "home = \"CN\"\nhomes = 1")
            .replace("h100e = 0.15", "h100e = 0.15\nprise = 1");
        let (mut m, raw, reliable) = messages(&text);
        m.sort();
        assert_eq!(
            m,
            [
                "unknown field `homes`",
                "unknown field `month`",
                "unknown field `prise`"
            ]
        );
        assert!(raw && reliable);
    }

    #[test]
    fn wrong_types_get_placeholders_of_the_right_type() {
        let text = OK
            .replace("months = 12", "months = \"12\"")
            .replace("share = 1", "share = \"1\"")
            .replace("price = 12000", "price = true");
        let (m, raw, reliable) = messages(&text);
        assert_eq!(m.len(), 3, "{m:?}");
        assert!(m.iter().all(|x| x.starts_with("wrong type")), "{m:?}");
        assert!(raw && reliable);
        // A name of the wrong type: later checks would be about the placeholder.
        let (m, raw, reliable) = messages(&OK.replace("name = \"H20\"", "name = 20"));
        assert_eq!(m, ["wrong type: expected a string, found the integer 20"]);
        assert!(raw && !reliable);
    }

    #[test]
    fn syntax_errors_stop_before_the_structure() {
        let (m, raw, _) = messages("[scenario\nname = \"x\"\n");
        assert!(!m.is_empty() && m[0].starts_with("invalid TOML"), "{m:?}");
        assert!(!raw);
    }

    #[test]
    fn a_number_written_wrong_gets_the_number_meant() {
        let help = |line: &str| {
            let problems = read_structure(&OK.replace("price = 12000", line)).problems;
            problems
                .first()
                .and_then(|p| p.help.clone())
                .unwrap_or_default()
        };
        assert!(help("price = 25%").ends_with("price = 0.25"));
        assert!(help("price = 15.5 %").ends_with("price = 0.155"));
        assert!(help("price = 1.4%").ends_with("price = 0.014"));
        assert_eq!(
            help("price = 50,000"),
            "TOML numbers have no `,` between thousands: price = 50000 (or 50_000)"
        );
        assert_eq!(help("price = 0.7x"), "write a number, e.g. price = 0.7");
        // Thousands commas are dropped before the number is taken.
        let plain = "write a plain number, without quotes, currency or separators: ";
        assert_eq!(
            help("price = 20,000 units"),
            format!("{plain}price = 20000")
        );
        assert_eq!(
            help("price = $27,000/chip"),
            format!("{plain}price = 27000")
        );
        assert_eq!(help("price = 50,000 €"), format!("{plain}price = 50000"));
        // Commas that are no thousands get no thousands hint.
        assert_eq!(help("price = 5000,"), "");
        assert_eq!(help("price = 1,2,3"), "");
        assert_eq!(help("price = 2,5 %"), "");
        assert_eq!(help("price = 1,500,00"), "");
        assert_eq!(
            help("price = 0,7"),
            "TOML numbers use a decimal point: price = 0.7"
        );
        assert_eq!(
            help("price = 1,5"),
            "TOML numbers use a decimal point: price = 1.5"
        );
        // Two keys on one line: the number was fine.
        assert_eq!(
            help("price = 5000 share = 0.5"),
            "one key per line: start `share = ...` on a new line"
        );
        assert_eq!(help("price = 5000 \"share\" = 0.5"), "");
        assert!(!help("price = abc share = 0.5").contains("one key"));
        // Not finite: no fraction made of it.
        assert_eq!(help("price = 1e400%"), "");
        assert!(!help("price = +inf %").contains("number"));
        assert_eq!(help("price = \"nan %\""), "");
        assert_eq!(help("price = \"1e400 %\""), "");
        assert_eq!(help("price = \"$17,000\""), format!("{plain}price = 17000"));
        // Text is still told to be quoted.
        assert!(help("price = abc").contains("double quotes"));
    }

    #[test]
    fn repairs_are_bounded() {
        let mut text = OK.to_string();
        for i in 0..200 {
            text.push_str(&format!("\n[[product]]\nname = \"P{i}\"\nvendr = 1\n"));
        }
        let s = read_structure(&text);
        assert!(s.raw.is_none());
        assert!(s.problems.len() <= MAX_REPAIRS);
    }
}
