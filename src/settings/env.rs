//! The process environment, read once ([`Env::read`], called by the tools'
//! entry points) and handed to whatever needs it: the settings layer of
//! `CENTRIFUGO_*` variables, `${NAME}` interpolation, GitHub Actions and
//! terminal switches, the profile's home directory. Nothing else in the
//! crate reads the environment, so a library user decides what it sees.

use std::collections::HashMap;

use secrecy::SecretString;

use super::table::{Kind, TABLE};
use super::{Layer, Origin, Setting, Value};

/// A snapshot of environment variables.
#[derive(Debug, Clone, Default)]
pub(crate) struct Env {
    vars: HashMap<String, String>,
}

impl Env {
    /// The process environment, now (variables that are not UTF-8 are left out).
    pub(crate) fn read() -> Env {
        Env {
            vars: std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
                .collect(),
        }
    }

    /// An environment of these variables.
    #[cfg(test)]
    pub(crate) fn of<K: Into<String>, V: Into<String>>(vars: impl IntoIterator<Item = (K, V)>) -> Env {
        Env { vars: vars.into_iter().map(|(k, v)| (k.into(), v.into())).collect() }
    }

    /// A variable's value; an empty variable — what CI gives for a variable
    /// that is not set — counts as unset.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str).filter(|v| !v.trim().is_empty())
    }

    /// Every variable, for `${NAME}` interpolation.
    pub(crate) fn vars(&self) -> &HashMap<String, String> {
        &self.vars
    }

    /// Running under GitHub Actions (`GITHUB_ACTIONS=true`).
    pub(crate) fn github_actions(&self) -> bool {
        self.get("GITHUB_ACTIONS") == Some("true")
    }

    /// Where GitHub Actions wants the step summary.
    pub(crate) fn step_summary(&self) -> Option<&str> {
        self.get("GITHUB_STEP_SUMMARY")
    }

    /// `NO_COLOR` set to anything.
    pub(crate) fn no_color(&self) -> bool {
        self.get("NO_COLOR").is_some()
    }

    /// Fixed durations and ids in reports, for golden tests (not a flag:
    /// completion and `--help` stay clean).
    pub(crate) fn deterministic(&self) -> bool {
        self.get("CENT_RUN_DETERMINISTIC") == Some("1")
    }

    /// The home directory (`~/.centrc`).
    pub(crate) fn home(&self) -> Option<&str> {
        self.get("HOME")
    }

    /// The settings the environment gives: each table row's variable.
    pub(crate) fn layer(&self) -> Layer {
        let mut layer = Layer::default();
        for def in TABLE {
            let Some(name) = def.env else { continue };
            let Some(text) = self.get(name) else { continue };
            let from = Origin::Env(name);
            let setting = match def.kind {
                Kind::Secret => Setting::new(Value::Secret(SecretString::from(text.to_owned())), from),
                _ => match def.parse(text) {
                    Ok(v) => Setting::new(v, from),
                    Err(e) => Setting::broken(crate::diagnostic::Problem::error(e.to_string()), from),
                },
            };
            layer.set(def.key, setting);
        }
        layer
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::Key;

    #[test]
    fn empty_variables_are_unset_and_urls_split() {
        let env = Env::of([("CENTRIFUGO_URL", "http://a:1, http://b:2"), ("CENTRIFUGO_API_KEY", " ")]);
        let layer = env.layer();
        assert_eq!(layer.value(Key::Url).unwrap().as_list(), ["http://a:1", "http://b:2"]);
        assert!(!layer.has(Key::ApiKey));
    }
}
