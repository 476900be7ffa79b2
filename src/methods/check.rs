//! A command's params against its method: every field known and of the
//! type the server's definition gives (integers within their exact int32,
//! uint32, int64 or uint64 range, base64 that decodes, raw JSON anywhere
//! JSON may go), the method's requirements met, and the pairs the server
//! would silently drop one of refused. Problems carry the path of the field
//! they are about; the manifest turns a path into a place in the YAML, the
//! client into a message. The one validator of params: manifests, `call`,
//! `cent` and the library client all use it.

use base64::Engine;
use serde_json::{Map, Value as Json};

use super::proto::{Field, Message, Scalar, Shape, schema};
use super::{Method, Rule, UNREAD_FIELDS};
use crate::diagnostic::did_you_mean;
use crate::protocol::Protocol;

/// One step of a path into params.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Seg {
    Key(String),
    Index(usize),
}

impl std::fmt::Display for Seg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Seg::Key(k) => f.write_str(k),
            Seg::Index(i) => write!(f, "{i}"),
        }
    }
}

/// What is wrong with a field (or missing from the params).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FieldProblem {
    /// The field it is about; for a missing field, the mapping that lacks it.
    pub path: Vec<Seg>,
    /// It is about the key (an unknown field), not the value.
    pub at_key: bool,
    /// A field the rules need is not there: point at the mapping, or at
    /// the method itself for the top level.
    pub missing: bool,
    pub label: std::borrow::Cow<'static, str>,
    pub message: String,
    pub help: Option<String>,
    pub warning: bool,
}

impl FieldProblem {
    fn error(path: &[Seg], label: impl Into<std::borrow::Cow<'static, str>>, message: String) -> Self {
        let label = label.into();
        FieldProblem { path: path.to_vec(), at_key: false, missing: false, label, message, help: None, warning: false }
    }

    fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    fn warning(mut self) -> Self {
        self.warning = true;
        self
    }

    /// `message (help)`, for one-line reports.
    pub(crate) fn text(&self) -> String {
        match &self.help {
            Some(h) => format!("{} ({h})", self.message),
            None => self.message.clone(),
        }
    }
}

/// A string that stands for a value saved by an earlier command: it may be
/// of any type, known only when the command is sent.
pub(crate) fn is_placeholder(v: &Json) -> bool {
    v.as_str().is_some_and(|s| s.starts_with('\u{0}') && s.ends_with('\u{0}') && s.len() > 2)
}

/// Checks `params` of method `m` as sent on `protocol`.
pub(crate) fn params(m: &Method, protocol: Protocol, params: &Map<String, Json>) -> Vec<FieldProblem> {
    let mut out = Vec::new();
    let msg = m.request(protocol);
    message(msg, params, &mut Vec::new(), &mut out);
    // A field that is there but wrong was reported: no "missing" on top.
    if !out.iter().any(|p| !p.warning) {
        requirements(m, protocol, msg, params, &mut out);
    }
    out
}

