//! Typed run events: the executor says what happened — a request sent, its
//! answer, a command's outcome, a batch done, the run's end — and listeners
//! (the progress bar, the state file, the `-v` log, the report's recorder)
//! act on them. No listener is known to the executor.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::outcome::Outcome;
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

/// Keeps every command's outcome, for the reports.
pub struct Recorder {
    outcomes: Mutex<Vec<(u32, Outcome)>>,
}

impl Recorder {
    /// A recorder for a run of `commands` commands.
    pub fn new(commands: usize) -> Self {
        Recorder { outcomes: Mutex::new(Vec::with_capacity(commands)) }
    }

    /// The outcomes in the order of the commands' indices in the run, taken
    /// out once the run is over.
    pub fn take(&self) -> Vec<Outcome> {
        let mut all = std::mem::take(&mut *self.outcomes.lock().unwrap_or_else(|e| e.into_inner()));
        // Sorting the 72-byte pairs moved each many times: find each one's
        // place, then move each outcome once, in place. The indices of a
        // whole run are the places themselves (from the first); a shard's
        // have gaps, and its places are sorted (4 bytes each).
        let first = all.iter().map(|(i, _)| *i).min().unwrap_or(0);
        let dense = all.iter().all(|(i, _)| ((i - first) as usize) < all.len());
        let mut order: Vec<u32> = if dense {
            // `order[place] = where it is now`: the inverse of each one's place.
            let mut order = vec![0u32; all.len()];
            for (now, (i, _)) in all.iter().enumerate() {
                order[(i - first) as usize] = now as u32;
            }
            order
        } else {
            let mut order: Vec<u32> = (0..all.len() as u32).collect();
            order.sort_unstable_by_key(|&p| all[p as usize].0);
            order
        };
        for start in 0..order.len() {
            // The cycle through `start`: each place gets the outcome that belongs there.
            let mut at = start;
            while order[at] as usize != at {
                let from = order[at] as usize;
                order[at] = at as u32;
                if from == start {
                    break;
                }
                all.swap(at, from);
                at = from;
            }
        }
        all.into_iter().map(|(_, o)| o).collect()
    }
}

impl Listener for Recorder {
    fn event(&self, event: &Event<'_>) {
        if let Event::Outcome { command, outcome } = event {
            self.outcomes.lock().unwrap_or_else(|e| e.into_inner()).push((command.index, (*outcome).clone()));
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
            // Some runs report a part only (a shard): indices with gaps.
            let kept: Vec<usize> = arrival.into_iter().filter(|i| round % 2 == 0 || i % 3 != 0).collect();
            let r = Recorder::new(kept.len());
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
