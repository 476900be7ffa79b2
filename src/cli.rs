//! Command-line arguments (clap derive). Parsed arguments become plain
//! settings at once, so nothing else depends on clap.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::protocol::Protocol;

/// The exit-code table (from `exit`, the one place it is written) and examples.
fn after_help() -> String {
    format!(
        "{}\n\nExamples:\n  \
         cent-run broadcast.yaml --url http://localhost:8000 --api-key \"$KEY\"\n  \
         cent-run check broadcast.yaml\n  \
         cent-run plan broadcast.yaml --run-id deploy-42\n  \
         cent-run call history --params '{{\"channel\":\"news\",\"limit\":10}}'\n  \
         cent-run token connect --user 42 --ttl 1h --secret-file hmac.key",
        crate::exit::TABLE
    )
}

/// Run YAML manifests of Centrifugo server-API commands: validated first,
/// sent in authenticated batches, ordered per channel, retried safely, and
/// reported with exit codes a CI job can trust.
#[derive(Debug, Parser)]
#[command(name = "cent-run", version, after_help = after_help(), args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Sub>,
    /// Manifests to run (same as `cent-run run FILE...`).
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Debug, Subcommand)]
pub enum Sub {
    /// Validate manifests and send them (the default).
    Run {
        #[arg(value_name = "FILE", required = true)]
        files: Vec<PathBuf>,
        #[command(flatten)]
        run: RunArgs,
    },
    /// Validate manifests and exit; needs no credentials and no network.
    Check {
        #[arg(value_name = "FILE", required = true)]
        files: Vec<PathBuf>,
        #[command(flatten)]
        run: RunArgs,
    },
    /// Print the exact requests `run` would send (secrets as ***); no network.
    Plan {
        #[arg(value_name = "FILE", required = true)]
        files: Vec<PathBuf>,
        #[command(flatten)]
        run: RunArgs,
    },
    /// Send one command and print the server's reply as JSON.
    Call {
        /// Method name, e.g. publish, history, info.
        method: String,
        /// Params as a JSON object; `-` reads them from stdin.
        #[arg(long, allow_hyphen_values = true)]
        params: Option<String>,
        #[command(flatten)]
        conn: ConnArgs,
        #[command(flatten)]
        output: LogArgs,
    },
    /// Make and check tokens and signs.
    #[command(subcommand)]
    Token(TokenCmd),
    /// Print the manifest's JSON Schema (for editors' YAML language servers).
    Schema,
    /// Print a shell completion script.
    Completions { shell: clap_complete::Shell },
}

/// Where the server is and how to authenticate.
#[derive(Debug, Clone, Args)]
pub struct ConnArgs {
    /// Server address: http://host:8000, with or without `/api`.
    #[arg(long, env = "CENTRIFUGO_URL", allow_hyphen_values = true)]
    pub url: Option<String>,
    /// API key (protocols api and legacy).
    #[arg(long, env = "CENTRIFUGO_API_KEY", hide_env_values = true, allow_hyphen_values = true)]
    pub api_key: Option<String>,
    /// HMAC secret (protocol v1).
    #[arg(long, env = "CENTRIFUGO_SECRET", hide_env_values = true, allow_hyphen_values = true)]
    pub secret: Option<String>,
    /// Server protocol: api (v5/v6), legacy (v2–v4 `/api`), v1 (HMAC-signed).
    #[arg(long, value_parser = parse_protocol)]
    pub protocol: Option<Protocol>,
    /// Profile (section) of the ~/.centrc file.
    #[arg(long)]
    pub profile: Option<String>,
    /// Profile file instead of ~/.centrc.
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Request timeout, e.g. 5s, 500ms.
    #[arg(long, value_parser = parse_duration)]
    pub timeout: Option<std::time::Duration>,
    /// Do not verify TLS certificates.
    #[arg(long)]
    pub insecure: bool,
    /// Trust this CA certificate (PEM) too.
    #[arg(long, value_name = "FILE")]
    pub cacert: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct LogArgs {
    /// Log requests to stderr (-vv adds bodies); secrets are redacted.
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Json,
}

#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub conn: ConnArgs,
    /// Requests in flight at once.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub concurrency: Option<u64>,
    /// Commands per request.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub batch_size: Option<u64>,
    /// Largest request body in bytes.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1024..))]
    pub max_batch_bytes: Option<u64>,
    /// Retries for connection errors, timeouts, 5xx and error 100.
    #[arg(long, value_name = "N")]
    pub retries: Option<u32>,
    /// At most N commands per second.
    #[arg(long, value_name = "N", value_parser = parse_rate)]
    pub rate: Option<f64>,
    /// Stop sending after the first failed command.
    #[arg(long)]
    pub fail_fast: bool,
    /// Set a manifest variable (overrides `vars:`).
    #[arg(long = "var", value_name = "NAME=VALUE", value_parser = parse_var, allow_hyphen_values = true)]
    pub vars: Vec<(String, String)>,
    /// Run id for derived idempotency keys (e.g. the CI pipeline id).
    #[arg(long, value_name = "ID")]
    pub run_id: Option<String>,
    /// Record applied commands here; a re-run skips them.
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Write the JSON report here.
    #[arg(long, value_name = "FILE")]
    pub report_json: Option<PathBuf>,
    /// Write a JUnit XML report here.
    #[arg(long, value_name = "FILE")]
    pub report_junit: Option<PathBuf>,
    /// What stdout shows.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Print only problems and the summary line.
    #[arg(short, long)]
    pub quiet: bool,
    #[command(flatten)]
    pub log: LogArgs,
    /// Fixed durations in output (for snapshot tests).
    #[arg(long, hide = true, env = "CENT_RUN_DETERMINISTIC")]
    pub deterministic: bool,
}

