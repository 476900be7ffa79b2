//! Checking a reply against a command's `expect:` (SPEC §3.1): each check's
//! path, operator and wanted value against what came back; `error: CODE`
//! against a refusal.

use serde::Serialize;
use serde_json::Value as Json;

use crate::manifest::steps::{Check, Op, Steps};
use crate::protocol::{ApiError, Reply};

/// One check and how it went.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckOutcome {
    /// `FILE:LINE` of the check.
    pub at: String,
    /// The dot path into the result.
    pub path: String,
    /// The operator (`eq` for a literal).
    pub op: &'static str,
    /// What was wanted.
    pub wanted: Json,
    /// What came back (`null` when the path is absent).
    pub got: Option<Json>,
    /// It held.
    pub ok: bool,
}

impl CheckOutcome {
    /// `m.yaml:12: num_clients: wanted 0, got 3`.
    pub fn describe(&self) -> String {
        let op = if self.op == "eq" { String::new() } else { format!("{} ", self.op) };
        let got = self.got.as_ref().map_or_else(|| "nothing (no such path)".to_owned(), Json::to_string);
        format!("{}: {}: wanted {op}{}, got {got}", self.at, self.path, self.wanted)
    }
}

/// What a reply is, judged by the command's expectations.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// No expectations, or all hold; a refusal that was expected.
    Pass,
    /// A check failed (the first one is the message), or the refusal
    /// differed from the one expected.
    Fail(String),
}

/// Judges a reply; returns the verdict and each check's outcome.
pub fn judge(steps: &Steps, reply: &Reply) -> (Verdict, Vec<CheckOutcome>) {
    if let Some((code, at)) = &steps.expect_error {
        let verdict = match reply {
            Err(ApiError { code: Some(c), .. }) if c == code => Verdict::Pass,
            Err(e) => Verdict::Fail(format!("{at}: wanted error {code}, got error {e}")),
            Ok(result) => Verdict::Fail(format!("{at}: wanted error {code}, got a result {result}")),
        };
        return (verdict, Vec::new());
    }
    let Ok(result) = reply else { return (Verdict::Pass, Vec::new()) };
    let outcomes: Vec<CheckOutcome> = steps.expect.iter().map(|c| check(c, result)).collect();
    let verdict = match outcomes.iter().find(|c| !c.ok) {
        Some(failed) => Verdict::Fail(format!("expect failed at {}", failed.describe())),
        None => Verdict::Pass,
    };
    (verdict, outcomes)
}

fn check(c: &Check, result: &Json) -> CheckOutcome {
    let got = c.path.find(result);
    let ok = holds(c, got);
    CheckOutcome {
        at: c.at.clone(),
        path: c.path.to_string(),
        op: c.op.as_str(),
        wanted: c.wanted.clone(),
        got: got.cloned(),
        ok,
    }
}

fn number(v: &Json) -> Option<f64> {
    v.as_f64()
}

/// JSON equality, numbers by value (`1` equals `1.0`).
fn equal(a: &Json, b: &Json) -> bool {
    match (number(a), number(b)) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

fn holds(c: &Check, got: Option<&Json>) -> bool {
    let compare = |f: fn(f64, f64) -> bool| match (got.and_then(number), number(&c.wanted)) {
        (Some(g), Some(w)) => f(g, w),
        _ => false,
    };
    match c.op {
        Op::Eq => got.is_some_and(|g| equal(g, &c.wanted)),
        Op::Ne => !got.is_some_and(|g| equal(g, &c.wanted)),
        Op::Gt => compare(|g, w| g > w),
        Op::Ge => compare(|g, w| g >= w),
        Op::Lt => compare(|g, w| g < w),
        Op::Le => compare(|g, w| g <= w),
        Op::Len => {
            let len = match got {
                Some(Json::Array(a)) => Some(a.len()),
                Some(Json::Object(o)) => Some(o.len()),
                Some(Json::String(s)) => Some(s.chars().count()),
                _ => None,
            };
            len.is_some_and(|n| Some(n as u64) == c.wanted.as_u64())
        }
        Op::Contains => match got {
            Some(Json::Array(a)) => a.iter().any(|x| equal(x, &c.wanted)),
            Some(Json::String(s)) => c.wanted.as_str().is_some_and(|w| s.contains(w)),
            _ => false,
        },
        Op::Exists => got.is_some() == c.wanted.as_bool().unwrap_or(true),
        Op::Matches => match (got, &c.pattern) {
            (Some(Json::String(s)), Some(p)) => p.is_match(s),
            (Some(other), Some(p)) if !other.is_null() => p.is_match(&other.to_string()),
            _ => false,
        },
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::manifest::steps::JsonPath;

    fn c(path: &str, op: Op, wanted: Json) -> Check {
        let pattern = (op == Op::Matches).then(|| regex::Regex::new(wanted.as_str().unwrap()).unwrap());
        Check {
            path: JsonPath(path.split('.').map(str::to_owned).collect()),
            op,
            wanted,
            pattern,
            at: "m.yaml:3".into(),
        }
    }

    #[test]
    fn every_operator() {
        let r = json!({"num_clients": 3, "publications": [{"data": {"title": "Release 2.4"}}], "epoch": "kTbX"});
        let ok = |ch: Check| holds(&ch, ch.path.find(&r));
        assert!(ok(c("num_clients", Op::Eq, json!(3.0))));
        assert!(ok(c("num_clients", Op::Ne, json!(0))));
        assert!(ok(c("num_clients", Op::Gt, json!(2))) && ok(c("num_clients", Op::Ge, json!(3))));
        assert!(ok(c("num_clients", Op::Lt, json!(4))) && ok(c("num_clients", Op::Le, json!(3))));
        assert!(!ok(c("epoch", Op::Gt, json!(1))), "a string is not a number");
        assert!(ok(c("publications", Op::Len, json!(1))) && ok(c("epoch", Op::Len, json!(4))));
        assert!(ok(c("publications.0.data.title", Op::Contains, json!("2.4"))));
        assert!(ok(c("publications", Op::Contains, json!({"data": {"title": "Release 2.4"}}))));
        assert!(ok(c("epoch", Op::Exists, json!(true))) && ok(c("offset", Op::Exists, json!(false))));
        assert!(ok(c("publications.0.data.title", Op::Matches, json!("^Release [0-9.]+$"))));
        assert!(!ok(c("missing", Op::Eq, json!(null))), "absent is not null");
        assert!(ok(c("missing", Op::Ne, json!(1))));
    }

    #[test]
    fn verdicts_name_the_check_what_was_wanted_and_what_came_back() {
        let steps = Steps { expect: vec![c("num_clients", Op::Eq, json!(0))], ..Steps::default() };
        let (v, checks) = judge(&steps, &Ok(json!({"num_clients": 3})));
        assert_eq!(v, Verdict::Fail("expect failed at m.yaml:3: num_clients: wanted 0, got 3".into()));
        assert!(!checks[0].ok);
        let steps = Steps { expect_error: Some((102, "m.yaml:4".into())), ..Steps::default() };
        let refused = Err(ApiError { code: Some(102), message: "unknown channel".into() });
        assert_eq!(judge(&steps, &refused).0, Verdict::Pass);
        assert_eq!(
            judge(&steps, &Ok(json!({}))).0,
            Verdict::Fail("m.yaml:4: wanted error 102, got a result {}".into())
        );
    }
}
