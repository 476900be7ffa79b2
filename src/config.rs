//! Connection settings from every source, in precedence order: flag >
//! environment > manifest `server:` > `~/.centrc` profile. Profiles are the
//! original tool's Python-style INI file, read unchanged.

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

use crate::manifest::ServerSettings;
use crate::protocol::Protocol;

/// A `~/.centrc` section.
#[derive(Debug, Clone, Default)]
pub struct Profile {
    pub name: String,
    pub address: Option<String>,
    pub secret: Option<SecretString>,
    pub api_key: Option<SecretString>,
    pub protocol: Option<Protocol>,
    pub timeout: Option<Duration>,
}

impl Profile {
    /// `api_key` means the modern API; only `secret` means v1 (as the original tool).
    pub fn implied_protocol(&self) -> Option<Protocol> {
        self.protocol.or(if self.api_key.is_some() {
            Some(Protocol::Api)
        } else if self.secret.is_some() {
            Some(Protocol::V1)
        } else {
            None
        })
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("Section {section} not found in {path} configuration file")]
    NoSection { section: String, path: String },
    #[error("cannot read {path}: {message}")]
    Unreadable { path: String, message: String },
    #[error("{0}")]
    Invalid(String),
}

/// `~/.centrc`, or `None` when there is no home directory.
pub fn default_config_path() -> Option<PathBuf> {
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".centrc"))
}

/// Reads one section of an INI profile file.
pub fn load_profile(path: &Path, shown_path: &str, section: &str) -> Result<Profile, ConfigError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        // As the original: a missing file just means the section is not there.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(ConfigError::Unreadable { path: shown_path.into(), message: e.to_string() }),
    };
    parse_profile(&text, shown_path, section)
}

pub fn parse_profile(text: &str, shown_path: &str, section: &str) -> Result<Profile, ConfigError> {
    let mut ini = configparser::ini::Ini::new_cs();
    let map = ini.read(text.to_owned()).map_err(|e| ConfigError::Unreadable { path: shown_path.into(), message: e })?;
    let not_found = || ConfigError::NoSection { section: section.into(), path: shown_path.into() };
    let sec = map.get(section).ok_or_else(not_found)?;
    let defaults = map.get("DEFAULT");
    // Keys are case-insensitive and [DEFAULT] values are inherited, as in Python's configparser.
    let get = |key: &str| -> Option<String> {
        let find = |m: &std::collections::HashMap<String, Option<String>>| {
            m.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).and_then(|(_, v)| v.clone())
        };
        find(sec).or_else(|| defaults.and_then(find)).map(|v| v.trim().replace("%%", "%"))
    };
    let protocol = match get("protocol") {
        Some(p) => Some(p.parse::<Protocol>().map_err(ConfigError::Invalid)?),
        None => None,
    };
    Ok(Profile {
        name: section.into(),
        address: get("address"),
        secret: get("secret").map(SecretString::from),
        api_key: get("api_key").map(SecretString::from),
        protocol,
        // The original falls back to 1 s on any problem with `timeout`.
        timeout: get("timeout").map(|t| {
            t.parse::<f64>().ok().filter(|s| *s > 0.0).map_or(Duration::from_secs(1), Duration::from_secs_f64)
        }),
    })
}

/// Connection settings given on the command line (or their env variables).
#[derive(Debug, Clone, Default)]
pub struct ConnectionFlags {
    pub url: Option<String>,
    pub api_key: Option<SecretString>,
    pub secret: Option<SecretString>,
    pub protocol: Option<Protocol>,
    pub timeout: Option<Duration>,
    pub insecure: bool,
    pub cacert: Option<PathBuf>,
}

/// Where the connection goes and how it authenticates, settled.
#[derive(Debug, Clone)]
pub struct Connection {
    pub url: String,
    pub protocol: Protocol,
    pub api_key: Option<SecretString>,
    pub secret: Option<SecretString>,
    pub timeout: Duration,
    pub insecure: bool,
    pub cacert: Option<PathBuf>,
}

pub const DEFAULT_URL: &str = "http://localhost:8000";
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// Merges the sources; `protocol` is the one validation already settled.
pub fn resolve(
    flags: &ConnectionFlags,
    server: &ServerSettings,
    profile: Option<&Profile>,
    protocol: Protocol,
) -> Connection {
    Connection {
        url: flags
            .url
            .clone()
            .or_else(|| server.url.clone())
            .or_else(|| profile.and_then(|p| p.address.clone()))
            .unwrap_or_else(|| DEFAULT_URL.into()),
        protocol,
        api_key: flags
            .api_key
            .clone()
            .or_else(|| server.api_key.clone())
            .or_else(|| profile.and_then(|p| p.api_key.clone())),
        secret: flags
            .secret
            .clone()
            .or_else(|| server.secret.clone())
            .or_else(|| profile.and_then(|p| p.secret.clone())),
        timeout: flags
            .timeout
            .or(server.timeout)
            .or_else(|| profile.and_then(|p| p.timeout))
            .unwrap_or(DEFAULT_TIMEOUT),
        insecure: flags.insecure || server.insecure.unwrap_or(false),
        cacert: flags.cacert.clone(),
    }
}

