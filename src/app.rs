//! The glue between the command line and the library: each subcommand turns
//! its parsed arguments into settings, runs a stage, prints, and returns an
//! `Exit` — or an `Error`, printed here with its exit code.

mod call;
mod console;
mod output;
mod run;
mod token;

use std::collections::HashMap;

use clap::{CommandFactory, Parser};

use crate::cli::{Cli, ConnArgs, Sub};
use crate::error::Error;
use crate::exit::Exit;
use crate::settings::{self, Layer, Profile};

/// The `cent-run` program: its arguments in, how the process ends out.
pub fn cent_run() -> Exit {
    main(Cli::parse())
}

/// The `cent` console program: its arguments in, how the process ends out.
pub fn cent() -> Exit {
    console::main(console::ConsoleCli::parse())
}

/// Runs the parsed command line; returns how the process ends.
fn main(cli: Cli) -> Exit {
    let result = match cli.command {
        None if cli.files.is_empty() => {
            let _ = Cli::command().print_help();
            Ok(Exit::Invalid)
        }
        None => run::run(&cli.files, &cli.run, run::Mode::Run),
        Some(Sub::Run { files, run }) => run::run(&files, &run, run::Mode::Run),
        Some(Sub::Check { files, run }) => run::run(&files, &run, run::Mode::Check),
        Some(Sub::Plan { files, run }) => run::run(&files, &run, run::Mode::Plan),
        Some(Sub::Call { method, params, conn, output }) => {
            call::call(&method, params.as_deref(), &conn, output.verbose)
        }
        Some(Sub::Token(t)) => token::token(t),
        Some(Sub::Schema) => {
            let schema = crate::manifest::schema::schema();
            output::line(&serde_json::to_string_pretty(&schema).expect("schema serialises"));
            Ok(Exit::Ok)
        }
        Some(Sub::Completions { shell }) => {
            output::write(&output::completions(shell));
            Ok(Exit::Ok)
        }
    };
    finish(result)
}

/// Prints an error (its text carries no secret: secrets are kept out where
/// outside text enters) and gives its exit code.
fn finish(result: Result<Exit, Error>) -> Exit {
    match result {
        Ok(exit) => exit,
        Err(e) => {
            match &e {
                Error::Invalid(problems) => output::problems(problems),
                other => output::error(&other.to_string()),
            }
            e.exit()
        }
    }
}

/// The `--profile` section, if one was named.
fn profile(conn: &ConnArgs) -> Result<Option<Profile>, Error> {
    let Some(name) = &conn.profile else { return Ok(None) };
    Ok(Some(settings::load_profile(conn.config.as_deref(), name)?))
}

/// Flags over the profile: the settings that beat the environment and the manifest.
fn upper(flags: Layer, profile: Option<&Profile>) -> Layer {
    flags.over(profile.map(Profile::layer).unwrap_or_default())
}

fn environment() -> HashMap<String, String> {
    std::env::vars().collect()
}
