//! `cent-run token ...`: v1 signs, and connection and subscription JWTs
//! (HS256/384/512 with a secret, RS256/ES256 with a PEM key file).

use std::io::Read;
use std::path::Path;

use serde_json::Value as Json;

use super::output;
use crate::cli::{ExpiryArgs, SecretArgs, SigningArgs, TokenCmd};
use crate::error::Error;
use crate::exit::Exit;
use crate::settings::Env;
use crate::token::{self, Claims, VerifyKey};

/// The token secret's environment variable.
const TOKEN_SECRET_ENV: &str = "CENTRIFUGO_TOKEN_SECRET";

fn read_file(path: &Path, what: &str) -> Result<Vec<u8>, Error> {
    std::fs::read(path).map_err(|e| Error::Usage(format!("cannot read {what} {}: {e}", path.display())))
}

fn secret(args: &SecretArgs, env: &Env) -> Result<Vec<u8>, Error> {
    if let Some(path) = &args.secret_file {
        let mut s = read_file(path, "secret file")?;
        while s.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
            s.pop();
        }
        return Ok(s);
    }
    match args.secret.as_deref().filter(|s| !s.is_empty()).or_else(|| env.get(TOKEN_SECRET_ENV)) {
        Some(s) => Ok(s.as_bytes().to_vec()),
        None => Err(Error::Usage("no secret: give --secret, --secret-file or set CENTRIFUGO_TOKEN_SECRET".into())),
    }
}

/// The signing key the algorithm needs: the HMAC secret or a private key file.
fn signing_key(args: &SigningArgs, env: &Env) -> Result<Vec<u8>, Error> {
    match (&args.key_file, args.algorithm.is_hmac()) {
        (Some(path), false) => read_file(path, "key file"),
        (None, false) => {
            Err(Error::Usage(format!("{} signs with a private key: give --key-file PRIVATE.pem", args.algorithm)))
        }
        (Some(_), true) => Err(Error::Usage(format!(
            "{} signs with the HMAC secret, not a key file: give --algorithm RS256 or ES256 for a PEM key",
            args.algorithm
        ))),
        (None, true) => secret(&args.secret, env),
    }
}

fn json_arg(what: &str, text: &str) -> Result<Json, Error> {
    serde_json::from_str(text).map_err(|e| Error::Usage(format!("--{what} is not valid JSON: {e}")))
}

/// The expiry the flags ask for; a token that never expires is said once on
/// stderr (it cannot be taken back but by changing the secret).
fn expires(e: &ExpiryArgs, expire_at: Option<u64>) -> Option<u64> {
    let exp = e.exp.or_else(|| e.ttl.map(|ttl| token::now() + ttl.as_secs()));
    if exp.is_none() && expire_at.is_none_or(|a| a == 0) {
        output::stderr("warning: this token never expires (give --ttl 1h or --exp UNIX to bound it)\n");
    }
    exp
}

fn sign(key: &SigningArgs, claims: &Claims, env: &Env) -> Result<String, Error> {
    token::sign(key.algorithm, &signing_key(key, env)?, claims).map_err(|e| Error::Usage(e.to_string()))
}

pub(crate) fn token(cmd: TokenCmd, env: &Env) -> Result<Exit, Error> {
    let text = make(cmd, env)?;
    output::line(&text);
    Ok(Exit::Ok)
}

/// A token argument, or standard input for `-` (kept out of `ps`).
fn token_text(arg: String) -> Result<String, Error> {
    if arg != "-" {
        return Ok(arg);
    }
    let mut s = String::new();
    std::io::stdin()
        .read_to_string(&mut s)
        .map_err(|e| Error::Usage(format!("cannot read the token from stdin: {e}")))?;
    Ok(s.trim().to_owned())
}

fn make(cmd: TokenCmd, env: &Env) -> Result<String, Error> {
    Ok(match cmd {
        TokenCmd::Legacy { user, timestamp, info, secret: s } => {
            // The timestamp goes with the token to the client: both are printed.
            let ts = timestamp.unwrap_or_else(token::timestamp);
            format!("{}\n{ts}", token::legacy_token(&secret(&s, env)?, &user, &ts, &info))
        }
        TokenCmd::ChannelSign { client, channel, info, secret: s } => {
            token::channel_sign(&secret(&s, env)?, &client, &channel, &info)
        }
        TokenCmd::ApiSign { body_file, secret: s } => {
            let key = secret(&s, env)?;
            let body = match body_file {
                Some(p) => read_file(&p, "body file")?,
                None => {
                    let mut b = Vec::new();
                    std::io::stdin()
                        .read_to_end(&mut b)
                        .map_err(|e| Error::Usage(format!("cannot read stdin: {e}")))?;
                    b
                }
            };
            token::api_sign(&key, &body)
        }
        TokenCmd::Connect { user, expiry: e, info, channels, meta, expire_at, key } => {
            let meta = meta.map(|m| json_arg("meta", &m)).transpose()?;
            if meta.as_ref().is_some_and(|m| !m.is_object()) {
                return Err(Error::Usage("--meta must be a JSON object".into()));
            }
            let claims = Claims {
                expires: expires(&e, expire_at),
                info: info.map(|i| json_arg("info", &i)).transpose()?,
                channels,
                meta,
                expire_at,
                ..Claims::connection(user)
            };
            sign(&key, &claims, env)?
        }
        TokenCmd::Subscribe { user, channel, expiry: e, info, key } => {
            let claims = Claims {
                expires: expires(&e, None),
                info: info.map(|i| json_arg("info", &i)).transpose()?,
                ..Claims::subscription(user, channel)
            };
            sign(&key, &claims, env)?
        }
        TokenCmd::Check { token: t, secret: s, key_file } => {
            let key = match key_file {
                Some(path) => VerifyKey::PublicPem(read_file(&path, "key file")?),
                None => VerifyKey::Secret(secret(&s, env)?),
            };
            match token::verify(&key, &token_text(t)?, token::now()) {
                Ok(claims) => serde_json::to_string_pretty(&claims).expect("JSON"),
                Err(e) => return Err(Error::Rejected(format!("invalid token: {e}"))),
            }
        }
    })
}
