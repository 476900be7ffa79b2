//! Located problems and how they render: the ground floor every stage
//! reports through (manifests, settings, runtime failures).
//!
//! Validation collects [`Problem`]s (never stops at the first); this module
//! turns them into miette diagnostics: `FILE:LINE:COL`, the source line, a
//! pointer at the offending key or value, a message and a hint.

use std::fmt;
use std::sync::Arc;

#[cfg(feature = "cli")]
use miette::{
    Diagnostic, GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteError, MietteSpanContents, NamedSource,
    Severity, SourceSpan, SpanContents,
};

/// A byte range in a source text (`offset`, `len`), as miette wants it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    /// Where it starts, in bytes.
    pub offset: usize,
    /// How many bytes.
    pub len: usize,
}

#[cfg(feature = "cli")]
impl From<Span> for miette::SourceSpan {
    fn from(s: Span) -> Self {
        (s.offset, s.len).into()
    }
}

/// A manifest file's text, shared by every problem and command located in it.
#[derive(Debug, Clone)]
pub struct Source {
    /// The path as the user wrote it (what diagnostics and reports show).
    pub name: String,
    /// The whole text: the buffer it was read into, shared, never copied
    /// (a `String` moves into an `Arc<String>`; an `Arc<str>` would copy
    /// a 100 MB manifest once more).
    pub text: Arc<String>,
    /// Where each line starts: made when first asked (a valid manifest's
    /// commands count their lines as they are read; only problems and
    /// snippets need the index).
    line_starts: Arc<std::sync::OnceLock<Box<[usize]>>>,
}

impl Source {
    /// A source named `name` (what diagnostics show) holding `text`.
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Self {
        Source { name: name.into(), text: Arc::new(text.into()), line_starts: Arc::default() }
    }

    fn line_starts(&self) -> &[usize] {
        self.line_starts.get_or_init(|| line_starts(&self.text))
    }

    /// The byte offset of a 1-based line and character column (the YAML
    /// parser's convention).
    pub fn offset_of(&self, line: usize, col: usize) -> usize {
        let Some(&start) = self.line_starts().get(line.saturating_sub(1)) else { return self.text.len() };
        let rest = &self.text[start..];
        start + rest.char_indices().nth(col.saturating_sub(1)).map_or(rest.len(), |(i, _)| i)
    }

    /// How many lines start in `from..to` (byte offsets), counted in the
    /// text (the index may not be made).
    pub(crate) fn lines_in(&self, from: usize, to: usize) -> usize {
        let (lo, hi) = (from.saturating_sub(1), to.saturating_sub(1));
        let feeds = self.text.as_bytes().get(lo..hi).map_or(0, |b| memchr::memchr_iter(b'\n', b).count());
        feeds + usize::from(from == 0 && to > 0)
    }

    /// 1-based line and byte column of a byte offset (the convention of
    /// miette's snippet header, so both show the same `LINE:COL`).
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let starts = self.line_starts();
        let line = starts.partition_point(|&s| s <= offset) - 1;
        (line + 1, offset - starts[line] + 1)
    }
}

/// A source's text let go of while nothing reads it (a manifest's, while
/// its commands are sent: they hold their params), to be read again from
/// its file when a report needs a snippet. Its line index is kept, so a
/// place is still `FILE:LINE:COL` if the file changed meanwhile.
pub(crate) struct Released {
    /// What the holders hold meanwhile (an empty text).
    stand_in: Arc<String>,
    name: String,
    len: usize,
    modified: std::time::SystemTime,
    samples: Vec<u8>,
    line_starts: Arc<std::sync::OnceLock<Box<[usize]>>>,
}

/// Where each line of `text` starts. A long text's halves are indexed on
/// two threads (a run makes the index of its manifest before its first
/// request: 5 ms for 200,000 lines on one).
fn line_starts(text: &str) -> Box<[usize]> {
    let bytes = text.as_bytes();
    let two = bytes.len() >= 1 << 20 && crate::cores::two();
    let (first, second) = bytes.split_at(if two { bytes.len() / 2 } else { bytes.len() });
    let count = |half: &[u8]| memchr::memchr_iter(b'\n', half).count();
    let fill = |half: &[u8], from: usize, out: &mut [usize]| {
        out.iter_mut().zip(memchr::memchr_iter(b'\n', half)).for_each(|(s, i)| *s = from + i + 1);
    };
    // Counted first, so the index is made at its size, not grown by copying.
    let (n1, n2) = crate::cores::both(two, || count(first), || count(second));
    let mut starts = vec![0; 1 + n1 + n2].into_boxed_slice();
    let (head, tail) = starts[1..].split_at_mut(n1);
    crate::cores::both(two, || fill(first, 0, head), || fill(second, first.len(), tail));
    starts
}

