//! The glue between the command line and the library: turns parsed
//! arguments into settings, runs a stage, prints, and returns the exit code.

mod call;
pub mod console;
mod output;
mod run;
mod token;

use std::collections::HashMap;
use std::io::Write;

use clap::CommandFactory;
use secrecy::SecretString;

use crate::cli::{Cli, ConnArgs, Sub};
use crate::config::{self, ConnectionFlags, Profile};
use crate::exit;

/// Runs the parsed command line; returns the process exit code.
pub fn main(cli: Cli) -> u8 {
    match cli.command {
        None if cli.files.is_empty() => {
            let _ = Cli::command().print_help();
            exit::INVALID
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
            println!("{}", serde_json::to_string_pretty(&schema).expect("schema serialises"));
            exit::OK
        }
        Some(Sub::Completions { shell }) => {
            clap_complete::generate(shell, &mut Cli::command(), "cent-run", &mut std::io::stdout());
            exit::OK
        }
    }
}

/// Prints an error to stderr (secrets already removed by the caller).
pub fn error(message: &str) {
    let _ = writeln!(std::io::stderr(), "error: {message}");
}

/// The `--profile` section, if one was named.
pub fn profile(conn: &ConnArgs) -> Result<Option<Profile>, config::ConfigError> {
    let Some(name) = &conn.profile else { return Ok(None) };
    let (path, shown) = match &conn.config {
        Some(p) => (p.clone(), p.display().to_string()),
        None => (config::default_config_path().unwrap_or_else(|| ".centrc".into()), "~/.centrc".to_owned()),
    };
    config::load_profile(&path, &shown, name).map(Some)
}

pub fn connection_flags(conn: &ConnArgs) -> ConnectionFlags {
    let nonempty = |s: &Option<String>| s.clone().filter(|s| !s.is_empty()).map(SecretString::from);
    ConnectionFlags {
        url: conn.url.clone().filter(|s| !s.is_empty()),
        api_key: nonempty(&conn.api_key),
        secret: nonempty(&conn.secret),
        protocol: conn.protocol,
        timeout: conn.timeout,
        insecure: conn.insecure,
        cacert: conn.cacert.clone(),
    }
}

/// The HTTP client for a connection, logging requests at `-v`; on error the
/// message is printed (secrets redacted) and the exit code returned.
pub fn client(conn: &config::Connection, verbose: u8) -> Result<crate::client::Client, u8> {
    let secrets = conn.secrets();
    let client = crate::client::Client::new(conn.client_config()).map_err(|e| {
        error(&config::redact(&e.to_string(), &secrets));
        exit::INVALID
    })?;
    Ok(if verbose > 0 { client.with_logger(output::logger(verbose, secrets)) } else { client })
}

pub fn environment() -> HashMap<String, String> {
    std::env::vars().collect()
}
