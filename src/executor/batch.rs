//! One batch in flight: send, read one reply per command, re-send only what
//! is safe and worth retrying (connection errors, timeouts, 5xx, error 100),
//! with exponential backoff and jitter — through another node when the one
//! tried failed at the transport level (same bytes, so the same idempotency
//! keys). A broadcast whose channels partly failed with error 100 is re-sent
//! to those channels only.
//!
//! One bad command never takes its neighbours down: a batch the server
//! refuses whole with HTTP 400 (nothing was applied) is cut in halves, sent
//! again in order, until the refused command is alone; so is a batch that
//! keeps failing with 5xx when every command in it is safe to re-send.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Map, Value as Json};
use tokio::sync::watch;

use super::events::{Event, Exchange, Listener};
use super::expect::{self, Verdict};
use super::nodes::Nodes;
use super::outcome::{ChannelOutcome, Details, Failure, Outcome, SkipReason, Status};
use super::plan::Plan;
use crate::client::{Client, Error, TransportError, TransportErrorKind};
use crate::methods::Retry;
use crate::protocol::{self, ApiError, Encoded, Protocol, RawReply};
use serde_json::value::RawValue;

/// Retries of connection errors, timeouts, HTTP 5xx and error 100, with
/// exponential backoff and full jitter.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// How many times a request may be sent again.
    pub retries: u32,
    /// The first backoff's upper bound (doubled per retry).
    pub base: Duration,
    /// The largest backoff.
    pub max: Duration,
}

impl RetryPolicy {
    /// Full jitter: a random delay up to `base * 2^attempt`, capped.
    pub fn delay(&self, attempt: u32) -> Duration {
        let cap = self.base.saturating_mul(1 << attempt.min(16)).min(self.max);
        cap.mul_f64(0.5 + 0.5 * jitter())
    }
}

fn jitter() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(Instant::now().elapsed().as_nanos());
    (h.finish() % 10_000) as f64 / 10_000.0
}

/// How the batch ended, for the dispatcher's stop decisions.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct BatchEnd {
    /// Transport trouble remained after the retries: what it was.
    pub transport_failed: Option<String>,
    /// The server refused the configuration (key, URL, protocol): why.
    pub configuration: Option<String>,
    /// The server's TLS certificate is not trusted: what the client said.
    pub untrusted: Option<String>,
}

/// A command on its way.
struct Pending {
    cmd: usize,
    /// Its place in the batch (its channel outcomes).
    slot: usize,
    /// The command as sent when it is not as the plan encodes it (a
    /// broadcast re-sent to some of its channels).
    encoded: Option<Encoded>,
    started: Option<Instant>,
    attempts: u32,
    /// Broadcast: index in the original channel list for each channel sent.
    channel_map: Vec<usize>,
    /// An earlier attempt may have reached the server.
    maybe_applied: bool,
    /// The retryable server error of the last attempt, if that is why it is pending.
    last_error: Option<ApiError>,
    /// A node that failed under it before (the re-send says so).
    failed_node: Option<(Arc<String>, String)>,
}

/// Commands sent together, with how many more times they may be.
struct Group {
    pending: Vec<Pending>,
    retries_left: u32,
    attempt: u32,
    /// Cut from a batch that kept failing with 5xx: not cut further by 400s.
    split_from_5xx: bool,
}

/// One batch and what became of its commands.
struct Batch<'a> {
    nodes: &'a Nodes,
    plan: &'a Plan,
    listener: &'a dyn Listener,
    done: Vec<(usize, Outcome)>,
    channels: Vec<Vec<ChannelOutcome>>,
    end: BatchEnd,
}

