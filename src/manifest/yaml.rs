//! The YAML layer: manifest text in, a tree of [`Node`]s with byte spans out.
//!
//! This is the only code that knows the YAML crate. It builds the tree from
//! the events of granit-parser (the parser under serde-saphyr) because going
//! through serde-saphyr's deserializer cost 3.6x more time on a
//! 100,000-command manifest (see BENCHMARKS.md). Scalars are resolved with the
//! YAML 1.2 core schema (strict booleans, no legacy octal), `<<` merge keys are
//! expanded, aliases are replayed with a budget (alias bombs end in an error),
//! nesting is limited to 64 levels, and a manifest is one document.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use granit_parser::{Event, Marker, ParseResult, Parser, ScalarStyle, ScanError};

/// A byte range in the manifest source (`offset`, `len`), as miette wants it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    pub offset: usize,
    pub len: usize,
}

impl From<Span> for miette::SourceSpan {
    fn from(s: Span) -> Self {
        (s.offset, s.len).into()
    }
}

/// One YAML node with the span of its text in the source. Strings borrow
/// from the source where YAML allows (no escapes or folding): no copy.
#[derive(Debug, Clone)]
pub struct Node<'a> {
    pub span: Span,
    pub value: Value<'a>,
}

/// A YAML value. Mappings keep key order and duplicate keys (validation
/// reports duplicates with both locations).
#[derive(Debug, Clone)]
pub enum Value<'a> {
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
    pub fn kind(&self) -> &'static str {
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
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&[(Node<'a>, Node<'a>)]> {
        match &self.value {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    /// The key text of a mapping entry; non-string keys render as their kind.
    pub fn key_text(&self) -> Cow<'_, str> {
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

/// A YAML syntax or limit error with its location.
#[derive(Debug)]
pub struct SyntaxError {
    pub message: String,
    pub span: Option<Span>,
    /// 1-based line and character column, when there is no byte span.
    pub line_col: Option<(usize, usize)>,
}

/// Deepest nesting of collections accepted.
pub const MAX_DEPTH: usize = 64;
/// Most nodes that aliases may replay in one manifest (alias-bomb guard).
pub const MAX_ALIAS_NODES: usize = 1_000_000;
/// Longest scalar accepted: far above any sensible publication, far below
/// what would strain memory.
pub const MAX_SCALAR_BYTES: usize = 16 * 1024 * 1024;

fn offset(m: &Marker) -> usize {
    m.byte_offset().unwrap_or(0)
}

fn error_at(m: &Marker, message: impl Into<String>) -> SyntaxError {
    SyntaxError { message: message.into(), span: Some(Span { offset: offset(m), len: 1 }), line_col: None }
}

fn scan_error(e: &ScanError) -> SyntaxError {
    let m = e.marker();
    SyntaxError {
        message: e.info(),
        span: m.byte_offset().map(|o| Span { offset: o, len: 1 }),
        line_col: Some((m.line(), m.col() + 1)),
    }
}

enum Frame<'a> {
    Seq { start: usize, line_end: usize, anchor: usize, items: Vec<Node<'a>> },
    Map { start: usize, line_end: usize, anchor: usize, entries: Vec<(Node<'a>, Node<'a>)>, key: Option<Node<'a>> },
}

/// Parses one YAML document into a spanned tree.
pub fn parse(source: &str) -> Result<Node<'_>, SyntaxError> {
    pipeline(source, None)
}

/// Receives each item of the top-level `commands` list as soon as it is
/// complete, with the top-level entries parsed before the list, into the
/// state `S` of the part of the manifest that holds the item.
pub trait CommandSink<'a>: Sync {
    type Part: Send;
    /// A fresh state for one part.
    fn part(&self) -> Self::Part;
    fn item(&self, part: &mut Self::Part, entries: &[(Node<'a>, Node<'a>)], item: Node<'a>);
}

/// Manifests below this size are parsed as one part.
const PART_MIN_BYTES: usize = 64 * 1024;
/// Most parts a manifest is cut into.
const MAX_PARTS: usize = 8;

/// Like [`parse`], but hands the items of a top-level `commands` list to
/// `sink` instead of keeping them (the returned tree then holds
/// `commands: []`), so a large manifest never exists as one whole tree.
/// Returns the parts' states in manifest order.
///
/// A large manifest whose block list of commands is its last top-level entry
/// is cut at list items into parts parsed on their own threads (see
/// [`cut`]); any doubt about a cut (an alias to an earlier part, a syntax
/// error, a key after the list) and it is parsed again as one part, so the
/// result and the errors are always those of one sequential parse.
pub fn parse_streaming<'a, S: CommandSink<'a>>(
    source: &'a str,
    sink: &S,
) -> Result<(Node<'a>, Vec<S::Part>), SyntaxError> {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    parse_in_parts(source, sink, (source.len() / PART_MIN_BYTES).min(cores).min(MAX_PARTS))
}

fn parse_in_parts<'a, S: CommandSink<'a>>(
    source: &'a str,
    sink: &S,
    parts: usize,
) -> Result<(Node<'a>, Vec<S::Part>), SyntaxError> {
    if parts > 1
        && let Some(cuts) = cut(source, parts)
        && let Some(done) = parse_parts(source, &cuts, sink)
    {
        return Ok(done);
    }
    let mut part = sink.part();
    let root =
        pipeline(source, Some(&mut |entries: &[(Node<'a>, Node<'a>)], item| sink.item(&mut part, entries, item)))?;
    Ok((root, vec![part]))
}

/// Where a manifest can be cut into `parts` parts: the start of its list of
/// commands (the end of the head), then the starts of list items near equal
/// shares of the rest. `None` unless `commands:` is a top-level key at the
/// start of a line followed by a block list, and the head has no directive.
///
/// A line holding only the list's indentation and `- ` can only be the next
/// item of that list: a block scalar ends at a line indented that little, and
/// inside a multi-line flow collection or quoted scalar the part before the
/// cut fails to parse, which sends the whole manifest to the sequential path.
fn cut(source: &str, parts: usize) -> Option<Vec<usize>> {
    let lines = || {
        source.split_inclusive('\n').scan(0, |at, line| {
            let start = *at;
            *at += line.len();
            Some((start, line))
        })
    };
    let bare = |s: &str| s.trim_start().is_empty() || s.trim_start().starts_with('#');
    let (after, _) = lines().find(|(_, l)| l.strip_prefix("commands:").is_some_and(bare))?;
    if source.starts_with('%') || source[..after].contains("\n%") {
        return None;
    }
    let (list, first) = lines().skip_while(|(at, _)| *at <= after).find(|(_, l)| !bare(l))?;
    // Only list items, comments and indented lines may follow: a top-level
    // key after the list, or a document marker, would end it in one part and
    // go unnoticed in the next.
    let body = &source[list..];
    if body.contains("\n---") || body.contains("\n...") {
        return None;
    }
    let mut starts = body.match_indices('\n').map(|(i, _)| body.as_bytes().get(i + 1));
    if starts.any(|b| b.is_some_and(|b| !matches!(b, b' ' | b'#' | b'-' | b'\n' | b'\r'))) {
        return None;
    }
    let indent = first.len() - first.trim_start_matches(' ').len();
    let is_item = |l: &str| {
        l.len() > indent
            && l.as_bytes()[..indent].iter().all(|&b| b == b' ')
            && matches!(l.as_bytes()[indent..], [b'-', b' ' | b'\n' | b'\r', ..] | [b'-'])
    };
    if !is_item(first) {
        return None;
    }
    let mut cuts = vec![list];
    let share = (source.len() - list) / parts;
    for k in 1..parts {
        // The first item line after the share's end (searched in bytes: the
        // share's end may fall inside a character).
        let mut at = (list + share * k).max(*cuts.last()?);
        loop {
            at += source.as_bytes()[at..].iter().position(|&b| b == b'\n')? + 1;
            if is_item(&source[at..]) {
                break;
            }
        }
        cuts.push(at);
    }
    Some(cuts)
}

/// Parses the parts on their own threads; `None` when a cut proved unsafe.
fn parse_parts<'a, S: CommandSink<'a>>(source: &'a str, cuts: &[usize], sink: &S) -> Option<(Node<'a>, Vec<S::Part>)> {
    // The entries before the list, as the sink sees them in one part.
    let Ok(Node { value: Value::Map(mut head), .. }) = parse(&source[..cuts[0]]) else {
        return None;
    };
    if head.pop()?.0.as_str() != Some("commands") {
        return None;
    }
    let ends: Vec<usize> = cuts[2..].iter().copied().chain([source.len()]).collect();
    let replayed = &AtomicUsize::new(0);
    std::thread::scope(|threads| {
        let rest: Vec<_> = cuts[1..]
            .iter()
            .zip(&ends)
            .map(|(&from, &to)| {
                let head = &head;
                threads.spawn(move || {
                    let mut part = sink.part();
                    let mut item = |entries: &[(Node<'a>, Node<'a>)], item| sink.item(&mut part, entries, item);
                    let events = Parser::new_from_str(&source[from..to]);
                    let tail = build(source, from, events, Some(Sink::Tail(head, &mut item)), replayed);
                    matches!(tail, Ok(Node { value: Value::Seq(_), .. })).then_some(part)
                })
            })
            .collect();
        let mut part = sink.part();
        let first = build(
            source,
            0,
            Parser::new_from_str(&source[..cuts[1]]),
            Some(Sink::Commands(&mut |entries: &[(Node<'a>, Node<'a>)], item| sink.item(&mut part, entries, item))),
            replayed,
        );
        let mut done = vec![part];
        for handle in rest {
            done.push(handle.join().ok()??);
        }
        // The list must be the document's last entry, running to the cut.
        let root = first.ok()?;
        let last = root.as_map()?.last()?;
        (last.0.as_str() == Some("commands") && matches!(&last.1.value, Value::Seq(items) if items.is_empty()))
            .then_some((root, done))
    })
}

/// Runs the scanner on a second thread, handing events over in chunks, so
/// scanning and tree building (and the sink's work) use two cores.
fn pipeline<'a>(source: &'a str, sink: Option<OnItem<'_, 'a>>) -> Result<Node<'a>, SyntaxError> {
    const CHUNK: usize = 2048;
    std::thread::scope(|threads| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<ParseResult<'a>>>(8);
        threads.spawn(move || {
            let mut parser = Parser::new_from_str(source);
            let mut chunk = Vec::with_capacity(CHUNK);
            while let Some(event) = parser.next_event() {
                let failed = event.is_err();
                chunk.push(event);
                if failed || chunk.len() == CHUNK {
                    // A closed channel means the builder stopped on an error.
                    if tx.send(std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK))).is_err() || failed {
                        return;
                    }
                }
            }
            let _ = tx.send(chunk);
        });
        build(source, 0, rx.into_iter().flatten(), sink.map(Sink::Commands), &AtomicUsize::new(0))
    })
}

