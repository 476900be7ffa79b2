//! `for_each` at scale: a command's params are the same for every item
//! except the string fields that use `${item}`. In: the method, its params
//! as written and each item; out: each item's command, checked once per
//! *kind* of item instead of once per item.
//!
//! Why it is exact. A field eligible as a *hole* is a plain string field
//! (not base64, not an enumeration, not read by a custom check): the
//! params validator asks of its value only whether it is empty (a
//! requirement such as `disconnect` needing a non-empty `user`). So two
//! items whose holes are empty in the same places, of the same variant
//! (a value or a row), get the same verdict. The first item of each kind
//! goes through the general path, problems and all; when it made its
//! command without a problem of its own (an identical warning is said once
//! anyway), every later item of that kind is made here: its holes
//! interpolated, its params text spliced from the fixed entries' JSON and
//! the holes' strings — the bytes the general path's serializer writes.
//! Anything else (a hole that does not interpolate, a saved value, a field
//! that is not a plain string) goes the general way.

use std::borrow::Cow;

use serde_json::Value as Json;

use super::Command;
use super::check::{Checker, Expect, Item, Scope};
use super::fields::DATA_FILE;
use super::interpolate::{self, Found};
use super::plain::json_string;
use super::texts::Commands;
use super::yaml::{Node, Value};
use crate::methods::proto::{Field, Scalar, Shape};
use crate::methods::{ENUMS, Method, Rule};
use crate::protocol::Protocol;

/// One entry of the params mapping, in the order written.
enum Part<'n, 'a> {
    /// A value that does not use `${item}`: `"key":value`, the same for
    /// every item (made at the first item that passes).
    Fixed { key: &'n Node<'a>, value: &'n Node<'a>, json: String },
    /// A plain string field that uses `${item}`: `"key"`, and the scalar.
    Hole { key: String, value: &'n Node<'a>, field: &'static Field },
}

/// What [`Template::push`] did with an item.
pub(super) enum Fill {
    /// Its command is stored.
    Done,
    /// It goes the general way.
    General,
    /// It goes the general way, and [`Template::learn`] is to be told of
    /// the result: the first item of its kind.
    Learn(u64),
}

pub(super) struct Template<'n, 'a> {
    method: &'static Method,
    protocol: Protocol,
    name: Option<&'n Node<'a>>,
    parts: Vec<Part<'n, 'a>>,
    /// `Fixed` parts hold their JSON.
    fixed: bool,
    /// Kinds of items seen, and whether their items are made here.
    kinds: Vec<(u64, bool)>,
    /// The current item's hole strings.
    holes: Vec<String>,
}

impl<'n, 'a> Template<'n, 'a> {
    /// The template of `m`'s params `body`; `None` when some entry is not
    /// one it can take (the general path takes every item then).
    pub(super) fn new(
        m: &'static Method,
        body: &'n Node<'a>,
        name: Option<&'n Node<'a>>,
        protocol: Protocol,
    ) -> Option<Self> {
        #[cfg(test)]
        if tests::OFF.get() {
            return None;
        }
        if m.requirements(protocol).any(|r| matches!(r.rule, Rule::Check(_))) {
            return None;
        }
        let msg = m.request(protocol);
        let entries: &[(Node, Node)] = match &body.value {
            Value::Null => &[],
            Value::Map(entries) => entries,
            _ => return None,
        };
        let mut parts = Vec::with_capacity(entries.len());
        let mut holes = 0;
        for (i, (k, v)) in entries.iter().enumerate() {
            let key = k.key_text();
            // Duplicates and `data_file` are the general path's to report and read.
            if (m.data_file && key == DATA_FILE) || entries[..i].iter().any(|(o, _)| o.key_text() == key) {
                return None;
            }
            if !uses_item(v) {
                parts.push(Part::Fixed { key: k, value: v, json: String::new() });
                continue;
            }
            let field = msg.field(&key)?;
            let plain = field.shape == Shape::One
                && field.ty == Scalar::String
                && !field.name.starts_with("b64")
                && !ENUMS.iter().any(|(mm, f, _)| *mm == msg.name && *f == field.name);
            if !plain || !matches!(v.value, Value::Str(_)) || holes == 63 {
                return None;
            }
            holes += 1;
            parts.push(Part::Hole { key: serde_json::to_string(&*key).expect("a string"), value: v, field });
        }
        Some(Template {
            method: m,
            protocol,
            name,
            parts,
            fixed: false,
            kinds: Vec::new(),
            holes: Vec::with_capacity(holes),
        })
    }

