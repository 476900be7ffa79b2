//! What happened to each command: the executor's output and every report's input.

use std::time::Duration;

use serde::Serialize;
use serde_json::Value as Json;

use super::expect::CheckOutcome;
use crate::protocol::ApiError;

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// The server applied the command (or answered the read).
    Ok,
    /// The server answered with an error, or refused the request.
    Failed,
    /// Sent, but no answer: the server may or may not have applied it.
    Unknown,
    /// Never sent (or not needed: already applied in a resumed run).
    Skipped,
}

impl Status {
    /// Its name in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Failed => "failed",
            Status::Unknown => "unknown",
            Status::Skipped => "skipped",
        }
    }
}

/// Why a command was skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    /// `--fail-fast` stopped the run after a failure.
    FailFast,
    /// An earlier transport failure stopped the run, or the request never
    /// reached the server.
    Transport,
    /// The server refused a request (HTTP 4xx) and the run stopped.
    Refused,
    /// Ctrl-C.
    Interrupted,
    /// Applied by an earlier run (`--state`).
    AlreadyApplied,
    /// A saved name it uses was not saved (the saving command failed, or
    /// its result had no such path); `detail` says which.
    NotSaved,
    /// The server's TLS certificate is not trusted: nothing was sent.
    Untrusted,
}

impl SkipReason {
    /// Why, in words.
    pub fn describe(self) -> &'static str {
        match self {
            SkipReason::FailFast => "not sent: --fail-fast after an earlier failure",
            SkipReason::Transport => "not sent: transport failure",
            SkipReason::Refused => "not sent: the server refused an earlier request",
            SkipReason::Interrupted => "not sent: interrupted",
            SkipReason::AlreadyApplied => "already applied (state file)",
            SkipReason::NotSaved => "not sent",
            SkipReason::Untrusted => "not sent: the server's certificate is not trusted",
        }
    }
}

/// A broadcast's result for one of its channels.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChannelOutcome {
    /// The channel.
    pub channel: String,
    /// How it ended for this channel.
    pub status: Status,
    /// The server's error for this channel.
    pub error: Option<ApiError>,
    /// The server's result for this channel.
    pub result: Option<Json>,
}

/// What happened to one command.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// How it ended.
    pub status: Status,
    /// How many times the command was sent.
    pub attempts: u32,
    /// From its first send to its outcome.
    pub duration: Duration,
    /// The server's error (code and message), or a refused request.
    pub error: Option<ApiError>,
    /// The last transport problem, for unknown and transport-skipped commands.
    pub transport: Option<String>,
    /// Why it was skipped.
    pub skip: Option<SkipReason>,
    /// The server's result.
    pub result: Option<Json>,
    /// Broadcast only: one entry per channel, in order.
    pub channels: Vec<ChannelOutcome>,
    /// Each `expect:` check and how it went.
    pub checks: Vec<CheckOutcome>,
    /// More about how it ended (an expected refusal, a missing saved name).
    pub detail: Option<String>,
    /// The node (URL) that answered it, or was tried last.
    pub node: Option<std::sync::Arc<str>>,
}

impl Outcome {
    /// A command never sent, for `reason`.
    pub fn skipped(reason: SkipReason) -> Self {
        Outcome {
            status: Status::Skipped,
            attempts: 0,
            duration: Duration::ZERO,
            error: None,
            transport: None,
            skip: Some(reason),
            result: None,
            channels: Vec::new(),
            checks: Vec::new(),
            detail: None,
            node: None,
        }
    }

    /// One line for the table: the error, or why it was skipped.
    pub fn message(&self) -> Option<String> {
        if let Some(e) = &self.error {
            let failed: Vec<&str> =
                self.channels.iter().filter(|c| c.status != Status::Ok).map(|c| c.channel.as_str()).collect();
            return Some(if failed.is_empty() {
                e.to_string()
            } else {
                format!("{e} (channels: {})", failed.join(", "))
            });
        }
        if let Some(t) = self.transport.as_ref().or(self.detail.as_ref()) {
            return Some(match self.skip {
                Some(r) => format!("{}: {t}", r.describe()),
                None => t.clone(),
            });
        }
        self.skip.map(|r| r.describe().to_owned())
    }
}

/// Counts per status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Every command.
    pub total: usize,
    /// Applied or answered.
    pub ok: usize,
    /// Refused by the server.
    pub failed: usize,
    /// Sent, no answer.
    pub unknown: usize,
    /// Never sent.
    pub skipped: usize,
}

impl Summary {
    /// Counts the outcomes.
    pub fn of<'a>(outcomes: impl IntoIterator<Item = &'a Outcome>) -> Self {
        let mut s = Summary::default();
        for o in outcomes {
            s.total += 1;
            match o.status {
                Status::Ok => s.ok += 1,
                Status::Failed => s.failed += 1,
                Status::Unknown => s.unknown += 1,
                Status::Skipped => s.skipped += 1,
            }
        }
        s
    }
}