/// Sends `cmds` (indices into `plan`), retrying and cutting as allowed;
/// returns each command's outcome.
pub(crate) async fn run(
    nodes: &Nodes,
    plan: &Plan,
    cmds: &[usize],
    policy: RetryPolicy,
    mut interrupt: watch::Receiver<bool>,
    listener: &dyn Listener,
) -> (Vec<(usize, Outcome)>, BatchEnd) {
    let channels: Vec<Vec<ChannelOutcome>> = cmds.iter().map(|&c| channel_outcomes(plan, c)).collect();
    let pending = cmds
        .iter()
        .zip(&channels)
        .enumerate()
        .map(|(slot, (&c, chans))| Pending {
            cmd: c,
            slot,
            encoded: None,
            started: None,
            attempts: 0,
            channel_map: (0..chans.len()).collect(),
            maybe_applied: false,
            last_error: None,
            failed_node: None,
        })
        .collect();
    let mut b =
        Batch { nodes, plan, listener, done: Vec::with_capacity(cmds.len()), channels, end: BatchEnd::default() };
    let mut queue =
        VecDeque::from([Group { pending, retries_left: policy.retries, attempt: 0, split_from_5xx: false }]);
    while let Some(mut group) = queue.pop_front() {
        let interrupted = *interrupt.borrow();
        match b.send(&mut group, interrupted).await {
            Next::Done => {}
            Next::Retry => {
                let delay = policy.delay(group.attempt);
                group.attempt += 1;
                group.retries_left -= 1;
                tokio::select! {
                    _ = tokio::time::sleep(delay) => queue.push_front(group),
                    _ = interrupt.wait_for(|&v| v) => {
                        b.interrupted_before_retry(group.pending);
                        // What is queued after it was never sent.
                        for g in queue.drain(..) {
                            b.interrupted_before_retry(g.pending);
                        }
                    }
                }
            }
            Next::Split(first, second) => {
                queue.push_front(second);
                queue.push_front(first);
            }
        }
    }
    (b.done, b.end)
}

/// What to do with a group after a send.
enum Next {
    Done,
    Retry,
    /// Send these two halves, in order.
    Split(Group, Group),
}

/// Posts the pending commands as one request through `client`, telling the
/// listener it went out and how it was answered; one reply per command.
/// The body is written straight from the plan.
async fn post(client: &Client, plan: &Plan, cmds: &[Pending], listener: &dyn Listener) -> Result<Vec<RawReply>, Error> {
    let method = |k: usize| cmds[k].encoded.as_ref().map_or(plan.method(cmds[k].cmd).name, |e| e.method);
    let size = cmds.iter().map(|p| plan.size(p.cmd)).sum::<usize>() + 64;
    let body = protocol::body_of(client.protocol(), cmds.len(), size, method, |k, out| match &cmds[k].encoded {
        Some(e) => out.extend_from_slice(e.params.as_bytes()),
        None => plan.write_params(cmds[k].cmd, out),
    });
    let methods: Vec<&str> = (0..cmds.len()).map(method).collect();
    listener.event(&Event::Sent { url: client.endpoint(), commands: cmds.len(), bytes: body.len() });
    let sent = client.exchange(body).await;
    listener.event(&Event::Answered(&Exchange::of(&sent, cmds.len())));
    // The executor decides retries itself (per command, with the method table).
    client.raw_replies(&methods, sent, false)
}

