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
//! let run = runner::run(&manifest, &client, &RunOptions::default(), None).await?;
//! for (command, outcome) in manifest.commands.iter().zip(&run.outcomes) {
//!     if outcome.status != Status::Ok {
//!         println!("{}:{} {}: {:?}", manifest.sources[command.manifest()].name, command.line(), command.method_name(), outcome.message());
//!     }
//! }
//! # Ok(()) }
//! ```
//!
//! The manifest's `server:` and `defaults:` are the caller's to apply:
//! [`settings`] reads them as client configurations and [`RunOptions`].
//! [`run`] numbers equal commands (their identity, as in derived
//! idempotency keys), runs only its part when [`RunOptions::shard`] is set,
//! and refuses invalid options and a manifest validated for another
//! protocol than the client speaks. Its future is `Send`: it can be spawned.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::client::{Client, ClientConfig};
pub use crate::executor::{
    ChannelOutcome, CheckOutcome, Event, Exchange, Failure, Fanout, Listener, Outcome, Recorder, RetryPolicy,
    RunOptions, SkipReason, Status, Summary,
};
pub use crate::manifest::{
    Command, Input, Level, LoadOptions, Manifest, Problem, Source, Span, Target, load, load_text,
};
use crate::protocol::Protocol;

/// What a run did.
#[derive(Debug)]
pub struct Run {
    /// One outcome per command of the manifest, in manifest order (under
    /// [`RunOptions::shard`], the other parts' commands are
    /// `Skipped(NotSelected)`).
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

/// Why a run did not start; nothing was sent.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    /// A [`RunOptions`] value out of its range.
    #[error("invalid run options: {0}")]
    Options(String),
    /// The manifest's commands were validated for another protocol than
    /// the client speaks (their fields and method names differ).
    #[error(
        "the manifest was validated for protocol {manifest}, the client speaks {client}: load it with LoadOptions::protocol set to {client}, or give a client of protocol {manifest}"
    )]
    Protocol {
        /// The protocol the manifest was validated for.
        manifest: Protocol,
        /// The client's.
        client: Protocol,
    },
}

/// What a manifest's `server:` and `defaults:` say, for the caller to apply.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ManifestSettings {
    /// `server:` as one client configuration per URL; empty when the
    /// manifest names no server URL.
    pub clients: Vec<ClientConfig>,
    /// `defaults:` over [`RunOptions::default`].
    pub options: RunOptions,
}

/// Reads the manifest's `server:` and `defaults:` (nothing else: no flag,
/// profile or environment variable is consulted). A key the manifest does
/// not give is left to the caller; a value out of range is a located
/// problem.
pub fn settings(manifest: &Manifest) -> Result<ManifestSettings, Vec<Problem>> {
    let settled = crate::resolve::settle(manifest.settings.clone(), crate::resolve::Mode::Check)?;
    let clients = if manifest.settings.has(crate::settings::Key::Url) {
        settled.connection.urls.iter().map(|u| settled.connection.client_config(u)).collect()
    } else {
        Vec::new()
    };
    Ok(ManifestSettings { clients, options: settled.run })
}

/// Runs a validated manifest with `client`: lanes keep per-target order,
/// batches are sent concurrently up to `options.concurrency`, only what is
/// safe is retried. `listener`, if given, is told every [`Event`].
pub async fn run(
    manifest: &Manifest,
    client: &Client,
    options: &RunOptions,
    listener: Option<Arc<dyn Listener>>,
) -> Result<Run, RunError> {
    options.check().map_err(RunError::Options)?;
    if manifest.protocol != client.protocol() {
        return Err(RunError::Protocol { manifest: manifest.protocol, client: client.protocol() });
    }
    let mut commands: Vec<Command> = manifest.commands.as_ref().clone();
    crate::manifest::number_occurrences(&mut commands);
    let keep = options.shard.map(|(part, parts)| crate::executor::lanes::shard(&commands, part, parts));
    if let Some(keep) = &keep {
        let mut k = keep.iter();
        commands.retain(|_| *k.next().expect("one flag per command"));
    }
    let plan = Arc::new(crate::executor::Plan::new(
        Arc::new(commands),
        client.protocol(),
        &options.run_id,
        options.idempotency,
    ));
    let recorder = Arc::new(Recorder::new(plan.commands()));
    let mut listeners: Vec<Arc<dyn Listener>> = vec![recorder.clone()];
    listeners.extend(listener);
    // Nothing interrupts a library run but the caller dropping the future.
    let (_never, interrupt) = watch::channel(false);
    let nodes = Arc::new(crate::executor::Nodes::one(client.clone(), client.endpoint()));
    let end =
        crate::executor::execute(nodes, plan, options, &|_| None, None, interrupt, Arc::new(Fanout(listeners))).await;
    let mut part = recorder.take().into_iter();
    let outcomes = match keep {
        None => part.collect(),
        Some(keep) => keep
            .iter()
            .map(|&mine| match mine {
                true => part.next().expect("an outcome per command of the part"),
                false => Outcome::skipped(SkipReason::NotSelected).with_detail("in another part (RunOptions::shard)"),
            })
            .collect(),
    };
    Ok(Run { outcomes, duration: end.duration, interrupted: end.interrupted })
}
