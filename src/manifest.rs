//! Manifests: YAML files in, a validated [`Manifest`] (commands with their
//! manifest locations, a settings layer from `server:` and `defaults:`) or
//! every [`Problem`] out. Nothing here touches the network.
//!
//! - `load`: reading the inputs and the one validation pass
//!   (large manifests parsed in parts on every core, equal to one part);
//! - `document`: top-level keys, `vars:`, `server:`, `defaults:`;
//! - `command` and `fields`: one list item against the method table;
//!   `template`: a `for_each` checked once per kind of item;
//! - `locate`: a command's field found again in its text, after loading;
//! - `check`: the walker that records problems; [`diagnostic`]: how they
//!   render; [`interpolate`]: `${NAME}`; [`schema`]: the JSON Schema;
//! - [`yaml`]: the only code that knows the YAML crate.

mod check;
mod command;
mod document;
#[cfg(test)]
mod equivalence;
mod fields;
mod files;
mod for_each;
mod include;
pub(crate) mod interpolate;
mod load;
mod locate;
mod plain;
pub(crate) mod schema;
pub(crate) mod select;
pub(crate) mod steps;
pub(crate) mod tags;
mod target;
mod template;
pub(crate) mod texts;
pub(crate) mod yaml;

use std::collections::HashMap;

use std::borrow::Cow;

use serde_json::{Map, Value as Json};

pub use crate::diagnostic::Span;
pub use crate::diagnostic::{Level, Problem, Source};
pub(crate) use command::single as check_call;
pub(crate) use files::{read_var_file, yaml_as_json};
pub use load::{Input, load, load_text};
pub(crate) use locate::field_spans;

use crate::methods::Method;
use crate::protocol::Protocol;
use crate::settings::Layer;

impl LoadOptions {
    /// Options that let `${NAME}` read the process environment (the library
    /// reads it only when asked to).
    pub fn from_env() -> Self {
        LoadOptions { env: crate::settings::Env::read().vars().clone(), ..LoadOptions::default() }
    }
}

/// Largest manifest file read (bounded memory on hostile input).
pub(crate) const MAX_MANIFEST_BYTES: u64 = 256 * 1024 * 1024;

/// One server-API command, validated and expanded. Compact: a million of
/// them are a million `for_each` items, so a command is its params' JSON
/// text (a range of a chunk shared with its neighbours) and a few numbers
/// (56 bytes); what it targets is read from the text on demand.
#[derive(Debug, Clone)]
pub struct Command {
    pub(crate) index: u32,
    /// Its occurrence among the run's commands of equal content (method and
    /// params), from 0 — with [`Command::fingerprint`], its identity.
    pub(crate) occurrence: u32,
    pub(crate) manifest: u32,
    pub(crate) offset: u32,
    pub(crate) line: u32,
    /// Its set of `tags:` (see [`tags`]), 0 for none.
    pub(crate) tags: u16,
    /// It is a `finally:` command: run after the others whatever happened.
    pub(crate) finally: bool,
    /// The method as sent on the manifest's protocol.
    pub(crate) method: &'static Method,
    /// Its params hold its own `idempotency_key` ([`own_key`]): known once,
    /// asked for each time it is packed and sent.
    pub(crate) own_key: bool,
    /// The method's request object exactly as it will be sent: compact JSON,
    /// keys in manifest order (a derived idempotency key is added when sent).
    pub(crate) params: texts::Text,
    /// Its `name:` and steps, for the few that have any: one pointer in
    /// every command, not two.
    pub(crate) extra: Option<std::sync::Arc<Extra>>,
}

// A million `for_each` items are a million commands: each byte is a megabyte.
#[cfg(target_pointer_width = "64")]
const _: () = assert!(std::mem::size_of::<Command>() == 56);

/// What few commands have: a name, steps.
#[derive(Debug, Default)]
pub(crate) struct Extra {
    name: Option<String>,
    /// A `wait` step, or checks, repeats and saves.
    steps: Option<std::sync::Arc<steps::Steps>>,
}

impl Extra {
    /// The extra of a command with `name` and `steps`; `None` for neither.
    pub(crate) fn of(
        name: Option<String>,
        steps: Option<std::sync::Arc<steps::Steps>>,
    ) -> Option<std::sync::Arc<Extra>> {
        (name.is_some() || steps.is_some()).then(|| std::sync::Arc::new(Extra { name, steps }))
    }
}

