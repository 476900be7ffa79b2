//! The manifest runner as a library, with a listener:
//!
//!     cargo run --example runner -- examples/manifests/broadcast.yaml http://localhost:8000 API_KEY
//!
//! Loads and validates the manifest (every problem located), applies its
//! `defaults:` and, when it names a server, its `server:`, runs it on a
//! spawned task while a listener prints each request and every command's
//! outcome as it lands, and exits 1 when a command did not go through.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use cent_run::client::{Client, ClientConfig};
use cent_run::runner::{self, Event, Input, LoadOptions, Status};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args.next().ok_or("usage: runner MANIFEST [URL [API_KEY]]")?;
    let url = args.next();
    let key = args.next().or_else(|| std::env::var("CENTRIFUGO_API_KEY").ok()).unwrap_or_default();

    // `${NAME}` in the manifest reads this process's environment.
    let manifest = match runner::load(&[Input::File(path.into())], &LoadOptions::from_env()) {
        Ok(m) => m,
        Err(problems) => {
            for p in &problems {
                eprintln!("{p}");
            }
            std::process::exit(2);
        }
    };
    for w in &manifest.warnings {
        eprintln!("warning: {w}");
    }
    // The manifest's own settings; a URL on the command line wins over its `server:`.
    let settings = runner::settings(&manifest).map_err(|p| format!("{} problems, the first: {}", p.len(), p[0]))?;
    let config = match (url, settings.clients.first()) {
        (Some(url), _) => ClientConfig { protocol: manifest.protocol, ..ClientConfig::api(url, key) },
        (None, Some(from_manifest)) => from_manifest.clone(),
        (None, None) => ClientConfig { protocol: manifest.protocol, ..ClientConfig::api("http://localhost:8000", key) },
    };
    let client = Client::new(config)?;

    // A listener: called from the run's tasks, so it only counts and prints.
    let done = Arc::new(AtomicUsize::new(0));
    let total = manifest.commands.len();
    let seen = done.clone();
    let listener = move |event: &Event<'_>| match event {
        Event::Sent { url, commands, bytes } => eprintln!("→ {url}: {commands} commands, {bytes} bytes"),
        Event::Outcome { command, outcome } => {
            let n = seen.fetch_add(1, Ordering::Relaxed) + 1;
            let why = outcome.message().unwrap_or_default();
            eprintln!(
                "[{n}/{total}] line {} {} {}: {why}",
                command.line(),
                command.method_name(),
                outcome.status.as_str()
            );
        }
        _ => {}
    };

    // The runner's future is Send: it runs on a task of its own.
    let manifest = Arc::new(manifest);
    let options = settings.options;
    let job = {
        let manifest = manifest.clone();
        tokio::spawn(async move { runner::run(&manifest, &client, &options, Some(Arc::new(listener))).await })
    };
    let run = job.await??;
    let s = run.summary();
    println!(
        "{} commands: {} ok, {} failed, {} unknown, {} skipped in {:?}",
        s.total, s.ok, s.failed, s.unknown, s.skipped, run.duration
    );
    assert_eq!(done.load(Ordering::Relaxed), total, "every command has exactly one outcome");
    if run.outcomes.iter().any(|o| o.status != Status::Ok) {
        std::process::exit(1);
    }
    Ok(())
}
