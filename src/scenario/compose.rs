//! Composition: a scenario file may `extends` another and `remove` its items;
//! `--set PATH=VALUE` overrides apply after that. The files of the chain are
//! read and merged once into a [`ComposedScenario`]; each
//! [`ComposedScenario::resolve_with`] applies overrides to a copy of the
//! merged document, deserializes and resolves it, so a sweep over many
//! override values reads and parses nothing again.
//!
//! Every value keeps the span of the text it came from (see `document`), so a
//! problem is reported in the file, line and column where the offending value
//! was written (the parent or the child), or against the `--set` argument.

use super::document::{
    Edit, Node, Place, Seg, Step, Value, edit_document, merge_document, parse_path, path_text,
    table_from_de,
};
use super::error::{Problem, ScenarioError, nearest};
use super::overrides::Override;
use super::recover;
use super::resolve::resolve_document;
use super::{BUILTIN_BASELINE, BUILTIN_BASELINE_NAME, Provenance, Scenario, SourceFile};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// The `extends` value that names the built-in baseline.
pub const BUILTIN_BASELINE_REF: &str = "builtin:baseline";

/// Longest `extends` chain accepted (a guard against runaway chains that a
/// cycle check by path cannot see, e.g. through ever-new symlinks).
const MAX_CHAIN: usize = 32;

/// One text that spans may point into: a file of the chain or a `--set` argument.
#[derive(Debug, Clone)]
struct Source {
    /// The file as shown to the user, or the `--set` argument.
    name: String,
    /// Shared: every resolve copies the list of sources, not the texts.
    text: Arc<str>,
    /// First virtual offset of this source; its spans are `base + local`.
    /// The virtual space is the sources' texts joined in order, each followed
    /// by one byte (`"\n"`): the next source's base is `base + text.len() + 1`,
    /// so that joined text can stand for "the text" wherever one is needed.
    base: usize,
    is_override: bool,
}

/// Where a file of the chain lives, for cycle detection.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Identity {
    Builtin,
    File(PathBuf),
}

/// A scenario file with its `extends` chain read and merged: the document
/// before overrides. Build it once, then call [`ComposedScenario::resolve_with`]
/// as often as needed.
///
/// Building it fails only when the chain cannot be read (a file, a syntax
/// error, an `extends` that names nothing or makes a cycle); the problems of
/// the merge (a `remove` that names nothing, a child without a `name`) are
/// reported by `resolve_with`, together with every structural and value
/// problem of the document, so that every problem is listed at once.
#[derive(Debug, Clone)]
pub struct ComposedScenario {
    /// The merged document (spans are virtual offsets into `files`).
    doc: Node,
    /// `[0]` is the file asked for, then its parents, nearest first.
    files: Vec<Source>,
    /// The first free virtual offset (overrides are placed from here).
    end: usize,
    /// The files' texts, each followed by `"\n"`: the text that virtual
    /// offsets below `end` point into.
    joined: Arc<str>,
    /// Problems of the composition itself (a `remove` that names nothing, a
    /// child without a `name`), reported with the document's own problems so
    /// that every problem is listed at once.
    problems: Vec<Problem>,
}

/// Reads a file as UTF-8 text; the error is the reason, for a message.
/// Largest scenario file read, bytes.
pub const MAX_SCENARIO_BYTES: u64 = 16 << 20;

pub(crate) fn read_text(path: &Path) -> Result<String, String> {
    if path.is_dir() {
        return Err("it is a folder, not a file".into());
    }
    // A scenario is a few KB; the cap keeps a wrong path (`/dev/zero`, a
    // data file) from filling memory before it is refused.
    use std::io::Read;
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_SCENARIO_BYTES + 1).read_to_end(&mut bytes))
        .map_err(|e| e.to_string())?;
    if bytes.len() as u64 > MAX_SCENARIO_BYTES {
        return Err(format!(
            "it is larger than {} MiB; a scenario file is a few KB of TOML",
            MAX_SCENARIO_BYTES >> 20
        ));
    }
    String::from_utf8(bytes).map_err(|e| {
        let offset = e.utf8_error().valid_up_to();
        let bytes = e.as_bytes();
        let valid = String::from_utf8_lossy(bytes.get(..offset).unwrap_or_default());
        let (line, column) = super::error::line_column(&valid, offset);
        format!(
            "it is not UTF-8 text (invalid byte 0x{:02x} at line {line}, column {column}); save it as UTF-8",
            bytes.get(offset).copied().unwrap_or_default()
        )
    })
}

