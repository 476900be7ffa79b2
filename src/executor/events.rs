//! Typed run events: the executor says what happened — a request sent, its
//! answer, a command's outcome, a batch done, the run's end — and listeners
//! (the progress bar, the state file, the `-v` log, the report's recorder)
//! act on them. No listener is known to the executor.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::outcome::{Outcome, Status};
use crate::client::TransportError;
use crate::manifest::Command;

/// One exchange with the server.
#[derive(Debug)]
pub struct Exchange<'a> {
    /// Where the request went.
    pub url: &'a str,
    /// How many commands it carried.
    pub commands: usize,
    /// The body sent (secrets are in headers, never here).
    pub request_body: &'a [u8],
    /// The HTTP status, when there was an answer.
    pub status: Option<u16>,
    /// The body of the answer.
    pub response_body: Option<&'a [u8]>,
    /// How long it took.
    pub elapsed: Duration,
    /// The transport failure, when there was no answer.
    pub error: Option<&'a TransportError>,
}

impl<'a> Exchange<'a> {
    /// The exchange of one request of `commands` commands.
    pub(crate) fn of(sent: &'a crate::client::Sent, commands: usize) -> Self {
        Exchange {
            url: &sent.request.url,
            commands,
            request_body: &sent.request.body,
            status: sent.response.as_ref().ok().map(|r| r.status),
            response_body: sent.response.as_ref().ok().map(|r| &r.body[..]),
            elapsed: sent.elapsed,
            error: sent.response.as_ref().err(),
        }
    }
}

/// Something that happened during a run.
#[derive(Debug)]
pub enum Event<'a> {
    /// A request is about to go out.
    Sent {
        /// Where it goes.
        url: &'a str,
        /// How many commands it carries.
        commands: usize,
        /// Its body's size.
        bytes: usize,
    },
    /// A request was answered, or failed at the transport level.
    Answered(&'a Exchange<'a>),
    /// A command's final outcome (every command gets exactly one).
    Outcome {
        /// The command (its [`Command::index`] is its place in the whole run).
        command: &'a Command,
        /// What happened to it.
        outcome: &'a Outcome,
    },
    /// A batch's outcomes are all out: a point to make them durable.
    BatchDone,
    /// The run ended.
    End {
        /// Ctrl-C stopped it.
        interrupted: bool,
        /// How long it took.
        duration: Duration,
    },
}

/// Acts on run events; called from the executor's tasks, so it is `Sync`.
pub trait Listener: Send + Sync {
    /// Acts on one event.
    fn event(&self, event: &Event<'_>);
}

impl<F: Fn(&Event<'_>) + Send + Sync> Listener for F {
    fn event(&self, event: &Event<'_>) {
        self(event)
    }
}

/// Several listeners, each told every event in order.
#[derive(Default)]
pub struct Fanout(pub Vec<Arc<dyn Listener>>);

impl Listener for Fanout {
    fn event(&self, event: &Event<'_>) {
        for l in &self.0 {
            l.event(event);
        }
    }
}

/// Keeps every command's outcome, for the reports: each in its command's
/// place, as it comes (nothing to sort at the end, no index beside each).
pub struct Recorder {
    places: Places,
    /// Each command's, in its place: until it comes, `unknown` (the
    /// executor reports every command it was given). Filled as far as the
    /// furthest come (room for all reserved): its memory is touched as the
    /// run goes, not all before the first request.
    outcomes: Mutex<Vec<Outcome>>,
    commands: usize,
}

/// Where a command's outcome goes, from its index.
enum Places {
    /// The indices follow one another from the first (a whole run).
    From(u32),
    /// A part of a run (a shard, a selection): the indices, sorted.
    Sorted(Vec<u32>),
}

impl Recorder {
    /// A recorder for a run of `commands` (in the order of their indices).
    pub fn new(commands: &[Command]) -> Self {
        let first = commands.first().map_or(0, |c| c.index);
        let follow = commands.iter().enumerate().all(|(k, c)| c.index as usize == first as usize + k);
        let places = if follow {
            Places::From(first)
        } else {
            let mut indices: Vec<u32> = commands.iter().map(|c| c.index).collect();
            indices.sort_unstable();
            Places::Sorted(indices)
        };
        Recorder { places, outcomes: Mutex::new(Vec::with_capacity(commands.len())), commands: commands.len() }
    }

    fn place(&self, index: u32) -> Option<usize> {
        match &self.places {
            Places::From(first) => index.checked_sub(*first).map(|k| k as usize),
            Places::Sorted(indices) => indices.binary_search(&index).ok(),
        }
    }

    /// The outcomes in the order of the commands' indices in the run, taken
    /// out once the run is over.
    pub fn take(&self) -> Vec<Outcome> {
        let mut all = std::mem::take(&mut *self.outcomes.lock().unwrap_or_else(|e| e.into_inner()));
        all.resize(self.commands, Outcome::with_status(Status::Unknown));
        all
    }
}

impl Listener for Recorder {
    fn event(&self, event: &Event<'_>) {
        if let Event::Outcome { command, outcome } = event {
            let Some(place) = self.place(command.index).filter(|&p| p < self.commands) else {
                debug_assert!(false, "an outcome of command {} the recorder was not made for", command.index);
                return;
            };
            let mut outcomes = self.outcomes.lock().unwrap_or_else(|e| e.into_inner());
            if place >= outcomes.len() {
                outcomes.resize(place + 1, Outcome::with_status(Status::Unknown));
            }
            outcomes[place] = (*outcome).clone();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::executor::Status;

    #[test]
    fn the_recorder_gives_outcomes_in_the_commands_order_whatever_order_they_came_in() {
        let text: String = (0..40).map(|i| format!("  - publish: {{channel: c{i}, data: {i}}}\n")).collect();
        let m = crate::manifest::load_text("m.yaml", &format!("commands:\n{text}"), &Default::default()).unwrap();
        let mut rng = crate::testutil::Rng(7);
        for round in 0..50 {
            let mut arrival: Vec<usize> = (0..m.commands.len()).collect();
            for i in (1..arrival.len()).rev() {
                arrival.swap(i, rng.below(i + 1));
            }
            // Some runs report a part only: indices with gaps (a shard), or
            // following one another from another than the first (a selection).
            let kept: Vec<usize> = arrival
                .into_iter()
                .filter(|&i| match round % 3 {
                    0 => true,
                    1 => i % 3 != 0,
                    _ => (5..30).contains(&i),
                })
                .collect();
            let mut part: Vec<Command> = kept.iter().map(|&i| m.commands[i].clone()).collect();
            part.sort_by_key(|c| c.index);
            let r = Recorder::new(&part);
            for &i in &kept {
                let o = Outcome { attempts: i as u32, ..Outcome::with_status(Status::Ok) };
                r.event(&Event::Outcome { command: &m.commands[i], outcome: &o });
            }
            let mut want = kept.clone();
            want.sort();
            let got: Vec<usize> = r.take().iter().map(|o| o.attempts as usize).collect();
            assert_eq!(got, want);
        }
    }
}
