//! The scenario document between parsing and deserialization: an owned TOML
//! tree in which every value and key keeps its span, so that files can be
//! merged (`extends`), edited (`remove`, `--set`) and then deserialized into
//! the raw serde types with every span still pointing at the text it came from.
//!
//! Spans live in one *virtual* address space: each source (a file of the
//! `extends` chain, or a `--set` argument) is given its own range of offsets
//! (see `compose`), and a span is shifted into that range when the
//! source is parsed. The resolver works on these spans as if they were offsets
//! in one text; `compose` maps each problem back to its source, so a message
//! names the file, line and column (or the `--set` argument) that supplied the
//! offending value. The toml crate's own `DeTable` borrows its input and its
//! numbers cannot be built outside the crate, hence this owned copy.

use super::error::{Problem, edit_distance};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::ops::Range;
use toml::Spanned;
use toml::de::{DeArray, DeTable, DeValue};
use toml::value::Datetime;

/// One value of the document with its span (virtual offsets).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node {
    pub span: Range<usize>,
    pub value: Value,
}

/// A table: key → (the key's span, the value).
pub(crate) type Table = BTreeMap<String, (Range<usize>, Node)>;

/// A TOML value. Numbers keep their TOML literal (re-parsed by the toml crate
/// when deserialized), so nothing is lost or rounded on the way through.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    String(String),
    Integer(String),
    Float(String),
    Boolean(bool),
    Datetime(Datetime),
    Array(Vec<Node>),
    Table(Table),
}

impl Value {
    /// The TOML type's name, for messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::String(_) => "a string",
            Value::Integer(_) => "an integer",
            Value::Float(_) => "a float",
            Value::Boolean(_) => "a boolean",
            Value::Datetime(_) => "a date-time",
            Value::Array(_) => "an array",
            Value::Table(_) => "a table",
        }
    }
}

impl Node {
    /// Copies a parsed toml value, shifting every span by `shift`.
    pub fn from_de(v: &Spanned<DeValue<'_>>, shift: usize) -> Node {
        let span = v.span();
        let span = span.start + shift..span.end + shift;
        let value = match v.get_ref() {
            DeValue::String(s) => Value::String(s.to_string()),
            // `Display` writes the radix prefix back, so the text is TOML again.
            DeValue::Integer(i) => Value::Integer(i.to_string()),
            DeValue::Float(f) => Value::Float(f.to_string()),
            DeValue::Boolean(b) => Value::Boolean(*b),
            DeValue::Datetime(d) => Value::Datetime(*d),
            DeValue::Array(a) => Value::Array(a.iter().map(|x| Node::from_de(x, shift)).collect()),
            DeValue::Table(t) => Value::Table(table_from_de(t, shift)),
        };
        Node { span, value }
    }

    /// A toml value borrowing from this node, for deserialization.
    pub fn to_de(&self) -> Spanned<DeValue<'_>> {
        let value = match &self.value {
            Value::String(s) => DeValue::String(Cow::Borrowed(s)),
            Value::Integer(t) | Value::Float(t) => match DeValue::parse(t) {
                Ok(v) => v.into_inner(),
                // Unreachable: the text came from the toml parser. Should it
                // ever fail, a string gives a type error at the right place
                // rather than a panic.
                Err(_) => DeValue::String(Cow::Borrowed(t)),
            },
            Value::Boolean(b) => DeValue::Boolean(*b),
            Value::Datetime(d) => DeValue::Datetime(*d),
            Value::Array(items) => {
                let mut a = DeArray::new();
                for item in items {
                    a.push(item.to_de());
                }
                DeValue::Array(a)
            }
            Value::Table(t) => DeValue::Table(table_to_de(t)),
        };
        Spanned::new(self.span.clone(), value)
    }

    /// The table, if this is one.
    pub fn as_table(&self) -> Option<&Table> {
        match &self.value {
            Value::Table(t) => Some(t),
            _ => None,
        }
    }

    /// The table, mutably, if this is one.
    pub fn as_table_mut(&mut self) -> Option<&mut Table> {
        match &mut self.value {
            Value::Table(t) => Some(t),
            _ => None,
        }
    }

    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The string value of key `k` of this table.
    fn str_field(&self, k: &str) -> Option<&str> {
        self.as_table()?.get(k)?.1.as_str()
    }
}

