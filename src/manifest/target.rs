//! What a command acts on, read from its params' JSON text: the top-level
//! `channel`, `channels`, `user`, `client`, `session` and whether it has
//! its own `idempotency_key`. In: compact JSON as validation wrote it;
//! out: a [`TargetRef`] borrowing from it.
//!
//! Lanes, the plan and the reports ask it of every command (a run of
//! 200,000 publishes asked serde 400,000 times, a twentieth of its CPU).
//! The scanner reads the object's top level and skips everything else; it
//! hands any text it is not sure of (an escape in a key or a wanted
//! string, a value of another type, a key twice) to serde, whose answer it
//! must equal on any valid JSON — params always are — and the tests below
//! compare them.

use std::borrow::Cow;

use super::TargetRef;

/// The target fields of `params`, as serde would read them into a
/// [`TargetRef`] (all `None` when serde fails).
pub(crate) fn read(params: &str) -> TargetRef<'_> {
    scan(params, false).unwrap_or_else(|| serde_json::from_str(params).unwrap_or_default())
}

/// What a command of `kind` acts on (not whether it has its own
/// idempotency key), from its validated params: a method that acts on one
/// channel has no other target field but a v1 publish's `client` (a test
/// in `methods` checks every method), so the scan stops at `channel` when
/// no `"client"` follows — the data after it, most of a publish, is not
/// parsed (the report and the lanes ask it of every command).
pub(crate) fn acts_on(params: &str, kind: crate::methods::TargetKind) -> TargetRef<'_> {
    let only_channel = kind == crate::methods::TargetKind::Channel;
    scan(params, only_channel).unwrap_or_else(|| serde_json::from_str(params).unwrap_or_default())
}

/// The key a v1 publish may have after its channel, looked for in the rest
/// (a searcher made once: making one per command cost more than the scan).
static CLIENT: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
    std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"\"client\""));

/// `only_channel`: done once `channel` is read (validated params: no key twice).
fn scan(text: &str, only_channel: bool) -> Option<TargetRef<'_>> {
    let b = text.as_bytes();
    let mut t = TargetRef::default();
    let mut i = 0;
    let expect = |i: &mut usize, c: u8| (b.get(*i) == Some(&c)).then(|| *i += 1);
    expect(&mut i, b'{')?;
    if b.get(i) == Some(&b'}') {
        return (i + 1 == b.len()).then_some(t);
    }
    let mut seen = 0u8;
    loop {
        let key = string(text, &mut i)?;
        expect(&mut i, b':')?;
        // A wanted key twice: serde refuses the text, and gives nothing.
        let bit = match key {
            "channel" => 1,
            "channels" => 2,
            "user" => 4,
            "client" => 8,
            "session" => 16,
            "idempotency_key" => 32,
            _ => 0,
        };
        if seen & bit != 0 {
            return None;
        }
        seen |= bit;
        let slot = match key {
            "channel" => Some(&mut t.channel),
            "user" => Some(&mut t.user),
            "client" => Some(&mut t.client),
            "session" => Some(&mut t.session),
            _ => None,
        };
        match (slot, key) {
            (Some(slot), _) => {
                *slot = Some(Cow::Borrowed(string(text, &mut i)?));
                if only_channel && bit == 1 && CLIENT.find(&b[i..]).is_none() {
                    return Some(t);
                }
            }
            (None, "channels") => {
                expect(&mut i, b'[')?;
                let mut list = Vec::new();
                if b.get(i) == Some(&b']') {
                    i += 1;
                } else {
                    loop {
                        list.push(Cow::Borrowed(string(text, &mut i)?));
                        match b.get(i)? {
                            b',' => i += 1,
                            b']' => {
                                i += 1;
                                break;
                            }
                            _ => return None,
                        }
                    }
                }
                t.channels = Some(list);
            }
            // Any value but null: serde's `Option<IgnoredAny>`.
            (None, "idempotency_key") => {
                let start = i;
                skip(b, &mut i)?;
                if &b[start..i] != b"null" {
                    t.idempotency_key = Some(serde::de::IgnoredAny);
                }
            }
            (None, _) => skip(b, &mut i)?,
        }
        match b.get(i)? {
            b',' => i += 1,
            b'}' => return (i + 1 == b.len()).then_some(t),
            _ => return None,
        }
    }
}

/// A string without escapes at `*i` (its content), moving past it.
fn string<'t>(text: &'t str, i: &mut usize) -> Option<&'t str> {
    let b = text.as_bytes();
    if b.get(*i) != Some(&b'"') {
        return None;
    }
    let len = memchr::memchr2(b'"', b'\\', &b[*i + 1..])?;
    if b[*i + 1 + len] != b'"' {
        return None;
    }
    let s = &text[*i + 1..*i + 1 + len];
    *i += len + 2;
    Some(s)
}

