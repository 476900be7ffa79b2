//! The checker: walks a [`Node`] tree, collects every [`Problem`], and
//! converts values to JSON — numbers exactly as written, `${NAME}` expanded,
//! a string that is exactly `"${NAME}"` taking the variable's type where
//! the field takes more than text. Shared by the document-level and the
//! command-level validation.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use serde_json::Value as Json;

use super::interpolate::{self, Found};
use super::yaml::{self, Node, Span, Value};
use crate::diagnostic::{Problem, Source};
use crate::methods::proto::{Field, Scalar, Shape, schema};

/// A variable's value: the text `${NAME}` gives inside a longer string,
/// and the typed value a string that is exactly `"${NAME}"` takes.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Var {
    pub text: String,
    pub value: Json,
}

impl Var {
    /// A text read as a YAML scalar (`--var`, the environment, lines of a
    /// file): `5` a number, `true` a boolean, `'"5"'` a string.
    pub(crate) fn scalar(text: &str) -> Var {
        let value = yaml::text_json(text);
        let text = match &value {
            Json::String(s) => s.clone(),
            _ => text.trim().to_owned(),
        };
        Var { text, value }
    }

    /// A typed value (a `vars:` entry, a row's field, a saved value).
    pub(crate) fn typed(value: Json) -> Var {
        let text = match &value {
            Json::String(s) => s.clone(),
            other => other.to_string(),
        };
        Var { text, value }
    }
}

/// `${item}` of a `for_each` command: a value, or a row whose fields are
/// `${item.FIELD}`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Item {
    One(Var),
    Row(Vec<(String, Var)>),
}

/// Variables visible to interpolation: `--var` (and variable files) over
/// `vars:` over names saved by earlier commands over the environment.
pub(crate) struct Scope<'a> {
    pub cli: &'a HashMap<String, Var>,
    pub vars: &'a HashMap<String, Var>,
    /// `None`: the environment is off (`--no-env`).
    pub env: Option<&'a HashMap<String, String>>,
    /// `${item}` inside a `for_each` command.
    pub item: Option<&'a Item>,
    /// Text is taken as it is: no `${...}` interpolation (params given as
    /// JSON to `call`, already expanded by the shell).
    pub literal: bool,
    /// Names saved by earlier commands, each standing as its placeholder
    /// until the command is sent.
    pub saved: Option<&'a HashMap<String, String>>,
    /// Names never put into a command (credentials, secret variables);
    /// `None` outside commands (`server:` may use them).
    pub forbidden: Option<&'a HashSet<String>>,
    /// How messages name the options.
    pub naming: super::Naming,
}

