//! cent-run: drive a Centrifugo real-time server through its server HTTP API.
//!
//! The library offers three things:
//!
//! - [`client`]: a server-API client for all three server generations — v5/v6
//!   (`api`), v2–v4 (`legacy`) and v1 (HMAC-signed) — with the original
//!   `cent` library's batch add/send, errors that tell transport from server
//!   failures and say whether a retry is safe, and every command checked
//!   against the method table before it is sent. For general-purpose code
//!   against v5/v6 servers, the official Centrifugo SDK (crate `cent`) is the
//!   typed alternative; this crate adds v1–v4 servers and v1 signs.
//! - [`token`]: the v1 connection tokens and signs (found in no other crate),
//!   and connection and subscription JWTs (HS256/384/512, RS256, ES256) signed
//!   with the official SDK's token module and checked as Centrifugo checks them.
//! - [`runner`]: the `cent-run` runner as a library — load and validate YAML
//!   manifests (every problem located), run them over a client with lanes,
//!   batches and safe retries, and get one outcome per command.
//!
//! The `cent-run` and `cent` command-line tools are built with the `cli`
//! feature (on by default); a library user can turn it off to leave out the
//! argument parser, the diagnostics renderer, the progress bar and the
//! reports.
#![warn(missing_docs)]
#![warn(unreachable_pub)]
// Without the tools, the parts only they use (settings, --state, plans)
// are compiled but idle.
#![cfg_attr(not(feature = "cli"), allow(dead_code, unused_imports))]

pub mod client;
pub mod runner;
pub mod token;

mod cores;
mod diagnostic;
mod duration;
mod executor;
mod manifest;
mod methods;
mod protocol;
mod redact;
mod resolve;
mod server_config;
mod settings;

#[cfg(feature = "cli")]
#[doc(hidden)]
pub mod app;
#[cfg(feature = "cli")]
mod cli;
#[cfg(feature = "cli")]
mod error;
#[cfg(feature = "cli")]
mod exit;
#[cfg(feature = "cli")]
mod report;

/// Internals the fuzz targets and the hostile-input tests drive directly.
#[doc(hidden)]
pub mod internals {
    pub use crate::client::endpoint;
    pub use crate::protocol::{body, decode, encode};
    pub use crate::settings::parse_profile;

    /// `docs/settings.md`, rendered from the settings table.
    pub fn settings_reference() -> String {
        crate::settings::table::reference()
    }

    /// `docs/methods.md`, rendered from the method table.
    pub fn methods_reference() -> String {
        crate::methods::reference::reference()
    }

    /// The method table's own name for `name` (a `&'static str`).
    pub fn method_name(name: &str) -> Option<&'static str> {
        crate::methods::lookup(name).map(|m| m.name)
    }
}

#[cfg(test)]
mod testutil;
