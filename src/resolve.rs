//! Settling settings: the sources' layers stacked in one order — flag >
//! profile > environment > manifest (a protocol a profile only implies comes
//! last) — and turned, once and before anything runs, into a
//! [`Connection`] and [`RunOptions`], or every problem with them (an invalid
//! URL, a missing credential, an undefined `${VAR}` no other source
//! replaced, a server configuration file that cannot be read), each located
//! where the value came from. `run`, `check`,
//! `plan`, `call` and `cent` all settle through [`Sources::settle`].

use std::path::{Path, PathBuf};
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

use crate::client::ClientConfig;
use crate::diagnostic::Problem;
use crate::executor::{RetryPolicy, RunOptions};
use crate::protocol::Protocol;
use crate::redact::Secrets;
use crate::server_config::{self, ServerConfig};
use crate::settings::table::{self, Key};
use crate::settings::{Layer, Origin, Profile, Setting, Value};

/// What the settings are for: `run` and `call` need credentials; `check`
/// and `plan` only warn when one is missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Run,
    Check,
}

/// Where settings come from, but the manifest: flags, a `--profile`, the
/// environment.
#[derive(Debug, Clone, Default)]
pub(crate) struct Sources {
    pub flags: Layer,
    pub profile: Profile,
    pub env: Layer,
}

impl Sources {
    /// Flags over the profile over the environment: what beats a manifest.
    pub(crate) fn upper(&self) -> Layer {
        self.flags.clone().over(self.profile.layer.clone()).over(self.env.clone())
    }

    /// Every source stacked, the manifest's `server:` and `defaults:` below
    /// the others and a profile's implied protocol last.
    pub(crate) fn stack(&self, manifest: &Layer) -> Layer {
        self.upper().over(manifest.clone()).over(self.profile.implied.clone())
    }

    /// The protocol commands are validated for before any manifest is
    /// read: from a flag, the profile or the environment.
    pub(crate) fn protocol(&self) -> Option<Protocol> {
        match self.upper().value(Key::Protocol) {
            Some(Value::Protocol(p)) => Some(*p),
            _ => None,
        }
    }

    /// The protocol a profile implies (loses to a manifest's).
    pub(crate) fn implied_protocol(&self) -> Option<Protocol> {
        match self.profile.implied.value(Key::Protocol) {
            Some(Value::Protocol(p)) => Some(*p),
            _ => None,
        }
    }

    /// Settles every source over `manifest` (the manifests' `server:` and
    /// `defaults:`; empty for `call` and `cent`).
    pub(crate) fn settle(&self, manifest: &Layer, mode: Mode) -> Result<Settings, Vec<Problem>> {
        settle(self.stack(manifest), mode)
    }
}

/// Where the requests go and how they authenticate, settled.
#[derive(Debug, Clone)]
pub(crate) struct Connection {
    /// Absolute `http(s)://` URLs with a host; several are nodes of one cluster.
    pub urls: Vec<String>,
    pub protocol: Protocol,
    pub api_key: Option<SecretString>,
    pub secret: Option<SecretString>,
    pub timeout: Duration,
    pub insecure: bool,
    pub cacert: Option<PathBuf>,
    /// What signs listeners' tokens, when a token secret or key is given.
    pub token: Option<TokenKey>,
}

/// How listeners' connection and subscription tokens are signed.
#[derive(Debug, Clone)]
pub(crate) struct TokenKey {
    pub algorithm: crate::token::Algorithm,
    /// The HMAC secret, or the private key's PEM.
    pub key: SecretString,
}

impl Connection {
    /// The library client's configuration for one of the URLs.
    pub(crate) fn client_config(&self, url: &str) -> ClientConfig {
        ClientConfig {
            url: url.to_owned(),
            protocol: self.protocol,
            api_key: self.api_key.clone(),
            secret: self.secret.clone(),
            timeout: self.timeout,
            insecure_tls: self.insecure,
            cacert: self.cacert.clone(),
            unsigned: false,
        }
    }

