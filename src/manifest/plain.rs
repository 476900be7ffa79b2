//! The plain command, validated and encoded in one pass. Most items of a
//! long manifest are a method key (perhaps with a `name`) whose params hold
//! no `${...}`, no `data_file` and nothing wrong: for those, the params'
//! JSON text is written straight from the YAML tree while each field is
//! checked against the method's message — no JSON value is built, checked
//! and serialised, as the general path ([`fields`](super::fields)) does.
//!
//! In: a list item's tree and the protocol; out: its method, its name and
//! its params' compact JSON (written into a buffer), or `None` at the first
//! thing outside that shape — anything the general path would report,
//! even as a warning, or would read with more than the tree (variables,
//! files) — and the general path takes the item. Proven equal to it by the
//! differential tests below: whatever this path takes, the general path
//! takes without a problem and encodes to the same text.

use super::fields::DATA_FILE;
use super::yaml::{Node, Value};
use crate::methods::proto::{Field, Message, Scalar, Shape, schema};
use crate::methods::{self, ENUMS, Method, PRO_FIELDS, Rule, UNREAD_FIELDS};
use crate::protocol::Protocol;

/// Where a plain command's params are written, and the request message of
/// the method before (its lookup costs more than checking a command).
#[derive(Default)]
pub(crate) struct Scratch {
    pub text: String,
    request: Option<(&'static Method, Protocol, &'static Message)>,
}

/// The item's method as sent on `protocol` and its name, its params
/// written to `scratch.text` (cleared first); `None` when the item is not a
/// plain command. `text` is the source the tree was parsed from (numbers
/// are written as written).
pub(super) fn command<'i>(
    text: &str,
    item: &'i Node,
    protocol: Protocol,
    scratch: &mut Scratch,
) -> Option<(&'static Method, Option<&'i str>)> {
    scratch.text.clear();
    let entries = item.as_map()?;
    if !unique(entries) {
        return None;
    }
    let (mut method, mut name) = (None, None);
    for (k, v) in entries {
        match k.as_str()? {
            "name" => name = Some(string(v)?),
            // A runner key (`for_each`, `expect`, ...) is not a method: `None`.
            key => {
                let m = methods::lookup(key)?;
                if method.replace((m, v)).is_some() {
                    return None;
                }
            }
        }
    }
    let (m, body) = method?;
    let m = methods::for_protocol(m, protocol).ok()?;
    if methods::oss_refuses(m) {
        return None;
    }
    let msg = match scratch.request {
        Some((last, p, msg)) if std::ptr::eq(last, m) && p == protocol => msg,
        _ => {
            let msg = m.request(protocol);
            scratch.request = Some((m, protocol, msg));
            msg
        }
    };
    let out = &mut scratch.text;
    let entries: &[(Node, Node)] = match &body.value {
        Value::Null => &[],
        Value::Map(entries) => entries,
        _ => return None,
    };
    if m.data_file && entries.iter().any(|(k, _)| k.as_str() == Some(DATA_FILE)) {
        return None;
    }
    message(text, msg, entries, out)?;
    requirements(m, protocol, entries, text, out)?;
    Some((m, name))
}

/// A string scalar the general path takes as it is: no `${...}` to expand
/// (no `$` at all) and no NUL (which stands for a saved name's placeholder).
fn string<'i>(v: &'i Node) -> Option<&'i str> {
    match &v.value {
        Value::Str(s) if !s.contains(['$', '\0']) => Some(s),
        _ => None,
    }
}

/// Every key a string, none twice (the general path reports duplicates).
fn unique(entries: &[(Node, Node)]) -> bool {
    entries.iter().enumerate().all(|(i, (k, _))| {
        k.as_str().is_some_and(|key| entries[..i].iter().all(|(other, _)| other.as_str() != Some(key)))
    })
}

/// A message's fields: each known, none the server would warn about
/// (PRO-only, never read, an enum) and none of the `b64` pairs.
fn message(text: &str, msg: &Message, entries: &[(Node, Node)], out: &mut String) -> Option<()> {
    if !unique(entries) {
        return None;
    }
    out.push('{');
    for (i, (k, v)) in entries.iter().enumerate() {
        let key = k.as_str()?;
        let f = msg.field(key)?;
        let special = |list: &[(&str, &str)]| list.contains(&(msg.name, key));
        if key.starts_with("b64")
            || special(PRO_FIELDS)
            || special(UNREAD_FIELDS)
            || ENUMS.iter().any(|(m, f, _)| *m == msg.name && *f == key)
        {
            return None;
        }
        if i > 0 {
            out.push(',');
        }
        json_string(out, key);
        out.push(':');
        field(text, f, v, out)?;
    }
    out.push('}');
    Some(())
}