impl Batch<'_> {
    /// Sends a group once and sorts its commands: done, again, or cut.
    async fn send(&mut self, group: &mut Group, interrupted: bool) -> Next {
        let now = Instant::now();
        for p in &mut group.pending {
            p.started.get_or_insert(now);
            p.attempts += 1;
        }
        let node = self.nodes.pick().await;
        let client = self.nodes.client(node);
        let url = Arc::new(self.nodes.url(node).to_owned());
        let mark = self.done.len();
        let result = post(client, self.plan, &group.pending, self.listener).await;
        let last_try = group.retries_left == 0 || interrupted;
        let next = match result {
            Ok(replies) => self.replies(group, replies, client.protocol(), last_try),
            Err(err) => self.failure(group, err, node, &url, last_try),
        };
        // The node of what was sent (a command that never reached the server has none).
        for (_, o) in self.done[mark..].iter_mut().filter(|(_, o)| o.attempts > 0) {
            o.node = Some(url.clone());
        }
        next
    }

    /// One reply per command: done, or again (error 100, a broadcast's
    /// channels that failed with it).
    fn replies(&mut self, group: &mut Group, replies: Vec<RawReply>, proto: Protocol, last_try: bool) -> Next {
        let mut again = Vec::new();
        for (p, reply) in group.pending.drain(..).zip(replies) {
            let method = self.plan.method(p.cmd);
            let steps = self.plan.steps(p.cmd);
            let expected = |e: &ApiError| {
                steps.as_ref().and_then(|s| s.expect_error.as_ref()).is_some_and(|(c, _)| e.code == Some(*c))
            };
            match reply {
                Err(e) if e.retryable() && !last_try && method.retry != Retry::Unsafe && !expected(&e) => {
                    again.push(Pending { last_error: Some(e), ..p })
                }
                // Checks on a result judge a result: a refusal nobody expected
                // (no `error: CODE`) is a refusal, whatever checks there are.
                reply
                    if steps
                        .as_ref()
                        .is_some_and(|s| s.has_expectations() && (reply.is_ok() || s.expect_error.is_some())) =>
                {
                    let steps = steps.as_ref().expect("checked");
                    let reply: protocol::Reply = reply.map(|r| json(&r));
                    let (verdict, checks) = expect::judge(steps, &reply);
                    let raw = |r: Json| protocol::raw(&r);
                    let mut o = match (verdict, reply) {
                        (Verdict::Pass, Err(e)) => finish(&p, Status::Ok, None, None, None, Vec::new())
                            .with_detail(format!("refused as expected: {e}")),
                        (Verdict::Pass, Ok(r)) => finish(&p, Status::Ok, None, None, Some(raw(r)), Vec::new()),
                        (Verdict::Fail(why, _), reply) => {
                            let error = reply.as_ref().err().cloned();
                            let result = reply.ok().map(raw);
                            finish(&p, Status::Failed(Failure::Expectation), error, None, result, Vec::new())
                                .with_detail(why)
                        }
                    };
                    if !checks.is_empty() {
                        o.details_mut().checks = checks;
                    }
                    self.done.push((p.cmd, o));
                }
                Err(e) => {
                    let chans = self.take_channels(&p, Status::Failed(Failure::Refused));
                    self.done.push((p.cmd, finish(&p, Status::Failed(Failure::Refused), Some(e), None, None, chans)))
                }
                Ok(result) if !self.channels[p.slot].is_empty() => {
                    let decoded = json(&result);
                    match broadcast_reply(self.plan, proto, method, &p, &decoded, &mut self.channels[p.slot], last_try)
                    {
                        Some(retry) => again.push(retry),
                        None => {
                            let chans = std::mem::take(&mut self.channels[p.slot]);
                            let failed = chans.iter().find_map(|c| c.error.clone());
                            let status = if failed.is_some() { Status::Failed(Failure::Refused) } else { Status::Ok };
                            self.done.push((p.cmd, finish(&p, status, failed, None, Some(result), chans)));
                        }
                    }
                }
                Ok(result) => self.done.push((p.cmd, finish(&p, Status::Ok, None, None, Some(result), Vec::new()))),
            }
        }
        if again.is_empty() {
            return Next::Done;
        }
        group.pending = again;
        Next::Retry
    }

    /// The request failed as a whole: retry, cut, or give every command of
    /// it its outcome.
    fn failure(&mut self, group: &mut Group, err: Error, node: usize, url: &Arc<String>, last_try: bool) -> Next {
        let (maybe_applied, retryable, message, kind) = match &err {
            Error::Transport { error: t, .. } => (t.maybe_applied(), t.retryable(), t.message.clone(), Some(t.kind)),
            // A 200 answer we cannot read: the server did run the batch.
            Error::Decode { error: d, .. } => (true, true, format!("unreadable response: {d}"), None),
            other => (false, false, other.to_string(), None),
        };
        if retryable {
            self.nodes.failed(node, &message);
        }
        match kind {
            Some(TransportErrorKind::Tls) => {
                // Never reached the server: a configuration problem, not an outage.
                self.end.untrusted = Some(message.clone());
                let mark = self.done.len();
                self.settle_all(group, Status::Skipped(SkipReason::Untrusted), None, Some(message));
                for (_, o) in &mut self.done[mark..] {
                    o.attempts = 0;
                }
                return Next::Done;
            }
            Some(TransportErrorKind::Status(s)) if TransportError::is_configuration(s) => {
                self.end.configuration = Some(message.clone());
                let e = ApiError { code: None, message };
                self.settle_all(group, Status::Failed(Failure::Configuration), Some(e), None);
                return Next::Done;
            }
            // Refused whole, nothing applied: cut it until the refused command is alone.
            Some(TransportErrorKind::Status(400)) if self.plan.protocol() != Protocol::Legacy => {
                if group.pending.len() > 1 && !group.split_from_5xx {
                    return split(group, group.retries_left, false);
                }
                let e = ApiError { code: None, message: format!("{message}: the server refused this command") };
                self.settle_all(group, Status::Failed(Failure::Refused), Some(e), None);
                return Next::Done;
            }
            _ => {}
        }
        if !retryable {
            let e = ApiError { code: None, message };
            self.settle_all(group, Status::Failed(Failure::Refused), Some(e), None);
            return Next::Done;
        }
        let plan = self.plan;
        let safe = |p: &Pending| !p.maybe_applied || plan.method(p.cmd).retry.resend_safe(plan.idempotent(p.cmd));
        for p in &mut group.pending {
            p.maybe_applied |= maybe_applied;
            p.last_error = None;
            p.failed_node = Some((url.clone(), message.clone()));
        }
        let all_safe = group.pending.iter().all(safe);
        let server_error = matches!(kind, Some(TransportErrorKind::Status(s)) if s >= 500);
        // The server keeps answering 5xx: when every command may be sent
        // again, find the one it cannot answer.
        if last_try && server_error && all_safe && group.pending.len() > 1 {
            return split(group, 0, true);
        }
        // What may be sent again is; what may have been applied without a
        // key to make a re-send safe is not.
        let (again, settle): (Vec<Pending>, Vec<Pending>) =
            std::mem::take(&mut group.pending).into_iter().partition(|p| !last_try && safe(p));
        for p in settle {
            let (status, transport) = if server_error && plan.method(p.cmd).reads() {
                // A read the server cannot answer did not happen.
                (Status::Failed(Failure::Refused), None)
            } else if p.maybe_applied {
                self.end.transport_failed.get_or_insert_with(|| message.clone());
                (Status::Unknown, Some(message.clone()))
            } else {
                self.end.transport_failed.get_or_insert_with(|| message.clone());
                (Status::Skipped(SkipReason::Transport), Some(message.clone()))
            };
            let error = matches!(status, Status::Failed(_)).then(|| ApiError { code: None, message: message.clone() });
            let chans = self.take_channels(&p, status);
            let mut o = finish(&p, status, error, transport, None, chans);
            if matches!(status, Status::Skipped(_)) {
                // Tried, never reached the server: it was not sent.
                o.attempts = 0;
            }
            if !last_try {
                o = o.with_detail("not re-sent: it may have been applied, and it carries no idempotency key");
            }
            self.done.push((p.cmd, o));
        }
        if again.is_empty() {
            return Next::Done;
        }
        group.pending = again;
        Next::Retry
    }

    /// Every command of the group ends with this status.
    fn settle_all(&mut self, group: &mut Group, status: Status, error: Option<ApiError>, transport: Option<String>) {
        for p in group.pending.drain(..) {
            let chans = self.take_channels(&p, status);
            self.done.push((p.cmd, finish(&p, status, error.clone(), transport.clone(), None, chans)));
        }
    }

    /// A broadcast's channel outcomes, each that has none yet given `status`.
    fn take_channels(&mut self, p: &Pending, status: Status) -> Vec<ChannelOutcome> {
        let mut chans = std::mem::take(&mut self.channels[p.slot]);
        for c in &mut chans {
            if c.status == Status::Unknown && status != Status::Unknown {
                c.status = status;
            }
        }
        chans
    }

    /// Interrupted while waiting to retry: report what is known.
    fn interrupted_before_retry(&mut self, pending: Vec<Pending>) {
        for p in pending {
            let note = Some("interrupted before a retry".to_owned());
            let o = if p.maybe_applied {
                self.end.transport_failed.get_or_insert_with(|| "interrupted before a retry".to_owned());
                let chans = self.take_channels(&p, Status::Unknown);
                finish(&p, Status::Unknown, None, note, None, chans)
            } else if let Some(e) = p.last_error.clone() {
                let chans = self.take_channels(&p, Status::Failed(Failure::Refused));
                finish(&p, Status::Failed(Failure::Refused), Some(e), None, None, chans)
            } else {
                let status = Status::Skipped(SkipReason::Interrupted);
                let chans = self.take_channels(&p, status);
                finish(&p, status, None, note, None, chans)
            };
            self.done.push((p.cmd, o));
        }
    }
}

