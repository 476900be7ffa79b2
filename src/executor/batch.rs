//! One batch in flight: send, read one reply per command, re-send only what
//! is safe and worth retrying (connection errors, timeouts, 5xx, error 100),
//! with exponential backoff and jitter — through another node when the one
//! tried failed at the transport level (same bytes, so the same idempotency
//! keys). A broadcast whose channels partly failed with error 100 is re-sent
//! to those channels only.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Map, Value as Json};
use tokio::sync::watch;

use super::events::{Event, Exchange, Listener};
use super::expect::{self, Verdict};
use super::nodes::Nodes;
use super::outcome::{ChannelOutcome, Details, Outcome, SkipReason, Status};
use super::plan::Plan;
use crate::client::{Client, Error, TransportErrorKind};
use crate::methods::Retry;
use crate::protocol::{self, ApiError, Encoded};

/// Posts encoded commands as one request, telling `listener` it went out and
/// how it was answered; returns one reply per command.
async fn send(client: &Client, cmds: &[&Encoded], listener: &dyn Listener) -> Result<Vec<protocol::Reply>, Error> {
    let body = protocol::body(client.protocol(), cmds.iter().copied());
    let methods: Vec<&str> = cmds.iter().map(|c| c.method).collect();
    listener.event(&Event::Sent { url: client.endpoint(), commands: cmds.len(), bytes: body.len() });
    let sent = client.exchange(body).await;
    listener.event(&Event::Answered(&Exchange::of(&sent, cmds.len())));
    // The executor decides retries itself (per command, with the method table).
    client.replies(&methods, sent, false)
}

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
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct BatchEnd {
    /// Transport trouble remained after the retries.
    pub transport_failed: bool,
    /// The server refused the request (HTTP 4xx).
    pub refused: bool,
    /// The server's TLS certificate is not trusted.
    pub untrusted: bool,
}

struct Pending {
    cmd: usize,
    /// Its place in the batch.
    slot: usize,
    /// The command as sent (a broadcast re-sent to some channels: those).
    encoded: Encoded,
    started: Option<Instant>,
    attempts: u32,
    /// Broadcast: index in the original channel list for each channel sent.
    channel_map: Vec<usize>,
    /// An earlier attempt may have reached the server.
    maybe_applied: bool,
    /// The retryable server error of the last attempt, if that is why it is pending.
    last_error: Option<ApiError>,
}

