//! Steps: `wait:` items, and `expect:`, `until:` and `save:` on commands —
//! parsed and validated here (paths against the method's reply shape from
//! the server's definition), evaluated by the executor.
//!
//! A saved name used in a command's params is kept there as a placeholder
//! (see [`saved_placeholder`]) and replaced with the saved value when the
//! command is sent; a scalar that is exactly `"${NAME}"` takes the value's
//! JSON type.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::Value as Json;

use super::check::{Checker, Expect, Scope};
use super::yaml::{Node, Span, Value};
use crate::diagnostic::did_you_mean;
use crate::methods::{Method, replies};
use crate::protocol::Protocol;

/// A dot path into a command's result (`publications.0.data.title`):
/// object keys, and numbers that index arrays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JsonPath(pub Vec<String>);

impl JsonPath {
    /// The value at this path in `root`.
    pub(crate) fn find<'j>(&self, root: &'j Json) -> Option<&'j Json> {
        self.0.iter().try_fold(root, |at, seg| match at {
            Json::Object(m) => m.get(seg),
            Json::Array(a) => seg.parse::<usize>().ok().and_then(|i| a.get(i)),
            _ => None,
        })
    }
}

impl std::fmt::Display for JsonPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.join("."))
    }
}

/// Where something is written: the manifest (an index into the run's
/// sources), its place and its line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct At {
    pub manifest: u32,
    pub span: Span,
    pub line: u32,
}

/// A check's operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
    Len,
    Contains,
    Exists,
    Matches,
}

/// Every operator: its name, and what it means in words.
const OPS: &[(&str, Op, &str)] = &[
    ("eq", Op::Eq, "equal to (JSON equality, numbers by value)"),
    ("ne", Op::Ne, "not equal to"),
    ("gt", Op::Gt, "greater than (numbers)"),
    ("ge", Op::Ge, "greater than or equal to (numbers)"),
    ("lt", Op::Lt, "less than (numbers)"),
    ("le", Op::Le, "less than or equal to (numbers)"),
    ("len", Op::Len, "has this many items (list), keys (mapping) or characters (string)"),
    ("contains", Op::Contains, "a list with an item equal to it, or a string with it as a part"),
    ("exists", Op::Exists, "the path is there (true) or not (false)"),
    ("matches", Op::Matches, "a string (or the JSON text of another value) matching this regular expression"),
];

/// What people write for an operator, and the operator that keeps its meaning.
const ALIASES: &[(&str, &str)] = &[
    ("gte", "ge"),
    ("lte", "le"),
    (">=", "ge"),
    ("<=", "le"),
    (">", "gt"),
    ("<", "lt"),
    ("=", "eq"),
    ("==", "eq"),
    ("!=", "ne"),
    ("neq", "ne"),
    ("equals", "eq"),
    ("length", "len"),
    ("size", "len"),
    ("count", "len"),
    ("regex", "matches"),
    ("match", "matches"),
    ("has", "contains"),
    ("includes", "contains"),
    ("exist", "exists"),
];

impl Op {
    /// Its name in manifests.
    pub(crate) fn as_str(self) -> &'static str {
        OPS.iter().find(|(_, o, _)| *o == self).map_or("eq", |(n, _, _)| n)
    }

    fn named(name: &str) -> Option<Op> {
        OPS.iter().find(|(n, _, _)| *n == name).map(|(_, o, _)| *o)
    }
}

/// Every operator with its meaning (for the documentation).
pub(crate) fn operators() -> impl Iterator<Item = (&'static str, &'static str)> {
    OPS.iter().map(|(n, _, m)| (*n, *m)).chain([("not", "negates one check (an operator map, or a value)")])
}

/// What people write for an operator (refused with the operator that keeps the meaning).
pub(crate) fn aliases() -> impl Iterator<Item = &'static str> {
    ALIASES.iter().map(|(a, _)| *a)
}

