//! The library client: the original `cent` library's API in Rust.
//!
//! [`Client`] sends commands over any of the three protocols; one
//! [`Error`] type tells a transport failure (the original `RequestException`)
//! from a server error reply (`ResponseError`). [`Batch`] is the original's
//! `add`/`send`: many commands, one request, one reply per command.
//!
//! Against a server:
//!
//! ```no_run
//! # async fn demo() -> Result<(), cent_run::client::Error> {
//! use cent_run::client::{Client, ClientConfig};
//! let client = Client::new(ClientConfig::api("http://localhost:8000", "api-key"))?;
//! client.publish("news", &serde_json::json!({"text": "hello"})).await?;
//! let history = client.history("news", 10).await?;
//! # Ok(()) }
//! ```
//!
//! Any transport can carry the requests (the original's `send_func`); this
//! one answers from memory, so the example runs as a test:
//!
//! ```
//! use std::{future::Future, pin::Pin, sync::Arc};
//! use cent_run::client::*;
//!
//! struct Canned;
//! impl Transport for Canned {
//!     fn post<'a>(&'a self, req: &'a HttpRequest)
//!         -> Pin<Box<dyn Future<Output = Result<HttpResponse, TransportError>> + Send + 'a>> {
//!         assert_eq!(req.url, "http://localhost:8000/api/batch");
//!         let ok = r#"{"publish":{"offset":7,"epoch":"kTbX"}}"#;
//!         let err = r#"{"error":{"code":102,"message":"unknown channel"}}"#;
//!         // One reply per command: ok for `news`, 102 for anything else.
//!         let text = String::from_utf8_lossy(&req.body);
//!         let replies: Vec<&str> = text.split("{\"publish\":").skip(1)
//!             .map(|c| if c.contains("\"news\"") { ok } else { err }).collect();
//!         let body = format!(r#"{{"replies":[{}]}}"#, replies.join(","));
//!         Box::pin(async move { Ok(HttpResponse { status: 200, body: body.into_bytes() }) })
//!     }
//! }
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let client = Client::with_transport(ClientConfig::api("http://localhost:8000/api/", "key"), Arc::new(Canned));
//! let mut batch = client.batch();
//! batch.add("publish", serde_json::json!({"channel": "news", "data": {"n": 1}})).unwrap();
//! batch.add("publish", serde_json::json!({"channel": "nope:x", "data": {"n": 2}})).unwrap();
//! let replies = batch.send().await.unwrap();          // one reply per command
//! assert_eq!(replies[0].as_ref().unwrap()["offset"], 7);
//! assert_eq!(replies[1].as_ref().unwrap_err().code, Some(102));
//! // A single call returns the result, or turns an error reply into Error::Server.
//! assert_eq!(client.publish("news", &1).await.unwrap()["epoch"], "kTbX");
//! let err = client.publish("nope:x", &1).await.unwrap_err();
//! assert!(matches!(err, Error::Server(ref e) if e.code == Some(102)));
//! # });
//! ```

mod transport;

use std::sync::Arc;
use std::time::{Duration, Instant};

use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde_json::{Map, Value as Json};

use crate::protocol::{self, ApiError, DecodeError, Encoded, Protocol, Reply};
use crate::redact::Secrets;
use crate::token;
pub use transport::{HttpRequest, HttpResponse, ReqwestTransport, Transport, TransportError, TransportErrorKind};

/// How to reach and authenticate to a server.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    pub url: String,
    pub protocol: Protocol,
    pub api_key: Option<SecretString>,
    /// HMAC secret for protocol v1.
    pub secret: Option<SecretString>,
    pub timeout: Duration,
    /// Do not verify TLS certificates.
    pub insecure_tls: bool,
    /// Extra CA certificate (PEM) to trust.
    pub cacert: Option<std::path::PathBuf>,
    /// v1 only: send no `X-API-Sign` (the original's `insecure_api`).
    pub unsigned: bool,
}

impl ClientConfig {
    /// Modern server (v5/v6) with an API key.
    pub fn api(url: impl Into<String>, api_key: impl Into<String>) -> Self {
        ClientConfig {
            url: url.into(),
            protocol: Protocol::Api,
            api_key: Some(SecretString::from(api_key.into())),
            secret: None,
            timeout: Duration::from_secs(10),
            insecure_tls: false,
            cacert: None,
            unsigned: false,
        }
    }

    /// Centrifugo v1 with the project secret (HMAC-signed requests).
    pub fn v1(url: impl Into<String>, secret: impl Into<String>) -> Self {
        ClientConfig {
            protocol: Protocol::V1,
            api_key: None,
            secret: Some(SecretString::from(secret.into())),
            ..ClientConfig::api(url, "")
        }
    }
}