/// Takes one item of the `commands` list and the top-level entries before it.
type OnItem<'s, 'a> = &'s mut dyn FnMut(&[(Node<'a>, Node<'a>)], Node<'a>);

/// Where [`build`] sends list items instead of keeping them.
enum Sink<'s, 'a> {
    /// Items of the `commands` list of a whole document.
    Commands(OnItem<'s, 'a>),
    /// Items of a part after a cut, whose root list continues `commands`
    /// after the given entries.
    Tail(&'s [(Node<'a>, Node<'a>)], OnItem<'s, 'a>),
}

/// Builds the tree from the events of `source[base..]` (offsets are those
/// of `source`).
fn build<'a>(
    source: &'a str,
    base: usize,
    events: impl Iterator<Item = ParseResult<'a>>,
    mut sink: Option<Sink<'_, 'a>>,
    replayed: &AtomicUsize,
) -> Result<Node<'a>, SyntaxError> {
    let line_end = |at: usize| source[at..].find('\n').map_or(source.len(), |i| at + i);
    let at = |m: &Marker| base + offset(m);
    // A part after a cut sits inside the top-level mapping.
    let outer = usize::from(matches!(sink, Some(Sink::Tail(..))));
    let mut stack: Vec<Frame<'_>> = Vec::new();
    let mut anchors: HashMap<usize, (Node<'_>, usize)> = HashMap::new();
    let mut root: Option<Node> = None;
    let mut documents = 0;
    for event in events {
        let (event, span) = event.map_err(|e| scan_error(&e))?;
        let start = at(&span.start);
        let node = match event {
            Event::StreamStart | Event::StreamEnd | Event::DocumentEnd => continue,
            Event::DocumentStart(..) => {
                documents += 1;
                if documents > 1 {
                    return Err(error_at(
                        &span.start,
                        "a manifest holds one YAML document (found a `---` starting another)",
                    ));
                }
                continue;
            }
            Event::Anchor(..) => continue,
            Event::UnresolvedAlias(name) => return Err(error_at(&span.start, format!("unknown alias `*{name}`"))),
            Event::Alias(id) => {
                let Some((node, size)) = anchors.get(&id) else {
                    return Err(error_at(&span.start, "alias to an unknown anchor"));
                };
                // Shared by the parts of one manifest: their sum is the budget.
                if replayed.fetch_add(*size, Ordering::Relaxed) + size > MAX_ALIAS_NODES {
                    return Err(error_at(&span.start, "too much alias expansion (an alias bomb?)"));
                }
                Node { span: Span { offset: start, len: at(&span.end) - start }, value: node.value.clone() }
            }
            Event::Scalar(text, style, anchor, tag) => {
                if text.len() > MAX_SCALAR_BYTES {
                    return Err(error_at(
                        &span.start,
                        format!("a value of {} bytes is too large (the limit is {MAX_SCALAR_BYTES})", text.len()),
                    ));
                }
                let value = scalar(text, style, tag.as_deref().and_then(|t| t.core_suffix()));
                let node = Node { span: Span { offset: start, len: at(&span.end) - start }, value };
                if anchor > 0 {
                    anchors.insert(anchor, (node.clone(), 1));
                }
                node
            }
            Event::SequenceStart(_, anchor, _) | Event::MappingStart(_, anchor, _) => {
                if outer + stack.len() >= MAX_DEPTH {
                    return Err(error_at(&span.start, format!("nested deeper than {MAX_DEPTH} levels")));
                }
                let frame = if matches!(event, Event::SequenceStart(..)) {
                    Frame::Seq { start, line_end: line_end(start), anchor, items: Vec::new() }
                } else {
                    Frame::Map { start, line_end: line_end(start), anchor, entries: Vec::new(), key: None }
                };
                stack.push(frame);
                continue;
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let end = at(&span.end);
                let (start, line_end, anchor, value) = match stack.pop() {
                    Some(Frame::Seq { start, line_end, anchor, items }) => (start, line_end, anchor, Value::Seq(items)),
                    Some(Frame::Map { start, line_end, anchor, entries, .. }) => {
                        (start, line_end, anchor, Value::Map(merge(entries)))
                    }
                    None => continue,
                };
                // A collection's span stops at the end of its first line, so
                // a pointer at a block mapping stays one line long.
                let node = Node { span: Span { offset: start, len: end.min(line_end).max(start + 1) - start }, value };
                if anchor > 0 {
                    anchors.insert(anchor, (node.clone(), count(&node)));
                }
                node
            }
            // Comments, and events newer parser versions add, carry no data.
            _ => continue,
        };
        match (sink.as_mut(), &stack[..]) {
            (Some(Sink::Commands(sink)), [Frame::Map { entries, key: Some(k), .. }, Frame::Seq { .. }])
                if k.as_str() == Some("commands") =>
            {
                sink(entries, node);
                continue;
            }
            (Some(Sink::Tail(head, sink)), [Frame::Seq { .. }]) => {
                sink(head, node);
                continue;
            }
            _ => {}
        }
        match stack.last_mut() {
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map { entries, key, .. }) => match key.take() {
                Some(k) => entries.push((k, node)),
                None => *key = Some(node),
            },
            None => root = Some(node),
        }
    }
    Ok(root.unwrap_or(Node { span: Span::default(), value: Value::Null }))
}