/// The value at `path` inside a message, for the fields of a nested one.
fn message(msg: &Message, obj: &Map<String, Json>, path: &mut Vec<Seg>, out: &mut Vec<FieldProblem>) {
    for (key, value) in obj {
        path.push(Seg::Key(key.clone()));
        match msg.field(key) {
            Some(f) => {
                if Method::pro_field(msg.name, key) {
                    let p = FieldProblem::error(path, "PRO only", format!("`{key}` is served only by Centrifugo PRO"))
                        .help("an open-source server accepts it and ignores it")
                        .warning();
                    out.push(p);
                }
                if UNREAD_FIELDS.contains(&(msg.name, key.as_str())) {
                    let p = FieldProblem::error(path, "not read", format!("Centrifugo 6.9.1 never reads `{key}`"))
                        .help("it is sent and ignored")
                        .warning();
                    out.push(p);
                }
                field(f, value, path, out);
                if let Some((_, _, allowed)) = super::ENUMS.iter().find(|(m, f, _)| *m == msg.name && f == key)
                    && let Some(v) = value.as_str()
                    && !allowed.contains(&v)
                {
                    let shown: Vec<String> = allowed.iter().map(|x| format!("{x:?}")).collect();
                    let mut p = FieldProblem::error(
                        path,
                        "not allowed",
                        format!("`{key}` must be one of {}, found {v:?}", shown.join(", ")),
                    );
                    p.help = did_you_mean(v, allowed.iter().copied()).map(|n| format!("did you mean `{n}`?"));
                    out.push(p);
                }
            }
            None => {
                let known: Vec<&str> = msg.fields.iter().map(|f| f.name).collect();
                let mut p = FieldProblem::error(
                    path,
                    "unknown field",
                    format!("unknown field `{key}` in `{}`", owner(msg, path)),
                );
                p.at_key = true;
                p.help = Some(match did_you_mean(key, known.iter().copied()) {
                    _ if key == "data_file" => {
                        "`data_file` is read by manifests only: give the file's JSON as `data`".into()
                    }
                    Some(s) => format!("did you mean `{s}`?"),
                    None if known.is_empty() => format!("`{}` takes no fields", owner(msg, path)),
                    None => format!("`{}` takes: {}", owner(msg, path), known.join(", ")),
                });
                out.push(p);
            }
        }
        path.pop();
    }
    pairs(msg, obj, path, out);
}

/// How a message is named in messages: the field holding it, or the method.
fn owner(msg: &Message, path: &[Seg]) -> String {
    match path.iter().rev().nth(1) {
        Some(Seg::Key(k)) => k.clone(),
        Some(Seg::Index(_)) | None => {
            let name = msg.name.trim_end_matches("Request").trim_start_matches("V1");
            let mut snake = String::new();
            let mut upper_before = false;
            for (i, c) in name.char_indices() {
                if c.is_uppercase() && i > 0 && !upper_before {
                    snake.push('_');
                }
                upper_before = c.is_uppercase();
                snake.push(c.to_ascii_lowercase());
            }
            snake
        }
    }
}

/// `data` beside `b64data` (and the like): the server keeps one and drops
/// the other; an empty base64 field is dropped too.
fn pairs(msg: &Message, obj: &Map<String, Json>, path: &mut Vec<Seg>, out: &mut Vec<FieldProblem>) {
    for f in msg.fields.iter().filter(|f| f.name.starts_with("b64")) {
        let Some(v) = obj.get(f.name) else { continue };
        let plain = &f.name[3..];
        path.push(Seg::Key(f.name.into()));
        if v.as_str() == Some("") {
            out.push(
                FieldProblem::error(
                    path,
                    "empty",
                    format!("`{}` is empty: the server ignores an empty `{}`", f.name, f.name),
                )
                .help(format!("give the base64 payload, or use `{plain}` instead")),
            );
        } else if msg.field(plain).is_some() && obj.contains_key(plain) {
            out.push(
                FieldProblem::error(
                    path,
                    "both given",
                    format!(
                        "`{plain}` and `{}` are both given: the server uses `{}` and drops `{plain}`",
                        f.name, f.name
                    ),
                )
                .help(format!("keep one of them: `{plain}` for JSON, `{}` for binary", f.name)),
            );
        }
        path.pop();
    }
}

fn field(f: &Field, v: &Json, path: &mut Vec<Seg>, out: &mut Vec<FieldProblem>) {
    if is_placeholder(v) {
        return;
    }
    let whole = format!("`{}`", f.name);
    match f.shape {
        Shape::One => scalar(f, v, &whole, path, out),
        Shape::Repeated => match v {
            Json::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    path.push(Seg::Index(i));
                    scalar(f, item, &format!("item {i} of `{}`", f.name), path, out);
                    path.pop();
                }
            }
            other => out.push(type_error(path, &whole, &format!("a list of {}", plural(f.ty)), other)),
        },
        Shape::Map => match v {
            Json::Object(map) => {
                for (k, item) in map {
                    path.push(Seg::Key(k.clone()));
                    scalar(f, item, &format!("`{}.{k}`", f.name), path, out);
                    path.pop();
                }
            }
            other => out.push(type_error(path, &whole, "a mapping", other)),
        },
    }
}

