//! `cent SECTION METHOD [--params JSON] [--config PATH]`: the original
//! console client. The section comes from `~/.centrc`; params from
//! `--params`, or from stdin when it is not a terminal; the reply is printed
//! as JSON. Unlike the original it exits non-zero on a server error.

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::Parser;

use crate::config;
use crate::exit;

/// Centrifuge client: call one server-API method with a ~/.centrc profile.
#[derive(Debug, Parser)]
#[command(name = "cent", version, after_help = crate::exit::TABLE)]
pub struct ConsoleCli {
    /// Section (profile) of the configuration file.
    pub section: String,
    /// Method name, e.g. publish, history, info (stats on v1).
    pub method: String,
    /// Params as a JSON object (read from stdin when not given and stdin is not a terminal).
    #[arg(long, allow_hyphen_values = true)]
    pub params: Option<String>,
    /// Configuration file.
    #[arg(long, default_value = "~/.centrc")]
    pub config: String,
    /// Log requests to stderr (-vv adds bodies); secrets are redacted.
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

pub fn main(cli: ConsoleCli) -> u8 {
    let path = match cli.config.strip_prefix("~/") {
        Some(rest) => {
            std::env::var_os("HOME").map_or_else(|| PathBuf::from(&cli.config), |h| PathBuf::from(h).join(rest))
        }
        None => PathBuf::from(&cli.config),
    };
    let profile = match config::load_profile(&path, &cli.config, &cli.section) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("{e}");
            return exit::INVALID;
        }
    };
    let params = match (&cli.params, std::io::stdin().is_terminal()) {
        (Some(p), _) => super::call::read_params(Some(p)),
        (None, false) => super::call::read_params(Some("-")),
        (None, true) => super::call::read_params(None),
    };
    let params = match params {
        Ok(p) => p,
        Err(e) => {
            eprintln!("{e}");
            return exit::INVALID;
        }
    };
    let protocol = profile.implied_protocol().unwrap_or_default();
    let conn = config::resolve(&Default::default(), &Default::default(), Some(&profile), protocol);
    if profile.address.is_none() {
        eprintln!("No option 'address' in section: '{}'", cli.section);
        return exit::INVALID;
    }
    if let Some(missing) = conn.missing_credential() {
        eprintln!("section [{}]: {missing}", cli.section);
        return exit::INVALID;
    }
    // v1 servers call it `stats`.
    let method = match (cli.method.as_str(), protocol) {
        ("info", crate::protocol::Protocol::V1) => "stats",
        (m, _) => m,
    };
    let Some(m) = crate::manifest::methods::lookup(method) else {
        eprintln!("unknown method `{method}`");
        return exit::INVALID;
    };
    match super::client(&conn, cli.verbose) {
        Ok(client) => super::call::call_with(&client, m.name, params, &conn.secrets()),
        Err(code) => code,
    }
}