/// Copies a parsed toml table, shifting spans.
pub(crate) fn table_from_de(t: &DeTable<'_>, shift: usize) -> Table {
    t.iter()
        .map(|(k, v)| {
            let ks = k.span();
            (
                k.get_ref().to_string(),
                (ks.start + shift..ks.end + shift, Node::from_de(v, shift)),
            )
        })
        .collect()
}

fn table_to_de(t: &Table) -> DeTable<'_> {
    let mut out = DeTable::new();
    for (k, (ks, v)) in t {
        out.insert(
            Spanned::new(ks.clone(), Cow::Borrowed(k.as_str())),
            v.to_de(),
        );
    }
    out
}

// ---------------------------------------------------------------------------
// Merging a child file into its parent.
// ---------------------------------------------------------------------------

/// Arrays of tables whose items are matched by their `name`.
pub(crate) const NAMED_ARRAYS: [(&str, &str); 3] = [
    ("segment", "segment"),
    ("product", "product"),
    ("shock", "shock"),
];
/// Arrays of rules: a child's rules are appended to its parent's.
pub(crate) const RULE_ARRAYS: [&str; 3] = ["export_rule", "import_rule", "domestic_mandate"];

/// Merges the child's top-level table into the parent's (both documents).
///
/// Tables merge key by key; `segment`, `product` and `shock` items merge by
/// `name` (new names are appended); rules are appended; any other value,
/// including a distribution table (a table with `dist`) and a plain array,
/// is replaced whole by the child's.
pub(crate) fn merge_document(parent: &mut Node, child: Node) {
    let child_span = child.span.clone();
    let (Some(pt), Value::Table(ct)) = (parent.as_table_mut(), child.value) else {
        return;
    };
    for (k, (ks, cv)) in ct {
        match pt.get_mut(&k) {
            Some((_, pv)) if NAMED_ARRAYS.iter().any(|(n, _)| *n == k) => merge_named(pv, cv),
            Some((_, pv)) if RULE_ARRAYS.contains(&k.as_str()) => append(pv, cv),
            Some(entry) => merge_value(entry, ks, cv),
            None => {
                pt.insert(k, (ks, cv));
            }
        }
    }
    // The merged document is reported (e.g. a missing `[market]`) against the
    // file that was asked for, the last one merged.
    parent.span = child_span;
}

fn is_distribution(n: &Node) -> bool {
    n.as_table().is_some_and(|t| t.contains_key("dist"))
}

fn merge_value(entry: &mut (Range<usize>, Node), key_span: Range<usize>, child: Node) {
    let structural = entry.1.as_table().is_some()
        && child.as_table().is_some()
        && !is_distribution(&entry.1)
        && !is_distribution(&child);
    if !structural {
        // A value, even a distribution table, is one value: the child's
        // replaces the parent's whole (merging the keys of two distributions
        // would mix their parameters).
        *entry = (key_span, child);
        return;
    }
    let (Some(pt), Value::Table(ct)) = (entry.1.as_table_mut(), child.value) else {
        return;
    };
    for (k, (ks, cv)) in ct {
        match pt.get_mut(&k) {
            Some(e) => merge_value(e, ks, cv),
            None => {
                pt.insert(k, (ks, cv));
            }
        }
    }
}

/// Named items: a child's item with a parent item's name merges into it; one
/// with a new name (or no name) is appended. Each parent item is merged at
/// most once, so two child items with one name stay two (and the resolver
/// reports the duplicate).
fn merge_named(parent: &mut Node, child: Node) {
    if !matches!(
        (&parent.value, &child.value),
        (Value::Array(_), Value::Array(_))
    ) {
        *parent = child;
        return;
    }
    let (Value::Array(pitems), Value::Array(citems)) = (&mut parent.value, child.value) else {
        return;
    };
    let parent_len = pitems.len();
    let mut merged = vec![false; parent_len];
    for c in citems {
        let name = c.str_field("name").map(str::to_string);
        let target = name.and_then(|n| {
            (0..parent_len).find(|&i| !merged[i] && pitems[i].str_field("name") == Some(n.as_str()))
        });
        match target {
            Some(i) => {
                merged[i] = true;
                let placeholder = Node {
                    span: 0..0,
                    value: Value::Boolean(false),
                };
                let item = std::mem::replace(&mut pitems[i], placeholder);
                let span = item.span.clone();
                let mut entry = (0..0, item);
                merge_value(&mut entry, 0..0, c);
                pitems[i] = entry.1;
                // The item keeps the place where it was first defined.
                pitems[i].span = span;
            }
            None => pitems.push(c),
        }
    }
}

