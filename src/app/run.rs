//! `run`, `check` and `plan`: load and validate everything, settle the
//! settings once, and send only when all of it is valid.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use super::output;
use crate::cli::{Format, RunArgs};
use crate::error::Error;
use crate::executor::{self, Fanout, Listener, Recorder, RunOptions, State};
use crate::exit::Exit;
use crate::manifest::{self, Input, LoadOptions, Manifest};
use crate::report;
use crate::settings::{self, Connection, Layer, Setting};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Run,
    Check,
    Plan,
}

pub fn run(files: &[PathBuf], args: &RunArgs, mode: Mode) -> Result<Exit, Error> {
    let (manifest, settings) = match load(files, args, mode) {
        Ok(loaded) => loaded,
        Err(Error::Invalid(problems)) => {
            invalid(&problems, args, mode);
            return Err(Error::Invalid(problems));
        }
        Err(e) => return Err(e),
    };
    let mut manifest = manifest;
    if let Some((part, parts)) = settings.run.shard {
        let keep = executor::lanes::shard(&manifest.commands, part, parts);
        let mut k = keep.iter();
        std::sync::Arc::make_mut(&mut manifest.commands).retain(|_| *k.next().expect("one flag per command"));
    }
    let mut warnings: Vec<_> = manifest.warnings.iter().chain(&settings.warnings).cloned().collect();
    warnings.extend(oversized(&manifest, &settings.run));
    if !warnings.is_empty() {
        if !args.quiet {
            output::problems(&warnings);
        }
        if github_actions() {
            output::stderr(&report::problem_annotations(&warnings));
        }
    }
    let exit = match mode {
        Mode::Check => {
            let (n, m) = (manifest.commands.len(), manifest.sources.len());
            if args.format == Format::Json {
                let check = report::CheckJson {
                    valid: true,
                    commands: n,
                    protocol: Some(manifest.protocol.as_str()),
                    problems: report::json_problems(&warnings),
                };
                output::line(&serde_json::to_string(&check).expect("JSON"));
            } else if !args.quiet {
                output::line(&format!(
                    "ok: {n} command{} in {m} manifest{} ({} protocol)",
                    if n == 1 { "" } else { "s" },
                    if m == 1 { "" } else { "s" },
                    manifest.protocol
                ));
            }
            Ok(Exit::Ok)
        }
        Mode::Plan => plan(&manifest, &settings.connection, &settings.run),
        Mode::Run => send(&manifest, &settings.connection, settings.run, args, &warnings),
    };
    drop_in_background(manifest);
    exit
}

/// Loads and validates the manifests and settles the settings: every
/// problem with either, or what a run needs.
fn load(files: &[PathBuf], args: &RunArgs, mode: Mode) -> Result<(Manifest, settings::Settings), Error> {
    let profile = super::profile(&args.conn)?;
    let upper = super::upper(args.layer(), profile.as_ref());
    let value = |s: &Option<Setting<_>>| s.as_ref().and_then(|s| s.value.as_ref().ok().copied());
    let opts = LoadOptions {
        vars: args.vars.iter().cloned().collect(),
        env: super::environment(),
        protocol: value(&upper.protocol),
        fallback_protocol: profile.as_ref().and_then(|p| p.implied_protocol()),
        parts: None,
    };
    let inputs: Vec<Input> = files.iter().map(|f| Input::from_arg(f)).collect();
    let manifest = manifest::load(&inputs, &opts)?;
    let env = settings::env_layer(|k| std::env::var(k).ok());
    // The protocol the commands were validated for is the one they are sent with.
    let validated =
        Layer { protocol: Some(Setting::new(manifest.protocol, settings::Origin::Default)), ..Layer::default() };
    let layer = validated.over(upper).over(env).over(manifest.settings.clone());
    let needs = if mode == Mode::Run { settings::Mode::Run } else { settings::Mode::Check };
    let settings = settings::resolve(layer, needs)?;
    Ok((manifest, settings))
}

fn github_actions() -> bool {
    std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true")
}