/// Moves past one JSON value at `*i` (valid JSON: its end is where its
/// brackets close and a `,`, `}` or `]` follows).
fn skip(b: &[u8], i: &mut usize) -> Option<()> {
    if matches!(b.get(*i)?, b',' | b'}' | b']') {
        return None;
    }
    let mut depth = 0usize;
    loop {
        match *b.get(*i)? {
            b'"' => {
                *i += 1;
                loop {
                    *i += memchr::memchr2(b'"', b'\\', &b[*i..])?;
                    if b[*i] == b'\\' {
                        *i += 2;
                    } else {
                        *i += 1;
                        break;
                    }
                }
            }
            b'{' | b'[' => {
                depth += 1;
                *i += 1;
            }
            b'}' | b']' if depth > 0 => {
                depth -= 1;
                *i += 1;
            }
            b',' | b'}' | b']' if depth == 0 => return Some(()),
            _ => *i += 1,
        }
        if depth == 0 && matches!(b.get(*i), Some(b',' | b'}' | b']') | None) {
            return Some(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn same(params: &str) {
        let serde: TargetRef = serde_json::from_str(params).unwrap_or_default();
        let fast = read(params);
        assert_eq!(format!("{fast:?}"), format!("{serde:?}"), "{params}");
        // Params serde takes (no key twice, as validation writes them): the
        // scan that stops at `channel` reads the channel serde reads.
        if let Ok(serde) = serde_json::from_str::<TargetRef>(params) {
            let early = acts_on(params, crate::methods::TargetKind::Channel);
            assert_eq!((&early.channel, &early.client), (&serde.channel, &serde.client), "{params}");
        }
    }

    #[test]
    fn the_scanner_reads_what_serde_reads() {
        let cases = [
            r#"{}"#,
            r#"{"channel":"news","data":{"n":1,"text":"payload 1"}}"#,
            r#"{"data":{"channel":"inner","x":[1,{"user":"u"}]},"channel":"outer"}"#,
            r#"{"channels":["a","b"],"data":"x\"y\\","idempotency_key":"k"}"#,
            r#"{"channels":[],"data":null}"#,
            r#"{"user":"42","client":"c","session":"s","channel":""}"#,
            r#"{"channel":"a\"b"}"#,
            r#"{"channel":"\u00e9"}"#,
            r#"{"channel":5}"#,
            r#"{"channels":["a",1]}"#,
            r#"{"idempotency_key":null,"channel":"x"}"#,
            r#"{"idempotency_key":{"a":[1,"]"]},"data":"}"}"#,
            r#"{"data":[[],{}],"user":"u"}"#,
            r#"{"data":-1.5e3,"channel":"c","tags":{"a":"b"}}"#,
            r#"{"channel":"x"} "#,
            r#"{"channel":"x""#,
            r#"{"channel":"x",}"#,
            r#"not json"#,
            r#"{"data":"\\","channel":"y"}"#,
            r#"{"channel":"a","channel":"b"}"#,
            r#"{"channel":"a","data":{"n":1},"client":"c"}"#,
            r#"{"client":"c","channel":"a","data":{"client":1}}"#,
            r#"{"channel":"a","data":"\"client\""}"#,
        ];
        for c in cases {
            same(c);
        }
    }

    #[test]
    fn mutated_params_are_read_as_serde_reads_them() {
        let seeds = [
            r#"{"channel":"news","data":{"n":1,"text":"payload 1","l":[1,null,true]},"idempotency_key":"k"}"#,
            r#"{"channels":["a","b\"c"],"data":[{"x":"}"},"]"],"user":"u","client":"c","session":"s"}"#,
        ];
        let alphabet = br#"{}[]":,\ aunx01"#;
        let mut rng = crate::testutil::Rng(0x0dd_ba11_cafe);
        let mut next = |n: usize| rng.below(n);
        for seed in seeds {
            for _ in 0..5000 {
                let mut s = seed.as_bytes().to_vec();
                for _ in 0..1 + next(2) {
                    let i = next(s.len());
                    match next(3) {
                        0 => s.insert(i, alphabet[next(alphabet.len())]),
                        1 => drop(s.remove(i)),
                        _ => s.insert(i, s[i]),
                    }
                }
                // Params are valid JSON (validation wrote them): compared on those.
                if let Ok(text) = String::from_utf8(s)
                    && serde_json::from_str::<serde_json::Value>(&text).is_ok()
                {
                    same(&text);
                }
            }
        }
    }
}
