//! Command-line arguments (clap derive). Parsed arguments become a settings
//! [`Layer`] at once ([`RunArgs::layer`]), so nothing else depends on clap.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use secrecy::SecretString;

use crate::exit::Exit;
use crate::protocol::Protocol;
use crate::settings::{Layer, Origin, Setting};

/// The exit-code table (from `exit`, the one place it is written) and examples.
fn after_help() -> String {
    format!(
        "{}\n\n\
         Environment: CENTRIFUGO_URL (one URL or a comma-separated list), CENTRIFUGO_API_KEY,\n\
         CENTRIFUGO_SECRET; an empty variable counts as unset. Precedence: flags > --profile >\n\
         environment > the manifest's server: and defaults:.\n\n\
         Idempotency: publish and broadcast carry a key derived from the run id, the command's\n\
         position and its content; Centrifugo remembers keys for 5 minutes, so past that window\n\
         only --state prevents a re-run from publishing twice.\n\n\
         Examples:\n  \
         cent-run broadcast.yaml --url http://localhost:8000 --api-key \"$KEY\"   run a manifest\n  \
         cent-run broadcast.yaml --run-id \"$CI_PIPELINE_ID\" --state state.jsonl  safe to re-run\n  \
         cent-run check broadcast.yaml                   validate only: no network\n  \
         cent-run check --format json broadcast.yaml     problems as JSON\n  \
         cent-run plan broadcast.yaml --run-id deploy-42 the exact requests, secrets as ***\n  \
         cent-run - < broadcast.yaml                     the manifest from standard input\n  \
         cent-run call history --params '{{\"channel\":\"news\",\"limit\":10}}'\n  \
         cent-run token connect --user 42 --ttl 1h --secret-file hmac.key",
        Exit::help_table()
    )
}

/// Describes the manifest argument in every subcommand's help.
const FILE_HELP: &str = "Manifests (YAML) to run in order as one run; `-` reads one from standard input";

