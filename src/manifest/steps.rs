//! Steps (SPEC §3.1): `wait:` items, and `expect:`, `until:` and `save:`
//! on commands — parsed and validated here, evaluated by the executor.
//!
//! A saved name used in a command's params is kept there as a placeholder
//! (see [`saved_placeholder`]) and replaced with the saved value when the
//! command is sent; a scalar that is exactly `"${NAME}"` takes the value's
//! JSON type.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::Value as Json;

use super::check::{Checker, Scope};
use super::yaml::{Node, Value};
use crate::diagnostic::did_you_mean;

/// A dot path into a command's result (`publications.0.data.title`):
/// object keys, and numbers that index arrays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonPath(pub Vec<String>);

impl JsonPath {
    /// The value at this path in `root`.
    pub fn find<'j>(&self, root: &'j Json) -> Option<&'j Json> {
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

/// A check's operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
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

const OPS: &[(&str, Op)] = &[
    ("eq", Op::Eq),
    ("ne", Op::Ne),
    ("gt", Op::Gt),
    ("ge", Op::Ge),
    ("lt", Op::Lt),
    ("le", Op::Le),
    ("len", Op::Len),
    ("contains", Op::Contains),
    ("exists", Op::Exists),
    ("matches", Op::Matches),
];

impl Op {
    /// Its name in manifests.
    pub fn as_str(self) -> &'static str {
        OPS.iter().find(|(_, o)| *o == self).map_or("eq", |(n, _)| n)
    }
}

/// One check on a command's result.
#[derive(Debug, Clone)]
pub struct Check {
    pub path: JsonPath,
    pub op: Op,
    /// What is wanted (for `matches`, the pattern as a string).
    pub wanted: Json,
    /// The compiled pattern of `matches`.
    pub pattern: Option<regex::Regex>,
    /// `FILE:LINE` of the check.
    pub at: String,
}

/// `until:` — send the command again every `every` until its checks hold,
/// for at most `timeout`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Until {
    pub every: Duration,
    pub timeout: Duration,
}

/// What a command does beyond being sent.
#[derive(Debug, Clone, Default)]
pub struct Steps {
    /// A `wait:` item: a barrier, then this pause.
    pub wait: Option<Duration>,
    /// Checks on the result, all of which must hold.
    pub expect: Vec<Check>,
    /// `expect: {error: CODE}`: the server must refuse with this code; with `FILE:LINE`.
    pub expect_error: Option<(u32, String)>,
    pub until: Option<Until>,
    /// `save: {NAME: PATH}`.
    pub save: Vec<(String, JsonPath)>,
    /// Saved names its params (or checks) use: it starts after they are saved.
    pub uses: Vec<String>,
}

impl Steps {
    /// It has checks on its reply.
    pub fn has_expectations(&self) -> bool {
        !self.expect.is_empty() || self.expect_error.is_some()
    }
}

/// How a saved name stands in params until the command is sent: a string
/// no manifest writes (it holds NUL characters).
pub fn saved_placeholder(name: &str) -> String {
    format!("\u{0}saved:{name}\u{0}")
}

/// The saved names a JSON text's placeholders refer to, in order, once each.
pub fn placeholders_in(json_text: &str) -> Vec<String> {
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
pub fn shown_placeholders(json_text: &str) -> String {
    if !json_text.contains("\\u0000saved:") {
        return json_text.to_owned();
    }
    json_text.replace("\\u0000saved:", "${").replace("\\u0000", "}")
}

/// Replaces placeholders in `value` with saved values: a string that is a
/// placeholder becomes the value itself (its JSON type kept); a string
/// holding placeholders gets their text.
pub fn substitute(value: &mut Json, saved: &HashMap<String, Json>) {
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

fn path(ck: &mut Checker, node: &Node, text: &str) -> Option<JsonPath> {
    let segs: Vec<String> = text.split('.').map(str::to_owned).collect();
    if text.is_empty() || segs.iter().any(String::is_empty) {
        ck.error(node.span, "bad path", format!("`{text}` is not a path")).help =
            Some("a dot path into the result: `num_clients`, `publications.0.data.title`".into());
        return None;
    }
    Some(JsonPath(segs))
}

/// `expect:` — checks, or `error: CODE`.
pub(super) fn expect(ck: &mut Checker, v: &Node, scope: &Scope, steps: &mut Steps) -> bool {
    let Some(entries) = ck.entries(v, "`expect`") else { return false };
    let mut ok = true;
    for (k, val) in &entries {
        let at = {
            let (line, _) = ck.source.line_col(k.span.offset);
            format!("{}:{line}", ck.source.name)
        };
        let key = k.key_text();
        if key == "error" {
            match val.value {
                Value::Int(c) if c > 0 && c <= u32::MAX as i64 => steps.expect_error = Some((c as u32, at)),
                _ => {
                    ck.type_error(val, "`error` must be the server's error code, e.g. `102`", "an integer");
                    ok = false;
                }
            }
            continue;
        }
        let Some(p) = path(ck, k, &key) else {
            ok = false;
            continue;
        };
        match check(ck, val, scope, p, at) {
            Some(c) => steps.expect.push(c),
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

/// One check: a literal (equality) or a mapping with one operator.
fn check(ck: &mut Checker, v: &Node, scope: &Scope, path: JsonPath, at: String) -> Option<Check> {
    let (op, operand) = match v.as_map() {
        Some([(k, operand)]) => match OPS.iter().find(|(n, _)| k.as_str() == Some(*n)) {
            Some((_, op)) => (*op, operand),
            None => {
                let key = k.key_text();
                if key.len() <= 8
                    && let Some(near) = did_you_mean(&key, OPS.iter().map(|(n, _)| *n))
                {
                    let p = ck.error(k.span, "unknown operator", format!("unknown operator `{key}`"));
                    p.help =
                        Some(format!("did you mean `{near}`? (to compare with a map, write `eq: {{{key}: ...}}`)"));
                    return None;
                }
                (Op::Eq, v)
            }
        },
        _ => (Op::Eq, v),
    };
    let wanted = ck.json(operand, scope)?;
    let kind_error = |ck: &mut Checker, expected: &str| {
        ck.type_error(operand, &format!("`{}` takes {expected}", op.as_str()), expected);
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
                    ck.error(operand.span, "bad pattern", format!("not a regular expression: {last}"));
                    return None;
                }
            }
        }
        _ => {}
    }
    Some(Check { path, op, wanted, pattern, at })
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

/// `save: {NAME: PATH}`; names must not clash with variables.
pub(super) fn save(ck: &mut Checker, v: &Node, scope: &Scope, steps: &mut Steps) -> bool {
    let Some(entries) = ck.entries(v, "`save`") else { return false };
    let mut ok = true;
    for (k, val) in entries {
        let name = k.key_text();
        let valid = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid || name == "item" {
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
        let Some(text) = ck.string(val, "a saved path", scope) else {
            ok = false;
            continue;
        };
        match path(ck, val, &text) {
            Some(p) => steps.save.push((name.into_owned(), p)),
            None => ok = false,
        }
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
}