/// Nodes in a subtree (what replaying an alias to it costs).
fn count(node: &Node<'_>) -> usize {
    match &node.value {
        Value::Seq(items) => 1 + items.iter().map(count).sum::<usize>(),
        Value::Map(entries) => 1 + entries.iter().map(|(k, v)| count(k) + count(v)).sum::<usize>(),
        _ => 1,
    }
}

/// Expands `<<` merge keys: entries of the merged mapping(s) that the
/// mapping does not set itself.
fn merge<'a>(entries: Vec<(Node<'a>, Node<'a>)>) -> Vec<(Node<'a>, Node<'a>)> {
    if !entries.iter().any(|(k, _)| k.as_str() == Some("<<")) {
        return entries;
    }
    let mut own = Vec::with_capacity(entries.len());
    let mut merged = Vec::new();
    for (k, v) in entries {
        if k.as_str() != Some("<<") {
            own.push((k, v));
            continue;
        }
        let sources = match v.value {
            Value::Seq(items) => items,
            _ => vec![v],
        };
        for src in sources {
            match src.value {
                Value::Map(m) => merged.extend(m),
                other => own.push((k.clone(), Node { span: src.span, value: other })),
            }
        }
    }
    for (k, v) in merged {
        let key = k.key_text();
        if !own.iter().any(|(o, _)| o.key_text() == key) {
            own.push((k, v));
        }
    }
    own
}

