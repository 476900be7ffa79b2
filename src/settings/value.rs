//! Settings' values, and how a text (a flag, an environment variable, a
//! profile entry) becomes one, by the setting's [`Kind`] and limits.

use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;

use super::table::{Def, Key, Kind};
use crate::protocol::Protocol;

/// A setting's value, typed by its kind.
#[derive(Debug, Clone)]
pub enum Value {
    Bool(bool),
    Int(u64),
    Number(f64),
    Duration(Duration),
    Text(String),
    Secret(SecretString),
    Urls(Vec<String>),
    Protocol(Protocol),
    Path(PathBuf),
    Shard(usize, usize),
    Assign(Vec<(String, String)>),
    List(Vec<String>),
    Choice(&'static str),
    Count(u8),
}

impl Value {
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }
    pub fn as_int(&self) -> Option<u64> {
        match self {
            Value::Int(n) => Some(*n),
            _ => None,
        }
    }
    pub fn as_path(&self) -> Option<&PathBuf> {
        match self {
            Value::Path(p) => Some(p),
            _ => None,
        }
    }
    pub fn as_list(&self) -> &[String] {
        match self {
            Value::List(l) | Value::Urls(l) => l,
            _ => &[],
        }
    }
    pub fn as_assign(&self) -> &[(String, String)] {
        match self {
            Value::Assign(a) => a,
            _ => &[],
        }
    }
}

/// Why a text is not a value of a setting: a message and a hint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refused {
    pub message: String,
    pub hint: Option<String>,
}

