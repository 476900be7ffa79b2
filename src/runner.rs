//! The `cent-run` runner as a library: load and validate manifests, run
//! them, get one outcome per command.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use cent_run::client::{Client, ClientConfig};
//! use cent_run::runner::{self, Input, LoadOptions, RunOptions, Status};
//!
//! let manifest = runner::load(&[Input::File("broadcast.yaml".into())], &LoadOptions::default())
//!     .map_err(|problems| format!("{} problems, the first: {}", problems.len(), problems[0]))?;
//! let client = Client::new(ClientConfig::api("http://localhost:8000", "KEY"))?;
//! let run = runner::run(&manifest, &client, &RunOptions::default(), None).await;
//! for (command, outcome) in manifest.commands.iter().zip(&run.outcomes) {
//!     if outcome.status != Status::Ok {
//!         println!("{}:{} {}: {:?}", manifest.sources[command.manifest()].name, command.line(), command.method_name(), outcome.message());
//!     }
//! }
//! # Ok(()) }
//! ```
//!
//! The manifest's `server:` and `defaults:` are applied by the `cent-run`
//! tool; a library user gives the client and the [`RunOptions`] directly.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::client::Client;
pub use crate::executor::{
    ChannelOutcome, Event, Exchange, Failure, Fanout, Listener, Outcome, Recorder, RetryPolicy, RunOptions, SkipReason,
    Status, Summary,
};
pub use crate::manifest::{
    Command, Input, Level, LoadOptions, Manifest, Problem, Source, Span, Target, load, load_text,
};

/// What a run did.
#[derive(Debug)]
pub struct Run {
    /// One outcome per command, in manifest order.
    pub outcomes: Vec<Outcome>,
    /// How long it took.
    pub duration: Duration,
    /// The interrupt channel stopped it before every command was sent.
    pub interrupted: bool,
}

impl Run {
    /// Counts per status.
    pub fn summary(&self) -> Summary {
        Summary::of(&self.outcomes)
    }
}

/// Runs a validated manifest with `client`: lanes keep per-target order,
/// batches are sent concurrently up to `options.concurrency`, only what is
/// safe is retried. `listener`, if given, is told every [`Event`].
pub async fn run(
    manifest: &Manifest,
    client: &Client,
    options: &RunOptions,
    listener: Option<Arc<dyn Listener>>,
) -> Run {
    let plan = Arc::new(crate::executor::Plan::new(
        manifest.commands.clone(),
        client.protocol(),
        &options.run_id,
        options.idempotency,
    ));
    let recorder = Arc::new(Recorder::new(plan.len()));
    let mut listeners: Vec<Arc<dyn Listener>> = vec![recorder.clone()];
    listeners.extend(listener);
    // Nothing interrupts a library run but the caller dropping the future.
    let (_never, interrupt) = watch::channel(false);
    let nodes = Arc::new(crate::executor::Nodes::one(client.clone(), client.endpoint()));
    let end = crate::executor::execute(nodes, plan, options, &|_| false, interrupt, Arc::new(Fanout(listeners))).await;
    Run { outcomes: recorder.take(), duration: end.duration, interrupted: end.interrupted }
}