fn append(parent: &mut Node, child: Node) {
    match (&mut parent.value, child.value) {
        (Value::Array(p), Value::Array(c)) => p.extend(c),
        (_, value) => {
            *parent = Node {
                span: child.span,
                value,
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Paths: `product.H200.price`, `domestic_mandate[0].share`,
// `export_rule.H200.2026-01.quota`.
// ---------------------------------------------------------------------------

/// One step of a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Step {
    /// A key (or part of an item's name or content key).
    Key(String),
    /// An array index, `[N]`.
    Index(usize),
}

/// A step with its span (offsets in the text the path was read from).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Seg {
    pub step: Step,
    pub span: Range<usize>,
}

fn is_bare(c: char) -> bool {
    !(c.is_whitespace() || matches!(c, '.' | '[' | ']' | '"' | '\'' | '='))
}

/// Parses a path; spans are `offset` plus the position in `text`.
pub(crate) fn parse_path(text: &str, offset: usize) -> Result<Vec<Seg>, Problem> {
    let bad = |at: usize, len: usize, msg: String| {
        Problem::new(Some(offset + at..offset + at + len.max(1)), msg).note(
            "a path is keys joined by `.`, with `[N]` for an item of an array: \
             product.H200.price, domestic_mandate[0].share, \"quoted.key\"",
        )
    };
    let mut segs = Vec::new();
    let mut rest = text.char_indices().peekable();
    let mut expect_key = true;
    while let Some(&(i, c)) = rest.peek() {
        if expect_key {
            if c == '"' || c == '\'' {
                rest.next();
                let mut end = None;
                for (j, d) in rest.by_ref() {
                    if d == c {
                        end = Some(j);
                        break;
                    }
                }
                let Some(j) = end else {
                    return Err(bad(i, text.len() - i, "unclosed quote in the path".into()));
                };
                segs.push(Seg {
                    step: Step::Key(text[i + 1..j].to_string()),
                    span: offset + i..offset + j + 1,
                });
            } else if is_bare(c) {
                let mut j = i;
                while let Some(&(k, d)) = rest.peek() {
                    if !is_bare(d) {
                        break;
                    }
                    j = k + d.len_utf8();
                    rest.next();
                }
                segs.push(Seg {
                    step: Step::Key(text[i..j].to_string()),
                    span: offset + i..offset + j,
                });
            } else {
                return Err(bad(
                    i,
                    c.len_utf8(),
                    format!("expected a key in the path, found `{c}`"),
                ));
            }
            expect_key = false;
            continue;
        }
        match c {
            '.' => {
                rest.next();
                expect_key = true;
                if rest.peek().is_none() {
                    return Err(bad(i, 1, "the path ends with `.`".into()));
                }
            }
            '[' => {
                rest.next();
                let mut j = None;
                for (k, d) in rest.by_ref() {
                    if d == ']' {
                        j = Some(k);
                        break;
                    }
                }
                let Some(j) = j else {
                    return Err(bad(i, text.len() - i, "unclosed `[` in the path".into()));
                };
                let inner = text[i + 1..j].trim();
                let Ok(n) = inner.parse::<usize>() else {
                    return Err(bad(
                        i,
                        j + 1 - i,
                        format!("`[{inner}]` is not an index: write a whole number such as [0]"),
                    ));
                };
                segs.push(Seg {
                    step: Step::Index(n),
                    span: offset + i..offset + j + 1,
                });
            }
            _ => {
                return Err(bad(
                    i,
                    c.len_utf8(),
                    format!("unexpected `{c}` in the path"),
                ));
            }
        }
    }
    if segs.is_empty() {
        return Err(bad(0, 0, "the path is empty".into()));
    }
    Ok(segs)
}

/// A path as text, quoting keys that need it.
pub(crate) fn path_text(segs: &[Seg]) -> String {
    let mut out = String::new();
    for s in segs {
        match &s.step {
            Step::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                if !k.is_empty() && k.chars().all(is_bare) {
                    out.push_str(k);
                } else {
                    let _ = write!(out, "\"{k}\"");
                }
            }
            Step::Index(i) => {
                let _ = write!(out, "[{i}]");
            }
        }
    }
    out
}

/// What to do at the end of a path.
pub(crate) enum Edit {
    /// Put this value there (replacing any value whole).
    Set(Node),
    /// Take the key or item out.
    Remove,
}

/// The spans of the table or array an edit went into, as they were before
/// it: its own and its entries' (keys and values). A problem found there
/// after a `--set` may follow from it (a key that the new value makes
/// wrong). Empty for the document itself, which would hold every problem,
/// and for a whole item replaced, whose new spans are the argument's.
pub(crate) type Place = Vec<Range<usize>>;

/// Applies `edit` at `path` in the document; returns the [`Place`] edited.
/// Problems are placed on the path's segments.
pub(crate) fn edit_document(doc: &mut Node, path: &[Seg], edit: Edit) -> Result<Place, Problem> {
    edit_at(doc, path, "", true, edit)
}

fn join(walked: &str, next: &str) -> String {
    if walked.is_empty() {
        next.to_string()
    } else {
        format!("{walked}.{next}")
    }
}

/// The keys of `segs` joined with `.` while they are keys, for matching names
/// that contain dots: `product.a.b.price` can address a product named `a.b`.
fn key_prefixes(segs: &[Seg]) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut acc = String::new();
    for (n, s) in segs.iter().enumerate() {
        let Step::Key(k) = &s.step else { break };
        if n > 0 {
            acc.push('.');
        }
        acc.push_str(k);
        out.push((n + 1, acc.clone()));
    }
    out
}

