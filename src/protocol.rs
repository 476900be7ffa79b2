//! Wire formats of the three server generations: request URL, body bytes and
//! auth header for a batch of commands in; one [`Reply`] per command out.
//!
//! - `api` (Centrifugo v5/v6): `POST {url}/api/batch`, `{"commands":[...],"parallel":false}`.
//! - `legacy` (v2–v4, still served by v6): `POST {url}/api`, newline-delimited `{"method","params"}`.
//! - `v1`: `POST {url}/api/`, JSON array, `X-API-Sign: hex(HMAC-SHA256(secret, body))`.

mod pyjson;

use std::fmt;
use std::str::FromStr;

use serde::Deserialize;
use serde_json::Value as Json;

pub(crate) use pyjson::to_python_json;

/// A server generation's API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum Protocol {
    /// Centrifugo v5/v6: `POST /api/batch`, `X-API-Key`.
    #[default]
    Api,
    /// Centrifugo v2–v4 (still served by v6): `POST /api`, newline-delimited, `Authorization: apikey`.
    Legacy,
    /// Centrifugo v1: `POST /api/`, HMAC-signed with `X-API-Sign`.
    V1,
}

impl Protocol {
    /// Its name in manifests and flags.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Api => "api",
            Protocol::Legacy => "legacy",
            Protocol::V1 => "v1",
        }
    }

    /// Whether publish/broadcast carry idempotency keys the server honours.
    pub fn has_idempotency(self) -> bool {
        self == Protocol::Api
    }

    /// Whether requests authenticate with an API key (else an HMAC secret).
    pub fn has_api_key(self) -> bool {
        self != Protocol::V1
    }

    /// Every way to write a protocol (compared in lower case).
    pub const SPELLINGS: &[(&str, Protocol)] = &[
        ("api", Protocol::Api),
        ("v5", Protocol::Api),
        ("v6", Protocol::Api),
        ("legacy", Protocol::Legacy),
        ("v2", Protocol::Legacy),
        ("v3", Protocol::Legacy),
        ("v4", Protocol::Legacy),
        ("v1", Protocol::V1),
    ];
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Protocol {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let lower = s.trim().to_ascii_lowercase();
        Protocol::SPELLINGS
            .iter()
            .find(|(name, _)| *name == lower)
            .map(|(_, p)| *p)
            .ok_or_else(|| format!("unknown protocol `{s}` (expected api, legacy or v1)"))
    }
}

/// Why a server address cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub(crate) struct UrlError {
    pub message: String,
    /// What was probably meant, e.g. `did you mean http://localhost:8000?`.
    pub hint: String,
}

/// Checks that `url` is an absolute `http(s)://` URL with a host.
pub(crate) fn check_url(url: &str) -> Result<(), UrlError> {
    let url = url.trim();
    let err = |message: String, hint: &str| Err(UrlError { message, hint: hint.to_owned() });
    let guess = format!("did you mean http://{}?", url.trim_start_matches('/'));
    match reqwest::Url::parse(url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => match u.host_str() {
            Some(h) if !h.is_empty() => Ok(()),
            _ => err(format!("`{url}` has no host"), "e.g. http://localhost:8000"),
        },
        Ok(u) if !url.contains("://") => {
            err(format!("`{url}` is not an http(s) URL (`{}:` is read as its scheme)", u.scheme()), &guess)
        }
        Ok(u) => err(
            format!("`{url}`: the scheme `{}` is not supported", u.scheme()),
            "Centrifugo's API is served over http:// or https://",
        ),
        Err(_) if url.is_empty() => err("the server URL is empty".into(), "e.g. http://localhost:8000"),
        Err(e) => err(format!("`{url}` is not a URL: {e}"), &guess),
    }
}

/// One command, encoded once: its params as JSON text (an object).
#[derive(Debug, Clone)]
pub struct Encoded {
    pub method: &'static str,
    pub params: Box<str>,
}

/// How a protocol frames a batch: the text before, between and after the
/// commands, and around each command's method name and params.
struct Framing {
    open: &'static str,
    separator: &'static str,
    before_method: &'static str,
    before_params: &'static str,
    after_params: &'static str,
    close: &'static str,
}

impl Protocol {
    fn framing(self) -> Framing {
        match self {
            Protocol::Api => Framing {
                open: "{\"commands\":[",
                separator: ",",
                before_method: "{\"",
                before_params: "\":",
                after_params: "}",
                close: "],\"parallel\":false}",
            },
            // Newline-delimited objects.
            Protocol::Legacy => Framing {
                open: "",
                separator: "\n",
                before_method: "{\"method\":\"",
                before_params: "\",\"params\":",
                after_params: "}",
                close: "",
            },
            // Python json.dumps layout, byte-compatible with cent 2.x.
            Protocol::V1 => Framing {
                open: "[",
                separator: ", ",
                before_method: "{\"method\": \"",
                before_params: "\", \"params\": ",
                after_params: "}",
                close: "]",
            },
        }
    }
}

