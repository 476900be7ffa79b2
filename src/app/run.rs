//! `run`, `check` and `plan`: load and validate every manifest, settle the
//! settings once, and hand the result to the mode — sending happens only
//! when all of it is valid.

use std::path::PathBuf;

use super::outputs::{Format, Outputs, write_file};
use super::{check, output, plan, send};
use crate::cli::ProfileArgs;
use crate::error::Error;
use crate::exit::Exit;
use crate::manifest::{self, Input, LoadOptions, Manifest, Problem};
use crate::report;
use crate::resolve::{self, Sources};
use crate::settings::table::Key;
use crate::settings::{Env, Layer, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Run,
    Check,
    Plan,
}

pub fn run(files: &[PathBuf], flags: Layer, profile: &ProfileArgs, env: &Env, mode: Mode) -> Result<Exit, Error> {
    let outputs = Outputs::new(&flags, env);
    let loaded = super::sources(flags, profile, env).and_then(|sources| {
        let manifest = load(files, &sources, env)?;
        let settled = sources
            .settle(&manifest.settings, if mode == Mode::Run { resolve::Mode::Run } else { resolve::Mode::Check })?;
        Ok((manifest, settled))
    });
    let (mut manifest, settings) = match loaded {
        Ok(loaded) => loaded,
        Err(Error::Invalid(problems)) => {
            invalid(&problems, &outputs, mode);
            return Err(Error::Invalid(problems));
        }
        Err(e) => return Err(e),
    };
    if let Some((part, parts)) = settings.run.shard {
        let keep = crate::executor::lanes::shard(&manifest.commands, part, parts);
        let mut k = keep.iter();
        std::sync::Arc::make_mut(&mut manifest.commands).retain(|_| *k.next().expect("one flag per command"));
    }
    let mut warnings: Vec<Problem> = manifest.warnings.iter().chain(&settings.warnings).cloned().collect();
    warnings.extend(plan::oversized(&manifest, &settings.run));
    warn(&warnings, &outputs);
    let exit = match mode {
        Mode::Check => check::check(&manifest, &warnings, &outputs),
        Mode::Plan => plan::plan(&manifest, &settings),
        Mode::Run => send::send(&manifest, settings, &outputs, &warnings),
    };
    drop_in_background(manifest);
    exit
}

/// Loads and validates the manifests with the variables, environment and
/// protocol the sources give.
fn load(files: &[PathBuf], sources: &Sources, env: &Env) -> Result<Manifest, Error> {
    let flags = &sources.flags;
    let opts = LoadOptions {
        vars: flags.value(Key::Var).map(Value::as_assign).unwrap_or_default().iter().cloned().collect(),
        env: env.vars().clone(),
        protocol: sources.protocol(),
        fallback_protocol: sources.implied_protocol(),
        parts: None,
    };
    let inputs: Vec<Input> = files.iter().map(|f| Input::from_arg(f)).collect();
    Ok(manifest::load(&inputs, &opts)?)
}

/// Warnings on stderr (not with `--quiet`), and as annotations under GitHub Actions.
fn warn(warnings: &[Problem], outputs: &Outputs) {
    if warnings.is_empty() {
        return;
    }
    if !outputs.quiet {
        output::problems(warnings);
    }
    if outputs.github {
        output::stderr(&report::problem_annotations(warnings));
    }
}

/// An invalid run still tells a pipeline what is wrong: annotations under
/// GitHub Actions, the report files it asked for, JSON on stdout.
fn invalid(problems: &[Problem], outputs: &Outputs, mode: Mode) {
    if outputs.github {
        output::stderr(&report::problem_annotations(problems));
    }
    if let Some(path) = &outputs.report_json {
        write_file(path, &|out| report::write_invalid_json(problems, out));
    }
    if let Some(path) = &outputs.report_junit {
        write_file(path, &|out| out.write_all(report::problems_junit(problems).as_bytes()));
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

/// Frees `value` on another thread: freeing the commands of a large
/// manifest takes up to a tenth of a second, and the process exits next.
pub fn drop_in_background<T: Send + 'static>(value: T) {
    std::thread::spawn(move || drop(value));
}
