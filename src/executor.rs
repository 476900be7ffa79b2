//! The engine: a validated manifest's commands in, one outcome per command
//! out, as typed [`Event`]s to a [`Listener`]. Only this module (through
//! [`Client`]) touches the network.
//!
//! Commands sharing a target run in manifest order (one lane); lanes run
//! concurrently up to `concurrency` requests in flight; consecutive commands
//! of a lane share a batch. Publish/broadcast get an idempotency key derived
//! from the run id, their position and their content, so a re-send after an
//! unknown outcome is not applied twice and an edited command is not taken
//! for the old one.

mod batch;
pub(crate) mod events;
pub(crate) mod expect;
pub(crate) mod lanes;
pub(crate) mod listen;
pub(crate) mod nodes;
pub(crate) mod outcome;
pub(crate) mod plan;
mod run;
pub(crate) mod state;

use std::time::Duration;

pub use batch::RetryPolicy;
pub use events::{Event, Exchange, Fanout, Listener, Recorder};
pub use expect::CheckOutcome;
use lanes::{BatchLimits, Packer};
pub(crate) use nodes::{NodeFailure, Nodes};
pub use outcome::{ChannelOutcome, Failure, Outcome, SkipReason, Status, Summary};
pub(crate) use plan::Plan;
pub(crate) use run::execute;
pub(crate) use state::State;

#[cfg(test)]
use crate::manifest::Command;
#[cfg(test)]
use crate::protocol::Protocol;

/// How to run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Requests in flight at once (1: every command in manifest order).
    pub concurrency: usize,
    /// Most commands per request.
    pub batch_size: usize,
    /// Largest request body in bytes (one command larger is sent alone).
    pub max_batch_bytes: usize,
    /// When and how often a request is sent again.
    pub retry: RetryPolicy,
    /// Commands per second.
    pub rate: Option<f64>,
    /// Stop sending after the first failed command.
    pub fail_fast: bool,
    /// Send idempotency keys with publish and broadcast (where the protocol has them).
    pub idempotency: bool,
    /// The run id derived idempotency keys start with (e.g. a CI pipeline id).
    pub run_id: String,
    /// How long in-flight requests may still answer after Ctrl-C.
    pub grace: Duration,
    /// Run only part I of N (0-based), cut by lanes: a lane is never split.
    pub shard: Option<(usize, usize)>,
}

impl Default for RunOptions {
    fn default() -> Self {
        use crate::settings::{Key, value::default_int};
        RunOptions {
            concurrency: default_int(Key::Concurrency) as usize,
            batch_size: default_int(Key::BatchSize) as usize,
            max_batch_bytes: default_int(Key::MaxBatchBytes) as usize,
            retry: RetryPolicy {
                retries: default_int(Key::Retries) as u32,
                base: Duration::from_millis(200),
                max: Duration::from_secs(5),
            },
            rate: None,
            fail_fast: false,
            idempotency: true,
            run_id: new_run_id(),
            grace: Duration::from_secs(2),
            shard: None,
        }
    }
}

impl RunOptions {
    /// Each value within its range (the limits the `cent-run` flags have).
    pub fn check(&self) -> Result<(), String> {
        use crate::settings::{Key, table::def};
        let ints = [
            (Key::Concurrency, "concurrency", self.concurrency),
            (Key::BatchSize, "batch_size", self.batch_size),
            (Key::MaxBatchBytes, "max_batch_bytes", self.max_batch_bytes),
        ];
        for (key, name, n) in ints {
            def(key).check_int(n as u64).map_err(|e| format!("{name} {e}"))?;
        }
        def(Key::Retries).check_int(u64::from(self.retry.retries)).map_err(|e| format!("retry.retries {e}"))?;
        if self.retry.base > self.retry.max {
            return Err(format!("retry.base ({:?}) is longer than retry.max ({:?})", self.retry.base, self.retry.max));
        }
        if let Some(rate) = self.rate
            && !(rate > 0.0 && rate.is_finite())
        {
            return Err(format!("rate must be a positive number of commands per second, found {rate}"));
        }
        if let Some((part, parts)) = self.shard
            && (parts == 0 || part >= parts)
        {
            return Err(format!(
                "shard ({part}, {parts}) must be a part from 0 to {} of {parts}",
                parts.saturating_sub(1)
            ));
        }
        if self.run_id.is_empty() || self.run_id.chars().any(char::is_control) {
            return Err("run_id must be non-empty, without control characters".into());
        }
        Ok(())
    }
}

/// A fresh run id: time and process id, hex.
pub(crate) fn new_run_id() -> String {
    let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    format!("{:x}{:04x}", t / 1000, std::process::id() & 0xffff)
}

