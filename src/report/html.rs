//! `--report-html FILE`: one self-contained page for a person. In: the
//! finished [`Run`] and the [`TimelineData`] its listener gathered (or, for
//! a run that never started, its validation problems). Out: HTML with the
//! exit code and the summary, what went wrong as located snippets of the
//! manifest, the timeline chart (inline SVG), and the commands with a
//! status filter (a few lines of inline script).
//!
//! Nothing is fetched: styles and script are inline, the system's fonts are
//! used, and a Content-Security-Policy forbids every request, so the page
//! works the same in an air-gapped browser. Every text is escaped; every
//! text from outside goes through the run's secrets (snippets masked in
//! place). A large run lists only the commands that are not ok (at most
//! [`FULL_TABLE`]), and says what it left out: the page stays small and
//! opens at once, and the JSON report has every command.

mod chart;
mod snippet;

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::{self, Write};
use std::time::{Duration, SystemTime};

use super::timeline::TimelineData;
use super::{Cause, Run, count, plural};
use crate::diagnostic::Problem;
use crate::executor::{Failure, Status, Summary};
use crate::exit::Exit;
use crate::redact::Secrets;

/// Commands listed in full up to this many; above, only those that are
/// not ok, at most this many.
pub(crate) const FULL_TABLE: usize = 3_000;
/// Causes shown with their snippet; then a line each, up to [`CAUSE_LINES`].
const CAUSE_SNIPPETS: usize = Run::SHOWN;
const CAUSE_LINES: usize = 200;

const CSS: &str = include_str!("html/page.css");
const SCRIPT: &str = include_str!("html/filter.js");

/// The page of a finished run.
pub(crate) fn write_html(run: &Run, timeline: Option<&TimelineData>, out: &mut dyn Write) -> io::Result<()> {
    let s = run.secrets;
    let names: Vec<String> = run.sources.iter().map(|m| s.redact(&m.name).into_owned()).collect();
    let mut meta = vec![
        format!("run <code>{}</code>", esc(&s.redact(run.run_id))),
        esc(&names.join(", ")).into_owned(),
        format!("took {}", chart::fmt_secs(Duration::from_millis(run.ms(run.duration)))),
    ];
    if let Some(sig) = run.signal {
        meta.push(format!("stopped by {}", if sig == crate::exit::Signal::Interrupt { "SIGINT" } else { "SIGTERM" }));
    }
    out.write_all(head(run.exit, &run.summary(), &meta, run.deterministic).as_bytes())?;
    out.write_all(causes(run).as_bytes())?;
    if !run.warnings.is_empty() {
        let mut w = String::from("<section id=\"warnings\"><h2>Warnings</h2>");
        for p in run.warnings {
            w.push_str(&snippet::problem(p, s));
        }
        out.write_all(w.as_bytes())?;
        out.write_all(b"</section>")?;
    }
    if let Some(t) = timeline {
        out.write_all(timeline_section(run, t).as_bytes())?;
    }
    table(run, out)?;
    out.write_all(foot().as_bytes())
}

/// The page of a run that never started: its manifests or settings were
/// invalid (exit 2, nothing sent), and why, located.
pub(crate) fn write_invalid_html(problems: &[Problem], out: &mut dyn Write) -> io::Result<()> {
    let errors = problems.iter().filter(|p| p.level == crate::diagnostic::Level::Error).count();
    let meta = vec!["nothing was sent".to_owned()];
    out.write_all(head(Exit::Invalid, &Summary::default(), &meta, false).as_bytes())?;
    let mut s = format!(
        "<section id=\"problems\"><h2>{} {} — nothing was sent</h2>",
        count(errors),
        plural(errors, "problem", "problems")
    );
    for p in problems {
        s.push_str(&snippet::problem(p, &Secrets::default()));
    }
    s.push_str("</section>");
    out.write_all(s.as_bytes())?;
    out.write_all(foot().as_bytes())
}

/// `<`, `>`, `&`, `"` and `'` as entities.
pub(crate) fn esc(s: &str) -> Cow<'_, str> {
    if !s.contains(['<', '>', '&', '"', '\'']) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// The document's head, the exit code and the counts.
