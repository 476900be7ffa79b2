//! What happened to each command: the executor's output and every report's
//! input. A status carries its reason, so an impossible outcome (skipped
//! for no reason, ok because of a fail-fast) cannot be built.

use std::time::Duration;

use serde_json::Value as Json;
use serde_json::value::RawValue;

use super::expect::CheckOutcome;
use crate::protocol::ApiError;

/// Why a command failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Failure {
    /// The server refused the command (an error reply, or a request it
    /// refused as bad).
    Refused,
    /// The server answered, but an `expect:` check did not hold (or
    /// `until:` gave up).
    Expectation,
    /// The server refused the request for a reason of configuration: the
    /// API key (401/403), the URL or protocol (404), a redirect.
    Configuration,
}

/// Why a command was not sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SkipReason {
    /// `--fail-fast` stopped the run after a failure.
    FailFast,
    /// A transport failure stopped the run, or the request never reached
    /// the server.
    Transport,
    /// The server refused the configuration (key, URL, protocol): the run stopped.
    Configuration,
    /// SIGINT or SIGTERM.
    Interrupted,
    /// Applied by an earlier run (`--state`).
    AlreadyApplied,
    /// A saved name it uses was not saved (the saving command failed, or
    /// its result had no such path); `detail` says which.
    NotSaved,
    /// The server's TLS certificate is not trusted: nothing was sent.
    Untrusted,
    /// Left out by `--tags`, `--skip-tags` or `--only`.
    NotSelected,
}

impl SkipReason {
    /// Why, in words.
    pub fn describe(self) -> &'static str {
        match self {
            SkipReason::FailFast => "not sent: fail-fast, after an earlier failure",
            SkipReason::Transport => "not sent: transport failure",
            SkipReason::Configuration => "not sent: the server refused the configuration",
            SkipReason::Interrupted => "not sent: interrupted",
            SkipReason::AlreadyApplied => "already applied (state file)",
            SkipReason::NotSaved => "not sent",
            SkipReason::Untrusted => "not sent: the server's certificate is not trusted",
            SkipReason::NotSelected => "not selected",
        }
    }

    /// Its name in the JSON report.
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::FailFast => "fail_fast",
            SkipReason::Transport => "transport",
            SkipReason::Configuration => "configuration",
            SkipReason::Interrupted => "interrupted",
            SkipReason::AlreadyApplied => "already_applied",
            SkipReason::NotSaved => "not_saved",
            SkipReason::Untrusted => "untrusted",
            SkipReason::NotSelected => "not_selected",
        }
    }
}

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// The server applied the command (or answered the read).
    Ok,
    /// It failed, for this reason.
    Failed(Failure),
    /// Sent, but no answer: the server may or may not have applied it.
    Unknown,
    /// Never sent (or not needed: already applied in a resumed run).
    Skipped(SkipReason),
}

impl Status {
    /// Its name in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Failed(_) => "failed",
            Status::Unknown => "unknown",
            Status::Skipped(_) => "skipped",
        }
    }

    /// The reason of a failed or skipped command, as the JSON report names it.
    pub fn reason(self) -> Option<&'static str> {
        match self {
            Status::Failed(Failure::Refused) => Some("refused"),
            Status::Failed(Failure::Expectation) => Some("expectation"),
            Status::Failed(Failure::Configuration) => Some("configuration"),
            Status::Skipped(r) => Some(r.as_str()),
            Status::Ok | Status::Unknown => None,
        }
    }

    /// It failed, for whatever reason.
    pub fn is_failed(self) -> bool {
        matches!(self, Status::Failed(_))
    }

    /// It was not sent, for whatever reason.
    pub fn is_skipped(self) -> bool {
        matches!(self, Status::Skipped(_))
    }
}

/// A broadcast's result for one of its channels.
#[derive(Debug, Clone, PartialEq)]
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
    /// How many times the command was sent.
    pub attempts: u32,
    /// From its first send to its outcome.
    pub duration: Duration,
    /// The node (URL) that answered it, or was tried last: one per batch,
    /// shared by its commands (an `Arc<String>`, one pointer, not two).
    pub node: Option<std::sync::Arc<String>>,
    /// The server's result, as JSON text (`{}`, what most writes answer,
    /// shared by all that have it: see [`Outcome::kept`]).
    pub result: Option<std::sync::Arc<RawValue>>,
    /// Everything else, when there is any: read through [`Outcome::error`],
    /// [`Outcome::transport`], [`Outcome::detail`], [`Outcome::channels`],
    /// [`Outcome::checks`].
    pub(crate) details: Option<Box<Details>>,
}

// One per command of a run, all kept for the reports.
#[cfg(target_pointer_width = "64")]
const _: () = assert!(std::mem::size_of::<Outcome>() == 56);