fn field(text: &str, f: &Field, v: &Node, out: &mut String) -> Option<()> {
    match f.shape {
        Shape::One => scalar(text, f, v, out),
        Shape::Repeated => {
            let Value::Seq(items) = &v.value else { return None };
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                scalar(text, f, item, out)?;
            }
            out.push(']');
            Some(())
        }
        Shape::Map => {
            let Value::Map(entries) = &v.value else { return None };
            if !unique(entries) {
                return None;
            }
            out.push('{');
            for (i, (k, item)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                json_string(out, k.as_str()?);
                out.push(':');
                scalar(text, f, item, out)?;
            }
            out.push('}');
            Some(())
        }
    }
}

/// One value of a field's type, as `methods::check` accepts it.
fn scalar(text: &str, f: &Field, v: &Node, out: &mut String) -> Option<()> {
    match f.ty {
        Scalar::Bytes => any(text, v, out),
        Scalar::String => {
            json_string(out, string(v)?);
            Some(())
        }
        Scalar::Bool => {
            let Value::Bool(b) = v.value else { return None };
            out.push_str(if b { "true" } else { "false" });
            Some(())
        }
        Scalar::Double => {
            out.push_str(number(text, v)?);
            Some(())
        }
        Scalar::Int32 | Scalar::Int64 | Scalar::Uint32 | Scalar::Uint64 => {
            let n = number(text, v)?;
            let (min, max) = f.ty.int_range()?;
            let digits = n.strip_prefix('-').unwrap_or(n);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let x = n.parse::<i128>().ok()?;
            if x < min || x > max || (min == 0 && n.starts_with('-')) {
                return None;
            }
            out.push_str(n);
            Some(())
        }
        Scalar::Message(name) => {
            let Value::Map(entries) = &v.value else { return None };
            message(text, schema().message(name)?, entries, out)
        }
    }
}

/// Any value (raw JSON: `data`): a tree of plain values.
fn any(text: &str, v: &Node, out: &mut String) -> Option<()> {
    match &v.value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(_) | Value::UInt(_) | Value::Float(_) => out.push_str(number(text, v)?),
        Value::Str(_) => json_string(out, string(v)?),
        Value::Seq(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                any(text, item, out)?;
            }
            out.push(']');
        }
        Value::Map(entries) => {
            if !unique(entries) {
                return None;
            }
            out.push('{');
            for (i, (k, item)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                json_string(out, k.as_str()?);
                out.push(':');
                any(text, item, out)?;
            }
            out.push('}');
        }
    }
    Some(())
}

/// A number's text as written, when it is JSON's own syntax without an
/// exponent (the general path then sends it as written; `0x1F`, `+1` or
/// `.5` it sends as the value YAML resolved, and `1e5` as `1e+5`: this
/// path leaves them to it).
fn number<'t>(text: &'t str, v: &Node) -> Option<&'t str> {
    if !matches!(v.value, Value::Int(_) | Value::UInt(_) | Value::Float(_)) {
        return None;
    }
    let t = text.get(v.span.offset..v.span.offset + v.span.len)?.trim();
    json_number(t).then_some(t)
}

/// `-?(0|[1-9][0-9]*)(\.[0-9]+)?`: JSON's numbers, but those with an exponent.
fn json_number(t: &str) -> bool {
    let b = t.as_bytes();
    let mut i = usize::from(b.first() == Some(&b'-'));
    let digits = |i: &mut usize| {
        let start = *i;
        while b.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i - start
    };
    match b.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => {
            digits(&mut i);
        }
        _ => return false,
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

/// `s` as a JSON string, escaped as serde_json escapes it.
fn json_string(out: &mut String, s: &str) {
    out.push('"');
    // Most strings need no escape: one pass that runs on vectors says so.
    if !s.bytes().fold(false, |any, b| any | (b < 0x20) | (b == b'"') | (b == b'\\')) {
        out.push_str(s);
        out.push('"');
        return;
    }
    let mut from = 0;
    for (i, b) in s.bytes().enumerate() {
        let escape = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[from..i]);
        if escape.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.push_str("\\u00");
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xf)]));
        } else {
            out.push_str(escape);
        }
        from = i + 1;
    }
    out.push_str(&s[from..]);
    out.push('"');
}

