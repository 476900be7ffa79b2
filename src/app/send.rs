//! Sending: a settled, valid run goes out through the engine, its events
//! reach the listeners (state file, progress bar, `-v` log, recorder), and
//! the outcomes become every report the run asked for.

use std::io::Write;
use std::sync::Arc;

use super::output;
use super::outputs::{Format, Outputs, write_file};
use crate::error::Error;
use crate::executor::{self, Fanout, Listener, Recorder, State};
use crate::exit::Exit;
use crate::manifest::{Manifest, Problem};
use crate::report;
use crate::resolve::Settings;

pub fn send(m: &Manifest, settings: Settings, args: &Outputs, warnings: &[Problem]) -> Result<Exit, Error> {
    let Settings { connection: conn, run: mut opts, run_id_given, .. } = settings;
    let conn = &conn;
    // Report files that cannot be written are bad options: find out before sending.
    for path in args.report_files() {
        super::outputs::writable(path).map_err(|e| Error::Usage(format!("cannot write {}: {e}", path.display())))?;
    }
    let state = match &args.state {
        Some(path) => Some(Arc::new(State::open(path, &opts.run_id).map_err(|e| Error::Usage(e.to_string()))?)),
        None => None,
    };
    if let Some(s) = &state {
        if run_id_given && s.run_id != opts.run_id {
            return Err(Error::Usage(format!(
                "--run-id {} differs from the run id {} recorded in the state file {}: give the same run id, or another --state file",
                opts.run_id,
                s.run_id,
                args.state.as_ref().map(|p| p.display().to_string()).unwrap_or_default()
            )));
        }
        // Re-sends after a broken run reuse its idempotency keys.
        opts.run_id = s.run_id.clone();
    }
    let mut clients = Vec::with_capacity(conn.urls.len());
    for url in &conn.urls {
        clients.push(crate::client::Client::new(conn.client_config(url)).map_err(|e| Error::Usage(e.to_string()))?);
    }
    let nodes = Arc::new(executor::Nodes::new(clients, conn.urls.clone()));
    let plan = Arc::new(executor::Plan::new(m.commands.clone(), conn.protocol, &opts.run_id, opts.idempotency));
    let recorder = Arc::new(Recorder::new(plan.len()));
    let mut listeners: Vec<Arc<dyn Listener>> = vec![recorder.clone()];
    if let Some(s) = &state {
        listeners.push(s.clone());
    }
    if let Some(bar) = output::Progress::new(plan.len(), args.quiet || args.format == Format::Json) {
        listeners.push(Arc::new(bar));
    }
    if args.verbose > 0 {
        listeners.push(Arc::new(output::Log { verbose: args.verbose, secrets: conn.secrets() }));
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    let end = runtime.block_on(async {
        let (tx, rx) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                let _ = tx.send(true);
            }
        });
        if nodes.len() > 1 && !args.quiet {
            for w in one_cluster(&nodes).await {
                output::problems(&[crate::manifest::Problem::error(w).warning()]);
            }
        }
        let applied = |i: usize, c: &crate::manifest::Command| state.as_ref().is_some_and(|s| s.is_applied(i, c));
        executor::execute(nodes.clone(), plan.clone(), &opts, &applied, rx, Arc::new(Fanout(listeners))).await
    });
    runtime.shutdown_background();
    let outcomes = recorder.take();
    let secrets = conn.secrets();
    let run = report::Run {
        run_id: &opts.run_id,
        duration: end.duration,
        sources: &m.sources,
        commands: &m.commands,
        outcomes: &outcomes,
        // Fixed durations, for golden tests (not a flag: completion and --help stay clean).
        deterministic: args.deterministic,
        secrets: &secrets,
        warnings,
        nodes: nodes.len(),
    };
    let exit = Exit::for_outcomes(&outcomes, end.interrupted);
    if let Some(path) = &args.report_json {
        write_file(path, &|out| report::write_json(&run, out));
    }
    if let Some(path) = &args.report_junit {
        write_file(path, &|out| out.write_all(report::junit_report(&run).as_bytes()));
    }
    let mut stdout = std::io::BufWriter::new(std::io::stdout().lock());
    let _ = match args.format {
        Format::Json => report::write_json(&run, &mut stdout),
        Format::Table if args.quiet => stdout.write_all(report::quiet(&run).as_bytes()),
        Format::Table => report::write_table(&run, output::color_stdout(), &mut stdout),
    };
    let _ = stdout.flush();
    drop(stdout);
    if args.github {
        // Annotations are for the log, never in machine-readable stdout.
        let annotations = report::annotations(&run);
        match args.format {
            Format::Json => output::stderr(&annotations),
            Format::Table => output::write(&annotations),
        }
        if let Some(path) = &args.step_summary {
            let appended = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .and_then(|mut f| f.write_all(report::step_summary(&run).as_bytes()));
            if let Err(e) = appended {
                output::error(&format!("cannot append to GITHUB_STEP_SUMMARY: {e}"));
            }
        }
    }
    if let Some(e) = state.as_ref().and_then(|s| s.take_error()) {
        output::error(&e.to_string());
    }
    if end.interrupted {
        output::error("interrupted: unsent commands are reported as skipped");
    }
    if outcomes.iter().any(|o| o.skip == Some(executor::SkipReason::Untrusted)) {
        output::error(
            "the server's TLS certificate is not trusted: give --cacert CA.pem (or server.cacert) with the CA that signed it, or --insecure; nothing was sent",
        );
    }
    super::run::drop_in_background((plan, outcomes));
    Ok(exit)
}

/// Warnings when the given URLs are not one cluster: every node's `info`
/// must list the same nodes (a node that does not answer is said too).
async fn one_cluster(nodes: &executor::Nodes) -> Vec<String> {
    let mut seen: Vec<(String, Result<Vec<String>, String>)> = Vec::new();
    for i in 0..nodes.len() {
        let answer = nodes.client(i).call("info", serde_json::Map::new()).await;
        let uids = answer.map_err(|e| e.to_string()).map(|info| {
            let mut uids: Vec<String> = info["nodes"]
                .as_array()
                .map(|ns| ns.iter().filter_map(|n| n["uid"].as_str().map(str::to_owned)).collect())
                .unwrap_or_default();
            uids.sort();
            uids
        });
        seen.push((nodes.url(i).to_owned(), uids));
    }
    let mut out = Vec::new();
    let lists: Vec<&Vec<String>> = seen.iter().filter_map(|(_, u)| u.as_ref().ok()).collect();
    if lists.windows(2).any(|w| w[0] != w[1]) || lists.iter().any(|l| l.len() < nodes.len()) {
        let shown: Vec<String> = seen
            .iter()
            .filter_map(|(url, u)| u.as_ref().ok().map(|u| format!("{url} lists {} node(s)", u.len())))
            .collect();
        out.push(format!(
            "the {} URLs are not one cluster ({}): exactly once across a failover needs nodes that share a broker (e.g. Redis)",
            nodes.len(),
            shown.join(", ")
        ));
    }
    for (url, u) in &seen {
        if let Err(e) = u {
            out.push(format!("node {url} did not answer `info`: {e}"));
        }
    }
    out
}