/// Run YAML manifests of Centrifugo server-API commands: validated first,
/// sent in authenticated batches, ordered per channel, retried safely, and
/// reported with exit codes a CI job can trust.
#[derive(Debug, Parser)]
#[command(name = "cent-run", version, after_help = after_help(), args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Sub>,
    /// Manifests (YAML) to run in order as one run (same as `cent-run run FILE...`); `-` reads one from
    /// standard input.
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Debug, Subcommand)]
pub enum Sub {
    /// Validate manifests and send them (the default).
    Run {
        #[arg(value_name = "FILE", required = true, help = FILE_HELP)]
        files: Vec<PathBuf>,
        #[command(flatten)]
        run: RunArgs,
    },
    /// Validate manifests and exit; needs no credentials and no network.
    Check {
        #[arg(value_name = "FILE", required = true, help = FILE_HELP)]
        files: Vec<PathBuf>,
        #[command(flatten)]
        run: RunArgs,
    },
    /// Print the exact requests `run` would send (secrets as ***); no network.
    Plan {
        #[arg(value_name = "FILE", required = true, help = FILE_HELP)]
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
    /// Server address: http://host:8000, with or without `/api`; repeat for the nodes of a cluster
    /// [env: CENTRIFUGO_URL] [default: http://localhost:8000]
    #[arg(long, allow_hyphen_values = true)]
    pub url: Vec<String>,
    /// API key (protocols api and legacy) [env: CENTRIFUGO_API_KEY]
    #[arg(long, allow_hyphen_values = true)]
    pub api_key: Option<String>,
    /// HMAC secret (protocol v1) [env: CENTRIFUGO_SECRET]
    #[arg(long, allow_hyphen_values = true)]
    pub secret: Option<String>,
    /// Server protocol: api (v5/v6), legacy (v2–v4 `/api`), v1 (HMAC-signed) [default: api]
    #[arg(long, value_parser = parse_protocol)]
    pub protocol: Option<Protocol>,
    /// Profile (section) of the ~/.centrc file; its values count as flags
    #[arg(long)]
    pub profile: Option<String>,
    /// Profile file instead of ~/.centrc.
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Request timeout, e.g. 5s, 500ms [default: 5s]
    #[arg(long, value_parser = parse_duration)]
    pub timeout: Option<Duration>,
    /// Do not verify TLS certificates (a warning says so)
    #[arg(long)]
    pub insecure: bool,
    /// Trust this CA certificate (PEM) too
    #[arg(long, value_name = "FILE")]
    pub cacert: Option<PathBuf>,
}

impl ConnArgs {
    /// The connection flags as a settings layer (an empty value counts as not given).
    pub fn layer(&self) -> Layer {
        let flag = |name| Origin::Flag(name);
        let secret = |v: &Option<String>, name| {
            v.clone().filter(|s| !s.is_empty()).map(|s| Setting::new(SecretString::from(s), flag(name)))
        };
        let urls: Vec<String> = self.url.iter().flat_map(|u| crate::settings::split_urls(u)).collect();
        Layer {
            urls: (!self.url.is_empty()).then(|| Setting::new(urls, flag("--url"))),
            api_key: secret(&self.api_key, "--api-key"),
            secret: secret(&self.secret, "--secret"),
            protocol: self.protocol.map(|p| Setting::new(p, flag("--protocol"))),
            timeout: self.timeout.map(|t| Setting::new(t, flag("--timeout"))),
            insecure: self.insecure.then(|| Setting::new(true, flag("--insecure"))),
            cacert: self.cacert.clone().map(|c| Setting::new(c, flag("--cacert"))),
            ..Layer::default()
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct LogArgs {
    /// Log requests to stderr (-vv adds bodies); secrets are redacted
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
    /// Requests in flight at once [default: 4]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub concurrency: Option<u64>,
    /// Commands per request [default: 100]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub batch_size: Option<u64>,
    /// Largest request body in bytes [default: 921600]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1024..))]
    pub max_batch_bytes: Option<u64>,
    /// Retries for connection errors, timeouts, 5xx and error 100 [default: 3]
    #[arg(long, value_name = "N")]
    pub retries: Option<u32>,
    /// At most N commands per second [default: no limit]
    #[arg(long, value_name = "N", value_parser = parse_rate)]
    pub rate: Option<f64>,
    /// Stop sending after the first failed command
    #[arg(long)]
    pub fail_fast: bool,
    /// Send no idempotency keys: at most once (a publish whose answer is lost is reported unknown, not re-sent)
    #[arg(long)]
    pub no_idempotency: bool,
    /// Set a manifest variable (overrides `vars:`)
    #[arg(long = "var", value_name = "NAME=VALUE", value_parser = parse_var, allow_hyphen_values = true)]
    pub vars: Vec<(String, String)>,
    /// Run id for derived idempotency keys, e.g. the CI pipeline id [default: a new one per run]
    #[arg(long, value_name = "ID")]
    pub run_id: Option<String>,
    /// Run only part I of N (0-based: 0/4 .. 3/4), cut by lanes; every part needs the same --run-id
    #[arg(long, value_name = "I/N", value_parser = parse_shard)]
    pub shard: Option<(usize, usize)>,
    /// Record applied commands here; a re-run skips them (the only guard against doubles after the
    /// server's 5-minute idempotency window)
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Write the JSON report here (also for an invalid manifest)
    #[arg(long, value_name = "FILE")]
    pub report_json: Option<PathBuf>,
    /// Write a JUnit XML report here (also for an invalid manifest)
    #[arg(long, value_name = "FILE")]
    pub report_junit: Option<PathBuf>,
    /// What stdout shows: the table, or the JSON report (for `check`: the problems)
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Nothing when every command is ok; else the commands that are not, with their cause, and the
    /// summary
    #[arg(short, long)]
    pub quiet: bool,
    #[command(flatten)]
    pub log: LogArgs,
}

impl RunArgs {
    /// Every setting given on the command line, as a settings layer.
    pub fn layer(&self) -> Layer {
        let flag = |name| Origin::Flag(name);
        let set = |v: Option<u64>, name| v.map(|n| Setting::new(n as usize, flag(name)));
        Layer {
            concurrency: set(self.concurrency, "--concurrency"),
            batch_size: set(self.batch_size, "--batch-size"),
            max_batch_bytes: set(self.max_batch_bytes, "--max-batch-bytes"),
            retries: self.retries.map(|n| Setting::new(n, flag("--retries"))),
            rate: self.rate.map(|r| Setting::new(r, flag("--rate"))),
            fail_fast: self.fail_fast.then(|| Setting::new(true, flag("--fail-fast"))),
            idempotency: self.no_idempotency.then(|| Setting::new(false, flag("--no-idempotency"))),
            run_id: self.run_id.clone().map(|r| Setting::new(r, flag("--run-id"))),
            shard: self.shard.map(|s| Setting::new(s, flag("--shard"))),
            ..self.conn.layer()
        }
    }
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
    /// Connection JWT (HS256 by default; RS256/ES256 with --key-file).
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
        key: SigningArgs,
    },
    /// Subscription JWT (HS256 by default; RS256/ES256 with --key-file).
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
        key: SigningArgs,
    },
    /// Verify a JWT and print its claims (exit 1 on a wrong key, a bad signature or expiry).
    Check {
        token: String,
        #[command(flatten)]
        secret: SecretArgs,
        /// Public key (PEM) for RS256 and ES256 tokens.
        #[arg(long, value_name = "PUBLIC.pem")]
        key_file: Option<PathBuf>,
    },
}

/// How a JWT is signed.
#[derive(Debug, Clone, Args)]
pub struct SigningArgs {
    /// HS256, HS384, HS512 (with the HMAC secret), RS256 or ES256 (with --key-file)
    #[arg(long, default_value = "HS256", value_parser = parse_algorithm)]
    pub algorithm: crate::token::Algorithm,
    /// Private key (PEM) for RS256 (RSA) and ES256 (ECDSA P-256)
    #[arg(long, value_name = "PRIVATE.pem")]
    pub key_file: Option<PathBuf>,
    #[command(flatten)]
    pub secret: SecretArgs,
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

fn parse_shard(s: &str) -> Result<(usize, usize), String> {
    let bad = || format!("`{s}` is not I/N with 0 <= I < N (e.g. 0/4)");
    let (i, n) = s.split_once('/').ok_or_else(bad)?;
    let (i, n): (usize, usize) = (i.trim().parse().map_err(|_| bad())?, n.trim().parse().map_err(|_| bad())?);
    if n == 0 || i >= n {
        return Err(bad());
    }
    Ok((i, n))
}

fn parse_algorithm(s: &str) -> Result<crate::token::Algorithm, String> {
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
        let cli = Cli::try_parse_from(["cent-run", "-", "--url", "http://a:1,http://b:2", "--url=http://c:3"]).unwrap();
        assert_eq!(cli.files, [PathBuf::from("-")]);
        let urls = cli.run.layer().urls.unwrap().value.unwrap();
        assert_eq!(urls, ["http://a:1", "http://b:2", "http://c:3"]);
    }

    /// `--help` states each default; they must be the ones cent-run uses.
    #[test]
    fn help_shows_the_real_defaults_and_the_exit_codes() {
        // clap wraps lines to the terminal: compare words, not layout.
        let words = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
        let help = words(&Cli::command().render_long_help().to_string());
        let d = crate::executor::RunOptions::default();
        for shown in [
            format!("[default: {}]", d.concurrency),
            format!("[default: {}]", d.batch_size),
            format!("[default: {}]", d.max_batch_bytes),
            format!("[default: {}]", d.retry.retries),
            format!("[default: {}s]", crate::settings::DEFAULT_TIMEOUT.as_secs()),
            format!("[default: {}]", crate::settings::DEFAULT_URL),
        ] {
            assert!(help.contains(&shown), "--help lacks {shown}:\n{help}");
        }
        assert!(help.contains(&words(&Exit::help_table())), "{help}");
    }
}