/// The method's rules hold for these params (the general path reports the
/// first that does not), and its caveat does not apply (a warning).
fn requirements(m: &Method, protocol: Protocol, entries: &[(Node, Node)], text: &str, json: &str) -> Option<()> {
    let get = |f: &str| entries.iter().find(|(k, _)| k.as_str() == Some(f)).map(|(_, v)| v);
    let present = |f: &str| get(f).is_some();
    // As `methods::check` tells an empty value (`0` and `-0` are empty numbers).
    let filled = |f: &str| match get(f).map(|v| &v.value) {
        None | Some(Value::Null) => false,
        Some(Value::Str(s)) => !s.is_empty(),
        Some(Value::Seq(items)) => !items.is_empty(),
        Some(Value::Int(_) | Value::UInt(_) | Value::Float(_)) => {
            get(f).and_then(|v| number(text, v)).is_some_and(|n| n.trim_start_matches('-') != "0")
        }
        Some(_) => true,
    };
    for r in m.requirements(protocol) {
        let holds = match r.rule {
            Rule::NonEmpty(f) | Rule::Positive(f) => filled(f),
            Rule::NonEmptyItems(f) => match get(f).map(|v| &v.value) {
                Some(Value::Seq(items)) => !items.iter().any(|i| matches!(&i.value, Value::Str(s) if s.is_empty())),
                _ => true,
            },
            Rule::AnyPresent(fs) => fs.iter().any(|f| present(f)),
            Rule::AnyNonEmpty(fs) => fs.iter().any(|f| filled(f)),
            // A rule over several fields (rare): on the params as the general path has them.
            Rule::Check(check) => {
                let params: serde_json::Map<String, serde_json::Value> = serde_json::from_str(json).ok()?;
                check(&params).is_none()
            }
        };
        if !holds {
            return None;
        }
    }
    match &m.caveat {
        Some(c) if protocol != Protocol::V1 && !c.unless_any.iter().any(|f| present(f)) => None,
        _ => Some(()),
    }
}

#[cfg(test)]
mod tests {
    use super::super::check::{Checker, Scope};
    use super::super::command::{CommandContext, general};
    use super::super::files::Root;
    use super::super::texts::Commands;
    use super::super::yaml::Value;
    use super::*;
    use crate::diagnostic::Source;

    /// The item of `commands:` in `src`, through the plain path and through
    /// the general one: the plain one must be `None`, or give exactly what
    /// the general one gives without a problem. Returns whether it was taken.
    fn same(item: &str, protocol: Protocol) -> bool {
        let src = format!("commands:\n{item}");
        let Ok(root) = super::super::yaml::parse(&src) else { return false };
        let Some(Value::Seq(items)) = root.as_map().and_then(|m| m.first()).map(|(_, v)| &v.value) else {
            return false;
        };
        let Some(node) = items.first() else { return false };
        let mut scratch = Scratch::default();
        let Some((m, name)) = command(&src, node, protocol, &mut scratch) else { return false };
        let out = scratch.text;
        let source = Source::new("m.yaml", src.clone());
        let mut ck = Checker::new(&source);
        let empty = Default::default();
        let scope = Scope::new(&empty, &empty, None);
        let root_dir = Root::new(std::path::Path::new("."), None, Default::default());
        let cx = CommandContext { manifest: 0, root: &root_dir, protocol };
        let mut cmds = Commands::new(true, 1);
        general(&mut ck, node, &scope, &cx, &mut cmds);
        let messages: Vec<&str> = ck.problems.iter().map(|p| p.message.as_str()).collect();
        assert!(messages.is_empty(), "the plain path took {item:?}, the general path says {messages:?}");
        let (cmds, _, _) = cmds.finish();
        assert_eq!(cmds.len(), 1, "{item:?}");
        let c = &cmds[0];
        assert_eq!(c.params(), out, "{item:?}");
        assert_eq!((c.method.name, c.name()), (m.name, name), "{item:?}");
        assert!(c.steps.is_none(), "{item:?}");
        true
    }

