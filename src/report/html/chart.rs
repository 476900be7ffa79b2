//! The timeline chart: [`TimelineData`] and the run's node failures in, one
//! inline SVG out — a lane per node, stacked bars of the commands each
//! answered per time bucket (by status), ticks for retried requests,
//! a line where a node failed (failover), shaded spans for `wait` and
//! hatched ones for `until`. Every text is escaped and cleared of secrets
//! by the caller's `clean`.

use std::fmt::Write as _;
use std::time::Duration;

use super::esc;
use crate::executor::NodeFailure;
use crate::report::timeline::{BUCKETS, MarkKind, RETRIED, SLOTS, TimelineData};

const WIDTH: f64 = 960.0;
const LEFT: f64 = 210.0;
const RIGHT: f64 = 28.0;
const TOP: f64 = 26.0;
const LANE: f64 = 54.0;
const GAP: f64 = 10.0;
const AXIS: f64 = 26.0;
/// Failover lines drawn, at most (a flapping node fails every 2 s).
const FAILOVERS: usize = 100;

/// The SVG of a run's timeline.
pub(crate) fn svg(data: &TimelineData, failures: &[NodeFailure], clean: &dyn Fn(&str) -> String) -> String {
    let end = data.end.max(failures.iter().map(|f| f.after).max().unwrap_or_default()).max(Duration::from_millis(1));
    let used = (end.as_nanos().div_ceil(data.width.as_nanos()) as usize).clamp(1, BUCKETS);
    let span = data.width * used as u32;
    let plot = WIDTH - LEFT - RIGHT;
    let x = |d: Duration| LEFT + plot * (d.as_secs_f64() / span.as_secs_f64()).min(1.0);
    let bar = plot / used as f64;
    let height = TOP + data.lanes.len() as f64 * (LANE + GAP) + AXIS;
    let tallest = data
        .lanes
        .iter()
        .flat_map(|l| l.buckets[..used].iter().map(|b| b[..RETRIED].iter().sum::<u32>()))
        .max()
        .unwrap_or(0)
        .max(1);
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg id=\"timeline\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {WIDTH} {height}\" role=\"img\" \
         aria-label=\"commands answered over time, by node and status\" data-bucket-ms=\"{}\">\
         <defs><pattern id=\"hatch\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" \
         patternTransform=\"rotate(45)\"><rect width=\"2\" height=\"6\" class=\"hatch\"/></pattern></defs>",
        data.width.as_millis()
    );
    let bottom = TOP + data.lanes.len() as f64 * (LANE + GAP);
    for (i, lane) in data.lanes.iter().enumerate() {
        let y0 = TOP + i as f64 * (LANE + GAP);
        let total = lane.total();
        let commands = total[..RETRIED].iter().sum::<u32>() as usize;
        let name = lane.node.as_deref().map_or_else(|| "no request (wait, not sent)".to_owned(), clean);
        let _ = write!(
            s,
            "<g class=\"lane\" data-node=\"{}\" data-commands=\"{}\" data-retried=\"{}\">\
             <rect class=\"lane-bg\" x=\"{LEFT}\" y=\"{y0:.1}\" width=\"{plot:.1}\" height=\"{LANE}\"/>\
             <text class=\"lane-name\" x=\"{:.1}\" y=\"{:.1}\"><title>{}</title>{}</text>\
             <text class=\"lane-count\" x=\"{:.1}\" y=\"{:.1}\">{} {}, {} retried</text>",
            esc(lane.node.as_deref().map(clean).as_deref().unwrap_or("")),
            commands,
            total[RETRIED],
            LEFT - 8.0,
            y0 + 20.0,
            esc(&name),
            esc(&shorten(&name, 30)),
            LEFT - 8.0,
            y0 + 38.0,
            crate::report::count(commands),
            crate::report::plural(commands, "command", "commands"),
            crate::report::count(total[RETRIED] as usize),
        );
        for (b, counts) in lane.buckets[..used].iter().enumerate() {
            if counts.iter().all(|&n| n == 0) {
                continue;
            }
            let bx = LEFT + b as f64 * bar;
            let from = data.width * b as u32;
            let said: Vec<String> =
                SLOTS.iter().zip(counts).filter(|(_, n)| **n > 0).map(|(name, n)| format!("{n} {name}")).collect();
            let _ = write!(
                s,
                "<g class=\"bucket\"><title>{}–{}: {}</title>",
                fmt_secs(from),
                fmt_secs(from + data.width),
                said.join(", ")
            );
            let mut top = y0 + LANE - 6.0;
            for (slot, &n) in counts[..RETRIED].iter().enumerate() {
                if n == 0 {
                    continue;
                }
                let h = (LANE - 8.0) * f64::from(n) / f64::from(tallest);
                top -= h;
                let _ = write!(
                    s,
                    "<rect class=\"{}\" x=\"{bx:.2}\" y=\"{top:.2}\" width=\"{:.2}\" height=\"{h:.2}\"/>",
                    SLOTS[slot],
                    (bar - 0.5).max(0.5)
                );
            }
            if counts[RETRIED] > 0 {
                let _ = write!(
                    s,
                    "<rect class=\"retried\" x=\"{bx:.2}\" y=\"{:.1}\" width=\"{:.2}\" height=\"4\"/>",
                    y0 + LANE - 5.0,
                    bar.max(2.0)
                );
            }
            s.push_str("</g>");
        }
        s.push_str("</g>");
    }
    // Over the bars, translucent.
    for m in &data.marks {
        let (x0, x1) = (x(m.start), x(m.end).max(x(m.start) + 1.0));
        let (class, what) = match m.kind {
            MarkKind::Wait => ("wait", format!("wait {}", fmt_secs(m.end - m.start))),
            MarkKind::Until => ("until", format!("until: {} sends, {}", m.attempts, m.status.as_str())),
        };
        let _ = write!(
            s,
            "<g class=\"mark {class}\" data-index=\"{}\"><title>#{} {what} ({}–{})</title>\
             <rect x=\"{x0:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\"/>\
             <text x=\"{x0:.1}\" y=\"{:.1}\">{}</text></g>",
            m.index,
            m.index,
            fmt_secs(m.start),
            fmt_secs(m.end),
            TOP - 4.0,
            x1 - x0,
            bottom - TOP + 4.0,
            TOP - 8.0,
            esc(&what)
        );
    }
    for f in failures.iter().take(FAILOVERS) {
        let fx = x(f.after);
        let node = clean(&f.url);
        let _ = write!(
            s,
            "<g class=\"failover\" data-node=\"{}\"><title>{} failed {} into the run: {} — its commands went to another node</title>\
             <line x1=\"{fx:.1}\" x2=\"{fx:.1}\" y1=\"{:.1}\" y2=\"{bottom:.1}\"/><text x=\"{:.1}\" y=\"{:.1}\">failover</text></g>",
            esc(&node),
            esc(&node),
            fmt_secs(f.after),
            esc(&clean(&f.why)),
            TOP - 14.0,
            fx + 3.0,
            TOP - 16.0,
        );
    }
    // The time axis: ticks at round times, five or so.
    let step = tick_step(span);
    let mut at = Duration::ZERO;
    while at <= span {
        let tx = x(at);
        let _ = write!(
            s,
            "<g class=\"tick\"><line x1=\"{tx:.1}\" x2=\"{tx:.1}\" y1=\"{bottom:.1}\" y2=\"{:.1}\"/>\
             <text x=\"{tx:.1}\" y=\"{:.1}\">{}</text></g>",
            bottom + 4.0,
            bottom + 16.0,
            fmt_secs(at)
        );
        at += step;
    }
    s.push_str("</svg>");
    s
}

/// A round step (1, 2 or 5 times a power of ten, in ms) giving at most
/// six ticks over `span`.
fn tick_step(span: Duration) -> Duration {
    let mut step = 1u64;
    loop {
        for m in [1, 2, 5] {
            if span.as_millis() as u64 <= 5 * m * step {
                return Duration::from_millis(m * step);
            }
        }
        step *= 10;
    }
}

/// `1.25 s`, `40 ms`.
pub(crate) fn fmt_secs(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{} ms", d.as_millis())
    } else if d < Duration::from_secs(600) {
        format!("{:.2} s", d.as_secs_f64())
    } else {
        format!("{:.1} min", d.as_secs_f64() / 60.0)
    }
}

/// At most `max` characters, the middle left out.
fn shorten(s: &str, max: usize) -> String {
    let n = s.chars().count();
    if n <= max {
        return s.to_owned();
    }
    let head: String = s.chars().take(max / 2).collect();
    let tail: String = s.chars().skip(n - (max - max / 2 - 1)).collect();
    format!("{head}…{tail}")
}