/// The candidate nearest to what the path spells (comparing each candidate with
/// as many segments as it has parts).
fn nearest_key<'a>(segs: &[Seg], candidates: &'a [String]) -> Option<&'a str> {
    let prefixes = key_prefixes(segs);
    candidates
        .iter()
        .filter_map(|c| {
            let parts = c.split('.').count();
            let (_, q) = prefixes.get(parts - 1).or(prefixes.last())?;
            let d = edit_distance(&q.to_lowercase(), &c.to_lowercase());
            (d <= (c.chars().count() / 3).max(2)).then_some((d, c.as_str()))
        })
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn rest_text(segs: &[Seg]) -> String {
    let t = path_text(segs);
    match t.chars().next() {
        None => String::new(),
        Some('[') => t,
        Some(_) => format!(".{t}"),
    }
}

/// Content key of a scheduled rule, as in its input paths
/// (`H200.2026-01`; a mandate: `2026-07` or `2026-07.ai-labs+state`).
fn rule_key(kind: &str, item: &Node) -> Option<String> {
    let from = item.str_field("from")?;
    if kind == "domestic_mandate" {
        let segs = item.as_table()?.get("segments").map(|(_, n)| &n.value);
        match segs {
            None => Some(from.to_string()),
            Some(Value::Array(list)) => {
                let mut names: Vec<&str> = list.iter().filter_map(Node::as_str).collect();
                names.sort_unstable();
                names.dedup();
                Some(format!("{from}.{}", names.join("+")))
            }
            Some(_) => None,
        }
    } else {
        Some(format!("{}.{from}", item.str_field("product")?))
    }
}

