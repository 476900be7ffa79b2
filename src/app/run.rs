//! `run`, `check` and `plan`: load and validate every manifest, settle the
//! settings once, and hand the result to the mode — sending happens only
//! when all of it is valid.

use std::path::PathBuf;

use super::outputs::{Format, Outputs, write_file};
use super::{check, output, plan, send};
use crate::cli::ProfileArgs;
use crate::error::Error;
use crate::exit::Exit;
use crate::manifest::{self, Input, LoadOptions, Problem};
use crate::report;
use crate::resolve::{self, Sources};
use crate::settings::table::Key;
use crate::settings::{Env, Layer, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Run,
    Check,
    Plan,
}

pub(crate) fn run(
    files: &[PathBuf],
    flags: Layer,
    profile: &ProfileArgs,
    env: &Env,
    mode: Mode,
) -> Result<Exit, Error> {
    let outputs = Outputs::new(&flags, env);
    let loaded = super::sources(flags, profile, env).and_then(|sources| {
        let listed = |k| sources.flags.value(k).map(Value::as_list).unwrap_or_default().to_vec();
        let (tags, skip, only) = (listed(Key::Tags), listed(Key::SkipTags), listed(Key::Only));
        let selects = !(tags.is_empty() && skip.is_empty() && only.is_empty());
        // `check` validates every command and keeps none it does not need
        // (a selection needs them all).
        let opts = LoadOptions { count_only: mode == Mode::Check && !selects, ..load_options(&sources, env)? };
        let inputs: Vec<Input> = files.iter().map(|f| Input::from_arg(f)).collect();
        let mut manifest = manifest::load(&inputs, &opts)?;
        let needs = if mode == Mode::Run { resolve::Mode::Run } else { resolve::Mode::Check };
        let settled = sources.settle(&manifest.settings, needs)?;
        if manifest.counted > 0 && (plan::may_be_oversized(&manifest, &settled.run) || settled.server_config.is_some())
        {
            // Which commands are over the limit or refused, exactly: they are needed whole.
            manifest = manifest::load(&inputs, &LoadOptions { count_only: false, ..opts.clone() })?;
        }
        let selection = manifest::select::select(&manifest, &tags, &skip, &only)?;
        refused_by_config(&manifest, &settled)?;
        Ok((manifest, settled, secret_values(&opts), selection))
    });
    let loaded =
        loaded.and_then(|(manifest, settings, secrets, selection)| match listeners_keyless(&manifest, &settings) {
            Some(p) if mode == Mode::Run => Err(Error::Invalid(vec![p])),
            _ => Ok((manifest, settings, secrets, selection)),
        });
    let (mut manifest, settings, secrets, selection) = match loaded {
        Ok(loaded) => loaded,
        Err(Error::Invalid(problems)) => {
            invalid(&problems, &outputs, mode, files);
            return Err(Error::Invalid(problems));
        }
        Err(e) => return Err(e),
    };
    // Identity by content, run-wide, before a shard is cut: what derived
    // keys and the state file name a command by (nothing else reads it).
    if mode != Mode::Check && (settings.run.idempotency || outputs.state.is_some()) {
        manifest::number_occurrences(std::sync::Arc::make_mut(&mut manifest.commands).as_mut_slice());
    }
    if let Some(sel) = selection.as_ref().filter(|_| mode == Mode::Plan) {
        // The plan shows the requests of what runs, and says what does not.
        output::line(&format!(
            "# left out: {} of {} commands, not selected by {}",
            sel.left_out(),
            sel.keep.len(),
            sel.why
        ));
        let mut k = sel.keep.iter();
        std::sync::Arc::make_mut(&mut manifest.commands).retain(|_| *k.next().expect("one flag per command"));
    }
    if let Some((part, parts)) = settings.run.shard {
        let keep = crate::executor::lanes::shard(&manifest.commands, part, parts);
        let mut k = keep.iter();
        std::sync::Arc::make_mut(&mut manifest.commands).retain(|_| *k.next().expect("one flag per command"));
    }
    let mut warnings: Vec<Problem> = manifest.warnings.iter().chain(&settings.warnings).cloned().collect();
    warnings.extend(plan::oversized(&manifest, &settings.run));
    outputs.warn(&warnings);
    let exit = match mode {
        Mode::Check => check::check(&manifest, &warnings, &outputs, settings.server_config.as_ref()),
        Mode::Plan => plan::plan(&manifest, &settings, secrets),
        Mode::Run => send::send(&mut manifest, settings, &outputs, warnings, secrets, selection.as_ref()),
    };
    output::drop_in_background(manifest);
    exit
}

/// A manifest that listens needs a key to sign its listeners' tokens:
/// located at the first `listen:` step when there is none.
fn listeners_keyless(m: &manifest::Manifest, settings: &crate::resolve::Settings) -> Option<Problem> {
    let c = m.commands.iter().find(|c| c.is_listen())?;
    if settings.connection.token.is_some() {
        return None;
    }
    let span = crate::diagnostic::Span { offset: c.offset(), len: 1 };
    Some(
        Problem::error("a `listen:` step needs a key to sign its client's tokens")
            .at(&m.sources[c.manifest()], span, "needs a token key")
            .help("give --token-secret-file FILE (or CENTRIFUGO_TOKEN_SECRET, or server.token_secret): the server's client token HMAC secret; or --token-algorithm RS256 with --token-key-file PRIVATE.pem"),
    )
}