/// What went wrong with a call.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request did not get a usable HTTP answer (the original's RequestException).
    #[error("request failed: {0}")]
    Transport(#[from] TransportError),
    /// The server answered, but not with replies we can read.
    #[error("unreadable response: {0}")]
    Decode(#[from] DecodeError),
    /// The server answered the command with an error (the original's ResponseError).
    #[error("server error: {0}")]
    Server(ApiError),
    /// The client was configured wrongly (bad URL, unreadable CA file...).
    #[error("{0}")]
    Config(String),
}

impl Error {
    pub fn is_transport(&self) -> bool {
        matches!(self, Error::Transport(_) | Error::Decode(_))
    }
}

/// A request and what came back, before the replies are read.
pub(crate) struct Sent {
    pub request: HttpRequest,
    pub response: Result<HttpResponse, TransportError>,
    pub elapsed: Duration,
}

/// A server-API client. Cheap to clone; clones share one connection pool.
#[derive(Clone)]
pub struct Client {
    protocol: Protocol,
    endpoint: String,
    api_key: Option<SecretString>,
    secret: Option<SecretString>,
    unsigned: bool,
    transport: Arc<dyn Transport>,
    /// Its own key and secret, kept out of every error and reply it returns.
    secrets: Secrets,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("protocol", &self.protocol)
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client over HTTP (reqwest, rustls). The URL must be an absolute
    /// `http(s)://` URL with a host.
    pub fn new(config: ClientConfig) -> Result<Self, Error> {
        protocol::check_url(&config.url).map_err(|e| Error::Config(format!("{e} ({})", e.hint)))?;
        let transport = ReqwestTransport::new(config.timeout, config.insecure_tls, config.cacert.as_deref())?;
        Ok(Self::with_transport(config, Arc::new(transport)))
    }

    /// A client over any transport (the original's `send_func`).
    pub fn with_transport(config: ClientConfig, transport: Arc<dyn Transport>) -> Self {
        let secrets = Secrets::new([&config.api_key, &config.secret].into_iter().flatten().map(|s| s.expose_secret()));
        Client {
            protocol: config.protocol,
            endpoint: protocol::endpoint(&config.url, config.protocol),
            api_key: config.api_key,
            secret: config.secret,
            unsigned: config.unsigned,
            transport,
            secrets,
        }
    }

    /// The protocol this client speaks.
    pub fn protocol(&self) -> Protocol {
        self.protocol
    }

    /// The URL requests are posted to.
    pub(crate) fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The request a batch body makes: URL, auth headers (secrets as `***`
    /// when `redact`, for `plan`), body.
    pub(crate) fn request(&self, body: Vec<u8>, redact: bool) -> HttpRequest {
        let mut headers = vec![("Content-Type".to_owned(), "application/json".to_owned())];
        let shown = |s: &SecretString| if redact { "***".to_owned() } else { s.expose_secret().to_owned() };
        match self.protocol {
            Protocol::Api => {
                if let Some(k) = &self.api_key {
                    headers.push(("X-API-Key".into(), shown(k)));
                }
            }
            Protocol::Legacy => {
                if let Some(k) = &self.api_key {
                    headers.push(("Authorization".into(), format!("apikey {}", shown(k))));
                }
            }
            Protocol::V1 => {
                let sign = match (&self.secret, self.unsigned) {
                    (Some(s), false) => token::api_sign(s.expose_secret().as_bytes(), &body),
                    _ => String::new(),
                };
                headers.push(("X-API-Sign".into(), sign));
            }
        }
        HttpRequest { url: self.endpoint.clone(), headers, body: body.into() }
    }

    /// Posts one request body; what came back is read by [`Client::replies`].
    pub(crate) async fn exchange(&self, body: Vec<u8>) -> Sent {
        let request = self.request(body, false);
        let started = Instant::now();
        let response = self.transport.post(&request).await;
        Sent { request, response, elapsed: started.elapsed() }
    }

    /// One reply per command of an exchange (`methods` in order), with this
    /// client's secrets kept out of every message and result.
    pub(crate) fn replies(&self, methods: &[&str], sent: Sent) -> Result<Vec<Reply>, Error> {
        let redact = |text: &str| self.secrets.redact(text).into_owned();
        let response = sent.response.map_err(|mut e| {
            e.message = redact(&e.message);
            Error::Transport(e)
        })?;
        if response.status != 200 {
            return Err(Error::Transport(TransportError::status(&response, &redact)));
        }
        let mut replies = protocol::decode(self.protocol, methods, &response.body)?;
        if !self.secrets.is_empty() {
            for r in &mut replies {
                match r {
                    Ok(result) => self.secrets.redact_json(result),
                    Err(e) => e.message = self.secrets.redact(&e.message).into_owned(),
                }
            }
        }
        Ok(replies)
    }

    /// Sends pre-encoded commands in one request; one reply per command.
    pub(crate) async fn send_encoded(&self, cmds: &[&Encoded]) -> Result<Vec<Reply>, Error> {
        let body = protocol::body(self.protocol, cmds.iter().copied());
        let methods: Vec<&str> = cmds.iter().map(|c| c.method).collect();
        let sent = self.exchange(body).await;
        self.replies(&methods, sent)
    }

    /// Sends one command and returns its result.
    pub async fn call(&self, method: &str, params: impl Serialize) -> Result<Json, Error> {
        let mut batch = self.batch();
        batch.add(method, params)?;
        let mut replies = batch.send().await?;
        replies.pop().expect("one reply per command").map_err(Error::Server)
    }

    /// Many commands, one request (the original's `add`/`send`).
    pub fn batch(&self) -> Batch<'_> {
        Batch { client: self, commands: Vec::new() }
    }

    pub async fn publish(&self, channel: &str, data: &impl Serialize) -> Result<Json, Error> {
        self.call("publish", obj([("channel", Json::from(channel)), ("data", to_json(data)?)])).await
    }

    pub async fn broadcast(&self, channels: &[&str], data: &impl Serialize) -> Result<Json, Error> {
        self.call("broadcast", obj([("channels", Json::from(channels.to_vec())), ("data", to_json(data)?)])).await
    }

    pub async fn subscribe(&self, user: &str, channel: &str) -> Result<Json, Error> {
        self.call("subscribe", obj([("user", user.into()), ("channel", channel.into())])).await
    }

    /// Unsubscribes a user; `channel = None` means from every channel.
    pub async fn unsubscribe(&self, user: &str, channel: Option<&str>) -> Result<Json, Error> {
        self.call("unsubscribe", obj([("user", user.into()), ("channel", channel.unwrap_or("").into())])).await
    }

    pub async fn disconnect(&self, user: &str) -> Result<Json, Error> {
        self.call("disconnect", obj([("user", user.into())])).await
    }

    pub async fn refresh(&self, user: &str) -> Result<Json, Error> {
        self.call("refresh", obj([("user", user.into())])).await
    }

    /// Publications of a channel; `limit = -1` for all kept ones.
    pub async fn history(&self, channel: &str, limit: i64) -> Result<Json, Error> {
        let mut p = obj([("channel", channel.into())]);
        if self.protocol != Protocol::V1 {
            p.insert("limit".into(), limit.into());
        }
        self.call("history", p).await
    }

    pub async fn history_remove(&self, channel: &str) -> Result<Json, Error> {
        self.call("history_remove", obj([("channel", channel.into())])).await
    }

    pub async fn presence(&self, channel: &str) -> Result<Json, Error> {
        self.call("presence", obj([("channel", channel.into())])).await
    }

    pub async fn presence_stats(&self, channel: &str) -> Result<Json, Error> {
        self.call("presence_stats", obj([("channel", channel.into())])).await
    }

    pub async fn channels(&self, pattern: Option<&str>) -> Result<Json, Error> {
        let p = pattern.map_or_else(Map::new, |p| obj([("pattern", p.into())]));
        self.call("channels", p).await
    }

    /// Server statistics: `info` on modern servers, `stats` on v1.
    pub async fn info(&self) -> Result<Json, Error> {
        self.call("info", Map::new()).await
    }
}

/// Commands collected for one request.
pub struct Batch<'c> {
    client: &'c Client,
    commands: Vec<Encoded>,
}

