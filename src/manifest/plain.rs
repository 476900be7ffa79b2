//! The plain command, validated and encoded in one pass. Most items of a
//! long manifest are a method key (perhaps with a `name`) whose params hold
//! no `${...}`, no `data_file` and nothing wrong: for those, the params'
//! JSON text is written while each field is checked against the method's
//! message — no JSON value is built, checked and serialised, as the general
//! path ([`fields`](super::fields)) does, and for an item of the fast
//! path's shape no tree either: it is read straight from its text.
//!
//! In: a list item, as a reader over its text ([`Cursor`]) or over the tree
//! the full parser built ([`TreeReader`]), and the protocol; out: its
//! method, its name and its params' compact JSON (written into a buffer),
//! or `None` at the first thing outside that shape — anything the general
//! path would report, even as a warning, or would read with more than the
//! item (variables, files) — and the general path takes the item. Proven
//! equal to it by the differential tests below: whatever this path takes,
//! the general path takes without a problem and encodes to the same text,
//! and the text and the tree readers agree.

use std::borrow::Cow;

use super::yaml::{Cursor, ItemAt, Node, Read, Step, TreeReader, Value};
use crate::methods::proto::{Field, Message, Scalar, Shape, schema};
use crate::methods::{self, ENUMS, Method, PRO_FIELDS, Rule, UNREAD_FIELDS};
use crate::protocol::Protocol;

/// Where a plain command's params are written, the keys of the mappings
/// open (to find one given twice), and the request message of the method
/// before (its lookup costs more than checking a command).
#[derive(Default)]
pub(crate) struct Scratch {
    pub text: String,
    /// Each key's place in the source: `(offset, len)`.
    keys: Vec<(usize, usize)>,
    request: Option<(&'static Method, Protocol, &'static Message)>,
}

/// A plain command: its method as sent, its name, and whether its params
/// hold its own `idempotency_key`.
pub(super) type Plain<'a> = (&'static Method, Option<Cow<'a, str>>, bool);

/// The item's method as sent on `protocol` and its name, its params
/// written to `scratch.text`; `None` when the item is not a plain command.
/// `text` is the source the tree was parsed from (numbers are written as
/// written).
pub(super) fn command<'a>(text: &str, item: &Node<'a>, protocol: Protocol, scratch: &mut Scratch) -> Option<Plain<'a>> {
    read(text, &mut TreeReader::new(item), protocol, scratch)
}

/// [`command`] for the list item `at`, read from its text: `None` also when
/// it is not of the fast path's shape.
pub(crate) fn item<'a>(text: &'a str, at: ItemAt, protocol: Protocol, scratch: &mut Scratch) -> Option<Plain<'a>> {
    let mut cursor = Cursor::new(text, at)?;
    let plain = read(text, &mut cursor, protocol, scratch)?;
    cursor.finish()?;
    Some(plain)
}

fn read<'a>(text: &str, r: &mut impl Read<'a>, protocol: Protocol, scratch: &mut Scratch) -> Option<Plain<'a>> {
    scratch.text.clear();
    scratch.keys.clear();
    let Step::Map(_) = r.value()? else { return None };
    let (mut method, mut name, mut own_key) = (None, None, false);
    while r.key()? {
        match key(r)? {
            "name" => {
                let Step::Scalar = r.value()? else { return None };
                if name.replace(string(r.scalar())?).is_some() {
                    return None;
                }
            }
            // A runner key (`for_each`, `expect`, ...) is not a method: `None`.
            key => {
                let m = methods::for_protocol(methods::lookup(key)?, protocol).ok()?;
                if method.replace(m).is_some() || methods::oss_refuses(m) {
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
                let mut e = Encoder { text, out: &mut scratch.text, keys: &mut scratch.keys, top: Vec::new() };
                match r.value()? {
                    Step::Map(_) => e.message(msg, r, true)?,
                    // `method:` with nothing: no params.
                    Step::Scalar if matches!(r.scalar().value, Value::Null) => e.out.push_str("{}"),
                    _ => return None,
                }
                let top = std::mem::take(&mut e.top);
                requirements(m, protocol, &top, &scratch.text)?;
                own_key =
                    m.retry == methods::Retry::WithIdempotencyKey && top.iter().any(|g| g.name == "idempotency_key");
            }
        }
    }
    Some((method?, name, own_key))
}