/// An invalid run still tells a pipeline what is wrong: annotations under
/// GitHub Actions, the report files it asked for, JSON on stdout.
fn invalid(problems: &[crate::manifest::Problem], args: &RunArgs, mode: Mode) {
    if github_actions() {
        output::stderr(&report::problem_annotations(problems));
    }
    if let Some(path) = &args.report_json {
        write_file(path, &|out| report::write_invalid_json(problems, out));
    }
    if let Some(path) = &args.report_junit {
        write_file(path, &|out| out.write_all(report::problems_junit(problems).as_bytes()));
    }
    if args.format == Format::Json {
        let mut text = Vec::new();
        if mode == Mode::Check {
            let check = report::CheckJson {
                valid: false,
                commands: 0,
                protocol: None,
                problems: report::json_problems(problems),
            };
            let _ = serde_json::to_writer(&mut text, &check);
            text.push(b'\n');
        } else {
            let _ = report::write_invalid_json(problems, &mut text);
        }
        output::write(&String::from_utf8_lossy(&text));
    }
}

/// A command whose request alone exceeds `--max-batch-bytes` is sent alone,
/// over the limit a proxy in front of the server may enforce. Its size is
/// the one the batches are cut by (a derived key included).
fn oversized(m: &Manifest, opts: &RunOptions) -> Vec<crate::manifest::Problem> {
    let plan = executor::Plan::new(m.commands.clone(), m.protocol, &opts.run_id, opts.idempotency);
    (0..plan.len())
        .filter(|&i| plan.size(i) > opts.max_batch_bytes)
        .take(10)
        .map(|i| {
            let c = plan.command(i);
            let p = crate::manifest::Problem::error(format!(
                "command #{} ({}) is {} bytes, over --max-batch-bytes {}: it is sent alone, in a request over the limit",
                c.index,
                c.method.name,
                plan.size(i),
                opts.max_batch_bytes
            ));
            let src = &m.sources[c.manifest()];
            p.at(src, crate::manifest::Span { offset: c.offset(), len: 1 }, "this command").warning()
        })
        .collect()
}

