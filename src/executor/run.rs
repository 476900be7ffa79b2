//! The run loop. The commands are cut into segments at barriers — a `wait`
//! step, an `until` command, a command using a name saved before it — and
//! each segment runs as lanes and batches, concurrently up to the limit;
//! the next starts when every command of the one before has its outcome.
//! Saved values are taken from results as they come and filled into the
//! commands that use them when their segment starts.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value as Json;
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::batch::{self, BatchEnd};
use super::events::{Event, Listener};
use super::listen::{ListenSetup, Listeners};
use super::nodes::Nodes;
use super::outcome::{Failure, Outcome, SkipReason, Status};
use super::plan::Plan;
use super::{RunEnd, RunOptions, limits, packer};
use crate::manifest::{Command, steps};

/// A finished batch: outcomes, how it ended, and the lanes it held.
type BatchDone = (Vec<(usize, Outcome)>, BatchEnd, Vec<usize>);

/// A saved name's value, or why there is none.
type SavedValue = Result<Json, String>;

struct Runner<'a> {
    nodes: Arc<Nodes>,
    plan: Arc<Plan>,
    opts: &'a RunOptions,
    listener: Arc<dyn Listener>,
    interrupt: watch::Receiver<bool>,
    reported: Vec<bool>,
    /// Why the run stops sending, and the transport trouble that stopped it.
    stop: Option<(SkipReason, Option<String>)>,
    interrupted: bool,
    saved: HashMap<String, SavedValue>,
    /// In the `finally:` commands: `--fail-fast` no longer stops, and the
    /// task that ends them [`FINALLY_GRACE`] after a signal.
    finally: Option<tokio::task::JoinHandle<()>>,
    /// The client connections `listen:` steps opened.
    listeners: Listeners,
}

/// How long `finally:` commands may still run after SIGINT or SIGTERM.
pub(crate) const FINALLY_GRACE: Duration = Duration::from_secs(10);

/// Runs every command, telling `listener` what happens; `settled` gives
/// the outcome of a command decided before the run (applied by an earlier
/// run, left out by `--tags`); `interrupt` turning true stops dispatching
/// (Ctrl-C) — the `finally:` commands still run, for at most
/// [`FINALLY_GRACE`] more.
pub(crate) async fn execute(
    nodes: Arc<Nodes>,
    plan: Arc<Plan>,
    opts: &RunOptions,
    settled: &(dyn Fn(&Command) -> Option<Outcome> + Sync),
    listen: Option<ListenSetup>,
    interrupt: watch::Receiver<bool>,
    listener: Arc<dyn Listener>,
) -> RunEnd {
    let started = Instant::now();
    let n = plan.len();
    let mut r = Runner {
        nodes,
        plan,
        opts,
        listener,
        interrupt,
        reported: vec![false; n],
        stop: None,
        interrupted: false,
        saved: HashMap::new(),
        finally: None,
        listeners: Listeners::new(listen),
    };
    for seg in segments(&r.plan) {
        if r.finally.is_none() && r.plan.command(seg.start).finally {
            r.enter_finally();
        }
        if *r.interrupt.borrow() && !r.interrupted {
            r.interrupted = true;
            r.stop.get_or_insert((SkipReason::Interrupted, None));
        }
        let todo: Vec<usize> = seg
            .filter(|&i| match settled(r.plan.command(i)) {
                Some(o) => {
                    let why = match o.status {
                        Status::Skipped(SkipReason::AlreadyApplied) => "was applied by an earlier run (state file)",
                        _ => "was not selected to run",
                    };
                    r.report(i, &o);
                    r.unsave(i, why);
                    false
                }
                None => true,
            })
            .collect();
        if let Some(skipped) = r.stopped() {
            for i in todo {
                r.report(i, &skipped);
            }
            continue;
        }
        match todo.first().map(|&i| r.plan.steps(i)) {
            Some(_) if r.plan.command(todo[0]).is_listen() => r.listen(todo[0]).await,
            Some(Some(s)) if s.wait.is_some() => r.wait(todo[0], s.wait.unwrap_or_default()).await,
            Some(Some(s)) if s.until.is_some() => r.until(todo[0]).await,
            Some(Some(s)) if s.delivered.is_some() => r.deliver(todo[0]).await,
            Some(_) => r.segment(todo).await,
            None => {}
        }
    }
    r.listeners.close().await;
    r.finish(started)
}

