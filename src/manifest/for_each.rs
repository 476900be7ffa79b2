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

/// The items of a `for_each`: a file is read as they are used (a
/// million items are a million short lines, not a million values held
/// at once), after a first reading found every problem in it.
pub(crate) enum Items {
    List(Vec<Located>),
    Lines(Arc<Source>),
    /// JSON Lines with this many rows.
    JsonLines(Arc<Source>, usize),
    /// CSV with this header and this many records.
    Csv(Arc<Source>, Vec<String>, usize),
}

impl Items {
    /// At least as many as there are items (a bound to reserve room by).
    pub(crate) fn bound(&self) -> usize {
        match self {
            Items::List(list) => list.len(),
            Items::Lines(source) => memchr::memchr_iter(b'\n', source.text.as_bytes()).count() + 1,
            Items::JsonLines(_, n) | Items::Csv(_, _, n) => *n,
        }
    }

    fn is_empty(&self) -> bool {
        match self {
            Items::List(list) => list.is_empty(),
            Items::Lines(source) => Lines { source: source.clone(), at: 0, json: false }.next().is_none(),
            Items::JsonLines(_, n) | Items::Csv(_, _, n) => *n == 0,
        }
    }
}

impl IntoIterator for Items {
    type Item = Located;
    type IntoIter = ItemsIter;

    fn into_iter(self) -> ItemsIter {
        match self {
            Items::List(list) => ItemsIter::List(list.into_iter()),
            Items::Lines(source) => ItemsIter::Lines(Lines { source, at: 0, json: false }),
            Items::JsonLines(source, _) => ItemsIter::Lines(Lines { source, at: 0, json: true }),
            Items::Csv(source, header, _) => ItemsIter::Csv(CsvRows::new(source, header)),
        }
    }
}

pub(crate) enum ItemsIter {
    List(std::vec::IntoIter<Located>),
    Lines(Lines),
    Csv(CsvRows),
}

impl Iterator for ItemsIter {
    type Item = Located;

    fn next(&mut self) -> Option<Located> {
        match self {
            ItemsIter::List(list) => list.next(),
            ItemsIter::Lines(lines) => lines.next(),
            ItemsIter::Csv(rows) => rows.next(),
        }
    }
}

/// The records of a CSV file its first reading found well formed.
pub(crate) struct CsvRows {
    source: Arc<Source>,
    header: Vec<String>,
    reader: csv::Reader<SourceText>,
    record: csv::StringRecord,
}

impl CsvRows {
    fn new(source: Arc<Source>, header: Vec<String>) -> Self {
        let text = SourceText { source: source.clone(), at: 0 };
        let reader = csv::ReaderBuilder::new().has_headers(true).from_reader(text);
        CsvRows { source, header, reader, record: csv::StringRecord::new() }
    }
}

impl Iterator for CsvRows {
    type Item = Located;

    fn next(&mut self) -> Option<Located> {
        match self.reader.read_record(&mut self.record) {
            Ok(true) => {}
            Ok(false) => return None,
            Err(_) => unreachable!("the first reading found every record well formed"),
        }
        let offset = self.record.position().map_or(0, |p| p.byte() as usize);
        let row = self.header.iter().cloned().zip(self.record.iter().map(Var::scalar)).collect();
        let span = line_span(&self.source.text, record_start(&self.source.text, offset));
        Some(Located { item: Item::Row(row), from: Some((self.source.clone(), span)) })
    }
}

/// A source's text as a reader.
struct SourceText {
    source: Arc<Source>,
    at: usize,
}

impl std::io::Read for SourceText {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let rest = &self.source.text.as_bytes()[self.at.min(self.source.text.len())..];
        let n = rest.len().min(buf.len());
        buf[..n].copy_from_slice(&rest[..n]);
        self.at += n;
        Ok(n)
    }
}

/// The items of a file of lines, each located at its line: every line
/// that is not blank or a `#` comment, as a value read as a YAML scalar;
/// or (`json`) every line that is not blank, a JSON Lines row its first
/// reading found an object.
pub(crate) struct Lines {
    source: Arc<Source>,
    at: usize,
    json: bool,
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
            let item = match self.json {
                _ if t.is_empty() => continue,
                false if t.starts_with('#') => continue,
                false => Item::One(Var::scalar(t)),
                true => match serde_json::from_str::<serde_json::Value>(t) {
                    Ok(serde_json::Value::Object(row)) => {
                        Item::Row(row.into_iter().map(|(k, v)| (k, Var::typed(v))).collect())
                    }
                    _ => unreachable!("the first reading found every row an object"),
                },
            };
            let span = Span { offset: start, len: (end - start).max(1) };
            return Some(Located { item, from: Some((self.source.clone(), span)) });
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
        Format::JsonLines => {
            let n = json_lines(ck, &source)?;
            Items::JsonLines(source, n)
        }
        Format::Csv => {
            let (header, n) = csv_rows(ck, &source)?;
            Items::Csv(source, header, n)
        }
    };
    if items.is_empty() {
        ck.warn(fnode.span, "empty", format!("`for_each` file {written} is empty: this command runs zero times"));
    }
    Some(items)
}

