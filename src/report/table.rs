//! The terminal table: one row per command, then the recap — every cause
//! of trouble said once, as a located diagnostic at the first command it
//! hit (the failing check's own line for an expectation), with the next
//! commands and how many more — then the summary. `--quiet` keeps only the
//! recap and the summary, and prints nothing when every command is ok: a
//! cron mail of tens of lines even for a million-command outage.

use std::io::{self, Write};

use unicode_width::UnicodeWidthStr;

use super::{Run, count, plural};
use crate::executor::Status;

const HEADER: [&str; 7] = ["#", "command", "target", "status", "tries", "time", "detail"];

/// One row's cells (status last but one is coloured apart).
fn cells(run: &Run, c: &crate::manifest::Command, o: &crate::executor::Outcome) -> [String; 7] {
    let mut detail = match o.message() {
        Some(_) => run.message(o),
        None => short_result(o.result_json().as_ref()),
    };
    // How long the listeners took to hear it.
    if let Some(ms) =
        o.checks().iter().find(|k| k.ok && k.path == "delivered").and_then(|k| k.got.as_ref()?["latency_ms"].as_f64())
    {
        let heard = if run.deterministic { "delivered".to_owned() } else { format!("delivered in {ms:.1}ms") };
        detail = if detail.is_empty() { heard } else { format!("{detail}, {heard}") };
    }
    [
        c.index.to_string(),
        run.label(c).into_owned(),
        truncate(&run.target(c), 40),
        o.status.as_str().to_owned(),
        o.attempts.to_string(),
        format!("{}ms", run.ms(o.duration)),
        truncate(&detail, 70),
    ]
}

/// Renders the per-command table; `color` only on a terminal.
#[cfg(test)]
pub(crate) fn table(run: &Run, color: bool) -> String {
    let mut out = Vec::new();
    write_table(run, color, &mut out).expect("writing to memory");
    String::from_utf8(out).expect("UTF-8")
}

/// Writes the per-command table, its recap and summary. Streamed: the
/// column widths are measured in a first pass and the rows written in a
/// second, so a million rows never sit in memory.
pub(crate) fn write_table(run: &Run, color: bool, out: &mut dyn Write) -> io::Result<()> {
    let mut widths = HEADER.map(UnicodeWidthStr::width);
    for (c, o) in run.rows() {
        for (w, cell) in widths.iter_mut().zip(cells(run, c, o)) {
            *w = (*w).max(cell.width());
        }
    }
    let mut line = String::with_capacity(256);
    let mut emit = |out: &mut dyn Write, cells: &[&str], status: Option<Status>| {
        line.clear();
        for (k, (cell, w)) in cells.iter().zip(widths).enumerate() {
            if k > 0 {
                line.push(' ');
            }
            line.push(' ');
            match status.filter(|_| color && k == 3) {
                Some(s) => {
                    let code = match s {
                        Status::Ok => "32",
                        Status::Failed(_) => "31",
                        Status::Unknown => "33",
                        Status::Skipped(_) => "90",
                    };
                    line.push_str(&format!("\x1b[{code}m{cell}\x1b[39m"));
                }
                None => line.push_str(cell),
            }
            line.extend(std::iter::repeat_n(' ', w - cell.width() + 1));
        }
        let end = line.trim_end().len();
        line.truncate(end);
        line.push('\n');
        out.write_all(line.as_bytes())
    };
    emit(out, &HEADER, None)?;
    let rule = widths.iter().map(|w| w + 2).sum::<usize>() + widths.len() - 1;
    writeln!(out, "{}", "─".repeat(rule))?;
    let mut in_finally = false;
    for (c, o) in run.rows() {
        if c.is_finally() && !in_finally {
            // The clean-up, after everything else: a section of its own.
            in_finally = true;
            writeln!(out, " finally:")?;
        }
        let row = cells(run, c, o);
        emit(out, &row.each_ref().map(String::as_str), Some(o.status))?;
    }
    let recap = recap(run, color);
    if !recap.is_empty() {
        out.write_all(b"\n")?;
        out.write_all(recap.as_bytes())?;
    }
    out.write_all(summary(run).as_bytes())
}