/// A file of the chain, parsed, with `extends` and `remove` taken out.
struct Layer {
    doc: Node,
    extends: Option<(String, Range<usize>)>,
    /// Each `remove` entry's path (spans virtual).
    remove: Vec<Vec<Seg>>,
    /// Whether its `[scenario]` gives a `name`.
    has_name: bool,
    /// Problems with its `remove` entries: the others still apply, and the
    /// problems are reported with the rest of the document's.
    problems: Vec<Problem>,
}

impl ComposedScenario {
    /// Reads `path` and the files it `extends`, and merges them.
    pub fn load(path: &Path) -> Result<ComposedScenario, ScenarioError> {
        let shown = path.display().to_string();
        let text = read_text(path).map_err(|reason| ScenarioError::Read {
            path: shown.clone(),
            reason,
        })?;
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        Self::compose(text, shown, identity_of(path), dir)
    }

    /// Composes scenario text held in memory. `file` names it in messages;
    /// `extends` paths are relative to `base_dir` (`None`: the current folder).
    pub fn parse(
        text: &str,
        file: &str,
        base_dir: Option<&Path>,
    ) -> Result<ComposedScenario, ScenarioError> {
        let dir = base_dir.map(Path::to_path_buf).unwrap_or_default();
        let id = if file == BUILTIN_BASELINE_NAME && text == BUILTIN_BASELINE {
            Identity::Builtin
        } else {
            identity_of(&dir.join(file))
        };
        Self::compose(text.to_string(), file.to_string(), id, dir)
    }

    /// The built-in baseline (the shipped `scenarios/baseline.toml`, compiled in).
    pub fn builtin_baseline() -> Result<ComposedScenario, ScenarioError> {
        Self::parse(BUILTIN_BASELINE, BUILTIN_BASELINE_NAME, None)
    }

    /// The file asked for, as shown in messages.
    pub fn file(&self) -> &str {
        self.files.first().map_or("", |f| f.name.as_str())
    }

    /// The files it extends, nearest parent first (empty for a file without `extends`).
    pub fn parents(&self) -> impl Iterator<Item = &str> {
        self.files.iter().skip(1).map(|f| f.name.as_str())
    }

    /// The scenario as composed, with no override.
    pub fn resolve(&self) -> Result<Scenario, ScenarioError> {
        self.resolve_with(&[])
    }

