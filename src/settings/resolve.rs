//! The merged [`Layer`] in, settled [`Settings`] out — or every problem with
//! them (an invalid URL, a missing credential, an undefined `${VAR}` that no
//! other source replaced), each located where the value came from.

use std::path::PathBuf;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

use super::{ENV_API_KEY, ENV_SECRET, Layer, Setting};
use crate::client::ClientConfig;
use crate::executor::{RetryPolicy, RunOptions};
use crate::manifest::Problem;
use crate::protocol::Protocol;
use crate::redact::Secrets;

/// What the settings are for: `run` needs credentials; `check` and `plan`
/// only warn when one is missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Run,
    Check,
}

/// Where the requests go and how they authenticate, settled.
#[derive(Debug, Clone)]
pub struct Connection {
    /// Absolute `http(s)://` URLs with a host; several are nodes of one cluster.
    pub urls: Vec<String>,
    pub protocol: Protocol,
    pub api_key: Option<SecretString>,
    pub secret: Option<SecretString>,
    pub timeout: Duration,
    pub insecure: bool,
    pub cacert: Option<PathBuf>,
}

impl Connection {
    /// The library client's configuration for one of the URLs.
    pub fn client_config(&self, url: &str) -> ClientConfig {
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
    pub fn secrets(&self) -> Secrets {
        Secrets::new([&self.api_key, &self.secret].into_iter().flatten().map(|s| s.expose_secret()))
    }
}

/// Everything a run needs, settled once before anything runs.
#[derive(Debug)]
pub struct Settings {
    pub connection: Connection,
    pub run: RunOptions,
    /// Problems that do not stop this mode (a missing key for `check`).
    pub warnings: Vec<Problem>,
}

pub const DEFAULT_URL: &str = "http://localhost:8000";
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// Settles the merged layer.
pub fn resolve(layer: Layer, mode: Mode) -> Result<Settings, Vec<Problem>> {
    let mut problems = Vec::new();
    let mut warnings = Vec::new();
    if let Some(shard) = &layer.shard
        && layer.run_id.is_none()
    {
        problems.push(shard.from.locate(Problem::error("every part of a sharded run needs the same run id").help(
            "give --run-id (e.g. the CI run or Job name), so the parts derive the idempotency keys an unsharded run would",
        )));
    }
    let mut take = Taker(&mut problems);
    let protocol = take.value(layer.protocol).unwrap_or_default();
    let timeout = take.value(layer.timeout).unwrap_or(DEFAULT_TIMEOUT);
    let insecure = take.value(layer.insecure).unwrap_or(false);
    let cacert = take.value(layer.cacert);
    let base = RunOptions::default();
    let run = RunOptions {
        concurrency: take.value(layer.concurrency).unwrap_or(base.concurrency),
        batch_size: take.value(layer.batch_size).unwrap_or(base.batch_size),
        max_batch_bytes: take.value(layer.max_batch_bytes).unwrap_or(base.max_batch_bytes),
        retry: RetryPolicy { retries: take.value(layer.retries).unwrap_or(base.retry.retries), ..base.retry },
        rate: take.value(layer.rate),
        fail_fast: take.value(layer.fail_fast).unwrap_or(false),
        idempotency: take.value(layer.idempotency).unwrap_or(true),
        shard: layer.shard.as_ref().and_then(|s| s.value.as_ref().ok().copied()),
        run_id: take.value(layer.run_id).unwrap_or(base.run_id),
        grace: base.grace,
    };
    let urls = match layer.urls {
        None => vec![DEFAULT_URL.to_owned()],
        Some(Setting { value: Err(p), from }) => {
            problems.push(from.locate(*p));
            Vec::new()
        }
        Some(Setting { value: Ok(urls), from }) => {
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
    let api_key = credential(layer.api_key, protocol.has_api_key(), mode, &mut problems, &mut warnings);
    let secret = credential(layer.secret, protocol == Protocol::V1, mode, &mut problems, &mut warnings);
    // `Err`: the credential was there but broken, and that was reported.
    let missing = match protocol {
        Protocol::Api | Protocol::Legacy if matches!(api_key, Ok(None)) => Some(format!(
            "no API key: give --api-key, set {ENV_API_KEY}, set server.api_key, or use a --profile with api_key"
        )),
        Protocol::V1 if matches!(secret, Ok(None)) => Some(format!(
            "no secret for protocol v1: give --secret, set {ENV_SECRET}, set server.secret, or use a --profile with secret"
        )),
        _ => None,
    };
    if let Some(m) = missing {
        match mode {
            Mode::Run => problems.push(Problem::error(m)),
            Mode::Check => warnings.push(Problem::error(m).warning()),
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let (api_key, secret) = (api_key.unwrap_or_default(), secret.unwrap_or_default());
    let connection = Connection { urls, protocol, api_key, secret, timeout, insecure, cacert };
    warnings.extend(transport_warnings(&connection));
    Ok(Settings { connection, run, warnings })
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
struct Taker<'p>(&'p mut Vec<Problem>);

impl Taker<'_> {
    fn value<T>(&mut self, s: Option<Setting<T>>) -> Option<T> {
        let s = s?;
        match s.value {
            Ok(v) => Some(v),
            Err(p) => {
                self.0.push(s.from.locate(*p));
                None
            }
        }
    }
}

/// A credential's value; a broken one (an undefined `${VAR}` in the
/// manifest) is a problem only when the protocol needs it, and then only a
/// warning for `check`.
fn credential(
    s: Option<Setting<SecretString>>,
    needed: bool,
    mode: Mode,
    problems: &mut Vec<Problem>,
    warnings: &mut Vec<Problem>,
) -> Result<Option<SecretString>, ()> {
    let Some(s) = s else { return Ok(None) };
    match s.value {
        Ok(v) if v.expose_secret().is_empty() => Ok(None),
        Ok(v) => Ok(Some(v)),
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
    use crate::settings::Origin;

    fn flag<T>(v: T) -> Option<Setting<T>> {
        Some(Setting::new(v, Origin::Flag("--x")))
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
        let layer = Layer { urls: flag(vec!["localhost:8000".into()]), ..Layer::default() };
        let e = resolve(layer, Mode::Check).unwrap_err();
        assert_eq!(e[0].message, "--x: `localhost:8000` is not an http(s) URL (`localhost:` is read as its scheme)");
        assert_eq!(e[0].help.as_deref(), Some("did you mean http://localhost:8000?"));
    }

    #[test]
    fn a_higher_layer_wins_and_a_broken_lower_value_does_not_matter() {
        let broken = Layer {
            urls: Some(Setting::broken(Problem::error("undefined variable `U`"), Origin::Default)),
            api_key: Some(Setting::broken(Problem::error("undefined variable `K`"), Origin::Default)),
            ..Layer::default()
        };
        let flags =
            Layer { urls: flag(vec!["http://a:1".into()]), api_key: flag(SecretString::from("k")), ..Layer::default() };
        let s = resolve(flags.over(broken.clone()), Mode::Run).unwrap();
        assert_eq!(s.connection.urls, ["http://a:1"]);
        let e = resolve(broken.clone(), Mode::Run).unwrap_err();
        let messages: Vec<&str> = e.iter().map(|p| p.message.as_str()).collect();
        assert_eq!(messages, ["undefined variable `U`", "undefined variable `K`"]);
        // `check` needs no key: the undefined one is a warning there.
        let only_key = Layer { urls: flag(vec!["http://a:1".into()]), ..broken };
        let s = resolve(only_key, Mode::Check).unwrap();
        assert_eq!(s.warnings.len(), 1);
    }

    #[test]
    fn a_missing_credential_is_an_error_to_run_and_a_warning_to_check() {
        let e = resolve(Layer::default(), Mode::Run).unwrap_err();
        assert!(e[0].message.starts_with("no API key"), "{e:?}");
        let s = resolve(Layer::default(), Mode::Check).unwrap();
        assert_eq!(s.connection.urls, [DEFAULT_URL]);
        assert!(s.warnings[0].message.starts_with("no API key"));
        let v1 = Layer { protocol: flag(Protocol::V1), api_key: flag(SecretString::from("k")), ..Layer::default() };
        assert!(resolve(v1, Mode::Run).unwrap_err()[0].message.starts_with("no secret for protocol v1"));
    }

    #[test]
    fn debug_output_never_shows_secrets() {
        let layer = Layer {
            api_key: flag(SecretString::from("planted-key-123")),
            secret: flag(SecretString::from("planted-secret-456")),
            ..Layer::default()
        };
        let s = resolve(layer.clone(), Mode::Run).unwrap();
        let config = s.connection.client_config(&s.connection.urls[0]);
        let client = crate::client::Client::new(config.clone()).unwrap();
        let shown = format!("{layer:?} {s:?} {config:?} {client:?} {:?}", s.connection.secrets());
        assert!(!shown.contains("planted-key-123") && !shown.contains("planted-secret-456"), "{shown}");
        let conn = s.connection.clone();
        let panic = std::panic::catch_unwind(|| panic!("{:?}", conn)).unwrap_err();
        let text = panic.downcast_ref::<String>().unwrap();
        assert!(!text.contains("planted-key-123"), "{text}");
    }
}
