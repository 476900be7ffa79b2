//! The library client: the original `cent` library's API in Rust, for all
//! three server generations — v5/v6 (`api`), v2–v4 (`legacy`) and v1
//! (HMAC-signed). For general-purpose code against v5/v6 servers the
//! official Centrifugo SDK (crate `cent`) is the typed alternative; this
//! client adds v1–v4 servers and v1 signs.
//!
//! [`Client`] sends commands; every command is checked against the method
//! table before it is sent (unknown methods and fields, wrong types, missing
//! required fields are [`Error::Config`], nothing sent). One [`Error`] type
//! tells a transport failure (the original `RequestException`) from a server
//! error reply (`ResponseError`), and says whether a retry is safe.
//! [`Batch`] is the original's `add`/`send`: many commands, one request, one
//! reply per command; it owns its client, so it can move into a task.
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
//!         Box::pin(async move { Ok(HttpResponse { status: 200, body: body.into_bytes(), location: None }) })
//!     }
//! }
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let client = Client::with_transport(ClientConfig::api("http://localhost:8000/api/", "key"), Arc::new(Canned)).unwrap();
//! let mut batch = client.batch();
//! batch.add("publish", serde_json::json!({"channel": "news", "data": {"n": 1}})).unwrap();
//! batch.add("publish", serde_json::json!({"channel": "nope:x", "data": {"n": 2}})).unwrap();
//! let replies = batch.send().await.unwrap();          // one reply per command
//! assert_eq!(replies[0].as_ref().unwrap()["offset"], 7);
//! assert_eq!(replies[1].as_ref().unwrap_err().code, Some(102));
//! // A single call returns the result, or turns an error reply into Error::Server.
//! assert_eq!(client.publish("news", &1).await.unwrap()["epoch"], "kTbX");
//! let err = client.publish("nope:x", &1).await.unwrap_err();
//! assert_eq!(err.code(), Some(codes::UNKNOWN_CHANNEL));
//! assert!(!err.retry_safe(), "102 will not go away by itself");
//! # });
//! ```

mod error;
mod transport;

use std::sync::Arc;
use std::time::{Duration, Instant};

use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde_json::{Map, Value as Json};

pub use self::error::{ApiError, BroadcastError, ChannelReply, DecodeError, Error, Reply, codes};
pub use self::transport::{HttpRequest, HttpResponse, ReqwestTransport, Transport, TransportError, TransportErrorKind};
use crate::methods;
pub use crate::protocol::Protocol;
use crate::protocol::{self, Encoded};
use crate::redact::Secrets;
use crate::token;