    /// Applies `overrides` in order to a copy of the composed document,
    /// then validates and resolves it. Problems name the file, line and
    /// column that supplied the value, or the `--set` argument.
    pub fn resolve_with(&self, overrides: &[Override]) -> Result<Scenario, ScenarioError> {
        let mut doc = self.doc.clone();
        let mut sources: Vec<Source> = self.files.clone();
        let mut base = self.end;
        // The composition's problems come first: they are listed with the rest.
        let mut problems = self.problems.clone();
        let composition_problems = problems.len();
        // Where each override went, to name it at the problems it may cause there.
        let mut places: Vec<Place> = Vec::with_capacity(overrides.len());
        for o in overrides {
            let segs: Vec<Seg> = o
                .segs
                .iter()
                .map(|s| Seg {
                    step: s.step.clone(),
                    span: shift(&s.span, base),
                })
                .collect();
            let mut value = o.value.clone();
            shift_node(&mut value, base);
            if let [
                Seg {
                    step: Step::Key(a), ..
                },
                Seg {
                    step: Step::Key(b),
                    span,
                },
            ] = segs.as_slice()
                && a == "scenario"
                && (b == "extends" || b == "remove")
            {
                problems.push(
                    Problem::new(
                        Some(span.clone()),
                        format!("`scenario.{b}` cannot be set with --set"),
                    )
                    .note("--set applies after `extends` and `remove` have been read")
                    .help("write a scenario file that `extends` this one instead"),
                );
                // One place per override; one not applied changed none.
                places.push(Place::new());
            } else {
                match edit_document(&mut doc, &segs, Edit::Set(value)) {
                    Ok(place) => places.push(place),
                    Err(p) => {
                        problems.push(p);
                        places.push(Place::new());
                    }
                }
            }
            sources.push(Source {
                name: o.arg().to_string(),
                text: o.arg().into(),
                base,
                is_override: true,
            });
            base += o.arg().len() + 1;
        }
        // Every failure from here on is reported the same way: each problem
        // with the place its override edited, and the problems the files
        // have without the overrides, so that only new ones name a --set.
        let fail = |problems: Vec<Problem>| {
            let before = self.problems_without(overrides);
            to_error(problems, &sources, overrides, &places, Some(&doc), &before)
        };
        if problems.len() > composition_problems {
            // A --set that could not be applied: the document is not the one asked for.
            return Err(fail(problems));
        }
        // The text that every span points into: the files', then each --set
        // argument's, each followed by "\n" (see `Source::base`).
        let mut text = String::with_capacity(base);
        text.push_str(&self.joined);
        for o in overrides {
            text.push_str(o.arg());
            text.push('\n');
        }
        let resolved = self.resolve_doc(&doc, &text);
        let mut scenario = match resolved {
            Ok(s) if problems.is_empty() => s,
            Ok(_) => return Err(fail(problems)),
            Err(more) => {
                problems.extend(more);
                return Err(fail(problems));
            }
        };
        scenario.provenance = Provenance {
            extends: self
                .files
                .iter()
                .skip(1)
                .map(|f| SourceFile {
                    file: f.name.clone(),
                    text: f.text.to_string(),
                })
                .collect(),
            overrides: overrides.iter().map(ToString::to_string).collect(),
        };
        Ok(scenario)
    }

    fn resolve_doc(&self, doc: &Node, text: &str) -> Result<Scenario, Vec<Problem>> {
        let de = doc.to_de();
        let span = de.span();
        let table = match de.into_inner() {
            DeValue::Table(t) => t,
            // The document is built from a parsed TOML document: a table.
            _ => DeTable::new(),
        };
        let root = &self.files[0];
        resolve_document(Spanned::new(span, table), text, &root.text, &root.name)
    }

    /// The files' problems without the overrides, so that a problem is said
    /// to be an override's only when the override caused it. Errors are the
    /// rare path: resolving once more costs little.
    fn problems_without(&self, overrides: &[Override]) -> Vec<Problem> {
        if overrides.is_empty() {
            return Vec::new();
        }
        let mut problems = self.problems.clone();
        if let Err(more) = self.resolve_doc(&self.doc, &self.joined) {
            problems.extend(more);
        }
        problems
    }

