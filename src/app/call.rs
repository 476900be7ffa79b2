//! `cent-run call METHOD [--params JSON|-]`: one command, validated against
//! the method table like a manifest command (nothing sent when it is
//! wrong), the reply printed as JSON.

use std::io::Read;

use super::output;
use crate::cli::ProfileArgs;
use crate::client::{Client, Error as ClientError};
use crate::error::Error;
use crate::executor::{Event, Exchange, Listener};
use crate::exit::Exit;
use crate::manifest::{self, Source};
use crate::resolve::{Connection, Mode};
use crate::settings::{Env, Layer};

/// Params as JSON text: `--params JSON`, `--params -` (stdin), or `{}`.
pub fn params_text(params: Option<&str>) -> Result<String, Error> {
    let text = match params {
        Some("-") => {
            let mut s = String::new();
            std::io::stdin()
                .read_to_string(&mut s)
                .map_err(|e| Error::Usage(format!("cannot read params from stdin: {e}")))?;
            s
        }
        Some(p) => p.to_owned(),
        None => String::new(),
    };
    Ok(if text.trim().is_empty() { "{}".to_owned() } else { text })
}

/// Validates and sends one command with the connection's client, printing
/// the reply (and, with `verbose`, the exchange).
pub fn call_with(conn: &Connection, method: &str, text: String, verbose: u8) -> Result<Exit, Error> {
    let source = Source::new("--params", text);
    let (m, params) = manifest::check_call(method, &source, conn.protocol)?;
    let client = Client::new(conn.client_config(&conn.urls[0])).map_err(|e| Error::Usage(e.to_string()))?;
    let log = (verbose > 0).then(|| output::Log { verbose, secrets: conn.secrets() });
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime");
    let reply = runtime.block_on(async {
        let body = crate::protocol::body(conn.protocol, [&crate::protocol::encode(conn.protocol, m.name, &params)]);
        let sent = client.exchange(body).await;
        if let Some(log) = &log {
            log.event(&Event::Answered(&Exchange::of(&sent, 1)));
        }
        client.replies(&[m.name], sent, false)
    });
    match reply.map(|mut r| r.remove(0)) {
        Ok(Ok(result)) => {
            output::line(&serde_json::to_string_pretty(&result).expect("JSON"));
            Ok(Exit::Ok)
        }
        Ok(Err(e)) => {
            output::line(&serde_json::to_string_pretty(&serde_json::json!({"error": e})).expect("JSON"));
            Err(Error::Rejected(format!("server error: {e}")))
        }
        Err(ClientError::Config(e)) => Err(Error::Usage(e)),
        // The server refused the request (HTTP 3xx/4xx): nothing was applied.
        Err(ClientError::Transport { error: t, .. }) if !t.retryable() => {
            Err(Error::Rejected(format!("request failed: {t}")))
        }
        Err(e) => Err(Error::Transport(e.to_string())),
    }
}

pub fn call(method: &str, params: Option<&str>, flags: Layer, profile: &ProfileArgs, env: &Env) -> Result<Exit, Error> {
    let verbose = super::outputs::Outputs::new(&flags, env).verbose;
    let settings = super::sources(flags, profile, env)?.settle(&Layer::default(), Mode::Run)?;
    call_with(&settings.connection, method, params_text(params)?, verbose)
}
