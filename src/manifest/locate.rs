//! Where a validated command's fields are written, found again in its
//! manifest's text: for problems found after loading (commands a server's
//! configuration refuses) that point at the channel, not at the list item.
//! A command keeps only its item's offset, so the text is parsed again —
//! in parts, as loading does, each item dropped unless it is one asked for.

use std::collections::HashMap;

use super::command::RUNNER_KEYS;
use super::document::COMMANDS;
use super::fields;
use super::yaml::{self, ItemSink, Node, Stream, Value};
use super::{Source, Span};
use crate::methods::{self, check::Seg};

/// For each `(offset, path, at_key)` asked — a command's list item by its
/// offset, a path into its method's params, whether to point at the key —
/// where the path is written: its key or value, or the nearest mapping that
/// holds it (as [`fields::locate`] places a params problem; `data` may be
/// a `data_file`). `None` when no item starts at that offset (or the text
/// no longer parses).
pub(crate) fn field_spans(source: &Source, asks: &[(usize, Vec<Seg>, bool)]) -> Vec<Option<Span>> {
    let mut by_offset: HashMap<usize, Vec<usize>> = HashMap::new();
    for (i, (offset, _, _)) in asks.iter().enumerate() {
        by_offset.entry(*offset).or_default().push(i);
    }
    let finder = Finder { asks, by_offset };
    let stream = Stream { key: COMMANDS, parts: super::load::default_parts(source.text.len()) };
    let mut out = vec![None; asks.len()];
    let Ok((tree, parts)) = yaml::parse_streaming(&source.text, stream, &finder) else { return out };
    let mut found: Vec<(usize, Span)> = parts.into_iter().flatten().collect();
    // A list given by alias does not stream: its items are in the tree.
    let listed = tree.as_map().and_then(|m| m.iter().find(|(k, _)| k.as_str() == Some(COMMANDS)));
    if let Some((_, Node { value: Value::Seq(items), .. })) = listed {
        for item in items {
            finder.item(&mut found, &[], item.clone());
        }
    }
    for (i, span) in found {
        out[i] = Some(span);
    }
    out
}

struct Finder<'q> {
    asks: &'q [(usize, Vec<Seg>, bool)],
    by_offset: HashMap<usize, Vec<usize>>,
}

impl<'a> ItemSink<'a> for Finder<'_> {
    type Part = Vec<(usize, Span)>;

    fn part(&self, _: std::ops::Range<usize>) -> Self::Part {
        Vec::new()
    }

    fn item(&self, part: &mut Self::Part, _: &[(Node<'a>, Node<'a>)], item: Node<'a>) {
        let Some(wanted) = self.by_offset.get(&item.span.offset) else { return };
        let Some(entries) = item.as_map() else { return };
        let method = entries.iter().find(|(k, _)| {
            k.as_str().is_some_and(|name| !RUNNER_KEYS.contains(&name) && methods::lookup(name).is_some())
        });
        let Some((key, body)) = method else { return };
        for &i in wanted {
            let (_, path, at_key) = &self.asks[i];
            part.push((i, fields::locate(key, body, path, *at_key, true)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_channel_and_a_broadcast_item_by_the_items_offset() {
        let text = "commands:\n  - publish: {channel: a, data: 1}\n  - name: b\n    broadcast:\n      channels: [x, \"y\"]\n      data: 1\n";
        let source = Source::new("m.yaml", text);
        let first = text.find("publish").unwrap();
        let second = text.find("name: b").unwrap();
        let asks = vec![
            (first, vec![Seg::Key("channel".into())], false),
            (second, vec![Seg::Key("channels".into()), Seg::Index(1)], false),
            (second, vec![Seg::Key("channel".into())], false),
            (3, vec![Seg::Key("channel".into())], false),
            (first, vec![Seg::Key("data".into())], true),
        ];
        let spans = field_spans(&source, &asks);
        let at = |s: Option<Span>| &text[s.unwrap().offset..s.unwrap().offset + s.unwrap().len];
        assert_eq!(at(spans[0]), "a");
        assert_eq!(at(spans[1]), "\"y\"");
        // Not written: the mapping that would hold it.
        assert!(at(spans[2]).starts_with("channels:"), "{:?}", at(spans[2]));
        assert_eq!(spans[3], None);
        assert_eq!(at(spans[4]), "data");
    }

    #[test]
    fn finds_items_of_a_list_given_by_alias() {
        let text = "x: &l\n  - publish: {channel: a, data: 1}\ncommands: *l\n";
        let source = Source::new("m.yaml", text);
        let item = text.find("publish").unwrap();
        let spans = field_spans(&source, &[(item, vec![Seg::Key("channel".into())], false)]);
        assert_eq!(spans[0].map(|s| s.offset), Some(text.find(": a").unwrap() + 2));
    }
}
