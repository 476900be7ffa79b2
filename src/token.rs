//! Tokens and signs.
//!
//! - The v1 helpers (Centrifugo 1.x): connection tokens, private channel
//!   signs and API signs, HMAC-SHA256 in hex, byte-compatible with the
//!   original `cent` 2.x library for ASCII input (UTF-8 bytes otherwise, as
//!   a Go v1 server hashes them). They exist in no other crate.
//! - JWTs for modern Centrifugo: connection and subscription tokens signed
//!   with the official SDK crate `cent` (HS256, RS256, ES256) or
//!   `jsonwebtoken` (HS384, HS512, which `cent` does not sign), and checked
//!   with `jsonwebtoken` as Centrifugo checks them (`exp`/`nbf` without
//!   leeway).
//!
//! ```
//! use cent_run::token::{Algorithm, Claims, VerifyKey, sign, verify};
//! let claims = Claims { expires: Some(2_000_000_000), ..Claims::connection("42") };
//! let jwt = sign(Algorithm::HS256, b"secret", &claims).unwrap();
//! let seen = verify(&VerifyKey::Secret(b"secret".to_vec()), &jwt, 1_700_000_000).unwrap();
//! assert_eq!(seen["sub"], "42");
//! ```

use std::fmt;
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, KeyInit, Mac};
use serde_json::value::RawValue;
use serde_json::{Map, Value as Json};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

fn hmac_hex(key: &[u8], parts: &[&[u8]]) -> String {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC accepts keys of any length");
    for p in parts {
        mac.update(p);
    }
    hex::encode(mac.finalize().into_bytes())
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

/// Current Unix time in whole seconds.
pub fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// A JWT signing algorithm Centrifugo verifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Algorithm {
    /// HMAC-SHA256 with `client.token.hmac_secret_key` (the default).
    #[default]
    HS256,
    /// HMAC-SHA384.
    HS384,
    /// HMAC-SHA512.
    HS512,
    /// RSA PKCS#1 v1.5 with SHA-256 (`client.token.rsa_public_key`).
    RS256,
    /// ECDSA P-256 with SHA-256 (`client.token.ecdsa_public_key`).
    ES256,
}

impl Algorithm {
    /// Every algorithm, as `--algorithm` names them.
    pub const ALL: [Algorithm; 5] =
        [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512, Algorithm::RS256, Algorithm::ES256];

    /// Its JOSE name.
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::HS256 => "HS256",
            Algorithm::HS384 => "HS384",
            Algorithm::HS512 => "HS512",
            Algorithm::RS256 => "RS256",
            Algorithm::ES256 => "ES256",
        }
    }

    /// Signed with a shared secret (else a private key).
    pub fn is_hmac(self) -> bool {
        matches!(self, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512)
    }

    fn jwt(self) -> jsonwebtoken::Algorithm {
        match self {
            Algorithm::HS256 => jsonwebtoken::Algorithm::HS256,
            Algorithm::HS384 => jsonwebtoken::Algorithm::HS384,
            Algorithm::HS512 => jsonwebtoken::Algorithm::HS512,
            Algorithm::RS256 => jsonwebtoken::Algorithm::RS256,
            Algorithm::ES256 => jsonwebtoken::Algorithm::ES256,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Algorithm {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Algorithm::ALL
            .into_iter()
            .find(|a| a.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| format!("unknown algorithm `{s}` (expected HS256, HS384, HS512, RS256 or ES256)"))
    }
}

/// What a connection or subscription token says.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Claims {
    /// The user (`sub`); empty for an anonymous connection.
    pub user: String,
    /// The channel (`channel`): set for a subscription token, never for a connection token.
    pub channel: Option<String>,
    /// When the token stops being accepted (`exp`, Unix seconds); `None`: never.
    pub expires: Option<u64>,
    /// When it was issued (`iat`, Unix seconds); `None`: now.
    pub issued_at: Option<u64>,
    /// Connection or channel info (`info`, any JSON).
    pub info: Option<Json>,
    /// Server-side subscriptions (`channels`, connection tokens only).
    pub channels: Vec<String>,
    /// Data kept server-side (`meta`, a JSON object, connection tokens only).
    pub meta: Option<Json>,
    /// When the connection or subscription expires instead (`expire_at`; 0: never).
    pub expire_at: Option<u64>,
}

