//! GitHub Actions: `::error` annotations and a markdown step summary.

use super::Run;
use crate::executor::{SkipReason, Status};

/// Workflow-command escaping for annotation messages and properties.
pub(super) fn escape(s: &str, property: bool) -> String {
    let mut out = s.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A");
    if property {
        out = out.replace(':', "%3A").replace(',', "%2C");
    }
    out
}

/// One `::error file=..,line=..::` line per command that failed, is
/// unknown, or was skipped after a transport failure.
pub fn annotations(run: &Run) -> String {
    let mut out = String::new();
    for (c, o) in run.rows() {
        if matches!(o.status, Status::Failed | Status::Unknown)
            || matches!(o.skip, Some(SkipReason::Transport | SkipReason::NotSaved | SkipReason::Untrusted))
        {
            let msg = format!(
                "{} {} {}: {}",
                run.label(c),
                run.target(c),
                o.status.as_str(),
                o.message().unwrap_or_default()
            );
            out.push_str(&format!(
                "::error file={},line={},title={}::{}\n",
                escape(&run.sources[c.manifest()].name, true),
                c.line,
                escape("cent-run", true),
                escape(&msg, false)
            ));
        }
    }
    out
}

/// A markdown summary for `$GITHUB_STEP_SUMMARY`.
pub fn step_summary(run: &Run) -> String {
    let s = run.summary();
    let mut out = format!(
        "### cent-run\n\n| total | ok | failed | unknown | skipped |\n|---|---|---|---|---|\n| {} | {} | {} | {} | {} |\n",
        s.total, s.ok, s.failed, s.unknown, s.skipped
    );
    let bad: Vec<_> = run.troubled().take(50).collect();
    if !bad.is_empty() {
        out.push_str("\n| # | command | target | status | detail |\n|---|---|---|---|---|\n");
        for (c, o) in bad {
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} |\n",
                c.index,
                run.label(c).replace('|', "\\|"),
                run.target(c).replace('|', "\\|"),
                o.status.as_str(),
                o.message().unwrap_or_default().replace('|', "\\|")
            ));
        }
    }
    out
}
