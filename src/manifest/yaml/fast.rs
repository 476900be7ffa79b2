//! A fast path for the list items most manifests are made of: a block
//! mapping whose entries sit one per line, each `key: value` with a value
//! on that line — a plain or quoted scalar, or a flow mapping or list —
//! or a flow mapping on one line:
//!
//! ```yaml
//!   - name: greet
//!     publish: {channel: news, data: {text: "hello", n: 1}}
//!   - {publish: {channel: news, data: [1, 2]}}
//! ```
//!
//! A [`Cursor`] reads such an item in order — scalars as nodes, mappings
//! and lists as their keys and items — and says `None` at the first thing
//! outside that shape: anchors, aliases, tags, escapes, block scalars,
//! multi-line values, colons or quotes in plain scalars, tabs, CRs, deep
//! nesting; the item then goes to the full parser. [`item`] builds from it
//! the same nodes (values, spans) the full parser builds, for a fraction of
//! the time; the manifest's plain commands are encoded from it without a
//! tree at all (`manifest::plain`). Proven equal to the full parser by the
//! differential tests here and in `parts` (the same tree and the same
//! problems, on generated manifests and on thousands of mutants).

use std::borrow::Cow;

use granit_parser::ScalarStyle;

use super::scalar::scalar;
use super::{ItemAt, MAX_SCALAR_BYTES, Node, Read, Span, Step, Value};

/// Deepest flow nesting taken (deeper items go to the full parser).
const DEPTH: usize = 16;

/// The list item at `source[start..end]` — from the start of its line:
/// `indent` spaces, `- `, a block mapping — or `None` when it is not of the
/// plain shape.
pub(super) fn item<'a>(source: &'a str, start: usize, end: usize, indent: usize) -> Option<Node<'a>> {
    let mut c = Cursor::new(source, ItemAt { start, end, indent, line: 0, clean: false })?;
    let mut node = tree(&mut c)?;
    c.finish()?;
    if let Some(span) = c.block_span() {
        node.span = span;
    }
    Some(node)
}

/// The tree of the value the cursor is at.
fn tree<'a>(c: &mut Cursor<'a>) -> Option<Node<'a>> {
    let (start, value) = match c.value()? {
        Step::Scalar => return Some(c.take()),
        Step::Map(start) => {
            let mut entries = Vec::new();
            while c.key()? {
                let key = c.take();
                entries.push((key, tree(c)?));
            }
            (start, Value::Map(entries))
        }
        Step::Seq(start) => {
            let mut items = Vec::new();
            while c.item()? {
                items.push(tree(c)?);
            }
            (start, Value::Seq(items))
        }
    };
    Some(Node { span: Span { offset: start, len: c.at - start }, value })
}

/// Whether `text` holds a control character (but line feeds), or what YAML
/// 1.1 parsers took for a line break or a byte-order mark: the full
/// parser's business. Bytes first (a lead byte of such a character is rare
/// in a manifest), characters only around one.
pub(super) fn has_odd(text: &str) -> bool {
    let suspect = |b: u8| (b < 0x20 && b != b'\n') | (b == 0x7f) | (b == 0xc2) | (b == 0xe2) | (b == 0xef);
    let odd = |c: char| (c.is_control() && c != '\n') || matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}');
    // A fold, not `any`: without an early exit the loop runs on vectors.
    text.bytes().fold(false, |found, b| found | suspect(b)) && text.contains(odd)
}

/// A collection the cursor is in: the byte that closes it (`\n` for the
/// item's block mapping, whose entries are lines) and whether an entry of
/// it was read.
#[derive(Clone, Copy)]
struct Open {
    close: u8,
    read: bool,
}

/// Reads a plain item in order (see the module's header).
pub(crate) struct Cursor<'a> {
    source: &'a str,
    at: usize,
    /// The end of the current line.
    end: usize,
    /// The end of the item.
    item_end: usize,
    /// The column of the block mapping's keys.
    col: usize,
    /// Where the block mapping starts and its first line ends (its span).
    block: Option<(usize, usize)>,
    open: [Open; DEPTH + 1],
    depth: usize,
    /// The next value is the item itself.
    fresh: bool,
    /// The scalar or key just read.
    last: Node<'a>,
    /// It has nothing to escape in JSON (plain and double-quoted scalars
    /// cannot hold a quote, a backslash or a control character here).
    verbatim: bool,
}