/// Where the commands are cut: before and after every `wait` and `until`,
/// and before a command using saved names (unless the one before it is of
/// the same list item and uses them too).
pub(crate) fn segments(plan: &Plan) -> impl Iterator<Item = std::ops::Range<usize>> + use<> {
    // A step, a repeat, and a command whose delivery is awaited, each run alone.
    let barrier = |c: &Command| {
        c.is_listen() || c.steps().is_some_and(|s| s.wait.is_some() || s.until.is_some() || s.delivered.is_some())
    };
    let uses = |c: &Command| c.steps().is_some_and(|s| !s.uses.is_empty());
    let cmds = plan.commands();
    let mut cuts = vec![0];
    for i in 1..cmds.len() {
        let (a, b) = (&cmds[i - 1], &cmds[i]);
        let same_item = (a.manifest, a.offset) == (b.manifest, b.offset);
        // `finally:` starts a segment of its own: it runs after everything else.
        if barrier(a) || barrier(b) || (uses(b) && !(uses(a) && same_item)) || a.finally != b.finally {
            cuts.push(i);
        }
    }
    cuts.push(cmds.len());
    cuts.dedup();
    cuts.windows(2).map(|w| w[0]..w[1]).collect::<Vec<_>>().into_iter()
}

impl Runner<'_> {
    fn report(&mut self, i: usize, o: &Outcome) {
        self.reported[i] = true;
        self.listener.event(&Event::Outcome { command: self.plan.command(i), outcome: o });
        self.save(i, o);
    }

    /// Takes the values a command saves from its result.
    fn save(&mut self, i: usize, o: &Outcome) {
        let Some(steps) = self.plan.steps(i).filter(|s| !s.save.is_empty()) else { return };
        let result = o.result_json();
        for (name, path) in &steps.save {
            let n = self.plan.command(i).index();
            let value = match (&o.status, &result) {
                (Status::Ok, Some(result)) => match path.find(result) {
                    Some(v) => Ok(v.clone()),
                    None => Err(format!("the result of command #{n} has no `{path}`")),
                },
                (Status::Ok, None) => Err(format!("command #{n} has no result")),
                (Status::Failed(_), _) => Err(format!("command #{n} failed")),
                (Status::Unknown, _) => Err(format!("command #{n} got no answer")),
                (Status::Skipped(_), _) => Err(format!("command #{n} was not sent")),
            };
            self.saved.insert(name.clone(), value);
        }
    }

    fn unsave(&mut self, i: usize, why: &str) {
        let n = self.plan.command(i).index();
        if let Some(steps) = self.plan.steps(i) {
            for (name, _) in &steps.save {
                self.saved.insert(name.clone(), Err(format!("command #{n} {why}")));
            }
        }
    }

    /// Fills saved values into a command that uses them; `Err` names the
    /// one that has no value.
    fn fill(&mut self, i: usize) -> Result<(), String> {
        let Some(steps) = self.plan.command(i).steps().cloned().filter(|s| !s.uses.is_empty()) else { return Ok(()) };
        let mut values = HashMap::new();
        for name in &steps.uses {
            match self.saved.get(name) {
                Some(Ok(v)) => {
                    values.insert(name.clone(), v.clone());
                }
                Some(Err(why)) => return Err(format!("`${{{name}}}` has no value ({why})")),
                None => return Err(format!("`${{{name}}}` was never saved")),
            }
        }
        let mut params: serde_json::Map<String, Json> = self.plan.command(i).params_map();
        for v in params.values_mut() {
            steps::substitute(v, &values);
        }
        let mut filled = (*steps).clone();
        for c in &mut filled.expect {
            for w in c.cond.wanted_mut() {
                steps::substitute(w, &values);
            }
        }
        self.plan.fill(i, serde_json::to_string(&params).expect("a JSON map serialises"), filled);
        Ok(())
    }

    /// The outcome of a command the run stopped before sending, if it has
    /// stopped: every command the trouble kept back says what it was — one
    /// cause, however many commands.
    fn stopped(&self) -> Option<Outcome> {
        self.stop.as_ref().map(|(reason, transport)| match transport {
            Some(t) => Outcome::skipped(*reason).with_transport(t.clone()),
            None => Outcome::skipped(*reason),
        })
    }

    /// The `finally:` commands start: whatever stopped the run before does
    /// not stop them; a signal (before or now) ends them [`FINALLY_GRACE`]
    /// after it came.
    fn enter_finally(&mut self) {
        self.stop = None;
        let (tx, rx) = watch::channel(false);
        let mut signal = self.interrupt.clone();
        self.interrupt = rx;
        self.finally = Some(tokio::spawn(async move {
            if signal.wait_for(|&v| v).await.is_ok() {
                tokio::time::sleep(FINALLY_GRACE).await;
                let _ = tx.send(true);
            }
            // Held until the run ends: a dropped sender would read as a signal.
            std::future::pending::<()>().await;
        }));
    }

    fn stop_after(&mut self, o: &Outcome, end: &BatchEnd) {
        if self.opts.fail_fast && o.status.is_failed() && self.finally.is_none() {
            self.stop.get_or_insert((SkipReason::FailFast, None));
        }
        if end.configuration.is_some() {
            self.stop.get_or_insert((SkipReason::Configuration, None));
        }
        if let Some(t) = &end.transport_failed {
            self.stop.get_or_insert_with(|| (SkipReason::Transport, Some(t.clone())));
        }
        if let Some(t) = &end.untrusted {
            self.stop.get_or_insert_with(|| (SkipReason::Untrusted, Some(t.clone())));
        }
    }

    /// A `wait` step: every earlier command has its outcome; pause (Ctrl-C
    /// ends it at once).
    async fn wait(&mut self, i: usize, pause: Duration) {
        let started = Instant::now();
        let mut rx = self.interrupt.clone();
        tokio::select! {
            _ = tokio::time::sleep(pause) => {
                let o = Outcome { duration: started.elapsed(), ..Outcome::with_status(Status::Ok) };
                self.report(i, &o);
            }
            _ = rx.wait_for(|&v| v) => {
                self.interrupted = true;
                self.stop.get_or_insert((SkipReason::Interrupted, None));
                let o = Outcome { duration: started.elapsed(), ..Outcome::skipped(SkipReason::Interrupted) };
                self.report(i, &o.with_detail(format!("interrupted after {:.1}s of the pause", started.elapsed().as_secs_f64())));
            }
        }
        self.listener.event(&Event::BatchDone);
    }

    /// A `listen:` step: a client connected and subscribed before anything
    /// after it starts.
    async fn listen(&mut self, i: usize) {
        let started = Instant::now();
        let o = match self.listeners.listen(self.plan.command(i)).await {
            Ok(result) => Outcome {
                duration: started.elapsed(),
                result: serde_json::value::to_raw_value(&result).ok().map(Outcome::kept),
                ..Outcome::with_status(Status::Ok)
            },
            Err(why) => {
                Outcome { duration: started.elapsed(), ..Outcome::with_status(Status::Failed(Failure::Refused)) }
                    .with_error(crate::protocol::ApiError { code: None, message: why })
            }
        };
        self.report(i, &o);
        self.listener.event(&Event::BatchDone);
    }

    /// A command with `delivered: {within}`: sent alone, then its effect
    /// awaited at the listeners that can hear it.
    async fn deliver(&mut self, i: usize) {
        if let Err(why) = self.fill(i) {
            self.report(i, &Outcome::skipped(SkipReason::NotSaved).with_detail(why));
            return;
        }
        let marks = self.listeners.marks();
        let sent = Instant::now();
        let (mut done, end) =
            batch::run(&self.nodes, &self.plan, &[i], self.opts.retry, self.interrupt.clone(), &*self.listener).await;
        let (_, mut o) = done.pop().expect("one outcome per command");
        if o.status == Status::Ok {
            let delivered = self.plan.steps(i).and_then(|s| s.delivered).expect("a delivered command");
            let result = o.result_json();
            let check = self.listeners.delivered(self.plan.command(i), result.as_ref(), delivered, sent, &marks).await;
            if !check.ok {
                o.status = Status::Failed(Failure::Expectation);
            }
            o.details_mut().checks.push(check);
        }
        self.stop_after(&o, &end);
        self.report(i, &o);
        self.listener.event(&Event::BatchDone);
    }

    /// An `until` command: sent again every `every` until its checks hold,
    /// for at most `timeout`.
    async fn until(&mut self, i: usize) {
        if let Err(why) = self.fill(i) {
            self.report(i, &Outcome::skipped(SkipReason::NotSaved).with_detail(why));
            return;
        }
        let until = self.plan.steps(i).and_then(|s| s.until).expect("an until command");
        let started = Instant::now();
        let mut attempts = 0;
        loop {
            let (mut done, end) =
                batch::run(&self.nodes, &self.plan, &[i], self.opts.retry, self.interrupt.clone(), &*self.listener)
                    .await;
            let (_, mut o) = done.pop().expect("one outcome per command");
            attempts += o.attempts;
            o.attempts = attempts;
            o.duration = started.elapsed();
            let checks_failed = o.status == Status::Failed(Failure::Expectation) && o.checks().iter().any(|c| !c.ok);
            let time_left = until.timeout.saturating_sub(started.elapsed());
            let interrupted = *self.interrupt.borrow();
            if !checks_failed || time_left.is_zero() || interrupted {
                if checks_failed {
                    let last = o.failed_check().map(|c| c.describe()).unwrap_or_default();
                    let took = started.elapsed().as_secs_f64();
                    let why = if interrupted {
                        self.interrupted = true;
                        self.stop.get_or_insert((SkipReason::Interrupted, None));
                        format!("interrupted after {took:.1}s of `until`, the checks not yet holding: {last}")
                    } else {
                        format!("until gave up after {took:.1}s: {last}")
                    };
                    o = o.with_detail(why);
                }
                self.stop_after(&o, &end);
                self.report(i, &o);
                self.listener.event(&Event::BatchDone);
                return;
            }
            let mut rx = self.interrupt.clone();
            tokio::select! {
                _ = tokio::time::sleep(until.every.min(time_left)) => {}
                _ = rx.wait_for(|&v| v) => {}
            }
        }
    }

    /// One segment: lanes and batches, concurrently up to the limit.
    async fn segment(&mut self, mut todo: Vec<usize>) {
        todo.retain(|&i| match self.fill(i) {
            Ok(()) => true,
            Err(why) => {
                self.report(i, &Outcome::skipped(SkipReason::NotSaved).with_detail(why));
                false
            }
        });
        let plan = self.plan.clone();
        let mut packer = packer(&plan, &todo, self.opts);
        drop(todo);
        let limits = limits(self.opts);
        let size = |i: usize| plan.size(i);
        let mut in_flight: JoinSet<BatchDone> = JoinSet::new();
        let mut next_send = Instant::now();
        let mut int_rx = self.interrupt.clone();
        loop {
            if *int_rx.borrow() && !self.interrupted {
                self.interrupted = true;
                self.stop.get_or_insert((SkipReason::Interrupted, None));
            }
            while self.stop.is_none() && in_flight.len() < self.opts.concurrency.max(1) {
                let Some((cmds, used)) = packer.next(limits, &size) else { break };
                if let Some(rate) = self.opts.rate {
                    let now = Instant::now();
                    if next_send > now {
                        tokio::select! {
                            _ = tokio::time::sleep_until(next_send.into()) => {}
                            _ = int_rx.wait_for(|&v| v) => {}
                        }
                    }
                    next_send = next_send.max(now) + Duration::from_secs_f64(cmds.len() as f64 / rate);
                    if *int_rx.borrow() {
                        self.interrupted = true;
                        self.stop = Some((SkipReason::Interrupted, None));
                        for c in cmds {
                            self.report(c, &Outcome::skipped(SkipReason::Interrupted));
                        }
                        break;
                    }
                }
                let nodes = self.nodes.clone();
                let plan = plan.clone();
                let policy = self.opts.retry;
                let rx = self.interrupt.clone();
                let listener = self.listener.clone();
                in_flight.spawn(async move {
                    let (done, end) = batch::run(&nodes, &plan, &cmds, policy, rx, &*listener).await;
                    (done, end, used)
                });
            }
            if in_flight.is_empty() {
                break;
            }
            let joined = if self.interrupted {
                match tokio::time::timeout(self.opts.grace, in_flight.join_next()).await {
                    Ok(j) => j,
                    Err(_) => break,
                }
            } else {
                tokio::select! {
                    j = in_flight.join_next() => j,
                    _ = int_rx.wait_for(|&v| v) => continue,
                }
            };
            let Some(joined) = joined else { break };
            let Ok((done, end, used)) = joined else { continue };
            packer.release(&used);
            for (i, o) in done {
                self.stop_after(&o, &end);
                self.report(i, &o);
            }
            self.listener.event(&Event::BatchDone);
        }
        // Batches still in flight after the grace period: sent, no answer.
        in_flight.abort_all();
        let skipped = self.stopped().unwrap_or_else(|| Outcome::skipped(SkipReason::Interrupted));
        for i in packer.drain() {
            if !self.reported[i] {
                self.report(i, &skipped);
            }
        }
    }

    fn finish(mut self, started: Instant) -> RunEnd {
        if let Some(task) = self.finally.take() {
            task.abort();
        }
        let lost = Outcome { attempts: 1, ..Outcome::with_status(Status::Unknown) }
            .with_transport("no answer before the run stopped");
        for i in 0..self.reported.len() {
            if !self.reported[i] {
                self.report(i, &lost);
            }
        }
        let end = RunEnd { interrupted: self.interrupted, duration: started.elapsed() };
        self.listener.event(&Event::End { interrupted: self.interrupted, duration: end.duration });
        end
    }
}
