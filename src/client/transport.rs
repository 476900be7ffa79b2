//! HTTP transports: a request (URL, headers, body bytes) in, a status and
//! body out, or a [`TransportError`] that says whether the request may have
//! reached the server (retry safety depends on it).

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use super::Error;

/// A request to post: URL, headers, body.
#[derive(Clone)]
pub struct HttpRequest {
    /// Where to post it.
    pub url: String,
    /// Header values may carry the API key: never log them.
    pub headers: Vec<(String, String)>,
    /// The body bytes (signed as they are on v1).
    pub body: bytes::Bytes,
    /// A timeout for this request, over the transport's own.
    pub timeout: Option<Duration>,
}

impl std::fmt::Debug for HttpRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpRequest")
            .field("url", &self.url)
            .field("body_len", &self.body.len())
            .finish_non_exhaustive()
    }
}

/// What came back.
#[derive(Debug, Clone, Default)]
pub struct HttpResponse {
    /// The HTTP status.
    pub status: u16,
    /// The body bytes.
    pub body: Vec<u8>,
    /// The `Location` header of a redirect (never followed).
    pub location: Option<String>,
}

/// What kind of transport failure happened (retry safety depends on it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportErrorKind {
    /// No connection was made: the request certainly did not reach the server.
    Connect,
    /// No answer in time: the server may or may not have applied the request.
    Timeout,
    /// The connection broke after the request was (maybe) sent.
    Broken,
    /// A non-200 HTTP status.
    Status(u16),
    /// The server's TLS certificate is not trusted (nothing was sent).
    Tls,
}

/// A request that got no usable answer.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct TransportError {
    /// What kind of failure.
    pub kind: TransportErrorKind,
    /// Its innermost cause (connection refused, timed out, certificate not trusted) and the URL.
    pub message: String,
}

impl TransportError {
    /// A non-200 answer. A redirect is never followed (the request carries
    /// the API key): it fails like a 4xx and says where it pointed.
    /// `redact` clears the server's text (the body, the location) of secrets.
    pub fn status(response: &HttpResponse, redact: &dyn Fn(&str) -> String) -> Self {
        let (status, body) = (response.status, &response.body);
        if (300..400).contains(&status) {
            let to = response.location.as_deref().map_or_else(|| "(no Location)".to_owned(), redact);
            return TransportError {
                kind: TransportErrorKind::Status(status),
                message: format!(
                    "HTTP {status} redirect to {to}: not followed (the API key must not be sent elsewhere); give the final URL"
                ),
            };
        }
        let text = redact(String::from_utf8_lossy(&body[..body.len().min(200)]).trim());
        let hint = match status {
            401 | 403 => " (wrong or missing API key)",
            404 => " (wrong URL or protocol for this server)",
            _ => "",
        };
        let message =
            if text.is_empty() { format!("HTTP {status}{hint}") } else { format!("HTTP {status}{hint}: {text}") };
        TransportError { kind: TransportErrorKind::Status(status), message }
    }

    /// A status that says the configuration is wrong, not the command: the
    /// API key (401, 403), the URL or protocol (404), a redirect (3xx).
    pub fn is_configuration(status: u16) -> bool {
        matches!(status, 300..=399 | 401 | 403 | 404)
    }

    /// Whether the server may have applied the request.
    pub fn maybe_applied(&self) -> bool {
        match self.kind {
            TransportErrorKind::Connect | TransportErrorKind::Tls => false,
            TransportErrorKind::Status(s) => s >= 500,
            _ => true,
        }
    }

    /// Whether trying again may help (connection trouble, timeouts, 5xx).
    pub fn retryable(&self) -> bool {
        match self.kind {
            TransportErrorKind::Status(s) => s >= 500,
            TransportErrorKind::Tls => false,
            _ => true,
        }
    }
}

/// Anything that can POST a request: reqwest by default, or a test double.
pub trait Transport: Send + Sync {
    /// Posts the request; an answer with any status, or why there was none.
    fn post<'a>(
        &'a self,
        request: &'a HttpRequest,
    ) -> Pin<Box<dyn Future<Output = Result<HttpResponse, TransportError>> + Send + 'a>>;
}