    /// Every secret value, for redaction.
    pub(crate) fn secrets(&self) -> Secrets {
        let token = self.token.as_ref().filter(|t| t.algorithm.is_hmac()).map(|t| &t.key);
        Secrets::new([&self.api_key, &self.secret].into_iter().flatten().chain(token).map(|s| s.expose_secret()))
    }
}

/// Everything a run needs, settled once before anything runs.
#[derive(Debug)]
pub(crate) struct Settings {
    pub connection: Connection,
    pub run: RunOptions,
    /// The run id was given (a flag), not made up for this run.
    pub run_id_given: bool,
    /// Problems that do not stop this mode (a missing key for `check`).
    pub warnings: Vec<Problem>,
    /// The server's own configuration (`--server-config`), read: commands
    /// it refuses are errors before anything is sent.
    pub server_config: Option<ServerConfig>,
}

/// The built-in server address.
pub(crate) const DEFAULT_URL: &str = "http://localhost:8000";

/// Settles a stacked layer.
pub(crate) fn settle(mut layer: Layer, mode: Mode) -> Result<Settings, Vec<Problem>> {
    let mut problems = Vec::new();
    let mut warnings = Vec::new();
    if let Some(shard) = layer.get(Key::Shard)
        && !layer.has(Key::RunId)
    {
        problems.push(shard.from.locate(Problem::error("every part of a sharded run needs the same run id").help(
            "give --run-id (e.g. the CI run or Job name), so the parts derive the idempotency keys an unsharded run would",
        )));
    }
    let mut take = Taker { layer: &mut layer, problems: &mut problems };
    let protocol = match take.value(Key::Protocol) {
        Some(Value::Protocol(p)) => p,
        _ => Protocol::default(),
    };
    let timeout = match take.value(Key::Timeout) {
        Some(Value::Duration(d)) => d,
        _ => DEFAULT_TIMEOUT,
    };
    let insecure = take.value(Key::Insecure).and_then(|v| v.as_bool()).unwrap_or(false);
    let cacert = match layer.take(Key::Cacert) {
        Some(Setting { value: Ok(Value::Path(p)), from }) => match certificates(&p) {
            Ok(()) => Some(p),
            Err(why) => {
                problems.push(from.locate(Problem::error(format!("{}: {why}", p.display())).help(
                    "give the CA certificate (PEM, `-----BEGIN CERTIFICATE-----`) that signed the server's certificate",
                )));
                None
            }
        },
        Some(Setting { value: Err(p), from }) => {
            problems.push(from.locate(*p));
            None
        }
        _ => None,
    };
    let server_config = match layer.take(Key::ServerConfig) {
        Some(Setting { value: Ok(Value::Path(path)), from }) => match server_config::read(&path, from.clone()) {
            Ok(config) => Some(config),
            Err(p) => {
                problems.push(from.locate(*p));
                None
            }
        },
        Some(Setting { value: Err(p), from }) => {
            problems.push(from.locate(*p));
            None
        }
        _ => None,
    };
    let mut take = Taker { layer: &mut layer, problems: &mut problems };
    let base = RunOptions::default();
    let int = |take: &mut Taker, key| take.value(key).and_then(|v| v.as_int());
    let run_id = match take.value(Key::RunId) {
        Some(Value::Text(t)) => Some(t),
        _ => None,
    };
    let run = RunOptions {
        concurrency: int(&mut take, Key::Concurrency).map_or(base.concurrency, |n| n as usize),
        batch_size: int(&mut take, Key::BatchSize).map_or(base.batch_size, |n| n as usize),
        max_batch_bytes: int(&mut take, Key::MaxBatchBytes).map_or(base.max_batch_bytes, |n| n as usize),
        retry: RetryPolicy {
            retries: int(&mut take, Key::Retries).map_or(base.retry.retries, |n| n as u32),
            ..base.retry
        },
        rate: match take.value(Key::Rate) {
            Some(Value::Number(r)) => Some(r),
            _ => None,
        },
        fail_fast: take.value(Key::FailFast).and_then(|v| v.as_bool()).unwrap_or(false),
        idempotency: take.value(Key::Idempotency).and_then(|v| v.as_bool()).unwrap_or(true),
        shard: match take.value(Key::Shard) {
            Some(Value::Shard(i, n)) => Some((i, n)),
            _ => None,
        },
        run_id: run_id.clone().unwrap_or(base.run_id),
        grace: base.grace,
    };
    let urls = match layer.take(Key::Url) {
        None => vec![DEFAULT_URL.to_owned()],
        Some(Setting { value: Err(p), from }) => {
            problems.push(from.locate(*p));
            Vec::new()
        }
        Some(Setting { value: Ok(v), from }) => {
            let urls = v.as_list().to_vec();
            if urls.is_empty() {
                problems.push(from.locate(Problem::error("no server URL given")));
            }
            let mut good = Vec::with_capacity(urls.len());
            for u in urls {
                match crate::protocol::check_url(&u) {
                    Ok(()) => good.push(u.trim().to_owned()),
                    Err(e) => problems.push(from.locate(Problem::error(e.message).help(e.hint))),
                }
            }
            good
        }
    };
    let mut cred = |key: Key, file: Key, needed: bool| {
        let from_file = match layer.take(file) {
            Some(Setting { value: Ok(Value::Path(path)), from }) => match read_secret_file(&path) {
                Ok((s, warning)) => {
                    warnings.extend(warning.map(|w| from.locate(w)));
                    if layer.get(key).is_some_and(|s| matches!(s.from, Origin::Flag(_))) {
                        problems.push(from.locate(Problem::error(format!(
                            "--{} and --{} are both given",
                            table::def(key).flag.unwrap_or_default(),
                            table::def(file).flag.unwrap_or_default()
                        ))));
                    }
                    Some(Setting::new(Value::Secret(s), from))
                }
                Err(p) => {
                    problems.push(from.locate(*p));
                    return Err(());
                }
            },
            _ => None,
        };
        credential(from_file.or_else(|| layer.take(key)), needed, mode, &mut problems, &mut warnings)
    };
    let api_key = cred(Key::ApiKey, Key::ApiKeyFile, protocol.has_api_key());
    let secret = cred(Key::Secret, Key::SecretFile, protocol == Protocol::V1);
    let token_secret = cred(Key::TokenSecret, Key::TokenSecretFile, false);
    let token = token_key(&mut layer, token_secret, &mut problems);
    // `Err`: the credential was there but broken, and that was reported.
    let missing = match protocol {
        Protocol::Api | Protocol::Legacy if matches!(api_key, Ok(None)) => Some(
            "no API key: give --api-key-file or --api-key, set CENTRIFUGO_API_KEY, set server.api_key, or use a --profile with api_key",
        ),
        Protocol::V1 if matches!(secret, Ok(None)) => Some(
            "no secret for protocol v1: give --secret-file or --secret, set CENTRIFUGO_SECRET, set server.secret, or use a --profile with secret",
        ),
        _ => None,
    };
    // `check` and `plan` need no credentials: a missing one is no news to them.
    if let Some(m) = missing
        && mode == Mode::Run
    {
        problems.push(Problem::error(m));
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let (api_key, secret) = (api_key.unwrap_or_default(), secret.unwrap_or_default());
    let connection = Connection { urls, protocol, api_key, secret, timeout, insecure, cacert, token };
    warnings.extend(transport_warnings(&connection));
    let run_id_given = run_id.is_some();
    Ok(Settings { connection, run, run_id_given, warnings, server_config })
}

/// The listeners' token key: `--token-algorithm` (HS256 by default) with
/// the token secret for HMAC, or `--token-key-file` for RS256/ES256;
/// `None` when neither is given (a manifest that listens is then refused).
fn token_key(
    layer: &mut Layer,
    secret: Result<Option<SecretString>, ()>,
    problems: &mut Vec<Problem>,
) -> Option<TokenKey> {
    let algorithm = match layer.take(Key::TokenAlgorithm) {
        Some(Setting { value: Ok(Value::Choice(a)), .. }) => a.parse().unwrap_or(crate::token::Algorithm::HS256),
        _ => crate::token::Algorithm::HS256,
    };
    let file = match layer.take(Key::TokenKeyFile) {
        Some(Setting { value: Ok(Value::Path(p)), from }) => match std::fs::read_to_string(&p) {
            Ok(pem) => Some((pem, from)),
            Err(e) => {
                problems
                    .push(from.locate(Problem::error(format!("cannot read the token key file {}: {e}", p.display()))));
                return None;
            }
        },
        _ => None,
    };
    let secret = secret.ok().flatten();
    match (algorithm.is_hmac(), secret, file) {
        (true, Some(key), _) => Some(TokenKey { algorithm, key }),
        (false, _, Some((pem, _))) => Some(TokenKey { algorithm, key: SecretString::from(pem) }),
        (false, _, None) => {
            problems.push(Problem::error(format!(
                "{algorithm} signs listeners' tokens with a private key: give --token-key-file PRIVATE.pem"
            )));
            None
        }
        (true, None, Some((_, from))) => {
            problems.push(from.locate(Problem::error(format!(
                "--token-key-file is for RS256 or ES256, and the token algorithm is {algorithm}"
            ))));
            None
        }
        (true, None, None) => None,
    }
}

/// Whether a file holds at least one PEM certificate.
fn certificates(path: &Path) -> Result<(), String> {
    let pem = std::fs::read(path).map_err(|e| format!("cannot read it: {e}"))?;
    match reqwest::Certificate::from_pem_bundle(&pem) {
        Ok(certs) if !certs.is_empty() => Ok(()),
        Ok(_) => Err("it holds no certificate".into()),
        Err(e) => Err(format!("not a PEM certificate: {e}")),
    }
}

/// The built-in request timeout.
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// A key or secret from a file: the trailing newline removed; a control
/// character left is an error (HTTP headers cannot carry it), a file others
/// may read a warning.
fn read_secret_file(path: &Path) -> Result<(SecretString, Option<Problem>), Box<Problem>> {
    let fail = |m: String| Box::new(Problem::error(m));
    let bytes = std::fs::read(path).map_err(|e| fail(format!("cannot read {}: {e}", path.display())))?;
    let text = String::from_utf8(bytes).map_err(|_| fail(format!("{} is not UTF-8 text", path.display())))?;
    let text = text.trim_end_matches(['\n', '\r']);
    check_secret_text(text).map_err(|m| fail(format!("{}: {m}", path.display())))?;
    let mut warning = None;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(path)
            && meta.permissions().mode() & 0o077 != 0
        {
            warning = Some(
                Problem::error(format!(
                    "{} may be read by other users (mode {:o})",
                    path.display(),
                    meta.permissions().mode() & 0o777
                ))
                .help(format!("chmod 600 {}", path.display()))
                .warning(),
            );
        }
    }
    Ok((SecretString::from(text.to_owned()), warning))
}

