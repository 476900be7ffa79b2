//! The terminal table: one row per command, then a recap of every command
//! that is not ok (with its full cause, never cut), then a summary line.
//! `--quiet` keeps only the recap and the summary, and prints nothing when
//! every command is ok (a cron job mails only on trouble).

use comfy_table::{Cell, Color, ContentArrangement, LineStyle, Table, TableStyle};

use super::Run;
use crate::executor::Status;

/// Columns separated by space, one rule under the header.
const STYLE: TableStyle = TableStyle::new().header_separator(LineStyle::none().fill('─').junction('─'));

/// Renders the per-command table; `color` only on a terminal.
pub fn table(run: &Run, color: bool) -> String {
    let mut t = Table::new();
    t.load_style(STYLE).set_content_arrangement(ContentArrangement::Disabled);
    if !color {
        t.force_no_tty();
    }
    t.set_header(["#", "command", "target", "status", "tries", "time", "detail"]);
    for (c, o) in run.rows() {
        let status = Cell::new(o.status.as_str());
        let status = if color {
            status.fg(match o.status {
                Status::Ok => Color::Green,
                Status::Failed => Color::Red,
                Status::Unknown => Color::Yellow,
                Status::Skipped => Color::DarkGrey,
            })
        } else {
            status
        };
        t.add_row(vec![
            Cell::new(c.index),
            Cell::new(run.label(c)),
            Cell::new(truncate(&run.target(c), 40)),
            status,
            Cell::new(o.attempts),
            Cell::new(format!("{}ms", run.ms(o.duration))),
            Cell::new(truncate(&o.message().unwrap_or_else(|| short_result(o.result.as_ref())), 70)),
        ]);
    }
    let mut out = String::new();
    for line in t.lines() {
        out.push_str(line.trim_end());
        out.push('\n');
    }
    let recap = recap(run);
    if !recap.is_empty() {
        out.push('\n');
        out.push_str(&recap);
    }
    out.push_str(&summary_line(run));
    out.push('\n');
    out
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
    let transport = run.outcomes.iter().find_map(|o| o.transport.as_deref());
    let served = {
        let mut urls: Vec<&str> = run.outcomes.iter().filter_map(|o| o.node.as_deref()).collect();
        urls.sort_unstable();
        urls.dedup();
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