/// Commands the server's own configuration (`--server-config`) says it
/// would refuse: errors, as the manifest's own are (the user said what the
/// server holds), the manifests' warnings with them — for every mode, on the
/// whole run before a shard is cut.
fn refused_by_config(manifest: &manifest::Manifest, settings: &resolve::Settings) -> Result<(), Error> {
    let Some(config) = &settings.server_config else { return Ok(()) };
    let mut problems = config.refusals(manifest);
    if problems.is_empty() {
        return Ok(());
    }
    problems.extend(manifest.warnings.iter().cloned());
    Err(Error::Invalid(problems))
}

/// The values of the secret variables: kept out of every output, as the
/// credentials are.
fn secret_values(opts: &LoadOptions) -> Vec<String> {
    opts.secret_names
        .iter()
        .filter_map(|n| match (opts.vars.get(n), opts.typed_vars.get(n)) {
            (Some(text), _) => Some(text.clone()),
            (None, Some(serde_json::Value::String(s))) => Some(s.clone()),
            (None, Some(other)) => Some(other.to_string()),
            (None, None) => None,
        })
        .collect()
}

/// What loading takes from the options: variables (`--var`, variable
/// files, secret variables), whether `${NAME}` reads the environment, the
/// file root, the protocol.
pub(crate) fn load_options(sources: &Sources, env: &Env) -> Result<LoadOptions, Error> {
    let flags = &sources.flags;
    let upper = sources.upper();
    let assigned = |k| flags.value(k).map(Value::as_assign).unwrap_or_default().to_vec();
    let listed = |k| flags.value(k).map(Value::as_list).unwrap_or_default().to_vec();
    let mut opts = LoadOptions {
        vars: assigned(Key::Var).into_iter().collect(),
        env: env.vars().clone(),
        read_env: upper.value(Key::Env).and_then(Value::as_bool),
        file_root: flags.value(Key::FileRoot).and_then(Value::as_path).cloned(),
        protocol: sources.protocol(),
        fallback_protocol: sources.implied_protocol(),
        naming: manifest::Naming::Cli,
        ..LoadOptions::default()
    };
    let mut problems = Vec::new();
    for (secret, key) in [(false, Key::VarFile), (true, Key::SecretVarFile)] {
        for file in listed(key) {
            match manifest::read_var_file(std::path::Path::new(&file)) {
                Ok(vars) => {
                    for (name, value) in vars {
                        if secret {
                            opts.secret_names.insert(name.clone());
                        }
                        opts.typed_vars.insert(name, value);
                    }
                }
                Err(p) => problems.push(*p),
            }
        }
    }
    for (name, value) in assigned(Key::SecretVar) {
        opts.secret_names.insert(name.clone());
        opts.vars.insert(name, value);
    }
    for name in listed(Key::SecretEnv) {
        match env.get(&name) {
            Some(v) => {
                opts.secret_names.insert(name.clone());
                opts.typed_vars.insert(name, serde_json::Value::String(v.to_owned()));
            }
            None => problems
                .push(Problem::error(format!("--secret-env {name}: the environment variable {name} is not set"))),
        }
    }
    if problems.is_empty() { Ok(opts) } else { Err(Error::Invalid(problems)) }
}

/// An invalid run still tells a pipeline what is wrong: annotations under
/// GitHub Actions, the report files it asked for, JSON on stdout.
fn invalid(problems: &[Problem], outputs: &Outputs, mode: Mode, files: &[PathBuf]) {
    if outputs.github {
        output::stderr(&report::problem_annotations(problems));
        if let Some(path) = &outputs.step_summary {
            super::outputs::append_step_summary(path, &report::invalid_step_summary(problems));
        }
    }
    if let Some(path) = &outputs.report_json {
        write_file(path, &|out| report::write_invalid_json(problems, out));
    }
    if let Some(path) = &outputs.report_junit {
        write_file(path, &|out| out.write_all(report::problems_junit(problems).as_bytes()));
    }
    if let Some(path) = &outputs.report_html {
        write_file(path, &|out| report::write_invalid_html(problems, out));
    }
    if let Some(path) = &outputs.metrics_file {
        let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
        let labels = report::MetricsLabels::new(names.iter().map(String::as_str), outputs.metrics_name.as_deref());
        let previous = std::fs::read_to_string(path).ok();
        let now = std::time::SystemTime::now();
        write_file(path, &|out| report::write_metrics(None, &labels, previous.as_deref(), now, out));
    }
    if outputs.format == Format::Json {
        let mut text = Vec::new();
        if mode == Mode::Check {
            check::write_json(&mut text, None, problems);
        } else {
            let _ = report::write_invalid_json(problems, &mut text);
        }
        output::write(&String::from_utf8_lossy(&text));
    }
}
