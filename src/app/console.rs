//! `cent SECTION METHOD [--params JSON] [--config PATH]`: the original
//! console client. The section comes from `~/.centrc`; params from
//! `--params`, or from stdin when it is not a terminal; the reply is printed
//! as JSON. Unlike the original it exits non-zero on a server error.

use std::io::IsTerminal;
use std::path::PathBuf;

use crate::error::Error;
use crate::exit::Exit;
use crate::settings::{self, Layer, Mode, Origin, Setting};

/// Centrifuge client: call one server-API method with a ~/.centrc profile.
#[derive(Debug, clap::Parser)]
#[command(name = "cent", version, after_help = Exit::help_table())]
pub struct ConsoleCli {
    /// Section (profile) of the configuration file.
    pub section: String,
    /// Method name, e.g. publish, history, info (sent as stats to v1 servers).
    pub method: String,
    /// Params as a JSON object (read from stdin when not given and stdin is not a terminal).
    #[arg(long, allow_hyphen_values = true)]
    pub params: Option<String>,
    /// Configuration file [default: ~/.centrc]
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Log requests to stderr (-vv adds bodies); secrets are redacted.
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

pub fn main(cli: ConsoleCli) -> Exit {
    match console(cli) {
        // The original's messages, as they were: no `error:` prefix.
        Err(e @ (Error::Usage(_) | Error::Rejected(_) | Error::Transport(_))) => {
            super::output::stderr(&format!("{e}\n"));
            e.exit()
        }
        other => super::finish(other),
    }
}

fn console(cli: ConsoleCli) -> Result<Exit, Error> {
    let profile = settings::load_profile(cli.config.as_deref(), &cli.section)?;
    if profile.address.is_none() {
        return Err(Error::Usage(format!("No option 'address' in section: '{}'", cli.section)));
    }
    let params = match (&cli.params, std::io::stdin().is_terminal()) {
        (Some(p), _) => super::call::params_text(Some(p))?,
        (None, false) => super::call::params_text(Some("-"))?,
        (None, true) => super::call::params_text(None)?,
    };
    let implied =
        Layer { protocol: profile.implied_protocol().map(|p| Setting::new(p, Origin::Default)), ..Layer::default() };
    let settings = settings::resolve(profile.layer().over(implied), Mode::Run)?;
    super::call::call_with(&settings.connection, &cli.method, params, cli.verbose)
}