impl<'a> Cursor<'a> {
    /// A cursor at the item `source[start..end]` (see [`item`]); `None` when
    /// it cannot be of the plain shape.
    pub(crate) fn new(source: &'a str, at: ItemAt) -> Option<Self> {
        let ItemAt { start, end, indent, clean, .. } = at;
        let text = &source[start..end];
        if !text.get(indent..).is_some_and(|t| t.starts_with("- ")) || (!clean && has_odd(text)) {
            return None;
        }
        let col = indent + 2;
        let at = start + col;
        let end_of_line = memchr::memchr(b'\n', &source.as_bytes()[start..end]).map_or(end, |i| start + i);
        let mut c = Cursor {
            source,
            at,
            end: end_of_line,
            item_end: end,
            col,
            block: None,
            open: [Open { close: 0, read: false }; DEPTH + 1],
            depth: 0,
            fresh: true,
            last: Node { span: Span::default(), value: Value::Null },
            verbatim: true,
        };
        if source.as_bytes().get(at) != Some(&b'{') {
            c.block = Some((at, end_of_line.max(at + 1)));
        } else if !Self::bare_lines(source.get(end_of_line + 1..end).unwrap_or("")) {
            // A flow mapping on its line: only blank and comment lines may follow.
            return None;
        }
        Some(c)
    }

    fn bare_lines(text: &str) -> bool {
        text.lines().all(|l| matches!(l.trim_start_matches(' ').as_bytes().first(), None | Some(b'#')))
    }

    /// The span of the item's block mapping (`None` for a flow mapping).
    pub(crate) fn block_span(&self) -> Option<Span> {
        self.block.map(|(start, line_end)| Span { offset: start, len: line_end - start })
    }

    /// After the item's value was read: nothing but spaces and a comment
    /// may follow it.
    pub(crate) fn finish(&mut self) -> Option<()> {
        if self.block.is_some() { Some(()) } else { self.rest() }
    }

    fn peek(&self) -> Option<u8> {
        (self.at < self.end).then(|| self.source.as_bytes()[self.at])
    }

    /// Moves past `: ` (a key's colon and the space after it).
    fn colon(&mut self) -> bool {
        let ok = self.at + 1 < self.end && self.source.as_bytes()[self.at..self.at + 2] == *b": ";
        if ok {
            self.at += 2;
        }
        ok
    }

    fn spaces(&mut self) {
        while self.peek() == Some(b' ') {
            self.at += 1;
        }
    }

    /// Only spaces and a comment may follow a value on its line.
    fn rest(&mut self) -> Option<()> {
        let before = self.at;
        self.spaces();
        match self.peek() {
            None => Some(()),
            Some(b'#') if self.at > before => Some(()),
            _ => None,
        }
    }

    /// The scalar just read (from `start` to the cursor) is `value`: kept
    /// in place, not returned (moving nodes through return values cost more
    /// than reading them).
    fn read(&mut self, start: usize, value: Value<'a>) -> Option<()> {
        self.last.span = Span { offset: start, len: self.at - start };
        self.last.value = value;
        self.verbatim = true;
        Some(())
    }