/// Bytes of a text compared when it is read again (with its size and time).
fn samples(text: &[u8]) -> Vec<u8> {
    (0..64).filter_map(|i| text.get(i * text.len() / 64..).map(|t| &t[..t.len().min(8)])).flatten().copied().collect()
}

impl Source {
    /// Lets go of the texts of `all` (every holder of each, found by
    /// sharing it) whose file is where its name says, unchanged; a text
    /// someone else also holds is kept.
    pub(crate) fn release(all: &mut [&mut Source]) -> Vec<Released> {
        let mut out = Vec::new();
        for i in 0..all.len() {
            let text = all[i].text.clone();
            if text.is_empty() || out.iter().any(|r: &Released| Arc::ptr_eq(&r.stand_in, &all[i].text)) {
                continue;
            }
            let Ok(meta) = std::fs::metadata(&all[i].name) else { continue };
            let Ok(modified) = meta.modified() else { continue };
            if !meta.is_file() || meta.len() != text.len() as u64 {
                continue;
            }
            all[i].line_starts();
            let stand_in = Arc::new(String::new());
            let holders: Vec<usize> = (0..all.len()).filter(|&j| Arc::ptr_eq(&all[j].text, &text)).collect();
            for &j in &holders {
                all[j].text = stand_in.clone();
            }
            // Held elsewhere too: letting go here would free nothing.
            if Arc::strong_count(&text) > 1 {
                for &j in &holders {
                    all[j].text = text.clone();
                }
                continue;
            }
            out.push(Released {
                stand_in,
                name: all[i].name.clone(),
                len: text.len(),
                modified,
                samples: samples(text.as_bytes()),
                line_starts: all[i].line_starts.clone(),
            });
        }
        out
    }

    /// Gives `all` their released texts back, read again; a file that
    /// changed since (or cannot be read) gives a text of blanks with its
    /// lines where they were (places stay right, snippets are empty).
    /// Returns a warning for each of those.
    pub(crate) fn restore(all: &mut [&mut Source], released: Vec<Released>) -> Vec<Problem> {
        let mut lost = Vec::new();
        for r in released {
            let same = |t: &String| {
                t.len() == r.len
                    && samples(t.as_bytes()) == r.samples
                    && std::fs::metadata(&r.name).and_then(|m| m.modified()).is_ok_and(|m| m == r.modified)
            };
            let why = match std::fs::read_to_string(&r.name) {
                Ok(t) if same(&t) => {
                    let text = Arc::new(t);
                    for s in all.iter_mut().filter(|s| Arc::ptr_eq(&s.text, &r.stand_in)) {
                        s.text = text.clone();
                    }
                    continue;
                }
                Ok(_) => "changed while the run went".to_owned(),
                Err(e) => format!("could not be read again ({e})"),
            };
            lost.push(
                Problem::error(format!("{} {why}: its snippets are left out", r.name))
                    .help("places (FILE:LINE:COL) are those of the text the run validated")
                    .warning(),
            );
            let mut blank = vec![b' '; r.len];
            for &start in r.line_starts.get().map_or(&[][..], |s| &s[1..]) {
                blank[start - 1] = b'\n';
            }
            let text = Arc::new(String::from_utf8(blank).expect("ASCII"));
            for s in all.iter_mut().filter(|s| Arc::ptr_eq(&s.text, &r.stand_in)) {
                s.text = text.clone();
            }
        }
        lost
    }
}

/// How bad a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Suspicious, but the run may go on.
    Warning,
    /// Nothing is sent.
    Error,
}

/// One thing wrong (or suspicious) in a manifest or its inputs.
#[derive(Debug, Clone)]
pub struct Problem {
    /// Error or warning.
    pub level: Level,
    /// What is wrong.
    pub message: String,
    /// What would fix it (a did-you-mean, an example).
    pub help: Option<String>,
    /// `None` for problems without a place (e.g. an unreadable file).
    pub source: Option<Source>,
    /// Where in the source.
    pub span: Span,
    /// The pointer's label in the snippet.
    pub label: String,
}

impl Problem {
    /// An error without a place yet.
    pub fn error(message: impl Into<String>) -> Self {
        Problem {
            level: Level::Error,
            message: message.into(),
            help: None,
            source: None,
            span: Span::default(),
            label: String::new(),
        }
    }