impl Command {
    /// The method's name as sent (`stats` for a v1 `info`; `wait` for a wait step).
    pub fn method_name(&self) -> &'static str {
        self.method.name
    }

    /// A `wait:` step (a barrier and a pause), not a server command.
    pub fn is_wait(&self) -> bool {
        self.steps().is_some_and(|s| s.wait.is_some())
    }

    /// A `listen:` step: a client connection and subscription, not a server command.
    pub fn is_listen(&self) -> bool {
        std::ptr::eq(self.method, &crate::methods::LISTEN)
    }

    /// A step of the run itself (`wait:`, `listen:`), not sent through the server API.
    pub fn is_step(&self) -> bool {
        self.is_wait() || self.is_listen()
    }

    /// Position after `for_each` expansion, from 0, across all manifests.
    pub fn index(&self) -> usize {
        self.index as usize
    }

    /// A digest of its content: the method and the params as validated
    /// (before a derived idempotency key is added). With its
    /// [`occurrence`](Command::occurrence) it identifies the command across
    /// edits of the manifest: inserting or moving other commands changes
    /// neither; editing it makes it another command.
    pub fn fingerprint(&self) -> String {
        let mut out = Vec::with_capacity(24);
        hex(&self.digest(), &mut out);
        String::from_utf8(out).expect("hex digits")
    }

    /// The first 12 bytes of the SHA-256 of the method and the params (the
    /// fingerprint, before it is written in hex).
    pub(crate) fn digest(&self) -> [u8; 12] {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        h.update(self.method.name.as_bytes());
        h.update([0]);
        h.update(self.params().as_bytes());
        let mut out = [0; 12];
        out.copy_from_slice(&h.finalize()[..12]);
        out
    }

    /// One command given outside a manifest (`call`, the console), its
    /// params validated: at line 1 of its params' text.
    pub(crate) fn single(method: &'static Method, params: &Map<String, Json>) -> Command {
        let text = serde_json::to_string(params).expect("a JSON map always serialises");
        Command {
            index: 0,
            occurrence: 0,
            manifest: 0,
            offset: 0,
            line: 1,
            tags: 0,
            finally: false,
            method,
            own_key: params.contains_key("idempotency_key") && own_key(method, &text),
            params: texts::Text::own(text),
            extra: None,
        }
    }

    /// Its `tags:`.
    pub fn tags(&self) -> std::sync::Arc<[String]> {
        tags::get(self.tags)
    }

    /// A command of the `finally:` list: run after the others, whatever
    /// happened to them.
    pub fn is_finally(&self) -> bool {
        self.finally
    }

    /// Its occurrence among the run's commands of equal content, from 0.
    pub fn occurrence(&self) -> usize {
        self.occurrence as usize
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
        self.extra.as_ref().and_then(|e| e.name.as_deref())
    }

    /// Its steps: a `wait`, or checks, repeats and saves.
    pub(crate) fn steps(&self) -> Option<&std::sync::Arc<steps::Steps>> {
        self.extra.as_ref().and_then(|e| e.steps.as_ref())
    }

    /// The params as they will be sent: compact JSON (a derived
    /// idempotency key is added when sent).
    pub fn params(&self) -> &str {
        self.params.as_str()
    }

    /// `params` as a map (decoded on demand).
    pub fn params_map(&self) -> Map<String, Json> {
        serde_json::from_str(self.params()).expect("params are a JSON object")
    }

    /// What the command acts on.
    pub fn target(&self) -> Target {
        let t = target::read(self.params());
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

    /// What the command acts on, borrowed from its params where it can be
    /// (`idempotency_key` not read: see [`target::acts_on`]).
    pub(crate) fn target_ref(&self) -> TargetRef<'_> {
        target::acts_on(self.params(), self.method.target)
    }
}

/// Lower-case hex digits of `bytes`, appended to `out`.
pub(crate) fn hex(bytes: &[u8], out: &mut Vec<u8>) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for b in bytes {
        out.extend_from_slice(&[DIGITS[usize::from(b >> 4)], DIGITS[usize::from(b & 0xf)]]);
    }
}

/// Whether params hold the command's own `idempotency_key` (a top-level
/// field; only methods that take one have it).
pub(crate) fn own_key(method: &Method, params: &str) -> bool {
    method.retry == crate::methods::Retry::WithIdempotencyKey
        && params.contains("\"idempotency_key\"")
        && target::read(params).idempotency_key.is_some()
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

/// A hasher for keys that are hashes already (content digests, lane keys):
/// a map of them hashes them no more.
#[derive(Default)]
pub(crate) struct PreHashed(u64);

impl std::hash::Hasher for PreHashed {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        self.0 = bytes.iter().fold(self.0, |h, &b| h.rotate_left(8) ^ u64::from(b));
    }

    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
}