    fn compose(
        text: String,
        name: String,
        id: Identity,
        dir: PathBuf,
    ) -> Result<ComposedScenario, ScenarioError> {
        let mut files: Vec<Source> = Vec::new();
        let mut layers: Vec<Layer> = Vec::new();
        let mut chain: Vec<Identity> = Vec::new();
        let mut end = 0;
        let mut current = Some((text, name, id, dir));
        while let Some((text, name, id, dir)) = current.take() {
            let base = end;
            end += text.len() + 1;
            chain.push(id);
            files.push(Source {
                name,
                text: text.into(),
                base,
                is_override: false,
            });
            let Some(file) = files.last() else { break };
            let layer = parse_layer(file)?;
            if let Some((target, span)) = &layer.extends {
                match open_parent(target, &dir, &chain, &files) {
                    Ok(next) => current = Some(next),
                    Err(mut p) => {
                        // Reported where the file names its parent.
                        p.span = Some(span.clone());
                        return Err(to_error(vec![p], &files, &[], &[], None, &[]));
                    }
                }
            }
            layers.push(layer);
        }
        // Merge from the root-most ancestor down to the file asked for.
        let mut problems = Vec::new();
        let mut layers = layers.into_iter().rev();
        let Some(first) = layers.next() else {
            return Err(ScenarioError::Read {
                path: String::new(),
                reason: "nothing to read".into(),
            });
        };
        if let Some(seg) = first.remove.first().and_then(|r| r.first()) {
            problems.push(
                Problem::new(
                    Some(seg.span.clone()),
                    "`remove` without `extends`: there is no parent to remove from",
                )
                .help("add `extends = \"PARENT.toml\"` to [scenario], or delete `remove`"),
            );
        }
        problems.extend(first.problems);
        let mut doc = first.doc;
        for layer in layers {
            problems.extend(layer.problems);
            if !layer.has_name
                && let Some((_, span)) = &layer.extends
            {
                problems.push(
                    Problem::new(
                        Some(span.clone()),
                        "a scenario that extends another needs its own `name`",
                    )
                    .note("the name names the results folder; the parent's would be overwritten")
                    .help("add `name = \"...\"` to [scenario]"),
                );
            }
            for path in &layer.remove {
                if let Err(p) = edit_document(&mut doc, path, Edit::Remove) {
                    problems.push(p);
                }
            }
            merge_document(&mut doc, layer.doc);
        }
        let mut joined = String::with_capacity(end);
        for f in &files {
            joined.push_str(&f.text);
            joined.push('\n');
        }
        Ok(ComposedScenario {
            doc,
            files,
            end,
            joined: joined.into(),
            problems,
        })
    }
}

/// Parses one file of the chain. Every syntax error is reported at once; so
/// is a problem with `extends`, without which the rest cannot be checked.
fn parse_layer(file: &Source) -> Result<Layer, ScenarioError> {
    let invalid = |problems: Vec<Problem>| ScenarioError::Invalid {
        file: file.name.clone(),
        text: file.text.to_string(),
        problems,
    };
    // Blank lines and comments only: as empty as an empty file.
    if file
        .text
        .lines()
        .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
    {
        return Err(invalid(vec![
            Problem::new(None, "the scenario file is empty")
                .note("a scenario needs at least [scenario], [market], [market.demand], one [[segment]] and one [[product]]"),
        ]));
    }
    // Spans local to the file: the problems are reported against it directly.
    let parsed = recover::parse(&file.text).map_err(invalid)?;
    let span = parsed.span();
    let mut table = table_from_de(parsed.get_ref(), file.base);
    // Problems that stop the composition (no parent can be read), and
    // problems of `remove` (reported with the document's).
    let mut fatal = Vec::new();
    let mut problems = Vec::new();
    for k in ["extends", "remove"] {
        if let Some((ks, _)) = table.get(k) {
            let p = Problem::new(Some(ks.clone()), format!("`{k}` belongs in [scenario]"))
                .help(format!("move `{k} = ...` below the [scenario] header"));
            if k == "extends" {
                fatal.push(p);
            } else {
                // Not applied; taken out so that it is not also an unknown field.
                table.remove(k);
                problems.push(p);
            }
        }
    }
    let mut extends = None;
    let mut remove = Vec::new();
    let mut has_name = false;
    if let Some((_, scenario)) = table.get_mut("scenario")
        && let Some(st) = scenario.as_table_mut()
    {
        has_name = st.contains_key("name");
        if let Some((_, v)) = st.remove("extends") {
            match v.as_str() {
                Some(s) => extends = Some((s.to_string(), v.span.clone())),
                None => fatal.push(Problem::new(
                    Some(v.span.clone()),
                    format!(
                        "`extends` must be a file name in quotes, found {}",
                        v.value.type_name()
                    ),
                )),
            }
        }
        if let Some((_, v)) = st.remove("remove") {
            match &v.value {
                Value::Array(items) => {
                    for item in items {
                        match remove_path(item, file) {
                            Ok(p) => remove.push(p),
                            Err(p) => problems.push(p),
                        }
                    }
                }
                other => problems.push(
                    Problem::new(
                        Some(v.span.clone()),
                        format!(
                            "`remove` must be a list of paths, found {}",
                            other.type_name()
                        ),
                    )
                    .help("for example: remove = [\"shock.us-h200-reban\", \"export_rule.H20.2025-08\"]"),
                ),
            }
        }
    }
    if !fatal.is_empty() {
        fatal.extend(problems);
        return Err(to_error(
            fatal,
            std::slice::from_ref(file),
            &[],
            &[],
            None,
            &[],
        ));
    }
    Ok(Layer {
        doc: Node {
            span: shift(&span, file.base),
            value: Value::Table(table),
        },
        extends,
        remove,
        has_name,
        problems,
    })
}