/// What a name stands for in a scope.
pub(crate) enum Lookup<'s> {
    Var(Cow<'s, Var>),
    /// A saved name: its placeholder.
    Saved(&'s str),
    Missing,
    Forbidden(&'static str),
}

impl<'a> Scope<'a> {
    pub(crate) fn new(
        cli: &'a HashMap<String, Var>,
        vars: &'a HashMap<String, Var>,
        env: Option<&'a HashMap<String, String>>,
    ) -> Self {
        Scope {
            cli,
            vars,
            env,
            item: None,
            literal: false,
            saved: None,
            forbidden: None,
            naming: super::Naming::Library,
        }
    }

    /// A name's value. An empty environment variable counts as unset (what
    /// CI gives for a variable that is not set); an empty `--var` or
    /// `vars:` value is a value.
    /// `reads`: where what was read is recorded (`None`: not recorded).
    pub(crate) fn lookup(&self, name: &str, at: Span, reads: Option<&RefCell<Reads>>) -> Lookup<'a> {
        let record = |f: &dyn Fn(&mut Reads)| {
            if let Some(r) = reads {
                f(&mut r.borrow_mut());
            }
        };
        record(&|r| {
            if !r.names.contains(name) {
                r.names.insert(name.to_owned());
            }
        });
        if let Some(item) = self.item {
            match (name, item) {
                ("item", Item::One(v)) => return Lookup::Var(Cow::Borrowed(v)),
                ("item", Item::Row(fields)) => {
                    let row: serde_json::Map<String, Json> =
                        fields.iter().map(|(k, v)| (k.clone(), v.value.clone())).collect();
                    return Lookup::Var(Cow::Owned(Var::typed(Json::Object(row))));
                }
                (n, Item::Row(fields)) if n.starts_with("item.") => {
                    return match fields.iter().find(|(k, _)| k == &n[5..]) {
                        Some((_, v)) => Lookup::Var(Cow::Borrowed(v)),
                        None => Lookup::Missing,
                    };
                }
                _ => {}
            }
        }
        if let Some(f) = self.forbidden
            && f.contains(name)
        {
            return Lookup::Forbidden("it holds a credential or a secret, and those never go into a command");
        }
        if let Some(v) = self.cli.get(name) {
            record(&|r| {
                r.cli.insert(name.to_owned());
            });
            return Lookup::Var(Cow::Borrowed(v));
        }
        if let Some(v) = self.vars.get(name) {
            return Lookup::Var(Cow::Borrowed(v));
        }
        if let Some(p) = self.saved.and_then(|s| s.get(name)) {
            return Lookup::Saved(p);
        }
        match self.env.map(|e| e.get(name).filter(|v| !v.is_empty())) {
            Some(Some(v)) => {
                record(&|r| {
                    r.env.entry(name.to_owned()).or_insert(at);
                });
                Lookup::Var(Cow::Owned(Var::scalar(v)))
            }
            // Looked for in the environment, not there (a default may stand in):
            // a reviewer sees it among what the manifest reads.
            Some(None) => {
                record(&|r| {
                    r.env_absent.insert(name.to_owned());
                });
                Lookup::Missing
            }
            None => Lookup::Missing,
        }
    }

    /// The same scope without saved names (for labels, which are made before anything runs).
    pub(crate) fn without_saved(&self) -> Scope<'a> {
        Scope { saved: None, ..*self }
    }
}

/// Which variables were read: `--var` names, environment variables (where
/// first), every name referred to.
#[derive(Debug, Default, Clone)]
pub(crate) struct Reads {
    pub cli: BTreeSet<String>,
    pub env: BTreeMap<String, Span>,
    /// Environment variables looked for and not set.
    pub env_absent: BTreeSet<String>,
    pub names: BTreeSet<String>,
}

pub(crate) struct Checker<'s> {
    pub source: &'s Source,
    pub problems: Vec<Problem>,
    pub reads: RefCell<Reads>,
    /// Lookups are not recorded in `reads` (a `for_each` item read again
    /// what its kind's first item recorded).
    pub(super) quiet: bool,
    /// The last offset [`Checker::line_of`] was asked for, and its line:
    /// items come in order, so the next line is a few bytes of counting away.
    line_cursor: std::cell::Cell<(usize, usize)>,
}

impl<'s> Checker<'s> {
    pub(crate) fn new(source: &'s Source) -> Self {
        Checker {
            source,
            problems: Vec::new(),
            reads: RefCell::default(),
            quiet: false,
            line_cursor: Default::default(),
        }
    }

    pub(crate) fn error(&mut self, span: Span, label: &str, message: impl Into<String>) -> &mut Problem {
        self.problems.push(Problem::error(message).at(self.source, span, label));
        self.problems.last_mut().expect("just pushed")
    }

    pub(crate) fn warn(&mut self, span: Span, label: &str, message: impl Into<String>) -> &mut Problem {
        self.problems.push(Problem::error(message).at(self.source, span, label).warning());
        self.problems.last_mut().expect("just pushed")
    }

    fn recorded(&self) -> Option<&RefCell<Reads>> {
        (!self.quiet).then_some(&self.reads)
    }

