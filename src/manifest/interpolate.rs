//! `${NAME}` interpolation inside manifest strings.
//!
//! Takes a string and a lookup, gives the expanded string or the list of
//! undefined names with their byte ranges inside the string (so validation can
//! point at the exact `${...}`). `${NAME:-default}` falls back to `default`
//! (also for an empty value, as a shell does),
//! `$${` is a literal `${`. Interpolation only ever produces strings: a value's
//! YAML type never changes.

use std::ops::Range;

/// A `${...}` that could not be expanded (`name` is empty for `${}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unresolved {
    pub name: String,
    /// Byte range of the whole `${...}` inside the input string.
    pub range: Range<usize>,
    pub unterminated: bool,
}

/// Expands every `${NAME}` in `input` with `lookup`.
pub fn expand<'a>(input: &str, lookup: &dyn Fn(&str) -> Option<&'a str>) -> Result<String, Vec<Unresolved>> {
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
                errors.push(Unresolved { name: input[i + 2..].to_owned(), range: i..input.len(), unterminated: true });
                break;
            };
            let inner = &input[i + 2..i + 2 + end];
            let (name, default) = match inner.split_once(":-") {
                Some((n, d)) => (n.trim(), Some(d)),
                None => (inner.trim(), None),
            };
            // As in a shell: `${NAME:-default}` also replaces an empty value.
            let value = match default {
                Some(d) => lookup(name).filter(|v| !v.is_empty()).or(Some(d)),
                None => lookup(name),
            };
            match value {
                Some(v) => out.push_str(v),
                None => errors.push(Unresolved { name: name.to_owned(), range: i..i + 3 + end, unterminated: false }),
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

    fn vars(name: &str) -> Option<&'static str> {
        match name {
            "release" => Some("2.4.0"),
            "empty" => Some(""),
            "ünï" => Some("ok"),
            _ => None,
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
    }
}