/// A condition on a value: one operator, all of several, or the negation of one.
#[derive(Debug, Clone)]
pub(crate) enum Cond {
    Op { op: Op, wanted: Json, pattern: Option<regex::Regex> },
    All(Vec<Cond>),
    Not(Box<Cond>),
}

impl Cond {
    /// In words, as reports show it: `= 3`, `ge 0 and le 10`, `not eq 1`.
    pub(crate) fn describe(&self) -> String {
        match self {
            Cond::Op { op: Op::Eq, wanted, .. } => wanted.to_string(),
            Cond::Op { op, wanted, .. } => format!("{} {wanted}", op.as_str()),
            Cond::All(all) => all.iter().map(Cond::describe).collect::<Vec<_>>().join(" and "),
            Cond::Not(c) => match &**c {
                Cond::Op { op: Op::Eq, wanted, .. } => format!("not {wanted}"),
                other => format!("not {}", other.describe()),
            },
        }
    }

    /// Every wanted value (saved values are filled into them).
    pub(crate) fn wanted_mut(&mut self) -> Vec<&mut Json> {
        match self {
            Cond::Op { wanted, .. } => vec![wanted],
            Cond::All(all) => all.iter_mut().flat_map(Cond::wanted_mut).collect(),
            Cond::Not(c) => c.wanted_mut(),
        }
    }

    /// Every wanted value.
    pub(crate) fn wanted(&self) -> Vec<&Json> {
        match self {
            Cond::Op { wanted, .. } => vec![wanted],
            Cond::All(all) => all.iter().flat_map(Cond::wanted).collect(),
            Cond::Not(c) => c.wanted(),
        }
    }
}

/// One check on a command's result.
#[derive(Debug, Clone)]
pub(crate) struct Check {
    pub path: JsonPath,
    pub cond: Cond,
    /// Where the check is written (its key).
    pub at: At,
}

/// `until:` — send the command again every `every` until its checks hold,
/// for at most `timeout`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Until {
    pub every: Duration,
    pub timeout: Duration,
}

/// What a command does beyond being sent.
#[derive(Debug, Clone, Default)]
pub(crate) struct Steps {
    /// A `wait:` item: a barrier, then this pause.
    pub wait: Option<Duration>,
    /// Checks on the result, all of which must hold.
    pub expect: Vec<Check>,
    /// `expect: {error: CODE}`: the server must refuse with this code.
    pub expect_error: Option<(u32, At)>,
    pub until: Option<Until>,
    /// `save: {NAME: PATH}`.
    pub save: Vec<(String, JsonPath)>,
    /// Saved names its params (or checks) use: it starts after they are saved.
    pub uses: Vec<String>,
    /// `delivered: {within}`: a listener must receive what it caused, in time.
    pub delivered: Option<(Duration, At)>,
}

impl Steps {
    /// It has checks on its reply.
    pub(crate) fn has_expectations(&self) -> bool {
        !self.expect.is_empty() || self.expect_error.is_some()
    }
}

/// How a saved name stands in params until the command is sent: a string
/// no manifest writes (it holds NUL characters).
pub(crate) fn saved_placeholder(name: &str) -> String {
    format!("\u{0}saved:{name}\u{0}")
}

/// The saved names a JSON text's placeholders refer to, in order, once each.
pub(crate) fn placeholders_in(json_text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for part in json_text.split("\\u0000saved:").skip(1) {
        if let Some(end) = part.find("\\u0000") {
            let name = &part[..end];
            if !out.iter().any(|n| n == name) {
                out.push(name.to_owned());
            }
        }
    }
    out
}

/// A JSON text with its placeholders shown as the manifest wrote them
/// (`${NAME}`), for `plan`.
pub(crate) fn shown_placeholders(json_text: &str) -> String {
    if !json_text.contains("\\u0000saved:") {
        return json_text.to_owned();
    }
    json_text.replace("\\u0000saved:", "${").replace("\\u0000", "}")
}