/// Where a CSV record starts: the reader places a record after a CRLF at
/// the CRLF's line feed, a line too early.
fn record_start(text: &str, offset: usize) -> usize {
    if text.as_bytes().get(offset) == Some(&b'\n') && offset > 0 && text.as_bytes()[offset - 1] == b'\r' {
        offset + 1
    } else {
        offset
    }
}

/// The span of a line (without its newline) starting at byte `start`.
fn line_span(text: &str, start: usize) -> Span {
    let len = text[start..].find('\n').unwrap_or(text.len() - start);
    Span { offset: start, len: len.max(1) }
}

/// One JSON object per line (blank lines skipped): how many, or `None`
/// when a line is not one (every such line reported). The rows are made
/// again as they are used ([`Lines`]), by the same parser.
fn json_lines(ck: &mut Checker, source: &Arc<Source>) -> Option<usize> {
    let text = &source.text;
    let mut rows = 0;
    let mut start = 0;
    let mut ok = true;
    for line in text.split_inclusive('\n') {
        let span = line_span(text, start);
        start += line.len();
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<serde_json::Value>(line) {
            Ok(serde_json::Value::Object(_)) => rows += 1,
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
    ok.then_some(rows)
}

/// CSV with a header row, each record a row of its header's fields: the
/// header and how many records, or `None` at the first bad one (reported).
/// The rows are made again as they are used ([`CsvRows`]).
fn csv_rows(ck: &mut Checker, source: &Arc<Source>) -> Option<(Vec<String>, usize)> {
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
    let mut records = 0;
    for record in reader.records() {
        match record {
            Ok(_) => records += 1,
            Err(e) => {
                let offset = e.position().map_or(0, |p| p.byte() as usize);
                ck.problems.push(crate::diagnostic::Problem::error(format!("CSV: {e}")).at(
                    source,
                    line_span(text, record_start(text, offset)),
                    "this record",
                ));
                return None;
            }
        }
    }
    Some((header, records))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Items of a file as the command sees them: each value or row, and
    /// the line it was read from.
    fn read(name: &str, text: &str) -> Vec<(String, usize)> {
        let source = Arc::new(Source::new(name, text));
        let manifest = Source::new("m.yaml", "");
        let mut ck = Checker::new(&manifest);
        let items = match name.rsplit('.').next() {
            Some("jsonl") => Items::JsonLines(source.clone(), json_lines(&mut ck, &source).unwrap()),
            Some("csv") => {
                let (header, n) = csv_rows(&mut ck, &source).unwrap();
                Items::Csv(source.clone(), header, n)
            }
            _ => Items::Lines(source.clone()),
        };
        assert!(ck.problems.is_empty());
        let n = items.bound();
        let out: Vec<(String, usize)> = items
            .into_iter()
            .map(|l| {
                let shown = match l.item {
                    Item::One(v) => format!("{:?}", v.value),
                    Item::Row(fields) => {
                        fields.iter().map(|(k, v)| format!("{k}={:?}", v.value)).collect::<Vec<_>>().join(" ")
                    }
                };
                let (from, span) = l.from.unwrap();
                (shown, from.line_col(span.offset).0)
            })
            .collect();
        if !name.ends_with(".txt") {
            assert_eq!(out.len(), n, "the first reading counted the rows");
        }
        out
    }

    #[test]
    fn files_are_read_as_used_with_their_lines() {
        let lines = read("u.txt", "alice\r\n\n  # note\n 5 \ntrue\n'quoted'\nlast");
        let want = [("String(\"alice\")", 1), ("Number(5)", 4), ("Bool(true)", 5), ("String(\"quoted\")", 6)];
        assert_eq!(lines[..4], want.map(|(s, l)| (s.to_owned(), l)));
        assert_eq!(lines[4], ("String(\"last\")".to_owned(), 7));
        let rows = read("r.jsonl", "{\"u\": \"a\", \"n\": 1}\r\n\n   \n{\"u\": \"é\\n\", \"z\": null}");
        assert_eq!(
            rows,
            vec![("u=String(\"a\") n=Number(1)".to_owned(), 1), ("u=String(\"é\\n\") z=Null".to_owned(), 4)]
        );
        let rows = read("r.csv", "u, n\r\na,1\r\n\"multi\nline\",\n\"q\"\"t\",true\n");
        assert_eq!(
            rows,
            vec![
                ("u=String(\"a\") n=Number(1)".to_owned(), 2),
                ("u=String(\"multi\\nline\") n=String(\"\")".to_owned(), 3),
                ("u=String(\"q\\\"t\") n=Bool(true)".to_owned(), 5),
            ]
        );
    }
}