fn head(exit: Exit, sum: &Summary, meta: &[String], deterministic: bool) -> String {
    let written = if deterministic { "1970-01-01 00:00:00 UTC".to_owned() } else { utc(SystemTime::now()) };
    let mut s = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; \
         script-src 'unsafe-inline'; img-src data:\">\
         <title>cent-run: exit {} — {} commands, {} failed</title><style>{CSS}</style></head><body>\
         <header><h1>cent-run report</h1><p class=\"meta\">",
        exit.code(),
        count(sum.total),
        count(sum.failed)
    );
    for m in meta.iter().chain([&format!("written {written}")]) {
        let _ = write!(s, "<span>{m}</span>");
    }
    let _ = write!(
        s,
        "</p><p id=\"exit\" data-code=\"{0}\">exit <span id=\"exit-code\">{0}</span> \
         <span id=\"exit-meaning\">{1}</span></p><dl class=\"summary\">",
        exit.code(),
        esc(exit.meaning())
    );
    for (name, n) in [
        ("total", sum.total),
        ("ok", sum.ok),
        ("failed", sum.failed),
        ("unknown", sum.unknown),
        ("skipped", sum.skipped),
    ] {
        let _ = write!(
            s,
            "<div class=\"{name}\"><dt>{name}</dt><dd id=\"n-{name}\" data-n=\"{n}\">{}</dd></div>",
            count(n)
        );
    }
    s.push_str("</dl></header>");
    s
}

/// What went wrong: each cause once, located, the first with snippets.
fn causes(run: &Run) -> String {
    let causes = run.causes();
    let mut s = String::from("<section id=\"causes\"><h2>What went wrong</h2>");
    if causes.is_empty() {
        s.push_str("<p class=\"note\">Every command is ok.</p></section>");
        return s;
    }
    for cause in causes.iter().take(CAUSE_SNIPPETS) {
        let p = run.cause_problem(cause);
        let article = snippet::problem(&p, run.secrets);
        // The failing command's checks, under its snippet.
        let checks = checks(run, cause);
        s.push_str(&article.replacen("</article>", &format!("{checks}</article>"), 1));
    }
    if causes.len() > CAUSE_SNIPPETS {
        s.push_str("<ul class=\"more-causes\">");
        for cause in causes.iter().skip(CAUSE_SNIPPETS).take(CAUSE_LINES) {
            let c = &run.commands[cause.commands[0]];
            let _ = write!(
                s,
                "<li><code>{}</code> {} {} {}: {}</li>",
                esc(&run.secrets.redact(&run.location(c))),
                count(cause.commands.len()),
                plural(cause.commands.len(), "command", "commands"),
                cause.status.as_str(),
                esc(&cause.message)
            );
        }
        s.push_str("</ul>");
        let more = causes.len().saturating_sub(CAUSE_SNIPPETS + CAUSE_LINES);
        if more > 0 {
            let _ = write!(
                s,
                "<p class=\"more\">and {} more causes: the JSON report (--report-json FILE) has every command</p>",
                count(more)
            );
        }
    }
    s.push_str("</section>");
    s
}

/// A failed expectation's checks, each with its place, what was wanted and what came.
fn checks(run: &Run, cause: &Cause) -> String {
    if cause.status != Status::Failed(Failure::Expectation) {
        return String::new();
    }
    let o = &run.outcomes[cause.commands[0]];
    if o.checks().is_empty() {
        return String::new();
    }
    let mut s = String::from(
        "<table class=\"checks\"><thead><tr><th>check</th><th>where</th><th>wanted</th><th>got</th><th></th></tr></thead><tbody>",
    );
    for k in o.checks() {
        let got = k.got.as_ref().map_or_else(|| "(nothing)".to_owned(), |g| g.to_string());
        let _ = write!(
            s,
            "<tr class=\"{}\"><td><code>{}</code></td><td><code>{}:{}</code></td><td><code>{}</code></td><td><code>{}</code></td><td>{}</td></tr>",
            if k.ok { "held" } else { "failed" },
            esc(&run.secrets.redact(&k.path)),
            esc(&run.secrets.redact(&run.sources[k.at.manifest as usize].name)),
            k.at.line,
            esc(&run.secrets.redact(&k.wanted)),
            esc(&run.secrets.redact(&got)),
            if k.ok { "held" } else { "did not hold" }
        );
    }
    s.push_str("</tbody></table>");
    s
}

/// The chart, its legend, and the nodes.
fn timeline_section(run: &Run, t: &TimelineData) -> String {
    let clean = |x: &str| run.secrets.redact(x).into_owned();
    let mut s = String::from("<section id=\"run-timeline\"><h2>Timeline</h2><p class=\"legend\">");
    for (class, what) in [
        ("ok", "ok"),
        ("failed", "failed"),
        ("unknown", "unknown"),
        ("skipped", "skipped"),
        ("retried", "request retried (transport error or HTTP 5xx)"),
        ("failover", "node failed: failover"),
        ("wait", "wait"),
        ("until", "until"),
    ] {
        let _ = write!(s, "<span><i class=\"{class}\"></i>{what}</span>");
    }
    let _ = write!(
        s,
        "</p>{}<p class=\"more\">Commands by when their outcome came, per node, in buckets of {}.",
        chart::svg(t, run.node_failures, &clean),
        chart::fmt_secs(t.width)
    );
    if t.marks_left_out > 0 {
        let _ = write!(s, " {} more wait and until steps are not drawn.", count(t.marks_left_out));
    }
    s.push_str("</p><ul id=\"nodes\">");
    for (url, n) in run.served() {
        let failed: Vec<String> = run
            .node_failures
            .iter()
            .filter(|f| f.url == url)
            .map(|f| format!("failed {} into the run: {}", chart::fmt_secs(f.after), clean(&f.why)))
            .collect();
        let _ = write!(
            s,
            "<li><code>{}</code> served {} {}{}</li>",
            esc(&clean(&url)),
            count(n),
            plural(n, "command", "commands"),
            esc(&if failed.is_empty() { String::new() } else { format!("; {}", failed.join("; ")) })
        );
    }
    s.push_str("</ul></section>");
    s
}