/// Replaces placeholders in `value` with saved values: a string that is a
/// placeholder becomes the value itself (its JSON type kept); a string
/// holding placeholders gets their text.
pub(crate) fn substitute(value: &mut Json, saved: &HashMap<String, Json>) {
    match value {
        Json::String(s) if s.contains("\u{0}saved:") => {
            let whole = s.strip_prefix("\u{0}saved:").and_then(|r| r.strip_suffix('\u{0}'));
            if let Some(v) = whole.filter(|n| !n.contains('\u{0}')).and_then(|n| saved.get(n)) {
                *value = v.clone();
                return;
            }
            let mut text = s.clone();
            for (name, v) in saved {
                let shown = match v {
                    Json::String(t) => t.clone(),
                    other => other.to_string(),
                };
                text = text.replace(&saved_placeholder(name), &shown);
            }
            *s = text;
        }
        Json::Array(items) => items.iter_mut().for_each(|v| substitute(v, saved)),
        Json::Object(map) => map.values_mut().for_each(|v| substitute(v, saved)),
        _ => {}
    }
}

/// A duration in Go's form (`${VAR}` allowed); `zero_ok` for `wait: 0s`
/// (a barrier only), else it must be positive. A bare number is refused
/// with a hint to add a unit.
pub(super) fn duration(ck: &mut Checker, v: &Node, what: &str, zero_ok: bool, scope: &Scope) -> Option<Duration> {
    let text = match &v.value {
        Value::Str(s) => ck.interpolate(v, s, &scope.without_saved())?,
        Value::Int(_) | Value::UInt(_) | Value::Float(_) => v.key_text().into_owned(),
        _ => {
            ck.type_error(v, &format!("`{what}` must be a duration like `5s`, `500ms`, `1m30s`"), "a duration");
            return None;
        }
    };
    let parsed = if zero_ok { crate::duration::parse(&text) } else { crate::duration::parse_positive(&text) };
    match parsed {
        Ok(d) => Some(d),
        Err(e) => {
            let label = if e.message.contains("positive") { "must be positive" } else { "not a duration" };
            let p = ck.error(v.span, label, format!("`{what}`: {}", e.message));
            p.help = Some(if zero_ok && !e.message.contains("no unit") {
                format!("{}, or `0s` for a barrier only", e.hint)
            } else {
                e.hint
            });
            None
        }
    }
}

/// What a step needs to know of its command: the method and protocol
/// (reply shapes) and the manifest it is in.
pub(crate) struct StepContext<'m> {
    pub method: &'m Method,
    pub protocol: Protocol,
    pub manifest: u32,
}

impl StepContext<'_> {
    fn at(&self, ck: &Checker, span: Span) -> At {
        At { manifest: self.manifest, span, line: ck.line_of(span) as u32 }
    }
}

/// A dot path written at `node` (`text`), checked against the method's reply.
fn path(ck: &mut Checker, node: &Node, text: &str, cx: &StepContext) -> Option<JsonPath> {
    let segs: Vec<String> = text.split('.').map(str::to_owned).collect();
    if text.is_empty() || segs.iter().any(String::is_empty) {
        ck.error(node.span, "bad path", format!("`{text}` is not a path")).help =
            Some("a dot path into the result: `num_clients`, `publications.0.data.title`".into());
        return None;
    }
    if let Err(e) = replies::check_path(cx.method, cx.protocol, &segs) {
        // Point at the segment when the key is written as it reads.
        let start: usize = segs[..e.segment].iter().map(|s| s.len() + 1).sum();
        let raw = ck.source.text.get(node.span.offset..node.span.offset + node.span.len).unwrap_or("");
        let span =
            if raw == text { Span { offset: node.span.offset + start, len: segs[e.segment].len() } } else { node.span };
        let p = ck.error(span, "not in the reply", e.message);
        p.help = e.help;
        return None;
    }
    Some(JsonPath(segs))
}

