//! The YAML layer: text in, a tree of [`Node`]s with byte spans out. It
//! knows YAML, not manifests: which top-level list to stream and into how
//! many parts to cut it are told to it ([`Stream`]).
//!
//! - `build`: parser events to nodes (anchors, aliases with a budget,
//!   merge keys, depth and size limits), the scanner on a second thread;
//! - `scalar`: YAML 1.2 core-schema resolution of plain scalars;
//! - `fast`: the items of the plain shape (one `key: value` per line,
//!   flow values) parsed without the YAML crate, equal to it;
//! - `parts`: cutting a long block list at its items and parsing the
//!   parts on their own threads, equal to one sequential parse.
//!
//! This is the only code that knows the YAML crate. It builds the tree from
//! the events of granit-parser (the parser under serde-saphyr) because going
//! through serde-saphyr's deserializer cost 3.6x more time on a
//! 100,000-command manifest (see BENCHMARKS.md). Scalars are resolved with the
//! YAML 1.2 core schema (strict booleans, no legacy octal), `<<` merge keys are
//! expanded, aliases are replayed with a budget (alias bombs end in an error),
//! nesting is limited to 64 levels, and a manifest is one document.

mod build;
mod fast;
mod parts;
mod scalar;

pub(crate) use scalar::{json_number, text_json};

use std::borrow::Cow;

use granit_parser::{Marker, ScanError};

pub(crate) use crate::diagnostic::Span;

/// One YAML node with the span of its text in the source. Strings borrow
/// from the source where YAML allows (no escapes or folding): no copy.
#[derive(Debug, Clone)]
pub(crate) struct Node<'a> {
    pub span: Span,
    pub value: Value<'a>,
}

/// A YAML value. Mappings keep key order and duplicate keys (validation
/// reports duplicates with both locations).
#[derive(Debug, Clone)]
pub(crate) enum Value<'a> {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    Str(Cow<'a, str>),
    Seq(Vec<Node<'a>>),
    Map(Vec<(Node<'a>, Node<'a>)>),
}

impl Value<'_> {
    /// The YAML type name used in "expected X, found Y" messages.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) | Value::UInt(_) => "an integer",
            Value::Float(_) => "a number",
            Value::Str(_) => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }
}

impl<'a> Node<'a> {
    pub(crate) fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    pub(crate) fn as_map(&self) -> Option<&[(Node<'a>, Node<'a>)]> {
        match &self.value {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    /// The key text of a mapping entry; non-string keys render as their kind.
    pub(crate) fn key_text(&self) -> Cow<'_, str> {
        match &self.value {
            Value::Str(s) => Cow::Borrowed(s),
            Value::Int(i) => Cow::Owned(i.to_string()),
            Value::UInt(u) => Cow::Owned(u.to_string()),
            Value::Bool(b) => Cow::Owned(b.to_string()),
            Value::Float(f) => Cow::Owned(f.to_string()),
            Value::Null => Cow::Borrowed("null"),
            other => Cow::Borrowed(other.kind()),
        }
    }
}

/// What a [`Read`]er finds next: a scalar ([`Read::scalar`]), or the
/// start (its offset) of a mapping or a list, whose keys and items it then
/// reads. Small on purpose: it is returned for every value.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Step {
    Scalar,
    Map(usize),
    Seq(usize),
}

/// Reads a value in order, without needing it as a tree: the fast path's
/// cursor reads an item's text, [`TreeReader`] a tree. `None` anywhere: the
/// value is not of the shape the reader takes.
pub(crate) trait Read<'a> {
    /// The next value: the whole one first, then the value of the last key
    /// or item read.
    fn value(&mut self) -> Option<Step>;
    /// In a mapping: whether a key follows (it is [`Read::scalar`]; its
    /// value is read next).
    fn key(&mut self) -> Option<bool>;
    /// In a list: whether an item follows (read next).
    fn item(&mut self) -> Option<bool>;
    /// The scalar or key just read.
    fn scalar(&self) -> &Node<'a>;
    /// The string just read is JSON's as it is: nothing in it to escape.
    fn verbatim(&self) -> bool {
        false
    }
}

pub(crate) use fast::Cursor;

/// Reads a tree the full parser built, as [`Cursor`] reads text.
pub(crate) struct TreeReader<'n, 'a> {
    next: Option<&'n Node<'a>>,
    last: &'n Node<'a>,
    open: Vec<Open<'n, 'a>>,
}