impl Batch<'_> {
    /// Adds a command; params are any serialisable object. A method the
    /// protocol names otherwise (`info` is `stats` on v1) is sent by that name.
    pub fn add(&mut self, method: &str, params: impl Serialize) -> Result<&mut Self, Error> {
        let m = crate::methods::lookup(method).ok_or_else(|| Error::Config(format!("unknown method `{method}`")))?;
        let m = crate::methods::for_protocol(m, self.client.protocol)
            .map_err(|e| Error::Config(format!("{} ({})", e.message, e.help)))?;
        let Json::Object(params) = to_json(&params)? else {
            return Err(Error::Config("params must be a JSON object".into()));
        };
        self.commands.push(protocol::encode(self.client.protocol, m.name, &params));
        Ok(self)
    }

    pub fn len(&self) -> usize {
        self.commands.len()
    }

    pub fn is_empty(&self) -> bool {
        self.commands.is_empty()
    }

    /// Sends everything added in one request and clears the batch.
    pub async fn send(&mut self) -> Result<Vec<Reply>, Error> {
        let cmds: Vec<&Encoded> = self.commands.iter().collect();
        let replies = self.client.send_encoded(&cmds).await?;
        self.commands.clear();
        Ok(replies)
    }
}

fn obj<const N: usize>(pairs: [(&str, Json); N]) -> Map<String, Json> {
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

fn to_json(value: &(impl Serialize + ?Sized)) -> Result<Json, Error> {
    serde_json::to_value(value).map_err(|e| Error::Config(format!("cannot serialise data: {e}")))
}