/// Numbers every command's occurrence among the commands of equal content
/// (method and params), in run order: the first of several equal publishes
/// is 0, the next 1. Grouped by a 64-bit hash of the content: commands that
/// only share a hash share a counter, which shifts numbers but never makes
/// two commands of equal content one.
pub(crate) fn number_occurrences(commands: &mut [Command]) {
    use std::hash::BuildHasherDefault;
    let hash = |c: &Command| content_hash(content_hash(0, c.method.name.as_bytes()), c.params().as_bytes());
    // Most runs repeat no command: sorted hashes say so faster than a map
    // of 200,000 entries (a cache miss each) is built — the two halves'
    // hashes, each sorted on a core of its own (it is the last thing before
    // the first request), then walked together.
    let sorted = |part: &[Command]| {
        let mut hashes: Vec<u64> = part.iter().map(hash).collect();
        hashes.sort_unstable();
        hashes
    };
    let (first, second) = commands.split_at(commands.len() / 2);
    let (a, b) =
        crate::cores::both(commands.len() >= 20_000 && crate::cores::two(), || sorted(first), || sorted(second));
    if !repeats(&a, &b) {
        commands.iter_mut().for_each(|c| c.occurrence = 0);
        return;
    }
    drop((a, b));
    let mut seen: HashMap<u64, u32, BuildHasherDefault<PreHashed>> =
        HashMap::with_capacity_and_hasher(commands.len(), BuildHasherDefault::default());
    for c in commands.iter_mut() {
        let n = seen.entry(hash(c)).or_insert(0);
        c.occurrence = *n;
        *n += 1;
    }
}

/// Whether a hash is in the sorted lists twice (in one, or in both).
fn repeats(a: &[u64], b: &[u64]) -> bool {
    let within = |l: &[u64]| l.windows(2).any(|w| w[0] == w[1]);
    if within(a) || within(b) {
        return true;
    }
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => return true,
        }
    }
    false
}

/// A 64-bit hash of `bytes` after `seed`, eight bytes at a time (a
/// multiply-rotate round per word, folded at the end): ten times faster
/// than FNV-1a byte by byte, enough to group equal contents (a collision
/// only shifts numbers).
fn content_hash(seed: u64, bytes: &[u8]) -> u64 {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;
    let round = |h: u64, w: u64| (h ^ w).wrapping_mul(K).rotate_left(29);
    let mut h = round(seed, bytes.len() as u64);
    let mut words = bytes.chunks_exact(8);
    for w in &mut words {
        h = round(h, u64::from_le_bytes(w.try_into().expect("eight bytes")));
    }
    let mut tail = [0u8; 8];
    tail[..words.remainder().len()].copy_from_slice(words.remainder());
    h = round(h, u64::from_le_bytes(tail));
    // Every bit of the state into every bit of the hash.
    h ^= h >> 31;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^ (h >> 29)
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
    /// Commands validated and not kept ([`LoadOptions::count_only`]).
    pub(crate) counted: usize,
    /// The longest params text of all commands, kept or counted.
    pub(crate) longest_params: usize,
    /// Problems that do not stop a run.
    pub warnings: Vec<Problem>,
    /// The protocol the commands were validated for.
    pub protocol: Protocol,
    /// The environment variables `${NAME}` read (sorted): what a reviewer
    /// of a manifest from outside wants to see.
    pub env_reads: Vec<String>,
}

impl Manifest {
    /// How many commands were validated (kept in `commands`, or counted).
    pub fn len(&self) -> usize {
        self.commands.len() + self.counted
    }