    fn taken(item: &str) -> bool {
        same(item, Protocol::Api)
    }

    #[test]
    fn plain_commands_take_the_plain_path_with_the_general_paths_text() {
        let taken_items = [
            "  - publish: {channel: news, data: {n: 1, text: \"payload 1\"}}\n",
            "- publish: {channel: x, data: {seq: 1, text: abc}}\n",
            "  - name: greet Grüße\n    publish: {channel: 'it''s', data: [1, -2.5, -0, 0.0, 1.50, true, null, \"\", x~]}\n",
            "  - publish: {channel: \"a\\\"b\\\\c\\td\\u0001\", data: \"line\\nbreak \\u00e9\"}\n",
            "  - broadcast: {channels: [a, b], data: {x: {y: [{}, []]}}}\n",
            "  - history: {channel: x, limit: 10, reverse: true}\n",
            "  - history: {channel: x, limit: -1, since: {offset: 5, epoch: e}}\n",
            "  - history: {channel: x, limit: 0}\n",
            "  - disconnect: {user: \"42\", whitelist: [c1], disconnect: {code: 4000, reason: bye}}\n",
            "  - subscribe: {channel: a, user: u, expire_at: 9223372036854775807, override: {presence: {value: true}}}\n",
            "  - unsubscribe: {channel: a, user: u}\n",
            "  - refresh: {user: u, expired: false}\n",
            "  - presence: {channel: chat}\n",
            "  - info:\n",
            "  - info: {}\n",
            "  - channels: {pattern: \"*\"}\n",
            "  - publish: {channel: x, data: 12345678901234567890123, tags: {a: b, c: \"1\"}, skip_history: true}\n",
            "  - publish: {channel: x, data: {\"1\": a, 'b c': d}}\n",
            "  - publish:\n      channel: x\n      data:\n        a: [1, 2]\n        b: {c: d}\n",
        ];
        for item in taken_items {
            assert!(taken(item), "not taken: {item:?}");
        }
    }

    #[test]
    fn other_commands_are_left_to_the_general_path() {
        let left = [
            // Variables, files, runner keys, a second method.
            "  - publish: {channel: \"${c}\", data: 1}\n",
            "  - publish: {channel: x, data: \"$5\"}\n",
            "  - publish: {channel: x, data_file: d.json}\n",
            "  - publish: {channel: x, data: 1}\n    for_each: [1]\n",
            "  - publish: {channel: x, data: 1}\n    expect: {}\n",
            "  - publish: {channel: x, data: 1}\n    broadcast: {channels: [x], data: 1}\n",
            "  - wait: 1s\n",
            // Numbers not in JSON's syntax, types that do not fit.
            "  - publish: {channel: x, data: 0x1F}\n",
            "  - publish: {channel: x, data: +1}\n",
            "  - publish: {channel: x, data: .5}\n",
            "  - publish: {channel: x, data: .inf}\n",
            "  - publish: {channel: x, data: 1e5}\n",
            "  - publish: {channel: 5, data: 1}\n",
            "  - history: {channel: x, limit: 1.0}\n",
            "  - history: {channel: x, limit: 3000000000}\n",
            "  - disconnect: {user: u, disconnect: {code: -0}}\n",
            "  - history: {channel: x, limit: \"5\"}\n",
            "  - refresh: {user: u, expired: \"true\"}\n",
            // Keys: unknown, twice, not strings.
            "  - publish: {channel: x, chanel: y, data: 1}\n",
            "  - publish: {channel: x, channel: y, data: 1}\n",
            "  - publish: {channel: x, data: {a: 1, a: 2}}\n",
            "  - publish: {channel: x, data: {1: a}}\n",
            // Rules and warnings.
            "  - publish: {channel: \"\", data: 1}\n",
            "  - publish: {channel: x}\n",
            "  - broadcast: {channels: [], data: 1}\n",
            "  - broadcast: {channels: [a, \"\"], data: 1}\n",
            "  - history: {channel: x}\n",
            "  - history: {channel: x, limit: 1, reverse: true, since: {offset: 0, epoch: e}}\n",
            "  - disconnect: {}\n",
            "  - disconnect: {user: u, all_users: true}\n",
            "  - publish: {channel: x, b64data: AQ==}\n",
            "  - rpc: {method: m}\n",
            "  - map_publish: {channel: m, key: k, score: 1, data: 1}\n",
        ];
        for item in left {
            assert!(!taken(item), "taken: {item:?}");
        }
    }