    /// Makes the command of the item in `scope` from `base` (its name and
    /// params aside), or says why not.
    pub(super) fn push(&mut self, ck: &mut Checker, scope: &Scope, base: &Command, out: &mut Commands) -> Fill {
        // Bit 63: the item is a row (its lookups differ from a value's).
        let mut kind = u64::from(matches!(scope.item, Some(Item::Row(_)))) << 63;
        let mark = ck.problems.len();
        ck.quiet = true;
        self.holes.clear();
        let mut bit = 0;
        let mut ok = true;
        for part in &self.parts {
            let Part::Hole { value, field, .. } = part else { continue };
            match ck.json(value, scope, Expect::Field(field)) {
                Some(Json::String(s)) => {
                    kind |= u64::from(s.is_empty()) << bit;
                    self.holes.push(s);
                }
                _ => ok = false,
            }
            bit += 1;
        }
        let name = match (ok, self.name) {
            (true, Some(n)) => ck.string(n, "`name`", &scope.without_saved()).map(Some),
            _ => Some(None),
        };
        ck.quiet = false;
        // Anything said about the item: the general path says it again, where it belongs.
        let ok = ok && ck.problems.len() == mark;
        let Some(name) = name.filter(|_| ok) else {
            ck.problems.truncate(mark);
            return Fill::General;
        };
        match self.kinds.iter().find(|(k, _)| *k == kind) {
            None => return Fill::Learn(kind),
            Some((_, false)) => return Fill::General,
            Some((_, true)) => {}
        }
        let text = &mut out.scratch().text;
        text.clear();
        text.push('{');
        let mut holes = self.holes.iter();
        for (i, part) in self.parts.iter().enumerate() {
            if i > 0 {
                text.push(',');
            }
            match part {
                Part::Fixed { json, .. } => text.push_str(json),
                Part::Hole { key, .. } => {
                    text.push_str(key);
                    text.push(':');
                    json_string(text, holes.next().expect("one string per hole"));
                }
            }
        }
        text.push('}');
        // A saved value's placeholder makes a command with steps: not here.
        if text.contains("\\u0000") {
            return Fill::General;
        }
        let own_key = super::own_key(self.method, text);
        out.push_scratch(Command { extra: super::Extra::of(name, None), own_key, ..base.clone() });
        #[cfg(test)]
        tests::TAKEN.set(tests::TAKEN.get() + 1);
        Fill::Done
    }

    /// What the general path did with the first item of `kind`: `clean`
    /// when it made the command with no problem of the item's own.
    pub(super) fn learn(&mut self, ck: &Checker, scope: &Scope, kind: u64, clean: bool) {
        let clean = clean && (self.fixed || self.fix(ck, scope));
        self.kinds.push((kind, clean));
    }

    /// The fixed entries' JSON, as the general path converts them.
    fn fix(&mut self, ck: &Checker, scope: &Scope) -> bool {
        let msg = self.method.request(self.protocol);
        let mut scratch = Checker::new(ck.source);
        scratch.quiet = true;
        for part in &mut self.parts {
            let Part::Fixed { key, value, json } = part else { continue };
            let name = key.key_text();
            let expect = msg.field(&name).map_or(Expect::Any, Expect::Field);
            let Some(j) = scratch.json(value, scope, expect) else { return false };
            *json = serde_json::to_string(&*name).expect("a string") + ":" + &j.to_string();
        }
        self.fixed = true;
        true
    }
}

/// Whether a value interpolates `${item}` or `${item.FIELD}` somewhere.
fn uses_item(node: &Node) -> bool {
    match &node.value {
        Value::Str(s) => {
            let hit = std::cell::Cell::new(false);
            let lookup = |n: &str| {
                if n == "item" || n.starts_with("item.") {
                    hit.set(true);
                }
                Found::Text(Cow::Borrowed(""))
            };
            let _ = interpolate::expand(s, &lookup);
            hit.get()
        }
        Value::Seq(items) => items.iter().any(uses_item),
        Value::Map(entries) => entries.iter().any(|(_, v)| uses_item(v)),
        _ => false,
    }
}

#[cfg(test)]
pub(super) mod tests {
    use std::cell::Cell;

    thread_local! {
        /// No template: every item the general way.
        pub(in super::super) static OFF: Cell<bool> = const { Cell::new(false) };
        /// Items made by a template.
        pub(in super::super) static TAKEN: Cell<usize> = const { Cell::new(0) };
    }
}
