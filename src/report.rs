//! Every output format, rendered from one list of per-command outcomes:
//! the terminal table and its recap, the JSON report (and its JSON
//! Schema), JUnit XML, GitHub annotations and step summary, the HTML page
//! and the Prometheus metrics. Server text in the outcomes is shown as the
//! server sent it; every secret is cleared from what is printed here.
//!
//! A run's trouble is told by cause: commands that failed for the same
//! reason form one [`Cause`], said once — as a located diagnostic with the
//! manifest's snippet, pointing at the failing check's own line or at the
//! command — with the first few commands and how many more.

mod github;
mod html;
mod json;
mod junit;
mod metrics;
mod problems;
pub(crate) mod schema;
mod table;
#[cfg(test)]
mod tests;
pub(crate) mod timeline;

use std::borrow::Cow;
use std::time::Duration;

pub(crate) use github::{annotations, invalid_step_summary, step_summary};
pub(crate) use html::{write_html, write_invalid_html};
pub(crate) use json::{write_invalid_json, write_json};
pub(crate) use junit::junit_report;
pub(crate) use metrics::{MetricsLabels, write_metrics};
pub(crate) use problems::{CheckJson, JsonProblem, json_problems, problem_annotations, problems_junit};
#[cfg(test)]
pub(crate) use table::table;
pub(crate) use table::{quiet, recap as table_recap, write_table};
pub(crate) use timeline::Timeline;

use crate::diagnostic::{Problem, Source, Span};
use crate::executor::{Failure, NodeFailure, Outcome, SkipReason, Status, Summary};
use crate::exit::{Exit, Signal};
use crate::manifest::Command;
use crate::redact::Secrets;

/// A finished run, as every report sees it.
pub(crate) struct Run<'a> {
    pub run_id: &'a str,
    pub duration: Duration,
    pub sources: &'a [Source],
    pub commands: &'a [Command],
    pub outcomes: &'a [Outcome],
    /// Fixed durations for snapshot tests.
    pub deterministic: bool,
    /// Kept out of everything printed.
    pub secrets: &'a Secrets,
    /// Warnings found before the run (they are in the JSON report).
    pub warnings: &'a [Problem],
    /// The nodes given, in order.
    pub nodes: &'a [String],
    /// Nodes that failed during the run.
    pub node_failures: &'a [NodeFailure],
    /// How the process ends.
    pub exit: Exit,
    /// The signal that stopped the run.
    pub signal: Option<Signal>,
}

/// Commands that ended the same way for the same reason.
#[derive(Debug, Clone)]
pub(crate) struct Cause {
    pub status: Status,
    /// The reason, said once (the server's error, the transport problem...).
    pub message: String,
    /// The commands (positions in the run), in order.
    pub commands: Vec<usize>,
}

/// How many commands a cause lists before saying how many more.
pub(crate) const LISTED: usize = 10;

