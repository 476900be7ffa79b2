//! Command-level validation: one manifest list item in, zero or more
//! [`Command`]s out (several with `for_each`), problems recorded in the
//! [`Checker`].

use std::path::Path;

use base64::Engine;
use serde_json::{Map, Value as Json};

use super::Command;
use super::check::{Checker, Scope};
use super::methods::{self, Method, Ty};
use super::yaml::{Node, Value};
use crate::protocol::Protocol;

/// Keys a command may carry besides its one method key.
pub const RUNNER_KEYS: &[&str] = &["name", "for_each"];

/// Longest channel name Centrifugo accepts by default (`channel.max_length`).
pub const MAX_CHANNEL_BYTES: usize = 255;

pub struct CommandContext<'a> {
    pub manifest: usize,
    pub dir: &'a Path,
    pub protocol: Protocol,
}

/// Validates one list item and appends its expansion to `out`.
pub fn command(ck: &mut Checker, item: &Node, scope: &Scope, cx: &CommandContext, out: &mut Vec<Command>) {
    let Some(entries) = ck.entries(item, "a command") else { return };
    let mut method: Option<(&Node, &Node, &'static Method)> = None;
    let mut name = None;
    let mut for_each = None;
    for (k, v) in entries {
        let key = k.key_text();
        match key.as_ref() {
            "name" => name = ck.string(v, "`name`", scope),
            "for_each" => for_each = Some(v),
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
                    p.help = Some(match super::diagnostic::did_you_mean(&key, cands) {
                        Some(s) => format!("did you mean `{s}`?"),
                        None => "see `cent-run schema` for the methods a manifest accepts".into(),
                    });
                }
            },
        }
    }
    let Some((mkey, body, m)) = method else {
        if !ck
            .problems
            .iter()
            .any(|p| p.span.offset >= item.span.offset && p.span.offset < item.span.offset + item.span.len.max(1))
        {
            ck.error(item.span, "no method", "a command needs one method key").help =
                Some("e.g. `- publish: {channel: news, data: {text: hi}}`".into());
        }
        return;
    };
    let m = match protocol_method(ck, mkey, m, cx.protocol) {
        Some(m) => m,
        None => return,
    };
    let items = match for_each {
        None => None,
        Some(node) => match for_each_items(ck, node, scope, cx.dir) {
            Some(items) => Some(items),
            None => return,
        },
    };
    let line = ck.line_of(item.span);
    let mut build = |ck: &mut Checker, scope: &Scope| {
        if let Some(params) = params(ck, m, mkey, body, scope, cx) {
            out.push(Command {
                index: 0,
                manifest: cx.manifest,
                offset: item.span.offset,
                line,
                name: name.clone(),
                method: m,
                target: super::Target::of(&params),
                params: serde_json::value::to_raw_value(&params).expect("a JSON map always serialises"),
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

/// Checks that the protocol can carry the method; maps `info` to `stats` on v1.
fn protocol_method(ck: &mut Checker, key: &Node, m: &'static Method, protocol: Protocol) -> Option<&'static Method> {
    match protocol {
        Protocol::V1 if m.name == "info" => return methods::lookup("stats"),
        Protocol::V1 if !m.v1 => {
            ck.error(key.span, "not in v1", format!("protocol v1 has no method `{}`", m.name)).help = Some(
                "v1 servers have publish, broadcast, unsubscribe, disconnect, presence, history, channels, stats, node"
                    .into(),
            );
            return None;
        }
        Protocol::Api | Protocol::Legacy if !m.legacy => {
            ck.error(key.span, "v1 only", format!("`{}` exists only in protocol v1", m.name)).help =
                Some(if m.name == "stats" {
                    "use `info: {}`".into()
                } else {
                    "set `protocol: v1` for a Centrifugo 1.x server".to_string()
                });
            return None;
        }
        _ => {}
    }
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
                Ok(text) => Some(
                    text.lines()
                        .map(str::trim)
                        .filter(|l| !l.is_empty() && !l.starts_with('#'))
                        .map(str::to_owned)
                        .collect(),
                ),
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

/// The method's request object as JSON, with every field checked.
fn params(
    ck: &mut Checker,
    m: &Method,
    key: &Node,
    body: &Node,
    scope: &Scope,
    cx: &CommandContext,
) -> Option<Map<String, Json>> {
    if matches!(body.value, Value::Null) {
        let out = Map::new();
        return required(ck, m, key, &[], &out).then_some(out);
    }
    let entries = ck.entries(body, &format!("`{}`", m.name))?;
    let mut out = Map::with_capacity(entries.len());
    let mut ok = true;
    let has_data_file = matches!(m.name, "publish" | "broadcast");
    for (k, v) in &entries {
        let key = k.key_text();
        if has_data_file && key == "data_file" {
            if entries.iter().any(|(k, _)| k.as_str() == Some("data")) {
                ck.error(k.span, "conflicts with `data`", "`data_file` and `data` are both given");
                ok = false;
                continue;
            }
            match data_file(ck, v, scope, cx.dir) {
                Some(j) => {
                    out.insert("data".into(), j);
                }
                None => ok = false,
            }
            continue;
        }
        if methods::freeform(m) {
            match ck.json(v, scope) {
                Some(j) => {
                    out.insert(key.into_owned(), j);
                }
                None => ok = false,
            }
            continue;
        }
        let Some(field) = m.fields.iter().find(|f| f.name == key) else {
            unknown_field(
                ck,
                k,
                &key,
                m.name,
                m.fields.iter().map(|f| f.name).chain(has_data_file.then_some("data_file")),
            );
            ok = false;
            continue;
        };
        match value(ck, v, field.ty, field.name, scope) {
            Some(j) => {
                out.insert(key.into_owned(), j);
            }
            None => ok = false,
        }
    }
    ok &= channel_names(ck, m, &entries, &out);
    // A field that is present but wrong was reported already: no "missing" cascade.
    if !ok {
        return None;
    }
    if !required(ck, m, key, &entries, &out) {
        return None;
    }
    if m.name == "history" && !out.contains_key("limit") && !out.contains_key("since") {
        ck.warn(
            key.span,
            "no `limit`",
            "`history` without `limit` returns no publications, only the stream position",
        )
        .help = Some("add `limit: -1` for all kept publications, or `limit: N`".into());
    }
    Some(out)
}

fn unknown_field<'a>(ck: &mut Checker, k: &Node, key: &str, owner: &str, fields: impl Iterator<Item = &'a str>) {
    let fields: Vec<&str> = fields.collect();
    let p = ck.error(k.span, "unknown field", format!("unknown field `{key}` in `{owner}`"));
    p.help = Some(match super::diagnostic::did_you_mean(key, fields.iter().copied()) {
        Some(s) => format!("did you mean `{s}`?"),
        None if fields.is_empty() => format!("`{owner}` takes no fields"),
        None => format!("`{owner}` takes: {}", fields.join(", ")),
    });
}

/// Checks a field value against its type and converts it to JSON.
fn value(ck: &mut Checker, v: &Node, ty: Ty, name: &str, scope: &Scope) -> Option<Json> {
    let what = format!("`{name}`");
    match ty {
        Ty::Str => ck.string(v, &what, scope).map(Json::String),
        Ty::Enum(values) => {
            let s = ck.string(v, &what, scope)?;
            if values.contains(&s.as_str()) {
                return Some(Json::String(s));
            }
            let shown: Vec<String> = values.iter().map(|x| format!("{x:?}")).collect();
            let p = ck.error(v.span, "not allowed", format!("{what} must be one of {}, found {s:?}", shown.join(", ")));
            if let Some(near) = super::diagnostic::did_you_mean(&s, values.iter().copied()) {
                p.help = Some(format!("did you mean `{near}`?"));
            }
            None
        }
        Ty::B64 => {
            let s = ck.string(v, &what, scope)?;
            if let Err(e) = base64::engine::general_purpose::STANDARD.decode(&s) {
                let why = match e {
                    base64::DecodeError::InvalidByte(at, b) => {
                        format!("invalid character `{}` at position {}", char::from(b).escape_default(), at + 1)
                    }
                    base64::DecodeError::InvalidLength(n) => format!("a length of {n} characters is not valid"),
                    base64::DecodeError::InvalidLastSymbol { offset, .. } => {
                        format!("bad last character at position {}", offset + 1)
                    }
                    base64::DecodeError::InvalidPadding => "missing or wrong `=` padding".into(),
                };
                ck.error(v.span, "invalid base64", format!("{what} is not valid base64: {why}")).help =
                    Some("standard base64 with `=` padding (not URL-safe)".into());
                return None;
            }
            Some(Json::String(s))
        }
        Ty::Bool => match v.value {
            Value::Bool(b) => Some(Json::Bool(b)),
            _ => {
                ck.type_error(v, &format!("{what} must be a boolean"), "a boolean");
                None
            }
        },
        Ty::Int => match v.value {
            Value::Int(i) => Some(Json::from(i)),
            _ => {
                ck.type_error(v, &format!("{what} must be an integer"), "an integer");
                None
            }
        },
        Ty::UInt => match v.value {
            Value::Int(i) if i >= 0 => Some(Json::from(i)),
            Value::UInt(u) => Some(Json::from(u)),
            _ => {
                ck.type_error(v, &format!("{what} must be a non-negative integer"), "a non-negative integer");
                None
            }
        },
        Ty::Json => ck.json(v, scope),
        Ty::StrList => {
            let Value::Seq(items) = &v.value else {
                ck.type_error(v, &format!("{what} must be a list of strings"), "a list");
                return None;
            };
            let mut out = Vec::with_capacity(items.len());
            let mut ok = true;
            for it in items {
                match ck.string(it, &format!("an item of {what}"), scope) {
                    Some(s) => out.push(Json::String(s)),
                    None => ok = false,
                }
            }
            ok.then_some(Json::Array(out))
        }
        Ty::StrMap => {
            let entries = ck.entries(v, &what)?;
            let mut out = Map::new();
            let mut ok = true;
            for (k, val) in entries {
                match ck.string(val, &format!("a value of {what}"), scope) {
                    Some(s) => {
                        out.insert(k.key_text().into_owned(), Json::String(s));
                    }
                    None => ok = false,
                }
            }
            ok.then_some(Json::Object(out))
        }
        Ty::Obj(fields) => {
            let entries = ck.entries(v, &what)?;
            let mut out = Map::new();
            let mut ok = true;
            for (k, val) in entries {
                let key = k.key_text();
                match fields.iter().find(|f| f.name == key) {
                    Some(f) => match value(ck, val, f.ty, f.name, scope) {
                        Some(j) => {
                            out.insert(key.into_owned(), j);
                        }
                        None => ok = false,
                    },
                    None => {
                        unknown_field(ck, k, &key, name, fields.iter().map(|f| f.name));
                        ok = false;
                    }
                }
            }
            ok.then_some(Json::Object(out))
        }
    }
}

fn data_file(ck: &mut Checker, v: &Node, scope: &Scope, dir: &Path) -> Option<Json> {
    let path = ck.string(v, "`data_file`", scope)?;
    let full = dir.join(&path);
    let text = match std::fs::read(&full) {
        Ok(t) => t,
        Err(e) => {
            ck.error(v.span, "cannot read", format!("cannot read `data_file` {}: {e}", full.display()));
            return None;
        }
    };
    match serde_json::from_slice(&text) {
        Ok(j) => Some(j),
        Err(e) => {
            ck.error(v.span, "not JSON", format!("`data_file` {} is not valid JSON: {e}", full.display()));
            None
        }
    }
}

/// Empty and over-long channel names, on the values after interpolation.
fn channel_names(ck: &mut Checker, m: &Method, entries: &[(&Node, &Node)], out: &Map<String, Json>) -> bool {
    let mut ok = true;
    let mut check = |ck: &mut Checker, node: &Node, ch: &str| {
        if ch.is_empty() && m.name != "unsubscribe" {
            ck.error(node.span, "empty", "channel name is empty");
            ok = false;
        } else if ch.len() > MAX_CHANNEL_BYTES {
            ck.error(
                node.span,
                "too long",
                format!("channel name is {} bytes, over the limit of {MAX_CHANNEL_BYTES}", ch.len()),
            );
            ok = false;
        }
    };
    for (k, v) in entries {
        match (k.as_str(), out.get(k.as_str().unwrap_or(""))) {
            (Some("channel"), Some(Json::String(ch))) => check(ck, v, ch),
            (Some("channels"), Some(Json::Array(chs))) => {
                let Value::Seq(nodes) = &v.value else { continue };
                for (n, ch) in nodes.iter().zip(chs) {
                    check(ck, n, ch.as_str().unwrap_or(""));
                }
            }
            _ => {}
        }
    }
    ok
}

/// Required fields per method (SPEC §4). A field that is there but empty
/// (or zero) is pointed at; a missing one at the method name.
fn required(ck: &mut Checker, m: &Method, key: &Node, entries: &[(&Node, &Node)], out: &Map<String, Json>) -> bool {
    let has = |k: &str| out.get(k).is_some_and(|v| !matches!(v, Json::Null) && v.as_str() != Some(""));
    let present = |k: &str| out.contains_key(k);
    let problem: Option<(String, &str)> = match m.name {
        "publish" if !present("channel") => Some(("`publish` needs `channel`".into(), "channel")),
        "publish" | "broadcast" if !present("data") && !present("b64data") => {
            Some((format!("`{}` needs `data`, `b64data` or `data_file`", m.name), "data"))
        }
        "broadcast" if out.get("channels").and_then(Json::as_array).is_none_or(Vec::is_empty) => {
            Some(("`broadcast` needs a non-empty `channels` list".into(), "channels"))
        }
        "history" | "presence" | "presence_stats" | "history_remove" | "subscribe" | "map_read_state"
        | "map_read_stream" | "map_stats" | "map_clear"
            if !present("channel") =>
        {
            Some((format!("`{}` needs `channel`", m.name), "channel"))
        }
        "map_publish" | "map_remove" | "shared_poll_publish" if !has("channel") => {
            Some((format!("`{}` needs `channel`", m.name), "channel"))
        }
        "map_publish" | "map_remove" | "shared_poll_publish" if !has("key") => {
            Some((format!("`{}` needs a non-empty `key`", m.name), "key"))
        }
        "shared_poll_publish" if out.get("version").and_then(Json::as_u64).is_none_or(|v| v == 0) => {
            Some(("`shared_poll_publish` needs `version` > 0".into(), "version"))
        }
        "disconnect" | "refresh" | "subscribe" | "unsubscribe" if !has("user") && !has("client") && !has("session") => {
            Some((format!("`{}` needs a target: `user`, `client` or `session`", m.name), "user"))
        }
        "rpc" if !has("method") => Some(("`rpc` needs `method`".into(), "method")),
        _ => None,
    };
    let Some((msg, field)) = problem else { return true };
    match entries.iter().find(|(k, _)| k.as_str() == Some(field)) {
        Some((_, v)) => ck.error(v.span, "empty", msg),
        None => ck.error(key.span, "missing field", msg),
    };
    false
}
