//! Cutting a long block list at its items and parsing the parts on their
//! own threads, each item through the fast path where it has the plain
//! shape and through the full parser where it does not. The result is
//! always that of one sequential parse: any doubt about a cut sends the
//! whole text back to one sequential parse.

use std::sync::atomic::AtomicUsize;

use granit_parser::Parser;

use super::build::{Sink, build, pipeline};
use super::{ItemAt, ItemSink, Node, Stream, SyntaxError, Value, fast, parse};

pub(super) fn parse_in_parts<'a, S: ItemSink<'a>>(
    source: &'a str,
    stream: Stream<'_>,
    sink: &S,
) -> Result<(Node<'a>, Vec<S::Part>), SyntaxError> {
    if let Some(cuts) = cut(source, stream)
        && let Some(done) = parse_parts(source, stream.key, &cuts, sink)
    {
        return Ok(done);
    }
    sequential(source, stream.key, sink)
}

/// One parse by the full parser, start to end.
pub(super) fn sequential<'a, S: ItemSink<'a>>(
    source: &'a str,
    key: &str,
    sink: &S,
) -> Result<(Node<'a>, Vec<S::Part>), SyntaxError> {
    let mut part = sink.part(0..source.len());
    let mut on_item = |entries: &[(Node<'a>, Node<'a>)], item| sink.item(&mut part, entries, item);
    let root = pipeline(source, Some(Sink::List(key, &mut on_item)))?;
    Ok((root, vec![part]))
}

/// Whether `line` is an item of the list indented `indent` spaces: that
/// indentation, then `-` and a space or the end of the line.
fn is_item(line: &str, indent: usize) -> bool {
    line.len() > indent
        && line.as_bytes()[..indent].iter().all(|&b| b == b' ')
        && matches!(line.as_bytes()[indent..], [b'-', b' ' | b'\n' | b'\r', ..] | [b'-'])
}

/// The start of the first item line after the line at `at`, or `end`.
fn next_item(source: &str, at: usize, end: usize, indent: usize) -> usize {
    next_item_lines(source, at, end, indent).0
}

/// [`next_item`], and how many line feeds it passed.
fn next_item_lines(source: &str, mut at: usize, end: usize, indent: usize) -> (usize, usize) {
    let mut feeds = 0;
    loop {
        match memchr::memchr(b'\n', &source.as_bytes()[at..end]) {
            Some(i) => {
                at += i + 1;
                feeds += 1;
            }
            None => return (end, feeds),
        }
        if at >= end || is_item(&source[at..end], indent) {
            return (at.min(end), feeds);
        }
    }
}

/// Where a text can be cut into `stream.parts` parts: the start of the list
/// under `stream.key` (the end of the head), then the starts of list items
/// near equal shares of the rest. `None` unless the key is a top-level key
/// at the start of a line followed by a block list, and the head has no
/// directive.
///
/// A line holding only the list's indentation and `- ` can only be the next
/// item of that list: a block scalar ends at a line indented that little, and
/// inside a multi-line flow collection or quoted scalar the part before the
/// cut fails to parse, which sends the whole text to the sequential path.
fn cut(source: &str, stream: Stream<'_>) -> Option<(Vec<usize>, usize)> {
    let parts = stream.parts;
    let lines = || {
        source.split_inclusive('\n').scan(0, |at, line| {
            let start = *at;
            *at += line.len();
            Some((start, line))
        })
    };
    let bare = |s: &str| s.trim_start().is_empty() || s.trim_start().starts_with('#');
    let (after, _) =
        lines().find(|(_, l)| l.strip_prefix(stream.key).and_then(|r| r.strip_prefix(':')).is_some_and(bare))?;
    if source.starts_with('%') || source[..after].contains("\n%") {
        return None;
    }
    let (list, first) = lines().skip_while(|(at, _)| *at <= after).find(|(_, l)| !bare(l))?;
    // Only list items, comments and indented lines may follow: a top-level
    // key after the list, or a document marker, would end it in one part and
    // go unnoticed in the next.
    // One pass over the lines' first bytes (`...` starts with a byte no
    // item line starts with; `---` is told from `- ` by the bytes after it).
    let body = &source.as_bytes()[list..];
    let mut starts = memchr::memchr_iter(b'\n', body).map(|i| &body[i + 1..]);
    if starts.any(|l| match l.first() {
        Some(b' ' | b'#' | b'\n' | b'\r') | None => false,
        Some(b'-') => l.starts_with(b"---"),
        Some(_) => true,
    }) {
        return None;
    }
    let indent = first.len() - first.trim_start_matches(' ').len();
    if !is_item(first, indent) {
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
            if is_item(&source[at..], indent) {
                break;
            }
        }
        cuts.push(at);
    }
    Some((cuts, indent))
}