impl Run<'_> {
    pub(crate) fn summary(&self) -> Summary {
        Summary::of(self.outcomes)
    }

    fn ms(&self, d: Duration) -> u64 {
        if self.deterministic { 0 } else { d.as_millis() as u64 }
    }

    fn rows(&self) -> impl Iterator<Item = (&Command, &Outcome)> {
        self.commands.iter().zip(self.outcomes)
    }

    /// The label a report shows for a command: its `name`, or its method.
    pub(crate) fn label<'c>(&self, c: &'c Command) -> Cow<'c, str> {
        match c.name() {
            Some(n) => self.secrets.redact(n),
            None => Cow::Borrowed(c.method.name),
        }
    }

    /// What a command acts on, for humans: the channel, the channels, or
    /// the user; a wait step's pause.
    pub(crate) fn target(&self, c: &Command) -> String {
        if let Some(pause) = c.steps().and_then(|s| s.wait) {
            return crate::duration::show(pause);
        }
        let t = c.target();
        let text = if let Some(chs) = &t.channels {
            chs.join(",")
        } else {
            match (t.user.as_deref(), t.channel.as_deref(), t.client.as_deref()) {
                (Some(u), Some(ch), _) if !ch.is_empty() => format!("user {u} @ {ch}"),
                (Some(u), _, _) => format!("user {u}"),
                (None, Some(ch), _) => ch.to_owned(),
                (None, None, Some(cl)) => format!("client {cl}"),
                _ => String::new(),
            }
        };
        self.secrets.redact(&text).into_owned()
    }

    /// `FILE:LINE` of a command's list item.
    pub(crate) fn location(&self, c: &Command) -> String {
        format!("{}:{}", self.sources[c.manifest()].name, c.line)
    }

    /// A command's one-line cause of trouble, secrets cleared from what
    /// came from outside.
    pub(crate) fn message(&self, o: &Outcome) -> String {
        o.message_with(&|s| self.secrets.redact(s).into_owned()).unwrap_or_default()
    }

    /// A manifest's text with every secret masked by as many `*`: places
    /// (spans) stay where they were, for snippets.
    pub(crate) fn masked(&self, m: usize) -> Source {
        let s = &self.sources[m];
        match self.secrets.mask(&s.text) {
            Cow::Borrowed(_) => s.clone(),
            Cow::Owned(text) => Source::new(s.name.clone(), text),
        }
    }

    /// The commands that are not ok, grouped by cause in the order each
    /// cause first appears.
    pub(crate) fn causes(&self) -> Vec<Cause> {
        let mut causes: Vec<Cause> = Vec::new();
        let mut index: std::collections::HashMap<(Status, String), usize> = std::collections::HashMap::new();
        for (i, o) in self.outcomes.iter().enumerate() {
            if is_fine(o) {
                continue;
            }
            let key = (o.status, self.message(o));
            match index.get(&key) {
                Some(&k) => causes[k].commands.push(i),
                None => {
                    index.insert(key.clone(), causes.len());
                    causes.push(Cause { status: key.0, message: key.1, commands: vec![i] });
                }
            }
        }
        causes
    }

    /// Where a command's trouble is best shown: the failing check's own
    /// line for an expectation, else the command's list item.
    pub(crate) fn place(&self, c: &Command, o: &Outcome) -> (usize, Span) {
        match o.failed_check() {
            Some(check) if o.status == Status::Failed(Failure::Expectation) => {
                (check.at.manifest as usize, check.at.span)
            }
            _ => (c.manifest(), Span { offset: c.offset(), len: 1 }),
        }
    }

    /// One cause as a located diagnostic: what happened to how many, at the
    /// first command, with a hint and the next few commands.
    pub(crate) fn cause_problem(&self, cause: &Cause) -> Problem {
        let first = cause.commands[0];
        let (c, o) = (&self.commands[first], &self.outcomes[first]);
        let (m, span) = self.place(c, o);
        let n = cause.commands.len();
        let message = format!(
            "{} {} {}: {}",
            count(n),
            plural(n, "command", "commands"),
            cause.status.as_str(),
            if cause.message.is_empty() { "(no detail)" } else { &cause.message }
        );
        let target = self.target(c);
        let label = format!(
            "#{} {}{}",
            c.index,
            self.label(c),
            if target.is_empty() { String::new() } else { format!(" {target}") }
        );
        let mut help = hint(cause).map(str::to_owned).into_iter().collect::<Vec<_>>();
        if n > 1 {
            let listed: Vec<String> = cause.commands[1..n.min(LISTED)]
                .iter()
                .map(|&i| format!("{} #{}", self.location(&self.commands[i]), self.commands[i].index))
                .collect();
            let more = n.saturating_sub(LISTED);
            let mut also = format!("also {}", listed.join(", "));
            if more > 0 {
                also.push_str(&format!(
                    ", and {} more (the JSON report, --report-json FILE, lists every command)",
                    count(more)
                ));
            }
            help.push(also);
        }
        let mut p = Problem::error(message).at(&self.masked(m), span, label);
        // Commands a fail-fast or a signal left unsent follow from the cause said before.
        if matches!(cause.status, Status::Skipped(SkipReason::FailFast | SkipReason::Interrupted)) {
            p = p.warning();
        }
        if help.is_empty() { p } else { p.help(help.join("\n")) }
    }

    /// Every cause as a diagnostic.
    pub(crate) fn cause_problems(&self) -> Vec<Problem> {
        self.causes().iter().map(|c| self.cause_problem(c)).collect()
    }

    /// How many causes a recap shows with their snippet; the rest are a line each.
    pub(crate) const SHOWN: usize = LISTED;

    /// Commands each node answered (or was tried last for), by node.
    pub(crate) fn served(&self) -> Vec<(String, usize)> {
        let mut out: Vec<(String, usize)> = self.nodes.iter().map(|n| (n.clone(), 0)).collect();
        for o in self.outcomes {
            let Some(node) = o.node.as_deref() else { continue };
            match out.iter_mut().find(|(url, _)| url == node) {
                Some((_, n)) => *n += 1,
                None => out.push((node.to_owned(), 1)),
            }
        }
        out
    }
}