    /// The scalar or key just read, moved out.
    fn take(&mut self) -> Node<'a> {
        std::mem::replace(&mut self.last, Node { span: Span::default(), value: Value::Null })
    }

    fn top(&mut self) -> &mut Open {
        &mut self.open[self.depth - 1]
    }

    /// Enters the collection whose opening bracket is at the cursor.
    fn enter(&mut self, close: u8) -> Option<usize> {
        // Flow collections deep (the block mapping does not count).
        if self.depth - usize::from(self.block.is_some()) >= DEPTH {
            return None;
        }
        let start = self.at;
        self.open[self.depth] = Open { close, read: false };
        self.depth += 1;
        self.at += 1;
        self.spaces();
        Some(start)
    }

    /// In a flow collection: after an entry, a comma or its end; at its
    /// end, leaves it (`true`).
    fn step(&mut self) -> Option<bool> {
        let Open { close, read } = *self.top();
        if read {
            self.spaces();
            match self.peek()? {
                b',' => {
                    self.at += 1;
                    self.spaces();
                }
                b if b == close => {}
                _ => return None,
            }
        }
        if self.peek()? == close {
            self.at += 1;
            self.depth -= 1;
            return Some(true);
        }
        self.top().read = true;
        Some(false)
    }

    /// A mapping key that is a word.
    fn word(&mut self) -> Option<()> {
        let start = self.at;
        let word = self.source.as_bytes()[start..self.end]
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'))
            .count();
        if word == 0 || !self.source.as_bytes()[start].is_ascii_alphabetic() && self.source.as_bytes()[start] != b'_' {
            return None;
        }
        self.at += word;
        let text = &self.source[start..self.at];
        self.read(start, scalar(Cow::Borrowed(text), ScalarStyle::Plain, None))
    }

    /// The block mapping's next line with an entry, its key read; `None`
    /// inside when the mapping has no more.
    fn next_line(&mut self) -> Option<bool> {
        if self.top().read {
            self.rest()?;
            loop {
                let line = self.end + 1;
                if line >= self.item_end {
                    self.depth -= 1;
                    return Some(false);
                }
                self.end = memchr::memchr(b'\n', &self.source.as_bytes()[line..self.item_end])
                    .map_or(self.item_end, |i| line + i);
                let content = self.source[line..self.end].trim_start_matches(' ');
                if content.is_empty() || content.starts_with('#') {
                    continue;
                }
                if self.end - line - content.len() != self.col {
                    return None;
                }
                self.at = line + self.col;
                break;
            }
        }
        self.top().read = true;
        self.word()?;
        if !self.colon() {
            return None;
        }
        self.spaces();
        Some(true)
    }

    /// `"text"` without escapes.
    fn double_quoted(&mut self) -> Option<()> {
        let start = self.at;
        let len = memchr::memchr2(b'"', b'\\', &self.source.as_bytes()[start + 1..self.end])?;
        if self.source.as_bytes()[start + 1 + len] != b'"' || len > MAX_SCALAR_BYTES {
            return None;
        }
        self.at = start + len + 2;
        let text = Cow::Borrowed(&self.source[start + 1..start + 1 + len]);
        self.read(start, scalar(text, ScalarStyle::DoubleQuoted, None))
    }

    /// `'text'`, `''` standing for a quote.
    fn single_quoted(&mut self) -> Option<()> {
        let start = self.at;
        let mut i = start + 1;
        let bytes = self.source.as_bytes();
        let mut doubled = false;
        loop {
            i += self.source[i..self.end].find('\'')?;
            if bytes.get(i + 1) == Some(&b'\'') && i + 1 < self.end {
                doubled = true;
                i += 2;
                continue;
            }
            break;
        }
        let raw = &self.source[start + 1..i];
        if raw.len() > MAX_SCALAR_BYTES {
            return None;
        }
        self.at = i + 1;
        let text = if doubled { Cow::Owned(raw.replace("''", "'")) } else { Cow::Borrowed(raw) };
        self.read(start, scalar(text, ScalarStyle::SingleQuoted, None))?;
        self.verbatim = memchr::memchr2(b'"', b'\\', raw.as_bytes()).is_none();
        Some(())
    }

    /// A plain scalar of words, numbers and simple punctuation; it ends
    /// before a `,`, `]` or `}` in a flow collection, before a comment, or
    /// at the end of the line (trailing spaces are not part of it).
    fn plain(&mut self, flow: bool) -> Option<()> {
        let start = self.at;
        let bytes = self.source.as_bytes();
        let first = bytes[start];
        let starts_word = first.is_ascii_alphanumeric()
            || first == b'_'
            || (matches!(first, b'-' | b'+' | b'.' | b'/')
                && bytes.get(start + 1).is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'.'))
            || first >= 0x80;
        if !starts_word {
            return None;
        }
        let mut i = start;
        let mut last = start;
        while i < self.end {
            match bytes[i] {
                b',' | b']' | b'}' if flow => break,
                b' ' => {
                    if bytes.get(i + 1) == Some(&b'#') {
                        break;
                    }
                }
                b if b.is_ascii_alphanumeric() || b >= 0x80 => last = i + 1,
                b'_' | b'-' | b'+' | b'.' | b'/' | b'(' | b')' | b'=' | b'~' | b'^' | b'$' | b'%' | b'@' => {
                    last = i + 1
                }
                _ => return None,
            }
            i += 1;
        }
        if last - start > MAX_SCALAR_BYTES {
            return None;
        }
        self.at = last;
        let text = Cow::Borrowed(&self.source[start..last]);
        self.read(start, scalar(text, ScalarStyle::Plain, None))
    }
}