impl Connection {
    /// The credential the protocol needs, if it is missing.
    pub fn missing_credential(&self) -> Option<&'static str> {
        let empty = |s: &Option<SecretString>| s.as_ref().is_none_or(|s| s.expose_secret().is_empty());
        match self.protocol {
            Protocol::Api | Protocol::Legacy if empty(&self.api_key) => Some(
                "no API key: give --api-key, set CENTRIFUGO_API_KEY, set server.api_key, or use a --profile with api_key",
            ),
            Protocol::V1 if empty(&self.secret) => Some(
                "no secret for protocol v1: give --secret, set CENTRIFUGO_SECRET, set server.secret, or use a --profile with secret",
            ),
            _ => None,
        }
    }

    pub fn client_config(&self) -> crate::client::ClientConfig {
        crate::client::ClientConfig {
            url: self.url.clone(),
            protocol: self.protocol,
            api_key: self.api_key.clone(),
            secret: self.secret.clone(),
            timeout: self.timeout,
            insecure_tls: self.insecure,
            cacert: self.cacert.clone(),
            unsigned: false,
        }
    }

    /// Every secret value, for redaction of any text that leaves the process.
    pub fn secrets(&self) -> Vec<String> {
        [&self.api_key, &self.secret]
            .into_iter()
            .flatten()
            .map(|s| s.expose_secret().to_owned())
            .filter(|s| !s.is_empty())
            .collect()
    }
}

/// Replaces every occurrence of a secret with `***` (no copy when there is
/// none: reports of 100,000 commands are tens of megabytes).
pub fn redact<'t>(text: &'t str, secrets: &[String]) -> Cow<'t, str> {
    let mut out = Cow::Borrowed(text);
    for s in secrets.iter().filter(|s| s.len() >= 3) {
        if out.contains(s.as_str()) {
            out = Cow::Owned(out.replace(s.as_str(), "***"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED: &str =
        "[bananas]\naddress = http://localhost:8000\nsecret = long-secret-key-for-bananas-project\ntimeout = 5\n";

    #[test]
    fn the_seed_example_file_works_unchanged() {
        let p = parse_profile(SEED, "~/.centrc", "bananas").unwrap();
        assert_eq!(p.address.as_deref(), Some("http://localhost:8000"));
        assert_eq!(p.secret.as_ref().unwrap().expose_secret(), "long-secret-key-for-bananas-project");
        assert_eq!(p.timeout, Some(Duration::from_secs(5)));
        assert_eq!(p.implied_protocol(), Some(Protocol::V1));
    }

    #[test]
    fn missing_section_names_it_and_the_path() {
        let e = parse_profile(SEED, "~/.centrc", "apples").unwrap_err();
        assert_eq!(e.to_string(), "Section apples not found in ~/.centrc configuration file");
    }

    #[test]
    fn defaults_case_and_percent_like_python() {
        let text = "[DEFAULT]\ntimeout = x\n[Prod]\nADDRESS = http://h\napi_key = a%%b\\c\"d\n";
        let p = parse_profile(text, "f", "Prod").unwrap();
        assert_eq!(p.address.as_deref(), Some("http://h"));
        assert_eq!(p.api_key.as_ref().unwrap().expose_secret(), "a%b\\c\"d");
        assert_eq!(p.timeout, Some(Duration::from_secs(1)));
        assert_eq!(p.implied_protocol(), Some(Protocol::Api));
    }

    #[test]
    fn debug_output_and_panics_never_show_secrets() {
        let flags = ConnectionFlags {
            api_key: Some(SecretString::from("planted-key-123")),
            secret: Some(SecretString::from("planted-secret-456")),
            ..Default::default()
        };
        let conn = resolve(&flags, &ServerSettings::default(), None, Protocol::Api);
        let config = conn.client_config();
        let client = crate::client::Client::new(config.clone()).unwrap();
        let shown = format!("{conn:?} {config:?} {client:?} {flags:?}");
        assert!(!shown.contains("planted-key-123") && !shown.contains("planted-secret-456"), "{shown}");
        let panic = std::panic::catch_unwind(|| panic!("{:?}", conn)).unwrap_err();
        let text = panic.downcast_ref::<String>().unwrap();
        assert!(!text.contains("planted-key-123"), "{text}");
        let req = client.request(b"{}".to_vec(), true);
        assert!(req.headers.iter().all(|(_, v)| !v.contains("planted-key-123")));
        assert!(!format!("{req:?}").contains("planted-key-123"));
    }
}
