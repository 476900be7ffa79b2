//! Python `json.dumps` layout (separators `", "` and `": "`, ASCII-only
//! output with `\uXXXX` escapes), so v1 request bodies are byte-identical to
//! what the original `cent` 2.x library sent.

use std::io;

use serde::Serialize;
use serde_json::ser::{CharEscape, Formatter};

struct PythonFormatter;

impl Formatter for PythonFormatter {
    fn begin_array_value<W: ?Sized + io::Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        if first { Ok(()) } else { w.write_all(b", ") }
    }
    fn begin_object_key<W: ?Sized + io::Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        if first { Ok(()) } else { w.write_all(b", ") }
    }
    fn begin_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b": ")
    }
    fn write_string_fragment<W: ?Sized + io::Write>(&mut self, w: &mut W, fragment: &str) -> io::Result<()> {
        let mut start = 0;
        for (i, ch) in fragment.char_indices() {
            if ch.is_ascii() {
                continue;
            }
            w.write_all(&fragment.as_bytes()[start..i])?;
            let mut buf = [0u16; 2];
            for unit in ch.encode_utf16(&mut buf) {
                write!(w, "\\u{unit:04x}")?;
            }
            start = i + ch.len_utf8();
        }
        w.write_all(&fragment.as_bytes()[start..])
    }
    fn write_char_escape<W: ?Sized + io::Write>(&mut self, w: &mut W, escape: CharEscape) -> io::Result<()> {
        // Python escapes control characters as \u00XX, like serde_json, and
        // \b \f \n \r \t " \\ the same way.
        match escape {
            CharEscape::AsciiControl(b) => write!(w, "\\u{b:04x}"),
            other => serde_json::ser::CompactFormatter.write_char_escape(w, other),
        }
    }
}

/// Serialises a value the way Python's `json.dumps(value)` would.
pub(crate) fn to_python_json<T: Serialize + ?Sized>(value: &T) -> String {
    let mut out = Vec::with_capacity(128);
    let mut ser = serde_json::Serializer::with_formatter(&mut out, PythonFormatter);
    value.serialize(&mut ser).expect("serialising JSON values into memory cannot fail");
    String::from_utf8(out).expect("ASCII-only output")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn matches_python_dumps() {
        // python3 -c 'import json; print(json.dumps({"a": [1, 2.5, None, True], "t": "Grüße 😀\n"}))'
        let v = json!({"a": [1, 2.5, null, true], "t": "Grüße 😀\n"});
        assert_eq!(to_python_json(&v), r#"{"a": [1, 2.5, null, true], "t": "Gr\u00fc\u00dfe \ud83d\ude00\n"}"#);
    }
}