/// `expect:` — checks, or `error: CODE`.
pub(super) fn expect(ck: &mut Checker, v: &Node, scope: &Scope, cx: &StepContext, steps: &mut Steps) -> bool {
    let Some(entries) = ck.entries(v, "`expect`") else { return false };
    let mut ok = true;
    for (k, val) in &entries {
        let key = k.key_text();
        if key == "error" {
            match val.value {
                Value::Int(c) if c > 0 && c <= u32::MAX as i64 => {
                    steps.expect_error = Some((c as u32, cx.at(ck, k.span)))
                }
                _ => {
                    ck.type_error(val, "`error` must be the server's error code, e.g. `102`", "an integer");
                    ok = false;
                }
            }
            continue;
        }
        let Some(p) = path(ck, k, &key, cx) else {
            ok = false;
            continue;
        };
        match cond(ck, val, scope) {
            Some(cond) => steps.expect.push(Check { path: p, cond, at: cx.at(ck, k.span) }),
            None => ok = false,
        }
    }
    if steps.expect_error.is_some() && !steps.expect.is_empty() {
        ck.error(v.span, "error and checks", "`expect: {error: ...}` cannot be combined with checks on the result")
            .help = Some("a refused command has no result to check".into());
        ok = false;
    }
    ok
}

/// A check's condition: a literal (equality), a map of operators that must
/// all hold, or `not`. A map with no operator key is a literal — unless a
/// key is near an operator's name, which is an error with the operator that
/// keeps the meaning (`gte` → `ge`); `{eq: {...}}` compares with any map.
fn cond(ck: &mut Checker, v: &Node, scope: &Scope) -> Option<Cond> {
    let Some(entries) = v.as_map() else { return operand(ck, Op::Eq, v, scope) };
    let is_op = |k: &Node| k.as_str().is_some_and(|k| k == "not" || Op::named(k).is_some());
    let ops = entries.iter().filter(|(k, _)| is_op(k)).count();
    if ops == 0 {
        for (k, _) in entries {
            let key = k.key_text();
            let alias = ALIASES.iter().find(|(a, _)| *a == key).map(|(_, op)| *op);
            let near = alias
                .or_else(|| (key.len() <= 8).then(|| did_you_mean(&key, OPS.iter().map(|(n, _, _)| *n))).flatten());
            if key == "in" {
                ck.error(k.span, "unknown operator", "unknown operator `in`").help = Some(
                    "there is no `in`: check a list with `contains: VALUE`, or a value with `matches: ^(a|b)$`; to compare with a map, write `eq: {in: ...}`".into(),
                );
                return None;
            }
            if let Some(op) = near {
                ck.error(k.span, "unknown operator", format!("unknown operator `{key}`")).help =
                    Some(format!("write `{op}` ({}); to compare with a map, write `eq: {{{key}: ...}}`", meaning(op)));
                return None;
            }
        }
        return operand(ck, Op::Eq, v, scope);
    }
    if ops < entries.len() {
        let other = entries.iter().find(|(k, _)| !is_op(k)).map(|(k, _)| k).expect("a non-operator key");
        ck.error(
            other.span,
            "not an operator",
            format!("`{}` is not an operator, beside operators", other.key_text()),
        )
        .help = Some(
            "all keys of a check are operators, which must all hold; to compare with a map, write `eq: {...}`".into(),
        );
        return None;
    }
    let mut all = Vec::with_capacity(entries.len());
    let mut ok = true;
    for (k, operand_node) in ck.entries(v, "a check")? {
        let key = k.key_text();
        let c = if key == "not" {
            cond(ck, operand_node, scope).map(|c| Cond::Not(Box::new(c)))
        } else {
            operand(ck, Op::named(&key).expect("an operator"), operand_node, scope)
        };
        match c {
            Some(c) => all.push(c),
            None => ok = false,
        }
    }
    if !ok {
        return None;
    }
    Some(if all.len() == 1 { all.remove(0) } else { Cond::All(all) })
}

fn meaning(op: &str) -> &'static str {
    OPS.iter().find(|(n, _, _)| *n == op).map_or("", |(_, _, m)| m)
}

