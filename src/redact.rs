//! Keeping secrets out of every output. [`Secrets`] holds the values to hide
//! (API keys, HMAC secrets) and replaces them with `***` in text that came
//! from outside cent-run's own wording — request and response bodies, server
//! messages and results, transport errors, URLs. cent-run's own messages are
//! never passed through it, so a key that happens to be a common word cannot
//! garble them.

use std::borrow::Cow;

/// The secret values of one connection.
#[derive(Clone, Default)]
pub(crate) struct Secrets(Vec<String>);

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secrets({} hidden)", self.0.len())
    }
}

/// Secrets shorter than this are not searched for: replacing one or two
/// characters would garble every text without hiding anything.
const MIN_LEN: usize = 3;

impl Secrets {
    pub(crate) fn new<'a>(values: impl IntoIterator<Item = &'a str>) -> Self {
        Secrets(values.into_iter().filter(|s| s.len() >= MIN_LEN).map(str::to_owned).collect())
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `text` with every secret replaced by `***`; borrowed when it holds none.
    pub(crate) fn redact<'t>(&self, text: &'t str) -> Cow<'t, str> {
        redact(text, &self.0)
    }

    /// `text` with every secret replaced by as many `*` (byte places stay
    /// where they were: snippets of a manifest keep their spans).
    pub(crate) fn mask<'t>(&self, text: &'t str) -> Cow<'t, str> {
        let mut out = Cow::Borrowed(text);
        for s in &self.0 {
            if out.contains(s.as_str()) {
                out = Cow::Owned(out.replace(s.as_str(), &"*".repeat(s.len())));
            }
        }
        out
    }

    /// These secrets and more (secret variables' values).
    pub(crate) fn with(mut self, more: impl IntoIterator<Item = String>) -> Self {
        self.0.extend(more.into_iter().filter(|s| s.len() >= MIN_LEN));
        self
    }
}

/// Replaces every occurrence of a secret with `***` (no copy when there is
/// none: reports of 100,000 commands are tens of megabytes).
pub(crate) fn redact<'t>(text: &'t str, secrets: &[String]) -> Cow<'t, str> {
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
    use super::*;

    #[test]
    fn hides_secrets_in_text_without_copying_clean_text() {
        let s = Secrets::new(["s3cret-key", "ab"]);
        assert!(matches!(s.redact("nothing here, ab"), Cow::Borrowed(_)));
        assert_eq!(s.redact("key=s3cret-key;"), "key=***;");
        assert_eq!(format!("{s:?}"), "Secrets(1 hidden)");
    }
}