fn edit_at(
    node: &mut Node,
    segs: &[Seg],
    walked: &str,
    top: bool,
    edit: Edit,
) -> Result<Place, Problem> {
    let Some((seg, rest)) = segs.split_first() else {
        return Ok(Place::new());
    };
    let type_name = node.value.type_name();
    match (&seg.step, &mut node.value) {
        (Step::Key(k), Value::Table(t)) => {
            let named = NAMED_ARRAYS.iter().find(|(n, _)| n == k).map(|(_, w)| *w);
            let rules = RULE_ARRAYS.contains(&k.as_str());
            let by_key = top
                && (named.is_some() || rules)
                && matches!(
                    rest.first(),
                    Some(Seg {
                        step: Step::Key(_),
                        ..
                    })
                );
            if by_key && let Some((_, arr)) = t.get_mut(k.as_str()) {
                if let Value::Array(items) = &mut arr.value {
                    return edit_item(items, k, named, rest, edit);
                }
            }
            if rest.is_empty() {
                let place: Place = if top {
                    Place::new()
                } else {
                    std::iter::once(node.span.clone())
                        .chain(t.values().flat_map(|(k, v)| [k.clone(), v.span.clone()]))
                        .collect()
                };
                return match edit {
                    Edit::Set(v) => {
                        t.insert(k.clone(), (seg.span.clone(), v));
                        Ok(place)
                    }
                    Edit::Remove => match t.remove(k.as_str()) {
                        Some(_) => Ok(place),
                        None => Err(missing_key(t, k, seg, walked, rest)),
                    },
                };
            }
            let here = join(walked, k);
            match t.get_mut(k.as_str()) {
                Some((_, child)) => edit_at(child, rest, &here, false, edit),
                None => match edit {
                    Edit::Set(_) => {
                        // Like a `[a.b]` header in a file, a path may create
                        // the tables it goes through.
                        let mut child = Node {
                            span: seg.span.clone(),
                            value: Value::Table(Table::new()),
                        };
                        let place = edit_at(&mut child, rest, &here, false, edit)?;
                        t.insert(k.clone(), (seg.span.clone(), child));
                        Ok(place)
                    }
                    Edit::Remove => Err(missing_key(t, k, seg, walked, rest)),
                },
            }
        }
        (Step::Index(i), Value::Array(items)) => {
            let n = items.len();
            if *i >= n {
                let mut p = Problem::new(
                    Some(seg.span.clone()),
                    format!("`{walked}` has no item [{i}]"),
                );
                p = p.note(match n {
                    0 => format!("`{walked}` is empty"),
                    1 => format!("`{walked}` has 1 item: [0]"),
                    _ => format!("`{walked}` has {n} items: [0] to [{}]", n - 1),
                });
                return Err(p);
            }
            if rest.is_empty() {
                match edit {
                    Edit::Set(v) => items[*i] = v,
                    Edit::Remove => {
                        items.remove(*i);
                    }
                }
                return Ok(Place::new());
            }
            edit_at(&mut items[*i], rest, &format!("{walked}[{i}]"), false, edit)
        }
        (Step::Key(k), Value::Array(_)) => Err(Problem::new(
            Some(seg.span.clone()),
            format!("`{walked}` is an array: it has no key `{k}`"),
        )
        .help(format!("address one of its items, e.g. `{walked}[0].{k}`"))),
        (Step::Index(i), _) => Err(Problem::new(
            Some(seg.span.clone()),
            format!("`{walked}` is {type_name}, not an array: it has no item [{i}]"),
        )),
        (Step::Key(k), _) => Err(Problem::new(
            Some(seg.span.clone()),
            format!("`{walked}` is {type_name}, not a table: it has no key `{k}`"),
        )),
    }
}

fn missing_key(t: &Table, k: &str, seg: &Seg, walked: &str, rest: &[Seg]) -> Problem {
    let keys: Vec<&str> = t.keys().map(String::as_str).collect();
    let what = join(walked, k);
    let mut p = Problem::new(Some(seg.span.clone()), format!("`{what}` is not set"));
    p = p.note(if keys.is_empty() {
        format!(
            "`{}` is empty",
            if walked.is_empty() {
                "the document"
            } else {
                walked
            }
        )
    } else {
        format!(
            "`{}` has: {}",
            if walked.is_empty() {
                "the document"
            } else {
                walked
            },
            keys.join(", ")
        )
    });
    if let Some(n) = super::error::nearest(k, keys.iter().copied()) {
        p = p.help(format!(
            "did you mean `{}{}`?",
            join(walked, n),
            rest_text(rest)
        ));
    }
    p
}

