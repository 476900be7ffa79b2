//! `~/.centrc` profiles: the original tool's Python-style INI file, read
//! unchanged (keys case-insensitive, `[DEFAULT]` inherited, `%%` for `%`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use secrecy::SecretString;

use super::{Layer, Origin, Setting};
use crate::protocol::Protocol;

/// A `~/.centrc` section.
#[derive(Debug, Clone, Default)]
pub struct Profile {
    /// The file as the user named it (what messages show).
    pub file: String,
    pub name: String,
    pub address: Option<String>,
    pub secret: Option<SecretString>,
    pub api_key: Option<SecretString>,
    pub protocol: Option<Protocol>,
    pub timeout: Option<Duration>,
}

/// Why a profile could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ProfileError {
    #[error("configuration file {path} not found")]
    NotFound { path: String },
    #[error("Section {section} not found in {path} configuration file")]
    NoSection { section: String, path: String },
    #[error("cannot read {path}: {message}")]
    Unreadable { path: String, message: String },
    #[error("{path} [{section}]: {message}")]
    Invalid { path: String, section: String, message: String },
}

impl Profile {
    /// `api_key` means the modern API; only `secret` means v1 (as the original tool).
    pub fn implied_protocol(&self) -> Option<Protocol> {
        if self.api_key.is_some() {
            Some(Protocol::Api)
        } else if self.secret.is_some() {
            Some(Protocol::V1)
        } else {
            None
        }
    }

    /// The profile's values as a settings layer (its implied protocol is
    /// not in it: that only applies when nothing else names a protocol).
    pub fn layer(&self) -> Layer {
        let from = || Origin::Profile { file: self.file.clone(), section: self.name.clone() };
        Layer {
            urls: self.address.as_ref().map(|a| Setting::new(vec![a.clone()], from())),
            api_key: self.api_key.clone().map(|k| Setting::new(k, from())),
            secret: self.secret.clone().map(|s| Setting::new(s, from())),
            protocol: self.protocol.map(|p| Setting::new(p, from())),
            timeout: self.timeout.map(|t| Setting::new(t, from())),
            ..Layer::default()
        }
    }
}

/// `~/.centrc`, or `None` when there is no home directory.
pub fn default_path() -> Option<PathBuf> {
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".centrc"))
}

/// Reads one section of a profile file; `path` as the user wrote it (`~/`
/// expanded), or `None` for `~/.centrc`.
pub fn load_profile(path: Option<&Path>, section: &str) -> Result<Profile, ProfileError> {
    let (full, shown) = match path {
        Some(p) => match p.to_str().and_then(|s| s.strip_prefix("~/")) {
            Some(rest) => {
                (default_path().map_or_else(|| p.to_owned(), |h| h.with_file_name(rest)), p.display().to_string())
            }
            None => (p.to_owned(), p.display().to_string()),
        },
        None => (default_path().unwrap_or_else(|| ".centrc".into()), "~/.centrc".to_owned()),
    };
    let text = match std::fs::read_to_string(&full) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(ProfileError::NotFound { path: shown }),
        Err(e) => return Err(ProfileError::Unreadable { path: shown, message: e.to_string() }),
    };
    parse_profile(&text, &shown, section)
}

/// Reads one section of a profile file's text; `shown_path` is what messages say.
pub fn parse_profile(text: &str, shown_path: &str, section: &str) -> Result<Profile, ProfileError> {
    let mut ini = configparser::ini::Ini::new_cs();
    let map =
        ini.read(text.to_owned()).map_err(|e| ProfileError::Unreadable { path: shown_path.into(), message: e })?;
    let not_found = || ProfileError::NoSection { section: section.into(), path: shown_path.into() };
    let sec = map.get(section).ok_or_else(not_found)?;
    let defaults = map.get("DEFAULT");
    // Keys are case-insensitive and [DEFAULT] values are inherited, as in Python's configparser.
    let get = |key: &str| -> Option<String> {
        let find = |m: &std::collections::HashMap<String, Option<String>>| {
            m.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).and_then(|(_, v)| v.clone())
        };
        find(sec).or_else(|| defaults.and_then(find)).map(|v| v.trim().replace("%%", "%"))
    };
    let invalid = |message: String| ProfileError::Invalid { path: shown_path.into(), section: section.into(), message };
    let protocol = match get("protocol") {
        Some(p) => Some(p.parse::<Protocol>().map_err(invalid)?),
        None => None,
    };
    let timeout = match get("timeout") {
        Some(t) => Some(
            t.parse::<f64>()
                .ok()
                .filter(|s| *s > 0.0 && s.is_finite())
                .map(Duration::from_secs_f64)
                .ok_or_else(|| invalid(format!("`timeout = {t}` is not a positive number of seconds")))?,
        ),
        None => None,
    };
    let nonempty = |v: Option<String>| v.filter(|v| !v.is_empty());
    Ok(Profile {
        file: shown_path.into(),
        name: section.into(),
        address: nonempty(get("address")),
        secret: nonempty(get("secret")).map(SecretString::from),
        api_key: nonempty(get("api_key")).map(SecretString::from),
        protocol,
        timeout,
    })
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

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
    fn missing_section_and_missing_file_name_what_is_missing() {
        let e = parse_profile(SEED, "~/.centrc", "apples").unwrap_err();
        assert_eq!(e.to_string(), "Section apples not found in ~/.centrc configuration file");
        let e = load_profile(Some(Path::new("/nonexistent/centrc")), "apples").unwrap_err();
        assert_eq!(e.to_string(), "configuration file /nonexistent/centrc not found");
    }

    #[test]
    fn defaults_case_and_percent_like_python_and_a_bad_timeout_is_refused() {
        let text = "[DEFAULT]\ntimeout = 2.5\n[Prod]\nADDRESS = http://h\napi_key = a%%b\\c\"d\n[bad]\ntimeout = x\n";
        let p = parse_profile(text, "f", "Prod").unwrap();
        assert_eq!(p.address.as_deref(), Some("http://h"));
        assert_eq!(p.api_key.as_ref().unwrap().expose_secret(), "a%b\\c\"d");
        assert_eq!(p.timeout, Some(Duration::from_millis(2500)));
        assert_eq!(p.implied_protocol(), Some(Protocol::Api));
        let e = parse_profile(text, "f", "bad").unwrap_err();
        assert_eq!(e.to_string(), "f [bad]: `timeout = x` is not a positive number of seconds");
    }
}
