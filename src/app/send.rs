//! Sending: a settled, valid run goes out through the engine, its events
//! reach the listeners (state file, progress bar, `-v` log, recorder), and
//! the outcomes become every report the run asked for — however the run
//! ends: done, SIGINT, SIGTERM (in-flight requests get a grace period, the
//! state file is durable per batch, reports are written atomically).

use std::io::Write;
use std::sync::{Arc, Mutex};

use super::output;
use super::outputs::{Format, Outputs, write_file};
use crate::error::Error;
use crate::executor::listen::ListenSetup;
use crate::executor::{
    self, Fanout, Listener, Nodes, Outcome, Plan, Recorder, RunEnd, RunOptions, SkipReason, State, Status,
};
use crate::exit::{Exit, Signal};
use crate::manifest::select::Selection;
use crate::manifest::{Manifest, Problem, Source};
use crate::report;
use crate::resolve::{Connection, Settings};

pub(crate) fn send(
    m: &mut Manifest,
    settings: Settings,
    args: &Outputs,
    mut warnings: Vec<Problem>,
    secret_values: Vec<String>,
    selection: Option<&Selection>,
) -> Result<Exit, Error> {
    let Settings { connection: conn, run: mut opts, run_id_given, .. } = settings;
    let secrets = conn.secrets().with(secret_values);
    // Report files that cannot be written are bad options: find out before sending.
    for path in args.report_files() {
        super::outputs::writable(path).map_err(|e| Error::Usage(format!("cannot write {}: {e}", path.display())))?;
    }
    let state = open_state(args, &mut opts, run_id_given)?;
    if let Some(s) = &state {
        let found = state_warnings(s, m);
        args.warn(&found);
        warnings.extend(found);
    }
    // While commands are sent only they are read (they hold their params):
    // the manifests' texts wait in their files, read again for a snippet.
    let released = Source::release(&mut holders(m, &mut warnings));
    let nodes = Arc::new(nodes(&conn)?);
    let plan = Arc::new(Plan::new(m.commands.clone(), conn.protocol, &opts.run_id, opts.idempotency));
    let recorder = Arc::new(Recorder::new(plan.commands()));
    let mut listeners: Vec<Arc<dyn Listener>> = vec![recorder.clone()];
    if let Some(s) = &state {
        listeners.push(s.clone());
    }
    if let Some(bar) = output::Progress::new(plan.len(), args.quiet || args.format == Format::Json) {
        listeners.push(Arc::new(bar));
    }
    if args.verbose > 0 {
        listeners.push(Arc::new(output::Log { verbose: args.verbose, secrets: secrets.clone() }));
    }
    // The HTML report's timeline: its own clock, started with the run.
    let timeline = args.report_html.as_ref().map(|_| Arc::new(report::Timeline::new(&conn.urls)));
    if let Some(t) = &timeline {
        listeners.push(t.clone());
    }
    let listen = listen_setup(&conn)?;
    let (end, signal, cluster) = execute(
        &nodes,
        &plan,
        &opts,
        Before { state: state.as_ref(), selection, listen },
        Fanout(listeners),
        args.quiet,
    );
    warnings.extend(cluster);
    let outcomes = recorder.take();
    let snippets =
        args.report_html.is_some() || !warnings.is_empty() || outcomes.iter().any(|o| o.status != Status::Ok);
    if snippets && !released.is_empty() {
        let lost = Source::restore(&mut holders(m, &mut warnings), released);
        args.warn(&lost);
        warnings.extend(lost);
    }
    let node_failures = nodes.failures();
    let run = report::Run {
        run_id: &opts.run_id,
        duration: end.duration,
        sources: &m.sources,
        commands: &m.commands,
        outcomes: &outcomes,
        deterministic: args.deterministic,
        secrets: &secrets,
        warnings: &warnings,
        nodes: &conn.urls,
        node_failures: &node_failures,
        exit: Exit::for_outcomes(&outcomes, signal),
        signal,
    };
    write_reports(&run, args, timeline.map(|t| t.take()).as_ref(), &m.sources);
    if let Some(e) = state.as_ref().and_then(|s| s.take_error()) {
        output::error(&e.to_string());
    }
    if let Some(s) = signal {
        let name = if s == Signal::Interrupt { "SIGINT" } else { "SIGTERM" };
        output::error(&format!("{name}: sending stopped; commands not sent are reported as skipped"));
    }
    let exit = run.exit;
    output::drop_in_background((plan, outcomes));
    Ok(exit)
}