/// One operator and its operand, the operand's kind checked.
fn operand(ck: &mut Checker, op: Op, v: &Node, scope: &Scope) -> Option<Cond> {
    let wanted = ck.json(v, scope, Expect::Any)?;
    let kind_error = |ck: &mut Checker, expected: &str| {
        ck.type_error(v, &format!("`{}` takes {expected}", op.as_str()), expected);
    };
    let mut pattern = None;
    match op {
        Op::Gt | Op::Ge | Op::Lt | Op::Le if !wanted.is_number() && !is_placeholder(&wanted) => {
            kind_error(ck, "a number");
            return None;
        }
        Op::Len if !wanted.is_u64() && !is_placeholder(&wanted) => {
            kind_error(ck, "a non-negative integer");
            return None;
        }
        Op::Exists if !wanted.is_boolean() => {
            kind_error(ck, "a boolean");
            return None;
        }
        Op::Matches => {
            let Some(text) = wanted.as_str() else {
                kind_error(ck, "a regular expression");
                return None;
            };
            match regex::Regex::new(text) {
                Ok(r) => pattern = Some(r),
                Err(e) => {
                    let shown = e.to_string();
                    let last = shown.lines().last().unwrap_or("").trim().trim_start_matches("error: ").to_owned();
                    ck.error(v.span, "bad pattern", format!("not a regular expression: {last}"));
                    return None;
                }
            }
        }
        _ => {}
    }
    Some(Cond::Op { op, wanted, pattern })
}

fn is_placeholder(v: &Json) -> bool {
    v.as_str().is_some_and(|s| s.starts_with("\u{0}saved:"))
}

/// `until: {every: DURATION, timeout: DURATION}` (`every` defaults to 1s).
pub(super) fn until(ck: &mut Checker, v: &Node, scope: &Scope) -> Option<Until> {
    let before = ck.problems.len();
    let entries = ck.entries(v, "`until`")?;
    let (mut every, mut timeout) = (Some(Duration::from_secs(1)), None);
    let mut ok = true;
    for (k, val) in entries {
        match k.key_text().as_ref() {
            "every" => every = duration(ck, val, "every", false, scope),
            "timeout" => timeout = duration(ck, val, "timeout", false, scope),
            other => {
                super::document::unknown_key(ck, k, other, Some("until"), &["every", "timeout"]);
                ok = false;
            }
        }
    }
    // A missing `timeout` is said only when nothing else about `until` was.
    if ok && timeout.is_none() && ck.problems.len() == before {
        ck.error(v.span, "no `timeout`", "`until` needs a `timeout`").help =
            Some("e.g. `until: {every: 1s, timeout: 30s}`".into());
    }
    Some(Until { every: every?, timeout: timeout? }).filter(|_| ok)
}

/// A saved name as declared: its name, where, and the path it saves.
#[derive(Debug, Clone)]
pub(crate) struct Saved {
    pub name: String,
    pub span: Span,
    pub path: JsonPath,
}

/// `delivered: {within: DURATION}`: how long a listener may take to hear
/// what the command caused.
pub(super) fn delivered(
    ck: &mut Checker,
    k: &Node,
    v: &Node,
    scope: &Scope,
    cx: &StepContext,
) -> Option<(Duration, At)> {
    let entries = ck.entries(v, "`delivered`")?;
    let mut within = None;
    for (key, val) in entries {
        match key.as_str() {
            Some("within") => within = duration(ck, val, "within", false, scope),
            _ => {
                super::document::unknown_key(ck, key, &key.key_text(), Some("delivered"), &["within"]);
                return None;
            }
        }
    }
    match within {
        Some(d) => Some((d, At { manifest: cx.manifest, span: k.span, line: ck.line_of(k.span) as u32 })),
        None => {
            if !ck.problems.iter().any(|p| p.span.offset >= v.span.offset && p.span.offset < v.span.offset + v.span.len)
            {
                ck.error(v.span, "no `within`", "`delivered` needs `within`, e.g. `delivered: {within: 5s}`");
            }
            None
        }
    }
}

