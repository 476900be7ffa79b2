//! `cent SECTION METHOD [--params JSON] [--config PATH]`: the original
//! console client. The section comes from `~/.centrc`; params from
//! `--params`, or from stdin when it is not a terminal; the reply is printed
//! as JSON. Unlike the original it exits non-zero on a server error.

use std::io::IsTerminal;
use std::path::PathBuf;

use crate::cli::{CENT, TableArgs};
use crate::error::Error;
use crate::exit::Exit;
use crate::resolve::{Mode, Sources};
use crate::settings::table::Key;
use crate::settings::{self, Env, Layer};

/// Centrifuge client: call one server-API method with a ~/.centrc profile.
#[derive(Debug, clap::Parser)]
#[command(name = "cent", version, after_help = Exit::call_help_table())]
pub(crate) struct ConsoleCli {
    /// Section (profile) of the configuration file.
    #[arg(required_unless_present = "completions", default_value = "")]
    pub section: String,
    /// Method name, e.g. publish, history, info (sent as stats to v1 servers).
    #[arg(required_unless_present = "completions", default_value = "", hide_default_value = true, value_parser = crate::cli::MethodName, hide_possible_values = true)]
    pub method: String,
    /// Print a shell completion script for `cent` and exit.
    #[arg(long, value_name = "SHELL")]
    pub completions: Option<clap_complete::Shell>,
    /// Params as a JSON object (read from stdin when not given and stdin is not a terminal).
    #[arg(long, allow_hyphen_values = true)]
    pub params: Option<String>,
    /// Configuration file [default: ~/.centrc]
    #[arg(long)]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub settings: TableArgs<CENT>,
}

pub(crate) fn main(cli: ConsoleCli, env: &Env) -> Exit {
    if let Some(shell) = cli.completions {
        let mut buf = Vec::new();
        clap_complete::generate(shell, &mut <ConsoleCli as clap::CommandFactory>::command(), "cent", &mut buf);
        super::output::write(&String::from_utf8_lossy(&buf));
        return Exit::Ok;
    }
    match console(cli, env) {
        // The original's messages, as they were: no `error:` prefix.
        Err(e @ (Error::Usage(_) | Error::Rejected(_))) => {
            super::output::stderr(&format!("{e}\n"));
            e.exit()
        }
        other => super::finish(other),
    }
}

fn console(cli: ConsoleCli, env: &Env) -> Result<Exit, Error> {
    let profile = settings::load_profile(cli.config.as_deref(), &cli.section, env)?;
    if !profile.layer.has(Key::Url) {
        return Err(Error::Usage(format!("No option 'address' in section: '{}'", cli.section)));
    }
    let params = match (&cli.params, std::io::stdin().is_terminal()) {
        (Some(p), _) => super::call::params_text(Some(p))?,
        (None, false) => super::call::params_text(Some("-"))?,
        (None, true) => super::call::params_text(None)?,
    };
    let verbose = super::outputs::Outputs::new(&cli.settings.layer, env).verbose;
    // The section's values, and a key or secret file given here.
    let sources = Sources { flags: cli.settings.layer, profile, env: Layer::default() };
    let settings = sources.settle(&Layer::default(), Mode::Run)?;
    super::call::call_with(&settings.connection, &cli.method, params, verbose)
}