/// Builds the request body for a batch of encoded commands.
pub fn body<'a>(protocol: Protocol, cmds: impl IntoIterator<Item = &'a Encoded> + Clone) -> Vec<u8> {
    let size = cmds.clone().into_iter().map(|c| c.method.len() + c.params.len() + 16).sum::<usize>() + 32;
    let cmds: Vec<&Encoded> = cmds.into_iter().collect();
    body_of(protocol, cmds.len(), size, |k| cmds[k].method, |k, out| out.extend_from_slice(cmds[k].params.as_bytes()))
}

/// Builds the request body of `n` commands, sized `size` bytes (about): the
/// `k`-th command's method is `method(k)`, `params(k, out)` writes its
/// params — straight into the body, with no text of its own.
pub(crate) fn body_of(
    protocol: Protocol,
    n: usize,
    size: usize,
    method: impl Fn(usize) -> &'static str,
    mut params: impl FnMut(usize, &mut Vec<u8>),
) -> Vec<u8> {
    let f = protocol.framing();
    let mut out = Vec::with_capacity(size);
    out.extend_from_slice(f.open.as_bytes());
    for k in 0..n {
        if k > 0 {
            out.extend_from_slice(f.separator.as_bytes());
        }
        for part in [f.before_method, method(k), f.before_params] {
            out.extend_from_slice(part.as_bytes());
        }
        params(k, &mut out);
        out.extend_from_slice(f.after_params.as_bytes());
    }
    out.extend_from_slice(f.close.as_bytes());
    out
}

impl Encoded {
    /// Wraps params already serialised as a JSON object (by serde_json:
    /// not checked again).
    pub fn from_json(method: &'static str, json: String) -> Self {
        Encoded { method, params: json.into_boxed_str() }
    }
}

/// Encodes a command's params for a protocol (v1 uses Python's JSON layout).
pub fn encode(protocol: Protocol, method: &'static str, params: &serde_json::Map<String, Json>) -> Encoded {
    let text = match protocol {
        Protocol::V1 => to_python_json(&Json::Object(params.clone())),
        _ => serde_json::to_string(params).expect("a JSON map always serialises"),
    };
    Encoded::from_json(method, text)
}

/// An error the server reported for one command.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, Deserialize)]
pub struct ApiError {
    /// The server's error code; `None` for v1 servers, which send only text.
    pub code: Option<u32>,
    /// The server's message.
    pub message: String,
}

impl ApiError {
    /// Code 100 (internal error) is transient by nature; all others are not.
    pub fn retryable(&self) -> bool {
        self.code == Some(100)
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.code {
            Some(c) => write!(f, "{c} {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// The server's answer to one command.
pub type Reply = Result<Json, ApiError>;

/// A broadcast result's answer for each of its channels, in order; `None`
/// when the result has no per-channel detail (v1 servers).
pub(crate) fn channel_replies(result: &Json) -> Option<Vec<Reply>> {
    let responses = result.get("responses")?.as_array()?;
    let reply = |r: &Json| match r.get("error") {
        Some(e) => Err(ApiError {
            code: e.get("code").and_then(Json::as_u64).and_then(|c| u32::try_from(c).ok()),
            message: e.get("message").and_then(Json::as_str).unwrap_or_default().to_owned(),
        }),
        None => Ok(r.get("result").cloned().unwrap_or_else(|| Json::Object(Default::default()))),
    };
    Some(responses.iter().map(reply).collect())
}

/// Why a response body could not be read as replies.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct DecodeError(pub String);

/// Decodes a 200 response body into exactly `expected` replies.
pub fn decode(protocol: Protocol, methods: &[&str], body: &[u8]) -> Result<Vec<Reply>, DecodeError> {
    let replies = match protocol {
        Protocol::Api => decode_api(methods, body)?,
        Protocol::Legacy => decode_legacy(body)?,
        Protocol::V1 => decode_v1(body)?,
    };
    if replies.len() != methods.len() {
        return Err(DecodeError(format!("expected {} replies, got {}", methods.len(), replies.len())));
    }
    Ok(replies)
}

/// The server's answer to one command, its result as JSON text.
pub(crate) type RawReply = Result<Box<serde_json::value::RawValue>, ApiError>;

/// [`decode`], each result kept as the server's JSON text, not decoded into
/// a value (a run of 200,000 publishes decoded 200,000 results into values
/// and wrote each back to text for its outcome). A result with an escape
/// or a space in its text is written again by serde, as before, so what a
/// report shows of it does not change.
pub(crate) fn decode_raw(protocol: Protocol, methods: &[&str], body: &[u8]) -> Result<Vec<RawReply>, DecodeError> {
    if protocol == Protocol::Api
        && let Ok(replies) = decode_api_raw(methods, body)
    {
        return Ok(replies);
    }
    let replies = decode(protocol, methods, body)?;
    Ok(replies.into_iter().map(|r| r.map(|json| raw(&json))).collect())
}

/// Whether `s` needs an escape as a JSON string (a control character, a
/// quote or a backslash): most do not, and are written as they are. One
/// pass without an early exit, so it runs on vectors.
pub(crate) fn needs_escape(s: &str) -> bool {
    s.bytes().fold(false, |any, b| any | (b < 0x20) | (b == b'"') | (b == b'\\'))
}

/// A value as compact JSON text.
pub(crate) fn raw(json: &Json) -> Box<serde_json::value::RawValue> {
    serde_json::value::to_raw_value(json).expect("a JSON value serialises")
}

/// One reply of a batch: its keys (a method name, or `error`) and their values as text.
struct RawEntries<'a>(Vec<(&'a str, &'a serde_json::value::RawValue)>);

impl<'de: 'a, 'a> Deserialize<'de> for RawEntries<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Entries<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for Entries<'a> {
            type Value = RawEntries<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a reply object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::with_capacity(1);
                while let Some(entry) = map.next_entry()? {
                    out.push(entry);
                }
                Ok(RawEntries(out))
            }
        }
        d.deserialize_map(Entries(std::marker::PhantomData))
    }
}

