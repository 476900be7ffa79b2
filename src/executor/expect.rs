//! Checking a reply against a command's `expect:`: each check's path and
//! condition against what came back; `error: CODE` against a refusal.

use serde_json::Value as Json;

use crate::manifest::steps::{At, Check, Cond, Op, Steps};
use crate::protocol::{ApiError, Reply};

/// One check and how it went.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckOutcome {
    /// Where the check is written.
    pub(crate) at: At,
    /// The dot path into the result.
    pub path: String,
    /// What was wanted, in words (`0`, `ge 1 and le 10`, `not 3`).
    pub wanted: String,
    /// What came back (`None` when the path is absent).
    pub got: Option<Json>,
    /// It held.
    pub ok: bool,
}

impl CheckOutcome {
    /// The manifest the check is written in (an index into `Manifest::sources`).
    pub fn manifest(&self) -> usize {
        self.at.manifest as usize
    }

    /// The 1-based line of the check.
    pub fn line(&self) -> usize {
        self.at.line as usize
    }

    /// `num_clients: wanted 0, got 3`.
    pub fn describe(&self) -> String {
        let got = self.got.as_ref().map_or_else(|| "nothing (no such path)".to_owned(), Json::to_string);
        format!("{}: wanted {}, got {got}", self.path, self.wanted)
    }
}

/// What a reply is, judged by the command's expectations.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Verdict {
    /// No expectations, or all hold; a refusal that was expected. (A
    /// refusal that was not is no verdict's: the batch reports it refused.)
    Pass,
    /// A check failed, or the refusal differed from the one expected:
    /// what, and where that expectation is written.
    Fail(String, At),
}

/// Judges a reply; returns the verdict and each check's outcome.
pub(crate) fn judge(steps: &Steps, reply: &Reply) -> (Verdict, Vec<CheckOutcome>) {
    if let Some((code, at)) = &steps.expect_error {
        // A check on the reply's `error`, like the checks on its result.
        let (verdict, got) = match reply {
            Err(ApiError { code: Some(c), .. }) if c == code => (Verdict::Pass, None),
            Err(e) => (Verdict::Fail(format!("expected error {code}, got error {e}"), *at), e.code.map(Json::from)),
            Ok(result) => (Verdict::Fail(format!("expected error {code}, got a result {result}"), *at), None),
        };
        let ok = verdict == Verdict::Pass;
        let check = CheckOutcome { at: *at, path: "error".into(), wanted: code.to_string(), got, ok };
        return (verdict, vec![check]);
    }
    let Ok(result) = reply else { return (Verdict::Pass, Vec::new()) };
    let outcomes: Vec<CheckOutcome> = steps.expect.iter().map(|c| check(c, result)).collect();
    let verdict = match outcomes.iter().find(|c| !c.ok) {
        Some(failed) => Verdict::Fail(failed.describe(), failed.at),
        None => Verdict::Pass,
    };
    (verdict, outcomes)
}

fn check(c: &Check, result: &Json) -> CheckOutcome {
    let got = c.path.find(result);
    CheckOutcome {
        at: c.at,
        path: c.path.to_string(),
        wanted: c.cond.describe(),
        got: got.cloned(),
        ok: holds(&c.cond, got),
    }
}

/// A number's exact value, where it has one: integers of any size compare
/// exactly, others by their floating-point value.
#[derive(PartialEq, PartialOrd)]
enum Num {
    Int(i128),
    Float(f64),
}

fn number(v: &Json) -> Option<Num> {
    let n = v.as_number()?;
    match n.to_string().parse::<i128>() {
        Ok(i) => Some(Num::Int(i)),
        Err(_) => n.as_f64().map(Num::Float),
    }
}

fn compare(a: &Json, b: &Json) -> Option<std::cmp::Ordering> {
    match (number(a)?, number(b)?) {
        (Num::Int(x), Num::Int(y)) => Some(x.cmp(&y)),
        (x, y) => {
            let f = |n: Num| match n {
                Num::Int(i) => i as f64,
                Num::Float(f) => f,
            };
            f(x).partial_cmp(&f(y))
        }
    }
}

/// JSON equality, numbers by value (`1` equals `1.0`).
fn equal(a: &Json, b: &Json) -> bool {
    match compare(a, b) {
        Some(o) => o.is_eq(),
        None => match (a, b) {
            (Json::Array(x), Json::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(a, b)| equal(a, b)),
            (Json::Object(x), Json::Object(y)) => {
                x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| equal(v, w)))
            }
            _ => a == b,
        },
    }
}

