//! `for_each`: the items a command runs once for each — a list of values or
//! of mappings (rows) in the manifest, or a file under the file root: one
//! value per line, JSON Lines (a row per line) or CSV with a header (a row
//! per record). `${item}` is the item; `${item.FIELD}` a row's field, typed
//! like variables (JSON Lines as JSON typed it, CSV cells and lines read as
//! YAML scalars). A row from a file remembers its line there, so a problem
//! with it is located at `FILE:LINE` of the data file.

use std::sync::Arc;

use super::check::{Checker, Item, Scope, Var};
use super::files::{self, Root};
use super::yaml::{Node, Span, Value};
use crate::diagnostic::Source;

/// One item, and where it was written when it came from a data file.
#[derive(Debug, Clone)]
pub(crate) struct Located {
    pub item: Item,
    pub from: Option<(Arc<Source>, Span)>,
}

/// The items of a `for_each`: a file of lines is read as they are used
/// (a million items are a million short lines, not a million values
/// held at once).
pub(crate) enum Items {
    List(Vec<Located>),
    Lines(Arc<Source>),
}

impl Items {
    /// At least as many as there are items (a bound to reserve room by).
    pub(crate) fn bound(&self) -> usize {
        match self {
            Items::List(list) => list.len(),
            Items::Lines(source) => memchr::memchr_iter(b'\n', source.text.as_bytes()).count() + 1,
        }
    }

    fn is_empty(&self) -> bool {
        match self {
            Items::List(list) => list.is_empty(),
            Items::Lines(source) => Lines { source: source.clone(), at: 0 }.next().is_none(),
        }
    }
}

impl IntoIterator for Items {
    type Item = Located;
    type IntoIter = ItemsIter;

    fn into_iter(self) -> ItemsIter {
        match self {
            Items::List(list) => ItemsIter::List(list.into_iter()),
            Items::Lines(source) => ItemsIter::Lines(Lines { source, at: 0 }),
        }
    }
}

pub(crate) enum ItemsIter {
    List(std::vec::IntoIter<Located>),
    Lines(Lines),
}

impl Iterator for ItemsIter {
    type Item = Located;

    fn next(&mut self) -> Option<Located> {
        match self {
            ItemsIter::List(list) => list.next(),
            ItemsIter::Lines(lines) => lines.next(),
        }
    }
}

/// Every line that is not blank or a `#` comment, as a value read as a
/// YAML scalar, located at its line.
pub(crate) struct Lines {
    source: Arc<Source>,
    at: usize,
}

impl Iterator for Lines {
    type Item = Located;

    fn next(&mut self) -> Option<Located> {
        let text = self.source.text.as_str();
        while self.at < text.len() {
            let start = self.at;
            let end = memchr::memchr(b'\n', &text.as_bytes()[start..]).map_or(text.len(), |i| start + i);
            self.at = end + 1;
            let t = text[start..end].trim();
            if !t.is_empty() && !t.starts_with('#') {
                let span = Span { offset: start, len: (end - start).max(1) };
                return Some(Located { item: Item::One(Var::scalar(t)), from: Some((self.source.clone(), span)) });
            }
        }
        None
    }
}

/// The file formats `for_each: {file: ...}` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Lines,
    JsonLines,
    Csv,
}

/// The items of a `for_each` value, or `None` when its problems were recorded.
pub(crate) fn items(ck: &mut Checker, node: &Node, scope: &Scope, root: &Root) -> Option<Items> {
    match &node.value {
        Value::Seq(list) => {
            let mut out = Vec::with_capacity(list.len());
            for it in list {
                let item = match &it.value {
                    Value::Map(_) => {
                        let json = ck.json(it, scope, super::check::Expect::Any)?;
                        let fields = json.as_object().expect("a mapping gives an object");
                        Item::Row(fields.iter().map(|(k, v)| (k.clone(), Var::typed(v.clone()))).collect())
                    }
                    Value::Seq(_) => {
                        ck.type_error(it, "a `for_each` item must be a value or a mapping", "a value");
                        return None;
                    }
                    _ => Item::One(Var::typed(ck.json(it, scope, super::check::Expect::Any)?)),
                };
                out.push(Located { item, from: None });
            }
            if out.is_empty() {
                ck.warn(node.span, "empty", "`for_each` is empty: this command runs zero times");
            }
            Some(Items::List(out))
        }
        Value::Map(_) => file(ck, node, scope, root),
        _ => {
            ck.type_error(node, "`for_each` must be a list or `{file: PATH}`", "a list");
            None
        }
    }
}

