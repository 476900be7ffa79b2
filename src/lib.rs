//! cent-run: drive a Centrifugo server through its server HTTP API.
//!
//! Data flows one way: [`manifest`] (YAML text → validated commands with
//! their locations) → [`settings`] (flags, profile, environment and the
//! manifest settled once) → [`executor`] (lanes, batches, retries over a
//! [`client::Client`], typed run events) → [`report`] (table, JSON, JUnit,
//! CI annotations). [`methods`] is the one home of method facts; [`token`]
//! has the v1 signs and JWT helpers; [`protocol`] holds the three wire
//! formats; [`exit`] the exit-code table.

pub mod app;
pub mod cli;
pub mod client;
pub mod error;
pub mod executor;
pub mod exit;
pub mod manifest;
pub mod methods;
pub mod protocol;
pub mod redact;
pub mod report;
pub mod settings;
pub mod token;
