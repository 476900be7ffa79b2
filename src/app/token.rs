//! `cent-run token ...`: v1 signs and HS256 JWTs.

use std::io::Read;

use serde_json::{Map, Value as Json};

use super::output;
use crate::cli::{ExpiryArgs, SecretArgs, TokenCmd};
use crate::error::Error;
use crate::exit::Exit;
use crate::token;

fn secret(args: &SecretArgs) -> Result<Vec<u8>, Error> {
    if let Some(path) = &args.secret_file {
        let mut s = std::fs::read(path)
            .map_err(|e| Error::Usage(format!("cannot read secret file {}: {e}", path.display())))?;
        while s.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
            s.pop();
        }
        return Ok(s);
    }
    match &args.secret {
        Some(s) if !s.is_empty() => Ok(s.as_bytes().to_vec()),
        _ => Err(Error::Usage("no secret: give --secret, --secret-file or set CENTRIFUGO_TOKEN_SECRET".into())),
    }
}

fn json_arg(what: &str, text: &str) -> Result<Json, Error> {
    serde_json::from_str(text).map_err(|e| Error::Usage(format!("--{what} is not valid JSON: {e}")))
}

fn expiry(e: &ExpiryArgs, claims: &mut Map<String, Json>) {
    let now = token::now();
    if let Some(exp) = e.exp {
        claims.insert("exp".into(), exp.into());
    } else if let Some(ttl) = e.ttl {
        claims.insert("exp".into(), (now + ttl.as_secs()).into());
    }
    claims.insert("iat".into(), now.into());
}

pub fn token(cmd: TokenCmd) -> Result<Exit, Error> {
    let text = make(cmd)?;
    output::line(&text);
    Ok(Exit::Ok)
}

fn make(cmd: TokenCmd) -> Result<String, Error> {
    Ok(match cmd {
        TokenCmd::Legacy { user, timestamp, info, secret: s } => {
            // The timestamp goes with the token to the client: both are printed.
            let ts = timestamp.unwrap_or_else(token::timestamp);
            format!("{}\n{ts}", token::legacy_token(&secret(&s)?, &user, &ts, &info))
        }
        TokenCmd::ChannelSign { client, channel, info, secret: s } => {
            token::channel_sign(&secret(&s)?, &client, &channel, &info)
        }
        TokenCmd::ApiSign { body_file, secret: s } => {
            let key = secret(&s)?;
            let body = match body_file {
                Some(p) => std::fs::read(&p).map_err(|e| Error::Usage(format!("cannot read {}: {e}", p.display())))?,
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
        TokenCmd::Connect { user, expiry: e, info, channels, meta, expire_at, secret: s } => {
            let key = secret(&s)?;
            let mut claims = Map::new();
            claims.insert("sub".into(), user.into());
            expiry(&e, &mut claims);
            if let Some(i) = info {
                claims.insert("info".into(), json_arg("info", &i)?);
            }
            if !channels.is_empty() {
                claims.insert("channels".into(), channels.into());
            }
            if let Some(m) = meta {
                let m = json_arg("meta", &m)?;
                if !m.is_object() {
                    return Err(Error::Usage("--meta must be a JSON object".into()));
                }
                claims.insert("meta".into(), m);
            }
            if let Some(x) = expire_at {
                claims.insert("expire_at".into(), x.into());
            }
            token::jwt(&key, &claims)
        }
        TokenCmd::Subscribe { user, channel, expiry: e, info, secret: s } => {
            let key = secret(&s)?;
            let mut claims = Map::new();
            claims.insert("sub".into(), user.into());
            claims.insert("channel".into(), channel.into());
            expiry(&e, &mut claims);
            if let Some(i) = info {
                claims.insert("info".into(), json_arg("info", &i)?);
            }
            token::jwt(&key, &claims)
        }
        TokenCmd::Check { token: t, secret: s } => match token::verify(&secret(&s)?, &t, token::now()) {
            Ok(claims) => serde_json::to_string_pretty(&claims).expect("JSON"),
            Err(e) => return Err(Error::Rejected(format!("invalid token: {e}"))),
        },
    })
}