/// The idempotency key cent-run adds to a command that has none: the run
/// id, a digest of the command's content and its occurrence among equal
/// commands — its identity, the one `--state` records — so an unchanged
/// re-run under the same run id is not applied twice, an edited command is
/// published, and inserting or moving other commands changes no key.
pub(crate) fn idempotency_key(run_id: &str, fingerprint: &str, occurrence: usize) -> String {
    format!("cent-run-{run_id}-{}-{occurrence}", &fingerprint[..fingerprint.len().min(KEY_DIGEST)])
}

/// Hex digits of the fingerprint a derived key carries.
const KEY_DIGEST: usize = 12;

/// The length of [`idempotency_key`]'s key, without making it (and hashing
/// the command): what a batch's byte budget counts.
pub(crate) fn idempotency_key_len(run_id: &str, occurrence: usize) -> usize {
    let digits = occurrence.checked_ilog10().unwrap_or(0) as usize + 1;
    "cent-run-".len() + run_id.len() + 1 + KEY_DIGEST + 1 + digits
}

/// Batches as a run would cut them if every request finished in order
/// (what `plan` shows).
/// Steps run separately (a `wait`, an `until`) are one-command groups with
/// no request.
pub(crate) fn plan_batches(plan: &Plan, opts: &RunOptions) -> Vec<Vec<usize>> {
    let mut out = Vec::new();
    for seg in run::segments(plan) {
        let todo: Vec<usize> = seg.collect();
        let mut packer = packer(plan, &todo, opts);
        let limits = limits(opts);
        let size = |i: usize| plan.size(i);
        while let Some((b, used)) = packer.next(limits, &size) {
            packer.release(&used);
            out.push(b);
        }
    }
    out
}

/// Lanes over the commands `todo` (indices into the plan), ready to pack.
/// With one request at a time everything is one lane: every command is
/// applied in manifest order, whatever its target (SPEC §5).
pub(crate) fn packer(plan: &Plan, todo: &[usize], opts: &RunOptions) -> Packer {
    if opts.concurrency <= 1 {
        return Packer::new(lanes::Lanes::one(todo));
    }
    Packer::new(lanes::lanes(todo, |i, out| lanes::keys(plan.command(i), false, out)))
}

/// A command's share of a request body: its params plus the method wrapper.
pub(crate) fn command_size(params_len: usize) -> usize {
    params_len + 32
}

pub(crate) fn limits(opts: &RunOptions) -> BatchLimits {
    let mut max_commands = opts.batch_size.max(1);
    if let Some(rate) = opts.rate {
        // Requests of at most a tenth of a second's worth, paced evenly, so
        // no one-second window holds more than `rate` commands.
        max_commands = max_commands.min((rate / 10.0).ceil().max(1.0) as usize);
    }
    BatchLimits { max_commands, max_bytes: opts.max_batch_bytes }
}

/// How a run ended.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RunEnd {
    /// Ctrl-C stopped it.
    pub interrupted: bool,
    /// How long it took.
    pub duration: Duration,
}

#[cfg(test)]
mod tests {
    use std::future::Future;
    use std::pin::Pin;
    use std::sync::{Arc, Mutex};

    use tokio::sync::watch;

    use super::*;
    use crate::client::{
        Client, ClientConfig, HttpRequest, HttpResponse, Transport, TransportError, TransportErrorKind,
    };

    /// Answers from a script, one entry per request, and records bodies.
    struct Scripted {
        answers: Mutex<Vec<Result<HttpResponse, TransportError>>>,
        bodies: Mutex<Vec<String>>,
    }