/// Parses the parts on their own threads (the first on this one); `None`
/// when a cut proved unsafe. The first part is the head and the first item,
/// by the full parser (it makes the root), then items; every other part is
/// items only.
fn parse_parts<'a, S: ItemSink<'a>>(
    source: &'a str,
    key: &str,
    (cuts, indent): &(Vec<usize>, usize),
    sink: &S,
) -> Option<(Node<'a>, Vec<S::Part>)> {
    let indent = *indent;
    // The entries before the list, as the sink sees them in one part.
    let Ok(Node { value: Value::Map(mut head), .. }) = parse(&source[..cuts[0]]) else {
        return None;
    };
    if head.pop()?.0.as_str() != Some(key) {
        return None;
    }
    let ends: Vec<usize> = cuts[1..].iter().copied().chain([source.len()]).collect();
    let replayed = &AtomicUsize::new(0);
    let head = &head;
    std::thread::scope(|threads| {
        let rest: Vec<_> = cuts[1..]
            .iter()
            .zip(&ends[1..])
            .map(|(&from, &to)| {
                threads.spawn(move || {
                    let mut part = sink.part(from..to);
                    items(source, from, to, indent, head, sink, &mut part, replayed).then_some(part)
                })
            })
            .collect();
        let mut part = sink.part(0..ends[0]);
        let second = next_item(source, cuts[0], ends[0], indent);
        let first = build(
            source,
            0,
            Parser::new_from_str(&source[..second]),
            Some(Sink::List(key, &mut |entries: &[(Node<'a>, Node<'a>)], item| sink.item(&mut part, entries, item))),
            replayed,
        );
        let first_done = items(source, second, ends[0], indent, head, sink, &mut part, replayed);
        let mut done = vec![part];
        for handle in rest {
            done.push(handle.join().ok()??);
        }
        // The list must be the document's last entry, running to the cut.
        let root = first.ok()?;
        let last = root.as_map()?.last()?;
        (first_done && last.0.as_str() == Some(key) && matches!(&last.1.value, Value::Seq(items) if items.is_empty()))
            .then_some((root, done))
    })
}

/// Hands the items of `source[from..to]` to `sink`: each as its text if the
/// sink takes it so, else through the fast path if it has the plain shape,
/// runs of the others through the full parser. `false` when the full parser found the run not to be list items
/// on its own (an alias to another part, a syntax error).
#[allow(clippy::too_many_arguments)]
fn items<'a, S: ItemSink<'a>>(
    source: &'a str,
    from: usize,
    to: usize,
    indent: usize,
    head: &[(Node<'a>, Node<'a>)],
    sink: &S,
    part: &mut S::Part,
    replayed: &AtomicUsize,
) -> bool {
    let full = |from: usize, to: usize, part: &mut S::Part| {
        let mut item = |entries: &[(Node<'a>, Node<'a>)], item| sink.item(part, entries, item);
        let events = Parser::new_from_str(&source[from..to]);
        let run = build(source, from, events, Some(Sink::Tail(head, &mut item)), replayed);
        matches!(run, Ok(Node { value: Value::Seq(_), .. }))
    };
    let mut slow: Option<usize> = None;
    let mut at = from;
    // Checked once for the part (most parts hold no such character).
    let clean = !fast::has_odd(&source[from..to]);
    let mut line = 1 + memchr::memchr_iter(b'\n', &source.as_bytes()[..from]).count();
    while at < to {
        let (next, feeds) = next_item_lines(source, at, to, indent);
        let item = ItemAt { start: at, end: next, indent, line, clean };
        line += feeds;
        // Items wait in a run for the full parser: none is taken before them.
        if slow.is_none() && sink.text(part, head, item) {
            at = next;
            continue;
        }
        match fast::item(source, at, next, indent) {
            Some(node) => {
                if let Some(s) = slow.take()
                    && !full(s, at, part)
                {
                    return false;
                }
                sink.item(part, head, node);
            }
            None => {
                slow.get_or_insert(at);
            }
        }
        at = next;
    }
    slow.is_none_or(|s| full(s, to, part))
}

#[cfg(test)]
pub(super) mod tests {
    use super::super::*;
    use super::*;

    /// Whether an item's first line is a list item line (what a cut sees).
    pub(in super::super) fn is_item_line(item: &str, indent: usize) -> bool {
        is_item(item, indent)
    }

    /// Records every streamed item with the names of the entries before it.
    struct Collect;

    impl<'a> ItemSink<'a> for Collect {
        type Part = Vec<String>;

        fn part(&self, _: std::ops::Range<usize>) -> Vec<String> {
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
        let (_, one) = match flat(sequential(src, "commands", &Collect)) {
            Ok((n, r)) => (n, Ok(r)),
            Err(e) => (1, Err(e)),
        };
        let (n, many) = match flat(parse_in_parts(src, Stream { key: "commands", parts }, &Collect)) {
            Ok((n, r)) => (n, Ok(r)),
            Err(e) => (1, Err(e)),
        };
        assert_eq!(many, one, "{parts} parts differ from one");
        (n, many)
    }

    fn items(n: usize, indent: &str) -> String {
        (0..n)
            .map(|i| match i % 5 {
                0 => format!("{indent}- publish: {{channel: \"news-{i}\", data: {{n: {i}, t: Grüße}}}}\n"),
                1 => format!(
                    "{indent}- publish:\n{indent}    channel: c{i}\n{indent}    data: |\n{indent}      - not an item\n{indent}      text {i}\n# a comment at column 0\n"
                ),
                2 => format!(
                    "{indent}- broadcast:\n{indent}    channels:\n{indent}    - a{i}\n{indent}    - b{i}\n{indent}    data: &d{i} {{x: [1,\n{indent}      2]}}\n{indent}    tags: *d{i}\n\n"
                ),
                3 => format!("{indent}- history: {{channel: h{i}, limit: 1}}   # trailing\r\n"),
                _ => format!("{indent}- {{publish: {{channel: f{i}, data: [1, {{k: 'v'}}]}}, name: \"n {i}\"}}\n"),
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
        let mut rng = crate::testutil::Rng(0x2545_f491_4f6c_dd1d);
        let mut next = |n: usize| rng.below(n);
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
