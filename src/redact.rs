//! Keeping secrets out of every output. [`Secrets`] holds the values to hide
//! (API keys, HMAC secrets) and replaces them with `***` in text that came
//! from outside cent-run's own wording — request and response bodies, server
//! messages and results, transport errors, URLs. cent-run's own messages are
//! never passed through it, so a key that happens to be a common word cannot
//! garble them.

use std::borrow::Cow;

use serde_json::Value as Json;

/// The secret values of one connection.
#[derive(Clone, Default)]
pub struct Secrets(Vec<String>);

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secrets({} hidden)", self.0.len())
    }
}

/// Secrets shorter than this are not searched for: replacing one or two
/// characters would garble every text without hiding anything.
const MIN_LEN: usize = 3;

impl Secrets {
    pub fn new<'a>(values: impl IntoIterator<Item = &'a str>) -> Self {
        Secrets(values.into_iter().filter(|s| s.len() >= MIN_LEN).map(str::to_owned).collect())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `text` with every secret replaced by `***`; borrowed when it holds none.
    pub fn redact<'t>(&self, text: &'t str) -> Cow<'t, str> {
        redact(text, &self.0)
    }

    /// Redacts every string (and object key) inside a JSON value, in place.
    pub fn redact_json(&self, value: &mut Json) {
        if self.0.is_empty() {
            return;
        }
        match value {
            Json::String(s) => {
                if let Cow::Owned(r) = self.redact(s) {
                    *s = r;
                }
            }
            Json::Array(items) => items.iter_mut().for_each(|v| self.redact_json(v)),
            Json::Object(map) => {
                let hidden = map.keys().any(|k| matches!(self.redact(k), Cow::Owned(_)));
                if hidden {
                    *map = std::mem::take(map).into_iter().map(|(k, v)| (self.redact(&k).into_owned(), v)).collect();
                }
                map.values_mut().for_each(|v| self.redact_json(v));
            }
            _ => {}
        }
    }
}

/// Replaces every occurrence of a secret with `***` (no copy when there is
/// none: reports of 100,000 commands are tens of megabytes).
pub fn redact<'t>(text: &'t str, secrets: &[String]) -> Cow<'t, str> {
    let mut out = Cow::Borrowed(text);
    for s in secrets.iter().filter(|s| s.len() >= MIN_LEN) {
        if out.contains(s.as_str()) {
            out = Cow::Owned(out.replace(s.as_str(), "***"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn hides_secrets_in_text_and_json_without_copying_clean_text() {
        let s = Secrets::new(["s3cret-key", "ab"]);
        assert!(matches!(s.redact("nothing here, ab"), Cow::Borrowed(_)));
        assert_eq!(s.redact("key=s3cret-key;"), "key=***;");
        let mut v = json!({"a": ["x s3cret-key"], "s3cret-key": 1});
        s.redact_json(&mut v);
        assert_eq!(v, json!({"a": ["x ***"], "***": 1}));
        assert_eq!(format!("{s:?}"), "Secrets(1 hidden)");
    }
}