    impl Transport for Scripted {
        fn post<'a>(
            &'a self,
            req: &'a HttpRequest,
        ) -> Pin<Box<dyn Future<Output = Result<HttpResponse, TransportError>> + Send + 'a>> {
            self.bodies.lock().unwrap().push(String::from_utf8_lossy(&req.body).into_owned());
            let answer = self.answers.lock().unwrap().remove(0);
            Box::pin(async move { answer })
        }
    }

    fn ok(body: &str) -> Result<HttpResponse, TransportError> {
        Ok(HttpResponse { status: 200, body: body.as_bytes().to_vec(), location: None })
    }

    fn commands(text: &str, protocol: Protocol) -> Arc<Vec<Command>> {
        let opts = crate::manifest::LoadOptions { protocol: Some(protocol), ..Default::default() };
        crate::manifest::load_text("t.yaml", text, &opts).unwrap().commands
    }

    fn run(
        text: &str,
        protocol: Protocol,
        answers: Vec<Result<HttpResponse, TransportError>>,
    ) -> (Vec<Outcome>, Vec<String>) {
        run_with(text, protocol, answers, true)
    }

    fn run_with(
        text: &str,
        protocol: Protocol,
        answers: Vec<Result<HttpResponse, TransportError>>,
        idempotency: bool,
    ) -> (Vec<Outcome>, Vec<String>) {
        let t = Arc::new(Scripted { answers: Mutex::new(answers), bodies: Mutex::new(Vec::new()) });
        let mut config = ClientConfig::api("http://h", "k");
        config.protocol = protocol;
        let client = Client::with_transport(config, t.clone()).unwrap();
        let opts = RunOptions {
            run_id: "r1".into(),
            retry: RetryPolicy { retries: 3, base: Duration::from_millis(1), max: Duration::from_millis(2) },
            ..RunOptions::default()
        };
        let plan = Arc::new(Plan::new(commands(text, protocol), protocol, &opts.run_id, idempotency));
        let (_tx, rx) = watch::channel(false);
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let recorder = Arc::new(Recorder::new(plan.commands()));
        let nodes = Arc::new(Nodes::one(client, "http://h"));
        rt.block_on(execute(nodes, plan, &opts, &|_| None, None, rx, recorder.clone()));
        let bodies = t.bodies.lock().unwrap().clone();
        let outcomes = recorder.take();
        (outcomes, bodies)
    }

    #[test]
    fn concurrency_one_applies_every_command_in_manifest_order() {
        let cmds = commands(
            "commands:\n  - disconnect: {user: a}\n  - publish: {channel: x, data: 1}\n  - disconnect: {user: b}\n  - history: {channel: x, limit: 1}\n  - presence: {channel: y}\n  - disconnect: {user: a}\n",
            Protocol::Api,
        );
        let plan = Plan::new(cmds, Protocol::Api, "r", true);
        let order = |concurrency, batch_size| {
            let opts = RunOptions { concurrency, batch_size, ..RunOptions::default() };
            plan_batches(&plan, &opts).concat()
        };
        assert_eq!(order(1, 100), [0, 1, 2, 3, 4, 5]);
        assert_eq!(order(1, 2), [0, 1, 2, 3, 4, 5]);
        // With several requests in flight, lanes may be packed out of manifest order.
        assert_ne!(order(4, 100), [0, 1, 2, 3, 4, 5]);
    }

    #[test]
    fn broadcast_retries_resend_only_the_channels_that_failed_with_error_100() {
        let (outcomes, bodies) = run(
            "commands:\n  - broadcast: {channels: [a, b, c], data: 1}\n",
            Protocol::Api,
            vec![
                ok(
                    r#"{"replies":[{"broadcast":{"responses":[{"result":{}},{"error":{"code":100,"message":"internal server error"}},{"error":{"code":102,"message":"unknown channel"}}]}}]}"#,
                ),
                ok(r#"{"replies":[{"broadcast":{"responses":[{"result":{"offset":3}}]}}]}"#),
            ],
        );
        assert_eq!(bodies.len(), 2);
        assert!(bodies[1].contains(r#""channels":["b"]"#), "{}", bodies[1]);
        let key = |b: &str| b.split("idempotency_key").nth(1).map(str::to_owned);
        assert!(key(&bodies[0]).unwrap().starts_with(r#"":"cent-run-r1-"#), "{}", bodies[0]);
        assert!(key(&bodies[0]).unwrap().ends_with(r#"-0"}}],"parallel":false}"#), "{}", bodies[0]);
        assert_eq!(key(&bodies[0]), key(&bodies[1]), "same key on the re-send");
        let o = &outcomes[0];
        assert_eq!(o.status, Status::Failed(Failure::Refused), "channel c stays failed (102 is not retried)");
        assert_eq!(o.attempts, 2);
        let st: Vec<Status> = o.channels().iter().map(|c| c.status).collect();
        assert_eq!(st, [Status::Ok, Status::Ok, Status::Failed(Failure::Refused)]);
    }

    #[test]
    fn without_idempotency_an_unknown_publish_is_not_resent_but_reads_are() {
        let broken = Err(TransportError { kind: TransportErrorKind::Broken, message: "connection reset".into() });
        let (outcomes, bodies) = run(
            "commands:\n  - publish: {channel: a, data: 1}\n  - history: {channel: b, limit: 1}\n",
            Protocol::Legacy,
            vec![broken, ok(r#"{"result":{"publications":[],"epoch":"e","offset":0}}"#)],
        );
        assert_eq!(outcomes[0].status, Status::Unknown);
        assert_eq!(outcomes[0].attempts, 1);
        assert_eq!(outcomes[1].status, Status::Ok);
        assert_eq!(bodies.len(), 2);
        assert!(!bodies[1].contains("publish"), "the publish is not re-sent: {}", bodies[1]);
    }

    #[test]
    fn with_no_idempotency_an_unknown_publish_is_not_resent_on_the_api_protocol_either() {
        let broken = || Err(TransportError { kind: TransportErrorKind::Broken, message: "connection reset".into() });
        let text = "commands:\n  - publish: {channel: a, data: 1}\n  - history: {channel: b, limit: 1}\n";
        let history = r#"{"replies":[{"history":{"publications":[],"epoch":"e","offset":0}}]}"#;
        let (outcomes, bodies) = run_with(text, Protocol::Api, vec![broken(), ok(history)], false);
        assert_eq!((outcomes[0].status, outcomes[0].attempts), (Status::Unknown, 1));
        assert_eq!(outcomes[1].status, Status::Ok);
        assert_eq!(bodies.len(), 2);
        assert!(!bodies[0].contains("idempotency_key") && !bodies[1].contains("publish"), "{bodies:?}");
        // With keys, the same lost answer is re-sent under the same key.
        let published =
            r#"{"replies":[{"publish":{"offset":1}},{"history":{"publications":[],"epoch":"e","offset":1}}]}"#;
        let (outcomes, bodies) = run_with(text, Protocol::Api, vec![broken(), ok(published)], true);
        assert_eq!((outcomes[0].status, outcomes[0].attempts), (Status::Ok, 2));
        assert!(bodies[1].contains("idempotency_key"));
    }

    #[test]
    fn connection_refused_is_retried_for_anything_and_then_skipped() {
        let refused = || Err(TransportError { kind: TransportErrorKind::Connect, message: "refused".into() });
        let (outcomes, bodies) =
            run("commands:\n  - rpc: {method: m}\n", Protocol::Api, vec![refused(), refused(), refused(), refused()]);
        assert_eq!(bodies.len(), 4, "never reached the server, so even rpc is retried");
        assert_eq!(outcomes[0].status, Status::Skipped(SkipReason::Transport));
    }

    #[test]
    fn idempotency_keys_are_derived_from_run_id_position_and_content_unless_given() {
        let text = "commands:\n  - publish: {channel: a, data: 1}\n  - publish: {channel: a, data: 2, idempotency_key: mine}\n  - history: {channel: a, limit: 1}\n  - broadcast: {channels: [a, \"b\\\"c\"], data: \"idempotency_key\"}\n";
        let cmds = commands(text, Protocol::Api);
        let p = Plan::new(cmds.clone(), Protocol::Api, "ci-42", true);
        let params = |p: &Plan, i| p.encoded(i).params.into_string();
        let want = format!(r#""idempotency_key":"cent-run-ci-42-{}-0""#, &p.fingerprint(0)[..12]);
        assert!(params(&p, 0).contains(&want), "{}", params(&p, 0));
        assert!(params(&p, 1).ends_with(r#""idempotency_key":"mine"}"#), "{}", params(&p, 1));
        assert!(!params(&p, 2).contains("idempotency_key"));
        // A key's name inside the data is not the command's key.
        assert!(params(&p, 3).contains(r#""idempotency_key":"cent-run-ci-42-"#), "{}", params(&p, 3));
        assert_eq!(p.channels(3), ["a", "b\"c"]);
        assert_eq!((0..4).map(|i| p.idempotent(i)).collect::<Vec<_>>(), [true, true, false, true]);
        // A command's size in the byte budget is its size as sent.
        for i in 0..4 {
            assert_eq!(p.size(i), command_size(params(&p, i).len()), "command {i}");
        }
        let legacy = Plan::new(cmds.clone(), Protocol::Legacy, "ci-42", true);
        assert!(!params(&legacy, 0).contains("idempotency_key"));
        assert!(!legacy.idempotent(1), "v2-v4 servers ignore keys");
        assert_eq!(p.fingerprint(0), legacy.fingerprint(0), "fingerprints ignore the derived key");
        // An edited command gets another key under the same run id.
        let edited =
            Plan::new(commands(&text.replace("data: 1}", "data: 10}"), Protocol::Api), Protocol::Api, "ci-42", true);
        assert_ne!(params(&edited, 0), params(&p, 0));
        assert!(params(&edited, 0).contains(r#""idempotency_key":"cent-run-ci-42-"#));
        // Without idempotency no key is derived; the manifest's own stays.
        let bare = Plan::new(cmds, Protocol::Api, "ci-42", false);
        assert!(!params(&bare, 0).contains("idempotency_key") && !bare.idempotent(0));
        assert!(params(&bare, 1).contains(r#""idempotency_key":"mine""#) && bare.idempotent(1));
    }
}
