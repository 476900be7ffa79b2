//! The tree builder: granit-parser events in, [`Node`]s with byte spans out.
//! Anchors are kept, aliases replayed within a budget shared by all parts of
//! one text, `<<` merge keys expanded, nesting and scalar size limited.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use granit_parser::{Event, Marker, ParseResult, Parser};

use super::scalar::scalar;
use super::{
    MAX_ALIAS_NODES, MAX_DEPTH, MAX_SCALAR_BYTES, Node, Span, SyntaxError, Value, error_at, offset, scan_error,
};

enum Frame<'a> {
    Seq { start: usize, line_end: usize, anchor: usize, items: Vec<Node<'a>> },
    Map { start: usize, line_end: usize, anchor: usize, entries: Vec<(Node<'a>, Node<'a>)>, key: Option<Node<'a>> },
}

/// Runs the scanner on a second thread, handing events over in chunks, so
/// scanning and tree building (and the sink's work) use two cores.
pub(super) fn pipeline<'a>(source: &'a str, sink: Option<Sink<'_, 'a>>) -> Result<Node<'a>, SyntaxError> {
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
        build(source, 0, rx.into_iter().flatten(), sink, &AtomicUsize::new(0))
    })
}

/// Takes one item of the streamed list and the top-level entries before it.
pub(super) type OnItem<'s, 'a> = &'s mut dyn FnMut(&[(Node<'a>, Node<'a>)], Node<'a>);

/// Where [`build`] sends list items instead of keeping them.
pub(super) enum Sink<'s, 'a> {
    /// Items of the list under this top-level key of a whole document.
    List(&'s str, OnItem<'s, 'a>),
    /// Items of a part after a cut, whose root list continues the streamed
    /// list after the given entries.
    Tail(&'s [(Node<'a>, Node<'a>)], OnItem<'s, 'a>),
}

/// Builds the tree from the events of `source[base..]` (offsets are those
/// of `source`).
pub(super) fn build<'a>(
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
            (Some(Sink::List(list, sink)), [Frame::Map { entries, key: Some(k), .. }, Frame::Seq { .. }])
                if k.as_str() == Some(*list) =>
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
