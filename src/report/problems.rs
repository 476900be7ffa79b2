//! Validation problems for machines: as JSON (`check --format json`, and in
//! the JSON report of an invalid run), as JUnit failures, and as GitHub
//! `::error file=,line=,col=::` annotations, so a CI job shows them where
//! it shows everything else.

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
use serde::Serialize;

use super::github::escape;
use crate::manifest::{Level, Problem};

/// One problem, located.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub(crate) struct JsonProblem {
    pub file: Option<String>,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub severity: &'static str,
    pub message: String,
    pub hint: Option<String>,
}

fn severity(p: &Problem) -> &'static str {
    match p.level {
        Level::Error => "error",
        Level::Warning => "warning",
    }
}

pub(crate) fn json_problems(problems: &[Problem]) -> Vec<JsonProblem> {
    problems
        .iter()
        .map(|p| {
            let (file, line, column) = match &p.source {
                Some(s) => {
                    let (l, c) = s.line_col(p.span.offset);
                    (Some(s.name.clone()), Some(l), Some(c))
                }
                None => (None, None, None),
            };
            JsonProblem { file, line, column, severity: severity(p), message: p.message.clone(), hint: p.help.clone() }
        })
        .collect()
}

/// What `check --format json` prints.
#[derive(Serialize)]
pub(crate) struct CheckJson<'a> {
    pub version: u32,
    pub valid: bool,
    /// Commands after `for_each` expansion (0 when invalid).
    pub total: usize,
    pub protocol: Option<&'a str>,
    /// The environment variables `${NAME}` reads (sorted).
    pub env_reads: &'a [String],
    pub problems: Vec<JsonProblem>,
}

/// `::error` / `::warning` workflow commands, one per problem.
pub(crate) fn problem_annotations(problems: &[Problem]) -> String {
    let mut out = String::new();
    for p in problems {
        let mut props = String::new();
        if let Some(s) = &p.source {
            let (l, c) = s.line_col(p.span.offset);
            props = format!(" file={},line={l},col={c},", escape(&s.name, true));
        }
        let text = match &p.help {
            Some(h) => format!("{} ({h})", p.message),
            None => p.message.clone(),
        };
        out.push_str(&format!(
            "::{}{}title={}::{}\n",
            severity(p),
            if props.is_empty() { " ".to_owned() } else { props },
            escape("cent-run", true),
            escape(&text, false)
        ));
    }
    out
}

/// A JUnit report of an invalid run: one failed case per problem, in a
/// suite per manifest (problems without a place in `cent-run`).
pub(crate) fn problems_junit(problems: &[Problem]) -> String {
    let mut report = Report::new("cent-run");
    let mut suites: Vec<TestSuite> = Vec::new();
    for p in problems.iter().filter(|p| p.level == Level::Error) {
        let (suite, case) = match &p.source {
            Some(s) => {
                let (l, c) = s.line_col(p.span.offset);
                (s.name.clone(), format!("{}:{l}:{c}", s.name))
            }
            None => ("cent-run".to_owned(), "cent-run".to_owned()),
        };
        let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
        if let TestCaseStatus::NonSuccess { message, ty, description, .. } = &mut status {
            *message = Some(p.message.clone().into());
            *ty = Some("invalid".into());
            *description = p.help.clone().map(Into::into);
        }
        let mut tc = TestCase::new(format!("invalid: {}", p.message), status);
        tc.set_classname(case);
        match suites.iter_mut().find(|s| s.name.as_str() == suite) {
            Some(s) => {
                s.add_test_case(tc);
            }
            None => {
                let mut s = TestSuite::new(suite);
                s.add_test_case(tc);
                suites.push(s);
            }
        }
    }
    report.add_test_suites(suites);
    report.to_string().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::{Source, Span};

    fn problems() -> Vec<Problem> {
        let src = Source::new("deploy.yaml", "commands:\n  - publsh: {channel: a, data: 1}\n");
        vec![
            Problem::error("unknown method `publsh`")
                .at(&src, Span { offset: 15, len: 6 }, "here")
                .help("did you mean `publish`?"),
            Problem::error("history without `limit`, 100%").at(&src, Span { offset: 0, len: 1 }, "here").warning(),
            Problem::error("no API key"),
        ]
    }

    #[test]
    fn problems_as_json_annotations_and_junit() {
        let json = serde_json::to_string(&json_problems(&problems())).unwrap();
        insta::assert_snapshot!(format!(
            "{json}\n\n{}\n{}",
            problem_annotations(&problems()),
            problems_junit(&problems())
        ));
    }
}
