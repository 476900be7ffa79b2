//! `--report-junit`: one testsuite per manifest, one testcase per command:
//! `<failure>` for a failed command, `<error>` for an unknown one and one
//! skipped after a transport failure (an outage is never green),
//! `<skipped>` for the rest of the skipped.

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use super::Run;
use crate::executor::{SkipReason, Status};

pub fn junit_report(run: &Run) -> String {
    let mut report = Report::new("cent-run");
    report.set_time(std::time::Duration::from_millis(run.ms(run.duration)));
    let mut suites: Vec<TestSuite> = run.sources.iter().map(|s| TestSuite::new(s.name.as_str())).collect();
    for (c, o) in run.rows() {
        let problem = match (o.status, o.skip) {
            (Status::Failed, _) | (Status::Skipped, Some(SkipReason::NotSaved)) => Some(NonSuccessKind::Failure),
            (Status::Unknown, _) | (Status::Skipped, Some(SkipReason::Transport | SkipReason::Untrusted)) => {
                Some(NonSuccessKind::Error)
            }
            _ => None,
        };
        let status = match (o.status, problem) {
            (Status::Ok, _) => TestCaseStatus::success(),
            (_, Some(kind)) => {
                let mut s = TestCaseStatus::non_success(kind);
                if let TestCaseStatus::NonSuccess { message, ty, .. } = &mut s {
                    *message = o.message().map(Into::into);
                    *ty = Some(o.status.as_str().into());
                }
                s
            }
            (_, None) => {
                let mut s = TestCaseStatus::skipped();
                if let TestCaseStatus::Skipped { message, .. } = &mut s {
                    *message = o.message().map(Into::into);
                }
                s
            }
        };
        let name = format!("#{} {} {}", c.index, run.label(c), run.target(c));
        let mut case = TestCase::new(name.trim_end(), status);
        case.set_classname(run.location(c));
        case.set_time(std::time::Duration::from_millis(run.ms(o.duration)));
        suites[c.manifest()].add_test_case(case);
    }
    report.add_test_suites(suites);
    report.to_string().unwrap_or_default()
}