#[derive(Debug, Subcommand)]
pub enum TokenCmd {
    /// v1 connection token (hex HMAC-SHA256 of user, timestamp, info).
    Legacy {
        #[arg(long, allow_hyphen_values = true)]
        user: String,
        #[arg(long)]
        timestamp: Option<String>,
        #[arg(long, default_value = "", allow_hyphen_values = true)]
        info: String,
        #[command(flatten)]
        secret: SecretArgs,
    },
    /// v1 private channel sign (hex HMAC-SHA256 of client, channel, info).
    ChannelSign {
        #[arg(long, allow_hyphen_values = true)]
        client: String,
        #[arg(long, allow_hyphen_values = true)]
        channel: String,
        #[arg(long, default_value = "", allow_hyphen_values = true)]
        info: String,
        #[command(flatten)]
        secret: SecretArgs,
    },
    /// v1 API sign of a request body (stdin by default).
    ApiSign {
        #[arg(long, value_name = "FILE")]
        body_file: Option<PathBuf>,
        #[command(flatten)]
        secret: SecretArgs,
    },
    /// HS256 connection JWT.
    Connect {
        #[arg(long, allow_hyphen_values = true)]
        user: String,
        #[command(flatten)]
        expiry: ExpiryArgs,
        /// Connection info (JSON).
        #[arg(long)]
        info: Option<String>,
        /// Server-side subscriptions, comma-separated.
        #[arg(long, value_delimiter = ',')]
        channels: Vec<String>,
        /// Meta (JSON object), kept server-side.
        #[arg(long)]
        meta: Option<String>,
        /// Connection expiry (unix seconds) overriding exp; 0 = never.
        #[arg(long)]
        expire_at: Option<u64>,
        #[command(flatten)]
        secret: SecretArgs,
    },
    /// HS256 subscription JWT.
    Subscribe {
        #[arg(long, allow_hyphen_values = true)]
        user: String,
        #[arg(long, allow_hyphen_values = true)]
        channel: String,
        #[command(flatten)]
        expiry: ExpiryArgs,
        /// Channel info (JSON).
        #[arg(long)]
        info: Option<String>,
        #[command(flatten)]
        secret: SecretArgs,
    },
    /// Verify an HS256 JWT and print its claims (exit 1 if invalid or expired).
    Check {
        token: String,
        #[command(flatten)]
        secret: SecretArgs,
    },
}

#[derive(Debug, Clone, Args)]
pub struct SecretArgs {
    /// HMAC secret.
    #[arg(long, env = "CENTRIFUGO_TOKEN_SECRET", hide_env_values = true, allow_hyphen_values = true)]
    pub secret: Option<String>,
    /// Read the HMAC secret from a file (trailing newline removed).
    #[arg(long, value_name = "FILE", conflicts_with = "secret")]
    pub secret_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct ExpiryArgs {
    /// Lifetime, e.g. 1h, 30m (sets exp = now + ttl).
    #[arg(long, value_parser = parse_duration, conflicts_with = "exp")]
    pub ttl: Option<std::time::Duration>,
    /// Expiry as unix seconds.
    #[arg(long)]
    pub exp: Option<u64>,
}

fn parse_protocol(s: &str) -> Result<Protocol, String> {
    s.parse()
}

fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    crate::manifest::parse_duration(s).ok_or_else(|| format!("`{s}` is not a duration (e.g. 5s, 500ms, 1h)"))
}

fn parse_rate(s: &str) -> Result<f64, String> {
    s.parse::<f64>().ok().filter(|r| *r > 0.0 && r.is_finite()).ok_or_else(|| format!("`{s}` is not a positive number"))
}

fn parse_var(s: &str) -> Result<(String, String), String> {
    let (k, v) = s.split_once('=').ok_or_else(|| format!("`{s}` is not NAME=VALUE"))?;
    if k.is_empty() {
        return Err("variable name is empty".into());
    }
    Ok((k.to_owned(), v.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn files_without_subcommand_and_values_starting_with_dash() {
        let cli = Cli::try_parse_from(["cent-run", "a.yaml", "--api-key", "-k3y", "--var=x=-1"]).unwrap();
        assert_eq!(cli.files, [PathBuf::from("a.yaml")]);
        assert_eq!(cli.run.conn.api_key.as_deref(), Some("-k3y"));
        assert_eq!(cli.run.vars, [("x".to_string(), "-1".to_string())]);
        let cli = Cli::try_parse_from(["cent-run", "check", "a.yaml"]).unwrap();
        assert!(matches!(cli.command, Some(Sub::Check { .. })));
    }
}