/// The commands, with the filter; only those that are not ok in a large run.
fn table(run: &Run, out: &mut dyn Write) -> io::Result<()> {
    let sum = run.summary();
    let all = run.commands.len() <= FULL_TABLE;
    let not_ok = sum.total - sum.ok;
    let mut s = String::from("<section id=\"commands-section\"><h2>Commands</h2>");
    if !all {
        let listed = not_ok.min(FULL_TABLE);
        let _ = write!(
            s,
            "<p class=\"note\" id=\"left-out\">This run has {} commands: the table lists {} of the {} that are not ok, \
             and leaves out the {} ok {}. The JSON report (<code>--report-json FILE</code>) has every command.</p>",
            count(sum.total),
            if listed == not_ok { "all".to_owned() } else { format!("the first {}", count(listed)) },
            count(not_ok),
            count(sum.ok),
            plural(sum.ok, "command", "commands"),
        );
    }
    s.push_str("<div id=\"filters\" role=\"group\" aria-label=\"show commands by status\">");
    for (name, n) in
        [("all", sum.total), ("ok", sum.ok), ("failed", sum.failed), ("unknown", sum.unknown), ("skipped", sum.skipped)]
    {
        let _ = write!(
            s,
            "<button type=\"button\" data-filter=\"{name}\" aria-pressed=\"{}\">{name} <b>{}</b></button>",
            name == "all",
            count(n)
        );
    }
    let rows = if all { sum.total } else { not_ok.min(FULL_TABLE) };
    let _ = write!(
        s,
        "</div><p class=\"more\">showing <span id=\"shown\">{}</span> rows</p><table id=\"commands\"><thead><tr>\
         <th>#</th><th>where</th><th>command</th><th>target</th><th>status</th><th>sends</th><th>ms</th>\
         <th>node</th><th>why</th></tr></thead><tbody>",
        count(rows)
    );
    out.write_all(s.as_bytes())?;
    let mut row = String::with_capacity(512);
    let listed = run.rows().filter(|(_, o)| all || o.status != Status::Ok).take(FULL_TABLE);
    for (c, o) in listed {
        row.clear();
        let _ = write!(
            row,
            "<tr data-status=\"{}\" data-index=\"{}\"><td class=\"num\">{}</td><td><code>{}</code></td><td>{}</td>\
             <td>{}</td><td class=\"status\">{}{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td>{}</td><td>{}</td></tr>",
            o.status.as_str(),
            c.index(),
            c.index(),
            esc(&run.secrets.redact(&run.location(c))),
            esc(&run.label(c)),
            esc(&run.target(c)),
            o.status.as_str(),
            o.status.reason().map_or_else(String::new, |r| format!(" <small>{}</small>", r.replace('_', " "))),
            o.attempts,
            run.ms(o.duration),
            esc(&o.node.as_deref().map(|n| run.secrets.redact(n)).unwrap_or_default()),
            esc(&run.message(o)),
        );
        row.push('\n');
        out.write_all(row.as_bytes())?;
    }
    out.write_all(b"</tbody></table></section>")
}

fn foot() -> String {
    format!(
        "<footer class=\"more\"><p>cent-run {} · this page fetches nothing; the JSON report \
         (<code>--report-json FILE</code>) has every field of every command</p></footer><script>{SCRIPT}</script></body></html>\n",
        env!("CARGO_PKG_VERSION")
    )
}

/// `2025-06-01 12:00:00 UTC`.
fn utc(t: SystemTime) -> String {
    let secs = t.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rest) = ((secs / 86_400) as i64, secs % 86_400);
    // Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC", rest / 3600, rest % 3600 / 60, rest % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_escapes() {
        assert_eq!(utc(SystemTime::UNIX_EPOCH), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(SystemTime::UNIX_EPOCH + Duration::from_secs(1_709_210_096)), "2024-02-29 12:34:56 UTC");
        assert_eq!(esc("<a href='x'>&\"</a>"), "&lt;a href=&#39;x&#39;&gt;&amp;&quot;&lt;/a&gt;");
        assert!(matches!(esc("plain"), Cow::Borrowed(_)));
    }
}