fn holds(cond: &Cond, got: Option<&Json>) -> bool {
    match cond {
        Cond::All(all) => all.iter().all(|c| holds(c, got)),
        Cond::Not(c) => !holds(c, got),
        Cond::Op { op, wanted, pattern } => {
            let ord = |f: fn(std::cmp::Ordering) -> bool| got.and_then(|g| compare(g, wanted)).is_some_and(f);
            match op {
                Op::Eq => got.is_some_and(|g| equal(g, wanted)),
                Op::Ne => !got.is_some_and(|g| equal(g, wanted)),
                Op::Gt => ord(|o| o.is_gt()),
                Op::Ge => ord(|o| o.is_ge()),
                Op::Lt => ord(|o| o.is_lt()),
                Op::Le => ord(|o| o.is_le()),
                Op::Len => {
                    let len = match got {
                        Some(Json::Array(a)) => Some(a.len()),
                        Some(Json::Object(o)) => Some(o.len()),
                        Some(Json::String(s)) => Some(s.chars().count()),
                        _ => None,
                    };
                    len.is_some_and(|n| Some(n as u64) == wanted.as_u64())
                }
                Op::Contains => match got {
                    Some(Json::Array(a)) => a.iter().any(|x| equal(x, wanted)),
                    Some(Json::String(s)) => wanted.as_str().is_some_and(|w| s.contains(w)),
                    _ => false,
                },
                Op::Exists => got.is_some() == wanted.as_bool().unwrap_or(true),
                Op::Matches => match (got, pattern) {
                    (Some(Json::String(s)), Some(p)) => p.is_match(s),
                    (Some(other), Some(p)) if !other.is_null() => p.is_match(&other.to_string()),
                    _ => false,
                },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::manifest::Span;
    use crate::manifest::steps::JsonPath;

    const AT: At = At { manifest: 0, span: Span { offset: 0, len: 1 }, line: 3 };

    fn op(op: Op, wanted: Json) -> Cond {
        let pattern = (op == Op::Matches).then(|| regex::Regex::new(wanted.as_str().unwrap()).unwrap());
        Cond::Op { op, wanted, pattern }
    }

    fn c(path: &str, cond: Cond) -> Check {
        Check { path: JsonPath(path.split('.').map(str::to_owned).collect()), cond, at: AT }
    }

    #[test]
    fn every_operator() {
        let r = json!({"num_clients": 3, "publications": [{"data": {"title": "Release 2.4"}}], "epoch": "kTbX", "big": Json::Number("18446744073709551615".parse().unwrap())});
        let ok = |ch: Check| holds(&ch.cond, ch.path.find(&r));
        assert!(ok(c("num_clients", op(Op::Eq, json!(3.0)))));
        assert!(ok(c("num_clients", op(Op::Ne, json!(0)))));
        assert!(ok(c("num_clients", op(Op::Gt, json!(2)))) && ok(c("num_clients", op(Op::Ge, json!(3)))));
        assert!(ok(c("num_clients", op(Op::Lt, json!(4)))) && ok(c("num_clients", op(Op::Le, json!(3)))));
        assert!(!ok(c("epoch", op(Op::Gt, json!(1)))), "a string is not a number");
        assert!(ok(c("publications", op(Op::Len, json!(1)))) && ok(c("epoch", op(Op::Len, json!(4)))));
        assert!(ok(c("publications.0.data.title", op(Op::Contains, json!("2.4")))));
        assert!(ok(c("publications", op(Op::Contains, json!({"data": {"title": "Release 2.4"}})))));
        assert!(ok(c("epoch", op(Op::Exists, json!(true)))) && ok(c("offset", op(Op::Exists, json!(false)))));
        assert!(ok(c("publications.0.data.title", op(Op::Matches, json!("^Release [0-9.]+$")))));
        assert!(!ok(c("missing", op(Op::Eq, json!(null)))), "absent is not null");
        assert!(ok(c("missing", op(Op::Ne, json!(1)))));
        // Several operators must all hold; `not` negates one.
        assert!(ok(c("num_clients", Cond::All(vec![op(Op::Ge, json!(0)), op(Op::Le, json!(10))]))));
        assert!(!ok(c("num_clients", Cond::All(vec![op(Op::Ge, json!(0)), op(Op::Le, json!(2))]))));
        assert!(ok(c("num_clients", Cond::Not(Box::new(op(Op::Eq, json!(1)))))));
        // Integers beyond 2^53 compare exactly.
        assert!(!ok(c("big", op(Op::Eq, Json::Number("18446744073709551614".parse().unwrap())))));
        assert!(ok(c("big", op(Op::Gt, Json::Number("18446744073709551614".parse().unwrap())))));
    }

    #[test]
    fn verdicts_name_what_was_wanted_and_what_came_back() {
        let steps = Steps { expect: vec![c("num_clients", op(Op::Eq, json!(0)))], ..Steps::default() };
        let (v, checks) = judge(&steps, &Ok(json!({"num_clients": 3})));
        assert_eq!(v, Verdict::Fail("num_clients: wanted 0, got 3".into(), AT));
        assert!(!checks[0].ok);
        let steps = Steps { expect_error: Some((102, AT)), ..Steps::default() };
        let refused = Err(ApiError { code: Some(102), message: "unknown channel".into() });
        let (v, checks) = judge(&steps, &refused);
        assert_eq!((v, checks.len(), checks[0].ok), (Verdict::Pass, 1, true));
        assert_eq!(judge(&steps, &Ok(json!({}))).0, Verdict::Fail("expected error 102, got a result {}".into(), AT));
    }
}