/// How to reach and authenticate to a server.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// The server's address: `http://host:8000`, with or without `/api`.
    pub url: String,
    /// Which server generation to speak.
    pub protocol: Protocol,
    /// API key (`api`, `legacy`).
    pub api_key: Option<SecretString>,
    /// HMAC secret (`v1`).
    pub secret: Option<SecretString>,
    /// How long a call may take.
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

    /// Centrifugo v2–v4 with an API key (every command posted to `/api`).
    pub fn legacy(url: impl Into<String>, api_key: impl Into<String>) -> Self {
        ClientConfig { protocol: Protocol::Legacy, ..ClientConfig::api(url, api_key) }
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
    /// A timeout for this handle's calls, over the transport's.
    timeout: Option<Duration>,
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
        let plain = reqwest::Url::parse(config.url.trim()).is_ok_and(|u| u.scheme() == "http");
        let transport = match plain {
            true => ReqwestTransport::plain(config.timeout)?,
            false => ReqwestTransport::new(config.timeout, config.insecure_tls, config.cacert.as_deref())?,
        };
        Self::with_transport(config, Arc::new(transport))
    }

    /// A client over any transport (the original's `send_func`). The URL
    /// must be an absolute `http(s)://` URL with a host.
    pub fn with_transport(config: ClientConfig, transport: Arc<dyn Transport>) -> Result<Self, Error> {
        protocol::check_url(&config.url).map_err(|e| Error::Config(format!("{e} ({})", e.hint)))?;
        for (what, s) in [("API key", &config.api_key), ("secret", &config.secret)] {
            if let Some(i) = s.as_ref().and_then(|s| s.expose_secret().chars().position(char::is_control)) {
                return Err(Error::Config(format!(
                    "the {what} holds a control character at position {} (a newline read with it?)",
                    i + 1
                )));
            }
        }
        let secrets = Secrets::new([&config.api_key, &config.secret].into_iter().flatten().map(|s| s.expose_secret()));
        Ok(Client {
            protocol: config.protocol,
            endpoint: endpoint(&config.url, config.protocol),
            api_key: config.api_key,
            secret: config.secret,
            unsigned: config.unsigned,
            transport,
            timeout: None,
            secrets,
        })
    }

    /// The protocol this client speaks.
    pub fn protocol(&self) -> Protocol {
        self.protocol
    }

    /// A handle on the same connections whose calls time out after `timeout`.
    pub fn with_timeout(&self, timeout: Duration) -> Client {
        Client { timeout: Some(timeout), ..self.clone() }
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
        HttpRequest { url: self.endpoint.clone(), headers, body: body.into(), timeout: self.timeout }
    }

    /// Posts one request body; what came back is read by [`Client::replies`].
    pub(crate) async fn exchange(&self, body: Vec<u8>) -> Sent {
        let request = self.request(body, false);
        let started = Instant::now();
        let response = self.transport.post(&request).await;
        Sent { request, response, elapsed: started.elapsed() }
    }

    /// One reply per command of an exchange (`methods` in order).
    /// `idempotent`: sending the commands again cannot apply them twice.
    /// Replies are the server's, unchanged; this client's own key and
    /// secret are kept out of the transport errors it words.
    pub(crate) fn replies(&self, methods: &[&str], sent: Sent, idempotent: bool) -> Result<Vec<Reply>, Error> {
        let body = self.answered(sent, idempotent)?;
        protocol::decode(self.protocol, methods, &body).map_err(|e| Error::decode(e, idempotent))
    }

    /// [`Client::replies`], each result kept as the server's JSON text.
    pub(crate) fn raw_replies(
        &self,
        methods: &[&str],
        sent: Sent,
        idempotent: bool,
    ) -> Result<Vec<protocol::RawReply>, Error> {
        let body = self.answered(sent, idempotent)?;
        protocol::decode_raw(self.protocol, methods, &body).map_err(|e| Error::decode(e, idempotent))
    }

    /// The body of a 200 answer; any other, or none, as the error it is.
    fn answered(&self, sent: Sent, idempotent: bool) -> Result<Vec<u8>, Error> {
        let redact = |text: &str| self.secrets.redact(text).into_owned();
        let url = sent.request.url.clone();
        let response = sent.response.map_err(|mut e| {
            e.message = redact(&e.message);
            Error::transport(e, idempotent)
        })?;
        if response.status != 200 {
            let mut e = TransportError::status(&response, &redact);
            e.message = format!("{} from {url}", e.message);
            return Err(Error::transport(e, idempotent));
        }
        Ok(response.body)
    }

    /// Sends one command and returns its result. The method and params are
    /// checked against the method table first (nothing is sent when they
    /// are wrong).
    pub async fn call(&self, method: &str, params: impl Serialize) -> Result<Json, Error> {
        let mut batch = self.batch();
        batch.add(method, params)?;
        let idempotent = batch.idempotent();
        let mut replies = batch.send().await?;
        replies.pop().expect("one reply per command").map_err(|e| Error::server(e, idempotent))
    }

    /// Many commands, one request (the original's `add`/`send`).
    pub fn batch(&self) -> Batch {
        Batch { client: self.clone(), commands: Vec::new(), idempotent: true }
    }

    /// Publishes `data` into `channel`.
    pub async fn publish(&self, channel: &str, data: &impl Serialize) -> Result<Json, Error> {
        self.call("publish", obj([("channel", Json::from(channel)), ("data", to_json(data)?)])).await
    }

    /// Publishes with an idempotency key: the server applies it once for a
    /// key within its cache window (5 minutes), so a retry is safe (v5/v6).
    pub async fn publish_with_key(&self, channel: &str, data: &impl Serialize, key: &str) -> Result<Json, Error> {
        let params = obj([("channel", Json::from(channel)), ("data", to_json(data)?), ("idempotency_key", key.into())]);
        self.call("publish", params).await
    }

    /// Publishes `data` into every channel. Fails with
    /// [`Error::Broadcast`] — naming the failed channels and giving every
    /// channel's reply — when any channel failed.
    pub async fn broadcast(&self, channels: &[&str], data: &impl Serialize) -> Result<Json, Error> {
        let params = obj([("channels", Json::from(channels.to_vec())), ("data", to_json(data)?)]);
        self.broadcast_params(channels, params).await
    }

    /// [`Client::broadcast`] with an idempotency key (retries are safe on v5/v6).
    pub async fn broadcast_with_key(&self, channels: &[&str], data: &impl Serialize, key: &str) -> Result<Json, Error> {
        let params = obj([
            ("channels", Json::from(channels.to_vec())),
            ("data", to_json(data)?),
            ("idempotency_key", key.into()),
        ]);
        self.broadcast_params(channels, params).await
    }

    async fn broadcast_params(&self, channels: &[&str], params: Map<String, Json>) -> Result<Json, Error> {
        let result = self.call("broadcast", params).await?;
        // v1 servers answer a broadcast without per-channel detail.
        let Some(replies) = protocol::channel_replies(&result) else { return Ok(result) };
        let per_channel: Vec<ChannelReply> =
            channels.iter().zip(replies).map(|(c, reply)| ChannelReply { channel: (*c).to_owned(), reply }).collect();
        if per_channel.iter().any(|c| c.reply.is_err()) {
            return Err(Error::Broadcast(BroadcastError { channels: per_channel }));
        }
        Ok(result)
    }

    /// Subscribes the user's connections to a channel (server-side subscription).
    pub async fn subscribe(&self, user: &str, channel: &str) -> Result<Json, Error> {
        self.call("subscribe", obj([("user", user.into()), ("channel", channel.into())])).await
    }

    /// Unsubscribes the user's connections from a channel.
    pub async fn unsubscribe(&self, user: &str, channel: &str) -> Result<Json, Error> {
        self.call("unsubscribe", obj([("user", user.into()), ("channel", channel.into())])).await
    }

    /// v1 only: unsubscribes the user from every channel. On v5/v6 this is
    /// an error and nothing is sent: a channel is required there (without
    /// one the server pushes an unsubscribe client SDKs cannot handle).
    pub async fn unsubscribe_all(&self, user: &str) -> Result<Json, Error> {
        self.call("unsubscribe", obj([("user", user.into()), ("channel", "".into())])).await
    }

    /// Disconnects every connection of the user.
    pub async fn disconnect(&self, user: &str) -> Result<Json, Error> {
        self.call("disconnect", obj([("user", user.into())])).await
    }

    /// Refreshes the user's connections (makes them non-expiring).
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

    /// Removes a channel's history.
    pub async fn history_remove(&self, channel: &str) -> Result<Json, Error> {
        self.call("history_remove", obj([("channel", channel.into())])).await
    }

    /// The clients subscribed to a channel.
    pub async fn presence(&self, channel: &str) -> Result<Json, Error> {
        self.call("presence", obj([("channel", channel.into())])).await
    }

    /// How many clients and users are subscribed to a channel.
    pub async fn presence_stats(&self, channel: &str) -> Result<Json, Error> {
        self.call("presence_stats", obj([("channel", channel.into())])).await
    }

    /// Active channels, optionally matching a pattern.
    pub async fn channels(&self, pattern: Option<&str>) -> Result<Json, Error> {
        let p = pattern.map_or_else(Map::new, |p| obj([("pattern", p.into())]));
        self.call("channels", p).await
    }

    /// Server statistics: `info` on modern servers, `stats` on v1.
    pub async fn info(&self) -> Result<Json, Error> {
        self.call("info", Map::new()).await
    }
}