impl<'a> Read<'a> for Cursor<'a> {
    fn value(&mut self) -> Option<Step> {
        if std::mem::take(&mut self.fresh) && self.block.is_some() {
            // The item's block mapping: its entries are lines.
            self.open[0] = Open { close: b'\n', read: false };
            self.depth = 1;
            return Some(Step::Map(self.at));
        }
        match self.peek()? {
            b'{' => return Some(Step::Map(self.enter(b'}')?)),
            b'[' => return Some(Step::Seq(self.enter(b']')?)),
            b'"' => self.double_quoted()?,
            b'\'' => self.single_quoted()?,
            // In a flow collection a plain scalar ends at `,`, `]` or `}`.
            _ => self.plain(self.depth > 0 && self.open[self.depth - 1].close != b'\n')?,
        }
        Some(Step::Scalar)
    }

    fn key(&mut self) -> Option<bool> {
        if self.depth == 0 || self.top().close == b']' {
            return None;
        }
        if self.top().close == b'\n' {
            return self.next_line();
        }
        if self.step()? {
            return Some(false);
        }
        match self.peek()? {
            b'"' => self.double_quoted()?,
            b'\'' => self.single_quoted()?,
            _ => self.word()?,
        }
        if !self.colon() {
            return None;
        }
        self.spaces();
        Some(true)
    }

    fn item(&mut self) -> Option<bool> {
        if self.depth == 0 || self.top().close != b']' {
            return None;
        }
        Some(!self.step()?)
    }

    fn scalar(&self) -> &Node<'a> {
        &self.last
    }

    fn verbatim(&self) -> bool {
        self.verbatim
    }
}

#[cfg(test)]
mod tests {
    use super::super::parts::sequential;
    use super::super::{ItemSink, Node};

    /// Keeps the streamed items' trees.
    struct Keep;

    impl<'a> ItemSink<'a> for Keep {
        type Part = Vec<String>;

        fn part(&self, _: std::ops::Range<usize>) -> Vec<String> {
            Vec::new()
        }

        fn item(&self, part: &mut Vec<String>, _: &[(Node<'a>, Node<'a>)], item: Node<'a>) {
            part.push(format!("{item:?}"));
        }
    }

    /// The fast path's tree of the one item of `commands:` (indented
    /// `indent`), and the full parser's: the fast one must be `None` or equal.
    fn both(item: &str, indent: usize) -> (Option<String>, Result<Vec<String>, String>) {
        let src = format!("commands:\n{item}");
        let fast = super::item(&src, 10, src.len(), indent).map(|n| format!("{n:?}"));
        let full = sequential(&src, "commands", &Keep).map(|(_, p)| p.concat()).map_err(|e| e.message);
        (fast, full)
    }

    fn check(item: &str, indent: usize) -> bool {
        let (fast, full) = both(item, indent);
        match (fast, full) {
            (None, _) => false,
            (Some(f), Ok(items)) if items.len() == 1 => {
                assert_eq!(f, items[0], "the fast path differs on {item:?}");
                true
            }
            (Some(f), other) => panic!("the fast path took {item:?} as {f}, the full parser: {other:?}"),
        }
    }

    #[test]
    fn plain_items_take_the_fast_path_with_the_full_parsers_tree() {
        let taken = [
            "  - publish: {channel: news, data: {n: 1, text: \"payload 1\"}}\n",
            "- publish: {channel: news, data: {n: 1}}\n",
            "  - name: greet Grüße 世界\n    publish: {channel: 'it''s', data: [1, -2.5, +3, 0x1F, .5, 1e5, true, null, x~, yes]}\n",
            "  - disconnect: {user: \"${item}\", disconnect: {code: 4000, reason: maintenance}}\n    for_each: {file: users.txt}   # trailing\n",
            "  - broadcast: {channels: [a, \"b c\", 'd'], data: {}}\n\n  # a comment\n",
            "  - history: { channel: x , limit:  1 }\n",
            "  - history: {channel: x, limit: 1,}\n",
            "  - presence_stats: {channel: chat}\n    expect: {num_clients: 0}\n    until: {every: 1s, timeout: 30s}\n",
            "  - publish: {channel: a/b.c_d-e, data: {path: /x/y, sum: a+b=c, v: 1.2.3, m: x(y) ~y ^z %w @v $u}}",
            "  - publish: {\"channel\": \"x\", 'data': {\"a\": \"\", b: ''}}\n",
            "  - rpc: {method: m, data: [[], [[1]], {a: [{b: 2}]}]}\n",
            "  - publish: {channel: x, data: 12345678901234567890}\n",
            "  - publish: {channel: x, data: -0}\n    name: two  words   here\n",
            // The shape of issue 25's profile: a nested flow mapping.
            "- publish: {channel: x, data: {seq: 1, text: abc}}\n",
            // Flow mappings as items.
            "  - {publish: {channel: news, data: {n: 1, text: \"payload 1\"}}}\n",
            "- {name: a, publish: {channel: x, data: [1, {b: 'c'}]}}   # trailing\n\n  # a comment\n",
            "  - { history: {channel: x, limit: 1} , }\n",
            "  - {}\n",
        ];
        for item in taken {
            let indent = item.len() - item.trim_start_matches(' ').len();
            assert!(check(item, indent), "not taken by the fast path: {item:?}");
        }
    }