#[derive(Deserialize)]
struct RawBatch<'a> {
    #[serde(borrow, default)]
    replies: Vec<RawEntries<'a>>,
}

/// `None` (an `Err` here) for anything the value decoder should read
/// instead: a key with an escape, a reply it would word differently.
fn decode_api_raw(methods: &[&str], body: &[u8]) -> Result<Vec<RawReply>, ()> {
    let batch: RawBatch = serde_json::from_slice(body).map_err(drop)?;
    if batch.replies.len() != methods.len() {
        return Err(());
    }
    // What serde would write again differently: an escape, a space, an
    // exponent (`1e5` becomes `1e+5`).
    let plain = |t: &str| {
        let b = t.as_bytes();
        !b.iter().enumerate().any(|(i, &c)| {
            c == b'\\'
                || c.is_ascii_whitespace()
                || (matches!(c, b'e' | b'E') && i > 0 && (b[i - 1].is_ascii_digit() || b[i - 1] == b'.'))
        })
    };
    let mut out = Vec::with_capacity(batch.replies.len());
    for (RawEntries(entries), method) in batch.replies.into_iter().zip(methods) {
        let get = |k: &str| entries.iter().rev().find(|(key, _)| *key == k).map(|(_, v)| *v);
        if let Some(err) = get("error") {
            let e: ErrorBody = serde_json::from_str(err.get()).map_err(drop)?;
            out.push(Err(ApiError { code: Some(e.code), message: e.message }));
            continue;
        }
        out.push(Ok(match get(method) {
            Some(r) if plain(r.get()) && r.get().starts_with(['{', '[']) => r.to_owned(),
            Some(r) => raw(&serde_json::from_str::<Json>(r.get()).map_err(drop)?),
            None => raw(&Json::Object(Default::default())),
        }));
    }
    Ok(out)
}

#[derive(Deserialize)]
struct ApiBatch {
    #[serde(default)]
    replies: Vec<serde_json::Map<String, Json>>,
}

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default)]
    code: u32,
    #[serde(default)]
    message: String,
}

fn decode_api(methods: &[&str], body: &[u8]) -> Result<Vec<Reply>, DecodeError> {
    let batch: ApiBatch =
        serde_json::from_slice(body).map_err(|e| DecodeError(format!("invalid batch response: {e}")))?;
    let mut out = Vec::with_capacity(batch.replies.len());
    for (i, mut reply) in batch.replies.into_iter().enumerate() {
        if let Some(err) = reply.remove("error") {
            let e: ErrorBody =
                serde_json::from_value(err).map_err(|e| DecodeError(format!("invalid error reply: {e}")))?;
            out.push(Err(ApiError { code: Some(e.code), message: e.message }));
        } else {
            let method = methods.get(i).copied().unwrap_or_default();
            out.push(Ok(reply.remove(method).unwrap_or_else(|| Json::Object(Default::default()))));
        }
    }
    Ok(out)
}

#[derive(Deserialize)]
struct LegacyReply {
    #[serde(default)]
    error: Option<ErrorBody>,
    #[serde(default)]
    result: Option<Json>,
}