/// Every cause of trouble, said once, located, with its commands.
pub(crate) fn recap(run: &Run, color: bool) -> String {
    let problems = run.cause_problems();
    if problems.is_empty() {
        return String::new();
    }
    let shown = problems.len().min(Run::SHOWN);
    let text = crate::diagnostic::render(&problems[..shown], color);
    // The renderer's own count line says "N errors": the summary says it better.
    let mut lines: Vec<&str> = text.lines().collect();
    if lines.last().is_some_and(|l| l.ends_with("warnings") || l.ends_with("warning")) {
        lines.pop();
    }
    let mut out = lines.join("\n");
    out.push('\n');
    if problems.len() > shown {
        out.push_str(&format!("{} more causes:\n", count(problems.len() - shown)));
        for p in &problems[shown..] {
            out.push_str(&format!("  {}: {}\n", p.location().unwrap_or_default(), p.message));
        }
    }
    out
}

/// `--quiet`: nothing when every command is ok; else the recap and the summary.
pub(crate) fn quiet(run: &Run) -> String {
    let recap = recap(run, false);
    if recap.is_empty() && run.node_failures.is_empty() {
        return recap;
    }
    format!("{recap}{}", summary(run))
}

/// `12 commands: 10 ok, 1 failed, 0 unknown, 1 skipped in 0.4s (run 1a2b), exit 1`,
/// then the nodes when there are several or one failed.
pub(crate) fn summary(run: &Run) -> String {
    let s = run.summary();
    let mut out = format!(
        "{} {}: {} ok, {} failed, {} unknown, {} skipped in {:.1}s (run {}), exit {}\n",
        count(s.total),
        plural(s.total, "command", "commands"),
        count(s.ok),
        count(s.failed),
        count(s.unknown),
        count(s.skipped),
        run.ms(run.duration) as f64 / 1000.0,
        run.run_id,
        run.exit.code()
    );
    if run.nodes.len() > 1 || !run.node_failures.is_empty() {
        let served = run.served();
        let parts: Vec<String> = served
            .iter()
            .map(|(url, n)| {
                let mut part = format!("{url} served {} {}", count(*n), plural(*n, "command", "commands"));
                for f in run.node_failures.iter().filter(|f| &f.url == url) {
                    part.push_str(&format!(
                        "; failed {}s into the run: {}",
                        if run.deterministic { 0.0 } else { (f.after.as_millis() as f64 / 100.0).round() / 10.0 },
                        f.why
                    ));
                }
                part
            })
            .collect();
        out.push_str(&format!(
            "{} {}: {}\n",
            count(served.len()),
            plural(served.len(), "node", "nodes"),
            parts.join("; ")
        ));
    }
    out
}

/// A few words about a reply: offsets, counts, sizes.
fn short_result(result: Option<&serde_json::Value>) -> String {
    let Some(r) = result else { return String::new() };
    let count = |k: &str| r.get(k).and_then(|v| v.as_array().map(Vec::len).or_else(|| v.as_object().map(|o| o.len())));
    let n = |n: usize, one: &str, many: &str| format!("{} {}", super::count(n), plural(n, one, many));
    if let Some(c) = count("responses") {
        return n(c, "channel", "channels");
    }
    if let Some(c) = count("publications") {
        return format!(
            "{}, offset {}",
            n(c, "publication", "publications"),
            r.get("offset").map_or_else(|| "0".to_owned(), |v| v.to_string())
        );
    }
    if let Some(c) = count("presence") {
        return n(c, "client", "clients");
    }
    if let Some(c) = count("channels") {
        return n(c, "channel", "channels");
    }
    if let Some(c) = count("nodes") {
        return n(c, "node", "nodes");
    }
    if let Some(off) = r.get("offset") {
        return format!("offset {off}");
    }
    if let (Some(c), Some(u)) = (r.get("num_clients"), r.get("num_users")) {
        let (c, u) = (c.as_u64().unwrap_or(0) as usize, u.as_u64().unwrap_or(0) as usize);
        return format!("{}, {}", n(c, "client", "clients"), n(u, "user", "users"));
    }
    String::new()
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max - 1).collect();
    out.push('…');
    out
}
