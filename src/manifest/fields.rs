//! A method's params against the method table: every field known and of its
//! type, channel names sound, `data_file` read, the method's requirements on
//! the protocol met. The params come out as a JSON object.

use std::path::Path;

use base64::Engine;
use serde_json::{Map, Value as Json};

use super::check::{Checker, Scope};
use super::yaml::{Node, Value};
use crate::diagnostic::did_you_mean;
use crate::methods::{MAX_CHANNEL_BYTES, Method, Rule, Ty};
use crate::protocol::Protocol;

/// The key that names a JSON file used as `data` (where the table allows it).
const DATA_FILE: &str = "data_file";

/// The method's request object as JSON, with every field checked; `key` is
/// the method key (where a missing field is pointed at), `body` its value.
pub(super) fn params(
    ck: &mut Checker,
    m: &Method,
    key: &Node,
    body: &Node,
    scope: &Scope,
    protocol: Protocol,
    dir: &Path,
) -> Option<Map<String, Json>> {
    if matches!(body.value, Value::Null) {
        let out = Map::new();
        return requirements(ck, m, protocol, key, &[], &out).then_some(out);
    }
    let entries = ck.entries(body, &format!("`{}`", m.name))?;
    let mut out = Map::with_capacity(entries.len());
    let mut ok = true;
    for (k, v) in &entries {
        let name = k.key_text();
        let value = if m.data_file && name == DATA_FILE {
            if entries.iter().any(|(k, _)| k.as_str() == Some("data")) {
                ck.error(k.span, "conflicts with `data`", "`data_file` and `data` are both given");
                ok = false;
                continue;
            }
            data_file(ck, v, scope, dir).map(|j| ("data".into(), j))
        } else if m.freeform() {
            ck.json(v, scope).map(|j| (name.into_owned(), j))
        } else if let Some(field) = m.field(&name) {
            value(ck, v, field.ty, field.name, scope).map(|j| (name.into_owned(), j))
        } else {
            let known = m.fields.iter().map(|f| f.name).chain(m.data_file.then_some(DATA_FILE));
            unknown_field(ck, k, &name, m.name, known);
            None
        };
        match value {
            Some((name, j)) => {
                out.insert(name, j);
            }
            None => ok = false,
        }
    }
    // A field that is present but wrong was reported already: no "missing" cascade.
    if !ok || !requirements(ck, m, protocol, key, &entries, &out) {
        return None;
    }
    if let Some(c) = &m.caveat
        && protocol != Protocol::V1
        && !c.unless_any.iter().any(|f| out.contains_key(*f))
    {
        ck.warn(key.span, c.label, c.message).help = Some(c.help.into());
    }
    Some(out)
}

fn unknown_field<'a>(ck: &mut Checker, k: &Node, key: &str, owner: &str, fields: impl Iterator<Item = &'a str>) {
    let fields: Vec<&str> = fields.collect();
    let p = ck.error(k.span, "unknown field", format!("unknown field `{key}` in `{owner}`"));
    p.help = Some(match did_you_mean(key, fields.iter().copied()) {
        Some(s) => format!("did you mean `{s}`?"),
        None if fields.is_empty() => format!("`{owner}` takes no fields"),
        None => format!("`{owner}` takes: {}", fields.join(", ")),
    });
}