/// YAML 1.2 core schema resolution of a scalar (quoted scalars are strings).
fn scalar<'a>(text: Cow<'a, str>, style: ScalarStyle, tag: Option<&str>) -> Value<'a> {
    match tag {
        Some("str") => return Value::Str(text),
        Some("null") => return Value::Null,
        Some("bool") | Some("int") | Some("float") => {}
        _ if style != ScalarStyle::Plain => return Value::Str(text),
        _ => {}
    }
    match resolve(&text) {
        Some(v) => v,
        None => Value::Str(text),
    }
}

/// A plain scalar's core-schema value, or `None` for a string.
fn resolve(text: &str) -> Option<Value<'static>> {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Some(Value::Null),
        "true" | "True" | "TRUE" => return Some(Value::Bool(true)),
        "false" | "False" | "FALSE" => return Some(Value::Bool(false)),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => return Some(Value::Float(f64::INFINITY)),
        "-.inf" | "-.Inf" | "-.INF" => return Some(Value::Float(f64::NEG_INFINITY)),
        ".nan" | ".NaN" | ".NAN" => return Some(Value::Float(f64::NAN)),
        _ => {}
    }
    let first = *text.as_bytes().first()?;
    // Most scalars are words: only digits, signs and dots can start a number.
    if !(first.is_ascii_digit() || matches!(first, b'-' | b'+' | b'.')) {
        return None;
    }
    let digits = |s: &str, radix: u32| !s.is_empty() && s.chars().all(|c| c.is_digit(radix));
    if let Some(hex) = text.strip_prefix("0x").filter(|h| digits(h, 16)) {
        return u64::from_str_radix(hex, 16).ok().map(int);
    }
    if let Some(oct) = text.strip_prefix("0o").filter(|o| digits(o, 8)) {
        return u64::from_str_radix(oct, 8).ok().map(int);
    }
    let unsigned = text.strip_prefix(['-', '+']).unwrap_or(text);
    if digits(unsigned, 10) {
        if let Ok(i) = text.parse::<i64>() {
            return Some(Value::Int(i));
        }
        if let Ok(u) = text.trim_start_matches('+').parse::<u64>() {
            return Some(Value::UInt(u));
        }
        return text.parse().ok().map(Value::Float);
    }
    // Floats: [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?
    let looks_float = unsigned.bytes().any(|c| c.is_ascii_digit())
        && unsigned.bytes().all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'-' | b'+'))
        && unsigned.bytes().next().is_some_and(|c| c.is_ascii_digit() || c == b'.');
    if looks_float {
        return text.parse::<f64>().ok().map(Value::Float);
    }
    None
}