/// Writes one report file through a buffer; a failure is said once.
fn write_file(path: &PathBuf, fill: &dyn Fn(&mut dyn Write) -> std::io::Result<()>) {
    let written = std::fs::File::create(path).and_then(|f| {
        let mut out = std::io::BufWriter::new(f);
        fill(&mut out)?;
        out.flush()
    });
    if let Err(e) = written {
        output::error(&format!("cannot write {}: {e}", path.display()));
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

/// Frees `value` on another thread: freeing the commands of a large
/// manifest takes up to a tenth of a second, and the process exits next.
fn drop_in_background<T: Send + 'static>(value: T) {
    std::thread::spawn(move || drop(value));
}

fn client(conn: &Connection) -> Result<crate::client::Client, Error> {
    crate::client::Client::new(conn.client_config(&conn.urls[0])).map_err(|e| Error::Usage(e.to_string()))
}

fn plan(m: &Manifest, conn: &Connection, opts: &RunOptions) -> Result<Exit, Error> {
    let client = client(conn)?;
    let plan = executor::Plan::new(m.commands.clone(), conn.protocol, &opts.run_id, opts.idempotency);
    let batches = executor::plan_batches(&plan, opts);
    let secrets = conn.secrets();
    let mut out = String::new();
    let requests = batches.iter().filter(|b| !m.commands[b[0]].is_wait()).count();
    out.push_str(&format!(
        "# run {}: {} commands in {} requests, protocol {}\n",
        opts.run_id,
        plan.len(),
        requests,
        conn.protocol
    ));
    let mut n = 0;
    for cmds in &batches {
        let first = &m.commands[cmds[0]];
        if let Some(steps) = first.steps.as_ref().filter(|s| s.wait.is_some()) {
            let pause = report::duration(steps.wait.unwrap_or_default());
            out.push_str(&format!(
                "\n# step {} ({}:{}): wait {pause} — every request above is answered first\n",
                first.index,
                m.sources[first.manifest()].name,
                first.line
            ));
            continue;
        }
        n += 1;
        out.push_str(&format!("\n# request {n} of {requests}: commands {}\n", describe(m, cmds)));
        for &c in cmds {
            // Shown by its index in the whole run (a shard holds a part of it).
            let cmd = &m.commands[c];
            if cmd.method.pro {
                let i = cmd.index;
                out.push_str(&format!("# command {i} ({}) is PRO-only: an OSS server answers 104\n", cmd.method.name));
            }
            out.push_str(&steps_plan(cmd.index(), cmd));
        }
        let encoded: Vec<_> = cmds.iter().map(|&c| plan.encoded(c)).collect();
        let body = crate::protocol::body(conn.protocol, &encoded);
        let req = client.request(body, true);
        out.push_str(&format!("POST {}\n", req.url));
        for (k, v) in &req.headers {
            out.push_str(&format!("{k}: {v}\n"));
        }
        let body = String::from_utf8_lossy(&req.body);
        out.push_str(&format!("\n{}\n", manifest::steps::shown_placeholders(&secrets.redact(&body))));
        if out.len() > 1 << 16 {
            output::write(&out);
            out.clear();
        }
    }
    output::write(&out);
    Ok(Exit::Ok)
}

/// A command's checks, repeats and saves, as plan comments.
fn steps_plan(c: usize, cmd: &crate::manifest::Command) -> String {
    let Some(s) = &cmd.steps else { return String::new() };
    let mut out = String::new();
    if !s.uses.is_empty() {
        let names: Vec<String> = s.uses.iter().map(|n| format!("${{{n}}}")).collect();
        out.push_str(&format!("# command {c} starts after {} are saved, and is filled with them\n", names.join(", ")));
    }
    if let Some(u) = &s.until {
        out.push_str(&format!(
            "# command {c} is sent every {} until its checks hold, for at most {}\n",
            report::duration(u.every),
            report::duration(u.timeout)
        ));
    }
    if let Some((code, at)) = &s.expect_error {
        out.push_str(&format!("# command {c} expects the server to refuse it with {code} ({at})\n"));
    }
    for check in &s.expect {
        let wanted = manifest::steps::shown_placeholders(&check.wanted.to_string());
        out.push_str(&format!("# command {c} expects {} {} {wanted} ({})\n", check.path, check.op.as_str(), check.at));
    }
    for (name, path) in &s.save {
        out.push_str(&format!("# command {c} saves ${{{name}}} = result.{path}\n"));
    }
    out
}

fn describe(m: &Manifest, cmds: &[usize]) -> String {
    cmds.iter()
        .map(|&c| {
            let cmd = &m.commands[c];
            format!("{} ({}:{})", cmd.index, m.sources[cmd.manifest()].name, cmd.line)
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn send(
    m: &Manifest,
    conn: &Connection,
    mut opts: RunOptions,
    args: &RunArgs,
    warnings: &[crate::manifest::Problem],
) -> Result<Exit, Error> {
    // Report files that cannot be written are bad options: find out before sending.
    for path in [&args.report_json, &args.report_junit].into_iter().flatten() {
        std::fs::File::create(path).map_err(|e| Error::Usage(format!("cannot write {}: {e}", path.display())))?;
    }
    let state = match &args.state {
        Some(path) => Some(Arc::new(State::open(path, &opts.run_id).map_err(|e| Error::Usage(e.to_string()))?)),
        None => None,
    };
    if let Some(s) = &state {
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
    if args.log.verbose > 0 {
        listeners.push(Arc::new(output::Log { verbose: args.log.verbose, secrets: conn.secrets() }));
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
        let applied = |i: usize, c: &manifest::Command| state.as_ref().is_some_and(|s| s.is_applied(i, c));
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
        deterministic: std::env::var_os("CENT_RUN_DETERMINISTIC").is_some_and(|v| v == "1"),
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
    if github_actions() {
        // Annotations are for the log, never in machine-readable stdout.
        let annotations = report::annotations(&run);
        match args.format {
            Format::Json => output::stderr(&annotations),
            Format::Table => output::write(&annotations),
        }
        if let Some(path) = std::env::var_os("GITHUB_STEP_SUMMARY") {
            let appended = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
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
    drop_in_background((plan, outcomes));
    Ok(exit)
}