impl Claims {
    /// A connection token for `user`.
    pub fn connection(user: impl Into<String>) -> Self {
        Claims { user: user.into(), ..Claims::default() }
    }

    /// A subscription token for `user` on `channel`.
    pub fn subscription(user: impl Into<String>, channel: impl Into<String>) -> Self {
        Claims { user: user.into(), channel: Some(channel.into()), ..Claims::default() }
    }

    /// The claims as JSON, in the order Centrifugo's examples write them.
    fn to_json(&self) -> Map<String, Json> {
        let mut m = Map::new();
        m.insert("sub".into(), self.user.clone().into());
        if let Some(e) = self.expires {
            m.insert("exp".into(), e.into());
        }
        m.insert("iat".into(), self.issued_at.unwrap_or_else(now).into());
        if let Some(c) = &self.channel {
            m.insert("channel".into(), c.clone().into());
        }
        if let Some(x) = self.expire_at {
            m.insert("expire_at".into(), x.into());
        }
        if let Some(i) = &self.info {
            m.insert("info".into(), i.clone());
        }
        if !self.channels.is_empty() {
            m.insert("channels".into(), self.channels.clone().into());
        }
        if let Some(meta) = &self.meta {
            m.insert("meta".into(), meta.clone());
        }
        m
    }
}

/// Why a token could not be made or was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    /// Not three base64url parts, or not JSON.
    #[error("not a JWT: {0}")]
    Malformed(String),
    /// The key cannot be used (unreadable PEM, wrong kind for the algorithm).
    #[error("{0}")]
    Key(String),
    /// An algorithm the key does not fit, or one Centrifugo does not verify.
    #[error("{0}")]
    Algorithm(String),
    /// The signature does not match the key.
    #[error("signature does not match the key")]
    Signature,
    /// `exp` is not after now.
    #[error("token expired at {0}")]
    Expired(u64),
    /// `nbf` is not before now.
    #[error("token not valid before {0}")]
    NotYetValid(u64),
}