/// A `remove` entry's path, with spans on its segments when the string is
/// written plainly (no escapes), else on the whole string.
fn remove_path(item: &Node, file: &Source) -> Result<Vec<Seg>, Problem> {
    let Some(text) = item.as_str() else {
        return Err(Problem::new(
            Some(item.span.clone()),
            format!(
                "`remove` entries are paths in quotes, found {}",
                item.value.type_name()
            ),
        ));
    };
    let local = item.span.start - file.base..item.span.end - file.base;
    let written = file.text.get(local.clone()).unwrap_or("");
    let plain = written.len() == text.len() + 2
        && written.get(1..written.len() - 1) == Some(text)
        && written.starts_with(['"', '\'']);
    let offset = item.span.start + 1;
    let reposition = |mut segs: Vec<Seg>| {
        if !plain {
            for s in &mut segs {
                s.span = item.span.clone();
            }
        }
        segs
    };
    match parse_path(text, offset) {
        Ok(segs) => Ok(reposition(segs)),
        Err(mut p) => {
            if !plain {
                p.span = Some(item.span.clone());
            }
            Err(p)
        }
    }
}

fn identity_of(path: &Path) -> Identity {
    Identity::File(std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf()))
}

/// Reads the file an `extends` names: (text, name shown, identity, its folder).
fn open_parent(
    target: &str,
    dir: &Path,
    chain: &[Identity],
    files: &[Source],
) -> Result<(String, String, Identity, PathBuf), Problem> {
    let cycle = |id: &Identity, shown: &str| -> Option<Problem> {
        let at = chain.iter().position(|c| c == id)?;
        let names: Vec<&str> = files[at..].iter().map(|f| f.name.as_str()).collect();
        Some(
            Problem::new(
                None,
                format!("`extends` makes a cycle: {} → {shown}", names.join(" → ")),
            )
            .help("a scenario cannot extend itself, directly or through its parents"),
        )
    };
    if chain.len() >= MAX_CHAIN {
        return Err(Problem::new(
            None,
            format!("the `extends` chain is longer than {MAX_CHAIN} files"),
        ));
    }
    if let Some(rest) = target.strip_prefix("builtin:") {
        if format!("builtin:{rest}") != BUILTIN_BASELINE_REF {
            return Err(
                Problem::new(None, format!("no built-in scenario \"{rest}\""))
                    .help(format!("the built-in scenario is `{BUILTIN_BASELINE_REF}`")),
            );
        }
        if let Some(p) = cycle(&Identity::Builtin, BUILTIN_BASELINE_NAME) {
            return Err(p);
        }
        return Ok((
            BUILTIN_BASELINE.to_string(),
            BUILTIN_BASELINE_NAME.to_string(),
            Identity::Builtin,
            PathBuf::new(),
        ));
    }
    let path = dir.join(target);
    let shown = path.display().to_string();
    let id = identity_of(&path);
    if let Some(p) = cycle(&id, &shown) {
        return Err(p);
    }
    match read_text(&path) {
        Ok(text) => Ok((
            text,
            shown,
            id,
            path.parent().map(Path::to_path_buf).unwrap_or_default(),
        )),
        Err(reason) => {
            let mut p = Problem::new(
                None,
                format!("cannot read the file `extends` names, {shown}: {reason}"),
            );
            // A misspelt parent is the usual cause: offer the nearest file.
            let folder = path.parent().map(Path::to_path_buf).unwrap_or_default();
            let listed = if folder.as_os_str().is_empty() {
                Path::new(".").to_path_buf()
            } else {
                folder
            };
            let names: Vec<String> = std::fs::read_dir(&listed)
                .map(|d| {
                    d.filter_map(|e| e.ok())
                        .filter_map(|e| e.file_name().into_string().ok())
                        .filter(|n| n.ends_with(".toml"))
                        .collect()
                })
                .unwrap_or_default();
            let wanted = path.file_name().and_then(|n| n.to_str()).unwrap_or(target);
            if let Some(n) = nearest_file(wanted, &names) {
                let suggestion = Path::new(target).with_file_name(n);
                p = p.help(format!("did you mean \"{}\"?", suggestion.display()));
            }
            Err(p)
        }
    }
}