    #[test]
    fn other_shapes_are_left_to_the_full_parser() {
        let left = [
            "  - publish: {channel: x, data: &a 1}\n",
            "  - publish: {channel: x, data: *a}\n",
            "  - publish: {channel: x, data: !!str 1}\n",
            "  - publish: {channel: x, data: \"a\\nb\"}\n",
            "  - publish:\n      channel: x\n",
            "  - publish: {channel: x,\n      data: 1}\n",
            "  - publish: {channel: x, data: |\n      text}\n",
            "  - publish: {channel: http://x, data: 1}\n",
            "  - publish: {channel: x, data: it's}\n",
            "  - publish: {channel: x,\tdata: 1}\n",
            "  - publish: {channel: x, data: 1}\r\n",
            "  - <<: {channel: x}\n",
            "  - publish: {channel: x, data: a #b}\n",
            "  - publish: {channel: x, data: [a: 1]}\n",
            "  - publish: {channel: x, data: {a}}\n",
            "  - publish: {channel: x, data: \u{feff}x}\n",
            "  - publish: {channel: x}\n   data: 1\n",
            "  - publish: {channel: x} extra\n",
            "  - publish: {channel: x}\n    data: 1\n      more\n",
            "  - ? publish\n    : {channel: x}\n",
            "  - history: {channel : x}\n",
            "  - {publish: {channel: x,\n      data: 1}}\n",
            "  - {publish: {channel: x}} extra\n",
            "  - {publish: {channel: x}}\n    data: 1\n",
            "  - {publish: {channel: x}\n",
        ];
        for item in left {
            let indent = item.len() - item.trim_start_matches(' ').len();
            assert!(!check(item, indent), "taken by the fast path: {item:?}");
        }
    }

    #[test]
    fn mutated_items_are_left_alone_or_parsed_as_the_full_parser_does() {
        // Every byte a manifest line may hold, inserted, deleted or doubled
        // anywhere in items of every plain shape: whatever the fast path
        // takes, the full parser must take the same way.
        let seeds = [
            "  - publish: {channel: news, data: {n: 1, text: \"payload 1\"}}\n",
            "  - name: a b\n    broadcast: {channels: [x, 'y', \"z\"], data: [1, 2.5, true]}\n    for_each: [1, 2]\n",
            "- history: {channel: 'it''s', limit: 10}  # c\n",
            "  - {publish: {channel: news, data: {n: 1, list: [a, \"b\", 'c']}}, name: x}\n",
        ];
        let alphabet: Vec<char> = " -:,[]{}#&*!|>'\"%@`?~.+/\\\n\t\r0aZ_ßü世\u{85}\u{2028}".chars().collect();
        let mut rng = crate::testutil::Rng(0x9e37_79b9_7f4a_7c15);
        let mut next = |n: usize| rng.below(n);
        let (mut taken, mut total) = (0, 0);
        for seed in seeds {
            for _ in 0..4000 {
                let mut s: Vec<char> = seed.chars().collect();
                for _ in 0..1 + next(3) {
                    let i = next(s.len());
                    match next(3) {
                        0 => s.insert(i, alphabet[next(alphabet.len())]),
                        1 => drop(s.remove(i)),
                        _ => s.insert(i, s[i]),
                    }
                }
                let item: String = s.into_iter().collect();
                let indent = item.len() - item.trim_start_matches(' ').len();
                if !super::super::parts::tests::is_item_line(&item, indent) {
                    continue;
                }
                total += 1;
                taken += usize::from(check(&item, indent));
            }
        }
        // The mutants the fast path takes are compared; enough must be taken
        // for the comparison to mean something.
        assert!(taken > total / 5, "only {taken} of {total} mutants took the fast path");
    }
}
