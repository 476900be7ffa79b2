//! `~/.centrc` profiles: the original tool's Python-style INI file, read
//! unchanged (keys case-insensitive, `[DEFAULT]` inherited, `%%` for `%`),
//! into a settings [`Layer`] by the table's profile keys.

use std::path::{Path, PathBuf};

use super::table::{Key, TABLE};
use super::{Env, Layer, Origin, Setting, Value};
use crate::protocol::Protocol;

/// Why a profile could not be read.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum ProfileError {
    #[error("configuration file {path} not found")]
    NotFound { path: String },
    #[error("Section {section} not found in {path} configuration file{}", sections_hint(.sections))]
    NoSection { section: String, path: String, sections: Vec<String> },
    #[error("cannot read {path}: {message}")]
    Unreadable { path: String, message: String },
    #[error("{path} [{section}]: {message}")]
    Invalid { path: String, section: String, message: String },
}

fn sections_hint(sections: &[String]) -> String {
    match sections.len() {
        0 => " (it has no sections)".into(),
        _ => format!(" (its sections: {})", sections.join(", ")),
    }
}

/// `~/.centrc`, or `None` when there is no home directory.
fn default_path(env: &Env) -> Option<PathBuf> {
    env.home().map(|h| PathBuf::from(h).join(".centrc"))
}

/// Reads one section of a profile file; `path` as the user wrote it (`~/`
/// expanded), or `None` for `~/.centrc`.
pub(crate) fn load_profile(path: Option<&Path>, section: &str, env: &Env) -> Result<Profile, ProfileError> {
    let (full, shown) = match path {
        Some(p) => match p.to_str().and_then(|s| s.strip_prefix("~/")) {
            Some(rest) => {
                (default_path(env).map_or_else(|| p.to_owned(), |h| h.with_file_name(rest)), p.display().to_string())
            }
            None => (p.to_owned(), p.display().to_string()),
        },
        None => (default_path(env).unwrap_or_else(|| ".centrc".into()), "~/.centrc".to_owned()),
    };
    let text = match std::fs::read_to_string(&full) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(ProfileError::NotFound { path: shown }),
        Err(e) => return Err(ProfileError::Unreadable { path: shown, message: e.to_string() }),
    };
    let mut profile = parse_profile(&text, &shown, section)?;
    // A file a profile names is found beside the profile, not wherever the
    // command happens to run.
    let dir = full.parent().unwrap_or(Path::new("."));
    for def in TABLE.iter().filter(|d| d.profile.is_some()) {
        if let Some(Setting { value: Ok(Value::Path(p)), from }) = profile.layer.get(def.key).cloned()
            && p.is_relative()
        {
            profile.layer.set(def.key, Setting::new(Value::Path(dir.join(p)), from));
        }
    }
    Ok(profile)
}

/// A `~/.centrc` section.
#[derive(Debug, Clone, Default)]
pub struct Profile {
    /// What the section sets (it counts as flags).
    pub layer: Layer,
    /// The protocol the section implies when it names none — an `api_key`
    /// means `api`, only a `secret` means `v1`, as in the original tool —
    /// below every other source.
    pub implied: Layer,
}

