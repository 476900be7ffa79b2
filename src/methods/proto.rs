//! The server API's message definitions, read from the `.proto` files kept
//! beside this module (Centrifugo 6.9.1's own `api.proto`, and `v1.proto`
//! for Centrifugo 1.x): every message, every field's name, type, and
//! whether it is repeated or a map. The subset of proto3 these files use:
//! messages of scalar, message, `repeated` and `map<string, T>` fields;
//! `service`, `option`, `reserved`, `syntax` and `package` are skipped.

use std::collections::HashMap;
use std::sync::OnceLock;

/// A field's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scalar {
    String,
    /// Raw JSON in the HTTP API (any JSON value, sent verbatim).
    Bytes,
    Bool,
    Int32,
    Int64,
    Uint32,
    Uint64,
    Double,
    /// Another message, by name.
    Message(&'static str),
}

impl Scalar {
    /// The integer range of an integer type.
    pub(crate) fn int_range(self) -> Option<(i128, i128)> {
        Some(match self {
            Scalar::Int32 => (i32::MIN.into(), i32::MAX.into()),
            Scalar::Int64 => (i64::MIN.into(), i64::MAX.into()),
            Scalar::Uint32 => (0, u32::MAX.into()),
            Scalar::Uint64 => (0, u64::MAX.into()),
            _ => return None,
        })
    }

    /// Its name in the proto file (what messages say).
    pub(crate) fn proto_name(self) -> &'static str {
        match self {
            Scalar::String => "string",
            Scalar::Bytes => "bytes",
            Scalar::Bool => "bool",
            Scalar::Int32 => "int32",
            Scalar::Int64 => "int64",
            Scalar::Uint32 => "uint32",
            Scalar::Uint64 => "uint64",
            Scalar::Double => "double",
            Scalar::Message(m) => m,
        }
    }
}

/// How a field holds its type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    One,
    /// A JSON array.
    Repeated,
    /// A JSON object with string keys.
    Map,
}

/// One field of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Field {
    pub name: &'static str,
    pub ty: Scalar,
    pub shape: Shape,
}

/// A message: its fields in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Message {
    pub name: &'static str,
    pub fields: Vec<Field>,
}

impl Message {
    pub(crate) fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }
}

/// Every message of the server API's definitions.
#[derive(Debug)]
pub(crate) struct Schema {
    messages: HashMap<&'static str, Message>,
}

/// Centrifugo 6.9.1's `internal/apiproto/api.proto`, verbatim.
pub(crate) const API_PROTO: &str = include_str!("api.proto");
/// Centrifugo 1.x requests and replies, in the same form.
pub(crate) const V1_PROTO: &str = include_str!("v1.proto");

impl Schema {
    /// A message by name.
    pub(crate) fn message(&self, name: &str) -> Option<&Message> {
        self.messages.get(name)
    }

    /// Every message.
    pub(crate) fn messages(&self) -> impl Iterator<Item = &Message> {
        self.messages.values()
    }
}

/// The schema of both files, parsed once.
pub(crate) fn schema() -> &'static Schema {
    static SCHEMA: OnceLock<Schema> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        let mut messages = parse(API_PROTO).expect("api.proto parses");
        messages.extend(parse(V1_PROTO).expect("v1.proto parses"));
        Schema { messages }
    })
}