/// What items of a type are called.
fn plural(ty: Scalar) -> &'static str {
    match ty {
        Scalar::String => "strings",
        Scalar::Bytes => "JSON values",
        Scalar::Bool => "booleans",
        Scalar::Double => "numbers",
        Scalar::Message(_) => "mappings",
        _ => "integers",
    }
}

fn kind(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(n) if integer_text(&n.to_string()) => "an integer",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "a list",
        Json::Object(_) => "a mapping",
    }
}

fn type_error(path: &[Seg], name: &str, wanted: &str, got: &Json) -> FieldProblem {
    let label = format!("expected {}", wanted.split(" (").next().unwrap_or(wanted));
    let mut p = FieldProblem::error(path, label, format!("{name} must be {wanted}, found {}", kind(got)));
    if let Json::String(s) = got {
        if wanted.starts_with("an integer") && s.trim().parse::<i128>().is_ok() {
            p.help = Some(format!("write the number without quotes: {}", s.trim()));
        }
        if wanted == "a boolean" && matches!(s.as_str(), "true" | "false") {
            p.help = Some(format!("write it without quotes: {s}"));
        }
    } else if wanted == "a string" && matches!(got, Json::Number(_) | Json::Bool(_)) {
        p.help = Some(format!("quote it to make it a string: \"{got}\""));
    }
    p
}