/// A string scalar the general path takes as it is: no `${...}` to expand
/// (no `$` at all) and no NUL (which stands for a saved name's placeholder).
fn string<'a>(v: &Node<'a>) -> Option<Cow<'a, str>> {
    match &v.value {
        Value::Str(s) if memchr::memchr2(b'$', 0, s.as_bytes()).is_none() => Some(s.clone()),
        _ => None,
    }
}

/// The key just read, as written in the source (keys are strings here; the
/// general path writes `1: x` as "1", and takes a key with `''` in it).
fn key<'a>(r: &impl Read<'a>) -> Option<&'a str> {
    match &r.scalar().value {
        Value::Str(Cow::Borrowed(s)) => Some(s),
        _ => None,
    }
}

/// What the method's rules ask of a top-level field: given, not empty, and
/// (a list) no empty string in it.
struct Given<'t> {
    name: &'t str,
    filled: bool,
    empty_item: bool,
}

/// Writes params while checking them.
struct Encoder<'t, 's> {
    text: &'t str,
    out: &'s mut String,
    keys: &'s mut Vec<(usize, usize)>,
    /// The top-level fields, as the rules see them.
    top: Vec<Given<'t>>,
}

impl<'t> Encoder<'t, '_> {
    /// A key not given before in the mapping whose keys start at `mark`.
    /// Keys are read where they are in the source (a key with `''` in it
    /// is not there: the general path's).
    fn fresh_key<'a>(&mut self, mark: usize, r: &impl Read<'a>) -> Option<&'a str> {
        let key = key(r)?;
        let start = (key.as_ptr() as usize).checked_sub(self.text.as_ptr() as usize)?;
        let here = self.text.get(start..start + key.len())?;
        if self.keys[mark..].iter().any(|&(o, l)| &self.text[o..o + l] == here) {
            return None;
        }
        self.keys.push((start, key.len()));
        Some(key)
    }

    /// A message's fields (the mapping entered): each known, none the
    /// server would warn about (PRO-only, never read, an enum) and none of
    /// the `b64` pairs. `top`: the method's own params (the rules read them).
    fn message<'a>(&mut self, msg: &Message, r: &mut impl Read<'a>, top: bool) -> Option<()> {
        let mark = self.keys.len();
        self.out.push('{');
        let mut first = true;
        // Most messages have no field the server warns about: asked once.
        let warns = PRO_FIELDS.iter().chain(UNREAD_FIELDS).any(|(m, _)| *m == msg.name)
            || ENUMS.iter().any(|(m, _, _)| *m == msg.name);
        while r.key()? {
            let key = self.fresh_key(mark, r)?;
            let f = msg.field(key)?;
            let special = |list: &[(&str, &str)]| list.contains(&(msg.name, key));
            if key.starts_with("b64")
                || (warns
                    && (special(PRO_FIELDS)
                        || special(UNREAD_FIELDS)
                        || ENUMS.iter().any(|(m, f, _)| *m == msg.name && *f == key)))
            {
                return None;
            }
            // A field's name is a word of the server's definition: nothing to escape.
            self.out.push_str(if std::mem::take(&mut first) { "\"" } else { ",\"" });
            self.out.push_str(f.name);
            self.out.push_str("\":");
            let given = self.field(f, r)?;
            if top {
                self.top.push(Given { name: f.name, ..given });
            }
        }
        self.keys.truncate(mark);
        self.out.push('}');
        Some(())
    }

    fn field<'a>(&mut self, f: &Field, r: &mut impl Read<'a>) -> Option<Given<'t>> {
        let mut given = Given { name: "", filled: true, empty_item: false };
        match f.shape {
            Shape::One => given.filled = self.scalar(f, r)?,
            Shape::Repeated => {
                let Step::Seq(_) = r.value()? else { return None };
                self.out.push('[');
                given.filled = false;
                while r.item()? {
                    if std::mem::replace(&mut given.filled, true) {
                        self.out.push(',');
                    }
                    given.empty_item |= !self.scalar(f, r)?;
                }
                self.out.push(']');
            }
            Shape::Map => {
                let Step::Map(_) = r.value()? else { return None };
                self.object(r, |e, r| e.scalar(f, r))?;
            }
        }
        Some(given)
    }

    /// The mapping the reader is at as a JSON object (keys once each),
    /// each value written by `value`.
    fn object<'a, R: Read<'a>>(
        &mut self,
        r: &mut R,
        mut value: impl FnMut(&mut Self, &mut R) -> Option<bool>,
    ) -> Option<()> {
        let mark = self.keys.len();
        self.out.push('{');
        let mut first = true;
        while r.key()? {
            let key = self.fresh_key(mark, r)?;
            if !std::mem::take(&mut first) {
                self.out.push(',');
            }
            json_string(self.out, key);
            self.out.push(':');
            value(self, r)?;
        }
        self.keys.truncate(mark);
        self.out.push('}');
        Some(())
    }

    /// One value of a field's type, as `methods::check` accepts it;
    /// whether it is not empty (`methods::check`'s sense: not null, `""`, `[]`, `0`).
    fn scalar<'a>(&mut self, f: &Field, r: &mut impl Read<'a>) -> Option<bool> {
        match f.ty {
            Scalar::Bytes => self.any(r),
            Scalar::Message(name) => {
                let Step::Map(_) = r.value()? else { return None };
                self.message(schema().message(name)?, r, false)?;
                Some(true)
            }
            ty => {
                let Step::Scalar = r.value()? else { return None };
                let v = r.scalar();
                match ty {
                    Scalar::String => {
                        let s = string(v)?;
                        self.string(&s, r.verbatim());
                        Some(!s.is_empty())
                    }
                    Scalar::Bool => {
                        let Value::Bool(b) = v.value else { return None };
                        self.out.push_str(if b { "true" } else { "false" });
                        Some(true)
                    }
                    Scalar::Double => self.number(v),
                    _ => {
                        // An integer type: digits only, within the type's range.
                        let n = number(self.text, v)?;
                        let (min, max) = ty.int_range()?;
                        let digits = n.strip_prefix('-').unwrap_or(n);
                        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                            return None;
                        }
                        let x = n.parse::<i128>().ok()?;
                        if x < min || x > max || (min == 0 && n.starts_with('-')) {
                            return None;
                        }
                        self.number(v)
                    }
                }
            }
        }
    }

    /// A string value; `verbatim`: the reader knows it has nothing to escape.
    fn string(&mut self, s: &str, verbatim: bool) {
        if verbatim {
            self.out.push('"');
            self.out.push_str(s);
            self.out.push('"');
        } else {
            json_string(self.out, s);
        }
    }

    fn number(&mut self, v: &Node) -> Option<bool> {
        let n = number(self.text, v)?;
        self.out.push_str(n);
        Some(n.trim_start_matches('-') != "0")
    }

    /// Any value (raw JSON: `data`): a tree of plain values.
    fn any<'a>(&mut self, r: &mut impl Read<'a>) -> Option<bool> {
        match r.value()? {
            Step::Scalar => match &r.scalar().value {
                Value::Null => {
                    self.out.push_str("null");
                    Some(false)
                }
                Value::Bool(b) => {
                    self.out.push_str(if *b { "true" } else { "false" });
                    Some(true)
                }
                Value::Int(_) | Value::UInt(_) | Value::Float(_) => self.number(r.scalar()),
                _ => {
                    let s = string(r.scalar())?;
                    self.string(&s, r.verbatim());
                    Some(!s.is_empty())
                }
            },
            Step::Seq(_) => {
                self.out.push('[');
                let mut filled = false;
                while r.item()? {
                    if std::mem::replace(&mut filled, true) {
                        self.out.push(',');
                    }
                    self.any(r)?;
                }
                self.out.push(']');
                Some(filled)
            }
            Step::Map(_) => {
                self.object(r, |e, r| e.any(r))?;
                Some(true)
            }
        }
    }
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
pub(super) fn json_string(out: &mut String, s: &str) {
    out.push('"');
    if !crate::protocol::needs_escape(s) {
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
fn requirements(m: &Method, protocol: Protocol, top: &[Given], json: &str) -> Option<()> {
    let get = |f: &str| top.iter().find(|g| g.name == f);
    let present = |f: &str| get(f).is_some();
    let filled = |f: &str| get(f).is_some_and(|g| g.filled);
    for r in m.requirements(protocol) {
        let holds = match r.rule {
            Rule::NonEmpty(f) | Rule::Positive(f) => filled(f),
            Rule::NonEmptyItems(f) => !get(f).is_some_and(|g| g.empty_item),
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
    use super::*;
    use crate::diagnostic::Source;

    /// The item of `commands:` in `src`, through the plain path (from its
    /// text, and from the full parser's tree) and through the general one:
    /// the plain path must be `None`, or give exactly what the general one
    /// gives without a problem, and its text reader what its tree reader
    /// gives. Returns whether it was taken.
    fn same(item: &str, protocol: Protocol) -> bool {
        let src = format!("commands:\n{item}");
        let indent = item.len() - item.trim_start_matches(' ').len();
        let mut scratch = Scratch::default();
        let at = ItemAt { start: 10, end: src.len(), indent, line: 2, clean: false };
        let from_text = super::item(&src, at, protocol, &mut scratch)
            .map(|(m, name, own)| (m.name, name.map(Cow::into_owned), own, scratch.text.clone()));
        let Ok(root) = super::super::yaml::parse(&src) else {
            assert!(from_text.is_none(), "the text reader took {item:?}, which is not YAML");
            return false;
        };
        let Some(Value::Seq(items)) = root.as_map().and_then(|m| m.first()).map(|(_, v)| &v.value) else {
            assert!(from_text.is_none(), "the text reader took {item:?}");
            return false;
        };
        let Some(node) = items.first().filter(|_| items.len() == 1) else {
            assert!(from_text.is_none(), "the text reader took {item:?}");
            return false;
        };
        let mut scratch = Scratch::default();
        let from_tree = command(&src, node, protocol, &mut scratch)
            .map(|(m, name, own)| (m.name, name.map(Cow::into_owned), own, scratch.text.clone()));
        if from_text.is_some() {
            assert_eq!(from_text, from_tree, "the text and the tree readers differ on {item:?}");
        }
        let Some((method, name, own_key, out)) = from_tree else { return false };
        let source = Source::new("m.yaml", src.clone());
        let mut ck = Checker::new(&source);
        let empty = Default::default();
        let scope = Scope::new(&empty, &empty, None);
        let root_dir = Root::new(std::path::Path::new("."), None, Default::default());
        let cx = CommandContext { manifest: 0, root: &root_dir, protocol, finally: false };
        let mut cmds = Commands::new(true, 1);
        general(&mut ck, node, &scope, &cx, &mut cmds);
        let messages: Vec<&str> = ck.problems.iter().map(|p| p.message.as_str()).collect();
        assert!(messages.is_empty(), "the plain path took {item:?}, the general path says {messages:?}");
        let (cmds, _, _) = cmds.finish();
        assert_eq!(cmds.len(), 1, "{item:?}");
        let c = &cmds[0];
        assert_eq!(c.params(), out, "{item:?}");
        assert_eq!((c.method.name, c.name(), c.own_key), (method, name.as_deref(), own_key), "{item:?}");
        assert!(c.steps().is_none(), "{item:?}");
        true
    }

    fn taken(item: &str) -> bool {
        same(item, Protocol::Api)
    }

    /// Whether the item is taken from its text (without a tree).
    fn taken_from_text(item: &str, protocol: Protocol) -> bool {
        let src = format!("commands:\n{item}");
        let indent = item.len() - item.trim_start_matches(' ').len();
        let at = ItemAt { start: 10, end: src.len(), indent, line: 2, clean: false };
        super::item(&src, at, protocol, &mut Scratch::default()).is_some()
    }

    #[test]
    fn items_of_the_fast_paths_shape_are_read_from_their_text() {
        for item in [
            "  - publish: {channel: news, data: {n: 1, text: \"payload 1\"}}\n",
            "- publish: {channel: x, data: {seq: 1, text: abc}}\n",
            "  - name: greet Grüße\n    publish: {channel: 'it''s', data: [1, -2.5, -0, 0.0, true, null, \"\", x~]}\n",
            "  - {publish: {channel: x, data: [1, {b: c}]}, name: n}  # c\n\n",
            "  - history: {channel: x, limit: 10, reverse: true}\n",
            "  - disconnect: {user: \"42\", whitelist: [c1], disconnect: {code: 4000, reason: bye}}\n",
        ] {
            assert!(same(item, Protocol::Api) && taken_from_text(item, Protocol::Api), "{item:?}");
        }
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
            "  - {broadcast: {channels: [a, b], data: {x: [1, {y: z}]}, tags: {k: v}}, name: n}\n",
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
        let (mut taken_n, mut total, mut from_text) = (0, 0, 0);
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
                from_text += usize::from(taken_from_text(&item, protocol));
            }
        }
        // Most mutants are wrong somewhere; those taken are compared, and
        // enough must be taken for that to mean something.
        assert!(taken_n > total / 10, "only {taken_n} of {total} mutants took the plain path");
        assert!(from_text > taken_n / 2, "only {from_text} of {taken_n} were taken from their text");
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