/// The group in two halves, to be sent in order.
fn split(group: &mut Group, retries_left: u32, from_5xx: bool) -> Next {
    let mut first = std::mem::take(&mut group.pending);
    let second = first.split_off(first.len() / 2);
    let half = |pending| Group { pending, retries_left, attempt: 0, split_from_5xx: from_5xx || group.split_from_5xx };
    Next::Split(half(first), half(second))
}

fn channel_outcomes(plan: &Plan, cmd: usize) -> Vec<ChannelOutcome> {
    plan.channels(cmd)
        .into_iter()
        .map(|channel| ChannelOutcome { channel, status: Status::Unknown, error: None, result: None })
        .collect()
}

/// Records a broadcast's per-channel replies; returns a re-send covering only
/// the channels that failed with a retryable error.
fn broadcast_reply(
    plan: &Plan,
    protocol: Protocol,
    method: &crate::methods::Method,
    p: &Pending,
    result: &Json,
    chans: &mut [ChannelOutcome],
    last_try: bool,
) -> Option<Pending> {
    let Some(replies) = protocol::channel_replies(result) else {
        // v1 servers answer a broadcast with no per-channel detail.
        for &i in &p.channel_map {
            chans[i].status = Status::Ok;
        }
        return None;
    };
    let mut retry = Vec::new();
    for (&i, reply) in p.channel_map.iter().zip(replies) {
        match reply {
            Err(e) => {
                if e.retryable() && !last_try {
                    retry.push(i);
                }
                chans[i].status = Status::Failed(Failure::Refused);
                chans[i].error = Some(e);
            }
            Ok(r) => {
                chans[i].status = Status::Ok;
                chans[i].error = None;
                chans[i].result = Some(r);
            }
        }
    }
    if retry.is_empty() {
        return None;
    }
    let sent = p.encoded.as_ref().map_or_else(|| plan.encoded(p.cmd).params, |e| e.params.clone());
    let mut params: Map<String, Json> = serde_json::from_str(&sent).ok()?;
    params.insert(
        "channels".into(),
        Json::Array(retry.iter().map(|&i| Json::String(chans[i].channel.clone())).collect()),
    );
    Some(Pending {
        cmd: p.cmd,
        slot: p.slot,
        encoded: Some(protocol::encode(protocol, method.name, &params)),
        started: p.started,
        attempts: p.attempts,
        channel_map: retry,
        maybe_applied: p.maybe_applied,
        last_error: chans.iter().find_map(|c| c.error.clone()),
        failed_node: p.failed_node.clone(),
    })
}

/// A result as a value, for the checks and a broadcast's channels (the
/// server's text, parsed; it parsed once already).
fn json(result: &RawValue) -> Json {
    serde_json::from_str(result.get()).unwrap_or(Json::Null)
}

fn finish(
    p: &Pending,
    status: Status,
    error: Option<ApiError>,
    transport: Option<String>,
    result: Option<Box<RawValue>>,
    channels: Vec<ChannelOutcome>,
) -> Outcome {
    let detail = p.failed_node.as_ref().map(|(url, why)| format!("re-sent after {url} failed: {why}"));
    let details = (error.is_some() || transport.is_some() || !channels.is_empty() || detail.is_some())
        .then(|| Box::new(Details { error, transport, channels, detail, ..Details::default() }));
    Outcome {
        status,
        attempts: p.attempts,
        duration: p.started.map_or(Duration::ZERO, |s| s.elapsed()),
        node: None,
        result: result.map(Outcome::kept),
        details,
    }
}