/// Every holder of a manifest's text: the manifests and the warnings.
fn holders<'a>(m: &'a mut Manifest, warnings: &'a mut [Problem]) -> Vec<&'a mut Source> {
    let in_problems = |p: &'a mut Problem| p.source.as_mut();
    m.sources
        .iter_mut()
        .chain(m.warnings.iter_mut().filter_map(in_problems))
        .chain(warnings.iter_mut().filter_map(in_problems))
        .collect()
}

/// The state file, if one was given; its run id is the run's (a re-send
/// reuses the keys), and a `--run-id` other than the one it records is an
/// error.
fn open_state(args: &Outputs, opts: &mut RunOptions, run_id_given: bool) -> Result<Option<Arc<State>>, Error> {
    let Some(path) = &args.state else { return Ok(None) };
    let s = State::open(path, &opts.run_id).map_err(|e| Error::Usage(e.to_string()))?;
    if run_id_given && s.run_id != opts.run_id {
        return Err(Error::Usage(format!(
            "--run-id {} differs from the run id {} recorded in the state file {}: give the same run id, or another --state file",
            opts.run_id,
            s.run_id,
            path.display()
        )));
    }
    opts.run_id = s.run_id.clone();
    Ok(Some(Arc::new(s)))
}

/// What a state file that does not fit the manifest says.
fn state_warnings(s: &State, m: &Manifest) -> Vec<Problem> {
    let mut out = Vec::new();
    if s.stale > 0 {
        out.push(Problem::error(format!(
            "the state file records {} commands by position (an older cent-run): they are not used, so commands it recorded may be sent again",
            report::count(s.stale)
        )).warning());
    }
    if s.len() > 0 && !m.commands.iter().any(|c| s.is_applied(c)) {
        out.push(
            Problem::error(format!(
                "the state file records {} applied commands, none of them in these manifests",
                report::count(s.len())
            ))
            .help("a state file belongs to one job: give each job its own --state file")
            .warning(),
        );
    }
    out
}

/// What `listen:` steps connect with: the nodes, the token key, the TLS
/// trust of the API requests; `None` without a token key (a manifest that
/// listens was refused before).
fn listen_setup(conn: &Connection) -> Result<Option<ListenSetup>, Error> {
    use secrecy::ExposeSecret;
    let Some(t) = &conn.token else { return Ok(None) };
    let cacert = match &conn.cacert {
        Some(p) => Some(std::fs::read(p).map_err(|e| Error::Usage(format!("cannot read {}: {e}", p.display())))?),
        None => None,
    };
    Ok(Some(ListenSetup {
        nodes: conn.urls.clone(),
        algorithm: t.algorithm,
        key: t.key.expose_secret().as_bytes().to_vec(),
        cacert,
        insecure: conn.insecure,
        timeout: conn.timeout,
    }))
}

/// One client per node.
fn nodes(conn: &Connection) -> Result<Nodes, Error> {
    let mut clients = Vec::with_capacity(conn.urls.len());
    for url in &conn.urls {
        clients.push(crate::client::Client::new(conn.client_config(url)).map_err(|e| Error::Usage(e.to_string()))?);
    }
    Ok(Nodes::new(clients, conn.urls.clone()))
}

/// What is decided before the run: what an earlier run applied, what
/// `--tags`/`--only` leave out, what listeners connect with.
struct Before<'a> {
    state: Option<&'a Arc<State>>,
    selection: Option<&'a Selection>,
    listen: Option<ListenSetup>,
}

