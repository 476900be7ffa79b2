//! The run's timeline, for the HTML report. In: run [`Event`]s, as a
//! [`Listener`] that timestamps them itself (its construction is the run's
//! start: the executor's events carry no time of day). Out:
//! [`TimelineData`] — per node, commands answered by status and requests
//! that failed at the transport level or with HTTP 5xx (each one is
//! retried, or ends its commands `unknown`), counted into at most
//! [`BUCKETS`] time buckets; and the `wait` and `until` steps as spans.
//!
//! Memory is the same for ten commands or a million: when the run outlasts
//! the buckets, neighbours merge and each bucket covers twice the time.
//! Failovers are not events: the chart takes them from
//! [`super::Run::node_failures`].

use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::executor::{Event, Listener, Outcome, Status};
use crate::manifest::Command;

/// Time buckets per node, at most.
pub(crate) const BUCKETS: usize = 120;
/// `wait` and `until` spans kept; more are counted.
pub(crate) const MARKS: usize = 200;
/// A bucket's width before the run outlasts the buckets.
const FIRST_WIDTH: Duration = Duration::from_millis(10);

/// What a bucket counts, by slot: commands by status, then retried requests.
pub(crate) const OK: usize = 0;
pub(crate) const FAILED: usize = 1;
pub(crate) const UNKNOWN: usize = 2;
pub(crate) const SKIPPED: usize = 3;
pub(crate) const RETRIED: usize = 4;
/// The slots' names, as the page's classes and legend show them.
pub(crate) const SLOTS: [&str; 5] = ["ok", "failed", "unknown", "skipped", "retried"];

/// One bucket's counts, by slot.
pub(crate) type Counts = [u32; 5];

/// One node's row of buckets (`node: None`: commands with no request — a
/// `wait` step, or never sent).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Lane {
    pub node: Option<String>,
    pub buckets: Vec<Counts>,
}

impl Lane {
    /// Every bucket added up.
    pub(crate) fn total(&self) -> Counts {
        let mut t = [0; 5];
        for b in &self.buckets {
            for (s, n) in t.iter_mut().zip(b) {
                *s += n;
            }
        }
        t
    }
}

/// A step drawn as a span.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MarkKind {
    /// A `wait:` step: a barrier, then a pause.
    Wait,
    /// A command with `until:`, sent again until its checks held.
    Until,
}

/// A `wait` or `until` step: when it ran and how it ended.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Mark {
    pub kind: MarkKind,
    /// The command's index in the run.
    pub index: usize,
    pub start: Duration,
    pub end: Duration,
    /// How many times it was sent (`until`).
    pub attempts: u32,
    pub status: Status,
}

/// What the timeline holds when the run is over.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TimelineData {
    /// How much time one bucket covers.
    pub width: Duration,
    /// One lane per node given, in order, then others as they appear.
    pub lanes: Vec<Lane>,
    pub marks: Vec<Mark>,
    /// Marks past [`MARKS`], not kept.
    pub marks_left_out: usize,
    /// When the run ended (its `End` event), else the last event.
    pub end: Duration,
}

impl TimelineData {
    /// An empty timeline with a lane for each of `nodes`.
    pub(crate) fn new(nodes: &[String]) -> Self {
        TimelineData {
            width: FIRST_WIDTH,
            lanes: nodes.iter().map(|n| Lane { node: Some(n.clone()), buckets: vec![[0; 5]; BUCKETS] }).collect(),
            marks: Vec::new(),
            marks_left_out: 0,
            end: Duration::ZERO,
        }
    }

    /// Counts one `slot` for `node` at `at` after the start.
    pub(crate) fn count(&mut self, node: Option<&str>, at: Duration, slot: usize) {
        while at.as_nanos() >= self.width.as_nanos() * BUCKETS as u128 {
            self.widen();
        }
        let b = (at.as_nanos() / self.width.as_nanos()) as usize;
        let lane = match self.lanes.iter().position(|l| l.node.as_deref() == node) {
            Some(i) => i,
            None => {
                self.lanes.push(Lane { node: node.map(str::to_owned), buckets: vec![[0; 5]; BUCKETS] });
                self.lanes.len() - 1
            }
        };
        self.lanes[lane].buckets[b][slot] += 1;
        self.end = self.end.max(at);
    }

