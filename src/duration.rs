//! Durations as Go and Centrifugo write them: a sequence of numbers with
//! units (`500ms`, `5s`, `1m30s`, `1h`; units `ns`, `us`/`µs`, `ms`, `s`,
//! `m`, `h`). A number without a unit is not a duration (`30` could be
//! seconds or milliseconds): the error says so and suggests `30s`.

use std::time::Duration;

/// Why a text is not a duration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub(crate) struct DurationError {
    /// What is wrong.
    pub message: String,
    /// What was probably meant.
    pub hint: String,
}

const UNITS: &[(&str, f64)] =
    &[("ns", 1e-9), ("us", 1e-6), ("µs", 1e-6), ("μs", 1e-6), ("ms", 1e-3), ("s", 1.0), ("m", 60.0), ("h", 3600.0)];

/// Parses a duration in Go's form. Zero (`0`, `0s`) is a duration; whether it
/// may be zero is the caller's rule.
pub(crate) fn parse(text: &str) -> Result<Duration, DurationError> {
    let t = text.trim();
    let bad = |message: String| DurationError { message, hint: "e.g. `500ms`, `5s`, `1m30s`, `1h`".into() };
    if t.is_empty() {
        return Err(bad("an empty duration".into()));
    }
    if t == "0" {
        return Ok(Duration::ZERO);
    }
    if t.contains(char::is_whitespace) {
        return Err(DurationError {
            message: format!("`{t}` is not a duration"),
            hint: "write it without spaces, with a unit: `500ms`, `5s`, `5m`, `1m30s`, `1h`".into(),
        });
    }
    if t.parse::<f64>().is_ok() {
        return Err(DurationError {
            message: format!("`{t}` has no unit"),
            hint: format!("write `{t}s` for seconds or `{t}ms` for milliseconds"),
        });
    }
    let mut rest = t;
    let mut secs = 0.0;
    while !rest.is_empty() {
        let num_len = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        let (num, after) = rest.split_at(num_len);
        let n: f64 = num.parse().map_err(|_| bad(format!("`{t}` is not a duration")))?;
        let unit_len = after.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(after.len());
        let (unit, after) = after.split_at(unit_len);
        let Some((_, scale)) = UNITS.iter().find(|(u, _)| *u == unit) else {
            let message = if unit.is_empty() {
                format!("`{t}` ends without a unit")
            } else {
                format!("`{t}`: unknown unit `{unit}`")
            };
            return Err(DurationError { message, hint: "units: ns, us, ms, s, m, h (e.g. `1m30s`)".into() });
        };
        secs += n * scale;
        rest = after;
    }
    if !secs.is_finite() || secs > 1e12 {
        return Err(bad(format!("`{t}` is too long")));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// A duration that must be above zero (`every`, `timeout`, `--timeout`).
pub(crate) fn parse_positive(text: &str) -> Result<Duration, DurationError> {
    let d = parse(text)?;
    if d.is_zero() {
        return Err(DurationError { message: format!("`{}` must be positive", text.trim()), hint: "e.g. `5s`".into() });
    }
    Ok(d)
}

/// `5m`, `30s`, `1.5s`, `500ms`, `0s`, `1m30s`: the shortest exact form.
pub(crate) fn show(d: Duration) -> String {
    let ms = d.as_millis();
    match ms {
        0 => "0s".into(),
        ms if ms % 3_600_000 == 0 => format!("{}h", ms / 3_600_000),
        ms if ms % 60_000 == 0 => format!("{}m", ms / 60_000),
        ms if ms % 1000 == 0 && ms > 60_000 => format!("{}m{}s", ms / 60_000, (ms % 60_000) / 1000),
        ms if ms % 1000 == 0 => format!("{}s", ms / 1000),
        ms if ms < 1000 => format!("{ms}ms"),
        _ => format!("{}s", d.as_secs_f64()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_forms() {
        assert_eq!(parse("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse("1.5m"), Ok(Duration::from_secs(90)));
        assert_eq!(parse("2h45m"), Ok(Duration::from_secs(9900)));
        assert_eq!(parse("0s"), Ok(Duration::ZERO));
        assert_eq!(parse("0"), Ok(Duration::ZERO));
        assert_eq!(parse("250us"), Ok(Duration::from_micros(250)));
    }

    #[test]
    fn bare_numbers_and_unknown_units_are_refused_with_a_hint() {
        let e = parse("30").unwrap_err();
        assert_eq!(e.message, "`30` has no unit");
        assert_eq!(e.hint, "write `30s` for seconds or `30ms` for milliseconds");
        assert_eq!(parse("5 minutes").unwrap_err().message, "`5 minutes` is not a duration");
        assert!(parse("5parsecs").unwrap_err().message.contains("unknown unit `parsecs`"));
        assert!(parse("1m30").unwrap_err().message.contains("without a unit"));
        assert_eq!(parse_positive("0s").unwrap_err().message, "`0s` must be positive");
    }

    #[test]
    fn shown_as_written() {
        for (d, s) in [(90, "1m30s"), (300, "5m"), (30, "30s"), (3600, "1h")] {
            assert_eq!(show(Duration::from_secs(d)), s);
            assert_eq!(parse(s).unwrap(), Duration::from_secs(d));
        }
        assert_eq!(show(Duration::from_millis(1500)), "1.5s");
    }
}
