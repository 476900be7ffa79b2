//! The checker: walks a [`Node`] tree, collects every [`Problem`], and
//! converts values to JSON. Shared by the document-level and command-level
//! validation.

use std::collections::HashMap;

use serde_json::Value as Json;

use super::interpolate;
use super::yaml::{Node, Span, Value};
use crate::diagnostic::{Problem, Source};

/// Variables visible to interpolation: `--var` over `vars:` over the environment.
pub struct Scope<'a> {
    pub cli: &'a HashMap<String, String>,
    pub vars: &'a HashMap<String, String>,
    pub env: &'a HashMap<String, String>,
    /// `${item}` inside a `for_each` command.
    pub item: Option<&'a str>,
    /// Text is taken as it is: no `${...}` interpolation (params given as
    /// JSON to `call`, already expanded by the shell).
    pub literal: bool,
    /// Names saved by earlier commands, each standing as its placeholder
    /// until the command is sent.
    pub saved: Option<&'a HashMap<String, String>>,
}

impl<'a> Scope<'a> {
    pub fn new(
        cli: &'a HashMap<String, String>,
        vars: &'a HashMap<String, String>,
        env: &'a HashMap<String, String>,
    ) -> Self {
        Scope { cli, vars, env, item: None, literal: false, saved: None }
    }

    /// A variable's value. An empty environment variable counts as unset
    /// (what CI gives for a variable that is not set); an empty `--var` or
    /// `vars:` value is a value.
    pub fn lookup(&self, name: &str) -> Option<&str> {
        if name == "item"
            && let Some(item) = self.item
        {
            return Some(item);
        }
        self.cli
            .get(name)
            .or_else(|| self.vars.get(name))
            .or_else(|| self.saved.and_then(|s| s.get(name)))
            .or_else(|| self.env.get(name).filter(|v| !v.is_empty()))
            .map(String::as_str)
    }

    /// The same scope without saved names (for labels, which are made before anything runs).
    pub fn without_saved(&self) -> Scope<'a> {
        Scope { saved: None, ..*self }
    }
}

pub struct Checker<'s> {
    pub source: &'s Source,
    pub problems: Vec<Problem>,
}

impl<'s> Checker<'s> {
    pub fn new(source: &'s Source) -> Self {
        Checker { source, problems: Vec::new() }
    }

    pub fn error(&mut self, span: Span, label: &str, message: impl Into<String>) -> &mut Problem {
        self.problems.push(Problem::error(message).at(self.source, span, label));
        self.problems.last_mut().expect("just pushed")
    }

    pub fn warn(&mut self, span: Span, label: &str, message: impl Into<String>) -> &mut Problem {
        self.problems.push(Problem::error(message).at(self.source, span, label).warning());
        self.problems.last_mut().expect("just pushed")
    }

    pub fn line_of(&self, span: Span) -> usize {
        self.source.line_col(span.offset).0
    }

    /// Mapping entries with duplicate keys reported (later duplicates are dropped).
    pub fn entries<'n, 'a>(&mut self, node: &'n Node<'a>, what: &str) -> Option<Vec<(&'n Node<'a>, &'n Node<'a>)>> {
        let Some(map) = node.as_map() else {
            self.type_error(node, &format!("{what} must be a mapping"), "a mapping");
            return None;
        };
        let mut out: Vec<(&'n Node, &'n Node)> = Vec::with_capacity(map.len());
        // Command mappings are small: a scan beats hashing; large ones get a set.
        let mut seen: Option<HashMap<std::borrow::Cow<'n, str>, Span>> = (map.len() > 16).then(HashMap::new);
        for (k, v) in map {
            let key = k.key_text();
            let first = match &mut seen {
                Some(set) => set.get(&key).copied().or_else(|| {
                    set.insert(key.clone(), k.span);
                    None
                }),
                None => out.iter().find(|(o, _)| o.key_text() == key).map(|(o, _)| o.span),
            };
            if let Some(first) = first {
                let line = self.line_of(first);
                self.error(k.span, "duplicate key", format!("duplicate key `{key}`")).help =
                    Some(format!("`{key}` is already set on line {line}; YAML keys must be unique"));
                continue;
            }
            out.push((k, v));
        }
        Some(out)
    }

    pub fn type_error(&mut self, node: &Node, message: &str, expected: &str) {
        let found = node.value.kind();
        let p = self.error(node.span, &format!("expected {expected}"), format!("{message}, found {found}"));
        if expected == "a string"
            && matches!(node.value, Value::Int(_) | Value::UInt(_) | Value::Float(_) | Value::Bool(_))
        {
            p.help = Some(format!("quote it to make it a string: \"{}\"", node.key_text()));
        }
    }