/// Commands collected for one request. It owns its client (a cheap clone),
/// so it can be built in one place and sent from a task.
pub struct Batch {
    client: Client,
    commands: Vec<Encoded>,
    /// Every command so far can be sent again without applying it twice.
    idempotent: bool,
}

impl std::fmt::Debug for Batch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let methods: Vec<&str> = self.commands.iter().map(|c| c.method).collect();
        f.debug_struct("Batch")
            .field("endpoint", &self.client.endpoint)
            .field("methods", &methods)
            .finish_non_exhaustive()
    }
}

impl Batch {
    /// Adds a command; params are any serialisable object. The method and
    /// params are checked against the method table for the client's
    /// protocol (unknown methods, misspelled fields, wrong types, missing
    /// required fields are [`Error::Config`]). A method the protocol names
    /// otherwise (`info` is `stats` on v1) is sent by that name.
    pub fn add(&mut self, method: &str, params: impl Serialize) -> Result<&mut Self, Error> {
        let protocol = self.client.protocol;
        let Some(m) = methods::lookup(method) else {
            let near = crate::diagnostic::did_you_mean(method, methods::names());
            let hint = near.map(|n| format!(" (did you mean `{n}`?)")).unwrap_or_default();
            return Err(Error::Config(format!("unknown method `{method}`{hint}")));
        };
        let m =
            methods::for_protocol(m, protocol).map_err(|no| Error::Config(format!("{} ({})", no.message, no.help)))?;
        let params = match serde_json::to_value(&params) {
            Ok(Json::Object(map)) => map,
            Ok(Json::Null) => Map::new(),
            Ok(_) => return Err(Error::Config(format!("{method}: params must be a JSON object"))),
            Err(e) => return Err(Error::Config(format!("cannot serialise params: {e}"))),
        };
        let problems: Vec<String> =
            methods::check::params(m, protocol, &params).into_iter().filter(|p| !p.warning).map(|p| p.text()).collect();
        if !problems.is_empty() {
            return Err(Error::Config(format!("{method}: {}", problems.join("; "))));
        }
        self.idempotent &=
            m.retry.resend_safe(self.client.protocol.has_idempotency() && params.contains_key("idempotency_key"));
        self.commands.push(protocol::encode(self.client.protocol, m.name, &params));
        Ok(self)
    }

