//! What went wrong with a call, and whether sending it again is safe.

use std::fmt;

use super::transport::{TransportError, TransportErrorKind};
pub use crate::protocol::{ApiError, DecodeError, Reply};

/// The server API's error codes (Centrifugo v5/v6, `internal/apiproto`).
pub mod codes {
    /// Internal server error (broker or engine failure): transient, worth a retry.
    pub const INTERNAL: u32 = 100;
    /// The channel's namespace is not configured.
    pub const UNKNOWN_CHANNEL: u32 = 102;
    /// Unknown method, any `rpc` method in OSS, a PRO-only method.
    pub const NOT_FOUND: u32 = 104;
    /// A required field is missing or a value is invalid.
    pub const BAD_REQUEST: u32 = 107;
    /// The feature is off for the channel (presence, history, shared poll).
    pub const NOT_AVAILABLE: u32 = 108;
    /// A `since` position cannot be served (wrong epoch, trimmed stream).
    pub const UNRECOVERABLE_POSITION: u32 = 112;
    /// Conflict (defined; not returned by OSS API paths).
    pub const CONFLICT: u32 = 113;
}

/// One channel of a broadcast and the server's answer for it.
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelReply {
    /// The channel.
    pub channel: String,
    /// Its result, or the error the server gave for it.
    pub reply: Reply,
}

/// A broadcast that failed on some of its channels; every channel's reply,
/// in the order the channels were given.
#[derive(Debug, Clone, PartialEq)]
pub struct BroadcastError {
    /// Every channel's reply.
    pub channels: Vec<ChannelReply>,
}

impl BroadcastError {
    /// The channels that failed, with their errors.
    pub fn failed(&self) -> impl Iterator<Item = (&str, &ApiError)> {
        self.channels.iter().filter_map(|c| c.reply.as_ref().err().map(|e| (c.channel.as_str(), e)))
    }
}

impl fmt::Display for BroadcastError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let failed: Vec<String> = self.failed().map(|(c, e)| format!("{c} ({e})")).collect();
        write!(f, "broadcast failed on {} of {} channels: {}", failed.len(), self.channels.len(), failed.join(", "))
    }
}

impl std::error::Error for BroadcastError {}

/// What went wrong with a call. [`Error::retry_safe`] says whether sending
/// the same call again cannot apply it twice.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The request did not get a usable HTTP answer (the original's
    /// `RequestException`): connection refused, timed out, reset, or an
    /// HTTP status other than 200 (redirects are never followed).
    #[error("request failed: {error}")]
    Transport {
        /// What happened.
        error: TransportError,
        /// Sending it again cannot apply it twice.
        retry_safe: bool,
    },
    /// The server answered 200, but not with replies that can be read.
    #[error("unreadable response: {error}")]
    Decode {
        /// Why the answer could not be read.
        error: DecodeError,
        /// Sending it again cannot apply it twice.
        retry_safe: bool,
    },
    /// The server refused the command (the original's `ResponseError`).
    #[error("server error: {error}")]
    Server {
        /// The server's code and message (see [`codes`]).
        error: ApiError,
        /// Sending it again may succeed and cannot apply it twice.
        retry_safe: bool,
    },
    /// A broadcast failed on some of its channels (the others were published).
    #[error("{0}")]
    Broadcast(BroadcastError),
    /// The client or the command is wrong (an invalid URL, an unknown
    /// method or field, a missing required field): nothing was sent.
    #[error("{0}")]
    Config(String),
}

impl Error {
    /// Whether sending the same call again cannot apply it twice: it never
    /// reached the server, or it only reads, or it carries an idempotency
    /// key the server honours (publish, broadcast on v5/v6) — and trying
    /// again may help (not for a refusal like `102 unknown channel`).
    pub fn retry_safe(&self) -> bool {
        match self {
            Error::Transport { retry_safe, .. }
            | Error::Decode { retry_safe, .. }
            | Error::Server { retry_safe, .. } => *retry_safe,
            Error::Broadcast(_) | Error::Config(_) => false,
        }
    }

    /// The server's error code, when the server refused the command.
    pub fn code(&self) -> Option<u32> {
        match self {
            Error::Server { error, .. } => error.code,
            _ => None,
        }
    }

    /// A transport or decoding failure (not an answer from the server about the command).
    pub fn is_transport(&self) -> bool {
        matches!(self, Error::Transport { .. } | Error::Decode { .. })
    }

    /// The server refused the API key (HTTP 401 or 403): nothing will
    /// succeed until the key is fixed.
    pub fn is_unauthorized(&self) -> bool {
        matches!(self, Error::Transport { error, .. } if matches!(error.kind, TransportErrorKind::Status(401 | 403)))
    }

    /// Classifies a failure of a call whose commands are `idempotent` (all
    /// reads, or keyed where the server honours keys).
    pub(crate) fn transport(error: TransportError, idempotent: bool) -> Self {
        let retry_safe = match error.kind {
            TransportErrorKind::Connect => true,
            TransportErrorKind::Tls => false,
            TransportErrorKind::Status(s) if s < 500 => false,
            _ => idempotent,
        };
        Error::Transport { error, retry_safe }
    }

    pub(crate) fn decode(error: DecodeError, idempotent: bool) -> Self {
        Error::Decode { error, retry_safe: idempotent }
    }

    pub(crate) fn server(error: ApiError, idempotent: bool) -> Self {
        let retry_safe = idempotent && error.retryable();
        Error::Server { error, retry_safe }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_safety_follows_what_reached_the_server_and_what_the_call_is() {
        let t = |kind| TransportError { kind, message: "x".into() };
        assert!(Error::transport(t(TransportErrorKind::Connect), false).retry_safe());
        assert!(!Error::transport(t(TransportErrorKind::Timeout), false).retry_safe());
        assert!(Error::transport(t(TransportErrorKind::Timeout), true).retry_safe());
        assert!(!Error::transport(t(TransportErrorKind::Status(401)), true).retry_safe());
        assert!(Error::transport(t(TransportErrorKind::Status(503)), true).retry_safe());
        let api = |code| ApiError { code: Some(code), message: "m".into() };
        assert!(Error::server(api(codes::INTERNAL), true).retry_safe());
        assert!(!Error::server(api(codes::UNKNOWN_CHANNEL), true).retry_safe());
        assert!(!Error::server(api(codes::INTERNAL), false).retry_safe());
        assert_eq!(Error::server(api(codes::BAD_REQUEST), true).code(), Some(107));
    }
}
