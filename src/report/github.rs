//! GitHub Actions: `::error` annotations and a markdown step summary, both
//! from the run's causes (each said once, at the failing check's own line
//! or the command's, with how many commands it hit).

use super::{Run, count, plural};
use crate::executor::{SkipReason, Status};

/// Workflow-command escaping for annotation messages and properties.
pub(super) fn escape(s: &str, property: bool) -> String {
    let mut out = s.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A");
    if property {
        out = out.replace(':', "%3A").replace(',', "%2C");
    }
    out
}

/// One `::error file=..,line=..,col=..::` line per cause of trouble.
pub(crate) fn annotations(run: &Run) -> String {
    let mut out = String::new();
    for cause in run.causes() {
        if matches!(cause.status, Status::Skipped(SkipReason::FailFast | SkipReason::Interrupted)) {
            continue;
        }
        let p = run.cause_problem(&cause);
        let source = p.source.as_ref().expect("a cause is located");
        let (line, col) = source.line_col(p.span.offset);
        let text = match &p.help {
            Some(h) => format!("{}: {} ({})", p.label, p.message, h.replace('\n', "; ")),
            None => format!("{}: {}", p.label, p.message),
        };
        out.push_str(&format!(
            "::error file={},line={line},col={col},title={}::{}\n",
            escape(&source.name, true),
            escape("cent-run", true),
            escape(&text, false)
        ));
    }
    out
}

/// A markdown summary for `$GITHUB_STEP_SUMMARY`.
pub(crate) fn step_summary(run: &Run) -> String {
    let s = run.summary();
    let mut out = format!(
        "### cent-run: exit {}\n\n| total | ok | failed | unknown | skipped |\n|---|---|---|---|---|\n| {} | {} | {} | {} | {} |\n",
        run.exit.code(),
        count(s.total),
        count(s.ok),
        count(s.failed),
        count(s.unknown),
        count(s.skipped)
    );
    let causes = run.causes();
    if !causes.is_empty() {
        out.push_str("\n| commands | status | cause | first at |\n|---|---|---|---|\n");
        for cause in causes.iter().take(20) {
            let first = &run.commands[cause.commands[0]];
            out.push_str(&format!(
                "| {} | {} | {} | {} #{} {} |\n",
                count(cause.commands.len()),
                cause.status.reason().unwrap_or(cause.status.as_str()),
                cell(&cause.message),
                cell(&run.location(first)),
                first.index,
                cell(&run.label(first))
            ));
        }
        if causes.len() > 20 {
            out.push_str(&format!("\n{} more causes: see the JSON report.\n", count(causes.len() - 20)));
        }
    }
    if run.node_failures.len() + usize::from(run.nodes.len() > 1) > 0 {
        out.push_str("\n| node | commands | failures |\n|---|---|---|\n");
        for (url, n) in run.served() {
            let failures: Vec<String> =
                run.node_failures.iter().filter(|f| f.url == url).map(|f| cell(&f.why)).collect();
            out.push_str(&format!("| {} | {} | {} |\n", cell(&url), count(n), failures.join("; ")));
        }
    }
    out
}

/// The step summary of a run that never started: its problems.
pub(crate) fn invalid_step_summary(problems: &[crate::manifest::Problem]) -> String {
    let errors: Vec<_> = problems.iter().filter(|p| p.level == crate::manifest::Level::Error).collect();
    let mut out = format!(
        "### cent-run: exit 2, nothing sent\n\n{} {} in the manifests or options:\n\n| where | problem |\n|---|---|\n",
        count(errors.len()),
        plural(errors.len(), "problem", "problems")
    );
    for p in errors.iter().take(50) {
        let text = match &p.help {
            Some(h) => format!("{} ({h})", p.message),
            None => p.message.clone(),
        };
        out.push_str(&format!("| {} | {} |\n", cell(&p.location().unwrap_or_default()), cell(&text)));
    }
    out
}

/// Text made safe for a markdown table cell.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}