/// What to do about a cause, when cent-run knows.
fn hint(cause: &Cause) -> Option<&'static str> {
    let m = cause.message.as_str();
    Some(match cause.status {
        Status::Failed(Failure::Configuration) | Status::Skipped(SkipReason::Configuration)
            if m.contains("HTTP 401") || m.contains("HTTP 403") =>
        {
            "the server refused the API key: check --api-key-file, CENTRIFUGO_API_KEY, server.api_key or the profile's api_key"
        }
        Status::Failed(Failure::Configuration) | Status::Skipped(SkipReason::Configuration)
            if m.contains("HTTP 404") =>
        {
            "no server API at that URL: check --url (the server's address, e.g. http://host:8000) and --protocol (api for Centrifugo v5/v6, legacy for v2–v4, v1)"
        }
        Status::Failed(Failure::Configuration) | Status::Skipped(SkipReason::Configuration) => {
            "the server refused the request for its configuration: check --url and --protocol"
        }
        Status::Skipped(SkipReason::Untrusted) => {
            "give --cacert CA.pem (or server.cacert, or cacert in the profile) with the CA that signed the server's certificate, or --insecure"
        }
        Status::Unknown | Status::Skipped(SkipReason::Transport) => {
            "check that the server is up and reachable; a re-run with the same --run-id and --state sends only what was not applied"
        }
        Status::Failed(Failure::Expectation) if m.starts_with("delivered: ") => {
            "the server took it, no listener heard it in time: check the WebSocket path (load balancer, ingress, the node the listener is on) and what `not_heard_by` shows in the JSON report"
        }
        Status::Failed(Failure::Refused) if m.starts_with("cannot listen on ") => {
            "the listener could not connect or subscribe: 3500 is a token signed with another secret than the server's client token secret; check --token-secret-file and the channel's namespace"
        }
        Status::Failed(Failure::Refused) if m.starts_with("102 ") => {
            "the channel's namespace is not in the server's configuration (`check --server-config FILE` finds these before sending)"
        }
        Status::Failed(Failure::Refused) if m.starts_with("108 ") => {
            "the namespace has this feature off (history or presence): `check --server-config FILE` finds these before sending"
        }
        Status::Failed(Failure::Refused) if m.starts_with("104 ") => {
            "an open-source Centrifugo has no such method (PRO-only methods, `rpc`)"
        }
        _ => return None,
    })
}

/// `199,600`.
pub(crate) fn count(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The singular or the plural, by `n`.
pub(crate) fn plural<'s>(n: usize, one: &'s str, many: &'s str) -> &'s str {
    if n == 1 { one } else { many }
}

/// Ok, or skipped because it did not need to be sent.
fn is_fine(o: &Outcome) -> bool {
    matches!(o.status, Status::Ok | Status::Skipped(SkipReason::AlreadyApplied | SkipReason::NotSelected))
}
