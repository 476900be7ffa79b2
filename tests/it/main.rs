//! Integration tests: one test binary (one link) with a module per area.
//! They spawn the real `cent-run` binary against a real Centrifugo started
//! by the harness, and check what the server now holds.

mod account;
mod cluster;
mod compose;
mod corpus;
mod examples_ci;
mod executor;
mod failures;
mod fields;
mod harness;
mod hostile;
mod house;
mod interrupt;
mod language;
mod library;
mod listen;
mod metrics;
mod operators;
mod precommit;
mod proxy;
mod reports;
mod run_basics;
mod scale;
mod schema;
mod seed;
mod server_config;
mod steps;
mod tokens;
mod truthful;
mod untrusted;
mod v1;
mod v1server;
