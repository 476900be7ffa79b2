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

use std::borrow::Cow;

use serde_json::{Map, Value as Json};

pub use crate::diagnostic::Span;
pub use crate::diagnostic::{Level, Problem, Source};
pub use command::single as check_call;
pub use load::{Input, load, load_text};

use crate::methods::Method;
use crate::protocol::Protocol;
use crate::settings::Layer;

/// Largest manifest file read (bounded memory on hostile input).
pub const MAX_MANIFEST_BYTES: u64 = 256 * 1024 * 1024;

/// One server-API command, validated and expanded. Compact: a million of
/// them are a million `for_each` items, so a command is its params' JSON
/// text and a few numbers; what it targets is read from the text on demand.
#[derive(Debug, Clone)]
pub struct Command {
    pub(crate) index: u32,
    pub(crate) manifest: u32,
    pub(crate) offset: u32,
    pub(crate) line: u32,
    pub(crate) name: Option<Box<str>>,
    /// The method as sent on the manifest's protocol.
    pub(crate) method: &'static Method,
    /// The method's request object exactly as it will be sent: compact JSON,
    /// keys in manifest order (a derived idempotency key is added when sent).
    pub(crate) params: Box<str>,
    /// A `wait` step, or checks, repeats and saves (SPEC §3.1).
    pub(crate) steps: Option<std::sync::Arc<steps::Steps>>,
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

    /// Position after `for_each` expansion, from 0, across all manifests.
    pub fn index(&self) -> usize {
        self.index as usize
    }

    /// Its manifest: an index into [`Manifest::sources`].
    pub fn manifest(&self) -> usize {
        self.manifest as usize
    }

    /// Byte offset of its list item in its manifest.
    pub fn offset(&self) -> usize {
        self.offset as usize
    }

    /// 1-based line where its list item starts.
    pub fn line(&self) -> usize {
        self.line as usize
    }

    /// Its `name:` label.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// The params as they will be sent: compact JSON (a derived
    /// idempotency key is added when sent).
    pub fn params(&self) -> &str {
        &self.params
    }

    /// `params` as a map (decoded on demand).
    pub fn params_map(&self) -> Map<String, Json> {
        serde_json::from_str(&self.params).expect("params are a JSON object")
    }

    /// What the command acts on.
    pub fn target(&self) -> Target {
        let t = self.target_ref();
        let own = |v: Option<Cow<'_, str>>| v.map(Cow::into_owned);
        Target {
            channel: own(t.channel),
            channels: t.channels.map(|cs| cs.into_iter().map(Cow::into_owned).collect()),
            user: own(t.user),
            client: own(t.client),
            session: own(t.session),
            idempotency_key: t.idempotency_key.is_some(),
        }
    }

    /// What the command acts on, borrowed from its params where it can be.
    pub(crate) fn target_ref(&self) -> TargetRef<'_> {
        serde_json::from_str(&self.params).unwrap_or_default()
    }
}

/// The fields lanes and reports read, borrowed from a command's params.
#[derive(Debug, Default, serde::Deserialize)]
pub(crate) struct TargetRef<'a> {
    #[serde(borrow, default)]
    pub channel: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub channels: Option<Vec<Cow<'a, str>>>,
    #[serde(borrow, default)]
    pub user: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub client: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub session: Option<Cow<'a, str>>,
    #[serde(default)]
    pub idempotency_key: Option<serde::de::IgnoredAny>,
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

/// A validated run: every manifest's commands in order.
#[derive(Debug)]
pub struct Manifest {
    /// The manifests' texts, in order ([`Command::manifest`] indexes them).
    pub sources: Vec<Source>,
    /// `server:` and `defaults:` (the first manifest that sets a key wins).
    pub(crate) settings: Layer,
    /// Every command after `for_each` expansion, in order (shared with a
    /// run: a million commands are not copied).
    pub commands: std::sync::Arc<Vec<Command>>,
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
