//! YAML 1.2 core-schema resolution of scalars: strict booleans, no legacy
//! octal, quoted scalars are strings.

use std::borrow::Cow;

use granit_parser::ScalarStyle;

use super::Value;

/// YAML 1.2 core schema resolution of a scalar (quoted scalars are strings).
pub(super) fn scalar<'a>(text: Cow<'a, str>, style: ScalarStyle, tag: Option<&str>) -> Value<'a> {
    match tag {
        Some("str") => return Value::Str(text),
        Some("null") => return Value::Null,
        Some("bool") | Some("int") | Some("float") => {}
        _ if style != ScalarStyle::Plain => return Value::Str(text),
        _ => {}
    }
    match resolve(&text) {
        Some(v) => v,
        None => Value::Str(text),
    }
}

/// A plain scalar's core-schema value, or `None` for a string.
fn resolve(text: &str) -> Option<Value<'static>> {
    // Most scalars are words: only these bytes can start a null, a
    // boolean, a number or an infinity (a quick no before the comparisons).
    if !text
        .as_bytes()
        .first()
        .is_none_or(|b| matches!(b, b'~' | b'n' | b'N' | b't' | b'T' | b'f' | b'F' | b'.' | b'+' | b'-' | b'0'..=b'9'))
    {
        return None;
    }
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Some(Value::Null),
        "true" | "True" | "TRUE" => return Some(Value::Bool(true)),
        "false" | "False" | "FALSE" => return Some(Value::Bool(false)),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => return Some(Value::Float(f64::INFINITY)),
        "-.inf" | "-.Inf" | "-.INF" => return Some(Value::Float(f64::NEG_INFINITY)),
        ".nan" | ".NaN" | ".NAN" => return Some(Value::Float(f64::NAN)),
        _ => {}
    }
    let first = *text.as_bytes().first()?;
    // Most scalars are words: only digits, signs and dots can start a number.
    if !(first.is_ascii_digit() || matches!(first, b'-' | b'+' | b'.')) {
        return None;
    }
    let digits = |s: &str, radix: u32| !s.is_empty() && s.chars().all(|c| c.is_digit(radix));
    if let Some(hex) = text.strip_prefix("0x").filter(|h| digits(h, 16)) {
        return u64::from_str_radix(hex, 16).ok().map(int);
    }
    if let Some(oct) = text.strip_prefix("0o").filter(|o| digits(o, 8)) {
        return u64::from_str_radix(oct, 8).ok().map(int);
    }
    let unsigned = text.strip_prefix(['-', '+']).unwrap_or(text);
    if digits(unsigned, 10) {
        if let Ok(i) = text.parse::<i64>() {
            return Some(Value::Int(i));
        }
        if let Ok(u) = text.trim_start_matches('+').parse::<u64>() {
            return Some(Value::UInt(u));
        }
        return text.parse().ok().map(Value::Float);
    }
    // Floats: [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?
    let looks_float = unsigned.bytes().any(|c| c.is_ascii_digit())
        && unsigned.bytes().all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'-' | b'+'))
        && unsigned.bytes().next().is_some_and(|c| c.is_ascii_digit() || c == b'.');
    if looks_float {
        return text.parse::<f64>().ok().map(Value::Float);
    }
    None
}

fn int(u: u64) -> Value<'static> {
    i64::try_from(u).map_or(Value::UInt(u), Value::Int)
}

/// A number as JSON keeps it: the text as written when it is JSON's own
/// syntax (so `-99999999999999999999` and `1.10` reach the wire unchanged),
/// else the value YAML resolved (`0x1F` is 31).
pub(crate) fn json_number(text: &str, resolved: &Value) -> Option<serde_json::Value> {
    if let Ok(n) = text.parse::<serde_json::Number>() {
        return Some(serde_json::Value::Number(n));
    }
    match resolved {
        Value::Int(i) => Some((*i).into()),
        Value::UInt(u) => Some((*u).into()),
        Value::Float(f) => serde_json::Number::from_f64(*f).map(serde_json::Value::Number),
        _ => None,
    }
}

/// A text read as one YAML scalar (what `--var`, the environment and data
/// files give): `5` a number, `true` a boolean, `~` null, `'"5"'` or `'5'`
/// quoted: a string; anything else a string as it is.
pub(crate) fn text_json(text: &str) -> serde_json::Value {
    let t = text.trim();
    for q in ['"', '\''] {
        if t.len() >= 2 && t.starts_with(q) && t.ends_with(q) {
            return serde_json::Value::String(t[1..t.len() - 1].to_owned());
        }
    }
    match resolve(t) {
        Some(Value::Null) if !t.is_empty() => serde_json::Value::Null,
        Some(Value::Bool(b)) => serde_json::Value::Bool(b),
        Some(v @ (Value::Int(_) | Value::UInt(_) | Value::Float(_))) => {
            json_number(t, &v).unwrap_or_else(|| serde_json::Value::String(text.to_owned()))
        }
        _ => serde_json::Value::String(text.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn texts_read_as_yaml_scalars_keep_numbers_exact() {
        assert_eq!(text_json("5"), json!(5));
        assert_eq!(text_json("true"), json!(true));
        assert_eq!(text_json("\"5\""), json!("5"));
        assert_eq!(text_json("'5'"), json!("5"));
        assert_eq!(text_json("v2.4.0"), json!("v2.4.0"));
        assert_eq!(text_json(""), json!(""));
        assert_eq!(text_json("-99999999999999999999").to_string(), "-99999999999999999999");
        assert_eq!(text_json("1.10").to_string(), "1.10");
        assert_eq!(text_json("0x1F"), json!(31));
    }
}
