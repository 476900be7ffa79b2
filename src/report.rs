//! Every output format, rendered from one list of per-command outcomes:
//! the terminal table and its recap, the JSON report, JUnit XML, GitHub
//! annotations and step summary. Server text in the outcomes was cleared of
//! secrets where it entered (the client); the manifest's own text (names,
//! targets) is cleared here.

mod github;
mod json;
mod junit;
mod problems;
mod table;
#[cfg(test)]
mod tests;

use std::time::Duration;

use std::borrow::Cow;

pub use github::{annotations, step_summary};
pub use json::{write_invalid_json, write_json};
pub use junit::junit_report;
pub use problems::{CheckJson, JsonProblem, json_problems, problem_annotations, problems_junit};
#[cfg(test)]
pub use table::table;
pub use table::{quiet, write_table};

use crate::executor::{Outcome, SkipReason, Status, Summary};
use crate::manifest::{Command, Source};
use crate::redact::Secrets;

/// A finished run, as every report sees it.
pub struct Run<'a> {
    pub run_id: &'a str,
    pub duration: Duration,
    pub sources: &'a [Source],
    pub commands: &'a [Command],
    pub outcomes: &'a [Outcome],
    /// Fixed durations for snapshot tests.
    pub deterministic: bool,
    /// Kept out of the manifest's text in every report.
    pub secrets: &'a Secrets,
    /// Warnings found before the run (they are in the JSON report).
    pub warnings: &'a [crate::manifest::Problem],
    /// How many nodes were given.
    pub nodes: usize,
}

impl Run<'_> {
    pub fn summary(&self) -> Summary {
        Summary::of(self.outcomes)
    }

    fn ms(&self, d: Duration) -> u64 {
        if self.deterministic { 0 } else { d.as_millis() as u64 }
    }

    fn rows(&self) -> impl Iterator<Item = (&Command, &Outcome)> {
        self.commands.iter().zip(self.outcomes)
    }

    /// The commands that are not ok (already applied ones are fine).
    fn troubled(&self) -> impl Iterator<Item = (&Command, &Outcome)> {
        self.rows().filter(|(_, o)| !is_fine(o))
    }

    /// The label a report shows for a command: its `name`, or its method.
    pub fn label<'c>(&self, c: &'c Command) -> Cow<'c, str> {
        match &c.name {
            Some(n) => self.secrets.redact(n),
            None => Cow::Borrowed(c.method.name),
        }
    }

    /// What a command acts on, for humans: the channel, the channels, or
    /// the user; a wait step's pause.
    pub fn target(&self, c: &Command) -> String {
        if let Some(pause) = c.steps.as_ref().and_then(|s| s.wait) {
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
    pub fn location(&self, c: &Command) -> String {
        format!("{}:{}", self.sources[c.manifest()].name, c.line)
    }
}

/// Ok, or skipped because an earlier run applied it.
fn is_fine(o: &Outcome) -> bool {
    o.status == Status::Ok || o.skip == Some(SkipReason::AlreadyApplied)
}