/// The file of `names` that `wanted` probably misspells. Stems are compared:
/// the shared `.toml` would make any two short names look alike
/// (`nope.toml` and `lnorm.toml` are 3 edits apart, as near as `nope` and
/// `lnorm` are far).
fn nearest_file<'a>(wanted: &str, names: &'a [String]) -> Option<&'a str> {
    fn stem(n: &str) -> &str {
        n.strip_suffix(".toml").unwrap_or(n)
    }
    let found = nearest(stem(wanted), names.iter().map(|n| stem(n)))?;
    names.iter().map(String::as_str).find(|n| stem(n) == found)
}

fn shift(r: &Range<usize>, by: usize) -> Range<usize> {
    r.start + by..r.end + by
}

fn shift_node(n: &mut Node, by: usize) {
    n.span = shift(&n.span, by);
    match &mut n.value {
        Value::Array(items) => items.iter_mut().for_each(|i| shift_node(i, by)),
        Value::Table(t) => {
            for (ks, v) in t.values_mut() {
                *ks = shift(ks, by);
                shift_node(v, by);
            }
        }
        _ => {}
    }
}

/// Sorts problems into their sources: one error per file or `--set`
/// argument, in the order of the sources (the file asked for first).
fn to_error(
    problems: Vec<Problem>,
    sources: &[Source],
    overrides: &[Override],
    places: &[Place],
    doc: Option<&Node>,
    before: &[Problem],
) -> ScenarioError {
    let mut groups: Vec<Vec<Problem>> = vec![Vec::new(); sources.len().max(1)];
    let spans: Vec<Range<usize>> = problems.iter().filter_map(|p| p.span.clone()).collect();
    let in_files = sources
        .iter()
        .find(|s| s.is_override)
        .map_or(usize::MAX, |s| s.base);
    for mut p in problems {
        let caused = !before
            .iter()
            .any(|b| b.message == p.message && b.span == p.span);
        if let Some(s) = p.span.clone().filter(|s| s.start < in_files && caused) {
            name_overrides_at(&mut p, &s, overrides, places, &spans, doc);
        }
        let at = match &p.span {
            None => 0,
            Some(s) => sources
                .iter()
                .rposition(|src| src.base <= s.start)
                .unwrap_or(0),
        };
        if let (Some(s), Some(src)) = (&p.span, sources.get(at)) {
            let start = s.start.saturating_sub(src.base).min(src.text.len());
            let end = s.end.saturating_sub(src.base).clamp(start, src.text.len());
            p.span = Some(start..end);
        }
        groups[at].push(p);
    }
    let mut errors: Vec<ScenarioError> = Vec::new();
    let mut override_index = 0;
    for (src, mut problems) in sources.iter().zip(groups) {
        let this_override = src.is_override.then(|| {
            override_index += 1;
            overrides.get(override_index - 1)
        });
        if problems.is_empty() {
            continue;
        }
        problems.sort_by_key(|p| p.span.as_ref().map_or(0, |s| s.start));
        if let Some(o) = this_override {
            let scenario = sources.first().map_or("", |f| f.name.as_str());
            for p in &mut problems {
                if let Some(o) = o {
                    full_path_help(p, &o.segs);
                    if let Some(v) = o.vary().filter(|v| *v != o.arg()) {
                        p.notes.push(format!("a point of --vary {v}"));
                    }
                }
                // One --set goes to every scenario of a run: say which one.
                p.notes.push(format!("applied to {scenario}"));
            }
            errors.push(ScenarioError::Override {
                option: o.map_or("--set", Override::option).into(),
                arg: src.name.clone(),
                problems,
            });
        } else {
            errors.push(ScenarioError::Invalid {
                file: src.name.clone(),
                text: src.text.to_string(),
                problems,
            });
        }
    }
    match errors.len() {
        1 => errors.remove(0),
        _ => ScenarioError::Several(errors),
    }
}

