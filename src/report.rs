//! Every output format, rendered from one list of per-command outcomes:
//! the terminal table, the JSON report, JUnit XML, GitHub annotations and
//! step summary. Nothing here holds or prints secrets: rows carry only what
//! the manifest's commands and the server's replies say.

mod github;
mod json;
mod junit;
mod table;

use std::time::Duration;

pub use github::{annotations, step_summary};
pub use json::{JsonReport, json_report, write_json};
pub use junit::junit_report;
pub use table::{summary_line, table};

use crate::executor::{Outcome, Summary};
use crate::manifest::{Command, Source};

/// A finished run, as every report sees it.
pub struct Run<'a> {
    pub run_id: &'a str,
    pub duration: Duration,
    pub sources: &'a [Source],
    pub commands: &'a [Command],
    pub outcomes: &'a [Outcome],
    /// Fixed durations for snapshot tests.
    pub deterministic: bool,
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
}

/// What a command acts on, for humans: the channel, the channels, or the user.
pub fn target(c: &Command) -> String {
    let t = &c.target;
    if let Some(chs) = &t.channels {
        return chs.join(",");
    }
    match (t.user.as_deref(), t.channel.as_deref(), t.client.as_deref()) {
        (Some(u), Some(ch), _) if !ch.is_empty() => format!("user {u} @ {ch}"),
        (Some(u), _, _) => format!("user {u}"),
        (None, Some(ch), _) => ch.to_owned(),
        (None, None, Some(cl)) => format!("client {cl}"),
        _ => String::new(),
    }
}

/// The label a report shows for a command: its `name`, or its method.
pub fn label(c: &Command) -> &str {
    c.name.as_deref().unwrap_or(c.method.name)
}
