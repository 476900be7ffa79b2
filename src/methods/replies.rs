//! Reply shapes: what a method's result holds, from the server's definition,
//! so that `expect:` and `save:` paths are checked before anything is sent
//! (`num_client` is refused with "did you mean `num_clients`?"), and the
//! documentation lists each method's result fields.

use super::Method;
use super::proto::{Field, Message, Scalar, Shape, schema};
use crate::diagnostic::did_you_mean;
use crate::protocol::Protocol;

/// Why a path cannot be in a reply: which segment (0-based) and what to say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PathProblem {
    pub segment: usize,
    pub message: String,
    pub help: Option<String>,
}

/// Where a walk stands: in a message, in a field's value, or in raw JSON.
enum At<'a> {
    Message(&'a Message),
    Value(&'a Field),
    Items(&'a Field),
    Any,
}

/// Checks a dot path (`publications.0.data.title`) against the result of
/// `m` on `protocol`.
pub(crate) fn check_path(m: &Method, protocol: Protocol, path: &[String]) -> Result<(), PathProblem> {
    let mut at = At::Message(m.result(protocol));
    for (i, seg) in path.iter().enumerate() {
        let fail = |message: String, help: Option<String>| Err(PathProblem { segment: i, message, help });
        at = match at {
            At::Any => return Ok(()),
            At::Message(msg) => match msg.field(seg) {
                Some(f) => value_of(f),
                None => {
                    let names: Vec<&str> = msg.fields.iter().map(|f| f.name).collect();
                    let whose =
                        if i == 0 { format!("the result of `{}`", m.name) } else { format!("`{}`", path[i - 1]) };
                    let help = match did_you_mean(seg, names.iter().copied()) {
                        Some(s) => Some(format!("did you mean `{s}`?")),
                        None if names.is_empty() => Some(format!("{whose} has no fields")),
                        None => Some(format!("{whose} has: {}", names.join(", "))),
                    };
                    return fail(format!("{whose} has no `{seg}`"), help);
                }
            },
            At::Items(f) => {
                if seg.parse::<usize>().is_err() {
                    return fail(
                        format!("`{}` is a list: `{seg}` is not an index", f.name),
                        Some(format!(
                            "e.g. `{}.0.{seg}`, or check the list with `len`/`contains`",
                            path[..i].join(".")
                        )),
                    );
                }
                one(f)
            }
            At::Value(f) if f.shape == Shape::Map => one(f),
            At::Value(f) => {
                return fail(format!("`{}` is {}: it has no `{seg}`", f.name, describe(f.ty)), None);
            }
        };
    }
    Ok(())
}

/// Where the value of field `f` leads.
fn value_of(f: &Field) -> At<'_> {
    match f.shape {
        Shape::Repeated => At::Items(f),
        Shape::Map => At::Value(f),
        Shape::One => one(f),
    }
}

/// One element of field `f`'s type.
fn one(f: &Field) -> At<'_> {
    match f.ty {
        Scalar::Bytes => At::Any,
        Scalar::Message(name) => At::Message(schema().message(name).expect("defined")),
        _ => At::Value(f),
    }
}

fn describe(ty: Scalar) -> &'static str {
    match ty {
        Scalar::String => "a string",
        Scalar::Bool => "a boolean",
        Scalar::Double => "a number",
        Scalar::Bytes => "JSON",
        Scalar::Message(_) => "a mapping",
        _ => "an integer",
    }
}

/// Every path a result can have, with its type, for the documentation:
/// `publications[].data` (JSON), `offset` (uint64), ... Recursive messages
/// are listed to a depth of 3.
pub(crate) fn fields(m: &Method, protocol: Protocol) -> Vec<(String, String)> {
    let mut out = Vec::new();
    walk(m.result(protocol), "", 0, &mut out);
    out
}

/// A regular expression (ECMA-262, for the JSON Schema) of every dot path
/// into the result of `m` on `protocol`: what `check_path` accepts, as an
/// editor can use it.
pub(crate) fn path_pattern(m: &Method, protocol: Protocol) -> String {
    format!("^({})$", alternatives(m.result(protocol), 0))
}

