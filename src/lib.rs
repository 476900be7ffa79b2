//! cent-run: drive a Centrifugo server through its server HTTP API.
//!
//! Data flows one way: [`manifest`] (YAML text → validated commands with
//! their locations) → [`executor`] (lanes, batches, retries over a
//! [`client::Client`]) → [`report`] (table, JSON, JUnit, CI annotations).
//! [`token`] has the v1 signs and HS256 JWT helpers; [`config`] reads
//! `~/.centrc` profiles; [`protocol`] holds the three wire formats.

pub mod app;
pub mod cli;
pub mod client;
pub mod config;
pub mod executor;
pub mod exit;
pub mod manifest;
pub mod protocol;
pub mod report;
pub mod token;