fn time(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

fn raw(v: &Json) -> Box<RawValue> {
    serde_json::value::to_raw_value(v).expect("JSON serialises")
}

/// Signs `claims` with `key`: the HMAC secret's bytes, or a PEM private key
/// (RSA for RS256, ECDSA P-256 for ES256).
pub fn sign(algorithm: Algorithm, key: &[u8], claims: &Claims) -> Result<String, TokenError> {
    if claims.channel.is_some() && (!claims.channels.is_empty() || claims.meta.is_some()) {
        return Err(TokenError::Key("`channels` and `meta` belong in connection tokens only".into()));
    }
    match algorithm {
        Algorithm::HS256 | Algorithm::RS256 | Algorithm::ES256 => sign_with_cent(algorithm, key, claims),
        Algorithm::HS384 | Algorithm::HS512 => {
            let header = jsonwebtoken::Header::new(algorithm.jwt());
            let key = jsonwebtoken::EncodingKey::from_secret(key);
            jsonwebtoken::encode(&header, &claims.to_json(), &key).map_err(|e| TokenError::Key(e.to_string()))
        }
    }
}

/// The official SDK's signing (HS256, RS256, ES256).
fn sign_with_cent(algorithm: Algorithm, key: &[u8], claims: &Claims) -> Result<String, TokenError> {
    let key = if algorithm.is_hmac() { cent::token::Key::hmac(key) } else { cent::token::Key::from_pem(key) }
        .map_err(|e| TokenError::Key(e.to_string()))?;
    if key.algorithm() != algorithm.as_str() {
        return Err(TokenError::Algorithm(format!(
            "the key signs {}, not {algorithm} (RS256 needs an RSA key, ES256 an ECDSA P-256 key)",
            key.algorithm()
        )));
    }
    let expiry = claims.expires.map_or(cent::token::Expiry::Never, |e| cent::token::Expiry::At(time(e)));
    let until = |x: u64| if x == 0 { cent::token::Expiry::Never } else { cent::token::Expiry::At(time(x)) };
    let issued = time(claims.issued_at.unwrap_or_else(now));
    let signed = match &claims.channel {
        None => {
            let mut c = cent::token::ConnectionClaims::new(claims.user.clone(), expiry)
                .issued_at(issued)
                .channels(claims.channels.iter().cloned());
            if let Some(i) = &claims.info {
                c = c.info(raw(i));
            }
            if let Some(m) = &claims.meta {
                c = c.meta(raw(m));
            }
            if let Some(x) = claims.expire_at {
                c = c.connection_expiry(until(x));
            }
            cent::token::connection(&key, &c)
        }
        Some(channel) => {
            let mut c =
                cent::token::SubscriptionClaims::new(claims.user.clone(), channel.clone(), expiry).issued_at(issued);
            if let Some(i) = &claims.info {
                c = c.info(raw(i));
            }
            if let Some(x) = claims.expire_at {
                c = c.subscription_expiry(until(x));
            }
            cent::token::subscription(&key, &c)
        }
    };
    signed.map_err(|e| TokenError::Key(e.to_string()))
}

/// The key a token is checked with.
#[derive(Clone, PartialEq, Eq)]
pub enum VerifyKey {
    /// The HMAC secret (HS256, HS384, HS512).
    Secret(Vec<u8>),
    /// A PEM public key (RSA for RS256, ECDSA for ES256).
    PublicPem(Vec<u8>),
}

impl fmt::Debug for VerifyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            VerifyKey::Secret(_) => "Secret(***)",
            VerifyKey::PublicPem(_) => "PublicPem(..)",
        })
    }
}

