//! A method's params: the YAML turned into JSON (variables expanded and
//! typed, numbers exact, `data_file` read), then checked against the method
//! by the one params validator ([`crate::methods::check`]), whose problems
//! are placed back at the YAML that wrote the field.

use serde_json::{Map, Value as Json};

use super::check::{Checker, Expect, Scope};
use super::files::{self, Root};
use super::yaml::{Node, Span, Value};
use crate::methods::Method;
use crate::methods::check::{self, FieldProblem, Seg};
use crate::protocol::Protocol;

/// The key that names a JSON file used as `data` (where the table allows it).
pub(crate) const DATA_FILE: &str = "data_file";

/// The method's request object as JSON, every field checked; `key` is the
/// method key (where a missing field is pointed at), `body` its value.
pub(super) fn params(
    ck: &mut Checker,
    m: &Method,
    key: &Node,
    body: &Node,
    scope: &Scope,
    protocol: Protocol,
    root: &Root,
) -> Option<Map<String, Json>> {
    let msg = m.request(protocol);
    let mut out = Map::new();
    let mut ok = true;
    if !matches!(body.value, Value::Null) {
        let entries = ck.entries(body, &format!("`{}`", m.name))?;
        for (k, v) in &entries {
            let name = k.key_text();
            let value = if m.data_file && name == DATA_FILE {
                if entries.iter().any(|(k, _)| k.as_str() == Some("data")) {
                    ck.error(k.span, "conflicts with `data`", "`data_file` and `data` are both given");
                    ok = false;
                    continue;
                }
                data_file(ck, v, scope, root).map(|j| ("data".into(), j))
            } else {
                let expect = msg.field(&name).map_or(Expect::Any, Expect::Field);
                ck.json(v, scope, expect).map(|j| (name.into_owned(), j))
            };
            match value {
                Some((name, j)) => {
                    out.insert(name, j);
                }
                None => ok = false,
            }
        }
    }
    if !ok {
        return None;
    }
    let problems = check::params(m, protocol, &out);
    let mut errors = false;
    for p in &problems {
        errors |= !p.warning;
        place(ck, p, key, body, m);
    }
    (!errors).then_some(out)
}

/// Records a params problem at the YAML that wrote the field it is about.
fn place(ck: &mut Checker, p: &FieldProblem, key: &Node, body: &Node, m: &Method) {
    let span = locate(key, body, &p.path, p.at_key, m.data_file);
    let problem = if p.warning {
        ck.warn(span, &p.label, p.message.clone())
    } else {
        ck.error(span, &p.label, p.message.clone())
    };
    problem.help = p.help.clone();
}

/// Where a path into params was written: the key or value it names, the
/// nearest mapping that holds it, or the method key. `data` may have come
/// from `data_file`.
pub(crate) fn locate(key: &Node, body: &Node, path: &[Seg], at_key: bool, data_file: bool) -> Span {
    let mut node = body;
    let mut span = if path.is_empty() { key.span } else { body.span };
    for (i, seg) in path.iter().enumerate() {
        let last = i + 1 == path.len();
        let next = match (seg, &node.value) {
            (Seg::Key(k), Value::Map(entries)) => {
                let found = entries.iter().rev().find(|(key, _)| key.key_text() == k.as_str());
                let found = found.or_else(|| {
                    (i == 0 && data_file && k == "data")
                        .then(|| entries.iter().find(|(key, _)| key.as_str() == Some(DATA_FILE)))
                        .flatten()
                });
                match found {
                    Some((k, _)) if last && at_key => return k.span,
                    Some((_, v)) => v,
                    None => return span,
                }
            }
            (Seg::Index(n), Value::Seq(items)) => match items.get(*n) {
                Some(item) => item,
                None => return span,
            },
            _ => return span,
        };
        node = next;
        span = node.span;
    }
    span
}

fn data_file(ck: &mut Checker, v: &Node, scope: &Scope, root: &Root) -> Option<Json> {
    let path = ck.string(v, "`data_file`", scope)?;
    let full = files::resolve(ck, v, &path, root, "data_file")?;
    let text = match std::fs::read(&full) {
        Ok(t) => t,
        Err(e) => {
            ck.error(v.span, "cannot read", format!("cannot read `data_file` {path}: {e}"));
            return None;
        }
    };
    match serde_json::from_slice(&text) {
        Ok(j) => Some(j),
        Err(e) => {
            ck.error(v.span, "not JSON", format!("`data_file` {path} is not valid JSON: {e}"));
            None
        }
    }
}