    #[test]
    fn mutated_commands_are_left_alone_or_encoded_as_the_general_path_does() {
        let seeds = [
            "  - publish: {channel: news, data: {n: 1, text: \"payload 1\", ok: true, list: [1, 2.5, null]}}\n",
            "  - name: a b\n    broadcast: {channels: [x, 'y'], data: [1, -2, 3.4], idempotency_key: k}\n",
            "  - history: {channel: 'it''s', limit: 10, reverse: false, since: {offset: 1, epoch: e}}\n",
            "  - disconnect: {user: \"42\", whitelist: [c1, c2], disconnect: {code: 4000, reason: bye}}\n",
            "  - subscribe: {channel: a, user: u, override: {presence: {value: true}}, data: {}}\n",
            "  - refresh: {user: u, client: c, expired: false, expire_at: 10}\n",
        ];
        let alphabet: Vec<char> = " -:,[]{}#&*!|'\"$%.+0123456789eExa_\\\n\tü".chars().collect();
        // Values and keys put in place of a word: every type in every field.
        let words = [
            "0",
            "-0",
            "1",
            "-1",
            "1.5",
            "1.50",
            "01",
            "+1",
            "0x1F",
            "1e5",
            ".5",
            "4294967296",
            "-2147483649",
            "9223372036854775808",
            "true",
            "false",
            "null",
            "~",
            "\"\"",
            "''",
            "x",
            "\"x\"",
            "'a''b'",
            "[]",
            "{}",
            "[a, b]",
            "{a: 1}",
            "\"$x\"",
            "\"${x}\"",
            "channel",
            "data",
            "user",
            "limit",
            "name",
            "b64data",
            "since",
            "reverse",
            "offset",
            "epoch",
            "tags",
            "expire_at",
            "for_each",
            "publish",
            "history",
        ];
        let mut rng = crate::testutil::Rng(0x51_7cc1_b727_220a);
        let mut next = |n: usize| rng.below(n);
        let (mut taken_n, mut total) = (0, 0);
        for seed in seeds {
            assert!(taken(seed), "the seed is not taken: {seed:?}");
            for _ in 0..3000 {
                let mut s: Vec<char> = seed.chars().collect();
                for _ in 0..1 + next(2) {
                    let i = 4 + next(s.len() - 5);
                    match next(4) {
                        0 => s.insert(i, alphabet[next(alphabet.len())]),
                        1 => drop(s.remove(i)),
                        2 => s.insert(i, s[i]),
                        _ => {
                            let word = |c: &char| !" ,:[]{}\n".contains(*c);
                            let (mut a, mut b) = (i, i);
                            while a > 4 && word(&s[a - 1]) {
                                a -= 1;
                            }
                            while b < s.len() && word(&s[b]) {
                                b += 1;
                            }
                            s.splice(a..b, words[next(words.len())].chars());
                        }
                    }
                }
                let item: String = s.into_iter().collect();
                total += 1;
                let protocol = [Protocol::Api, Protocol::Api, Protocol::Api, Protocol::Legacy, Protocol::V1][next(5)];
                taken_n += usize::from(same(&item, protocol));
            }
        }
        // Most mutants are wrong somewhere; those taken are compared, and
        // enough must be taken for that to mean something.
        assert!(taken_n > total / 10, "only {taken_n} of {total} mutants took the plain path");
    }

    #[test]
    fn strings_are_escaped_as_serde_json_escapes_them() {
        for s in ["", "plain", "q\"b\\s/", "\u{0}\u{1}\u{8}\u{9}\u{a}\u{c}\u{d}\u{1f}\u{7f}", "é世\u{2028}"] {
            let mut out = String::new();
            json_string(&mut out, s);
            assert_eq!(out, serde_json::to_string(s).unwrap());
        }
        for (t, ok) in
            [("0", true), ("-0", true), ("1.50", true), ("01", false), ("1.", false), ("-", false), ("1e5", false)]
        {
            assert_eq!(json_number(t), ok, "{t}");
            if ok {
                assert_eq!(t.parse::<serde_json::Number>().unwrap().to_string(), t);
            }
        }
    }
}