/// Reads one section of a profile file's text; `shown_path` is what
/// messages say.
pub fn parse_profile(text: &str, shown_path: &str, section: &str) -> Result<Profile, ProfileError> {
    let mut ini = configparser::ini::Ini::new_cs();
    let map =
        ini.read(text.to_owned()).map_err(|e| ProfileError::Unreadable { path: shown_path.into(), message: e })?;
    let Some(sec) = map.get(section) else {
        let mut sections: Vec<String> = map.keys().filter(|k| *k != "DEFAULT" && *k != "default").cloned().collect();
        sections.sort();
        return Err(ProfileError::NoSection { section: section.into(), path: shown_path.into(), sections });
    };
    let defaults = map.get("DEFAULT");
    // Keys are case-insensitive and [DEFAULT] values are inherited, as in Python's configparser.
    let get = |key: &str| -> Option<String> {
        let find = |m: &std::collections::HashMap<String, Option<String>>| {
            m.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).and_then(|(_, v)| v.clone())
        };
        find(sec).or_else(|| defaults.and_then(find)).map(|v| v.trim().replace("%%", "%"))
    };
    // A key cent-run does not know is a typo, not something to ignore: a
    // misspelt `api_key` would otherwise surface as "no API key".
    let known: Vec<&str> = TABLE.iter().filter_map(|d| d.profile).collect();
    let mut keys: Vec<&String> = sec.keys().chain(defaults.into_iter().flat_map(|d| d.keys())).collect();
    keys.sort();
    if let Some(unknown) = keys.into_iter().find(|k| !known.iter().any(|n| n.eq_ignore_ascii_case(k))) {
        let guess = crate::diagnostic::did_you_mean(&unknown.to_ascii_lowercase(), known.iter().copied())
            .map(|g| format!("did you mean `{g}`? "))
            .unwrap_or_default();
        return Err(ProfileError::Invalid {
            path: shown_path.into(),
            section: section.into(),
            message: format!("unknown key `{unknown}` ({guess}the keys are {})", known.join(", ")),
        });
    }
    let from = || Origin::Profile { file: shown_path.into(), section: section.into() };
    let mut layer = Layer::default();
    for def in TABLE {
        let Some(key) = def.profile else { continue };
        let Some(text) = get(key).filter(|v| !v.is_empty()) else { continue };
        let value = def.parse_profile(&text).map_err(|e| ProfileError::Invalid {
            path: shown_path.into(),
            section: section.into(),
            message: e.to_string(),
        })?;
        layer.set(def.key, Setting::new(value, from()));
    }
    let mut implied = Layer::default();
    if !layer.has(Key::Protocol) {
        let protocol = if layer.has(Key::ApiKey) {
            Some(Protocol::Api)
        } else if layer.has(Key::Secret) {
            Some(Protocol::V1)
        } else {
            None
        };
        if let Some(p) = protocol {
            implied.set(Key::Protocol, Setting::new(Value::Protocol(p), Origin::Default));
        }
    }
    Ok(Profile { layer, implied })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use secrecy::ExposeSecret;

    use super::*;

    const SEED: &str =
        "[bananas]\naddress = http://localhost:8000\nsecret = long-secret-key-for-bananas-project\ntimeout = 5\n";

    fn secret(l: &Layer, k: Key) -> String {
        match l.value(k) {
            Some(Value::Secret(s)) => s.expose_secret().to_owned(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_unknown_key_is_refused_with_the_known_ones() {
        let err = parse_profile("[p]\naddress = http://h\nkey = k\n", "rc", "p").unwrap_err().to_string();
        assert_eq!(
            err,
            "rc [p]: unknown key `key` (the keys are address, api_key, secret, protocol, timeout, cacert, no_env)"
        );
        let err = parse_profile("[DEFAULT]\napi_kye = k\n[p]\naddress = http://h\n", "rc", "p").unwrap_err();
        assert!(err.to_string().contains("unknown key `api_kye` (did you mean `api_key`? "), "{err}");
        assert!(parse_profile("[p]\nADDRESS = http://h\nApi_Key = k\n", "rc", "p").is_ok(), "case-insensitive");
    }

    #[test]
    fn the_seed_example_file_works_unchanged() {
        let Profile { layer: p, implied } = parse_profile(SEED, "~/.centrc", "bananas").unwrap();
        assert_eq!(p.value(Key::Url).unwrap().as_list(), ["http://localhost:8000"]);
        assert_eq!(secret(&p, Key::Secret), "long-secret-key-for-bananas-project");
        assert!(matches!(p.value(Key::Timeout), Some(Value::Duration(d)) if *d == Duration::from_secs(5)));
        assert!(matches!(implied.value(Key::Protocol), Some(Value::Protocol(Protocol::V1))));
    }

    #[test]
    fn missing_section_and_missing_file_name_what_is_missing() {
        let e = parse_profile(SEED, "~/.centrc", "apples").unwrap_err();
        assert_eq!(e.to_string(), "Section apples not found in ~/.centrc configuration file (its sections: bananas)");
        let e = load_profile(Some(Path::new("/nonexistent/centrc")), "apples", &Env::default()).unwrap_err();
        assert_eq!(e.to_string(), "configuration file /nonexistent/centrc not found");
    }

    #[test]
    fn defaults_case_and_percent_like_python_and_a_bad_timeout_is_refused() {
        let text = "[DEFAULT]\ntimeout = 2.5\n[Prod]\nADDRESS = http://h\napi_key = a%%b\\c\"d\n[bad]\ntimeout = x\n";
        let Profile { layer: p, implied } = parse_profile(text, "f", "Prod").unwrap();
        assert_eq!(p.value(Key::Url).unwrap().as_list(), ["http://h"]);
        assert_eq!(secret(&p, Key::ApiKey), "a%b\\c\"d");
        assert!(matches!(p.value(Key::Timeout), Some(Value::Duration(d)) if *d == Duration::from_millis(2500)));
        assert!(matches!(implied.value(Key::Protocol), Some(Value::Protocol(Protocol::Api))));
        let e = parse_profile(text, "f", "bad").unwrap_err();
        assert_eq!(e.to_string(), "f [bad]: `timeout = x` is not a positive number of seconds");
    }
}
