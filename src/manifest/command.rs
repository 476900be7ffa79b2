//! Command-level validation: one manifest list item in, zero or more
//! [`Command`]s out (several with `for_each`), problems recorded in the
//! [`Checker`]. A plain command is validated and encoded in one pass by
//! [`plain`](super::plain); any other by the general path, whose params
//! are checked by [`fields`](super::fields).

use std::collections::HashSet;

use super::check::{Checker, Scope};
use super::fields::params;
use super::files::Root;
use super::for_each::{self, Located};
use super::steps::{self, Saved, StepContext, Steps};
use super::template::{Fill, Template};
use super::texts::{Commands, Text};
use super::yaml::{ItemAt, Node, Value};
use super::{Command, Extra, plain};
use crate::methods::{self, Method};
use crate::protocol::Protocol;

/// Keys a command may carry besides its one method key.
pub(crate) const RUNNER_KEYS: &[&str] =
    &["name", "tags", "for_each", "expect", "until", "save", "delivered", "wait", "listen"];

pub(crate) struct CommandContext<'a> {
    pub manifest: usize,
    pub root: &'a Root,
    pub protocol: Protocol,
    /// The item is in the `finally:` list.
    pub finally: bool,
}

/// Validates one list item and appends its expansion to `out`; returns
/// the names its `save:` declares (later items may use them).
pub(crate) fn command(
    ck: &mut Checker,
    item: &Node,
    scope: &Scope,
    cx: &CommandContext,
    out: &mut Commands,
) -> Vec<Saved> {
    // No `${...}` in a plain command: the scope has nothing to give it.
    if let Some(plain) = plain::command(&ck.source.text, item, cx.protocol, out.scratch()) {
        out.push_scratch(plain_command(cx, item.span.offset, ck.line_of(item.span), plain));
        return Vec::new();
    }
    general(ck, item, scope, cx, out)
}

/// [`command`] for a plain command read straight from its text: the list
/// item `at`. `false`: it is not one, and is to be parsed.
pub(crate) fn plain_text(ck: &Checker, at: ItemAt, cx: &CommandContext, out: &mut Commands) -> bool {
    let Some(plain) = plain::item(&ck.source.text, at, cx.protocol, out.scratch()) else {
        return false;
    };
    // Where the fast path's tree puts the item: at its first key (or its `{`).
    let offset = at.start + at.indent + 2;
    out.push_scratch(plain_command(cx, offset, at.line, plain));
    true
}

/// A plain command at `offset` on `line`: its params are in the scratch.
fn plain_command(cx: &CommandContext, offset: usize, line: usize, (method, name, own_key): plain::Plain) -> Command {
    Command {
        index: 0,
        occurrence: 0,
        manifest: cx.manifest as u32,
        offset: offset as u32,
        line: line as u32,
        tags: 0,
        finally: cx.finally,
        method,
        own_key,
        params: Text::PENDING,
        extra: Extra::of(name.map(|n| n.into_owned()), None),
    }
}

