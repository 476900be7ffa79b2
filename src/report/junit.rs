//! `--report-junit`: one testsuite per manifest, one testcase per command,
//! named stably — the command's `name:`, or its method and target, with a
//! number when several share it — so inserting a command renames no other
//! test; the manifest and line go in the `file` and `line` attributes, and
//! `finally:` commands have the class `FILE (finally)`.
//! `<failure>` for a failed command, `<error>` for an unknown one and one
//! skipped after a transport failure or a refused configuration (an outage
//! is never green), `<skipped>` for the rest of the skipped.

use std::collections::HashMap;

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use super::Run;
use crate::executor::{SkipReason, Status};

pub(crate) fn junit_report(run: &Run) -> String {
    let mut report = Report::new("cent-run");
    report.set_time(std::time::Duration::from_millis(run.ms(run.duration)));
    let mut suites: Vec<TestSuite> = run.sources.iter().map(|s| TestSuite::new(s.name.as_str())).collect();
    // How many tests of a suite share a name so far.
    let mut seen: HashMap<(usize, String), usize> = HashMap::new();
    for (c, o) in run.rows() {
        let problem = match o.status {
            Status::Failed(_) | Status::Skipped(SkipReason::NotSaved) => Some(NonSuccessKind::Failure),
            Status::Unknown
            | Status::Skipped(SkipReason::Transport | SkipReason::Untrusted | SkipReason::Configuration) => {
                Some(NonSuccessKind::Error)
            }
            _ => None,
        };
        let message = o.message().map(|_| run.message(o));
        let status = match (o.status, problem) {
            (Status::Ok, _) => TestCaseStatus::success(),
            (_, Some(kind)) => {
                let mut s = TestCaseStatus::non_success(kind);
                if let TestCaseStatus::NonSuccess { message: m, ty, description, .. } = &mut s {
                    *m = message.map(Into::into);
                    *ty = Some(o.status.reason().unwrap_or(o.status.as_str()).into());
                    let (manifest, span) = run.place(c, o);
                    let (line, col) = run.sources[manifest].line_col(span.offset);
                    *description = Some(format!("at {}:{line}:{col}", run.sources[manifest].name).into());
                }
                s
            }
            (_, None) => {
                let mut s = TestCaseStatus::skipped();
                if let TestCaseStatus::Skipped { message: m, .. } = &mut s {
                    *m = message.map(Into::into);
                }
                s
            }
        };
        let base = match c.name() {
            Some(_) => run.label(c).into_owned(),
            None => format!("{} {}", c.method.name, run.target(c)).trim_end().to_owned(),
        };
        let n = seen.entry((c.manifest(), base.clone())).or_insert(0);
        *n += 1;
        let name = if *n == 1 { base } else { format!("{base} ({n})") };
        let mut case = TestCase::new(name, status);
        // The clean-up is told apart: `finally:` cases are of their own class.
        let file = run.sources[c.manifest()].name.as_str();
        case.set_classname(if c.is_finally() { format!("{file} (finally)") } else { file.to_owned() });
        case.extra.insert("file".into(), run.sources[c.manifest()].name.as_str().into());
        case.extra.insert("line".into(), c.line.to_string().into());
        case.set_time(std::time::Duration::from_millis(run.ms(o.duration)));
        suites[c.manifest()].add_test_case(case);
    }
    report.add_test_suites(suites);
    report.to_string().unwrap_or_default()
}