    /// The problem placed at `span` of `source`, the pointer labelled `label`.
    pub fn at(mut self, source: &Source, span: Span, label: impl Into<String>) -> Self {
        self.source = Some(source.clone());
        self.span = span;
        self.label = label.into();
        self
    }

    /// The problem with a hint.
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// The problem as a warning.
    pub fn warning(mut self) -> Self {
        self.level = Level::Warning;
        self
    }

    /// `FILE:LINE:COL` of the problem, or just the file name.
    pub fn location(&self) -> Option<String> {
        self.source.as_ref().map(|s| {
            let (l, c) = s.line_col(self.span.offset);
            format!("{}:{l}:{c}", s.name)
        })
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Problem {}

/// The miette view of a problem (kept apart so `Problem` stays cheap to clone).
#[cfg(feature = "cli")]
struct Rendered<'a> {
    problem: &'a Problem,
    named: Option<NamedSource<Source>>,
}

/// A snippet is read from the lines around the span only (found by the
/// line index), not from the start of the file: a thousand problems in a
/// large manifest render in time proportional to their count. The window
/// holds one line more before than shown, so what miette makes of it is
/// what it makes of the whole text.
#[cfg(feature = "cli")]
impl miette::SourceCode for Source {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        before: usize,
        after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let line_of = |offset: usize| self.line_starts().partition_point(|&s| s <= offset).saturating_sub(1);
        let (first, last) = (line_of(span.offset()), line_of(span.offset() + span.len()));
        let from_line = first.saturating_sub(before + 1);
        let from = self.line_starts()[from_line];
        let to = self.line_starts().get(last + after + 2).copied().unwrap_or(self.text.len());
        let window = &self.text.as_bytes()[from..to];
        let local = SourceSpan::new((span.offset() - from).into(), span.len());
        let c = window.read_span(&local, before, after)?;
        Ok(Box::new(MietteSpanContents::new(
            c.data(),
            SourceSpan::new((c.span().offset() + from).into(), c.span().len()),
            c.line() + from_line,
            c.column(),
            c.line_count(),
        )))
    }
}

#[cfg(feature = "cli")]
impl fmt::Debug for Rendered<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.problem, f)
    }
}
#[cfg(feature = "cli")]
impl fmt::Display for Rendered<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.problem.location() {
            Some(loc) => write!(f, "{loc}: {}", self.problem.message),
            None => f.write_str(&self.problem.message),
        }
    }
}
#[cfg(feature = "cli")]
impl std::error::Error for Rendered<'_> {}

#[cfg(feature = "cli")]
impl Diagnostic for Rendered<'_> {
    fn severity(&self) -> Option<Severity> {
        Some(match self.problem.level {
            Level::Warning => Severity::Warning,
            Level::Error => Severity::Error,
        })
    }
    fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        self.problem.help.as_ref().map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.named.as_ref().map(|n| n as &dyn miette::SourceCode)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        self.named.as_ref()?;
        let label = (!self.problem.label.is_empty()).then(|| self.problem.label.clone());
        Some(Box::new(std::iter::once(LabeledSpan::new_with_span(label, self.problem.span))))
    }
}

/// Renders problems as miette reports; `color` only on a terminal.
#[cfg(feature = "cli")]
pub(crate) fn render(problems: &[Problem], color: bool) -> String {
    let theme = if color { GraphicalTheme::unicode() } else { GraphicalTheme::unicode_nocolor() };
    // `--file-root` and `tests/m.yaml:3` stay whole at the end of a line.
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(100)
        .with_word_splitter(textwrap::WordSplitter::NoHyphenation)
        // Paths stay whole too: lines break at spaces only.
        .with_word_separator(textwrap::WordSeparator::AsciiSpace)
        .with_break_words(false);
    let mut out = String::new();
    for p in problems {
        let named = p.source.as_ref().map(|s| NamedSource::new(s.name.clone(), s.clone()).with_language("yaml"));
        let r = Rendered { problem: p, named };
        // Writing into a String cannot fail.
        let _ = handler.render_report(&mut out, &r);
    }
    let errors = problems.iter().filter(|p| p.level == Level::Error).count();
    let warnings = problems.len() - errors;
    if errors > 0 || warnings > 0 {
        out.push_str(&format!(
            "{} error{}, {} warning{}\n",
            errors,
            if errors == 1 { "" } else { "s" },
            warnings,
            if warnings == 1 { "" } else { "s" }
        ));
    }
    out
}