/// A credential holds no control characters (a header cannot carry them).
fn check_secret_text(text: &str) -> Result<(), String> {
    if text.is_empty() {
        return Err("it is empty".into());
    }
    match text.chars().position(char::is_control) {
        Some(i) => Err(format!("it holds a control character at position {} (a newline inside?)", i + 1)),
        None => Ok(()),
    }
}

/// What is unsafe but allowed: certificates not verified; a credential sent
/// in clear text to a host that is not this machine.
fn transport_warnings(conn: &Connection) -> Vec<Problem> {
    let mut out = Vec::new();
    if conn.insecure {
        out.push(Problem::error("TLS certificates are not verified (--insecure): anyone between here and the server can read the API key").warning());
    }
    let credential = conn.api_key.is_some() || conn.secret.is_some();
    for url in &conn.urls {
        let Ok(u) = reqwest::Url::parse(url) else { continue };
        let host = u.host_str().unwrap_or_default().trim_matches(['[', ']']);
        let loopback = match host.parse::<std::net::IpAddr>() {
            Ok(ip) => ip.is_loopback(),
            Err(_) => host == "localhost" || host.ends_with(".localhost"),
        };
        if credential && u.scheme() == "http" && !loopback && conn.protocol.has_api_key() {
            out.push(
                Problem::error(format!("the API key goes in clear text to {url} (plain http to another host)"))
                    .help("use https:// for servers that are not on this machine")
                    .warning(),
            );
        }
    }
    out
}