fn decode_legacy(body: &[u8]) -> Result<Vec<Reply>, DecodeError> {
    serde_json::Deserializer::from_slice(body)
        .into_iter::<LegacyReply>()
        .map(|r| {
            let r = r.map_err(|e| DecodeError(format!("invalid legacy reply: {e}")))?;
            Ok(match r.error {
                Some(e) => Err(ApiError { code: Some(e.code), message: e.message }),
                None => Ok(r.result.unwrap_or_else(|| Json::Object(Default::default()))),
            })
        })
        .collect()
}

#[derive(Deserialize)]
struct V1Reply {
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    body: Option<Json>,
}

fn decode_v1(body: &[u8]) -> Result<Vec<Reply>, DecodeError> {
    let replies: Vec<V1Reply> =
        serde_json::from_slice(body).map_err(|e| DecodeError(format!("invalid v1 reply: {e}")))?;
    Ok(replies
        .into_iter()
        .map(|r| match r.error.filter(|e| !e.is_empty()) {
            Some(message) => Err(ApiError { code: None, message }),
            None => Ok(r.body.unwrap_or(Json::Null)),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn v1_body_matches_cent_2_1_0_bytes() {
        let vectors: Json = serde_json::from_str(include_str!("../tests/vectors/legacy-v1.json")).unwrap();
        let req = &vectors["request"][0];
        let cmds = [
            ("publish", json!({"channel": "news", "data": {"title": "World Cup 2018"}})),
            ("unsubscribe", json!({"user": "42", "channel": "chat"})),
            ("disconnect", json!({"user": "42"})),
        ];
        let enc: Vec<_> = cmds.iter().map(|(m, p)| encode(Protocol::V1, m, p.as_object().unwrap())).collect();
        let body = body(Protocol::V1, &enc);
        assert_eq!(std::str::from_utf8(&body).unwrap(), req["body"].as_str().unwrap());
    }

    #[test]
    fn api_body_and_replies() {
        let enc = [encode(Protocol::Api, "publish", json!({"channel":"a","data":1}).as_object().unwrap())];
        assert_eq!(
            body(Protocol::Api, &enc),
            br#"{"commands":[{"publish":{"channel":"a","data":1}}],"parallel":false}"#
        );
        let replies = decode(
            Protocol::Api,
            &["publish", "publish"],
            br#"{"replies":[{"publish":{"offset":1}},{"error":{"code":102,"message":"unknown channel"}}]}"#,
        )
        .unwrap();
        assert_eq!(replies[0], Ok(json!({"offset":1})));
        assert_eq!(replies[1], Err(ApiError { code: Some(102), message: "unknown channel".into() }));
        assert!(decode(Protocol::Api, &["publish"], b"{\"replies\":[]}").is_err());
        assert!(decode(Protocol::Api, &["publish"], b"{\"repl").is_err());
    }

    #[test]
    fn raw_results_are_the_text_serde_would_write() {
        let body = br#"{"replies":[{"publish":{}},{"publish":{"offset":1,"epoch":"xyz"}},{"error":{"code":102,"message":"unknown channel"}},{"publish":{"a":"\u003c","b":1e5, "c":[1.50,-0]}},{}]}"#;
        let methods = ["publish"; 5];
        let raw = decode_raw(Protocol::Api, &methods, body).unwrap();
        let values = decode(Protocol::Api, &methods, body).unwrap();
        assert_eq!(raw.len(), values.len());
        for (r, v) in raw.iter().zip(&values) {
            match (r, v) {
                (Ok(r), Ok(v)) => assert_eq!(r.get(), serde_json::to_string(v).unwrap()),
                (Err(a), Err(b)) => assert_eq!(a, b),
                other => panic!("{other:?}"),
            }
        }
        assert!(decode_raw(Protocol::Api, &["publish", "publish"], br#"{"replies":[{}]}"#).is_err());
    }

    #[test]
    fn legacy_replies_are_newline_delimited() {
        let r = decode(
            Protocol::Legacy,
            &["publish", "history"],
            b"{\"result\":{}}\n{\"error\":{\"code\":108,\"message\":\"not available\"}}",
        )
        .unwrap();
        assert_eq!(r[0], Ok(json!({})));
        assert_eq!(r[1].as_ref().unwrap_err().code, Some(108));
    }

    #[test]
    fn v1_replies() {
        let r = decode(Protocol::V1, &["publish", "history"], br#"[{"method":"publish","error":null,"body":null},{"method":"history","error":"namespace not found","advice":"fix","body":null}]"#).unwrap();
        assert_eq!(r[0], Ok(Json::Null));
        assert_eq!(r[1], Err(ApiError { code: None, message: "namespace not found".into() }));
    }
}