fn alternatives(msg: &Message, depth: usize) -> String {
    msg.fields.iter().map(|f| format!("{}{}", f.name, after(f, depth))).collect::<Vec<_>>().join("|")
}

/// What may follow a field's name in a path.
fn after(f: &Field, depth: usize) -> String {
    let inner = match f.ty {
        Scalar::Message(name) if depth < 4 => {
            let inner = alternatives(schema().message(name).expect("defined"), depth + 1);
            if inner.is_empty() { String::new() } else { format!("(\\.({inner}))?") }
        }
        // JSON (any path into it), or a message nested too deep to spell out.
        Scalar::Message(_) | Scalar::Bytes => "(\\..+)?".to_owned(),
        _ => String::new(),
    };
    match f.shape {
        Shape::Repeated => format!("(\\.[0-9]+{inner})?"),
        Shape::Map => format!("(\\.[^.]+{inner})?"),
        Shape::One => inner,
    }
}

/// Every field path of a method's request, with its type, likewise.
pub(crate) fn request_fields(m: &Method, protocol: Protocol) -> Vec<(String, String)> {
    let mut out = Vec::new();
    walk(m.request(protocol), "", 0, &mut out);
    out
}

fn walk(msg: &Message, prefix: &str, depth: usize, out: &mut Vec<(String, String)>) {
    for f in &msg.fields {
        let name = format!(
            "{prefix}{}{}",
            f.name,
            match f.shape {
                Shape::Repeated => "[]",
                Shape::Map => "{}",
                Shape::One => "",
            }
        );
        let ty = match f.ty {
            Scalar::Message(_) => "object".to_owned(),
            Scalar::Bytes => "JSON".to_owned(),
            other => other.proto_name().to_owned(),
        };
        out.push((name.clone(), ty));
        if let Scalar::Message(inner) = f.ty
            && depth < 3
        {
            walk(schema().message(inner).expect("defined"), &format!("{name}."), depth + 1, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::methods::lookup;

    fn check(method: &str, path: &str) -> Result<(), PathProblem> {
        let segs: Vec<String> = path.split('.').map(str::to_owned).collect();
        check_path(lookup(method).unwrap(), Protocol::Api, &segs)
    }

    #[test]
    fn paths_into_results() {
        assert!(check("history", "publications.0.data.title").is_ok(), "data is any JSON");
        assert!(check("history", "offset").is_ok());
        assert!(check("presence", "presence.some-client-id.user").is_ok(), "map keys are free");
        assert!(check("broadcast", "responses.1.result.offset").is_ok());
        let e = check("presence_stats", "num_client").unwrap_err();
        assert_eq!((e.segment, e.help.as_deref()), (0, Some("did you mean `num_clients`?")));
        assert_eq!(check("publish", "offsett").unwrap_err().message, "the result of `publish` has no `offsett`");
        let e = check("history", "publications.data").unwrap_err();
        assert_eq!((e.segment, e.message.as_str()), (1, "`publications` is a list: `data` is not an index"));
        assert_eq!(check("publish", "offset.x").unwrap_err().message, "`offset` is an integer: it has no `x`");
    }

    #[test]
    fn every_result_field_is_listed_with_its_type() {
        let history: Vec<(String, String)> = fields(lookup("history").unwrap(), Protocol::Api);
        assert!(history.contains(&("publications[].data".into(), "JSON".into())), "{history:?}");
        assert!(history.contains(&("offset".into(), "uint64".into())), "{history:?}");
    }

    #[test]
    fn v1_replies_have_their_own_shapes() {
        let v1 = |m: &str, p: &str| {
            check_path(lookup(m).unwrap(), Protocol::V1, &p.split('.').map(str::to_owned).collect::<Vec<_>>())
        };
        assert!(v1("history", "data.0.data").is_ok());
        assert!(v1("history", "publications").is_err());
    }
}
