//! `--metrics-file FILE`: the last run in Prometheus' text exposition
//! format, for the node exporter's textfile collector (written atomically
//! by the caller: a temporary file beside it, then renamed). In: the
//! finished [`Run`] (none for a run whose manifests were invalid: exit 2,
//! every count 0), the labels, the file's previous text and the time.
//! Out: gauges labelled `manifest` (the manifest paths as given) and
//! `name` (`--metrics-name`, else the manifests' file names without
//! extension):
//!
//! - `cent_run_commands{status}`: commands by how they ended;
//! - `cent_run_checks_failed`, `cent_run_retries` (sends of a command
//!   beyond its first, an `until`'s repeats not counted),
//!   `cent_run_node_failures`, `cent_run_duration_seconds`,
//!   `cent_run_exit_code`;
//! - `cent_run_last_run_timestamp_seconds`: when the run ended;
//! - `cent_run_last_success_timestamp_seconds`: when a run last ended with
//!   exit 0 — this one, or the value carried over from the previous file
//!   (0 when none is known), so `time() - cent_run_last_success_timestamp_seconds`
//!   grows until a run succeeds again.

use std::fmt::Write as _;
use std::io::{self, Write};
use std::path::Path;
use std::time::SystemTime;

use super::Run;
use crate::exit::Exit;

/// The two labels every sample carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MetricsLabels {
    pub manifest: String,
    pub name: String,
}

impl MetricsLabels {
    /// The manifests' paths as given (`-` is standard input) and the name,
    /// by default their file names without extension, joined by `+`.
    pub(crate) fn new<'a>(manifests: impl IntoIterator<Item = &'a str>, name: Option<&str>) -> Self {
        let paths: Vec<&str> = manifests.into_iter().map(|m| if m == "-" { "<stdin>" } else { m }).collect();
        let stems: Vec<String> = paths
            .iter()
            .map(|p| match *p {
                "<stdin>" => "stdin".to_owned(),
                p => Path::new(p).file_stem().map_or_else(|| p.to_owned(), |s| s.to_string_lossy().into_owned()),
            })
            .collect();
        MetricsLabels { manifest: paths.join(","), name: name.map_or_else(|| stems.join("+"), str::to_owned) }
    }

    fn text(&self) -> String {
        format!("manifest=\"{}\",name=\"{}\"", label_value(&self.manifest), label_value(&self.name))
    }
}