    pub(crate) fn line_of(&self, span: Span) -> usize {
        // Offset 0 is on line 1.
        let (at, line) = self.line_cursor.get();
        let (at, line) = if line == 0 { (0, 1) } else { (at, line) };
        let to = span.offset.min(self.source.text.len());
        let line = match to.checked_sub(at) {
            // Most items are a line or two: found one by one.
            Some(..=4096) => {
                let (mut lines, mut rest) = (line, &self.source.text.as_bytes()[at..to]);
                while let Some(i) = memchr::memchr(b'\n', rest) {
                    lines += 1;
                    rest = &rest[i + 1..];
                }
                lines
            }
            // The first item of a part far into the text: counted, without the index.
            Some(_) => line + memchr::memchr_iter(b'\n', &self.source.text.as_bytes()[at..to]).count(),
            None => self.source.line_col(to).0,
        };
        self.line_cursor.set((to, line));
        line
    }

    /// Mapping entries with duplicate keys reported (later duplicates are dropped).
    pub(crate) fn entries<'n, 'a>(
        &mut self,
        node: &'n Node<'a>,
        what: &str,
    ) -> Option<Vec<(&'n Node<'a>, &'n Node<'a>)>> {
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

    pub(crate) fn type_error(&mut self, node: &Node, message: &str, expected: &str) {
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
    pub(crate) fn string(&mut self, node: &Node, what: &str, scope: &Scope) -> Option<String> {
        let Value::Str(s) = &node.value else {
            self.type_error(node, &format!("{what} must be a string"), "a string");
            return None;
        };
        self.interpolate(node, s, scope)
    }

    /// `s` (the value of `node`) with `${...}` expanded; problems recorded.
    pub(crate) fn interpolate(&mut self, node: &Node, s: &str, scope: &Scope) -> Option<String> {
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
    pub(crate) fn expand(&self, node: &Node, s: &str, scope: &Scope) -> Result<String, Vec<Problem>> {
        if scope.literal {
            return Ok(s.to_owned());
        }
        let lookup = |n: &str| match scope.lookup(n, node.span, self.recorded()) {
            Lookup::Var(Cow::Borrowed(v)) => Found::Text(Cow::Borrowed(v.text.as_str())),
            Lookup::Var(Cow::Owned(v)) => Found::Text(Cow::Owned(v.text)),
            Lookup::Saved(p) => Found::Text(Cow::Borrowed(p)),
            Lookup::Missing => Found::Missing,
            Lookup::Forbidden(why) => Found::Forbidden(why),
        };
        interpolate::expand(s, &lookup)
            .map_err(|errs| errs.into_iter().map(|e| self.unresolved(node, s, e, scope)).collect())
    }

    fn unresolved(&self, node: &Node, s: &str, e: interpolate::Unresolved, scope: &Scope) -> Problem {
        let span = self.sub_span(node, s, e.range.clone());
        if let Some(why) = e.forbidden {
            let p = Problem::error(format!("`${{{}}}` cannot be used in a command: {why}", e.name))
                .at(self.source, span, "not here")
                .help(format!(
                    "a credential may be used in `server:`; data meant to be published goes under `vars:` or in {}, under a name of its own",
                    scope.naming.var("NAME")
                ));
            return p;
        }
        let (label, message, help) = if e.unterminated {
            ("no closing `}`", "unterminated `${` in string".to_owned(), "write `$${` for a literal `${`".to_owned())
        } else if e.name.is_empty() {
            (
                "no name",
                "empty variable name in `${}`".to_owned(),
                "write `${NAME}`, or `$${` for a literal `${`".to_owned(),
            )
        } else {
            let help = if e.name == "item" || e.name.starts_with("item.") {
                match scope.item {
                    Some(Item::Row(fields)) => format!(
                        "this row has: {}",
                        fields.iter().map(|(k, _)| format!("`${{item.{k}}}`")).collect::<Vec<_>>().join(", ")
                    ),
                    _ => "`${item}` is only defined inside a command with `for_each`".into(),
                }
            } else {
                format!(
                    "define it under `vars:`, pass {2}, {1}or give a default: `${{{0}:-VALUE}}`",
                    e.name,
                    if scope.env.is_some() {
                        format!("set the environment variable {}, ", e.name)
                    } else {
                        String::new()
                    },
                    scope.naming.var(&e.name)
                )
            };
            let message = match (scope.item, e.name.strip_prefix("item.")) {
                (Some(Item::Row(_)), Some(field)) => format!("the row has no field `{field}`"),
                _ => format!("undefined variable `{}`", e.name),
            };
            ("not defined", message, help)
        };
        Problem::error(message).at(self.source, span, label).help(help)
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

    /// Any YAML value as JSON, numbers exactly as written and strings
    /// interpolated; `expect` is where the value goes in the server's
    /// definition, so a string that is exactly `"${NAME}"` becomes the
    /// variable's text where a string is wanted and its typed value
    /// elsewhere.
    pub(crate) fn json(&mut self, node: &Node, scope: &Scope, expect: Expect) -> Option<Json> {
        Some(match &node.value {
            Value::Null => Json::Null,
            Value::Bool(b) => Json::Bool(*b),
            Value::Int(_) | Value::UInt(_) | Value::Float(_) => {
                let text = self.source.text.get(node.span.offset..node.span.offset + node.span.len).unwrap_or("");
                match yaml::json_number(text.trim(), &node.value) {
                    Some(n) => n,
                    None => {
                        self.error(node.span, "not a finite number", "JSON has no NaN or infinity");
                        return None;
                    }
                }
            }
            Value::Str(s) => return self.string_json(node, s, scope, expect),
            Value::Seq(items) => {
                let mut out = Vec::with_capacity(items.len());
                let mut ok = true;
                for item in items {
                    match self.json(item, scope, expect.item()) {
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
                    let key = k.key_text();
                    match self.json(v, scope, expect.entry(&key)) {
                        // JSON object keys are strings; YAML `1: x` keys are written as text.
                        Some(val) => {
                            out.insert(key.into_owned(), val);
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

    /// A string scalar as JSON (see [`Checker::json`]).
    fn string_json(&mut self, node: &Node, s: &str, scope: &Scope, expect: Expect) -> Option<Json> {
        if scope.literal {
            return Some(Json::String(s.to_owned()));
        }
        let Some((name, default)) = interpolate::exact(s) else {
            return self.interpolate(node, s, scope).map(Json::String);
        };
        let text = expect.wants_text();
        match scope.lookup(name, node.span, self.recorded()) {
            Lookup::Saved(p) => Some(Json::String(p.to_owned())),
            Lookup::Var(v) if !(v.text.is_empty() && default.is_some()) => {
                Some(if text { Json::String(v.text.clone()) } else { v.value.clone() })
            }
            Lookup::Var(_) | Lookup::Missing if default.is_some() => {
                let d = default.unwrap_or_default();
                Some(if text { Json::String(d.to_owned()) } else { yaml::text_json(d) })
            }
            _ => self.interpolate(node, s, scope).map(Json::String),
        }
    }
}

/// Where a value goes in the server's definition: what a string that is
/// exactly `"${NAME}"` becomes there.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Expect {
    /// Raw JSON, or a field the definition does not know: the typed value.
    Any,
    /// The whole value of a field (a list or map for repeated and map fields).
    Field(&'static Field),
    /// One element of a field's type.
    One(&'static Field),
}

impl Expect {
    /// A string is wanted here: a variable gives its text.
    pub(crate) fn wants_text(self) -> bool {
        match self {
            Expect::One(f) => f.ty == Scalar::String,
            Expect::Field(f) => f.shape == Shape::One && f.ty == Scalar::String,
            _ => false,
        }
    }

    /// What the items of a list here are.
    fn item(self) -> Expect {
        match self {
            Expect::Field(f) if f.shape == Shape::Repeated => Expect::One(f),
            _ => Expect::Any,
        }
    }

    /// What the value of entry `key` of a mapping here is.
    fn entry(self, key: &str) -> Expect {
        let message = match self {
            Expect::Field(f) if f.shape == Shape::Map => return Expect::One(f),
            Expect::Field(f) | Expect::One(f) => match f.ty {
                Scalar::Message(name) => schema().message(name),
                _ => None,
            },
            Expect::Any => None,
        };
        match message.and_then(|m| m.field(key)) {
            Some(f) => Expect::Field(f),
            None => Expect::Any,
        }
    }
}
