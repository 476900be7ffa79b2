//! A located [`Problem`] as HTML: `FILE:LINE:COL`, the message, the
//! manifest's lines around the place with a pointer under it and its
//! label, and the hint — what the terminal shows, as a page shows it.
//! In: the problem and the run's secrets (the source's secrets are masked
//! with as many `*`, so the pointer stays in place; the message, label and
//! hint are redacted). Everything is escaped.

use std::fmt::Write as _;

use super::esc;
use crate::diagnostic::{Level, Problem};
use crate::redact::Secrets;

/// Lines shown before and after the problem's line.
const AROUND: usize = 2;

/// One problem as an `<article>`.
pub(crate) fn problem(p: &Problem, secrets: &Secrets) -> String {
    let level = match p.level {
        Level::Error => "error",
        Level::Warning => "warning",
    };
    let mut s = format!("<article class=\"problem {level}\"");
    let located = p.source.as_ref().map(|src| (src, src.line_col(p.span.offset)));
    if let Some((src, (line, _))) = &located {
        let _ = write!(s, " data-file=\"{}\" data-line=\"{line}\"", esc(&secrets.redact(&src.name)));
    }
    s.push('>');
    let _ = write!(s, "<h3><span class=\"level\">{level}</span> ");
    if let Some((src, (line, col))) = &located {
        let _ = write!(s, "<code class=\"where\">{}:{line}:{col}</code> ", esc(&secrets.redact(&src.name)));
    }
    let _ = write!(s, "<span class=\"message\">{}</span></h3>", esc(&secrets.redact(&p.message)));
    if let Some((src, (line, _))) = located {
        let text = secrets.mask(&src.text);
        s.push_str(&lines(
            &text,
            line,
            p.span.offset - offset_of_line(&text, line),
            p.span.len,
            &secrets.redact(&p.label),
        ));
    }
    if let Some(h) = &p.help {
        let _ = write!(s, "<p class=\"help\"><b>help:</b> {}</p>", esc(&secrets.redact(h)).replace('\n', "<br>"));
    }
    s.push_str("</article>");
    s
}

fn offset_of_line(text: &str, line: usize) -> usize {
    text.split_inclusive('\n').take(line - 1).map(str::len).sum()
}

/// The lines around `line` (1-based), a pointer under `len` bytes from
/// byte `col0` of it, labelled.
fn lines(text: &str, line: usize, col0: usize, len: usize, label: &str) -> String {
    let first = line.saturating_sub(AROUND).max(1);
    let mut s = String::from("<pre class=\"snippet\">");
    // The empty piece after a last newline is no line, unless the place is there.
    let last = text.split('\n').count();
    for (n, l) in text.split('\n').enumerate().map(|(i, l)| (i + 1, l.strip_suffix('\r').unwrap_or(l))) {
        if n < first || (n == last && l.is_empty() && n != line) {
            continue;
        }
        if n > line + AROUND {
            break;
        }
        let class = if n == line { " class=\"hit\"" } else { "" };
        let _ = writeln!(s, "<span{class}><span class=\"ln\">{n:>5} │ </span>{}</span>", esc(l));
        if n == line {
            let col0 = col0.min(l.len());
            let before = l.get(..col0).map_or(col0, |b| b.chars().count());
            let marked = l.get(col0..(col0 + len.max(1)).min(l.len())).map_or(1, |m| m.chars().count()).max(1);
            let _ = writeln!(
                s,
                "<span class=\"pointer\"><span class=\"ln\">      │ </span>{}{} {}</span>",
                " ".repeat(before),
                "^".repeat(marked),
                esc(label)
            );
        }
    }
    s.push_str("</pre>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::{Source, Span};

    #[test]
    fn the_pointer_is_under_the_span_the_secret_masked_and_all_escaped() {
        let text = "commands:\n  - publish: {channel: \"<b>\", data: s3cret-key}\n  - info: {}\n";
        let src = Source::new("m.yaml", text);
        let at = text.find("\"<b>\"").unwrap();
        let p = Problem::error("bad <channel> s3cret-key")
            .at(&src, Span { offset: at, len: 5 }, "here & s3cret-key")
            .help("fix it");
        let html = problem(&p, &Secrets::new(["s3cret-key"]));
        assert!(!html.contains("s3cret-key"), "{html}");
        assert!(!html.contains("\"<b>\""), "the channel is escaped: {html}");
        assert!(html.contains("<code class=\"where\">m.yaml:2:24</code>"), "{html}");
        assert!(html.contains("data: **********}"), "masked in place: {html}");
        let pointer = html.lines().find(|l| l.contains("class=\"pointer\"")).unwrap();
        let hit = html.lines().find(|l| l.contains("class=\"hit\"")).unwrap();
        let col = |l: &str, what: &str| l.split("</span>").nth(1).unwrap().find(what).unwrap();
        assert_eq!(col(pointer, "^^^^^"), col(hit, "&quot;&lt;b&gt;&quot;"), "{pointer}\n{hit}");
        assert!(pointer.contains("^^^^^ here &amp; ***"), "{pointer}");
        assert_eq!(html.matches("class=\"ln\"").count(), 4, "lines 1-3 and the pointer: {html}");
    }
}
