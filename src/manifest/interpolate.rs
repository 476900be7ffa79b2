//! `${NAME}` interpolation inside manifest strings.
//!
//! Takes a string and a lookup, gives the expanded string or the list of
//! undefined names with their byte ranges inside the string (so validation can
//! point at the exact `${...}`). `${NAME:-default}` falls back to `default`
//! (also for an empty value, as a shell does),
//! `$${` is a literal `${`. Inside a longer string a variable is text; a
//! string that is exactly one `${...}` ([`exact`]) takes the variable's
//! type where the checker says so.

use std::borrow::Cow;
use std::ops::Range;

/// What a lookup found for a name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Found<'a> {
    Text(Cow<'a, str>),
    Missing,
    /// The name may not be used here, for this reason.
    Forbidden(&'static str),
}

/// A `${...}` that could not be expanded (`name` is empty for `${}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Unresolved {
    pub name: String,
    /// Byte range of the whole `${...}` inside the input string.
    pub range: Range<usize>,
    pub unterminated: bool,
    /// Defined, but not allowed here (a credential inside a command).
    pub forbidden: Option<&'static str>,
}

/// `"${NAME}"` or `"${NAME:-default}"` as the whole string: the name and the default.
pub(crate) fn exact(input: &str) -> Option<(&str, Option<&str>)> {
    let inner = input.strip_prefix("${")?.strip_suffix('}')?;
    if inner.contains(['$', '{', '}']) {
        return None;
    }
    Some(match inner.split_once(":-") {
        Some((n, d)) => (n.trim(), Some(d)),
        None => (inner.trim(), None),
    })
}

/// Expands every `${NAME}` in `input` with `lookup`.
pub(crate) fn expand<'a>(input: &str, lookup: &dyn Fn(&str) -> Found<'a>) -> Result<String, Vec<Unresolved>> {
    if !input.contains('$') {
        return Ok(input.to_owned());
    }
    let mut out = String::with_capacity(input.len());
    let mut errors = Vec::new();
    let bytes = input.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if input[i..].starts_with("$${") {
            out.push_str("${");
            i += 3;
        } else if input[i..].starts_with("${") {
            let Some(end) = input[i + 2..].find('}') else {
                errors.push(Unresolved {
                    name: input[i + 2..].to_owned(),
                    range: i..input.len(),
                    unterminated: true,
                    forbidden: None,
                });
                break;
            };
            let inner = &input[i + 2..i + 2 + end];
            let (name, default) = match inner.split_once(":-") {
                Some((n, d)) => (n.trim(), Some(d)),
                None => (inner.trim(), None),
            };
            // As in a shell: `${NAME:-default}` also replaces an empty value.
            let range = i..i + 3 + end;
            match (lookup(name), default) {
                (Found::Forbidden(why), _) => {
                    errors.push(Unresolved { name: name.to_owned(), range, unterminated: false, forbidden: Some(why) })
                }
                (Found::Text(v), d) if !(v.is_empty() && d.is_some()) => out.push_str(&v),
                (_, Some(d)) => out.push_str(d),
                (_, None) => {
                    errors.push(Unresolved { name: name.to_owned(), range, unterminated: false, forbidden: None })
                }
            }
            i += 3 + end;
        } else {
            let ch = input[i..].chars().next().expect("in bounds");
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    if errors.is_empty() { Ok(out) } else { Err(errors) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(name: &str) -> Found<'static> {
        match name {
            "release" => Found::Text("2.4.0".into()),
            "empty" => Found::Text("".into()),
            "ünï" => Found::Text("ok".into()),
            "KEY" => Found::Forbidden("a credential"),
            _ => Found::Missing,
        }
    }

    #[test]
    fn expands_defaults_and_escapes() {
        assert_eq!(expand("v${release}!", &vars).unwrap(), "v2.4.0!");
        assert_eq!(expand("${nope:-dflt}", &vars).unwrap(), "dflt");
        assert_eq!(expand("${empty:-dflt}", &vars).unwrap(), "dflt");
        assert_eq!(expand("${empty}", &vars).unwrap(), "");
        assert_eq!(expand("$${release} $5", &vars).unwrap(), "${release} $5");
        assert_eq!(expand("Grüße ${ünï}", &vars).unwrap(), "Grüße ok");
        assert_eq!(expand("${nope:-}", &vars).unwrap(), "");
    }

    #[test]
    fn reports_every_undefined_name_with_its_range() {
        let err = expand("a ${x} b ${release} ${y", &vars).unwrap_err();
        assert_eq!(err.len(), 2);
        assert_eq!(err[0].name, "x");
        assert_eq!(err[0].range, 2..6);
        assert!(err[1].unterminated);
        assert_eq!(err[1].range, 20..23);
        assert_eq!(expand("${KEY:-x}", &vars).unwrap_err()[0].forbidden, Some("a credential"));
        assert_eq!(exact("${a}"), Some(("a", None)));
        assert_eq!(exact("${a:-5}"), Some(("a", Some("5"))));
        assert_eq!(exact("x${a}"), None);
        assert_eq!(exact("${a}${b}"), None);
    }
}
