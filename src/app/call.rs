//! `cent-run call METHOD [--params JSON|-]`: one command, the reply as JSON.

use std::io::Read;

use crate::cli::ConnArgs;
use crate::client::{Client, Error};
use crate::config;
use crate::exit;

/// Reads params: `--params JSON`, `--params -` (stdin), or `{}`.
pub fn read_params(params: Option<&str>) -> Result<serde_json::Map<String, serde_json::Value>, String> {
    let text = match params {
        Some("-") => {
            let mut s = String::new();
            std::io::stdin().read_to_string(&mut s).map_err(|e| format!("cannot read params from stdin: {e}"))?;
            s
        }
        Some(p) => p.to_owned(),
        None => "{}".to_owned(),
    };
    let text = if text.trim().is_empty() { "{}" } else { text.trim() };
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(serde_json::Value::Object(m)) => Ok(m),
        Ok(_) => Err("params must be a JSON object".into()),
        Err(e) => Err(format!("params are not valid JSON: {e}")),
    }
}

/// Sends one command with `client` and prints the reply; returns the exit code.
pub fn call_with(
    client: &Client,
    method: &str,
    params: serde_json::Map<String, serde_json::Value>,
    secrets: &[String],
) -> u8 {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime");
    match runtime.block_on(client.call(method, params)) {
        Ok(reply) => {
            println!("{}", config::redact(&serde_json::to_string_pretty(&reply).expect("JSON"), secrets));
            exit::OK
        }
        Err(Error::Server(e)) => {
            println!("{}", serde_json::to_string_pretty(&serde_json::json!({"error": e})).expect("JSON"));
            super::error(&format!("server error: {e}"));
            exit::REJECTED
        }
        Err(Error::Config(e)) => {
            super::error(&config::redact(&e, secrets));
            exit::INVALID
        }
        // The server refused the request (HTTP 4xx): nothing was applied.
        Err(Error::Transport(t)) if !t.retryable() => {
            super::error(&config::redact(&format!("request failed: {t}"), secrets));
            exit::REJECTED
        }
        Err(e) => {
            super::error(&config::redact(&e.to_string(), secrets));
            exit::TRANSPORT
        }
    }
}

pub fn call(method: &str, params: Option<&str>, conn: &ConnArgs, verbose: u8) -> u8 {
    let profile = match super::profile(conn) {
        Ok(p) => p,
        Err(e) => {
            super::error(&e.to_string());
            return exit::INVALID;
        }
    };
    let Some(m) = crate::manifest::methods::lookup(method) else {
        let hint = crate::manifest::diagnostic::did_you_mean(method, crate::manifest::methods::names())
            .map_or(String::new(), |s| format!(" (did you mean `{s}`?)"));
        super::error(&format!("unknown method `{method}`{hint}"));
        return exit::INVALID;
    };
    let params = match read_params(params) {
        Ok(p) => p,
        Err(e) => {
            super::error(&e);
            return exit::INVALID;
        }
    };
    let flags = super::connection_flags(conn);
    let protocol = flags.protocol.or(profile.as_ref().and_then(|p| p.implied_protocol())).unwrap_or_default();
    let connection = config::resolve(&flags, &Default::default(), profile.as_ref(), protocol);
    if let Some(missing) = connection.missing_credential() {
        super::error(missing);
        return exit::INVALID;
    }
    match super::client(&connection, verbose) {
        Ok(client) => call_with(&client, m.name, params, &connection.secrets()),
        Err(code) => code,
    }
}