/// Runs the plan on a runtime of its own, SIGINT and SIGTERM stopping it
/// (a second signal ends the process at once). Returns how it ended, the
/// signal, and the warnings about the nodes.
fn execute(
    nodes: &Arc<Nodes>,
    plan: &Arc<Plan>,
    opts: &RunOptions,
    before: Before,
    listeners: Fanout,
    quiet: bool,
) -> (RunEnd, Option<Signal>, Vec<Problem>) {
    let Before { state, selection, listen } = before;
    // One thread: no wakeups across threads, a sixth less CPU for the same
    // requests. A state file syncs to disk after every batch, which would
    // stall every request of that thread, and listeners read their
    // connections while requests go out: then a worker thread per core.
    let runtime = match (state, &listen) {
        (None, None) => tokio::runtime::Builder::new_current_thread(),
        _ => tokio::runtime::Builder::new_multi_thread(),
    }
    .enable_all()
    .build()
    .expect("tokio runtime");
    let caught: Arc<Mutex<Option<Signal>>> = Arc::default();
    let (end, cluster) = runtime.block_on(async {
        let (tx, rx) = tokio::sync::watch::channel(false);
        let seen = caught.clone();
        tokio::spawn(async move {
            let first = signal().await;
            *seen.lock().unwrap_or_else(|e| e.into_inner()) = Some(first);
            let _ = tx.send(true);
            let again = signal().await;
            std::process::exit(i32::from(
                if again == Signal::Interrupt { Exit::Interrupted } else { Exit::Terminated }.code(),
            ));
        });
        let cluster = if nodes.len() > 1 { one_cluster(nodes).await } else { Vec::new() };
        let cluster: Vec<Problem> = cluster.into_iter().map(|w| Problem::error(w).warning()).collect();
        if !quiet && !cluster.is_empty() {
            output::problems(&cluster);
        }
        // Decided before the run: left out by --tags/--only, or applied by an earlier run.
        let settled = |c: &crate::manifest::Command| {
            if let Some(sel) = selection.filter(|s| !s.keep[c.index()]) {
                return Some(Outcome::skipped(SkipReason::NotSelected).with_detail(sel.why.clone()));
            }
            state.is_some_and(|s| s.is_applied(c)).then(|| Outcome::skipped(SkipReason::AlreadyApplied))
        };
        let end = executor::execute(nodes.clone(), plan.clone(), opts, &settled, listen, rx, Arc::new(listeners)).await;
        (end, cluster)
    });
    runtime.shutdown_background();
    let signal = *caught.lock().unwrap_or_else(|e| e.into_inner());
    (end, signal, cluster)
}

/// The next SIGINT or SIGTERM.
async fn signal() -> Signal {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).ok();
        let terminated = async {
            match term.as_mut() {
                Some(t) => {
                    t.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => Signal::Interrupt,
            _ = terminated => Signal::Terminate,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        Signal::Interrupt
    }
}

/// Every report the run asked for: files (atomically), stdout, GitHub.
fn write_reports(
    run: &report::Run,
    args: &Outputs,
    timeline: Option<&report::timeline::TimelineData>,
    sources: &[crate::manifest::Source],
) {
    if let Some(path) = &args.report_json {
        write_file(path, &|out| report::write_json(run, out));
    }
    if let Some(path) = &args.report_html {
        write_file(path, &|out| report::write_html(run, timeline, out));
    }
    if let Some(path) = &args.metrics_file {
        let labels = report::MetricsLabels::new(sources.iter().map(|s| s.name.as_str()), args.metrics_name.as_deref());
        let previous = std::fs::read_to_string(path).ok();
        let now = std::time::SystemTime::now();
        write_file(path, &|out| report::write_metrics(Some(run), &labels, previous.as_deref(), now, out));
    }
    if let Some(path) = &args.report_junit {
        write_file(path, &|out| out.write_all(report::junit_report(run).as_bytes()));
    }
    let mut stdout = std::io::BufWriter::new(std::io::stdout().lock());
    let _ = match args.format {
        Format::Json => report::write_json(run, &mut stdout),
        Format::Table if args.quiet => stdout.write_all(report::quiet(run).as_bytes()),
        Format::Table => report::write_table(run, output::color_stdout(), &mut stdout),
    };
    let _ = stdout.flush();
    drop(stdout);
    if args.github {
        // Annotations are for the log, never in machine-readable stdout.
        let annotations = report::annotations(run);
        match args.format {
            Format::Json => output::stderr(&annotations),
            Format::Table => output::write(&annotations),
        }
        if let Some(path) = &args.step_summary {
            super::outputs::append_step_summary(path, &report::step_summary(run));
        }
    }
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