enum Open<'n, 'a> {
    Map(std::slice::Iter<'n, (Node<'a>, Node<'a>)>),
    Seq(std::slice::Iter<'n, Node<'a>>),
}

impl<'n, 'a> TreeReader<'n, 'a> {
    pub(crate) fn new(node: &'n Node<'a>) -> Self {
        TreeReader { next: Some(node), last: node, open: Vec::new() }
    }
}

impl<'a> Read<'a> for TreeReader<'_, 'a> {
    fn value(&mut self) -> Option<Step> {
        let node = self.next.take()?;
        Some(match &node.value {
            Value::Map(entries) => {
                self.open.push(Open::Map(entries.iter()));
                Step::Map(node.span.offset)
            }
            Value::Seq(items) => {
                self.open.push(Open::Seq(items.iter()));
                Step::Seq(node.span.offset)
            }
            _ => {
                self.last = node;
                Step::Scalar
            }
        })
    }

    fn key(&mut self) -> Option<bool> {
        let Some(Open::Map(entries)) = self.open.last_mut() else { return None };
        match entries.next() {
            Some((k, v)) => {
                self.next = Some(v);
                self.last = k;
                Some(true)
            }
            None => {
                self.open.pop();
                Some(false)
            }
        }
    }

    fn item(&mut self) -> Option<bool> {
        let Some(Open::Seq(items)) = self.open.last_mut() else { return None };
        match items.next() {
            Some(v) => {
                self.next = Some(v);
                Some(true)
            }
            None => {
                self.open.pop();
                Some(false)
            }
        }
    }

    fn scalar(&self) -> &Node<'a> {
        self.last
    }
}

/// A YAML syntax or limit error with its location.
#[derive(Debug)]
pub(crate) struct SyntaxError {
    pub message: String,
    pub span: Option<Span>,
    /// 1-based line and character column, when there is no byte span.
    pub line_col: Option<(usize, usize)>,
}

impl SyntaxError {
    /// The error as a problem located in `source`.
    pub(crate) fn problem(&self, source: &crate::diagnostic::Source) -> crate::diagnostic::Problem {
        let span = self.span.unwrap_or_else(|| {
            let offset = self.line_col.map_or(0, |(l, c)| source.offset_of(l, c));
            Span { offset, len: 1 }
        });
        crate::diagnostic::Problem::error(format!("invalid YAML: {}", self.message)).at(source, span, "here")
    }
}

/// Deepest nesting of collections accepted.
pub(crate) const MAX_DEPTH: usize = 64;
/// Most nodes that aliases may replay in one manifest (alias-bomb guard).
pub(crate) const MAX_ALIAS_NODES: usize = 1_000_000;
/// Longest scalar accepted: far above any sensible publication, far below
/// what would strain memory.
pub(crate) const MAX_SCALAR_BYTES: usize = 16 * 1024 * 1024;

pub(super) fn offset(m: &Marker) -> usize {
    m.byte_offset().unwrap_or(0)
}

pub(super) fn error_at(m: &Marker, message: impl Into<String>) -> SyntaxError {
    SyntaxError { message: message.into(), span: Some(Span { offset: offset(m), len: 1 }), line_col: None }
}

pub(super) fn scan_error(e: &ScanError) -> SyntaxError {
    let m = e.marker();
    SyntaxError {
        message: e.info(),
        span: m.byte_offset().map(|o| Span { offset: o, len: 1 }),
        line_col: Some((m.line(), m.col() + 1)),
    }
}

/// Parses one YAML document into a spanned tree.
pub(crate) fn parse(source: &str) -> Result<Node<'_>, SyntaxError> {
    build::pipeline(source, None)
}

/// Receives each item of a streamed list as soon as it is complete, with the
/// top-level entries parsed before the list, into the state of the part of
/// the text that holds the item.
pub(crate) trait ItemSink<'a>: Sync {
    type Part: Send;
    /// A fresh state for the part of the text at `text` (byte offsets; the
    /// first part starts at 0 and holds the head).
    fn part(&self, text: std::ops::Range<usize>) -> Self::Part;
    fn item(&self, part: &mut Self::Part, entries: &[(Node<'a>, Node<'a>)], item: Node<'a>);
    /// Takes the item at `at` straight from its text when it can (a
    /// [`Cursor`] reads it); `false`: it is parsed, and given to
    /// [`ItemSink::item`].
    fn text(&self, _part: &mut Self::Part, _entries: &[(Node<'a>, Node<'a>)], _at: ItemAt) -> bool {
        false
    }
}

/// Where a list item is in the text.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ItemAt {
    /// The start of its first line, and its end (the next item's line).
    pub start: usize,
    pub end: usize,
    /// The list's indentation.
    pub indent: usize,
    /// Its 1-based line.
    pub line: usize,
    /// Its part of the text holds no character the fast path leaves to the
    /// full parser (checked once for the part, not for each item).
    pub clean: bool,
}

/// Which list to stream, and into how many parts to cut it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Stream<'k> {
    /// The top-level key whose list items go to the sink.
    pub key: &'k str,
    /// Parts to cut the list into (1: one sequential parse).
    pub parts: usize,
}

