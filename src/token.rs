//! Token and sign helpers: v1 HMAC-SHA256 hex signs (byte-compatible with
//! the original `cent` 2.x library for ASCII input; UTF-8 bytes otherwise,
//! as a Go v1 server hashes them) and HS256 JWTs for modern Centrifugo.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Map, Value as Json};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

fn hmac_parts(key: &[u8], parts: &[&[u8]]) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC accepts keys of any length");
    for p in parts {
        mac.update(p);
    }
    mac
}

fn hmac_hex(key: &[u8], parts: &[&[u8]]) -> String {
    hex::encode(hmac_parts(key, parts).finalize().into_bytes())
}

/// v1 connection token: HMAC-SHA256(secret, user ‖ timestamp ‖ info), hex.
pub fn legacy_token(secret: &[u8], user: &str, timestamp: &str, info: &str) -> String {
    hmac_hex(secret, &[user.as_bytes(), timestamp.as_bytes(), info.as_bytes()])
}

/// v1 private channel sign: HMAC-SHA256(secret, client ‖ channel ‖ info), hex.
pub fn channel_sign(secret: &[u8], client: &str, channel: &str, info: &str) -> String {
    hmac_hex(secret, &[client.as_bytes(), channel.as_bytes(), info.as_bytes()])
}

/// v1 API sign over the exact request body bytes, hex.
pub fn api_sign(secret: &[u8], body: &[u8]) -> String {
    hmac_hex(secret, &[body])
}

/// Current Unix time in whole seconds, as a string (the original's `get_timestamp`).
pub fn timestamp() -> String {
    now().to_string()
}

pub fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

const HS256_HEADER: &str = r#"{"alg":"HS256","typ":"JWT"}"#;

/// Signs claims as an HS256 JWT (compact JSON, base64url without padding).
pub fn jwt(secret: &[u8], claims: &Map<String, Json>) -> String {
    let header = URL_SAFE_NO_PAD.encode(HS256_HEADER);
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).expect("claims serialise"));
    let signing_input = format!("{header}.{payload}");
    let sig = hmac_parts(secret, &[signing_input.as_bytes()]).finalize().into_bytes();
    format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(sig))
}

/// Why a token failed [`verify`].
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    #[error("not a JWT: {0}")]
    Malformed(String),
    #[error("unsupported algorithm `{0}` (only HS256 is checked)")]
    Algorithm(String),
    #[error("signature does not match the secret")]
    Signature,
    #[error("token expired at {0}")]
    Expired(u64),
    #[error("token not valid before {0}")]
    NotYetValid(u64),
}

/// Checks an HS256 JWT as Centrifugo does (exp/nbf with no leeway) and
/// returns its claims.
pub fn verify(secret: &[u8], token: &str, now: u64) -> Result<Map<String, Json>, TokenError> {
    let mut parts = token.trim().split('.');
    let (Some(h), Some(p), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(TokenError::Malformed("expected three dot-separated parts".into()));
    };
    let decode = |part: &str, what: &str| {
        URL_SAFE_NO_PAD.decode(part).map_err(|e| TokenError::Malformed(format!("{what} is not base64url: {e}")))
    };
    let header: Json =
        serde_json::from_slice(&decode(h, "header")?).map_err(|e| TokenError::Malformed(format!("header: {e}")))?;
    let alg = header.get("alg").and_then(Json::as_str).unwrap_or("");
    if alg != "HS256" {
        return Err(TokenError::Algorithm(alg.to_owned()));
    }
    let sig = decode(s, "signature")?;
    let mac = hmac_parts(secret, &[h.as_bytes(), b".", p.as_bytes()]);
    mac.verify_slice(&sig).map_err(|_| TokenError::Signature)?;
    let claims: Map<String, Json> =
        serde_json::from_slice(&decode(p, "payload")?).map_err(|e| TokenError::Malformed(format!("payload: {e}")))?;
    if let Some(exp) = claims.get("exp").and_then(Json::as_u64)
        && exp <= now
    {
        return Err(TokenError::Expired(exp));
    }
    if let Some(nbf) = claims.get("nbf").and_then(Json::as_u64)
        && nbf >= now
    {
        return Err(TokenError::NotYetValid(nbf));
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn vectors(name: &str) -> Json {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors").join(name);
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    #[test]
    fn v1_vectors_from_cent_2_1_0() {
        let v = vectors("legacy-v1.json");
        for t in v["token"].as_array().unwrap() {
            let s = |k: &str| t[k].as_str().unwrap();
            assert_eq!(legacy_token(s("secret").as_bytes(), s("user"), s("timestamp"), s("info")), s("token"));
        }
        for t in v["channel_sign"].as_array().unwrap() {
            let s = |k: &str| t[k].as_str().unwrap();
            assert_eq!(channel_sign(s("secret").as_bytes(), s("client"), s("channel"), s("info")), s("sign"));
        }
        for t in v["api_sign"].as_array().unwrap() {
            let s = |k: &str| t[k].as_str().unwrap();
            assert_eq!(api_sign(s("secret").as_bytes(), s("body").as_bytes()), s("sign"));
        }
        let req = &v["request"][0];
        assert_eq!(
            api_sign(req["secret"].as_str().unwrap().as_bytes(), req["body"].as_str().unwrap().as_bytes()),
            req["x_api_sign"].as_str().unwrap()
        );
    }

    #[test]
    fn non_ascii_secret_uses_utf8_like_the_go_server() {
        assert_eq!(
            legacy_token("sécret".as_bytes(), "42", "1472482903", ""),
            "491d92f36f09688f2dc7ac757f6dcf1a49e6d581c7ad204d17473d0507cfd17c"
        );
    }

    #[test]
    fn jwt_vectors() {
        let v = vectors("jwt-hs256.json");
        for t in v["tokens"].as_array().unwrap() {
            let claims: Map<String, Json> = serde_json::from_str(t["payload_json"].as_str().unwrap()).unwrap();
            let token = jwt(t["secret"].as_str().unwrap().as_bytes(), &claims);
            assert_eq!(token, t["token"].as_str().unwrap());
            // The signature checks out at a time before expiry, and the
            // token is refused once `exp` has passed.
            let secret = t["secret"].as_str().unwrap().as_bytes();
            match claims.get("exp").and_then(Json::as_u64) {
                Some(exp) => {
                    assert_eq!(verify(secret, &token, exp - 1).unwrap(), claims);
                    assert_eq!(verify(secret, &token, exp), Err(TokenError::Expired(exp)));
                }
                None => assert_eq!(verify(secret, &token, now()).unwrap(), claims),
            }
            assert_eq!(verify(b"wrong", &token, 0), Err(TokenError::Signature));
        }
    }

    #[test]
    fn jwt_is_accepted_by_an_independent_implementation() {
        let claims = json!({"sub": "42", "exp": now() + 60, "info": {"name": "Ünï"}});
        let token = jwt(b"s3cret", claims.as_object().unwrap());
        let data = jsonwebtoken::decode::<Json>(
            &token,
            &jsonwebtoken::DecodingKey::from_secret(b"s3cret"),
            &jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256),
        )
        .unwrap();
        assert_eq!(data.claims, claims);
        assert_eq!(verify(b"s3cret", &token, now()).unwrap(), *claims.as_object().unwrap());
        let expired = jwt(b"s3cret", json!({"sub": "1", "exp": 10}).as_object().unwrap());
        assert_eq!(verify(b"s3cret", &expired, 10), Err(TokenError::Expired(10)));
    }
}
