//! The nodes of one cluster: requests are spread over the nodes in service
//! (round robin); a node that fails at the transport level is taken out
//! for a while, and probed with a read (`info`) before it serves again.
//! With one node, it is always the one.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::client::Client;

/// How long a failed node stays out before it is probed.
const PAUSE: Duration = Duration::from_secs(2);
/// How long a probe may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

/// A node that failed at the transport level during a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NodeFailure {
    /// The node.
    pub url: String,
    /// How long after the run started.
    pub after: Duration,
    /// The transport problem.
    pub why: String,
}

/// One client per node.
pub(crate) struct Nodes {
    clients: Vec<Client>,
    urls: Vec<String>,
    /// When each node that failed may be probed again.
    out_until: Mutex<Vec<Option<Instant>>>,
    next: AtomicUsize,
    started: Instant,
    /// Every time a node was taken out, in order.
    failures: Mutex<Vec<NodeFailure>>,
}

impl Nodes {
    /// `clients[i]` talks to `urls[i]`.
    pub(crate) fn new(clients: Vec<Client>, urls: Vec<String>) -> Self {
        assert!(!clients.is_empty() && clients.len() == urls.len(), "one client per node");
        let n = clients.len();
        Nodes {
            clients,
            urls,
            out_until: Mutex::new(vec![None; n]),
            next: AtomicUsize::new(0),
            started: Instant::now(),
            failures: Mutex::new(Vec::new()),
        }
    }

    /// A single node.
    pub(crate) fn one(client: Client, url: &str) -> Self {
        Nodes::new(vec![client], vec![url.to_owned()])
    }

    pub(crate) fn len(&self) -> usize {
        self.clients.len()
    }

    pub(crate) fn client(&self, node: usize) -> &Client {
        &self.clients[node]
    }

    pub(crate) fn url(&self, node: usize) -> &str {
        &self.urls[node]
    }

    /// The node for the next request: the next one in service, else one
    /// that was out long enough and answers a probe, else (every node
    /// failing) the one out the longest — the request's own failure then
    /// says what is wrong.
    pub(crate) async fn pick(&self) -> usize {
        let n = self.clients.len();
        if n == 1 {
            return 0;
        }
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let now = Instant::now();
        let (mut probe, mut oldest) = (None, None::<(usize, Instant)>);
        {
            let out = self.out_until.lock().unwrap_or_else(|e| e.into_inner());
            for k in 0..n {
                let i = (start + k) % n;
                match out[i] {
                    None => return i,
                    Some(t) if t <= now && probe.is_none() => probe = Some(i),
                    Some(t) => {
                        if oldest.is_none_or(|(_, o)| t < o) {
                            oldest = Some((i, t));
                        }
                    }
                }
            }
        }
        if let Some(i) = probe {
            let client = self.clients[i].with_timeout(PROBE_TIMEOUT);
            let answered = client.call("info", serde_json::Map::new()).await.is_ok();
            let mut out = self.out_until.lock().unwrap_or_else(|e| e.into_inner());
            out[i] = if answered { None } else { Some(Instant::now() + PAUSE) };
            if answered {
                return i;
            }
        }
        oldest.map_or(start % n, |(i, _)| i)
    }

    /// Takes a node out of service for a while after a transport failure,
    /// and remembers when and why (the first time it happens in a row).
    pub(crate) fn failed(&self, node: usize, why: &str) {
        let mut out = self.out_until.lock().unwrap_or_else(|e| e.into_inner());
        let was_in = out[node].is_none();
        if self.clients.len() > 1 {
            out[node] = Some(Instant::now() + PAUSE);
        }
        drop(out);
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if was_in && failures.last().is_none_or(|f| f.url != self.urls[node] || f.why != why) {
            failures.push(NodeFailure {
                url: self.urls[node].clone(),
                after: self.started.elapsed(),
                why: why.to_owned(),
            });
        }
    }

    /// The failures seen so far.
    pub(crate) fn failures(&self) -> Vec<NodeFailure> {
        self.failures.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}