impl Refused {
    fn new(message: impl Into<String>) -> Self {
        Refused { message: message.into(), hint: None }
    }
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.hint {
            Some(h) => write!(f, "{} ({h})", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// `a,b` → `[a, b]`, blanks dropped.
pub(crate) fn split_urls(text: &str) -> Vec<String> {
    text.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

impl Def {
    /// A value of this setting from a text (a flag's or an environment
    /// variable's value), checked against the kind's limits.
    pub(crate) fn parse(&self, text: &str) -> Result<Value, Refused> {
        Ok(match self.kind {
            Kind::Switch(_) => match text.trim() {
                "true" | "1" | "yes" => Value::Bool(true),
                "false" | "0" | "no" => Value::Bool(false),
                other => return Err(Refused::new(format!("`{other}` is not true or false"))),
            },
            Kind::Int { min, max } => {
                let n: u64 =
                    text.trim().parse().map_err(|_| Refused::new(format!("`{text}` is not a whole number")))?;
                self.check_int(n)?;
                let _ = (min, max);
                Value::Int(n)
            }
            Kind::Positive => {
                let r: f64 = text.trim().parse().map_err(|_| Refused::new(format!("`{text}` is not a number")))?;
                if !(r > 0.0 && r.is_finite()) {
                    return Err(Refused::new(format!("must be a positive number, found {text}")));
                }
                Value::Number(r)
            }
            Kind::Duration => match crate::duration::parse_positive(text) {
                Ok(d) => Value::Duration(d),
                Err(e) => return Err(Refused { message: e.message, hint: Some(e.hint) }),
            },
            Kind::Text => Value::Text(text.to_owned()),
            Kind::Secret => Value::Secret(SecretString::from(text.to_owned())),
            Kind::Urls => Value::Urls(split_urls(text)),
            Kind::Protocol => Value::Protocol(text.parse::<Protocol>().map_err(|_| Refused {
                message: format!("unknown protocol `{text}`"),
                hint: Some("one of: api (Centrifugo v5/v6), legacy (v2–v4), v1 (HMAC-signed)".into()),
            })?),
            Kind::Path => {
                if text.is_empty() {
                    return Err(Refused::new("the path is empty"));
                }
                Value::Path(PathBuf::from(text))
            }
            Kind::Shard => {
                let bad = || Refused {
                    message: format!("`{text}` is not I/N with 0 <= I < N"),
                    hint: Some("e.g. 0/4 for the first of four parts".into()),
                };
                let (i, n) = text.split_once('/').ok_or_else(bad)?;
                let (i, n): (usize, usize) =
                    (i.trim().parse().map_err(|_| bad())?, n.trim().parse().map_err(|_| bad())?);
                if n == 0 || i >= n {
                    return Err(bad());
                }
                Value::Shard(i, n)
            }
            Kind::Assign => {
                let (k, v) = text.split_once('=').ok_or_else(|| Refused {
                    message: format!("`{text}` is not NAME=VALUE"),
                    hint: Some("e.g. --var release=2.4.0".into()),
                })?;
                if !is_name(k) {
                    return Err(Refused::new(format!("`{k}` is not a variable name (letters, digits, `_`)")));
                }
                Value::Assign(vec![(k.to_owned(), v.to_owned())])
            }
            Kind::List { split: true } => Value::List(split_urls(text)),
            Kind::List { split: false } => Value::List(vec![text.to_owned()]),
            Kind::Choice(words) => match words.iter().find(|w| w.eq_ignore_ascii_case(text.trim())) {
                Some(w) => Value::Choice(w),
                None => {
                    return Err(Refused {
                        message: format!("`{text}` is not one of {}", words.join(", ")),
                        hint: crate::diagnostic::did_you_mean(text, words.iter().copied())
                            .map(|w| format!("did you mean `{w}`?")),
                    });
                }
            },
            Kind::Count => Value::Count(text.trim().parse().map_err(|_| Refused::new("not a count"))?),
        })
    }

    /// A value from a `~/.centrc` entry: as [`Def::parse`], except that a
    /// timeout is a number of seconds there (the original tool's format).
    pub(crate) fn parse_profile(&self, text: &str) -> Result<Value, Refused> {
        if self.key == Key::Timeout {
            return text
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|s| *s > 0.0 && s.is_finite())
                .map(|s| Value::Duration(Duration::from_secs_f64(s)))
                .ok_or_else(|| Refused::new(format!("`timeout = {text}` is not a positive number of seconds")));
        }
        self.parse(text)
    }

    /// A whole number within the kind's limits.
    pub(crate) fn check_int(&self, n: u64) -> Result<(), Refused> {
        let Kind::Int { min, max } = self.kind else { return Ok(()) };
        if n < min {
            return Err(Refused::new(format!("must be at least {min}, found {n}")));
        }
        if n > max {
            return Err(Refused::new(format!("must be at most {max}, found {n}")));
        }
        Ok(())
    }

    /// The built-in default as a value (the table's `default` text).
    pub(crate) fn default_value(&self) -> Option<Value> {
        self.default.map(|d| self.parse(d).expect("the table's defaults parse"))
    }
}

/// A variable or saved name: letters, digits and `_`, not starting with a digit.
pub(crate) fn is_name(s: &str) -> bool {
    s.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The built-in default of an integer setting.
pub(crate) fn default_int(key: Key) -> u64 {
    super::table::def(key).default_value().and_then(|v| v.as_int()).expect("an integer default")
}

#[cfg(test)]
mod tests {
    use super::super::table::{TABLE, def};
    use super::*;

    #[test]
    fn every_default_parses_and_limits_hold() {
        for d in TABLE {
            if d.default.is_some() {
                assert!(d.default_value().is_some(), "{:?}", d.key);
            }
        }
        assert_eq!(default_int(Key::Concurrency), 4);
        let e = def(Key::MaxBatchBytes).parse("512").unwrap_err();
        assert_eq!(e.message, "must be at least 1024, found 512");
        assert!(def(Key::Rate).parse("0").is_err());
        assert!(matches!(def(Key::Shard).parse("1/4"), Ok(Value::Shard(1, 4))));
        assert!(def(Key::Shard).parse("4/4").is_err());
        assert_eq!(
            def(Key::Timeout).parse("30").unwrap_err().hint.as_deref(),
            Some("write `30s` for seconds or `30ms` for milliseconds")
        );
        assert!(matches!(def(Key::Timeout).parse_profile("2.5"), Ok(Value::Duration(d)) if d.as_millis() == 2500));
        assert_eq!(def(Key::Format).parse("jsno").unwrap_err().hint.as_deref(), Some("did you mean `json`?"));
    }
}
