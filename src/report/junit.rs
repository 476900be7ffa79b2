//! `--report-junit`: one testsuite per manifest, one testcase per command.

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use super::Run;
use crate::executor::Status;

pub fn junit_report(run: &Run) -> String {
    let mut report = Report::new("cent-run");
    report.set_time(std::time::Duration::from_millis(run.ms(run.duration)));
    let mut suites: Vec<TestSuite> = run.sources.iter().map(|s| TestSuite::new(s.name.as_str())).collect();
    for (c, o) in run.rows() {
        let status = match o.status {
            Status::Ok => TestCaseStatus::success(),
            Status::Failed | Status::Unknown => {
                let kind = if o.status == Status::Failed { NonSuccessKind::Failure } else { NonSuccessKind::Error };
                let mut s = TestCaseStatus::non_success(kind);
                if let TestCaseStatus::NonSuccess { message, ty, .. } = &mut s {
                    *message = o.message().map(Into::into);
                    *ty = Some(o.status.as_str().into());
                }
                s
            }
            Status::Skipped => {
                let mut s = TestCaseStatus::skipped();
                if let TestCaseStatus::Skipped { message, .. } = &mut s {
                    *message = o.message().map(Into::into);
                }
                s
            }
        };
        let name = format!("#{} {} {}", c.index, super::label(c), super::target(c));
        let mut case = TestCase::new(name.trim_end(), status);
        case.set_classname(format!("{}:{}", run.sources[c.manifest].name, c.line));
        case.set_time(std::time::Duration::from_millis(run.ms(o.duration)));
        suites[c.manifest].add_test_case(case);
    }
    report.add_test_suites(suites);
    report.to_string().unwrap_or_default()
}