/// Like [`parse`], but hands the items of the top-level list `stream.key`
/// to `sink` instead of keeping them (the returned tree then holds an empty
/// list there), so a long list never exists as one whole tree. Returns the
/// parts' states in text order: as many as the list was really cut into.
///
/// A block list that is the document's last top-level entry is cut at list
/// items into `stream.parts` parts parsed on their own threads; any doubt
/// about a cut (an alias to an earlier part, a syntax error, a key after
/// the list) and it is parsed again as one part, so the result and the
/// errors are always those of one sequential parse.
pub(crate) fn parse_streaming<'a, S: ItemSink<'a>>(
    source: &'a str,
    stream: Stream<'_>,
    sink: &S,
) -> Result<(Node<'a>, Vec<S::Part>), SyntaxError> {
    parts::parse_in_parts(source, stream, sink)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text<'a>(src: &'a str, n: &Node) -> &'a str {
        &src[n.span.offset..n.span.offset + n.span.len]
    }

    #[test]
    fn spans_are_byte_accurate_after_non_ascii_text() {
        let src = "title: \"Grüße, 世界\"\ncommands:\n  - publish: {chanel: news}\n";
        let root = parse(src).unwrap();
        let map = root.as_map().unwrap();
        let cmds = &map[1].1;
        let Value::Seq(items) = &cmds.value else { panic!() };
        let publish = &items[0].as_map().unwrap()[0].1;
        let (k, v) = &publish.as_map().unwrap()[0];
        assert_eq!(text(src, k), "chanel");
        assert_eq!(text(src, v), "news");
    }

    #[test]
    fn keeps_duplicate_keys_and_yaml_types() {
        let root = parse("a: 1\na: \"1\"\nb: true\nc: 1.5\nd: ~\n").unwrap();
        let map = root.as_map().unwrap();
        assert_eq!(map.len(), 5);
        assert!(matches!(map[0].1.value, Value::Int(1)));
        assert!(matches!(map[1].1.value, Value::Str(_)));
        assert!(matches!(map[2].1.value, Value::Bool(true)));
        assert!(matches!(map[3].1.value, Value::Float(_)));
        assert!(matches!(map[4].1.value, Value::Null));
    }

    #[test]
    fn syntax_errors_have_a_location() {
        let err = parse("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(err.span.is_some() || err.line_col.is_some(), "{err:?}");
        assert!(!err.message.contains(" at line "), "{err:?}");
    }

    #[test]
    fn alias_bombs_and_deep_nesting_end_in_errors() {
        let mut bomb = String::from("a: &a [x,x,x,x,x,x,x,x,x,x]\n");
        for i in 0..12 {
            let prev = if i == 0 { "a".to_string() } else { format!("b{}", i - 1) };
            bomb += &format!(
                "b{i}: &b{i} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]\n"
            );
        }
        assert!(parse(&bomb).is_err());
        let deep = "[".repeat(10_000) + &"]".repeat(10_000);
        assert!(parse(&deep).is_err());
    }

    #[test]
    fn core_schema_scalars() {
        let root = parse("[1, -2, +3, 0x1F, 0o17, 1.5, -.5e3, .inf, .nan, true, False, yes, on, ~, null, '1', \"true\", 18446744073709551615, 012, 1_000, 1e5, 2026-11-28]").unwrap();
        let Value::Seq(items) = root.value else { panic!() };
        let kinds: Vec<String> = items
            .iter()
            .map(|n| match &n.value {
                Value::Int(i) => format!("i{i}"),
                Value::UInt(u) => format!("u{u}"),
                Value::Float(f) => format!("f{f}"),
                Value::Bool(b) => format!("b{b}"),
                Value::Null => "null".into(),
                Value::Str(s) => format!("s{s}"),
                _ => "?".into(),
            })
            .collect();
        assert_eq!(
            kinds,
            [
                "i1",
                "i-2",
                "i3",
                "i31",
                "i15",
                "f1.5",
                "f-500",
                "finf",
                "fNaN",
                "btrue",
                "bfalse",
                "syes",
                "son",
                "null",
                "null",
                "s1",
                "strue",
                "u18446744073709551615",
                "i12",
                "s1_000",
                "f100000",
                "s2026-11-28"
            ]
        );
    }

    #[test]
    fn merge_keys_aliases_and_one_document() {
        let root = parse("base: &b {channel: news, data: 1}\nx:\n  <<: *b\n  data: 2\n").unwrap();
        let x = &root.as_map().unwrap()[1].1;
        let keys: Vec<String> = x.as_map().unwrap().iter().map(|(k, _)| k.key_text().into_owned()).collect();
        assert_eq!(keys, ["data", "channel"]);
        assert!(matches!(x.as_map().unwrap()[0].1.value, Value::Int(2)), "own keys win over merged ones");
        let err = parse("a: 1\n---\nb: 2\n").unwrap_err();
        assert!(err.message.contains("one YAML document"), "{err:?}");
        assert_eq!(err.span.unwrap().offset, 5);
        assert!(parse("a: *nope\n").is_err());
    }
}