/// Largest response body read (a hostile server cannot exhaust memory).
pub(crate) const MAX_RESPONSE_BYTES: usize = 64 * 1024 * 1024;

/// The default transport: one shared reqwest client (rustls, HTTP/2,
/// connection pool), redirects never followed.
pub struct ReqwestTransport {
    http: reqwest::Client,
}

impl ReqwestTransport {
    /// A transport with a total `timeout` per request, TLS verification
    /// unless `insecure`, and an extra CA to trust.
    pub fn new(timeout: Duration, insecure: bool, cacert: Option<&std::path::Path>) -> Result<Self, Error> {
        let mut builder = builder(timeout).tls_danger_accept_invalid_certs(insecure);
        if let Some(path) = cacert {
            let pem = std::fs::read(path)
                .map_err(|e| Error::Config(format!("cannot read CA file {}: {e}", path.display())))?;
            let cert = reqwest::Certificate::from_pem(&pem)
                .map_err(|e| Error::Config(format!("invalid CA file {}: {e}", path.display())))?;
            builder = builder.tls_certs_merge([cert]);
        }
        Self::build(builder)
    }

    /// A transport for a plain `http://` server: it never speaks TLS (no
    /// redirect is followed), so the system's certificates are not read —
    /// 147 files, a third of what a run of one command cost.
    pub(crate) fn plain(timeout: Duration) -> Result<Self, Error> {
        Self::build(builder(timeout).tls_certs_only([]))
    }

    fn build(builder: reqwest::ClientBuilder) -> Result<Self, Error> {
        let http = builder.build().map_err(|e| Error::Config(format!("cannot build HTTP client: {e}")))?;
        Ok(ReqwestTransport { http })
    }
}

fn builder(timeout: Duration) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        // Centrifugo closes idle keep-alive connections after 30 s.
        .pool_idle_timeout(Duration::from_secs(20))
        // Never follow a redirect: the request carries the API key.
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("cent-run/", env!("CARGO_PKG_VERSION")))
}

fn classify(e: &reqwest::Error) -> TransportError {
    let kind = if e.is_connect() {
        TransportErrorKind::Connect
    } else if e.is_timeout() {
        TransportErrorKind::Timeout
    } else {
        TransportErrorKind::Broken
    };
    // The innermost cause says what happened (connection refused, timed
    // out, certificate not trusted); reqwest's own text only says that
    // sending failed. The URL follows (no secrets: keys travel in headers).
    let mut cause: &dyn std::error::Error = e;
    while let Some(inner) = cause.source() {
        cause = inner;
    }
    let text = cause.to_string();
    // rustls: "invalid peer certificate: UnknownIssuer" and the like.
    let kind = if text.contains("certificate") { TransportErrorKind::Tls } else { kind };
    let url = e.url().map_or(String::new(), |u| format!(" ({u})"));
    TransportError { kind, message: format!("{text}{url}") }
}

impl Transport for ReqwestTransport {
    fn post<'a>(
        &'a self,
        request: &'a HttpRequest,
    ) -> Pin<Box<dyn Future<Output = Result<HttpResponse, TransportError>> + Send + 'a>> {
        Box::pin(async move {
            let mut req = self.http.post(&request.url).body(request.body.clone());
            if let Some(t) = request.timeout {
                req = req.timeout(t);
            }
            for (name, value) in &request.headers {
                let mut v = reqwest::header::HeaderValue::from_str(value).map_err(|_| TransportError {
                    kind: TransportErrorKind::Connect,
                    message: format!("header {name} has characters HTTP cannot carry"),
                })?;
                v.set_sensitive(name != "Content-Type");
                req = req.header(name.as_str(), v);
            }
            let mut resp = req.send().await.map_err(|e| classify(&e))?;
            let status = resp.status().as_u16();
            let location = resp
                .headers()
                .get(reqwest::header::LOCATION)
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
            let mut body = Vec::new();
            while let Some(chunk) = resp.chunk().await.map_err(|e| classify(&e))? {
                if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
                    return Err(TransportError {
                        kind: TransportErrorKind::Broken,
                        message: format!("response body over {MAX_RESPONSE_BYTES} bytes"),
                    });
                }
                body.extend_from_slice(&chunk);
            }
            Ok(HttpResponse { status, body, location })
        })
    }
}
