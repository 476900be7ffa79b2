//! The YAML layer: manifest text in, a tree of [`Node`]s with byte spans out.
//!
//! This is the only code that knows the YAML crate (serde-saphyr). Everything
//! above it works on `Node`, so the crate can be swapped without touching
//! validation. Budgets bound hostile input (alias bombs, deep nesting, huge
//! documents) so loading always ends in a clean error.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::{Budget, DuplicateKeyPolicy, Options, Spanned};

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

/// One YAML node with the span of its text in the source.
#[derive(Debug, Clone)]
pub struct Node {
    pub span: Span,
    pub value: Value,
}

/// A YAML value. Mappings keep key order and duplicate keys (validation
/// reports duplicates with both locations).
#[derive(Debug, Clone)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

impl Value {
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

impl Node {
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&[(Node, Node)]> {
        match &self.value {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    /// The key text of a mapping entry; non-string keys render as their kind.
    pub fn key_text(&self) -> String {
        match &self.value {
            Value::Str(s) => s.clone(),
            Value::Int(i) => i.to_string(),
            Value::UInt(u) => u.to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Float(f) => f.to_string(),
            Value::Null => "null".to_string(),
            other => other.kind().to_string(),
        }
    }
}

/// A YAML syntax or budget error with its location, if the parser gave one.
#[derive(Debug)]
pub struct SyntaxError {
    pub message: String,
    pub span: Option<Span>,
    /// 1-based line and character column, when there is no byte span.
    pub line_col: Option<(usize, usize)>,
}

/// Parses one YAML document into a spanned tree.
pub fn parse(source: &str) -> Result<Node, SyntaxError> {
    let mut budget = Budget::default();
    // A 100,000-command manifest has about a million nodes; the defaults are
    // sized for config files. Depth stays at 64.
    budget.max_events = 50_000_000;
    budget.max_nodes = 20_000_000;
    budget.max_documents = 1;
    budget.max_recorded_anchor_events = 50_000;
    let mut options = Options::default();
    options.budget = Some(budget);
    // Alias bombs stop after this much replay instead of exhausting memory.
    options.alias_limits.max_total_replayed_events = 1_000_000;
    // Non-finite floats are reported by validation, where JSON is the reason.
    options.non_finite_float_policy = serde_saphyr::NonFiniteFloatPolicy::PassThrough;
    options.duplicate_keys = DuplicateKeyPolicy::PassThrough;
    options.strict_booleans = true;
    options.with_snippet = false;
    let spanned: Spanned<Value> = serde_saphyr::from_str_with_options(source, options).map_err(|e| {
        let span = e.location().and_then(|loc| {
            let s = loc.span();
            s.byte_offset().map(|o| Span { offset: o as usize, len: s.byte_len().unwrap_or(0) as usize })
        });
        let line_col = e.location().map(|l| (l.line() as usize, l.column() as usize)).filter(|&(l, _)| l > 0);
        let text = e.to_string();
        let message = budget_message(&text).unwrap_or_else(|| first_line(&text));
        SyntaxError { message, span, line_col }
    })?;
    Ok(to_node(spanned))
}

/// What a budget breach means for a manifest author (the parser's text
/// names the limit, e.g. `budget breached: Depth { depth: 65 }`).
fn budget_message(text: &str) -> Option<String> {
    let breach = text.split("budget breached:").nth(1)?.trim();
    let name = breach.split(|c: char| !c.is_alphanumeric()).next().unwrap_or("");
    Some(match name {
        "Depth" => "nested deeper than 64 levels".into(),
        "Documents" => "a manifest holds one YAML document (found a `---` starting another)".into(),
        n if n.contains("Alias") || n.contains("Anchor") => "too much alias expansion (an alias bomb?)".into(),
        "Events" | "Nodes" | "ScalarBytes" | "InputBytes" => "manifest too large to load".into(),
        _ => format!("YAML limit exceeded ({})", first_line(breach)),
    })
}

/// The message's first line without the parser's own " at line N, column M"
/// (the diagnostic shows the location).
fn first_line(s: &str) -> String {
    let line = s.lines().next().unwrap_or("invalid YAML").trim();
    match line.find(" at line ") {
        Some(i) => line[..i].to_string(),
        None => line.to_string(),
    }
}

fn to_node(s: Spanned<Value>) -> Node {
    let span = s.referenced.span();
    Node {
        span: Span { offset: span.byte_offset().unwrap_or(0) as usize, len: span.byte_len().unwrap_or(0) as usize },
        value: s.value,
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Int(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(i64::try_from(v).map_or(Value::UInt(v), Value::Int))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::Str(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::Str(v))
    }
    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Value, E> {
        String::from_utf8(v.to_vec()).map(Value::Str).map_err(|_| E::custom("binary values are not supported"))
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Value::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
        while let Some(item) = seq.next_element::<Spanned<Value>>()? {
            items.push(to_node(item));
        }
        Ok(Value::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut entries = Vec::new();
        while let Some(k) = map.next_key::<Spanned<Value>>()? {
            let v = map.next_value::<Spanned<Value>>()?;
            entries.push((to_node(k), to_node(v)));
        }
        Ok(Value::Map(entries))
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
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
}