/// An item of a top-level array addressed by name (`product.H200`) or by
/// content key (`export_rule.H200.2026-01`, `domestic_mandate.2026-07`).
fn edit_item(
    items: &mut Vec<Node>,
    kind: &str,
    named: Option<&str>,
    segs: &[Seg],
    edit: Edit,
) -> Result<Place, Problem> {
    let keys: Vec<Option<String>> = items
        .iter()
        .map(|it| match named {
            Some(_) => it.str_field("name").map(str::to_string),
            None => rule_key(kind, it),
        })
        .collect();
    // The longest match wins, so `a.b` beats `a` when both are names.
    let mut found: Option<(usize, usize)> = None;
    for (used, text) in key_prefixes(segs) {
        if let Some(i) = keys
            .iter()
            .position(|k| k.as_deref() == Some(text.as_str()))
        {
            found = Some((i, used));
        }
    }
    let Some((i, used)) = found else {
        let known: Vec<String> = keys.into_iter().flatten().collect();
        // How many segments the wanted key spans: a name one; a rule's
        // `PRODUCT.FROM` two; a mandate's `FROM` one, or two when a field follows.
        let qlen = match (named, kind) {
            (Some(_), _) => 1,
            (None, "domestic_mandate") if segs.len() > 2 => 2,
            (None, "domestic_mandate") => 1,
            (None, _) => 2,
        }
        .min(segs.len());
        let query = path_text(&segs[..qlen]);
        let (message, noun) = match named {
            Some(word) => (format!("no {word} named \"{query}\""), format!("{word}s")),
            None => (
                format!("no {kind} with the key `{query}`"),
                format!(
                    "{kind} keys (as in the input paths: {})",
                    rule_key_form(kind)
                ),
            ),
        };
        let span = segs[0].span.start..segs[qlen - 1].span.end;
        let mut p = Problem::new(Some(span), message);
        p = p.note(if known.is_empty() {
            format!("there are no {noun}")
        } else {
            format!("{noun}: {}", known.join(", "))
        });
        if let Some(n) = nearest_key(segs, &known) {
            let parts = n.split('.').count();
            let tail = segs.get(parts..).unwrap_or(&[]);
            p = p.help(format!("did you mean `{kind}.{n}{}`?", rest_text(tail)));
        }
        let by_position = format!("or address it by position: `{kind}[N]`");
        p = if p.help.is_none() {
            p.help(by_position)
        } else {
            p.note(by_position)
        };
        return Err(p);
    };
    let rest = &segs[used..];
    if rest.is_empty() {
        match edit {
            Edit::Set(v) => items[i] = v,
            Edit::Remove => {
                items.remove(i);
            }
        }
        return Ok(Place::new());
    }
    let here = format!("{kind}.{}", keys[i].as_deref().unwrap_or_default());
    edit_at(&mut items[i], rest, &here, false, edit)
}