/// The closest candidate to a misspelled name, for "did you mean" hints.
pub(crate) fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::damerau_levenshtein(word, c), c))
        .filter(|&(d, c)| d <= 2.max(c.len() / 3) && d < c.len())
        .min_by_key(|&(d, _)| d)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_text_indexed_in_two_halves_has_every_line_where_it_starts() {
        for shift in 0..3 {
            // Over a mebibyte, lines of every length up to 100, one starting right at the middle.
            let mut text: String = (0..25_000).map(|i| format!("{}\n", "x".repeat(i % 100))).collect();
            let middle = text.len() / 2;
            text.replace_range(middle - 1 - shift..middle - shift, "\n");
            let naive: Vec<usize> = std::iter::once(0)
                .chain(text.bytes().enumerate().filter(|(_, b)| *b == b'\n').map(|(i, _)| i + 1))
                .collect();
            assert!(text.len() >= 1 << 20);
            assert_eq!(&*line_starts(&text), &naive[..]);
            let source = Source::new("m.yaml", text.clone());
            let last = text.len() - 1;
            assert_eq!(source.line_col(last), (naive.len() - 1, last - naive[naive.len() - 2] + 1));
        }
    }

    /// A released text is freed and read again unchanged; one held
    /// elsewhere is kept; a file that changed meanwhile gives blanks with
    /// its lines where they were, so places stay right.
    #[test]
    fn a_released_text_comes_back_from_its_file_or_as_blanks_when_it_changed() {
        let dir = std::env::temp_dir().join(format!("cent-run-release-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("m.yaml");
        let text = "commands:\n  - publish: {channel: é, data: 1}\n  - info:\n";
        std::fs::write(&path, text).unwrap();
        let name = path.to_string_lossy().into_owned();
        let (mut a, mut b) = (Source::new(name.clone(), text), Source::new("elsewhere.yaml", "x: 1\n"));
        let mut warning = Problem::error("w").at(&a, Span { offset: 12, len: 7 }, "here");
        let kept = b.clone();
        let released = {
            let mut all = vec![&mut a, &mut b, warning.source.as_mut().unwrap()];
            Source::release(&mut all)
        };
        assert_eq!(released.len(), 1, "only the file's text, not one held elsewhere (nor without a file)");
        assert!(a.text.is_empty() && warning.source.as_ref().unwrap().text.is_empty());
        assert_eq!(b.text.as_str(), "x: 1\n");
        drop(kept);
        let lost = Source::restore(&mut [&mut a, warning.source.as_mut().unwrap()], released);
        assert!(lost.is_empty());
        assert_eq!(a.text.as_str(), text);
        assert!(Arc::ptr_eq(&a.text, &warning.source.as_ref().unwrap().text));
        assert_eq!(warning.location().unwrap(), format!("{name}:2:3"));

        assert!(Source::release(&mut [&mut a]).is_empty(), "the warning holds it too");
        drop(warning);
        let released = Source::release(&mut [&mut a]);
        std::fs::write(&path, text.replace("info", "infx")).unwrap();
        let lost = Source::restore(&mut [&mut a], released);
        assert_eq!(lost.len(), 1);
        assert_eq!(lost[0].message, format!("{name} changed while the run went: its snippets are left out"));
        assert_eq!(a.text.len(), text.len());
        assert_eq!(a.text.matches('\n').count(), 3);
        assert!(a.text.trim().is_empty());
        assert_eq!(a.line_col(text.find("info").unwrap()), (3, 5));
        // Gone: said so, places kept.
        let released = Source::release(&mut [&mut a]);
        std::fs::remove_file(&path).unwrap();
        let lost = Source::restore(&mut [&mut a], released);
        assert!(lost[0].message.contains("could not be read again"), "{:?}", lost[0].message);
        assert_eq!(a.line_col(text.find("info").unwrap()), (3, 5));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn line_col_counts_bytes_like_the_snippet_header() {
        let s = Source::new("m.yaml", "a: é\nbü: x\n");
        assert_eq!(s.line_col(0), (1, 1));
        let x = s.text.find('x').unwrap();
        assert_eq!(s.line_col(x), (2, 6));
    }

    #[test]
    fn suggestions() {
        assert_eq!(did_you_mean("chanel", ["channel", "data"]), Some("channel"));
        assert_eq!(did_you_mean("publsh", ["publish", "presence"]), Some("publish"));
        assert_eq!(did_you_mean("zzz", ["channel"]), None);
    }
}