/// Takes layer values, keeping the problems of broken ones.
struct Taker<'a> {
    layer: &'a mut Layer,
    problems: &'a mut Vec<Problem>,
}

impl Taker<'_> {
    fn value(&mut self, key: Key) -> Option<Value> {
        let s = self.layer.take(key)?;
        match s.value {
            Ok(v) => Some(v),
            Err(p) => {
                self.problems.push(s.from.locate(*p));
                None
            }
        }
    }
}

/// A credential's value; a broken one (an undefined `${VAR}` in the
/// manifest) is a problem only when the protocol needs it, and then only a
/// warning for `check`.
fn credential(
    s: Option<Setting>,
    needed: bool,
    mode: Mode,
    problems: &mut Vec<Problem>,
    warnings: &mut Vec<Problem>,
) -> Result<Option<SecretString>, ()> {
    let Some(s) = s else { return Ok(None) };
    match s.value {
        Ok(Value::Secret(v)) if v.expose_secret().is_empty() => Ok(None),
        Ok(Value::Secret(v)) => match check_secret_text(v.expose_secret()) {
            Ok(()) => Ok(Some(v)),
            Err(m) => {
                problems.push(s.from.locate(Problem::error(format!("the credential is not usable: {m}"))));
                Err(())
            }
        },
        Ok(_) => Ok(None),
        Err(p) if needed => {
            let p = s.from.locate(*p);
            match mode {
                Mode::Run => problems.push(p),
                Mode::Check => warnings.push(p.warning()),
            }
            Err(())
        }
        Err(_) => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flag(v: Value) -> Option<Setting> {
        Some(Setting::new(v, Origin::Flag("x")))
    }

    fn layer(pairs: Vec<(Key, Option<Setting>)>) -> Layer {
        let mut l = Layer::default();
        for (k, s) in pairs {
            if let Some(s) = s {
                l.set(k, s);
            }
        }
        l
    }

    fn key(s: &str) -> Value {
        Value::Secret(SecretString::from(s.to_owned()))
    }

    #[test]
    fn urls_must_be_absolute_http_with_a_host() {
        use crate::protocol::check_url;
        assert!(check_url("http://localhost:8000/api").is_ok());
        assert!(check_url("https://rt.example.com").is_ok());
        assert_eq!(check_url("localhost:8000").unwrap_err().hint, "did you mean http://localhost:8000?");
        let e = check_url("ftp://h/x").unwrap_err();
        assert!(e.message.contains("scheme `ftp` is not supported"), "{e:?}");
        assert_eq!(check_url("").unwrap_err().message, "the server URL is empty");
        assert!(check_url("http://").is_err());
        assert_eq!(check_url("h:80").unwrap_err().hint, "did you mean http://h:80?");
        let l = layer(vec![(Key::Url, flag(Value::Urls(vec!["localhost:8000".into()])))]);
        let e = settle(l, Mode::Check).unwrap_err();
        assert_eq!(e[0].message, "--x: `localhost:8000` is not an http(s) URL (`localhost:` is read as its scheme)");
        assert_eq!(e[0].help.as_deref(), Some("did you mean http://localhost:8000?"));
    }

    #[test]
    fn a_higher_layer_wins_and_a_broken_lower_value_does_not_matter() {
        let broken = layer(vec![
            (Key::Url, Some(Setting::broken(Problem::error("undefined variable `U`"), Origin::Default))),
            (Key::ApiKey, Some(Setting::broken(Problem::error("undefined variable `K`"), Origin::Default))),
        ]);
        let flags =
            layer(vec![(Key::Url, flag(Value::Urls(vec!["http://a:1".into()]))), (Key::ApiKey, flag(key("k11")))]);
        let s = settle(flags.over(broken.clone()), Mode::Run).unwrap();
        assert_eq!(s.connection.urls, ["http://a:1"]);
        let e = settle(broken.clone(), Mode::Run).unwrap_err();
        let messages: Vec<&str> = e.iter().map(|p| p.message.as_str()).collect();
        assert_eq!(messages, ["undefined variable `U`", "undefined variable `K`"]);
        // `check` needs no key: the undefined one is a warning there.
        let mut only_key = broken;
        only_key.set(Key::Url, flag(Value::Urls(vec!["http://a:1".into()])).unwrap());
        let s = settle(only_key, Mode::Check).unwrap();
        assert_eq!(s.warnings.len(), 1);
    }

    #[test]
    fn a_missing_credential_is_an_error_to_run_and_nothing_to_check() {
        let e = settle(Layer::default(), Mode::Run).unwrap_err();
        assert!(e[0].message.starts_with("no API key"), "{e:?}");
        let s = settle(Layer::default(), Mode::Check).unwrap();
        assert_eq!(s.connection.urls, [DEFAULT_URL]);
        assert!(s.warnings.is_empty(), "{:?}", s.warnings);
        let v1 = layer(vec![(Key::Protocol, flag(Value::Protocol(Protocol::V1))), (Key::ApiKey, flag(key("k11")))]);
        assert!(settle(v1, Mode::Run).unwrap_err()[0].message.starts_with("no secret for protocol v1"));
    }

    #[test]
    fn a_key_with_a_newline_is_a_configuration_error_and_key_files_lose_their_newline() {
        let e = settle(layer(vec![(Key::ApiKey, flag(key("abc\ndef")))]), Mode::Run).unwrap_err();
        assert_eq!(
            e[0].message,
            "--x: the credential is not usable: it holds a control character at position 4 (a newline inside?)"
        );
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("key");
        std::fs::write(&file, "k3y-from-file\n").unwrap();
        let s = settle(layer(vec![(Key::ApiKeyFile, flag(Value::Path(file)))]), Mode::Run).unwrap();
        assert_eq!(s.connection.api_key.unwrap().expose_secret(), "k3y-from-file");
    }

    #[test]
    fn debug_output_never_shows_secrets() {
        let l =
            layer(vec![(Key::ApiKey, flag(key("planted-key-123"))), (Key::Secret, flag(key("planted-secret-456")))]);
        let s = settle(l.clone(), Mode::Run).unwrap();
        let config = s.connection.client_config(&s.connection.urls[0]);
        let client = crate::client::Client::new(config.clone()).unwrap();
        let shown = format!("{l:?} {s:?} {config:?} {client:?} {:?}", s.connection.secrets());
        assert!(!shown.contains("planted-key-123") && !shown.contains("planted-secret-456"), "{shown}");
        let conn = s.connection.clone();
        let panic = std::panic::catch_unwind(|| panic!("{:?}", conn)).unwrap_err();
        let text = panic.downcast_ref::<String>().unwrap();
        assert!(!text.contains("planted-key-123"), "{text}");
    }
}
