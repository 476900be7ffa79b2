//! Command-line arguments. The options that are settings come from the
//! settings table ([`TableArgs`] turns its rows into clap arguments for the
//! subcommand that uses them, and the matches into a settings [`Layer`] at
//! once), so nothing else depends on clap and no option is spelled twice.

use std::path::PathBuf;

use clap::builder::ValueParser;
use clap::{Arg, ArgAction, ArgMatches, Args, Parser, Subcommand};

use crate::exit::Exit;
use crate::settings::table::{Def, Key, Kind, TABLE, Uses};
use crate::settings::{Layer, Origin, Setting, Value};

/// The exit-code table (from `exit`, the one place it is written) and examples.
fn after_help() -> String {
    format!(
        "{}\n\n\
         Environment: CENTRIFUGO_URL (one URL or a comma-separated list), CENTRIFUGO_API_KEY,\n\
         CENTRIFUGO_SECRET, CENTRIFUGO_TOKEN_SECRET; an empty variable counts as unset. Precedence:\n\
         flags > --profile > environment > the manifest's server: and defaults:.\n\n\
         Idempotency: publish and broadcast carry a key derived from the run id and the command's\n\
         content (and its occurrence among equal commands); Centrifugo remembers keys for 5 minutes,\n\
         so past that window only --state prevents a re-run from publishing twice.\n\n\
         Examples:\n  \
         cent-run broadcast.yaml --url http://localhost:8000 --api-key-file key.txt   run a manifest\n  \
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

const RUN: u8 = Uses::RUN.bits();
const CHECK: u8 = Uses::CHECK.bits();
const PLAN: u8 = Uses::PLAN.bits();
const CALL: u8 = Uses::CALL.bits();
pub(crate) const CENT: u8 = Uses::CENT.bits();

/// Run YAML manifests of Centrifugo server-API commands: validated first,
/// sent in authenticated batches, ordered per channel, retried safely, and
/// reported with exit codes a CI job can trust.
#[derive(Debug, Parser)]
#[command(name = "cent-run", version, after_help = after_help(), args_conflicts_with_subcommands = true)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub command: Option<Sub>,
    /// Manifests (YAML) to run in order as one run (same as `cent-run run FILE...`); `-` reads one from
    /// standard input.
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,
    #[command(flatten)]
    pub settings: TableArgs<RUN>,
    #[command(flatten)]
    pub profile: ProfileArgs,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Sub {
    /// Validate manifests and send them (the default).
    Run {
        #[arg(value_name = "FILE", required = true, help = FILE_HELP)]
        files: Vec<PathBuf>,
        #[command(flatten)]
        settings: TableArgs<RUN>,
        #[command(flatten)]
        profile: ProfileArgs,
    },
    /// Validate manifests and exit; needs no credentials and no network.
    Check {
        #[arg(value_name = "FILE", required = true, help = FILE_HELP)]
        files: Vec<PathBuf>,
        #[command(flatten)]
        settings: TableArgs<CHECK>,
        #[command(flatten)]
        profile: ProfileArgs,
    },
    /// Print the exact requests `run` would send (secrets as ***); no network.
    Plan {
        #[arg(value_name = "FILE", required = true, help = FILE_HELP)]
        files: Vec<PathBuf>,
        #[command(flatten)]
        settings: TableArgs<PLAN>,
        #[command(flatten)]
        profile: ProfileArgs,
    },
    /// Send one command and print the server's reply as JSON.
    #[command(after_help = Exit::call_help_table())]
    Call {
        /// Method name, e.g. publish, history, info.
        #[arg(value_parser = MethodName, hide_possible_values = true)]
        method: String,
        /// Params as a JSON object; `-` reads them from stdin.
        #[arg(long, allow_hyphen_values = true, value_name = "JSON")]
        params: Option<String>,
        #[command(flatten)]
        settings: TableArgs<CALL>,
        #[command(flatten)]
        profile: ProfileArgs,
    },
    /// Make and check tokens and signs.
    #[command(subcommand)]
    Token(TokenCmd),
    /// Print the manifest's JSON Schema (for editors' YAML language servers), or the reports'.
    Schema {
        /// The JSON Schemas of the JSON report (`--report-json`, `--format json`) and of
        /// `check --format json` instead.
        #[arg(long)]
        report: bool,
    },
    /// Print a shell completion script.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff); `man -l <(cent-run man)` shows it.
    Man {
        /// The manual page of this subcommand (e.g. `run`, `token`) instead of the main one.
        subcommand: Option<String>,
    },
}

/// A method name of the method table: completion offers them, and a
/// misspelled one gets a did-you-mean.
#[derive(Debug, Clone, Copy)]
pub(crate) struct MethodName;

impl clap::builder::TypedValueParser for MethodName {
    type Value = String;

    fn parse_ref(&self, _: &clap::Command, _: Option<&Arg>, value: &std::ffi::OsStr) -> Result<String, clap::Error> {
        let name = value.to_string_lossy();
        if crate::methods::lookup(&name).is_some() {
            return Ok(name.into_owned());
        }
        let hint = match crate::diagnostic::did_you_mean(&name, crate::methods::names()) {
            Some(m) => format!(": did you mean `{m}`?"),
            None => " (`cent-run schema` lists the methods)".into(),
        };
        Err(clap::Error::raw(clap::error::ErrorKind::InvalidValue, format!("unknown method `{name}`{hint}\n")))
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = clap::builder::PossibleValue> + '_>> {
        Some(Box::new(crate::methods::names().map(clap::builder::PossibleValue::new)))
    }
}

/// Which `~/.centrc` section to use, and which file.
#[derive(Debug, Clone, Args)]
pub(crate) struct ProfileArgs {
    /// Profile (section) of the ~/.centrc file; its values count as flags
    #[arg(long, value_name = "NAME", help_heading = "Connection")]
    pub profile: Option<String>,
    /// Profile file instead of ~/.centrc
    #[arg(long, value_name = "PATH", help_heading = "Connection")]
    pub config: Option<PathBuf>,
}

/// The settings table's options for the subcommands in `USES` (a bit set
/// of [`Uses`]), parsed into a settings layer.
#[derive(Debug, Clone, Default)]
pub(crate) struct TableArgs<const USES: u8> {
    /// What was given, each value with its flag as origin.
    pub layer: Layer,
}

fn rows(uses: u8) -> impl Iterator<Item = &'static Def> {
    TABLE.iter().filter(move |d| d.flag.is_some() && d.uses.has(Uses::from_bits(uses)))
}

/// Help text with the environment variable and default the table states.
fn help(d: &Def) -> String {
    let mut h = d.help.to_owned();
    if let Some(e) = d.env {
        h.push_str(&format!(" [env: {e}]"));
    }
    if let Some(v) = d.default {
        h.push_str(&format!(" [default: {v}]"));
    }
    h
}

fn arg(d: &'static Def) -> Arg {
    let flag = d.flag.expect("a flag");
    let mut a = Arg::new(flag).long(flag).help(help(d)).help_heading(d.heading);
    if let Some(c) = d.short {
        a = a.short(c);
    }
    match d.kind {
        Kind::Switch(_) => a.action(ArgAction::SetTrue),
        Kind::Count => a.action(ArgAction::Count),
        kind => {
            let many = matches!(kind, Kind::Urls | Kind::Assign | Kind::List { .. }) || d.key == Key::Secret;
            a = a.value_name(d.value_name).allow_hyphen_values(true);
            a = a.action(if many { ArgAction::Append } else { ArgAction::Set });
            if matches!(kind, Kind::Path) {
                a = a.value_parser(ValueParser::path_buf()).value_hint(clap::ValueHint::AnyPath);
            } else if d.key == Key::Secret {
                // Split later: an HMAC secret, or `NAME=VALUE` secret variables.
                a = a.value_parser(ValueParser::string());
            } else {
                a = a.value_parser(DefParser(d));
            }
            a
        }
    }
}

/// The layer of what the matches hold for these rows.
fn layer(m: &ArgMatches, uses: u8) -> Result<Layer, clap::Error> {
    let mut layer = Layer::default();
    for d in rows(uses) {
        let id = d.flag.expect("a flag");
        let from = Origin::Flag(id);
        let value = match d.kind {
            Kind::Switch(v) => m.get_flag(id).then_some(Value::Bool(v)),
            Kind::Count => Some(m.get_count(id)).filter(|n| *n > 0).map(Value::Count),
            Kind::Path => m.get_one::<PathBuf>(id).map(|p| Value::Path(p.clone())),
            _ if d.key == Key::Secret => {
                let Some(all) = m.get_many::<String>(id) else { continue };
                let (vars, hmac): (Vec<&String>, Vec<&String>) = all.partition(|s| secret_assignment(s).is_some());
                if !vars.is_empty() {
                    let pairs = vars.iter().filter_map(|s| secret_assignment(s)).collect();
                    layer.set(Key::SecretVar, Setting::new(Value::Assign(pairs), from.clone()));
                }
                match hmac.as_slice() {
                    [] => None,
                    [one] => Some(Value::Secret((*one).clone().into())),
                    _ => {
                        return Err(clap::Error::raw(
                            clap::error::ErrorKind::ArgumentConflict,
                            "--secret is given twice as the v1 HMAC secret (a secret variable is `--secret NAME=VALUE`)\n",
                        ));
                    }
                }
            }
            Kind::Urls | Kind::Assign | Kind::List { .. } => {
                let Some(all) = m.get_many::<Value>(id) else { continue };
                let mut merged = match d.kind {
                    Kind::Assign => Value::Assign(Vec::new()),
                    Kind::Urls => Value::Urls(Vec::new()),
                    _ => Value::List(Vec::new()),
                };
                for v in all {
                    match (&mut merged, v) {
                        (Value::Assign(a), Value::Assign(b)) => a.extend(b.iter().cloned()),
                        (Value::Urls(a), Value::Urls(b)) | (Value::List(a), Value::List(b)) => {
                            a.extend(b.iter().cloned())
                        }
                        _ => {}
                    }
                }
                Some(merged)
            }
            _ => m.get_one::<Value>(id).cloned(),
        };
        if let Some(v) = value {
            // `--secret NAME=VALUE` and `--secret-var` add up.
            if d.key == Key::SecretVar
                && let (Value::Assign(mut more), Some(Value::Assign(before))) = (v.clone(), layer.value(Key::SecretVar))
            {
                more.extend(before.iter().cloned());
                layer.set(d.key, Setting::new(Value::Assign(more), from));
                continue;
            }
            layer.set(d.key, Setting::new(v, from));
        }
    }
    Ok(layer)
}

/// A value of one setting, parsed and checked by its row; the values a
/// finite kind allows are offered to shell completion.
#[derive(Clone, Copy)]
struct DefParser(&'static Def);

impl clap::builder::TypedValueParser for DefParser {
    type Value = Value;

    fn parse_ref(&self, cmd: &clap::Command, arg: Option<&Arg>, value: &std::ffi::OsStr) -> Result<Value, clap::Error> {
        let text = value.to_string_lossy();
        self.0.parse(&text).map_err(|e| {
            let flag = arg.and_then(|a| a.get_long()).unwrap_or(self.0.name);
            clap::Error::raw(
                clap::error::ErrorKind::InvalidValue,
                format!("invalid value '{text}' for '--{flag} <{}>': {e}\n", self.0.value_name),
            )
            .with_cmd(cmd)
        })
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = clap::builder::PossibleValue> + '_>> {
        let words: Vec<&'static str> = match self.0.kind {
            Kind::Choice(words) => words.to_vec(),
            Kind::Protocol => crate::protocol::Protocol::SPELLINGS.iter().map(|(n, _)| *n).collect(),
            _ => return None,
        };
        Some(Box::new(words.into_iter().map(clap::builder::PossibleValue::new)))
    }
}

/// `NAME=VALUE` with a variable name before the `=`: a secret variable.
fn secret_assignment(s: &str) -> Option<(String, String)> {
    let (k, v) = s.split_once('=')?;
    crate::settings::value::is_name(k).then(|| (k.to_owned(), v.to_owned()))
}

impl<const USES: u8> clap::FromArgMatches for TableArgs<USES> {
    fn from_arg_matches(m: &ArgMatches) -> Result<Self, clap::Error> {
        Ok(TableArgs { layer: layer(m, USES)? })
    }

    fn update_from_arg_matches(&mut self, m: &ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(m)?;
        Ok(())
    }
}

impl<const USES: u8> Args for TableArgs<USES> {
    fn augment_args(cmd: clap::Command) -> clap::Command {
        cmd.args(rows(USES).map(arg))
    }

    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        Self::augment_args(cmd)
    }
}

