//! A fast path for the list items most manifests are made of: a block
//! mapping whose entries sit one per line, each `key: value` with a value
//! on that line — a plain or quoted scalar, or a flow mapping or list:
//!
//! ```yaml
//!   - name: greet
//!     publish: {channel: news, data: {text: "hello", n: 1}}
//! ```
//!
//! It builds the same nodes (values, spans) the full parser builds, for a
//! fraction of the time, and says `None` at the first thing outside that
//! shape — anchors, aliases, tags, escapes, block scalars, multi-line
//! values, colons or quotes in plain scalars, tabs, CRs, deep nesting —
//! and the item goes to the full parser. Proven equal to it by the
//! differential tests in `parts` (the same tree and the same problems, on
//! generated manifests and on thousands of mutants).

use std::borrow::Cow;

use granit_parser::ScalarStyle;

use super::scalar::scalar;
use super::{MAX_SCALAR_BYTES, Node, Span, Value};

/// Deepest flow nesting taken (deeper items go to the full parser).
const DEPTH: usize = 16;

/// The list item at `source[start..end]` — from the start of its line:
/// `indent` spaces, `- `, a block mapping — or `None` when it is not of the
/// plain shape.
pub(super) fn item<'a>(source: &'a str, start: usize, end: usize, indent: usize) -> Option<Node<'a>> {
    let text = &source[start..end];
    if !text.get(indent..).is_some_and(|t| t.starts_with("- ")) || has_odd(text) {
        return None;
    }
    let col = indent + 2;
    let mut entries = Vec::new();
    let mut first_line_end = None;
    let mut at = start;
    while at < end {
        let line_end = source[at..end].find('\n').map_or(end, |i| at + i);
        let line = &source[at..line_end];
        let content = line.trim_start_matches(' ');
        let pad = line.len() - content.len();
        if first_line_end.is_none() {
            first_line_end = Some(line_end);
        } else if content.is_empty() || content.starts_with('#') {
            at = line_end + 1;
            continue;
        } else if pad != col {
            return None;
        }
        let mut p = Parser { source, at: at + col, end: line_end };
        let key = p.key()?;
        if !p.eat(": ") {
            return None;
        }
        p.spaces();
        let value = p.value(0, false)?;
        p.rest()?;
        entries.push((key, value));
        at = line_end + 1;
    }
    let map_start = start + col;
    let line_end = first_line_end?;
    Some(Node {
        span: Span { offset: map_start, len: line_end.max(map_start + 1) - map_start },
        value: Value::Map(entries),
    })
}

/// Whether `text` holds a control character (but line feeds), or what YAML
/// 1.1 parsers took for a line break or a byte-order mark: the full
/// parser's business. Bytes first (a lead byte of such a character is rare
/// in a manifest), characters only around one.
fn has_odd(text: &str) -> bool {
    let suspect = |b: u8| (b < 0x20 && b != b'\n') | (b == 0x7f) | (b == 0xc2) | (b == 0xe2) | (b == 0xef);
    let odd = |c: char| (c.is_control() && c != '\n') || matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}');
    // A fold, not `any`: without an early exit the loop runs on vectors.
    text.bytes().fold(false, |found, b| found | suspect(b)) && text.contains(odd)
}

/// A cursor over one line.
struct Parser<'a> {
    source: &'a str,
    at: usize,
    /// The end of the line.
    end: usize,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<u8> {
        (self.at < self.end).then(|| self.source.as_bytes()[self.at])
    }

    fn eat(&mut self, s: &str) -> bool {
        let ok = self.source[self.at..self.end].starts_with(s);
        if ok {
            self.at += s.len();
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

    fn node(&self, start: usize, value: Value<'a>) -> Node<'a> {
        Node { span: Span { offset: start, len: self.at - start }, value }
    }

    /// A block mapping key: a word.
    fn key(&mut self) -> Option<Node<'a>> {
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
        Some(self.node(start, scalar(Cow::Borrowed(text), ScalarStyle::Plain, None)))
    }

    /// A value; `flow`: inside a flow collection.
    fn value(&mut self, depth: usize, flow: bool) -> Option<Node<'a>> {
        match self.peek()? {
            b'{' => self.mapping(depth + 1),
            b'[' => self.sequence(depth + 1),
            b'"' => self.double_quoted(),
            b'\'' => self.single_quoted(),
            _ => self.plain(flow),
        }
    }

    /// A flow collection on this line: its opening bracket, entries
    /// separated by commas (a trailing one allowed), `close`. Returns where
    /// it starts.
    fn collection(&mut self, depth: usize, close: u8, mut entry: impl FnMut(&mut Self) -> Option<()>) -> Option<usize> {
        if depth > DEPTH {
            return None;
        }
        let start = self.at;
        self.at += 1;
        self.spaces();
        while self.peek()? != close {
            entry(self)?;
            self.spaces();
            if self.peek()? == b',' {
                self.at += 1;
                self.spaces();
            } else if self.peek()? != close {
                return None;
            }
        }
        self.at += 1;
        Some(start)
    }

    fn mapping(&mut self, depth: usize) -> Option<Node<'a>> {
        let mut entries = Vec::new();
        let start = self.collection(depth, b'}', |p| {
            let key = match p.peek()? {
                b'"' => p.double_quoted()?,
                b'\'' => p.single_quoted()?,
                _ => p.key()?,
            };
            if !p.eat(": ") {
                return None;
            }
            p.spaces();
            entries.push((key, p.value(depth, true)?));
            Some(())
        })?;
        Some(self.node(start, Value::Map(entries)))
    }

    fn sequence(&mut self, depth: usize) -> Option<Node<'a>> {
        let mut items = Vec::new();
        let start = self.collection(depth, b']', |p| {
            items.push(p.value(depth, true)?);
            Some(())
        })?;
        Some(self.node(start, Value::Seq(items)))
    }

    /// `"text"` without escapes.
    fn double_quoted(&mut self) -> Option<Node<'a>> {
        let start = self.at;
        let len = self.source[start + 1..self.end].find(['"', '\\'])?;
        if self.source.as_bytes()[start + 1 + len] != b'"' || len > MAX_SCALAR_BYTES {
            return None;
        }
        self.at = start + len + 2;
        let text = Cow::Borrowed(&self.source[start + 1..start + 1 + len]);
        Some(self.node(start, scalar(text, ScalarStyle::DoubleQuoted, None)))
    }

    /// `'text'`, `''` standing for a quote.
    fn single_quoted(&mut self) -> Option<Node<'a>> {
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
        Some(self.node(start, scalar(text, ScalarStyle::SingleQuoted, None)))
    }

    /// A plain scalar of words, numbers and simple punctuation; it ends
    /// before a `,`, `]` or `}` in a flow collection, before a comment, or
    /// at the end of the line (trailing spaces are not part of it).
    fn plain(&mut self, flow: bool) -> Option<Node<'a>> {
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
        Some(self.node(start, scalar(text, ScalarStyle::Plain, None)))
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
