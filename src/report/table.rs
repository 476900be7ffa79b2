//! The terminal table: one row per command, then a recap of every command
//! that is not ok (with its full cause, never cut), then a summary line.
//! `--quiet` keeps only the recap and the summary, and prints nothing when
//! every command is ok (a cron job mails only on trouble).

use std::io::{self, Write};

use unicode_width::UnicodeWidthStr;

use super::Run;
use crate::executor::Status;

const HEADER: [&str; 7] = ["#", "command", "target", "status", "tries", "time", "detail"];

/// One row's cells (status last but one is coloured apart).
fn cells(run: &Run, c: &crate::manifest::Command, o: &crate::executor::Outcome) -> [String; 7] {
    [
        c.index.to_string(),
        run.label(c).into_owned(),
        truncate(&run.target(c), 40),
        o.status.as_str().to_owned(),
        o.attempts.to_string(),
        format!("{}ms", run.ms(o.duration)),
        truncate(&o.message().unwrap_or_else(|| short_result(o.result_json().as_ref())), 70),
    ]
}

/// Renders the per-command table; `color` only on a terminal.
#[cfg(test)]
pub fn table(run: &Run, color: bool) -> String {
    let mut out = Vec::new();
    write_table(run, color, &mut out).expect("writing to memory");
    String::from_utf8(out).expect("UTF-8")
}

/// Writes the per-command table, its recap and summary line. Streamed: the
/// column widths are measured in a first pass and the rows written in a
/// second, so a million rows never sit in memory (a table crate holds them
/// all: about a kilobyte each).
pub fn write_table(run: &Run, color: bool, out: &mut dyn Write) -> io::Result<()> {
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
                        Status::Failed => "31",
                        Status::Unknown => "33",
                        Status::Skipped => "90",
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
    for (c, o) in run.rows() {
        let row = cells(run, c, o);
        emit(out, &row.each_ref().map(String::as_str), Some(o.status))?;
    }
    let recap = recap(run);
    if !recap.is_empty() {
        out.write_all(b"\n")?;
        out.write_all(recap.as_bytes())?;
    }
    writeln!(out, "{}", summary_line(run))
}

/// Every command that is not ok: `FILE:LINE`, label, status and full cause,
/// so three failures among thousands of rows are found at once.
pub fn recap(run: &Run) -> String {
    let mut out = String::new();
    let troubled: Vec<_> = run.troubled().collect();
    if troubled.is_empty() {
        return out;
    }
    out.push_str(&format!("not ok ({}):\n", troubled.len()));
    for (c, o) in troubled {
        let target = run.target(c);
        let target = if target.is_empty() { String::new() } else { format!(" {target}") };
        out.push_str(&format!(
            "  {}  #{} {}{target}  {}: {}\n",
            run.location(c),
            c.index,
            run.label(c),
            o.status.as_str(),
            o.message().unwrap_or_default()
        ));
    }
    out
}

/// `--quiet`: nothing when every command is ok; else the recap and the summary.
pub fn quiet(run: &Run) -> String {
    let recap = recap(run);
    if recap.is_empty() {
        return recap;
    }
    format!("{recap}{}\n", summary_line(run))
}

/// `12 commands: 10 ok, 1 failed, 0 unknown, 1 skipped in 0.4s (run 1a2b)`,
/// and the transport problem that stopped the run, if one did.
pub fn summary_line(run: &Run) -> String {
    let s = run.summary();
    let transport = run.outcomes.iter().find_map(|o| o.transport());
    let served = {
        // A few nodes, a million outcomes: no list of them all.
        let mut urls: Vec<&str> = Vec::new();
        for url in run.outcomes.iter().filter_map(|o| o.node.as_deref()) {
            if !urls.contains(&url) {
                urls.push(url);
            }
        }
        urls.len()
    };
    format!(
        "{} command{}: {} ok, {} failed, {} unknown, {} skipped in {:.1}s (run {}{}){}",
        s.total,
        if s.total == 1 { "" } else { "s" },
        s.ok,
        s.failed,
        s.unknown,
        s.skipped,
        run.ms(run.duration) as f64 / 1000.0,
        run.run_id,
        if run.nodes > 1 { format!(", {served} of {} nodes served", run.nodes) } else { String::new() },
        transport.map_or(String::new(), |t| format!("; transport: {t}"))
    )
}

/// A few words about a reply: offsets, counts, sizes.
fn short_result(result: Option<&serde_json::Value>) -> String {
    let Some(r) = result else { return String::new() };
    let count = |k: &str| r.get(k).and_then(|v| v.as_array().map(Vec::len).or_else(|| v.as_object().map(|o| o.len())));
    if let Some(n) = count("responses") {
        return format!("{n} channels");
    }
    if let Some(n) = count("publications") {
        return format!("{n} publications, offset {}", r.get("offset").and_then(|v| v.as_u64()).unwrap_or(0));
    }
    if let Some(n) = count("presence") {
        return format!("{n} clients");
    }
    if let Some(n) = count("channels") {
        return format!("{n} channels");
    }
    if let Some(n) = count("nodes") {
        return format!("{n} nodes");
    }
    if let Some(off) = r.get("offset").and_then(|v| v.as_u64()) {
        return format!("offset {off}");
    }
    if let (Some(c), Some(u)) = (r.get("num_clients"), r.get("num_users")) {
        return format!("{c} clients, {u} users");
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
