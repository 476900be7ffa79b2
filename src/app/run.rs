//! `run`, `check` and `plan`: load and validate everything first; send only
//! when all of it is valid.

use std::borrow::Cow;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use super::output;
use crate::cli::{Format, RunArgs};
use crate::config::{self, Connection};
use crate::executor::{self, RetryPolicy, RunOptions, State};
use crate::manifest::{self, LoadOptions, Manifest, Problem};
use crate::{exit, report};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Run,
    Check,
    Plan,
}

pub fn run(files: &[PathBuf], args: &RunArgs, mode: Mode) -> u8 {
    let profile = match super::profile(&args.conn) {
        Ok(p) => p,
        Err(e) => {
            super::error(&e.to_string());
            return exit::INVALID;
        }
    };
    let opts = LoadOptions {
        vars: args.vars.iter().cloned().collect(),
        env: super::environment(),
        protocol: args.conn.protocol,
        fallback_protocol: profile.as_ref().and_then(|p| p.implied_protocol()),
    };
    let manifest = match manifest::load(files, &opts) {
        Ok(m) => m,
        Err(problems) => {
            eprint!("{}", manifest::diagnostic::render(&problems, output::color_stderr()));
            return exit::INVALID;
        }
    };
    let conn =
        config::resolve(&super::connection_flags(&args.conn), &manifest.server, profile.as_ref(), manifest.protocol);
    let mut warnings = manifest.warnings.clone();
    if let Some(missing) = conn.missing_credential() {
        if mode == Mode::Run {
            super::error(missing);
            return exit::INVALID;
        }
        warnings.push(Problem::error(missing).warning());
    }
    if !warnings.is_empty() && !args.quiet {
        eprint!("{}", manifest::diagnostic::render(&warnings, output::color_stderr()));
    }
    let run_opts = run_options(args, &manifest);
    let code = match mode {
        Mode::Check => {
            if !args.quiet {
                println!(
                    "ok: {} command{} in {} manifest{} ({} protocol)",
                    manifest.commands.len(),
                    if manifest.commands.len() == 1 { "" } else { "s" },
                    manifest.sources.len(),
                    if manifest.sources.len() == 1 { "" } else { "s" },
                    manifest.protocol
                );
            }
            exit::OK
        }
        Mode::Plan => plan(&manifest, &conn, &run_opts),
        Mode::Run => send(&manifest, &conn, run_opts, args),
    };
    drop_in_background(manifest);
    code
}

/// Frees `value` on another thread: freeing the commands of a large
/// manifest takes up to a tenth of a second, and the process exits next.
fn drop_in_background<T: Send + 'static>(value: T) {
    std::thread::spawn(move || drop(value));
}

fn run_options(args: &RunArgs, m: &Manifest) -> RunOptions {
    let d = &m.defaults;
    let base = RunOptions::default();
    RunOptions {
        concurrency: args.concurrency.map(|n| n as usize).or(d.concurrency).unwrap_or(base.concurrency),
        batch_size: args.batch_size.map(|n| n as usize).or(d.batch_size).unwrap_or(base.batch_size),
        max_batch_bytes: args.max_batch_bytes.map(|n| n as usize).or(d.max_batch_bytes).unwrap_or(base.max_batch_bytes),
        retry: RetryPolicy { retries: args.retries.or(d.retries).unwrap_or(base.retry.retries), ..base.retry },
        rate: args.rate.or(d.rate),
        fail_fast: args.fail_fast || d.fail_fast.unwrap_or(false),
        run_id: args.run_id.clone().unwrap_or(base.run_id),
        grace: base.grace,
    }
}

fn plan(m: &Manifest, conn: &Connection, opts: &RunOptions) -> u8 {
    let client = match super::client(conn, 0) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let prepared = executor::prepare(&m.commands, conn.protocol, &opts.run_id);
    let batches = executor::plan_batches(&prepared, opts);
    let secrets = conn.secrets();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let _ = writeln!(
        out,
        "# run {}: {} commands in {} requests, protocol {}",
        opts.run_id,
        prepared.len(),
        batches.len(),
        conn.protocol
    );
    for (b, cmds) in batches.iter().enumerate() {
        let _ = writeln!(out, "\n# request {} of {}: commands {}", b + 1, batches.len(), describe(m, cmds));
        for &c in cmds {
            if m.commands[c].method.pro {
                let _ = writeln!(
                    out,
                    "# command {} ({}) is PRO-only: an OSS server answers 104",
                    c, m.commands[c].method.name
                );
            }
        }
        let body = crate::protocol::body(conn.protocol, cmds.iter().map(|&c| &prepared[c].encoded));
        let req = client.request(body, true);
        let _ = writeln!(out, "POST {}", req.url);
        for (k, v) in &req.headers {
            let _ = writeln!(out, "{k}: {v}");
        }
        let _ = writeln!(out, "\n{}", config::redact(&String::from_utf8_lossy(&req.body), &secrets));
    }
    exit::OK
}

