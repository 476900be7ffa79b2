//! Manifests: YAML files in, a validated [`Manifest`] (commands with their
//! manifest locations, a settings layer from `server:` and `defaults:`) or
//! every [`Problem`] out. Nothing here touches the network.
//!
//! - `load`: reading the inputs and the one validation pass
//!   (large manifests parsed in parts on every core, equal to one part);
//! - `document`: top-level keys, `vars:`, `server:`, `defaults:`;
//! - `command` and `fields`: one list item against the method table;
//! - `check`: the walker that records problems; [`diagnostic`]: how they
//!   render; [`interpolate`]: `${NAME}`; [`schema`]: the JSON Schema;
//! - [`yaml`]: the only code that knows the YAML crate.

mod check;
mod command;
pub mod diagnostic;
mod document;
#[cfg(test)]
mod equivalence;
mod fields;
pub mod interpolate;
mod load;
pub mod schema;
pub mod steps;
pub mod yaml;

use std::collections::HashMap;

use serde_json::value::RawValue;
use serde_json::{Map, Value as Json};

pub use check::parse_duration;
pub use command::single as check_call;
pub use diagnostic::{Level, Problem, Source};
pub use load::{Input, load, load_text};
pub use yaml::Span;

use crate::methods::Method;
use crate::protocol::Protocol;
use crate::settings::Layer;

/// Largest manifest file read (bounded memory on hostile input).
pub const MAX_MANIFEST_BYTES: u64 = 256 * 1024 * 1024;

/// One server-API command, validated and expanded.
#[derive(Debug, Clone)]
pub struct Command {
    /// Position after `for_each` expansion, from 0, across all manifests.
    pub index: usize,
    /// Index into [`Manifest::sources`].
    pub manifest: usize,
    /// Byte offset of the list item in its manifest.
    pub offset: usize,
    /// 1-based line where the list item starts.
    pub line: usize,
    /// The command's `name:` label.
    pub name: Option<String>,
    /// The method as sent on the manifest's protocol.
    pub(crate) method: &'static Method,
    /// The method's request object exactly as it will be sent: compact JSON,
    /// keys in manifest order (a derived idempotency key is added when sent).
    /// Kept as text, not as a tree: a command costs its JSON's size in memory.
    pub params: Box<RawValue>,
    /// The fields of `params` that lanes and reports read.
    pub target: Target,
    /// A `wait` step, or checks, repeats and saves (SPEC §3.1).
    pub(crate) steps: Option<Box<steps::Steps>>,
}

impl Command {
    /// The method's name as sent (`stats` for a v1 `info`; `wait` for a wait step).
    pub fn method_name(&self) -> &'static str {
        self.method.name
    }

    /// A `wait:` step (a barrier and a pause), not a server command.
    pub fn is_wait(&self) -> bool {
        self.steps.as_ref().is_some_and(|s| s.wait.is_some())
    }

    /// `params` as a map (decoded on demand).
    pub fn params_map(&self) -> Map<String, Json> {
        serde_json::from_str(self.params.get()).expect("params are a JSON object")
    }
}

/// What a command acts on, lifted out of its params as given (empty strings
/// included): channels, the user, the connection.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Target {
    /// `channel`.
    pub channel: Option<String>,
    /// `channels` (broadcast).
    pub channels: Option<Vec<String>>,
    /// `user`.
    pub user: Option<String>,
    /// `client` (a connection id).
    pub client: Option<String>,
    /// `session`.
    pub session: Option<String>,
    /// The manifest set the command's own `idempotency_key`.
    pub idempotency_key: bool,
}

impl Target {
    fn of(params: &Map<String, Json>) -> Self {
        let s = |k: &str| params.get(k).and_then(Json::as_str).map(str::to_owned);
        Target {
            channel: s("channel"),
            channels: params
                .get("channels")
                .and_then(Json::as_array)
                .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect()),
            user: s("user"),
            client: s("client"),
            session: s("session"),
            idempotency_key: params.contains_key("idempotency_key"),
        }
    }
}

/// A validated run: every manifest's commands in order.
#[derive(Debug)]
pub struct Manifest {
    /// The manifests' texts, in order ([`Command::manifest`] indexes them).
    pub sources: Vec<Source>,
    /// `server:` and `defaults:` (the first manifest that sets a key wins).
    pub(crate) settings: Layer,
    /// Every command after `for_each` expansion, in order.
    pub commands: Vec<Command>,
    /// Problems that do not stop a run.
    pub warnings: Vec<Problem>,
    /// The protocol the commands were validated for.
    pub protocol: Protocol,
}

/// What loading needs from outside the files.
#[derive(Debug, Default, Clone)]
pub struct LoadOptions {
    /// `--var NAME=VALUE`, overriding `vars:`.
    pub vars: HashMap<String, String>,
    /// The environment seen by `${NAME}` (an empty variable counts as unset).
    pub env: HashMap<String, String>,
    /// The protocol named by a flag or the profile (wins over the manifest).
    pub protocol: Option<Protocol>,
    /// The protocol a profile implies (loses to the manifest).
    pub fallback_protocol: Option<Protocol>,
    /// Parts to cut each manifest into; `None`: by size and cores.
    #[doc(hidden)]
    pub parts: Option<usize>,
}