    /// Each bucket covers twice the time: neighbours merge.
    fn widen(&mut self) {
        for lane in &mut self.lanes {
            for i in 0..BUCKETS {
                let merged = if 2 * i < BUCKETS {
                    let (a, b) = (lane.buckets[2 * i], lane.buckets.get(2 * i + 1).copied().unwrap_or_default());
                    std::array::from_fn(|s| a[s] + b[s])
                } else {
                    [0; 5]
                };
                lane.buckets[i] = merged;
            }
        }
        self.width *= 2;
    }

    /// The node (as given) whose requests go to `endpoint`.
    fn node_of<'a>(&'a self, endpoint: &'a str) -> &'a str {
        self.lanes
            .iter()
            .filter_map(|l| l.node.as_deref())
            .filter(|n| endpoint.starts_with(crate::client::base_url(n)))
            .max_by_key(|n| crate::client::base_url(n).len())
            .unwrap_or(endpoint)
    }

    fn mark(&mut self, c: &Command, o: &Outcome, at: Duration) {
        let kind = match c.steps().map(|s| &**s) {
            Some(s) if s.wait.is_some() => MarkKind::Wait,
            Some(s) if s.until.is_some() => MarkKind::Until,
            _ => return,
        };
        if self.marks.len() >= MARKS {
            self.marks_left_out += 1;
            return;
        }
        let start = at.saturating_sub(o.duration);
        self.marks.push(Mark { kind, index: c.index(), start, end: at, attempts: o.attempts, status: o.status });
    }
}

/// The slot of a command's status.
pub(crate) fn slot(s: Status) -> usize {
    match s {
        Status::Ok => OK,
        Status::Failed(_) => FAILED,
        Status::Unknown => UNKNOWN,
        Status::Skipped(_) => SKIPPED,
    }
}

/// The listener: events in, [`TimelineData`] out at the end.
pub(crate) struct Timeline {
    started: Instant,
    data: Mutex<TimelineData>,
}

impl Timeline {
    /// A timeline starting now, with a lane for each node given.
    pub(crate) fn new(nodes: &[String]) -> Self {
        Timeline { started: Instant::now(), data: Mutex::new(TimelineData::new(nodes)) }
    }

    /// What it gathered (once the run is over).
    pub(crate) fn take(&self) -> TimelineData {
        self.data.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl Listener for Timeline {
    fn event(&self, event: &Event<'_>) {
        let at = self.started.elapsed();
        let mut d = self.data.lock().unwrap_or_else(|e| e.into_inner());
        match event {
            Event::Answered(x) if x.error.is_some() || x.status.is_some_and(|s| s >= 500) => {
                let node = d.node_of(x.url).to_owned();
                d.count(Some(&node), at, RETRIED);
            }
            Event::Outcome { command, outcome } => {
                d.mark(command, outcome, at);
                d.count(outcome.node.as_deref().map(String::as_str), at, slot(outcome.status));
            }
            Event::End { .. } => d.end = d.end.max(at),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_stay_bounded_and_counts_survive_widening() {
        let mut d = TimelineData::new(&["http://a:8000".into()]);
        // A million commands over an hour: one bucket per 3.6 ms of events.
        for i in 0..1_000_000u64 {
            d.count(Some("http://a:8000"), Duration::from_micros(i * 3600), if i % 10 == 0 { FAILED } else { OK });
        }
        d.count(None, Duration::from_secs(1), SKIPPED);
        assert_eq!(d.lanes.len(), 2);
        assert!(d.lanes.iter().all(|l| l.buckets.len() == BUCKETS));
        assert_eq!(d.lanes[0].total(), [900_000, 100_000, 0, 0, 0]);
        assert_eq!(d.lanes[1].total(), [0, 0, 0, 1, 0]);
        assert!(d.width * BUCKETS as u32 > Duration::from_secs(3600), "{:?}", d.width);
        assert!(d.width < Duration::from_secs(60), "as fine as the run allows: {:?}", d.width);
        // The skip at 1 s is in the first bucket of a lane an hour wide.
        assert_eq!(d.lanes[1].buckets[0][SKIPPED], 1);
    }

    #[test]
    fn a_request_is_put_on_the_node_whose_api_it_went_to() {
        let d = TimelineData::new(&["http://h:8000".into(), "http://h:8000/x/api".into()]);
        assert_eq!(d.node_of("http://h:8000/api/batch"), "http://h:8000");
        assert_eq!(d.node_of("http://h:8000/x/api/batch"), "http://h:8000/x/api");
        assert_eq!(d.node_of("http://elsewhere/api"), "http://elsewhere/api");
    }
}
