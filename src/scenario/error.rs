//! Problems found in a scenario file, located and rendered as a compiler does.

use std::fmt;
use std::ops::Range;

/// One problem in a scenario file.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    /// Byte range in the file's text, when the problem has a place.
    pub span: Option<Range<usize>>,
    /// What is wrong, one line.
    pub message: String,
    /// What was expected, or other context (each printed as `= note`).
    pub notes: Vec<String>,
    /// How to fix it, e.g. the nearest valid name.
    pub help: Option<String>,
    /// A key its table's other values make out of place (`quota` once the
    /// regime is not "licensed"): the fix is to remove it.
    pub misplaced_key: bool,
}

impl Problem {
    /// A problem at `span` with a message.
    pub fn new(span: Option<Range<usize>>, message: impl Into<String>) -> Self {
        Problem {
            span,
            message: message.into(),
            notes: Vec::new(),
            help: None,
            misplaced_key: false,
        }
    }
    /// Adds a note line.
    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }
    /// Sets the help line.
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

/// Why a scenario could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// The file could not be read.
    #[error("error: cannot read scenario file {path}: {reason}")]
    Read {
        /// The path as given.
        path: String,
        /// The operating system's words, or why the content is unusable.
        reason: String,
    },
    /// The file was read but is not a valid scenario.
    #[error("{}", render_problems(.file, .text, .problems))]
    Invalid {
        /// The file's name as given by the user.
        file: String,
        /// The file's text (for line and column and the quoted source line).
        text: String,
        /// Every problem found, in file order.
        problems: Vec<Problem>,
    },
    /// A `--set PATH=VALUE` argument that is malformed, names nothing, or
    /// gives a value that the file could not hold either.
    #[error("{}", render_override(.option, .arg, .problems))]
    Override {
        /// The option that gave it: `--set`, or `--vary` for a sweep's point.
        option: String,
        /// The argument as given (without `--set`).
        arg: String,
        /// Every problem found; spans are byte offsets in `arg`.
        problems: Vec<Problem>,
    },
    /// Problems in several files, each reported whole.
    #[error("{}", .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n\n"))]
    Several(Vec<ScenarioError>),
}