fn rule_key_form(kind: &str) -> &'static str {
    if kind == "domestic_mandate" {
        "FROM, or FROM.SEGMENT+SEGMENT"
    } else {
        "PRODUCT.FROM"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(text: &str) -> Node {
        let t = DeTable::parse(text).expect("toml");
        Node::from_de(&Spanned::new(t.span(), DeValue::Table(t.into_inner())), 0)
    }

    fn keys(path: &str) -> Vec<Step> {
        parse_path(path, 0)
            .expect("path")
            .into_iter()
            .map(|s| s.step)
            .collect()
    }

    #[test]
    fn paths_parse_keys_indices_and_quotes() {
        use Step::*;
        assert_eq!(
            keys("domestic_mandate[0].share"),
            vec![
                Key("domestic_mandate".into()),
                Index(0),
                Key("share".into())
            ]
        );
        assert_eq!(
            keys("product.\"a.b\".price"),
            vec![
                Key("product".into()),
                Key("a.b".into()),
                Key("price".into())
            ]
        );
        let spans: Vec<_> = parse_path("a.bc[12]", 5)
            .expect("path")
            .into_iter()
            .map(|s| s.span)
            .collect();
        assert_eq!(spans, vec![5..6, 7..9, 9..13]);
        for bad in ["", "a.", ".a", "a[x]", "a[1", "a\"b", "a..b", "a b"] {
            assert!(parse_path(bad, 0).is_err(), "{bad:?} accepted");
        }
        assert_eq!(
            path_text(&parse_path("product.\"a b\"[2].x", 0).expect("path")),
            "product.\"a b\"[2].x"
        );
    }

    #[test]
    fn distribution_tables_replace_whole_and_plain_tables_merge() {
        let mut parent = doc(
            "[market.demand]\ninitial = { dist = \"uniform\", min = 1, max = 2 }\nannual_growth = 0.1\n",
        );
        let child =
            doc("[market.demand]\ninitial = { dist = \"pert\", min = 1, mode = 3, max = 5 }\n");
        merge_document(&mut parent, child);
        let demand = &parent.as_table().expect("t")["market"]
            .1
            .as_table()
            .expect("t")["demand"]
            .1;
        let t = demand.as_table().expect("t");
        assert!(t.contains_key("annual_growth"), "parent key kept");
        let initial = t["initial"].1.as_table().expect("t");
        assert_eq!(initial["dist"].1.as_str(), Some("pert"));
        assert!(initial.contains_key("mode") && !initial.contains_key("extra"));
        assert_eq!(initial.len(), 4, "no key of the parent's uniform survives");
    }

    #[test]
    fn named_items_merge_by_name_and_rules_append() {
        let mut parent = doc(
            "[[product]]\nname = \"A\"\nprice = 1\n[[product]]\nname = \"B\"\nprice = 2\n\
             [[export_rule]]\nproduct = \"A\"\nfrom = \"2026-01\"\n",
        );
        let child = doc(
            "[[product]]\nname = \"B\"\nprice = 3\n[[product]]\nname = \"C\"\nprice = 4\n\
             [[export_rule]]\nproduct = \"A\"\nfrom = \"2026-07\"\n",
        );
        merge_document(&mut parent, child);
        let t = parent.as_table().expect("t");
        let Value::Array(products) = &t["product"].1.value else {
            panic!()
        };
        let names: Vec<_> = products.iter().map(|p| p.str_field("name")).collect();
        assert_eq!(names, vec![Some("A"), Some("B"), Some("C")]);
        assert_eq!(
            products[1].as_table().expect("t")["price"].1.value,
            Value::Integer("3".into())
        );
        let Value::Array(rules) = &t["export_rule"].1.value else {
            panic!()
        };
        assert_eq!(rules.len(), 2);
        assert_eq!(rules[1].str_field("from"), Some("2026-07"));
    }

    #[test]
    fn edits_address_items_by_name_content_key_and_index() {
        let mut d = doc(
            "[[product]]\nname = \"H200\"\nprice = 1\n[[product]]\nname = \"a.b\"\nprice = 1\n\
             [[domestic_mandate]]\nfrom = \"2026-07\"\nsegments = [\"y\", \"x\"]\nshare = 0.5\n\
             [[export_rule]]\nproduct = \"H200\"\nfrom = \"2026-01\"\n",
        );
        let set = |d: &mut Node, p: &str, v: &str| {
            let value = DeValue::parse(v).expect("value");
            edit_document(
                d,
                &parse_path(p, 0).expect("path"),
                Edit::Set(Node::from_de(&value, 0)),
            )
        };
        set(&mut d, "product.H200.price", "30000").expect("by name");
        set(&mut d, "product.a.b.price", "7").expect("dotted name");
        set(&mut d, "domestic_mandate.2026-07.x+y.share", "0.3").expect("mandate key");
        set(&mut d, "export_rule.H200.2026-01.quota", "5").expect("rule key");
        set(&mut d, "domestic_mandate[0].basis", "\"compute\"").expect("index");
        let e = set(&mut d, "product.H2000.price", "1").expect_err("unknown name");
        assert_eq!(e.message, "no product named \"H2000\"");
        assert_eq!(
            e.help.as_deref(),
            Some("did you mean `product.H200.price`?")
        );
        let e = set(&mut d, "domestic_mandate[3].share", "1").expect_err("out of range");
        assert!(e.notes[0].contains("1 item"), "{e:?}");
        let e = set(&mut d, "product.H200.price.max", "1").expect_err("into a number");
        assert!(e.message.contains("not a table"), "{e:?}");
        let e = edit_document(
            &mut d,
            &parse_path("product.H200.suply", 0).expect("p"),
            Edit::Remove,
        )
        .expect_err("remove unknown key");
        assert_eq!(e.message, "`product.H200.suply` is not set");
        assert!(e.notes[0].contains("name, price"), "{e:?}");
        edit_document(
            &mut d,
            &parse_path("export_rule", 0).expect("p"),
            Edit::Remove,
        )
        .expect("whole array");
        assert!(!d.as_table().expect("t").contains_key("export_rule"));
    }
}