/// A problem in a file that a `--set` caused, in a table that it changed,
/// names that argument: the file's line alone would not show why a valid
/// file fails.
fn name_overrides_at(
    p: &mut Problem,
    span: &Range<usize>,
    overrides: &[Override],
    places: &[Place],
    problem_spans: &[Range<usize>],
    doc: Option<&Node>,
) {
    let inside = |r: &Range<usize>, s: &Range<usize>| r.start <= s.start && s.end <= r.end;
    for (o, place) in overrides.iter().zip(places) {
        if !place.iter().any(|r| inside(r, span)) {
            continue;
        }
        p.notes.push(match o.vary() {
            None => format!("this table was changed by `--set {}`", o.arg()),
            Some(v) => format!("this table was changed by a point of `--vary {v}`"),
        });
        // A key the new value makes wrong (`quota` once the regime is
        // "banned") cannot be taken out by --set, but the whole table can be
        // replaced: show it without the keys at fault.
        let Some((_, parent)) = o.segs.split_last() else {
            continue;
        };
        if p.help.is_some() || !p.misplaced_key || parent.is_empty() {
            continue;
        }
        if o.vary().is_some() {
            // Replacing the table would hold for every point of the sweep.
            p.help = Some("a sweep point cannot remove a key; edit a copy of the file".into());
            continue;
        }
        let Some(Value::Table(t)) = place.first().zip(doc).and_then(|(r, d)| find_table(d, r))
        else {
            continue;
        };
        let kept: Vec<String> = t
            .iter()
            .filter(|(_, (_, v))| !problem_spans.iter().any(|s| inside(&v.span, s)))
            .map(|(k, (_, v))| format!("{} = {}", toml_key(k), inline_toml(v)))
            .collect();
        let arg = format!("{}={{ {} }}", path_text(parent), kept.join(", "));
        p.help = Some(format!(
            "--set cannot remove a key; replace the whole table instead: \
             --set {}, or edit a copy of the file",
            shell_quoted(&arg)
        ));
    }
}

/// `s` in single quotes for a POSIX shell; a `'` inside closes the quotes,
/// is escaped and reopens them.
fn shell_quoted(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The value of the table whose span is `span`.
fn find_table<'a>(n: &'a Node, span: &Range<usize>) -> Option<&'a Value> {
    if n.span == *span && matches!(n.value, Value::Table(_)) {
        return Some(&n.value);
    }
    match &n.value {
        Value::Table(t) => t.values().find_map(|(_, v)| find_table(v, span)),
        Value::Array(a) => a.iter().find_map(|v| find_table(v, span)),
        _ => None,
    }
}

fn toml_key(k: &str) -> String {
    if !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        k.to_string()
    } else {
        toml_string(k)
    }
}