/// Checks a token as Centrifugo does — the signature with the algorithm its
/// header names and the key given, `exp` strictly after `now` and `nbf`
/// strictly before it, no leeway — and returns its claims.
pub fn verify(key: &VerifyKey, token: &str, now: u64) -> Result<Map<String, Json>, TokenError> {
    let token = token.trim();
    let header = jsonwebtoken::decode_header(token).map_err(|e| TokenError::Malformed(e.to_string()))?;
    let algorithm = Algorithm::ALL
        .into_iter()
        .find(|a| a.jwt() == header.alg)
        .ok_or_else(|| TokenError::Algorithm(format!("Centrifugo does not verify {:?} tokens here", header.alg)))?;
    let decoding = match key {
        VerifyKey::Secret(s) if algorithm.is_hmac() => jsonwebtoken::DecodingKey::from_secret(s),
        VerifyKey::PublicPem(pem) if algorithm == Algorithm::RS256 => jsonwebtoken::DecodingKey::from_rsa_pem(pem)
            .map_err(|e| TokenError::Key(format!("not an RSA public key: {e}")))?,
        VerifyKey::PublicPem(pem) if algorithm == Algorithm::ES256 => jsonwebtoken::DecodingKey::from_ec_pem(pem)
            .map_err(|e| TokenError::Key(format!("not an EC public key: {e}")))?,
        VerifyKey::Secret(_) => {
            return Err(TokenError::Algorithm(format!(
                "the token is {algorithm}: check it with the public key (PEM), not a secret"
            )));
        }
        VerifyKey::PublicPem(_) => {
            return Err(TokenError::Algorithm(format!("the token is {algorithm}: check it with the HMAC secret")));
        }
    };
    let mut validation = jsonwebtoken::Validation::new(algorithm.jwt());
    // Centrifugo's rules (below), not jsonwebtoken's defaults (60 s leeway, exp required).
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    let data = jsonwebtoken::decode::<Map<String, Json>>(token, &decoding, &validation).map_err(|e| {
        use jsonwebtoken::errors::ErrorKind;
        match e.kind() {
            ErrorKind::InvalidSignature => TokenError::Signature,
            ErrorKind::InvalidAlgorithm => TokenError::Algorithm(e.to_string()),
            ErrorKind::InvalidKeyFormat | ErrorKind::InvalidEcdsaKey | ErrorKind::InvalidRsaKey(_) => {
                TokenError::Key(e.to_string())
            }
            _ => TokenError::Malformed(e.to_string()),
        }
    })?;
    let claims = data.claims;
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
    use serde_json::json;

    use super::*;

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
    fn the_vectors_verify_until_they_expire_and_not_with_another_secret() {
        let v = vectors("jwt-hs256.json");
        for t in v["tokens"].as_array().unwrap() {
            let claims: Map<String, Json> = serde_json::from_str(t["payload_json"].as_str().unwrap()).unwrap();
            let token = t["token"].as_str().unwrap();
            let secret = VerifyKey::Secret(t["secret"].as_str().unwrap().as_bytes().to_vec());
            match claims.get("exp").and_then(Json::as_u64) {
                Some(exp) => {
                    assert_eq!(verify(&secret, token, exp - 1).unwrap(), claims);
                    assert_eq!(verify(&secret, token, exp), Err(TokenError::Expired(exp)));
                }
                None => assert_eq!(verify(&secret, token, now()).unwrap(), claims),
            }
            assert_eq!(verify(&VerifyKey::Secret(b"wrong".to_vec()), token, 0), Err(TokenError::Signature));
        }
    }

    #[test]
    fn every_hmac_algorithm_signs_what_an_independent_verifier_accepts() {
        let claims = Claims {
            expires: Some(now() + 60),
            info: Some(json!({"name": "Ünï"})),
            channels: vec!["news".into()],
            meta: Some(json!({"plan": "pro"})),
            expire_at: Some(0),
            ..Claims::connection("42")
        };
        for alg in [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512] {
            let token = sign(alg, b"s3cret", &claims).unwrap();
            let mut v = jsonwebtoken::Validation::new(alg.jwt());
            v.required_spec_claims.clear();
            let data = jsonwebtoken::decode::<Json>(&token, &jsonwebtoken::DecodingKey::from_secret(b"s3cret"), &v)
                .unwrap_or_else(|e| panic!("{alg}: {e}"));
            assert_eq!(data.header.alg, alg.jwt());
            for (k, want) in [
                ("sub", json!("42")),
                ("info", json!({"name": "Ünï"})),
                ("channels", json!(["news"])),
                ("meta", json!({"plan": "pro"})),
                ("expire_at", json!(0)),
            ] {
                assert_eq!(data.claims[k], want, "{alg} {k}");
            }
            assert_eq!(verify(&VerifyKey::Secret(b"s3cret".to_vec()), &token, now()).unwrap()["sub"], "42");
        }
        let expired =
            sign(Algorithm::HS256, b"s3cret", &Claims { expires: Some(10), ..Claims::connection("1") }).unwrap();
        assert_eq!(verify(&VerifyKey::Secret(b"s3cret".to_vec()), &expired, 10), Err(TokenError::Expired(10)));
        let sub = sign(Algorithm::HS256, b"s", &Claims::subscription("1", "$chat")).unwrap();
        assert_eq!(verify(&VerifyKey::Secret(b"s".to_vec()), &sub, now()).unwrap()["channel"], "$chat");
    }

    #[test]
    fn a_key_of_the_wrong_kind_is_refused_with_a_reason() {
        let e = sign(Algorithm::RS256, b"not a pem", &Claims::connection("1")).unwrap_err();
        assert!(matches!(e, TokenError::Key(_)), "{e:?}");
        let hs = sign(Algorithm::HS256, b"s", &Claims::connection("1")).unwrap();
        let e = verify(&VerifyKey::PublicPem(b"-----BEGIN PUBLIC KEY-----".to_vec()), &hs, now()).unwrap_err();
        assert_eq!(e, TokenError::Algorithm("the token is HS256: check it with the HMAC secret".into()));
        assert_eq!(format!("{:?}", VerifyKey::Secret(b"s3cret".to_vec())), "Secret(***)");
    }
}