    /// No commands at all.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What loading needs from outside the files.
#[derive(Debug, Default, Clone)]
pub struct LoadOptions {
    /// `--var NAME=VALUE`: each value read as a YAML scalar (`5` a number,
    /// `true` a boolean, `'"5"'` a string), overriding `typed_vars` and the
    /// manifests' `vars:`. A name that no manifest defines or uses is an error.
    pub vars: HashMap<String, String>,
    /// Variables with their types (variable files), below `vars`, above `vars:`.
    pub typed_vars: HashMap<String, serde_json::Value>,
    /// The environment seen by `${NAME}` (an empty variable counts as unset).
    /// Credentials (`CENTRIFUGO_API_KEY`, `CENTRIFUGO_SECRET`,
    /// `CENTRIFUGO_TOKEN_SECRET`) never go into a command.
    pub env: HashMap<String, String>,
    /// `Some(false)`: `${NAME}` never reads `env` (`--no-env`); `None`: as
    /// the manifests' `defaults: {env: ...}` say (on by default).
    pub read_env: Option<bool>,
    /// Variables that hold secrets (in `vars` or `typed_vars`): usable in
    /// `server:`, never in a command.
    pub secret_names: std::collections::HashSet<String>,
    /// Files a manifest names must be inside this folder [default: the
    /// manifest's own folder; standard input: the current folder].
    pub file_root: Option<std::path::PathBuf>,
    /// The protocol named by a flag or the profile (wins over the manifest).
    pub protocol: Option<Protocol>,
    /// The protocol a profile implies (loses to the manifest).
    pub fallback_protocol: Option<Protocol>,
    /// Parts to cut each manifest into; `None`: by size and cores.
    #[doc(hidden)]
    pub parts: Option<usize>,
    /// Validate every command and keep only those something after
    /// validation reads (with `save`, `expect` and the like): the rest are
    /// counted ([`Manifest::len`]). What `check` needs, in the memory of the
    /// text alone.
    #[doc(hidden)]
    pub count_only: bool,
    /// Whose names messages give the options: this struct's fields (the
    /// default), or the `cent-run` tool's flags.
    #[doc(hidden)]
    pub naming: Naming,
}

/// Whose names a problem gives the options it points to.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Naming {
    /// The library's: `LoadOptions::vars`, `LoadOptions::file_root`.
    #[default]
    Library,
    /// The command line's: `--var`, `--file-root`.
    Cli,
}

impl Naming {
    /// How a caller gives a variable `NAME` its value.
    pub(crate) fn var(self, name: &str) -> String {
        match self {
            Naming::Library => format!("`{name}` in LoadOptions::vars"),
            Naming::Cli => format!("`--var {name}=VALUE`"),
        }
    }

    /// The file root option.
    pub(crate) fn file_root(self) -> &'static str {
        match self {
            Naming::Library => "LoadOptions::file_root",
            Naming::Cli => "--file-root DIR",
        }
    }
}

#[cfg(test)]
mod occurrence_tests {
    use super::*;

    fn numbered(lines: &[String]) -> Vec<usize> {
        let text = format!("commands:\n{}", lines.iter().map(|l| format!("  - {l}\n")).collect::<String>());
        let m = load_text("m.yaml", &text, &Default::default()).unwrap();
        let mut commands = m.commands.as_ref().clone();
        commands.iter_mut().for_each(|c| c.occurrence = 9);
        number_occurrences(&mut commands);
        commands.iter().map(Command::occurrence).collect()
    }

    #[test]
    fn equal_commands_are_numbered_in_order_within_and_across_the_halves() {
        // 30,000: hashed and sorted in two halves (the first 15,000, the rest).
        let mut lines: Vec<String> = (0..30_000).map(|i| format!("publish: {{channel: c{i}, data: 1}}")).collect();
        assert!(numbered(&lines).iter().all(|&n| n == 0), "no repeat: every occurrence 0");
        let publish = |c: &str| format!("publish: {{channel: {c}, data: 1}}");
        lines[5] = publish("c3"); // within the first half
        lines[20_001] = publish("c20000"); // within the second
        lines[29_000] = publish("c10"); // across
        lines[29_500] = publish("c10");
        let n = numbered(&lines);
        assert_eq!((n[3], n[5]), (0, 1));
        assert_eq!((n[20_000], n[20_001]), (0, 1));
        assert_eq!((n[10], n[29_000], n[29_500]), (0, 1, 2));
        assert_eq!(n.iter().filter(|&&k| k > 0).count(), 4, "only the repeats count up");
        // Only across the halves: found by walking both sorted lists.
        let mut lines: Vec<String> = (0..30_000).map(|i| format!("publish: {{channel: c{i}, data: 1}}")).collect();
        lines[25_000] = publish("c7");
        let n = numbered(&lines);
        assert_eq!((n[7], n[25_000]), (0, 1));
    }

    #[test]
    fn repeats_are_found_in_either_sorted_list_or_between_them() {
        assert!(!repeats(&[1, 3, 5], &[2, 4, 6]));
        assert!(!repeats(&[], &[]));
        assert!(repeats(&[1, 1], &[]));
        assert!(repeats(&[1, 2], &[3, 3]));
        assert!(repeats(&[1, 5, 9], &[2, 9]));
        assert!(repeats(&[9], &[1, 2, 3, 9]));
    }
}