fn int(u: u64) -> Value<'static> {
    i64::try_from(u).map_or(Value::UInt(u), Value::Int)
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

    /// Records every streamed item with the names of the entries before it.
    struct Collect;

    impl<'a> CommandSink<'a> for Collect {
        type Part = Vec<String>;

        fn part(&self) -> Vec<String> {
            Vec::new()
        }

        fn item(&self, part: &mut Vec<String>, entries: &[(Node<'a>, Node<'a>)], item: Node<'a>) {
            let keys: Vec<_> = entries.iter().map(|(k, _)| k.key_text().into_owned()).collect();
            part.push(format!("{keys:?} {item:?}"));
        }
    }

    /// Parses `src` in `parts` parts; returns how many parts it was really
    /// parsed in and the result, which must equal the one-part parse.
    fn parted(src: &str, parts: usize) -> (usize, Result<(String, Vec<String>), String>) {
        let flat = |r: Result<(Node, Vec<Vec<String>>), SyntaxError>| {
            r.map(|(root, p)| (p.len(), (format!("{root:?}"), p.concat()))).map_err(|e| format!("{e:?}"))
        };
        let (_, one) = match flat(parse_in_parts(src, &Collect, 1)) {
            Ok((n, r)) => (n, Ok(r)),
            Err(e) => (1, Err(e)),
        };
        let (n, many) = match flat(parse_in_parts(src, &Collect, parts)) {
            Ok((n, r)) => (n, Ok(r)),
            Err(e) => (1, Err(e)),
        };
        assert_eq!(many, one, "{parts} parts differ from one");
        (n, many)
    }

    fn items(n: usize, indent: &str) -> String {
        (0..n)
            .map(|i| match i % 4 {
                0 => format!("{indent}- publish: {{channel: \"news-{i}\", data: {{n: {i}, t: Grüße}}}}\n"),
                1 => format!(
                    "{indent}- publish:\n{indent}    channel: c{i}\n{indent}    data: |\n{indent}      - not an item\n{indent}      text {i}\n# a comment at column 0\n"
                ),
                2 => format!(
                    "{indent}- broadcast:\n{indent}    channels:\n{indent}    - a{i}\n{indent}    - b{i}\n{indent}    data: &d{i} {{x: [1,\n{indent}      2]}}\n{indent}    tags: *d{i}\n\n"
                ),
                _ => format!("{indent}- history: {{channel: h{i}, limit: 1}}   # trailing\r\n"),
            })
            .collect()
    }

    #[test]
    fn a_manifest_cut_into_parts_parses_as_in_one_part() {
        for indent in ["", "  "] {
            let src = format!("version: 1\nvars: {{a: 1}}\ncommands:  # the list\n\n{}", items(2000, indent));
            for parts in [2, 3, 7] {
                let (n, result) = parted(&src, parts);
                assert_eq!(n, parts, "indent {indent:?}: the cut was refused");
                assert_eq!(result.unwrap().1.len(), 2000);
            }
        }
    }

    #[test]
    fn a_share_ending_inside_a_character_cuts_at_the_next_item() {
        // Two-byte characters everywhere: most share ends fall inside one.
        let item = |i: usize| format!("  - publish: {{channel: ß{i}, data: \"{}\"}}\n", "ß".repeat(40 + i % 7));
        let src = format!("commands:\n{}", (0..300).map(item).collect::<String>());
        for parts in 2..=9 {
            assert_eq!(parted(&src, parts).0, parts);
        }
    }

    #[test]
    fn doubtful_cuts_fall_back_to_one_part_with_the_same_result() {
        let many = items(400, "  ");
        let cases = [
            // An alias to an anchor before the cut.
            format!(
                "commands:\n  - publish: {{channel: a, data: &first 1}}\n{many}  - publish: {{channel: b, data: *first}}\n"
            ),
            // A key after the list.
            format!("commands:\n{many}vars: {{a: 1}}\n"),
            // A document marker inside the list.
            format!("commands:\n{many}...\n{many}"),
            // A syntax error near the end.
            format!("commands:\n{many}  - publish: {{channel: [x\n"),
            // A flow list spanning the whole command list.
            format!("commands: [\n{many}]\n"),
            // A directive.
            format!("%YAML 1.2\n---\ncommands:\n{many}"),
        ];
        for (i, src) in cases.iter().enumerate() {
            let (n, _) = parted(src, 2);
            assert_eq!(n, 1, "case {i} was cut");
        }
    }

    #[test]
    fn mutated_manifests_parse_in_parts_as_in_one_part() {
        // Lines dropped, doubled, re-indented or cut short, and bytes flipped,
        // in a manifest of every shape: whatever the cut sees, the result (or
        // the error) must be the sequential one.
        let base = format!("version: 1\nvars: {{a: &v 1}}\ncommands:\n{}", items(120, "  "));
        let lines: Vec<&str> = base.split_inclusive('\n').collect();
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = |n: usize| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % n as u64) as usize
        };
        let mut cut_runs = 0;
        for _ in 0..600 {
            let mut text: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
            for _ in 0..1 + next(3) {
                let i = next(text.len());
                match next(6) {
                    0 => drop(text.remove(i)),
                    1 => text.insert(i, text[i].clone()),
                    2 => text[i] = format!(" {}", text[i]),
                    3 => text[i] = text[i].trim_start().to_string(),
                    4 => {
                        let keep = next(text[i].len().max(1));
                        text[i] = text[i].get(..keep).unwrap_or("").to_string() + "\n";
                    }
                    _ => {
                        let j = next(text[i].len().max(1));
                        let c = ['-', ':', '[', '{', '&', '*', '#', '"', '|', '\t'][next(10)];
                        if text[i].is_char_boundary(j) {
                            text[i].insert(j, c);
                        }
                    }
                }
            }
            let (n, _) = parted(&text.concat(), 2 + next(3));
            cut_runs += usize::from(n > 1);
        }
        assert!(cut_runs > 120, "only {cut_runs} of 600 mutants were parsed in parts");
    }

    #[test]
    fn the_alias_budget_is_shared_by_the_parts() {
        // Each item replays 600,000 nodes: one item is fine, two are a bomb.
        let item = |i: usize| {
            let xs = vec!["x"; 1000].join(",");
            let refs = vec![format!("*a{i}"); 600].join(",");
            format!("  - publish: {{channel: c, data: {{a: &a{i} [{xs}], b: [{refs}]}}}}\n")
        };
        assert!(parted(&format!("commands:\n{}", item(0)), 2).1.is_ok());
        let (_, two) = parted(&format!("commands:\n{}{}", item(0), item(1)), 2);
        assert!(two.unwrap_err().contains("alias bomb"));
    }
}