/// `{file: PATH, format: lines|jsonl|csv}`; the format defaults by the
/// file's extension (`.jsonl`/`.ndjson`, `.csv`, anything else lines).
fn file(ck: &mut Checker, node: &Node, scope: &Scope, root: &Root) -> Option<Items> {
    let entries = ck.entries(node, "`for_each`")?;
    let (mut path, mut format) = (None, None);
    for (k, v) in entries {
        match k.key_text().as_ref() {
            "file" => path = Some((v, ck.string(v, "`file`", scope)?)),
            "format" => {
                format = Some(match ck.string(v, "`format`", scope)?.as_str() {
                    "lines" => Format::Lines,
                    "jsonl" | "ndjson" => Format::JsonLines,
                    "csv" => Format::Csv,
                    other => {
                        ck.error(v.span, "unknown format", format!("unknown `for_each` format `{other}`")).help =
                            Some("one of: lines, jsonl, csv".into());
                        return None;
                    }
                })
            }
            other => {
                ck.error(k.span, "unknown key", format!("unknown key `{other}` in `for_each`")).help =
                    Some("`for_each` is a list, or `{file: PATH}` (with `format: lines|jsonl|csv`)".into());
                return None;
            }
        }
    }
    let Some((fnode, written)) = path else {
        ck.error(node.span, "no `file`", "`for_each` mapping needs `file`");
        return None;
    };
    let full = files::resolve(ck, fnode, &written, root, "for_each file")?;
    let format = format.unwrap_or(match full.extension().and_then(|e| e.to_str()) {
        Some("jsonl" | "ndjson") => Format::JsonLines,
        Some("csv") => Format::Csv,
        _ => Format::Lines,
    });
    let text = match std::fs::read_to_string(&full) {
        Ok(t) => t,
        Err(e) => {
            ck.error(fnode.span, "cannot read", format!("cannot read `for_each` file {written}: {e}"));
            return None;
        }
    };
    let source = Arc::new(Source::new(root.shown(&written), text));
    let items = match format {
        Format::Lines => Items::Lines(source),
        Format::JsonLines => Items::List(json_lines(ck, &source)?),
        Format::Csv => Items::List(csv_rows(ck, &source)?),
    };
    if items.is_empty() {
        ck.warn(fnode.span, "empty", format!("`for_each` file {written} is empty: this command runs zero times"));
    }
    Some(items)
}

/// The span of a line (without its newline) starting at byte `start`.
fn line_span(text: &str, start: usize) -> Span {
    let len = text[start..].find('\n').unwrap_or(text.len() - start);
    Span { offset: start, len: len.max(1) }
}

/// One JSON object per line (blank lines skipped).
fn json_lines(ck: &mut Checker, source: &Arc<Source>) -> Option<Vec<Located>> {
    let text = &source.text;
    let mut out = Vec::new();
    let mut start = 0;
    let mut ok = true;
    for line in text.split_inclusive('\n') {
        let span = line_span(text, start);
        start += line.len();
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<serde_json::Value>(line) {
            Ok(serde_json::Value::Object(row)) => out.push(Located {
                item: Item::Row(row.into_iter().map(|(k, v)| (k, Var::typed(v))).collect()),
                from: Some((source.clone(), span)),
            }),
            Ok(_) => {
                ck.problems.push(
                    crate::diagnostic::Problem::error("a JSON Lines row must be an object")
                        .at(source, span, "not an object")
                        .help("e.g. {\"user\": \"42\", \"reason\": \"spam\"}"),
                );
                ok = false;
            }
            Err(e) => {
                ck.problems.push(crate::diagnostic::Problem::error(format!("not JSON: {e}")).at(
                    source,
                    span,
                    "this line",
                ));
                ok = false;
            }
        }
    }
    ok.then_some(out)
}

/// CSV with a header row: each record a row of its header's fields.
fn csv_rows(ck: &mut Checker, source: &Arc<Source>) -> Option<Vec<Located>> {
    let text = &source.text;
    let mut reader = csv::ReaderBuilder::new().has_headers(true).from_reader(text.as_bytes());
    let header: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(|s| s.trim().to_owned()).collect(),
        Err(e) => {
            ck.problems.push(crate::diagnostic::Problem::error(format!("CSV: {e}")).at(
                source,
                line_span(text, 0),
                "header",
            ));
            return None;
        }
    };
    let mut out = Vec::new();
    for record in reader.records() {
        match record {
            Ok(r) => {
                let offset = r.position().map_or(0, |p| p.byte() as usize);
                let row = header.iter().cloned().zip(r.iter().map(Var::scalar)).collect();
                out.push(Located { item: Item::Row(row), from: Some((source.clone(), line_span(text, offset))) });
            }
            Err(e) => {
                let offset = e.position().map_or(0, |p| p.byte() as usize);
                ck.problems.push(crate::diagnostic::Problem::error(format!("CSV: {e}")).at(
                    source,
                    line_span(text, offset),
                    "this record",
                ));
                return None;
            }
        }
    }
    Some(out)
}