    /// A string value with `${...}` expanded; undefined names are reported at
    /// their exact place in the source when the scalar is written literally.
    pub fn string(&mut self, node: &Node, what: &str, scope: &Scope) -> Option<String> {
        let Value::Str(s) = &node.value else {
            self.type_error(node, &format!("{what} must be a string"), "a string");
            return None;
        };
        self.interpolate(node, s, scope)
    }

    /// `s` (the value of `node`) with `${...}` expanded; problems recorded.
    pub fn interpolate(&mut self, node: &Node, s: &str, scope: &Scope) -> Option<String> {
        match self.expand(node, s, scope) {
            Ok(v) => Some(v),
            Err(problems) => {
                self.problems.extend(problems);
                None
            }
        }
    }

    /// `s` (the value of `node`) with `${...}` expanded, or its problems,
    /// located, but not recorded.
    pub fn expand(&self, node: &Node, s: &str, scope: &Scope) -> Result<String, Vec<Problem>> {
        if scope.literal {
            return Ok(s.to_owned());
        }
        interpolate::expand(s, &|n| scope.lookup(n)).map_err(|errs| {
            errs.into_iter()
                .map(|e| {
                    let span = self.sub_span(node, s, e.range.clone());
                    let (label, message, help) = if e.unterminated {
                        ("no closing `}`", "unterminated `${` in string".to_owned(), "write `$${` for a literal `${`".to_owned())
                    } else if e.name.is_empty() {
                        (
                            "no name",
                            "empty variable name in `${}`".to_owned(),
                            "write `${NAME}`, or `$${` for a literal `${`".to_owned(),
                        )
                    } else {
                        let help = if e.name == "item" {
                            "`${item}` is only defined inside a command with `for_each`".into()
                        } else {
                            format!(
                                "define it under `vars:`, pass `--var {0}=VALUE`, set the environment variable {0}, or give a default: `${{{0}:-VALUE}}`",
                                e.name
                            )
                        };
                        ("not defined", format!("undefined variable `{}`", e.name), help)
                    };
                    Problem::error(message).at(self.source, span, label).help(help)
                })
                .collect()
        })
    }

    /// The span of `range` (byte range inside the scalar's value) when the
    /// scalar's source text is exactly its value (plain or simply quoted);
    /// otherwise the whole scalar.
    fn sub_span(&self, node: &Node, value: &str, range: std::ops::Range<usize>) -> Span {
        let raw = self.source.text.get(node.span.offset..node.span.offset + node.span.len).unwrap_or("");
        let skip = match raw.as_bytes().first() {
            Some(b'"') | Some(b'\'') => 1,
            _ => 0,
        };
        let body = raw.get(skip..).unwrap_or("");
        if body.starts_with(value) || body.get(..range.end) == value.get(..range.end) {
            Span { offset: node.span.offset + skip + range.start, len: range.len() }
        } else {
            node.span
        }
    }

    /// Any YAML value as JSON (strings interpolated), for `data`-like fields.
    pub fn json(&mut self, node: &Node, scope: &Scope) -> Option<Json> {
        Some(match &node.value {
            Value::Null => Json::Null,
            Value::Bool(b) => Json::Bool(*b),
            Value::Int(i) => Json::from(*i),
            Value::UInt(u) => Json::from(*u),
            Value::Float(f) => match serde_json::Number::from_f64(*f) {
                Some(n) => Json::Number(n),
                None => {
                    self.error(node.span, "not a finite number", "JSON has no NaN or infinity");
                    return None;
                }
            },
            Value::Str(s) => Json::String(self.interpolate(node, s, scope)?),
            Value::Seq(items) => {
                let mut out = Vec::with_capacity(items.len());
                let mut ok = true;
                for item in items {
                    match self.json(item, scope) {
                        Some(v) => out.push(v),
                        None => ok = false,
                    }
                }
                if !ok {
                    return None;
                }
                Json::Array(out)
            }
            Value::Map(_) => {
                let entries = self.entries(node, "value")?;
                let mut out = serde_json::Map::with_capacity(entries.len());
                let mut ok = true;
                for (k, v) in entries {
                    match self.json(v, scope) {
                        // JSON object keys are strings; YAML `1: x` keys are written as text.
                        Some(val) => {
                            out.insert(k.key_text().into_owned(), val);
                        }
                        None => ok = false,
                    }
                }
                if !ok {
                    return None;
                }
                Json::Object(out)
            }
        })
    }
}
