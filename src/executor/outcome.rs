//! What happened to each command: the executor's output and every report's input.

use std::time::Duration;

use serde::Serialize;
use serde_json::Value as Json;
use serde_json::value::RawValue;

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

/// What happened to one command. Compact: the common parts inline, the
/// rest (an error, a transport problem, per-channel results, checks) boxed
/// when there is any.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// How it ended.
    pub status: Status,
    /// Why it was skipped.
    pub skip: Option<SkipReason>,
    /// How many times the command was sent.
    pub attempts: u32,
    /// From its first send to its outcome.
    pub duration: Duration,
    /// The node (URL) that answered it, or was tried last.
    pub node: Option<std::sync::Arc<str>>,
    /// The server's result, as JSON text.
    pub result: Option<Box<RawValue>>,
    /// Everything else, when there is any.
    pub details: Option<Box<Details>>,
}

/// The less common parts of an [`Outcome`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Details {
    /// The server's error (code and message), a refused request, a failed check.
    pub error: Option<ApiError>,
    /// The last transport problem, for unknown and transport-skipped commands.
    pub transport: Option<String>,
    /// More about how it ended (an expected refusal, a missing saved name).
    pub detail: Option<String>,
    /// Broadcast only: one entry per channel, in order.
    pub channels: Vec<ChannelOutcome>,
    /// Each `expect:` check and how it went.
    pub checks: Vec<CheckOutcome>,
}

impl PartialEq for Outcome {
    fn eq(&self, other: &Self) -> bool {
        (self.status, self.skip, self.attempts, self.duration, &self.node, &self.details)
            == (other.status, other.skip, other.attempts, other.duration, &other.node, &other.details)
            && self.result.as_ref().map(|r| r.get()) == other.result.as_ref().map(|r| r.get())
    }
}

impl Outcome {
    /// A command never sent, for `reason`.
    pub fn skipped(reason: SkipReason) -> Self {
        Outcome {
            status: Status::Skipped,
            skip: Some(reason),
            attempts: 0,
            duration: Duration::ZERO,
            node: None,
            result: None,
            details: None,
        }
    }

    /// The server's error (code and message), a refused request, a failed check.
    pub fn error(&self) -> Option<&ApiError> {
        self.details.as_ref().and_then(|d| d.error.as_ref())
    }

    /// The last transport problem.
    pub fn transport(&self) -> Option<&str> {
        self.details.as_ref().and_then(|d| d.transport.as_deref())
    }

    /// More about how it ended.
    pub fn detail(&self) -> Option<&str> {
        self.details.as_ref().and_then(|d| d.detail.as_deref())
    }

    /// A broadcast's per-channel results.
    pub fn channels(&self) -> &[ChannelOutcome] {
        self.details.as_ref().map_or(&[], |d| &d.channels)
    }

    /// Each `expect:` check and how it went.
    pub fn checks(&self) -> &[CheckOutcome] {
        self.details.as_ref().map_or(&[], |d| &d.checks)
    }

    /// The result, decoded.
    pub fn result_json(&self) -> Option<Json> {
        self.result.as_ref().and_then(|r| serde_json::from_str(r.get()).ok())
    }

    /// The details, made when there are none yet.
    pub(crate) fn details_mut(&mut self) -> &mut Details {
        self.details.get_or_insert_with(Box::default)
    }

    /// With this much more said about it.
    pub(crate) fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.details_mut().detail = Some(detail.into());
        self
    }

    /// With this transport problem.
    pub(crate) fn with_transport(mut self, transport: impl Into<String>) -> Self {
        self.details_mut().transport = Some(transport.into());
        self
    }

    /// One line for the table: the error, or why it was skipped.
    pub fn message(&self) -> Option<String> {
        if let Some(e) = self.error() {
            let failed: Vec<&str> =
                self.channels().iter().filter(|c| c.status != Status::Ok).map(|c| c.channel.as_str()).collect();
            return Some(if failed.is_empty() {
                e.to_string()
            } else {
                format!("{e} (channels: {})", failed.join(", "))
            });
        }
        if let Some(t) = self.transport().or(self.detail()) {
            return Some(match self.skip {
                Some(r) => format!("{}: {t}", r.describe()),
                None => t.to_owned(),
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