#[derive(Debug, Subcommand)]
pub(crate) enum TokenCmd {
    /// v1 connection token (hex HMAC-SHA256 of user, timestamp, info); prints the token and the timestamp.
    Legacy {
        /// The user id the token is for.
        #[arg(long, allow_hyphen_values = true)]
        user: String,
        /// Unix seconds the token is signed with [default: now]
        #[arg(long)]
        timestamp: Option<String>,
        /// Connection info (a string, signed as it is)
        #[arg(long, default_value = "", allow_hyphen_values = true)]
        info: String,
        #[command(flatten)]
        secret: SecretArgs,
    },
    /// v1 private channel sign (hex HMAC-SHA256 of client, channel, info).
    ChannelSign {
        /// The client id the sign is for.
        #[arg(long, allow_hyphen_values = true)]
        client: String,
        /// The private channel.
        #[arg(long, allow_hyphen_values = true)]
        channel: String,
        /// Channel info (a string, signed as it is)
        #[arg(long, default_value = "", allow_hyphen_values = true)]
        info: String,
        #[command(flatten)]
        secret: SecretArgs,
    },
    /// v1 API sign of a request body (stdin by default).
    ApiSign {
        /// The request body to sign [default: standard input]
        #[arg(long, value_name = "FILE")]
        body_file: Option<PathBuf>,
        #[command(flatten)]
        secret: SecretArgs,
    },
    /// Connection JWT (HS256 by default; RS256/ES256 with --key-file).
    Connect {
        /// The user id (`sub`); empty for an anonymous connection.
        #[arg(long, allow_hyphen_values = true)]
        user: String,
        #[command(flatten)]
        expiry: ExpiryArgs,
        /// Connection info (JSON).
        #[arg(long, value_name = "JSON")]
        info: Option<String>,
        /// Server-side subscriptions, comma-separated.
        #[arg(long, value_delimiter = ',')]
        channels: Vec<String>,
        /// Meta (JSON object), kept server-side.
        #[arg(long, value_name = "JSON")]
        meta: Option<String>,
        /// Connection expiry (unix seconds) overriding exp; 0 = never.
        #[arg(long, value_name = "UNIX")]
        expire_at: Option<u64>,
        #[command(flatten)]
        key: SigningArgs,
    },
    /// Subscription JWT (HS256 by default; RS256/ES256 with --key-file).
    Subscribe {
        /// The user id (`sub`), as in the connection's token.
        #[arg(long, allow_hyphen_values = true)]
        user: String,
        /// The channel the token lets the user subscribe to.
        #[arg(long, allow_hyphen_values = true)]
        channel: String,
        #[command(flatten)]
        expiry: ExpiryArgs,
        /// Channel info (JSON).
        #[arg(long, value_name = "JSON")]
        info: Option<String>,
        #[command(flatten)]
        key: SigningArgs,
    },
    /// Verify a JWT and print its claims (exit 1 on a wrong key, a bad signature or expiry).
    Check {
        /// The token; `-` reads it from standard input (a token on the command line is visible in `ps`).
        #[arg(value_name = "TOKEN")]
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
pub(crate) struct SigningArgs {
    /// HS256, HS384, HS512 (with the HMAC secret), RS256 or ES256 (with --key-file)
    #[arg(long, default_value = "HS256", value_parser = algorithms())]
    pub algorithm: crate::token::Algorithm,
    /// Private key (PEM) for RS256 (RSA) and ES256 (ECDSA P-256)
    #[arg(long, value_name = "PRIVATE.pem")]
    pub key_file: Option<PathBuf>,
    #[command(flatten)]
    pub secret: SecretArgs,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct SecretArgs {
    /// HMAC secret [env: CENTRIFUGO_TOKEN_SECRET]; prefer --secret-file: a flag is visible in `ps`
    #[arg(long, allow_hyphen_values = true)]
    pub secret: Option<String>,
    /// Read the HMAC secret from a file (trailing newline removed).
    #[arg(long, value_name = "FILE", conflicts_with = "secret")]
    pub secret_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct ExpiryArgs {
    /// Lifetime, e.g. 1h, 30m (sets exp = now + ttl); without --ttl or --exp the token never expires.
    #[arg(long, value_parser = parse_duration, conflicts_with = "exp")]
    pub ttl: Option<std::time::Duration>,
    /// Expiry as unix seconds.
    #[arg(long, value_name = "UNIX")]
    pub exp: Option<u64>,
}

/// The JWT algorithms, offered to completion.
fn algorithms() -> impl clap::builder::TypedValueParser<Value = crate::token::Algorithm> {
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(["HS256", "HS384", "HS512", "RS256", "ES256"])
        .map(|s| s.parse::<crate::token::Algorithm>().expect("a listed algorithm"))
}

fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    crate::duration::parse_positive(s).map_err(|e| format!("{} ({})", e.message, e.hint))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }

    fn parse(args: &[&str]) -> Cli {
        Cli::try_parse_from(args).unwrap()
    }

    #[test]
    fn files_without_subcommand_and_values_starting_with_dash() {
        let cli = parse(&["cent-run", "a.yaml", "--api-key", "-k3y", "--var=x=-1"]);
        assert_eq!(cli.files, [PathBuf::from("a.yaml")]);
        assert!(matches!(cli.settings.layer.value(Key::ApiKey), Some(Value::Secret(_))));
        assert_eq!(cli.settings.layer.value(Key::Var).unwrap().as_assign(), [("x".to_string(), "-1".to_string())]);
        let cli = parse(&["cent-run", "check", "a.yaml"]);
        assert!(matches!(cli.command, Some(Sub::Check { .. })));
        let cli = parse(&["cent-run", "-", "--url", "http://a:1,http://b:2", "--url=http://c:3"]);
        assert_eq!(cli.files, [PathBuf::from("-")]);
        let urls = cli.settings.layer.value(Key::Url).unwrap().as_list().to_vec();
        assert_eq!(urls, ["http://a:1", "http://b:2", "http://c:3"]);
    }

    #[test]
    fn secret_is_the_hmac_secret_or_a_secret_variable() {
        let cli =
            parse(&["cent-run", "a.yaml", "--secret", "s3-cr=t!", "--secret", "TOKEN=abc", "--secret-var", "B=c"]);
        let l = &cli.settings.layer;
        assert!(matches!(l.value(Key::Secret), Some(Value::Secret(_))), "`s3-cr=t!` has no variable name before `=`");
        let mut vars = l.value(Key::SecretVar).unwrap().as_assign().to_vec();
        vars.sort();
        assert_eq!(vars, [("B".into(), "c".into()), ("TOKEN".into(), "abc".into())]);
        assert!(Cli::try_parse_from(["cent-run", "a.yaml", "--secret", "a", "--secret", "b"]).is_err());
    }

    #[test]
    fn limits_come_from_the_table() {
        let e = Cli::try_parse_from(["cent-run", "a.yaml", "--max-batch-bytes", "10"]).unwrap_err().to_string();
        assert!(e.contains("'--max-batch-bytes <N>': must be at least 1024, found 10"), "{e}");
        let e = Cli::try_parse_from(["cent-run", "a.yaml", "--format", "jsno"]).unwrap_err().to_string();
        assert!(e.contains("did you mean `json`?"), "{e}");
        let e = Cli::try_parse_from(["cent-run", "a.yaml", "--timeout", "30"]).unwrap_err().to_string();
        assert!(e.contains("write `30s`"), "{e}");
    }

    /// Each subcommand's help shows only the options it uses, with the
    /// table's defaults and the exit codes.
    #[test]
    fn help_shows_what_each_subcommand_uses_with_the_real_defaults() {
        // clap wraps lines to the terminal: compare words, not layout.
        let words = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
        let mut cmd = Cli::command();
        let help = words(&cmd.render_long_help().to_string());
        let d = crate::executor::RunOptions::default();
        for shown in [
            format!("[default: {}]", d.concurrency),
            format!("[default: {}]", d.batch_size),
            format!("[default: {}]", d.max_batch_bytes),
            format!("[default: {}]", d.retry.retries),
            format!("[default: {}s]", crate::resolve::DEFAULT_TIMEOUT.as_secs()),
            format!("[default: {}]", crate::resolve::DEFAULT_URL),
        ] {
            assert!(help.contains(&shown), "--help lacks {shown}:\n{help}");
        }
        assert!(help.contains(&words(&Exit::help_table())), "{help}");
        let mut sub = |name: &str| words(&cmd.find_subcommand_mut(name).unwrap().render_long_help().to_string());
        let check = sub("check");
        for absent in ["--api-key", "--concurrency", "--state", "--retries", "--timeout"] {
            assert!(!check.contains(absent), "check --help shows {absent}");
        }
        assert!(check.contains("--protocol") && check.contains("--var") && check.contains("--format"));
        let plan = sub("plan");
        assert!(!plan.contains("--report-json") && !plan.contains("--state") && plan.contains("--run-id"));
        let call = sub("call");
        assert!(!call.contains("--concurrency") && call.contains("--api-key-file") && call.contains("--verbose"));
    }
}