    /// Commands added and not yet sent.
    pub fn len(&self) -> usize {
        self.commands.len()
    }

    /// No command added since the last send.
    pub fn is_empty(&self) -> bool {
        self.commands.is_empty()
    }

    /// Every command can be sent again without being applied twice.
    fn idempotent(&self) -> bool {
        self.idempotent
    }

    /// Sends everything added in one request; one reply per command, in
    /// order. The batch is empty afterwards, whatever the outcome: after an
    /// error, add the commands again to re-send them (an error's
    /// [`Error::retry_safe`] says whether that can apply any twice).
    pub async fn send(&mut self) -> Result<Vec<Reply>, Error> {
        let commands = std::mem::take(&mut self.commands);
        let idempotent = std::mem::replace(&mut self.idempotent, true);
        let body = protocol::body(self.client.protocol, &commands);
        let methods: Vec<&str> = commands.iter().map(|c| c.method).collect();
        let sent = self.client.exchange(body).await;
        self.client.replies(&methods, sent, idempotent)
    }
}

fn obj<const N: usize>(pairs: [(&str, Json); N]) -> Map<String, Json> {
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

fn to_json(value: &(impl Serialize + ?Sized)) -> Result<Json, Error> {
    serde_json::to_value(value).map_err(|e| Error::Config(format!("cannot serialise data: {e}")))
}

/// The server's base address with any trailing `/` and `/api` removed, as
/// the original library normalised it (`http://h:8000`, `http://h:8000/`,
/// `http://h:8000/api`, `http://h:8000/api/` are all the same server).
pub(crate) fn base_url(url: &str) -> &str {
    let u = url.trim().trim_end_matches('/');
    // The API path people copy from the docs (`/api/batch`, `/api/publish`)
    // is the same server.
    let u = match u.rsplit_once("/api/") {
        Some((base, method)) if method == "batch" || crate::methods::lookup(method).is_some() => base,
        _ => u,
    };
    u.strip_suffix("/api").unwrap_or(u).trim_end_matches('/')
}

/// The URL a batch of commands is posted to.
pub fn endpoint(url: &str, protocol: Protocol) -> String {
    let base = base_url(url);
    match protocol {
        Protocol::Api => format!("{base}/api/batch"),
        Protocol::Legacy => format!("{base}/api"),
        Protocol::V1 => format!("{base}/api/"),
    }
}

#[cfg(test)]
mod url_tests {
    use super::*;

    #[test]
    fn urls_normalise_like_the_original_library() {
        for u in [
            "http://h:8000",
            "http://h:8000/",
            "http://h:8000/api",
            "http://h:8000/api/",
            "http://h:8000/api/batch",
            "http://h:8000/api/publish/",
        ] {
            assert_eq!(endpoint(u, Protocol::V1), "http://h:8000/api/");
            assert_eq!(endpoint(u, Protocol::Api), "http://h:8000/api/batch");
            assert_eq!(endpoint(u, Protocol::Legacy), "http://h:8000/api");
        }
        // A gateway's own path that ends like one is not a method path.
        assert_eq!(endpoint("https://gw/api/centrifugo", Protocol::Api), "https://gw/api/centrifugo/api/batch");
    }
}