/// Sends `cmds` (indices into `plan`), retrying as allowed; returns each
/// command's outcome.
pub async fn run(
    nodes: &Nodes,
    plan: &Plan,
    cmds: &[usize],
    policy: RetryPolicy,
    mut interrupt: watch::Receiver<bool>,
    listener: &dyn Listener,
) -> (Vec<(usize, Outcome)>, BatchEnd) {
    let mut done: Vec<(usize, Outcome)> = Vec::with_capacity(cmds.len());
    let mut channel_state: Vec<Vec<ChannelOutcome>> = cmds.iter().map(|&c| channel_outcomes(plan, c)).collect();
    let mut pending: Vec<Pending> = cmds
        .iter()
        .zip(&channel_state)
        .enumerate()
        .map(|(slot, (&c, chans))| Pending {
            cmd: c,
            slot,
            encoded: plan.encoded(c),
            started: None,
            attempts: 0,
            channel_map: (0..chans.len()).collect(),
            maybe_applied: false,
            last_error: None,
        })
        .collect();
    let mut end = BatchEnd::default();
    let mut attempt = 0;
    loop {
        let now = Instant::now();
        for p in &mut pending {
            p.started.get_or_insert(now);
            p.attempts += 1;
        }
        let refs: Vec<&Encoded> = pending.iter().map(|p| &p.encoded).collect();
        let node = nodes.pick().await;
        let client = nodes.client(node);
        let url: Arc<str> = Arc::from(nodes.url(node));
        let mark = done.len();
        let result = send(client, &refs, listener).await;
        let last_try = attempt >= policy.retries || *interrupt.borrow();
        let mut again = Vec::new();
        match result {
            Ok(replies) => {
                for (p, reply) in pending.drain(..).zip(replies) {
                    let method = plan.method(p.cmd);
                    let steps = plan.steps(p.cmd);
                    let chans = &mut channel_state[p.slot];
                    let expected = |e: &ApiError| {
                        steps.as_ref().and_then(|s| s.expect_error.as_ref()).is_some_and(|(c, _)| e.code == Some(*c))
                    };
                    match reply {
                        Err(e) if e.retryable() && !last_try && method.retry != Retry::Unsafe && !expected(&e) => {
                            again.push(Pending { last_error: Some(e), ..p })
                        }
                        reply if steps.as_ref().is_some_and(|s| s.has_expectations()) => {
                            let steps = steps.as_ref().expect("checked");
                            let (verdict, checks) = expect::judge(steps, &reply);
                            let mut o = match (verdict, reply) {
                                (Verdict::Pass, Err(e)) => finish(&p, Status::Ok, None, None, None, Vec::new())
                                    .with_detail(format!("refused as expected: {e}")),
                                (Verdict::Pass, Ok(r)) => finish(&p, Status::Ok, None, None, Some(r), Vec::new()),
                                (Verdict::Fail(why), reply) => {
                                    let e = ApiError { code: reply.as_ref().err().and_then(|e| e.code), message: why };
                                    finish(&p, Status::Failed, Some(e), None, reply.ok(), Vec::new())
                                }
                            };
                            if !checks.is_empty() {
                                o.details_mut().checks = checks;
                            }
                            done.push((p.cmd, o));
                        }
                        Err(e) => {
                            done.push((p.cmd, finish(&p, Status::Failed, Some(e), None, None, std::mem::take(chans))))
                        }
                        Ok(result) if !chans.is_empty() => {
                            match broadcast_reply(client.protocol(), method, &p, &result, chans, last_try) {
                                Some(retry) => again.push(retry),
                                None => {
                                    let failed = chans.iter().find_map(|c| c.error.clone());
                                    let status = if failed.is_some() { Status::Failed } else { Status::Ok };
                                    done.push((
                                        p.cmd,
                                        finish(&p, status, failed, None, Some(result), std::mem::take(chans)),
                                    ));
                                }
                            }
                        }
                        Ok(result) => done.push((p.cmd, finish(&p, Status::Ok, None, None, Some(result), Vec::new()))),
                    }
                }
            }
            Err(err) => {
                let (maybe_applied, retryable, message) = match &err {
                    Error::Transport { error: t, .. } => (t.maybe_applied(), t.retryable(), t.message.clone()),
                    // A 200 answer we cannot read: the server did run the batch.
                    Error::Decode { error: d, .. } => (true, true, format!("unreadable response: {d}")),
                    other => (false, false, other.to_string()),
                };
                if retryable {
                    nodes.failed(node);
                }
                if matches!(&err, Error::Transport { error, .. } if error.kind == TransportErrorKind::Tls) {
                    // Never reached the server: a configuration problem, not an outage.
                    end.untrusted = true;
                    for p in pending.drain(..) {
                        let chans = std::mem::take(&mut channel_state[p.slot]);
                        let o = finish(&p, Status::Skipped, None, Some(message.clone()), None, chans);
                        done.push((p.cmd, Outcome { skip: Some(SkipReason::Untrusted), ..o }));
                    }
                } else if !retryable {
                    end.refused = true;
                    let e = ApiError { code: None, message };
                    for p in pending.drain(..) {
                        let chans = std::mem::take(&mut channel_state[p.slot]);
                        done.push((p.cmd, finish(&p, Status::Failed, Some(e.clone()), None, None, chans)));
                    }
                } else {
                    for mut p in pending.drain(..) {
                        p.maybe_applied |= maybe_applied;
                        p.last_error = None;
                        let safe = !p.maybe_applied || plan.method(p.cmd).retry.resend_safe(plan.idempotent(p.cmd));
                        if safe && !last_try {
                            again.push(p);
                            continue;
                        }
                        end.transport_failed = true;
                        let chans = std::mem::take(&mut channel_state[p.slot]);
                        let (status, skip) = if p.maybe_applied {
                            (Status::Unknown, None)
                        } else {
                            (Status::Skipped, Some(SkipReason::Transport))
                        };
                        let mut o = finish(&p, status, None, Some(message.clone()), None, chans);
                        o.skip = skip;
                        done.push((p.cmd, o));
                    }
                }
            }
        }
        for (_, o) in &mut done[mark..] {
            o.node = Some(url.clone());
        }
        if again.is_empty() {
            break;
        }
        pending = again;
        let delay = policy.delay(attempt);
        attempt += 1;
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = interrupt.wait_for(|&v| v) => {
                // Interrupted while waiting to retry: report what is known.
                for p in pending.drain(..) {
                    let chans = std::mem::take(&mut channel_state[p.slot]);
                    let note = Some("interrupted before a retry".to_owned());
                    let o = if p.maybe_applied {
                        end.transport_failed = true;
                        finish(&p, Status::Unknown, None, note, None, chans)
                    } else if let Some(e) = p.last_error.clone() {
                        finish(&p, Status::Failed, Some(e), None, None, chans)
                    } else {
                        Outcome { skip: Some(SkipReason::Interrupted), ..finish(&p, Status::Skipped, None, note, None, chans) }
                    };
                    done.push((p.cmd, o));
                }
                break;
            }
        }
    }
    (done, end)
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
    protocol: protocol::Protocol,
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
                chans[i].status = Status::Failed;
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
    let mut params: Map<String, Json> = serde_json::from_str(&p.encoded.params).ok()?;
    params.insert(
        "channels".into(),
        Json::Array(retry.iter().map(|&i| Json::String(chans[i].channel.clone())).collect()),
    );
    Some(Pending {
        cmd: p.cmd,
        slot: p.slot,
        encoded: protocol::encode(protocol, method.name, &params),
        started: p.started,
        attempts: p.attempts,
        channel_map: retry,
        maybe_applied: p.maybe_applied,
        last_error: chans.iter().find_map(|c| c.error.clone()),
    })
}

fn finish(
    p: &Pending,
    status: Status,
    error: Option<ApiError>,
    transport: Option<String>,
    result: Option<Json>,
    channels: Vec<ChannelOutcome>,
) -> Outcome {
    let details = (error.is_some() || transport.is_some() || !channels.is_empty())
        .then(|| Box::new(Details { error, transport, channels, ..Details::default() }));
    Outcome {
        status,
        skip: None,
        attempts: p.attempts,
        duration: p.started.map_or(Duration::ZERO, |s| s.elapsed()),
        node: None,
        result: result.and_then(|r| serde_json::value::to_raw_value(&r).ok()),
        details,
    }
}