/// The less common parts of an [`Outcome`].
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Details {
    /// The server's error (code and message), or a refused request.
    pub error: Option<ApiError>,
    /// The last transport problem, for unknown and transport-skipped commands.
    pub transport: Option<String>,
    /// More about how it ended (an expected refusal, a failed check, a
    /// missing saved name, a re-send through another node).
    pub detail: Option<String>,
    /// Broadcast only: one entry per channel, in order.
    pub channels: Vec<ChannelOutcome>,
    /// Each `expect:` check and how it went.
    pub checks: Vec<CheckOutcome>,
}

impl PartialEq for Outcome {
    fn eq(&self, other: &Self) -> bool {
        (self.status, self.attempts, self.duration, &self.node, &self.details)
            == (other.status, other.attempts, other.duration, &other.node, &other.details)
            && self.result.as_ref().map(|r| r.get()) == other.result.as_ref().map(|r| r.get())
    }
}

impl Outcome {
    /// A result as an outcome keeps it: `{}` one text for all (a run of
    /// 200,000 publishes kept 200,000 allocations of two bytes, and copied
    /// each for the report), any other its own.
    pub fn kept(result: Box<RawValue>) -> std::sync::Arc<RawValue> {
        static EMPTY: std::sync::LazyLock<std::sync::Arc<RawValue>> =
            std::sync::LazyLock::new(|| RawValue::from_string("{}".into()).expect("JSON").into());
        match result.get() {
            "{}" => EMPTY.clone(),
            _ => result.into(),
        }
    }

    /// A command never sent, for `reason`.
    pub fn skipped(reason: SkipReason) -> Self {
        Outcome::with_status(Status::Skipped(reason))
    }

    /// An outcome of this status, nothing else known yet.
    pub fn with_status(status: Status) -> Self {
        Outcome { status, attempts: 0, duration: Duration::ZERO, node: None, result: None, details: None }
    }

    /// The server's error (code and message), or a refused request.
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

    /// The first check that did not hold.
    pub fn failed_check(&self) -> Option<&CheckOutcome> {
        self.checks().iter().find(|c| !c.ok)
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
    pub(crate) fn with_error(mut self, error: ApiError) -> Self {
        self.details_mut().error = Some(error);
        self
    }

    pub(crate) fn with_transport(mut self, transport: impl Into<String>) -> Self {
        self.details_mut().transport = Some(transport.into());
        self
    }

    /// One line for the table: the error, the failed check, or why it was
    /// skipped.
    pub fn message(&self) -> Option<String> {
        self.message_with(&|s| s.to_owned())
    }

    /// [`Outcome::message`], with `clean` applied to the text that came
    /// from outside — the server's errors and results, the manifest's
    /// values — and not to cent-run's own words, nor to a transport
    /// problem (worded by the client, whose key and secret it already keeps
    /// out).
    pub fn message_with(&self, clean: &dyn Fn(&str) -> String) -> Option<String> {
        if self.status == Status::Failed(Failure::Expectation) {
            let what = self.detail().map(str::to_owned).or_else(|| self.failed_check().map(CheckOutcome::describe));
            return what.map(|w| clean(&w));
        }
        if let Some(e) = self.error() {
            let failed: Vec<&str> =
                self.channels().iter().filter(|c| c.status != Status::Ok).map(|c| c.channel.as_str()).collect();
            let e = match (e.code, self.transport()) {
                // A refused request: the client's own wording.
                (None, _) if self.status == Status::Failed(Failure::Configuration) => e.to_string(),
                _ => clean(&e.to_string()),
            };
            return Some(if failed.is_empty() { e } else { format!("{e} (channels: {})", clean(&failed.join(", "))) });
        }
        if let Some(t) = self.transport() {
            return Some(match self.status {
                Status::Skipped(r) if r != SkipReason::NotSaved => format!("{}: {t}", r.describe()),
                _ => t.to_owned(),
            });
        }
        if let Some(d) = self.detail() {
            let d = clean(d);
            return Some(match self.status {
                Status::Skipped(r) if r != SkipReason::NotSaved => format!("{}: {d}", r.describe()),
                _ => d,
            });
        }
        match self.status {
            Status::Skipped(r) => Some(r.describe().to_owned()),
            _ => None,
        }
    }
}

/// Counts per status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    /// Every command.
    pub total: usize,
    /// Applied or answered.
    pub ok: usize,
    /// Refused by the server, or a check did not hold.
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
                Status::Failed(_) => s.failed += 1,
                Status::Unknown => s.unknown += 1,
                Status::Skipped(_) => s.skipped += 1,
            }
        }
        s
    }
}
