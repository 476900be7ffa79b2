//! `cent-run call METHOD [--params JSON|-]` and the `cent` console: one
//! command, validated against the method table like a manifest command
//! (nothing sent when it is wrong), sent through the engine like a run's
//! commands — the same retries, the same classification of every failure,
//! the same exit codes and hints — and its reply printed as JSON.

use std::io::Read;
use std::sync::Arc;

use super::output;
use crate::cli::ProfileArgs;
use crate::error::Error;
use crate::executor::{self, Fanout, Listener, Nodes, Plan, Recorder, RunOptions, Status};
use crate::exit::Exit;
use crate::manifest::{self, Command, Source};
use crate::report;
use crate::resolve::{Connection, Mode};
use crate::settings::{Env, Layer};

/// Params as JSON text: `--params JSON`, `--params -` (stdin), or `{}`.
pub(crate) fn params_text(params: Option<&str>) -> Result<String, Error> {
    let text = match params {
        Some("-") => {
            let mut s = String::new();
            std::io::stdin()
                .read_to_string(&mut s)
                .map_err(|e| Error::Usage(format!("cannot read params from stdin: {e}")))?;
            s
        }
        Some(p) => p.to_owned(),
        None => String::new(),
    };
    Ok(if text.trim().is_empty() { "{}".to_owned() } else { text })
}

pub(crate) fn call(
    method: &str,
    params: Option<&str>,
    flags: Layer,
    profile: &ProfileArgs,
    env: &Env,
) -> Result<Exit, Error> {
    let verbose = super::outputs::Outputs::new(&flags, env).verbose;
    let settings = super::sources(flags, profile, env)?.settle(&Layer::default(), Mode::Run)?;
    call_with(&settings.connection, method, params_text(params)?, verbose)
}

/// Validates and sends one command, printing the reply (the server's
/// result, or its error) as JSON on stdout and any trouble, located and
/// with its hint, on stderr.
pub(crate) fn call_with(conn: &Connection, method: &str, text: String, verbose: u8) -> Result<Exit, Error> {
    let source = Source::new("--params", text);
    let (m, params) = manifest::check_call(method, &source, conn.protocol)?;
    let command = Command::single(m, &params);
    let plan = Arc::new(Plan::new(Arc::new(vec![command]), conn.protocol, "call", false));
    let mut clients = Vec::with_capacity(conn.urls.len());
    for url in &conn.urls {
        clients.push(crate::client::Client::new(conn.client_config(url)).map_err(|e| Error::Usage(e.to_string()))?);
    }
    let nodes = Arc::new(Nodes::new(clients, conn.urls.clone()));
    let recorder = Arc::new(Recorder::new(plan.commands()));
    let mut listeners: Vec<Arc<dyn Listener>> = vec![recorder.clone()];
    if verbose > 0 {
        listeners.push(Arc::new(output::Log { verbose, secrets: conn.secrets() }));
    }
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime");
    let (_tx, rx) = tokio::sync::watch::channel(false);
    let end = runtime.block_on(executor::execute(
        nodes.clone(),
        plan.clone(),
        &RunOptions { run_id: "call".into(), ..RunOptions::default() },
        &|_| None,
        None,
        rx,
        Arc::new(Fanout(listeners)),
    ));
    let outcomes = recorder.take();
    let o = &outcomes[0];
    match (o.status, o.result_json(), o.error()) {
        (Status::Ok, Some(result), _) => output::line(&serde_json::to_string_pretty(&result).expect("JSON")),
        (Status::Ok, None, _) => output::line("{}"),
        (_, _, Some(e)) => {
            let reply = serde_json::json!({"error": {"code": e.code, "message": e.message}});
            output::line(&serde_json::to_string_pretty(&reply).expect("JSON"));
        }
        _ => {}
    }
    let secrets = conn.secrets();
    let failures = nodes.failures();
    let sources = [source];
    let run = report::Run {
        run_id: "call",
        duration: end.duration,
        sources: &sources,
        commands: plan.commands(),
        outcomes: &outcomes,
        deterministic: false,
        secrets: &secrets,
        warnings: &[],
        nodes: &conn.urls,
        node_failures: &failures,
        exit: Exit::for_outcomes(&outcomes, None),
        signal: None,
    };
    output::stderr(&report::table_recap(&run, output::color_stderr()));
    Ok(run.exit)
}