/// An integer literal as JSON writes it: digits, a minus sign, no point or exponent.
fn integer_text(t: &str) -> bool {
    let digits = t.strip_prefix('-').unwrap_or(t);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

fn scalar(f: &Field, v: &Json, what: &str, path: &mut Vec<Seg>, out: &mut Vec<FieldProblem>) {
    if is_placeholder(v) {
        return;
    }
    let name = || what.to_owned();
    match f.ty {
        Scalar::Bytes => {}
        Scalar::String => match v {
            Json::String(s) if f.name.starts_with("b64") && !s.is_empty() => {
                // The server's decoder skips line breaks: a payload folded over lines is fine.
                let folded: String = s.chars().filter(|c| *c != '\n' && *c != '\r').collect();
                if let Err(e) = base64::engine::general_purpose::STANDARD.decode(folded.as_bytes()) {
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
                    out.push(
                        FieldProblem::error(path, "invalid base64", format!("{} is not valid base64: {why}", name()))
                            .help("standard base64 with `=` padding (not URL-safe)"),
                    );
                }
            }
            Json::String(_) => {}
            other => out.push(type_error(path, what, "a string", other)),
        },
        Scalar::Bool => {
            if !v.is_boolean() {
                out.push(type_error(path, what, "a boolean", v));
            }
        }
        Scalar::Double => {
            if !v.is_number() {
                out.push(type_error(path, what, "a number", v));
            }
        }
        Scalar::Int32 | Scalar::Int64 | Scalar::Uint32 | Scalar::Uint64 => {
            let (min, max) = f.ty.int_range().expect("an integer type");
            let wanted = format!("an integer ({})", f.ty.proto_name());
            let Json::Number(n) = v else {
                out.push(type_error(path, what, &wanted, v));
                return;
            };
            let text = n.to_string();
            if !integer_text(&text) {
                out.push(
                    FieldProblem::error(path, "not an integer", format!("{} must be {wanted}, found {text}", name()))
                        .help("write a whole number, without a decimal point or exponent"),
                );
                return;
            }
            let value = text.parse::<i128>().ok();
            let wide = matches!(f.ty, Scalar::Int64 | Scalar::Uint64);
            let message = match value {
                Some(x) if x < min && !wide => format!("{} must be at least {min}, found {text}", name()),
                Some(x) if x > max && !wide => format!("{} must be at most {max}, found {text}", name()),
                Some(x) if x < min || x > max => {
                    format!("{} is outside {} ({min} to {max})", name(), f.ty.proto_name())
                }
                None => format!("{} is outside {} ({min} to {max})", name(), f.ty.proto_name()),
                Some(_) if min == 0 && text.starts_with('-') => format!("{} must be at least 0, found {text}", name()),
                Some(_) => return,
            };
            out.push(FieldProblem::error(path, "out of range", message));
        }
        Scalar::Message(m) => match v {
            Json::Object(obj) => message(schema().message(m).expect("defined"), obj, path, out),
            other => out.push(type_error(path, what, "a mapping", other)),
        },
    }
}

/// The method's requirements on this protocol (the method table's rules).
fn requirements(m: &Method, protocol: Protocol, msg: &Message, p: &Map<String, Json>, out: &mut Vec<FieldProblem>) {
    let present = |f: &str| p.contains_key(f);
    let filled = |f: &str| match p.get(f) {
        None | Some(Json::Null) => false,
        Some(Json::String(s)) => !s.is_empty(),
        Some(Json::Array(a)) => !a.is_empty(),
        Some(Json::Number(n)) => !matches!(n.to_string().trim_start_matches('-'), "0"),
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
    for r in m.requirements(protocol) {
        let is_list = |f: &str| msg.field(f).is_some_and(|x| x.shape == Shape::Repeated);
        let (field, message) = match r.rule {
            Rule::NonEmpty(f) if !present(f) => (f, format!("`{}` needs `{f}`", m.name)),
            Rule::NonEmpty(f) if !filled(f) => {
                (f, format!("`{}` needs a non-empty `{f}`{}", m.name, if is_list(f) { " list" } else { "" }))
            }
            Rule::NonEmptyItems(f) => {
                let items = p.get(f).and_then(Json::as_array).map_or(&[][..], Vec::as_slice);
                match items.iter().position(|i| i.as_str() == Some("")) {
                    Some(i) => {
                        let path = [Seg::Key(f.into()), Seg::Index(i)];
                        out.push(FieldProblem::error(&path, "empty", "channel name is empty".into()));
                        return;
                    }
                    None => continue,
                }
            }
            Rule::Positive(f) if !filled(f) => (f, format!("`{}` needs `{f}` > 0", m.name)),
            Rule::AnyPresent(fs) if !fs.iter().any(|f| present(f)) => {
                let mut all = fs.to_vec();
                if m.data_file && fs.contains(&"data") {
                    all.push("data_file");
                }
                (fs[0], format!("`{}` needs {}", m.name, or_list(&all)))
            }
            Rule::AnyNonEmpty(fs) if !fs.iter().any(|f| filled(f)) => {
                (fs[0], format!("`{}` needs a target: {}", m.name, or_list(fs)))
            }
            Rule::Check(check) => match check(p) {
                Some((f, why)) => {
                    out.push(FieldProblem::error(&[Seg::Key(f.into())], "refused", why.into()));
                    return;
                }
                None => continue,
            },
            _ => continue,
        };
        let missing = !present(field);
        let mut problem = FieldProblem::error(
            &if missing { Vec::new() } else { vec![Seg::Key(field.into())] },
            if missing { "missing field" } else { "empty" },
            message,
        );
        problem.missing = missing;
        problem.help = r.stricter.map(|why| format!("cent-run asks for it: {why}"));
        out.push(problem);
        // One missing thing at a time: the first unmet rule says the most.
        return;
    }
    if let Some(c) = &m.caveat
        && protocol != Protocol::V1
        && !c.unless_any.iter().any(|f| p.contains_key(*f))
    {
        let mut w = FieldProblem::error(&[], c.label, c.message.into()).help(c.help).warning();
        w.missing = true;
        out.push(w);
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::methods::lookup;

    fn check(method: &str, p: Json) -> Vec<String> {
        params(lookup(method).unwrap(), Protocol::Api, p.as_object().unwrap())
            .iter()
            .map(|p| {
                format!(
                    "{}{}: {}",
                    if p.warning { "warning " } else { "" },
                    p.path.iter().map(Seg::to_string).collect::<Vec<_>>().join("."),
                    p.message
                )
            })
            .collect()
    }

    fn num(text: &str) -> Json {
        Json::Number(text.parse().unwrap())
    }

    #[test]
    fn integers_are_checked_against_their_exact_type() {
        assert_eq!(
            check("history", json!({"channel": "a", "limit": num("3000000000")})),
            ["limit: `limit` must be at most 2147483647, found 3000000000"]
        );
        assert!(check("history", json!({"channel": "a", "limit": -1})).is_empty());
        assert_eq!(
            check("disconnect", json!({"user": "u", "disconnect": {"code": num("4294967296")}})),
            ["disconnect.code: `code` must be at most 4294967295, found 4294967296"]
        );
        assert_eq!(
            check("disconnect", json!({"user": "u", "disconnect": {"code": -1}})),
            ["disconnect.code: `code` must be at least 0, found -1"]
        );
        assert_eq!(
            check("refresh", json!({"user": "u", "expire_at": num("99999999999999999999")})),
            ["expire_at: `expire_at` is outside int64 (-9223372036854775808 to 9223372036854775807)"]
        );
        assert_eq!(
            check("history", json!({"channel": "a", "limit": num("1.0")})),
            ["limit: `limit` must be an integer (int32), found 1.0"]
        );
        assert_eq!(
            check("history", json!({"channel": "a", "limit": "5"})),
            ["limit: `limit` must be an integer (int32), found a string"]
        );
    }

    #[test]
    fn pairs_the_server_would_drop_one_of_and_empty_base64() {
        assert_eq!(
            check("publish", json!({"channel": "a", "data": 1, "b64data": "AQ=="})),
            ["b64data: `data` and `b64data` are both given: the server uses `b64data` and drops `data`"]
        );
        assert_eq!(
            check("publish", json!({"channel": "a", "b64data": ""})),
            ["b64data: `b64data` is empty: the server ignores an empty `b64data`"]
        );
        // Line breaks inside base64 are skipped by the server's decoder.
        assert!(check("publish", json!({"channel": "a", "b64data": "aGVs\nbG8="})).is_empty());
        assert_eq!(check("subscribe", json!({"channel": "a", "info": 1, "b64info": "AQ=="})).len(), 1);
    }

    #[test]
    fn pro_fields_and_unread_fields_are_warnings_and_nested_fields_are_known() {
        let w = check(
            "disconnect",
            json!({"user": "u", "all_users": true, "label_filter": {"op": "", "key": "k", "cmp": "eq", "vals": ["v"], "nodes": [{"key": "x", "cmp": "eq", "val": "1"}]}}),
        );
        assert_eq!(
            w,
            [
                "warning all_users: `all_users` is served only by Centrifugo PRO",
                "warning label_filter: `label_filter` is served only by Centrifugo PRO"
            ]
        );
        assert_eq!(
            check("map_publish", json!({"channel": "m", "key": "k", "score": 3})),
            ["warning score: Centrifugo 6.9.1 never reads `score`"]
        );
        assert_eq!(
            check("subscribe", json!({"channel": "a", "override": {"presence": {"valu": true}}})),
            ["override.presence.valu: unknown field `valu` in `presence`"]
        );
        // PRO methods are checked like the rest.
        assert_eq!(
            check("device_register", json!({"provider": "fcm", "token": "t", "meta": {"a": 1}})),
            ["meta.a: `meta.a` must be a string, found an integer"]
        );
    }

    #[test]
    fn the_servers_rules_and_cent_runs_stricter_ones() {
        assert!(check("subscribe", json!({"channel": "a"})).is_empty(), "the server needs no user");
        assert_eq!(
            check("broadcast", json!({"channels": ["a", ""], "data": 1})),
            ["channels.1: channel name is empty"]
        );
        assert_eq!(
            check("history", json!({"channel": "a", "reverse": true, "since": {"offset": 0, "epoch": "e"}})),
            ["since: `reverse` with `since` at offset 0 is refused by the server (error 100)"]
        );
        let unsub = params(lookup("unsubscribe").unwrap(), Protocol::Api, json!({"user": "u"}).as_object().unwrap());
        assert!(unsub[0].help.as_ref().unwrap().starts_with("cent-run asks for it: without a channel"), "{unsub:?}");
    }
}