impl ScenarioError {
    /// The problems, when the file was read.
    pub fn problems(&self) -> &[Problem] {
        match self {
            ScenarioError::Invalid { problems, .. } | ScenarioError::Override { problems, .. } => {
                problems
            }
            ScenarioError::Read { .. } | ScenarioError::Several(_) => &[],
        }
    }
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

fn render_problems(file: &str, text: &str, problems: &[Problem]) -> String {
    let mut out = String::new();
    for (i, p) in problems.iter().enumerate() {
        if i > 0 {
            // A blank line between problems, as compilers print them.
            out.push_str("\n\n");
        }
        out.push_str(&render_problem(file, text, p));
    }
    let n = problems.len();
    if n > 1 {
        out.push_str(&format!("\n\n{n} problems in {file}"));
    }
    out
}

/// Longest source line quoted whole, in characters.
const MAX_QUOTED: usize = 160;

fn render_problem(file: &str, text: &str, p: &Problem) -> String {
    use fmt::Write;
    let mut out = String::new();
    let _ = writeln!(out, "error: {}", p.message);
    match &p.span {
        Some(span) => {
            let (line, col) = line_column(text, span.start);
            let _ = writeln!(out, "  --> {file}:{line}:{col}");
            let src = text.lines().nth(line - 1).unwrap_or("");
            let gutter = line.to_string().len();
            let pad = " ".repeat(gutter);
            let _ = writeln!(out, "{pad} |");
            // Underline the span on its first line only.
            let chars: Vec<char> = src.chars().collect();
            let start_col = (col - 1).min(chars.len());
            let (end_line, end_col) = line_column(text, span.end.max(span.start + 1));
            let mut width = if end_line == line {
                (end_col - 1).saturating_sub(start_col).max(1)
            } else {
                chars.len().saturating_sub(start_col).max(1)
            };
            // A very long line (a minified or generated file) is shown as a
            // window around the place, marked with … where it is cut.
            let (mut shown, mut caret) = (src.to_string(), start_col);
            if chars.len() > MAX_QUOTED {
                width = width.min(MAX_QUOTED / 2);
                let from = start_col.saturating_sub(MAX_QUOTED / 4);
                let to = (start_col + width + MAX_QUOTED / 4).min(chars.len());
                let head = if from > 0 { "…" } else { "" };
                let tail = if to < chars.len() { "…" } else { "" };
                shown = format!("{head}{}{tail}", chars[from..to].iter().collect::<String>());
                caret = start_col - from + head.chars().count();
            }
            let _ = writeln!(out, "{line} | {shown}");
            let _ = writeln!(out, "{pad} | {}{}", " ".repeat(caret), "^".repeat(width));
            for n in &p.notes {
                let _ = writeln!(out, "{pad} = note: {n}");
            }
            if let Some(h) = &p.help {
                let _ = writeln!(out, "{pad} = help: {h}");
            }
        }
        None => {
            let _ = writeln!(out, "  --> {file}");
            for n in &p.notes {
                let _ = writeln!(out, "  = note: {n}");
            }
            if let Some(h) = &p.help {
                let _ = writeln!(out, "  = help: {h}");
            }
        }
    }
    out.trim_end().to_string()
}

/// A `--set` argument's problems: the argument stands in for the file and its
/// line, with the offending part underlined.
fn render_override(option: &str, arg: &str, problems: &[Problem]) -> String {
    use fmt::Write;
    let mut out = String::new();
    for (i, p) in problems.iter().enumerate() {
        if i > 0 {
            // A blank line between problems, as for a file's.
            out.push_str("\n\n");
        }
        let _ = writeln!(out, "error: {}", p.message);
        let lead = format!("  --> {option} ");
        let _ = writeln!(out, "{lead}{arg}");
        if let Some(span) = &p.span {
            let start = span.start.min(arg.len());
            let end = span.end.clamp(start, arg.len());
            let col = arg.get(..start).map_or(0, |s| s.chars().count());
            let width = arg.get(start..end).map_or(1, |s| s.chars().count()).max(1);
            let _ = writeln!(
                out,
                "{}{}",
                " ".repeat(lead.chars().count() + col),
                "^".repeat(width)
            );
        }
        for n in &p.notes {
            let _ = writeln!(out, "  = note: {n}");
        }
        if let Some(h) = &p.help {
            let _ = writeln!(out, "  = help: {h}");
        }
        out = out.trim_end().to_string();
    }
    out
}

/// Levenshtein distance, for "did you mean".
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        cur[0] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            cur[j] = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// The candidate nearest to `word`, if it is near enough to be a plausible
/// misspelling, or one `word` abbreviates (`ban` for `banned`) or names a
/// part of (`mandate` for `domestic_mandate`).
pub fn nearest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let lower = word.to_lowercase();
    let candidates: Vec<&'a str> = candidates.into_iter().collect();
    let close = candidates
        .iter()
        .map(|c| (edit_distance(&lower, &c.to_lowercase()), *c))
        .filter(|(d, c)| *d <= (c.chars().count() / 3).max(2))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c);
    if close.is_some() || lower.chars().count() < 3 {
        return close;
    }
    // Only an unambiguous abbreviation or part is a suggestion.
    let trimmed = lower.trim_end_matches('s');
    let related: Vec<&'a str> = candidates
        .iter()
        .copied()
        .filter(|c| {
            let c = c.to_lowercase();
            c.starts_with(&lower) || c.split(['_', '-']).any(|part| part == trimmed)
        })
        .collect();
    match related.as_slice() {
        [one] => Some(one),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_are_one_based() {
        let text = "a = 1\nbb = 2\n";
        assert_eq!(line_column(text, 0), (1, 1));
        assert_eq!(line_column(text, 6), (2, 1));
        assert_eq!(line_column(text, 8), (2, 3));
    }

    #[test]
    fn a_long_line_is_quoted_around_the_place() {
        let text = format!("a = [{}x{}]\n", "1, ".repeat(200), ", 2".repeat(200));
        let at = text.find('x').expect("x");
        let p = Problem::new(Some(at..at + 1), "bad");
        let r = render_problem("f.toml", &text, &p);
        let lines: Vec<&str> = r.lines().collect();
        assert!(
            lines[3].starts_with("1 | …") && lines[3].ends_with('…'),
            "{r}"
        );
        assert!(lines[3].chars().count() < MAX_QUOTED + 10, "{r}");
        // The caret is under the x.
        let caret = lines[4].find('^').expect("caret");
        assert_eq!(
            lines[3][..].chars().nth(lines[4][..caret].chars().count()),
            Some('x')
        );
    }

    #[test]
    fn nearest_name_finds_misspellings_only() {
        let names = ["annual_growth", "initial", "monthly_volatility"];
        assert_eq!(nearest("anual_growth", names), Some("annual_growth"));
        assert_eq!(nearest("INITIAL", names), Some("initial"));
        assert_eq!(nearest("zebra", names), None);
        assert_eq!(
            nearest("Ban", ["open", "licensed", "banned"]),
            Some("banned")
        );
        let tables = ["export_rule", "import_rule", "domestic_mandate", "shock"];
        assert_eq!(nearest("mandates", tables), Some("domestic_mandate"));
        // Ambiguous: both rules.
        assert_eq!(nearest("rule", tables), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