/// [`command`] for any item: every key, variables, files, every problem.
pub(crate) fn general(
    ck: &mut Checker,
    item: &Node,
    scope: &Scope,
    cx: &CommandContext,
    out: &mut Commands,
) -> Vec<Saved> {
    // Problems of this item so far: a missing method is not reported on top
    // of one (an unknown method key, a bad `save`).
    let before = ck.problems.len();
    let Some(entries) = ck.entries(item, "a command") else { return Vec::new() };
    let mut method: Option<(&Node, &Node, &'static Method)> = None;
    let mut name = None;
    let mut tags = None;
    let mut for_each = None;
    let (mut expect, mut until, mut save, mut wait) = (None, None, None, None);
    let (mut delivered, mut listen) = (None, None);
    for (k, v) in entries {
        let key = k.key_text();
        match key.as_ref() {
            // Interpolated per `for_each` item: `${item}` may be in it.
            "name" => name = Some(v),
            "tags" => tags = Some(v),
            "for_each" => for_each = Some(v),
            "expect" => expect = Some((k, v)),
            "until" => until = Some((k, v)),
            "save" => save = Some((k, v)),
            "wait" => wait = Some((k, v)),
            "listen" => listen = Some((k, v)),
            "delivered" => delivered = Some((k, v)),
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
    let Some(tags) = tag_set(ck, tags, scope) else { return Vec::new() };
    if let Some((_, value)) = wait {
        let step = StepItem { item, key: "wait", name, tags };
        if let Some((c, params)) = wait_step(ck, &step, value, scope, cx) {
            out.push(c, &params);
        }
        return Vec::new();
    }
    if let Some((_, value)) = listen {
        let step = StepItem { item, key: "listen", name, tags };
        if let Some((c, params)) = listen_step(ck, &step, value, scope, cx) {
            out.push(c, &params);
        }
        return Vec::new();
    }
    let Some((mkey, body, m)) = method else {
        if ck.problems.len() == before {
            ck.error(item.span, "no method", "a command needs one method key").help =
                Some("e.g. `- publish: {channel: news, data: {text: hi}}`".into());
        }
        return Vec::new();
    };
    let m = protocol_method(ck, mkey, m, cx.protocol);
    // Names saved here are declared even when the command is wrong, so its
    // users are not also reported as using undefined variables.
    let mut declared = Vec::new();
    let step_cx = m.map(|m| StepContext { method: m, protocol: cx.protocol, manifest: cx.manifest as u32 });
    let saves_ok = match (save, &step_cx) {
        (None, _) => true,
        (Some((_, v)), Some(scx)) => steps::save(ck, v, scope, scx, &mut declared),
        (Some(_), None) => false,
    };
    let (Some(m), Some(step_cx)) = (m, step_cx) else { return declared };
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
    let delivered = match delivered {
        None => None,
        Some((k, v)) => {
            if !matches!(m.name, "publish" | "broadcast" | "disconnect" | "unsubscribe") {
                ck.error(k.span, "nothing to deliver", format!("`delivered` is for publish, broadcast, disconnect and unsubscribe; `{}` pushes nothing to a client", m.name))
                    .help = Some("a listener hears publications, disconnects and unsubscribes".into());
                return declared;
            }
            match steps::delivered(ck, k, v, scope, &step_cx) {
                Some(d) => Some(d),
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
        Some(node) => match for_each::items(ck, node, &scope.without_saved(), cx.root) {
            Some(items) => Some(items),
            None => return declared,
        },
    };
    if let Some(items) = &items {
        out.reserve(items.bound());
    }
    let save: Vec<_> = declared.iter().map(|s| (s.name.clone(), s.path.clone())).collect();
    let base = Command {
        index: 0,
        occurrence: 0,
        manifest: cx.manifest as u32,
        offset: item.span.offset as u32,
        line: line as u32,
        tags,
        finally: cx.finally,
        method: m,
        own_key: false,
        params: Text::PENDING,
        extra: None,
    };
    let build = |ck: &mut Checker, scope: &Scope, out: &mut Commands| {
        // `None`: the name did not interpolate; `Some(None)`: there is none.
        let name = match name {
            Some(n) => ck.string(n, "`name`", &scope.without_saved()).map(Some),
            None => Some(None),
        };
        let mut steps = Steps { until, save: save.clone(), delivered, ..Steps::default() };
        let checked = expect.is_none_or(|(_, v)| steps::expect(ck, v, scope, &step_cx, &mut steps));
        if let Some(params) = params(ck, m, mkey, body, scope, cx.protocol, cx.root)
            && let Some(name) = name
            && checked
        {
            let params = serde_json::to_string(&params).expect("a JSON map always serialises");
            steps.uses = steps::placeholders_in(&params);
            for c in &steps.expect {
                for w in c.cond.wanted() {
                    for n in steps::placeholders_in(&w.to_string()) {
                        if !steps.uses.contains(&n) {
                            steps.uses.push(n);
                        }
                    }
                }
            }
            let no_steps = steps.expect.is_empty()
                && steps.expect_error.is_none()
                && steps.delivered.is_none()
                && steps.until.is_none()
                && steps.save.is_empty()
                && steps.uses.is_empty();
            let c = Command { extra: Extra::of(name, (!no_steps).then(|| std::sync::Arc::new(steps))), ..base.clone() };
            out.push(c, &params);
        }
    };
    let Some(items) = items else {
        build(ck, scope, out);
        return declared;
    };
    // Items whose params differ only in plain strings are checked once per kind.
    let plain_steps = expect.is_none() && until.is_none() && delivered.is_none() && save.is_empty();
    let mut template = plain_steps.then(|| Template::new(m, body, name, cx.protocol)).flatten();
    let mut seen = HashSet::new();
    let mut errors = 0;
    for it in items {
        let s = Scope { item: Some(&it.item), ..*scope };
        let learn = match template.as_mut().map(|t| t.push(ck, &s, &base, out)) {
            Some(Fill::Done) => continue,
            Some(Fill::Learn(kind)) => Some(kind),
            Some(Fill::General) | None => None,
        };
        let (mark, pushed) = (ck.problems.len(), out.pushed());
        build(ck, &s, out);
        let relocated = relocate_to_row(ck, mark, &it);
        let own_errors = ck.problems[mark..].iter().filter(|p| p.level == crate::diagnostic::Level::Error).count();
        if let (Some(kind), Some(t)) = (learn, template.as_mut()) {
            t.learn(ck, &s, kind, out.pushed() == pushed + 1 && own_errors == 0 && !relocated);
        }
        // One report per distinct problem, not one per item.
        dedup(&mut ck.problems, mark, &mut seen);
        errors += own_errors;
        if errors > 20 {
            break;
        }
    }
    declared
}

/// Problems a row of a data file caused (at a `${item...}` of the
/// manifest) are located at the row, with the manifest's place as a hint.
/// Returns whether there was one.
fn relocate_to_row(ck: &mut Checker, from: usize, it: &Located) -> bool {
    let Some((source, span)) = &it.from else { return false };
    let mut moved = false;
    let manifest = ck.source;
    for p in &mut ck.problems[from..] {
        let written = p.source.as_ref().and_then(|s| s.text.get(p.span.offset..p.span.offset + p.span.len));
        if !written.is_some_and(|w| w.contains("${item")) {
            continue;
        }
        let (line, _) = manifest.line_col(p.span.offset);
        let was = format!("used at {}:{line}", manifest.name);
        p.help = Some(match p.help.take() {
            Some(h) => format!("{h} ({was})"),
            None => was,
        });
        p.source = Some((**source).clone());
        p.span = *span;
        p.label = "this row".into();
        moved = true;
    }
    moved
}

/// `tags: [a, b]` (or `tags: a`): the set's number, 0 without tags; `None`
/// when it is wrong (reported). Variables may name tags; `${item}` may not
/// (every item of a `for_each` has the same tags).
fn tag_set(ck: &mut Checker, node: Option<&Node>, scope: &Scope) -> Option<u16> {
    let Some(node) = node else { return Some(0) };
    let items: Vec<&Node> = match &node.value {
        Value::Seq(items) => items.iter().collect(),
        _ => vec![node],
    };
    let mut out: Vec<String> = Vec::new();
    for n in items {
        let t = ck.string(n, "a tag", &Scope { item: None, ..scope.without_saved() })?;
        if !super::tags::is_tag(&t) {
            ck.error(n.span, "not a tag", format!("`{t}` is not a tag")).help =
                Some("a tag is letters, digits, `_`, `-` or `.`: e.g. `tags: [morning, smoke]`".into());
            return None;
        }
        if !out.contains(&t) {
            out.push(t);
        }
    }
    let id = super::tags::intern(out);
    if id.is_none() {
        ck.error(node.span, "too many tag sets", "more than 65,535 different sets of tags in one run");
    }
    id
}

/// A step item (`wait:`, `listen:`): what its key says, its `name` and
/// `tags`, and nothing else — no method, no other key.
struct StepItem<'n, 'a> {
    item: &'n Node<'a>,
    key: &'static str,
    name: Option<&'n Node<'a>>,
    tags: u16,
}

impl StepItem<'_, '_> {
    /// The step as a command and its params, when no other key stands
    /// beside it and its name is right (else reported, and `None`).
    fn command(
        &self,
        ck: &mut Checker,
        scope: &Scope,
        cx: &CommandContext,
        method: &'static Method,
        params: Box<str>,
        steps: Option<Steps>,
    ) -> Option<(Command, Box<str>)> {
        let key = self.key;
        let extra = self
            .item
            .as_map()
            .into_iter()
            .flatten()
            .find(|(k, _)| !matches!(k.as_str(), Some(k) if [key, "name", "tags"].contains(&k)));
        if let Some((k, _)) = extra {
            let label = if key == "wait" { "not with `wait`" } else { "not with `listen`" };
            ck.error(k.span, label, format!("a `{key}` step takes no `{}`", k.key_text())).help =
                Some(format!("`{key}` is a step of its own: put the command in the next list item"));
            return None;
        }
        let name = match self.name {
            Some(n) => Some(ck.string(n, "`name`", &scope.without_saved())?),
            None => None,
        };
        let c = Command {
            index: 0,
            occurrence: 0,
            manifest: cx.manifest as u32,
            offset: self.item.span.offset as u32,
            line: ck.line_of(self.item.span) as u32,
            tags: self.tags,
            finally: cx.finally,
            method,
            own_key: false,
            params: Text::PENDING,
            extra: Extra::of(name, steps.map(std::sync::Arc::new)),
        };
        Some((c, params))
    }
}

/// A `listen: {channel, user, url?}` item: a real client connection of
/// `user`, subscribed to `channel`, opened before what follows; `url` is a
/// node's address (`http(s)://` or `ws(s)://`) when not the first `--url`.
fn listen_step(
    ck: &mut Checker,
    step: &StepItem,
    value: &Node,
    scope: &Scope,
    cx: &CommandContext,
) -> Option<(Command, Box<str>)> {
    let entries = ck.entries(value, "`listen`")?;
    let plain = scope.without_saved();
    let mut params = serde_json::Map::new();
    for (k, v) in entries {
        let key = k.key_text();
        match key.as_ref() {
            "channel" | "user" | "url" => {
                let text = ck.string(v, &format!("`{key}`"), &plain)?;
                if text.is_empty() {
                    ck.error(v.span, "empty", format!("`{key}` is empty"));
                    return None;
                }
                if key == "url" && !["http://", "https://", "ws://", "wss://"].iter().any(|p| text.starts_with(p)) {
                    ck.error(
                        v.span,
                        "not a node's URL",
                        format!("`url` {text} is not an http(s):// or ws(s):// URL"),
                    )
                    .help = Some("a node's address, e.g. http://rt-2:8000 (its WebSocket endpoint is derived)".into());
                    return None;
                }
                params.insert(key.into_owned(), text.into());
            }
            other => {
                super::document::unknown_key(ck, k, other, Some("listen"), &["channel", "user", "url"]);
                return None;
            }
        }
    }
    for required in ["channel", "user"] {
        if !params.contains_key(required) {
            ck.error(value.span, "incomplete", format!("`listen` needs a `{required}`")).help =
                Some("e.g. `listen: {channel: news, user: smoke-bot}`".into());
            return None;
        }
    }
    let params = serde_json::to_string(&params).expect("a JSON map always serialises").into_boxed_str();
    step.command(ck, scope, cx, &methods::LISTEN, params, None)
}

/// A `wait: DURATION` item: a barrier, then a pause.
fn wait_step(
    ck: &mut Checker,
    step: &StepItem,
    value: &Node,
    scope: &Scope,
    cx: &CommandContext,
) -> Option<(Command, Box<str>)> {
    let pause = steps::duration(ck, value, "wait", true, scope)?;
    step.command(ck, scope, cx, &methods::WAIT, "{}".into(), Some(Steps { wait: Some(pause), ..Steps::default() }))
}

fn dedup(problems: &mut Vec<super::Problem>, from: usize, seen: &mut HashSet<(usize, String)>) {
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
    if methods::oss_refuses(m) {
        // Said once per run: equal warnings are merged with their count.
        let what =
            if m.pro { "is served only by Centrifugo PRO" } else { "has no handler in an open-source Centrifugo" };
        let label = if m.pro { "PRO only" } else { "no open-source handler" };
        ck.warn(key.span, label, format!("`{}` {what}", m.name)).help =
            Some("an open-source server answers it with error 104 (not found)".into());
    }
    Some(m)
}

/// Validates one command given outside a manifest (`cent-run call`, the
/// `cent` console): the method by name, its params as JSON text (shown in
/// diagnostics as `source`), with the same params validator as a manifest
/// command, problems located in the text. Returns the method as sent on
/// `protocol` and the params.
pub(crate) fn single(
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
    let params = match serde_json::from_str::<serde_json::Value>(&source.text) {
        Ok(serde_json::Value::Object(map)) => map,
        Ok(other) => {
            let p = super::Problem::error(format!("params must be a JSON object, found {}", json_kind(&other))).at(
                source,
                super::Span { offset: 0, len: source.text.len().max(1) },
                "not an object",
            );
            return Err(vec![p]);
        }
        Err(e) => {
            let offset = source.offset_of(e.line(), e.column());
            let message = e.to_string();
            let message = message.rsplit_once(" at line ").map_or(message.as_str(), |(m, _)| m);
            let p = super::Problem::error(format!("params are not valid JSON: {message}")).at(
                source,
                super::Span { offset: offset.saturating_sub(1), len: 1 },
                "here",
            );
            return Err(vec![p]);
        }
    };
    // Places in the text, for the problems: JSON is YAML.
    let tree = super::yaml::parse(&source.text).ok();
    let errors: Vec<super::Problem> = methods::check::params(m, protocol, &params)
        .into_iter()
        .filter(|p| !p.warning)
        .map(|p| {
            let problem = super::Problem::error(p.message.clone());
            let problem = match &p.help {
                Some(h) => problem.help(h.clone()),
                None => problem,
            };
            match &tree {
                Some(root) => {
                    let span = super::fields::locate(root, root, &p.path, p.at_key, false);
                    problem.at(source, span, p.label.clone())
                }
                None => problem,
            }
        })
        .collect();
    if errors.is_empty() { Ok((m, params)) } else { Err(errors) }
}

fn json_kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Array(_) => "a list",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        _ => "a number",
    }
}