/// A label value as the exposition format escapes it.
fn label_value(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// The value of `cent_run_last_success_timestamp_seconds` in a previous
/// file's text, if it has one.
pub(crate) fn previous_success(text: &str) -> Option<f64> {
    text.lines()
        .filter(|l| {
            l.strip_prefix("cent_run_last_success_timestamp_seconds").is_some_and(|r| r.starts_with(['{', ' ']))
        })
        // The value follows the labels (whose values may hold spaces or braces).
        .filter_map(|l| l.rsplit_once('}').map_or(l.split_once(' ').map(|(_, v)| v), |(_, v)| Some(v)))
        .find_map(|v| v.split_whitespace().next()?.parse().ok())
}

/// Writes the metrics of `run` (`None`: an invalid run, exit 2).
pub(crate) fn write_metrics(
    run: Option<&Run>,
    labels: &MetricsLabels,
    previous: Option<&str>,
    now: SystemTime,
    out: &mut dyn Write,
) -> io::Result<()> {
    let l = labels.text();
    let l = match run {
        Some(r) => r.secrets.redact(&l).into_owned(),
        None => l,
    };
    let exit = run.map_or(Exit::Invalid, |r| r.exit);
    let sum = run.map(Run::summary).unwrap_or_default();
    let (mut checks_failed, mut retries) = (0, 0);
    if let Some(r) = run {
        for (c, o) in r.rows() {
            checks_failed += o.checks().iter().filter(|k| !k.ok).count();
            if c.steps().is_none_or(|s| s.until.is_none()) {
                retries += o.attempts.saturating_sub(1) as usize;
            }
        }
    }
    let unix = |t: SystemTime| t.duration_since(SystemTime::UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64());
    let success = if exit == Exit::Ok { unix(now) } else { previous.and_then(previous_success).unwrap_or(0.0) };
    let mut s = String::new();
    let mut gauge = |name: &str, help: &str, samples: &[(&str, String)]| {
        let _ = write!(s, "# HELP {name} {help}\n# TYPE {name} gauge\n");
        for (extra, value) in samples {
            let _ = writeln!(s, "{name}{{{l}{extra}}} {value}");
        }
    };
    gauge(
        "cent_run_commands",
        "Commands of the last run, by how they ended.",
        &[
            (",status=\"ok\"", sum.ok.to_string()),
            (",status=\"failed\"", sum.failed.to_string()),
            (",status=\"unknown\"", sum.unknown.to_string()),
            (",status=\"skipped\"", sum.skipped.to_string()),
        ],
    );
    let one = |v: String| [("", v)];
    gauge(
        "cent_run_checks_failed",
        "Checks (expect, until) that did not hold in the last run.",
        &one(checks_failed.to_string()),
    );
    gauge(
        "cent_run_duration_seconds",
        "How long the last run took.",
        &one(format!("{:.3}", run.map_or(0.0, |r| r.duration.as_secs_f64()))),
    );
    gauge(
        "cent_run_retries",
        "Sends of a command beyond its first in the last run (an until's repeats not counted).",
        &one(retries.to_string()),
    );
    gauge(
        "cent_run_node_failures",
        "Times a node was set aside after a transport failure in the last run (failovers).",
        &one(run.map_or(0, |r| r.node_failures.len()).to_string()),
    );
    gauge(
        "cent_run_exit_code",
        "The last run's exit code (0 ok, 1 rejected, 2 invalid, 3 transport, 4 expectation, 130 SIGINT, 143 SIGTERM).",
        &one(exit.code().to_string()),
    );
    gauge(
        "cent_run_last_run_timestamp_seconds",
        "When the last run ended, in Unix time.",
        &one(format!("{:.3}", unix(now))),
    );
    gauge(
        "cent_run_last_success_timestamp_seconds",
        "When a run last ended with exit 0, in Unix time (0: no success known).",
        &one(format!("{success:.3}")),
    );
    out.write_all(s.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_default_to_the_file_names_and_are_escaped() {
        let l = MetricsLabels::new(["/etc/cent-run/announce.yaml", "-"], None);
        assert_eq!(
            l,
            MetricsLabels { manifest: "/etc/cent-run/announce.yaml,<stdin>".into(), name: "announce+stdin".into() }
        );
        let l = MetricsLabels::new(["a \"b\"\\.yaml"], Some("nightly\njob"));
        assert_eq!(l.text(), r#"manifest="a \"b\"\\.yaml",name="nightly\njob""#);
    }

    #[test]
    fn an_invalid_run_carries_the_last_success_over() {
        let labels = MetricsLabels::new(["m.yaml"], None);
        let t = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(2_000_000_000);
        let before =
            "# HELP x\ncent_run_last_success_timestamp_seconds{manifest=\"a } b\",name=\"m\"} 1700000000.250\n";
        let mut out = Vec::new();
        write_metrics(None, &labels, Some(before), t, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("cent_run_exit_code{manifest=\"m.yaml\",name=\"m\"} 2\n"), "{text}");
        assert!(text.contains("cent_run_last_run_timestamp_seconds{manifest=\"m.yaml\",name=\"m\"} 2000000000.000\n"));
        assert!(
            text.contains("cent_run_last_success_timestamp_seconds{manifest=\"m.yaml\",name=\"m\"} 1700000000.250\n")
        );
        assert_eq!(previous_success(&text), Some(1_700_000_000.25));
        let mut out = Vec::new();
        write_metrics(None, &labels, None, t, &mut out).unwrap();
        assert_eq!(previous_success(&String::from_utf8(out).unwrap()), Some(0.0), "no success known");
    }
}