fn toml_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A value written as TOML on one line, as `--set` takes it.
fn inline_toml(n: &Node) -> String {
    match &n.value {
        Value::String(s) => toml_string(s),
        Value::Integer(t) | Value::Float(t) => t.clone(),
        Value::Boolean(b) => b.to_string(),
        Value::Datetime(d) => d.to_string(),
        Value::Array(a) => format!(
            "[{}]",
            a.iter().map(inline_toml).collect::<Vec<_>>().join(", ")
        ),
        Value::Table(t) => format!(
            "{{ {} }}",
            t.iter()
                .map(|(k, (_, v))| format!("{} = {}", toml_key(k), inline_toml(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Deserialization names the nearest *field*; for a `--set` path, the nearest
/// *path* is more use: `did you mean `price`?` becomes
/// `did you mean `product.H200.price`?`.
fn full_path_help(p: &mut Problem, segs: &[Seg]) {
    let (Some(span), Some(help)) = (&p.span, &p.help) else {
        return;
    };
    if !p.message.starts_with("unknown field") {
        return; // path problems already suggest whole paths
    }
    let Some(k) = segs.iter().position(|s| &s.span == span) else {
        return;
    };
    let Some(name) = help
        .strip_prefix("did you mean `")
        .and_then(|h| h.strip_suffix("`?"))
    else {
        return;
    };
    let mut fixed = segs.to_vec();
    fixed[k].step = Step::Key(name.to_string());
    p.help = Some(format!("did you mean `{}`?", path_text(&fixed)));
}

/// Reads, composes (`extends`, `remove`), applies `overrides` in order,
/// validates and resolves a scenario file.
pub fn load_scenario_with(path: &Path, overrides: &[Override]) -> Result<Scenario, ScenarioError> {
    ComposedScenario::load(path)?.resolve_with(overrides)
}

/// As [`load_scenario_with`] for text in memory: `file` names it in messages,
/// `extends` paths are relative to `base_dir` (`None`: the current folder).
pub fn parse_scenario_with(
    text: &str,
    file: &str,
    base_dir: Option<&Path>,
    overrides: &[Override],
) -> Result<Scenario, ScenarioError> {
    ComposedScenario::parse(text, file, base_dir)?.resolve_with(overrides)
}

/// Parses and resolves scenario text; `file` is the name used in messages.
/// An `extends` in the text is read relative to the current folder.
pub fn parse_scenario(text: &str, file: &str) -> Result<Scenario, ScenarioError> {
    parse_scenario_with(text, file, None, &[])
}

/// Reads and resolves a scenario file (with its `extends` chain).
pub fn load_scenario(path: &Path) -> Result<Scenario, ScenarioError> {
    load_scenario_with(path, &[])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quote_in_a_suggested_argument_stays_quoted_for_the_shell() {
        assert_eq!(shell_quoted("a=1"), "'a=1'");
        assert_eq!(shell_quoted("n = 'x'"), r"'n = '\''x'\'''");
    }

    #[test]
    fn a_set_that_fails_to_apply_keeps_one_place_per_override() {
        let composed = ComposedScenario::builtin_baseline().expect("builtin");
        let args = [
            "scenario.extends=\"x.toml\"",
            "product.H2000.price=1",
            "export_rule.H200.2026-01.regime=\"banned\"",
        ];
        let overrides: Vec<Override> = args
            .iter()
            .map(|a| Override::parse(a).expect("parses"))
            .collect();
        let e = composed.resolve_with(&overrides).expect_err("refused");
        let text = e.to_string();
        assert!(text.contains("cannot be set with --set"), "{text}");
        assert!(text.contains("no product"), "{text}");
    }

    #[test]
    fn a_missing_parent_suggests_only_a_near_file_name() {
        let names: Vec<String> = ["baseline.toml", "lnorm.toml", "h200-reban.toml"]
            .map(String::from)
            .to_vec();
        assert_eq!(nearest_file("basline.toml", &names), Some("baseline.toml"));
        assert_eq!(
            nearest_file("h200-rebann.toml", &names),
            Some("h200-reban.toml")
        );
        assert_eq!(nearest_file("nope.toml", &names), None);
        assert_eq!(nearest_file("x.toml", &names), None);
    }
}