/// Checks a field value against its type and converts it to JSON. A string
/// that is exactly `"${NAME}"` of a saved name takes the saved value, of
/// whatever type, when the command is sent.
fn value(ck: &mut Checker, v: &Node, ty: Ty, name: &str, scope: &Scope) -> Option<Json> {
    if let Value::Str(s) = &v.value
        && let Some(var) = s.strip_prefix("${").and_then(|r| r.strip_suffix('}'))
        && !var.contains(['$', '{', '}', ':'])
    {
        if let Some(placeholder) = scope.saved.and_then(|saved| saved.get(var)) {
            return Some(Json::String(placeholder.clone()));
        }
        // An undefined name is the problem, not the type of its text.
        if scope.lookup(var).is_none() && !scope.literal {
            ck.interpolate(v, s, scope);
            return None;
        }
    }
    let what = format!("`{name}`");
    match ty {
        Ty::Str => ck.string(v, &what, scope).map(Json::String),
        Ty::Channel | Ty::ChannelOrAll => {
            let ch = ck.string(v, &what, scope)?;
            channel_name(ck, v, &ch, ty == Ty::ChannelOrAll).then_some(Json::String(ch))
        }
        Ty::Enum(values) => {
            let s = ck.string(v, &what, scope)?;
            if values.contains(&s.as_str()) {
                return Some(Json::String(s));
            }
            let shown: Vec<String> = values.iter().map(|x| format!("{x:?}")).collect();
            let p = ck.error(v.span, "not allowed", format!("{what} must be one of {}, found {s:?}", shown.join(", ")));
            if let Some(near) = did_you_mean(&s, values.iter().copied()) {
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
        Ty::StrList | Ty::Channels => {
            let Value::Seq(items) = &v.value else {
                ck.type_error(v, &format!("{what} must be a list of strings"), "a list");
                return None;
            };
            let mut out = Vec::with_capacity(items.len());
            let mut ok = true;
            for it in items {
                match ck.string(it, &format!("an item of {what}"), scope) {
                    Some(s) if ty == Ty::Channels && !channel_name(ck, it, &s, false) => ok = false,
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

/// An empty or over-long channel name (after interpolation) is a problem.
fn channel_name(ck: &mut Checker, node: &Node, ch: &str, empty_ok: bool) -> bool {
    if ch.is_empty() && !empty_ok {
        ck.error(node.span, "empty", "channel name is empty");
        false
    } else if ch.len() > MAX_CHANNEL_BYTES {
        ck.error(
            node.span,
            "too long",
            format!("channel name is {} bytes, over the limit of {MAX_CHANNEL_BYTES}", ch.len()),
        );
        false
    } else {
        true
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

/// The method's requirements on this protocol (the method table's rules).
/// A field that is there but empty (or zero) is pointed at; a missing one
/// at the method name.
fn requirements(
    ck: &mut Checker,
    m: &Method,
    protocol: Protocol,
    key: &Node,
    entries: &[(&Node, &Node)],
    out: &Map<String, Json>,
) -> bool {
    let present = |f: &str| out.contains_key(f);
    let filled = |f: &str| match out.get(f) {
        None | Some(Json::Null) => false,
        Some(Json::String(s)) => !s.is_empty(),
        Some(Json::Array(a)) => !a.is_empty(),
        Some(Json::Number(n)) => n.as_f64() != Some(0.0),
        Some(_) => true,
    };
    let or_list = |fs: &[&str]| {
        let quoted: Vec<String> = fs.iter().map(|f| format!("`{f}`")).collect();
        match quoted.split_last() {
            Some((last, [])) => last.clone(),
            Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
            None => String::new(),
        }
    };
    let mut ok = true;
    for rule in m.requirements(protocol) {
        let (message, field) = match *rule {
            Rule::Present(f) if !present(f) => (format!("`{}` needs `{f}`", m.name), f),
            Rule::NonEmpty(f) if !present(f) => (format!("`{}` needs `{f}`", m.name), f),
            Rule::NonEmpty(f) if !filled(f) => {
                let list = matches!(m.field(f).map(|x| x.ty), Some(Ty::Channels | Ty::StrList));
                (format!("`{}` needs a non-empty `{f}`{}", m.name, if list { " list" } else { "" }), f)
            }
            Rule::Positive(f) if !filled(f) => (format!("`{}` needs `{f}` > 0", m.name), f),
            Rule::AnyPresent(fs) if !fs.iter().any(|f| present(f)) => {
                let mut all = fs.to_vec();
                if m.data_file && fs.contains(&"data") {
                    all.push(DATA_FILE);
                }
                (format!("`{}` needs {}", m.name, or_list(&all)), fs[0])
            }
            Rule::AnyNonEmpty(fs) if !fs.iter().any(|f| filled(f)) => {
                (format!("`{}` needs a target: {}", m.name, or_list(fs)), fs[0])
            }
            _ => continue,
        };
        let problem = match entries.iter().find(|(k, _)| k.as_str() == Some(field)) {
            Some((_, v)) => ck.error(v.span, "empty", message),
            None => ck.error(key.span, "missing field", message),
        };
        if field == "channel" && m.field("channel").is_some_and(|f| f.ty == Ty::ChannelOrAll) {
            problem.help = Some(format!(
                "on Centrifugo v5/v6 name the channel: `{}` without one drops the user from every channel, with a push client SDKs do not expect",
                m.name
            ));
        }
        ok = false;
        // One missing thing at a time: the first unmet rule says the most.
        break;
    }
    ok
}