/// Parses the proto subset; `Err` says what was not understood.
pub(crate) fn parse(text: &'static str) -> Result<HashMap<&'static str, Message>, String> {
    let tokens = tokens(text);
    let mut messages = HashMap::new();
    let mut i = 0;
    while i < tokens.len() {
        match tokens[i] {
            "syntax" | "package" | "option" | "import" => i = skip_past(&tokens, i, ";")?,
            "service" => i = skip_block(&tokens, i)?,
            "message" => {
                let name = *tokens.get(i + 1).ok_or("a message without a name")?;
                if tokens.get(i + 2) != Some(&"{") {
                    return Err(format!("message {name}: expected `{{`"));
                }
                i += 3;
                let mut fields = Vec::new();
                while tokens.get(i) != Some(&"}") {
                    match *tokens.get(i).ok_or(format!("message {name} is not closed"))? {
                        "reserved" | "option" => i = skip_past(&tokens, i, ";")?,
                        "message" | "enum" | "oneof" => {
                            return Err(format!("message {name}: nested definitions are not read"));
                        }
                        _ => {
                            let (field, next) = field(&tokens, i).map_err(|e| format!("message {name}: {e}"))?;
                            fields.push(field);
                            i = next;
                        }
                    }
                }
                i += 1;
                messages.insert(name, Message { name, fields });
            }
            other => return Err(format!("unexpected `{other}`")),
        }
    }
    Ok(messages)
}

/// `[repeated] TYPE NAME = N [ [options] ];` or `map<K, V> NAME = N;`.
fn field(t: &[&'static str], mut i: usize) -> Result<(Field, usize), String> {
    let mut shape = Shape::One;
    if t[i] == "repeated" {
        shape = Shape::Repeated;
        i += 1;
    }
    let ty = if t[i] == "map" {
        // map < string , V >
        if t.get(i + 1) != Some(&"<") || t.get(i + 2) != Some(&"string") || t.get(i + 3) != Some(&",") {
            return Err(format!("a map at `{}` is not map<string, T>", t[i]));
        }
        shape = Shape::Map;
        let v = t.get(i + 4).ok_or("a map without a value type")?;
        if t.get(i + 5) != Some(&">") {
            return Err("a map not closed by `>`".into());
        }
        i += 6;
        scalar(v)
    } else {
        i += 1;
        scalar(t[i - 1])
    };
    let name = *t.get(i).ok_or("a field without a name")?;
    if t.get(i + 1) != Some(&"=") {
        return Err(format!("field {name}: expected `=`"));
    }
    let end = skip_past(t, i, ";")?;
    Ok((Field { name, ty, shape }, end))
}

fn scalar(name: &'static str) -> Scalar {
    match name {
        "string" => Scalar::String,
        "bytes" => Scalar::Bytes,
        "bool" => Scalar::Bool,
        "int32" | "sint32" | "sfixed32" => Scalar::Int32,
        "int64" | "sint64" | "sfixed64" => Scalar::Int64,
        "uint32" | "fixed32" => Scalar::Uint32,
        "uint64" | "fixed64" => Scalar::Uint64,
        "double" | "float" => Scalar::Double,
        other => Scalar::Message(other),
    }
}

fn skip_past(t: &[&str], mut i: usize, end: &str) -> Result<usize, String> {
    while i < t.len() {
        if t[i] == end {
            return Ok(i + 1);
        }
        i += 1;
    }
    Err(format!("no `{end}` before the end"))
}

fn skip_block(t: &[&str], mut i: usize) -> Result<usize, String> {
    let mut depth = 0;
    while i < t.len() {
        match t[i] {
            "{" => depth += 1,
            "}" => {
                depth -= 1;
                if depth == 0 {
                    return Ok(i + 1);
                }
            }
            _ => {}
        }
        i += 1;
    }
    Err("a block is not closed".into())
}

/// Words, quoted strings and punctuation, comments dropped.
fn tokens(text: &'static str) -> Vec<&'static str> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.split("//").next().unwrap_or("");
        let mut start = None;
        let mut quoted: Option<usize> = None;
        for (i, c) in line.char_indices() {
            if let Some(q) = quoted {
                if c == '"' {
                    out.push(&line[q..=i]);
                    quoted = None;
                }
                continue;
            }
            if c == '"' && start.is_none() {
                quoted = Some(i);
                continue;
            }
            let word = c.is_alphanumeric() || c == '_' || c == '.';
            match (word, start) {
                (true, None) => start = Some(i),
                (false, Some(s)) => {
                    out.push(&line[s..i]);
                    start = None;
                }
                _ => {}
            }
            if !word && !c.is_whitespace() {
                out.push(&line[i..i + c.len_utf8()]);
            }
        }
        if let Some(s) = start {
            out.push(&line[s..]);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_message_and_field_of_api_proto() {
        let s = schema();
        let publish = s.message("PublishRequest").unwrap();
        let names: Vec<&str> = publish.fields.iter().map(|f| f.name).collect();
        assert_eq!(
            names,
            [
                "channel",
                "data",
                "b64data",
                "skip_history",
                "tags",
                "idempotency_key",
                "delta",
                "version",
                "version_epoch"
            ]
        );
        assert_eq!(publish.field("tags").unwrap().shape, Shape::Map);
        assert_eq!(publish.field("version").unwrap().ty, Scalar::Uint64);
        assert_eq!(s.message("HistoryRequest").unwrap().field("limit").unwrap().ty, Scalar::Int32);
        assert_eq!(s.message("BroadcastRequest").unwrap().field("channels").unwrap().shape, Shape::Repeated);
        // Every message a field names is defined.
        for m in s.messages() {
            for f in &m.fields {
                if let Scalar::Message(name) = f.ty {
                    assert!(s.message(name).is_some(), "{}.{} names {name}", m.name, f.name);
                }
            }
        }
        let api = parse(API_PROTO).unwrap();
        assert_eq!(api.len(), 163, "api.proto's messages");
        assert_eq!(api.values().map(|m| m.fields.len()).sum::<usize>(), 511, "api.proto's fields");
    }
}