/// `save: {NAME: PATH}`; names must not clash with variables, and paths
/// must be in the method's reply. Each valid name is returned with where
/// it is written, even when others are not.
pub(super) fn save(ck: &mut Checker, v: &Node, scope: &Scope, cx: &StepContext, out: &mut Vec<Saved>) -> bool {
    let Some(entries) = ck.entries(v, "`save`") else { return false };
    let mut ok = true;
    for (k, val) in entries {
        let name = k.key_text();
        if !crate::settings::value::is_name(&name) || name == "item" {
            ck.error(k.span, "bad name", format!("`{name}` cannot be a saved name")).help =
                Some("a name of letters, digits and `_` that is not `item`, used as `${NAME}`".into());
            ok = false;
            continue;
        }
        if scope.cli.contains_key(name.as_ref()) || scope.vars.contains_key(name.as_ref()) {
            ck.error(k.span, "clashes with a variable", format!("saved name `{name}` is already a variable")).help =
                Some("choose another name: `${NAME}` would be ambiguous".into());
            ok = false;
            continue;
        }
        if scope.forbidden.is_some_and(|f| f.contains(name.as_ref())) {
            ck.error(k.span, "a credential's name", format!("`{name}` names a credential or a secret")).help =
                Some("choose another name: a saved value is used in commands, and a secret never is".into());
            ok = false;
            continue;
        }
        if scope.env.is_some_and(|e| e.get(name.as_ref()).is_some_and(|v| !v.is_empty())) {
            ck.warn(k.span, "shadows the environment", format!("`{name}` is also an environment variable")).help =
                Some(format!("after this command `${{{name}}}` is the saved value, before it the environment's"));
        }
        let Some(text) = ck.string(val, "a saved path", scope) else {
            ok = false;
            continue;
        };
        // A wrong path is reported here; the name is still declared, so
        // its uses are not reported again as undefined.
        let found = path(ck, val, &text, cx);
        ok &= found.is_some();
        let p = found.unwrap_or_else(|| JsonPath(text.split('.').map(str::to_owned).collect()));
        out.push(Saved { name: name.into_owned(), span: k.span, path: p });
    }
    ok
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn placeholders_keep_the_saved_values_type_when_they_are_the_whole_value() {
        let saved: HashMap<String, Json> = [("off".to_owned(), json!(7)), ("ep".to_owned(), json!("kTbX"))].into();
        let mut v = json!({"since": {"offset": saved_placeholder("off"), "epoch": saved_placeholder("ep")},
                           "text": format!("at {} of {}", saved_placeholder("off"), saved_placeholder("ep"))});
        let text = serde_json::to_string(&v).unwrap();
        assert_eq!(placeholders_in(&text), ["off", "ep"]);
        substitute(&mut v, &saved);
        assert_eq!(v, json!({"since": {"offset": 7, "epoch": "kTbX"}, "text": "at 7 of kTbX"}));
    }

    #[test]
    fn paths_find_keys_and_indices() {
        let r = json!({"publications": [{"data": {"title": "x"}}], "offset": 3});
        assert_eq!(
            JsonPath(vec!["publications".into(), "0".into(), "data".into(), "title".into()]).find(&r),
            Some(&json!("x"))
        );
        assert_eq!(JsonPath(vec!["offset".into()]).find(&r), Some(&json!(3)));
        assert_eq!(JsonPath(vec!["publications".into(), "1".into()]).find(&r), None);
    }

    #[test]
    fn conditions_in_words() {
        let op = |op, w| Cond::Op { op, wanted: w, pattern: None };
        assert_eq!(Cond::All(vec![op(Op::Ge, json!(0)), op(Op::Le, json!(10))]).describe(), "ge 0 and le 10");
        assert_eq!(Cond::Not(Box::new(op(Op::Eq, json!(1)))).describe(), "not 1");
    }
}