fn describe(m: &Manifest, cmds: &[usize]) -> String {
    cmds.iter()
        .map(|&c| {
            let cmd = &m.commands[c];
            format!("{c} ({}:{})", m.sources[cmd.manifest].name, cmd.line)
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn send(m: &Manifest, conn: &Connection, mut opts: RunOptions, args: &RunArgs) -> u8 {
    let secrets = conn.secrets();
    // Report files that cannot be written are bad options: find out before sending.
    for path in [&args.report_json, &args.report_junit].into_iter().flatten() {
        if let Err(e) = std::fs::File::create(path) {
            super::error(&format!("cannot write {}: {e}", path.display()));
            return exit::INVALID;
        }
    }
    let mut state = match &args.state {
        Some(path) => match State::open(path, &opts.run_id) {
            Ok(s) => Some(s),
            Err(e) => {
                super::error(&e.to_string());
                return exit::INVALID;
            }
        },
        None => None,
    };
    if let Some(s) = &state {
        // Re-sends after a broken run reuse its idempotency keys.
        opts.run_id = s.run_id.clone();
    }
    let client = match super::client(conn, args.log.verbose) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let prepared = Arc::new(executor::prepare(&m.commands, conn.protocol, &opts.run_id));
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    let bar = output::progress(prepared.len(), args.quiet || args.format == Format::Json);
    let result = runtime.block_on(async {
        let (tx, rx) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                let _ = tx.send(true);
            }
        });
        let progress = |n: usize| {
            if let Some(b) = &bar {
                b.inc(n as u64);
            }
        };
        executor::execute(&client, prepared.clone(), &opts, state.as_mut(), rx, &progress).await
    });
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    runtime.shutdown_background();
    let run = report::Run {
        run_id: &result.run_id,
        duration: result.duration,
        sources: &m.sources,
        commands: &m.commands,
        outcomes: &result.outcomes,
        deterministic: args.deterministic,
    };
    let code = exit::for_outcomes(&result.outcomes, result.interrupted);
    let redact: &dyn Fn(&str) -> Cow<'_, str> = &|s| config::redact(s, &secrets);
    // One report file: written through a buffer, a failure said once.
    let write = |path: &PathBuf, fill: &dyn Fn(&mut dyn Write) -> std::io::Result<()>| {
        let written = std::fs::File::create(path).and_then(|f| {
            let mut out = std::io::BufWriter::new(f);
            fill(&mut out)?;
            out.flush()
        });
        if let Err(e) = written {
            super::error(&format!("cannot write {}: {e}", path.display()));
        }
    };
    if let Some(path) = &args.report_json {
        write(path, &|out| report::write_json(&run, out, redact));
    }
    if let Some(path) = &args.report_junit {
        write(path, &|out| out.write_all(redact(&report::junit_report(&run)).as_bytes()));
    }
    let mut stdout = std::io::BufWriter::new(std::io::stdout().lock());
    match args.format {
        Format::Json => {
            let _ = report::write_json(&run, &mut stdout, redact);
        }
        Format::Table if args.quiet => {
            let _ = writeln!(stdout, "{}", redact(&report::summary_line(&run)));
        }
        Format::Table => {
            let _ = write!(stdout, "{}", redact(&report::table(&run, output::color_stdout())));
        }
    }
    let _ = stdout.flush();
    if std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true") {
        let _ = write!(stdout, "{}", redact(&report::annotations(&run)));
        let _ = stdout.flush();
        if let Some(path) = std::env::var_os("GITHUB_STEP_SUMMARY") {
            let summary = report::step_summary(&run);
            let text = redact(&summary);
            let appended = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .and_then(|mut f| f.write_all(text.as_bytes()));
            if let Err(e) = appended {
                super::error(&format!("cannot append to GITHUB_STEP_SUMMARY: {e}"));
            }
        }
    }
    if let Some(e) = &result.state_error {
        super::error(&e.to_string());
    }
    if result.interrupted {
        super::error("interrupted: unsent commands are reported as skipped");
    }
    drop_in_background((prepared, result));
    code
}
