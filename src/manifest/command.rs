//! Command-level validation: one manifest list item in, zero or more
//! [`Command`]s out (several with `for_each`), problems recorded in the
//! [`Checker`]. The method's params are checked by [`fields`](super::fields).

use std::path::Path;

use super::Command;
use super::check::{Checker, Scope};
use super::fields::params;
use super::steps::{self, Steps};
use super::yaml::{Node, Value};
use crate::methods::{self, Method};
use crate::protocol::Protocol;

/// Keys a command may carry besides its one method key.
pub const RUNNER_KEYS: &[&str] = &["name", "for_each", "expect", "until", "save", "wait"];

pub struct CommandContext<'a> {
    pub manifest: usize,
    pub dir: &'a Path,
    pub protocol: Protocol,
}

/// Validates one list item and appends its expansion to `out`; returns
/// the names its `save:` declares (later items may use them).
pub fn command(
    ck: &mut Checker,
    item: &Node,
    scope: &Scope,
    cx: &CommandContext,
    out: &mut Vec<Command>,
) -> Vec<String> {
    // Problems of this item so far: a missing method is not reported on top
    // of one (an unknown method key, a bad `save`).
    let before = ck.problems.len();
    let Some(entries) = ck.entries(item, "a command") else { return Vec::new() };
    let mut method: Option<(&Node, &Node, &'static Method)> = None;
    let mut name = None;
    let mut for_each = None;
    let (mut expect, mut until, mut save, mut wait) = (None, None, None, None);
    for (k, v) in entries {
        let key = k.key_text();
        match key.as_ref() {
            // Interpolated per `for_each` item: `${item}` may be in it.
            "name" => name = Some(v),
            "for_each" => for_each = Some(v),
            "expect" => expect = Some((k, v)),
            "until" => until = Some((k, v)),
            "save" => save = Some((k, v)),
            "wait" => wait = Some((k, v)),
            _ => match methods::lookup(&key) {
                Some(m) => {
                    if let Some((first, _, _)) = method {
                        let line = ck.line_of(first.span);
                        ck.error(
                            k.span,
                            "second method",
                            format!("a command has exactly one method, this one also has `{key}`"),
                        )
                        .help =
                            Some(format!("`{}` is on line {line}; split them into two list items", first.key_text()));
                    } else {
                        method = Some((k, v, m));
                    }
                }
                None => {
                    let p = ck.error(k.span, "unknown method", format!("unknown method `{key}`"));
                    let cands = methods::names().chain(RUNNER_KEYS.iter().copied());
                    p.help = Some(match crate::diagnostic::did_you_mean(&key, cands) {
                        Some(s) => format!("did you mean `{s}`?"),
                        None => "see `cent-run schema` for the methods a manifest accepts".into(),
                    });
                }
            },
        }
    }
    let line = ck.line_of(item.span);
    if let Some((_, value)) = wait {
        wait_step(ck, item, value, name, scope, cx, out);
        return Vec::new();
    }
    // Names saved here are declared even when the command is wrong, so its
    // users are not also reported as using undefined variables.
    let mut saves = Steps::default();
    let saves_ok = save.is_none_or(|(_, v)| steps::save(ck, v, scope, &mut saves));
    let declared: Vec<String> = saves.save.iter().map(|(n, _)| n.clone()).collect();
    let Some((mkey, body, m)) = method else {
        if ck.problems.len() == before {
            ck.error(item.span, "no method", "a command needs one method key").help =
                Some("e.g. `- publish: {channel: news, data: {text: hi}}`".into());
        }
        return declared;
    };
    let Some(m) = protocol_method(ck, mkey, m, cx.protocol) else { return declared };
    let until = match until {
        None => None,
        Some((k, v)) => {
            if expect.is_none() {
                ck.error(
                    k.span,
                    "no `expect`",
                    "`until` repeats a command until its `expect` checks hold: it needs `expect`",
                )
                .help = Some("add e.g. `expect: {num_clients: 0}`".into());
                return declared;
            }
            if !m.reads() {
                ck.error(
                    k.span,
                    "on a write",
                    format!("`until` repeats only commands that read; `{}` writes", m.name),
                )
                .help = Some("sending a write again would apply it again: check with a read after it".into());
                return declared;
            }
            match steps::until(ck, v, scope) {
                Some(u) => Some(u),
                None => return declared,
            }
        }
    };
    if !saves_ok {
        return declared;
    }
    let items = match for_each {
        None => None,
        // Items are known before anything runs: saved names are not in scope.
        Some(node) => match for_each_items(ck, node, &scope.without_saved(), cx.dir) {
            Some(items) => Some(items),
            None => return declared,
        },
    };
    if let Some(items) = &items {
        out.reserve(items.len());
    }
    let mut build = |ck: &mut Checker, scope: &Scope| {
        // `None`: the name did not interpolate; `Some(None)`: there is none.
        let name = match name {
            Some(n) => ck.string(n, "`name`", &scope.without_saved()).map(Some),
            None => Some(None),
        };
        let mut steps = Steps { until, save: saves.save.clone(), ..Steps::default() };
        let checked = expect.is_none_or(|(_, v)| steps::expect(ck, v, scope, &mut steps));
        if let Some(params) = params(ck, m, mkey, body, scope, cx.protocol, cx.dir)
            && let Some(name) = name
            && checked
        {
            let params = serde_json::to_string(&params).expect("a JSON map always serialises").into_boxed_str();
            steps.uses = steps::placeholders_in(&params);
            for c in &steps.expect {
                for n in steps::placeholders_in(&c.wanted.to_string()) {
                    if !steps.uses.contains(&n) {
                        steps.uses.push(n);
                    }
                }
            }
            let plain = steps.expect.is_empty()
                && steps.expect_error.is_none()
                && steps.until.is_none()
                && steps.save.is_empty()
                && steps.uses.is_empty();
            out.push(Command {
                index: 0,
                manifest: cx.manifest as u32,
                offset: item.span.offset as u32,
                line: line as u32,
                name: name.map(String::into_boxed_str),
                method: m,
                params,
                steps: (!plain).then(|| std::sync::Arc::new(steps)),
            });
        }
    };
    match items {
        None => build(ck, scope),
        Some(items) => {
            let before = ck.problems.len();
            for it in &items {
                let s = Scope { item: Some(it), ..*scope };
                build(ck, &s);
                // One report per distinct problem, not one per item.
                if ck.problems.len() > before + 20 {
                    break;
                }
            }
            dedup(&mut ck.problems, before);
        }
    }
    declared
}

/// A `wait: DURATION` item: a barrier, then a pause. It takes no method and
/// no other key but `name`.
fn wait_step(
    ck: &mut Checker,
    item: &Node,
    value: &Node,
    name: Option<&Node>,
    scope: &Scope,
    cx: &CommandContext,
    out: &mut Vec<Command>,
) {
    let extra = item.as_map().into_iter().flatten().find(|(k, _)| !matches!(k.as_str(), Some("wait" | "name")));
    if let Some((k, _)) = extra {
        ck.error(k.span, "not with `wait`", format!("a `wait` step takes no `{}`", k.key_text())).help =
            Some("`wait` is a step of its own: put the command in the next list item".into());
        return;
    }
    let Some(pause) = steps::duration(ck, value, "wait", true, scope) else { return };
    let name = match name {
        Some(n) => match ck.string(n, "`name`", &scope.without_saved()) {
            Some(s) => Some(s),
            None => return,
        },
        None => None,
    };
    out.push(Command {
        index: 0,
        manifest: cx.manifest as u32,
        offset: item.span.offset as u32,
        line: ck.line_of(item.span) as u32,
        name: name.map(String::into_boxed_str),
        method: &methods::WAIT,
        params: "{}".into(),
        steps: Some(std::sync::Arc::new(Steps { wait: Some(pause), ..Steps::default() })),
    });
}

fn dedup(problems: &mut Vec<super::Problem>, from: usize) {
    let mut seen = std::collections::HashSet::new();
    let mut i = from;
    while i < problems.len() {
        let key = (problems[i].span.offset, problems[i].message.clone());
        if seen.insert(key) {
            i += 1
        } else {
            problems.remove(i);
        }
    }
}

/// Checks that the protocol can carry the method (as the method table
/// says, under its name there); warns about PRO-only methods.
fn protocol_method(ck: &mut Checker, key: &Node, m: &'static Method, protocol: Protocol) -> Option<&'static Method> {
    let m = match methods::for_protocol(m, protocol) {
        Ok(m) => m,
        Err(no) => {
            ck.error(key.span, no.label, no.message).help = Some(no.help);
            return None;
        }
    };
    if m.pro {
        ck.warn(key.span, "PRO only", format!("`{}` is served only by Centrifugo PRO", m.name)).help =
            Some("an open-source server answers it with error 104 (not found)".into());
    }
    Some(m)
}

fn for_each_items(ck: &mut Checker, node: &Node, scope: &Scope, dir: &Path) -> Option<Vec<String>> {
    match &node.value {
        Value::Seq(items) => {
            let mut out = Vec::with_capacity(items.len());
            for it in items {
                match &it.value {
                    Value::Str(s) => out.push(ck.interpolate(it, s, scope)?),
                    Value::Int(_) | Value::UInt(_) | Value::Float(_) | Value::Bool(_) => {
                        out.push(it.key_text().into_owned())
                    }
                    _ => {
                        ck.type_error(it, "a `for_each` item must be a scalar", "a string");
                        return None;
                    }
                }
            }
            if out.is_empty() {
                ck.warn(node.span, "empty", "`for_each` is empty: this command runs zero times");
            }
            Some(out)
        }
        Value::Map(_) => {
            let entries = ck.entries(node, "`for_each`")?;
            let mut file = None;
            for (k, v) in entries {
                if k.as_str() == Some("file") {
                    file = Some((v, ck.string(v, "`file`", scope)?));
                } else {
                    ck.error(k.span, "unknown key", format!("unknown key `{}` in `for_each`", k.key_text())).help =
                        Some("`for_each` is a list, or `{file: PATH}` with one item per line".into());
                    return None;
                }
            }
            let Some((fnode, path)) = file else {
                ck.error(node.span, "no `file`", "`for_each` mapping needs `file`");
                return None;
            };
            let full = dir.join(&path);
            match std::fs::read_to_string(&full) {
                Ok(text) => {
                    let items: Vec<String> = text
                        .lines()
                        .map(str::trim)
                        .filter(|l| !l.is_empty() && !l.starts_with('#'))
                        .map(str::to_owned)
                        .collect();
                    if items.is_empty() {
                        let message =
                            format!("`for_each` file {} is empty: this command runs zero times", full.display());
                        ck.warn(fnode.span, "empty", message);
                    }
                    Some(items)
                }
                Err(e) => {
                    ck.error(fnode.span, "cannot read", format!("cannot read `for_each` file {}: {e}", full.display()));
                    None
                }
            }
        }
        _ => {
            ck.type_error(node, "`for_each` must be a list or `{file: PATH}`", "a list");
            None
        }
    }
}

/// Validates one command given outside a manifest (`cent-run call`, the
/// `cent` console): the method by name, its params as JSON text (shown in
/// diagnostics as `source`), against the method table like a manifest
/// command. Returns the method as sent on `protocol` and the params.
pub fn single(
    method: &str,
    source: &super::Source,
    protocol: Protocol,
) -> Result<(&'static Method, serde_json::Map<String, serde_json::Value>), Vec<super::Problem>> {
    let Some(m) = methods::lookup(method) else {
        let mut p = super::Problem::error(format!("unknown method `{method}`"));
        p.help = crate::diagnostic::did_you_mean(method, methods::names()).map(|s| format!("did you mean `{s}`?"));
        return Err(vec![p]);
    };
    let m = methods::for_protocol(m, protocol).map_err(|no| vec![super::Problem::error(no.message).help(no.help)])?;
    let root = super::yaml::parse(&source.text).map_err(|e| vec![super::load::syntax_problem(source, &e)])?;
    if !matches!(root.value, Value::Map(_) | Value::Null) {
        let p = super::Problem::error("params must be a JSON object").at(source, root.span, "not an object");
        return Err(vec![p]);
    }
    let mut ck = Checker::new(source);
    let empty = std::collections::HashMap::new();
    // The shell already expanded what it should: `${...}` in params is text.
    let scope = Scope { literal: true, ..Scope::new(&empty, &empty, &empty) };
    let key = Node { span: root.span, value: Value::Str(std::borrow::Cow::Borrowed(m.name)) };
    let out = params(&mut ck, m, &key, &root, &scope, protocol, Path::new(""));
    let errors: Vec<_> = ck.problems.into_iter().filter(|p| p.level == super::Level::Error).collect();
    match out {
        Some(params) if errors.is_empty() => Ok((m, params)),
        _ => Err(errors),
    }
}
