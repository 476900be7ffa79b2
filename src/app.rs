//! The glue between the command line and the library: each subcommand turns
//! its parsed arguments into settings, runs a stage, prints, and returns an
//! `Exit` — or an `Error`, printed here with its exit code.

mod call;
mod check;
mod console;
mod output;
mod outputs;
mod plan;
mod run;
mod send;
mod token;

use clap::{CommandFactory, Parser};

use crate::cli::{Cli, ProfileArgs, Sub};
use crate::error::Error;
use crate::exit::Exit;
use crate::resolve::Sources;
use crate::settings::{self, Env, Layer};

/// The `cent-run` program: its arguments in, how the process ends out.
pub fn cent_run() -> Exit {
    let env = Env::read();
    output::init(&env);
    main(Cli::parse(), &env)
}

/// The `cent` console program: its arguments in, how the process ends out.
pub fn cent() -> Exit {
    let env = Env::read();
    output::init(&env);
    console::main(console::ConsoleCli::parse(), &env)
}

/// Runs the parsed command line; returns how the process ends.
fn main(cli: Cli, env: &Env) -> Exit {
    let result = match cli.command {
        None if cli.files.is_empty() => {
            let _ = Cli::command().print_help();
            Ok(Exit::Invalid)
        }
        None => match mistyped_subcommand(&cli.files[0]) {
            Some(e) => Err(e),
            None => run::run(&cli.files, cli.settings.layer, &cli.profile, env, run::Mode::Run),
        },
        Some(Sub::Run { files, settings, profile }) => run::run(&files, settings.layer, &profile, env, run::Mode::Run),
        Some(Sub::Check { files, settings, profile }) => {
            run::run(&files, settings.layer, &profile, env, run::Mode::Check)
        }
        Some(Sub::Plan { files, settings, profile }) => {
            run::run(&files, settings.layer, &profile, env, run::Mode::Plan)
        }
        Some(Sub::Call { method, params, settings, profile }) => {
            call::call(&method, params.as_deref(), settings.layer, &profile, env)
        }
        Some(Sub::Token(t)) => token::token(t, env),
        Some(Sub::Schema { report }) => {
            let schema = if report { crate::report::schema::both() } else { crate::manifest::schema::schema() };
            output::line(&serde_json::to_string_pretty(&schema).expect("schema serialises"));
            Ok(Exit::Ok)
        }
        Some(Sub::Completions { shell }) => {
            output::write(&output::completions(shell));
            Ok(Exit::Ok)
        }
        Some(Sub::Man { subcommand }) => output::man(subcommand.as_deref()),
    };
    finish(result)
}

/// `cent-run chek x.yaml`: a first argument that is no file but is near a
/// subcommand's name is a typo, not a manifest that cannot be read.
fn mistyped_subcommand(first: &std::path::Path) -> Option<Error> {
    let word = first.to_str()?;
    if first.exists() || word == "-" || word.contains(['/', '.']) {
        return None;
    }
    let cmd = Cli::command();
    let names: Vec<&str> = cmd.get_subcommands().map(|s| s.get_name()).collect();
    let near = crate::diagnostic::did_you_mean(word, names.iter().copied())?;
    Some(Error::Usage(format!("`{word}` is neither a subcommand nor a manifest file: did you mean `cent-run {near}`?")))
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

/// The sources of a subcommand's settings: its flags, the `--profile`
/// section if one was named, the environment.
fn sources(flags: Layer, profile: &ProfileArgs, env: &Env) -> Result<Sources, Error> {
    let profile = match &profile.profile {
        Some(name) => settings::load_profile(profile.config.as_deref(), name, env)?,
        None => settings::Profile::default(),
    };
    Ok(Sources { flags, profile, env: env.layer() })
}
