//! Manifests: YAML files in, a validated [`Manifest`] (commands with their
//! manifest locations, server settings, run defaults) or every [`Problem`]
//! out. Nothing here touches the network.

mod check;
mod command;
pub mod diagnostic;
pub mod interpolate;
pub mod methods;
pub mod schema;
pub mod yaml;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use secrecy::SecretString;
use serde_json::value::RawValue;
use serde_json::{Map, Value as Json};

pub use check::parse_duration;
use check::{Checker, Scope};
pub use diagnostic::{Level, Problem, Source};
pub use methods::Method;
use yaml::{Node, Value};

use crate::protocol::Protocol;

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
    pub name: Option<String>,
    pub method: &'static Method,
    /// The method's request object exactly as it will be sent: compact JSON,
    /// keys in manifest order (a derived idempotency key is added when sent).
    /// Kept as text, not as a tree: a command costs its JSON's size in memory.
    pub params: Box<RawValue>,
    /// The fields of `params` that lanes and reports read.
    pub target: Target,
}

impl Command {
    /// `params` as a map (decoded on demand).
    pub fn params_map(&self) -> Map<String, Json> {
        serde_json::from_str(self.params.get()).expect("params are a JSON object")
    }
}

/// What a command acts on, lifted out of its params as given (empty strings
/// included): channels, the user, the connection.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Target {
    pub channel: Option<String>,
    pub channels: Option<Vec<String>>,
    pub user: Option<String>,
    pub client: Option<String>,
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

/// `server:` settings; each may also come from flags, environment or a profile.
#[derive(Debug, Default, Clone)]
pub struct ServerSettings {
    pub url: Option<String>,
    pub api_key: Option<SecretString>,
    pub secret: Option<SecretString>,
    pub protocol: Option<Protocol>,
    pub timeout: Option<Duration>,
    pub insecure: Option<bool>,
}

/// `defaults:` run options; CLI flags override them.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Defaults {
    pub batch_size: Option<usize>,
    pub concurrency: Option<usize>,
    pub retries: Option<u32>,
    pub max_batch_bytes: Option<usize>,
    pub rate: Option<f64>,
    pub fail_fast: Option<bool>,
}

#[derive(Debug)]
pub struct Manifest {
    pub sources: Vec<Source>,
    pub server: ServerSettings,
    pub defaults: Defaults,
    pub commands: Vec<Command>,
    /// Problems that do not stop a run.
    pub warnings: Vec<Problem>,
    pub protocol: Protocol,
}

/// What loading needs from outside the files.
#[derive(Debug, Default, Clone)]
pub struct LoadOptions {
    /// `--var NAME=VALUE`, overriding `vars:`.
    pub vars: HashMap<String, String>,
    /// The environment seen by `${NAME}`.
    pub env: HashMap<String, String>,
    /// `--protocol` (wins over the manifest).
    pub protocol: Option<Protocol>,
    /// The profile's protocol (loses to the manifest).
    pub fallback_protocol: Option<Protocol>,
}

const TOP_KEYS: &[&str] = &["version", "server", "defaults", "vars", "commands"];
const SERVER_KEYS: &[&str] = &["url", "api_key", "secret", "protocol", "timeout", "insecure"];
const DEFAULT_KEYS: &[&str] = &["batch_size", "concurrency", "retries", "max_batch_bytes", "rate", "fail_fast"];

/// Loads and validates manifests in order as one run.
pub fn load(paths: &[PathBuf], opts: &LoadOptions) -> Result<Manifest, Vec<Problem>> {
    let mut problems = Vec::new();
    let sources = paths
        .iter()
        .map(|path| match read(path) {
            Ok(source) => (source, true),
            Err(p) => {
                problems.push(*p);
                (Source::new(path.display().to_string(), ""), false)
            }
        })
        .collect();
    validate(sources, problems, opts)
}

/// Validates one manifest held in memory (`name` is what diagnostics show;
/// relative `data_file` and `for_each` paths resolve from its directory).
pub fn load_text(name: &str, text: &str, opts: &LoadOptions) -> Result<Manifest, Vec<Problem>> {
    validate(vec![(Source::new(name, text), true)], Vec::new(), opts)
}

/// `sources` pairs each manifest with whether it could be read at all.
fn validate(
    sources: Vec<(Source, bool)>,
    problems: Vec<Problem>,
    opts: &LoadOptions,
) -> Result<Manifest, Vec<Problem>> {
    let (sources, readable): (Vec<Source>, Vec<bool>) = sources.into_iter().unzip();
    match validate_streaming(&sources, &readable, opts) {
        Some((mut found, outcome)) => {
            let mut all = problems;
            all.append(&mut found);
            finish(sources, all, outcome)
        }
        None => validate_trees(sources, &readable, problems, opts),
    }
}

/// What validation produced besides problems.
struct Validated {
    server: ServerSettings,
    defaults: Defaults,
    commands: Vec<Command>,
    protocol: Protocol,
}

fn finish(sources: Vec<Source>, problems: Vec<Problem>, v: Validated) -> Result<Manifest, Vec<Problem>> {
    let mut commands = v.commands;
    for (i, c) in commands.iter_mut().enumerate() {
        c.index = i;
    }
    let (errors, warnings): (Vec<_>, Vec<_>) = problems.into_iter().partition(|p| p.level == Level::Error);
    if !errors.is_empty() {
        let mut all = errors;
        all.extend(warnings);
        return Err(all);
    }
    Ok(Manifest { sources, server: v.server, defaults: v.defaults, commands, warnings, protocol: v.protocol })
}

fn syntax_problem(source: &Source, e: &yaml::SyntaxError) -> Problem {
    let span = e.span.unwrap_or_else(|| {
        let offset = e.line_col.map_or(0, |(l, c)| source.offset_of(l, c));
        yaml::Span { offset, len: 1 }
    });
    Problem::error(format!("invalid YAML: {}", e.message)).at(source, span, "here")
}

/// The fast path: each command is validated as soon as the parser completes
/// it, and its YAML tree dropped. It assumes the variables and protocol seen
/// before the `commands` list are the final ones; `None` when that did not
/// hold (say `vars:` after `commands:`), and the caller validates whole trees.
fn validate_streaming(sources: &[Source], readable: &[bool], opts: &LoadOptions) -> Option<(Vec<Problem>, Validated)> {
    let mut problems = Vec::new();
    let mut server = ServerSettings::default();
    let mut defaults = Defaults::default();
    let mut commands = Vec::new();
    let mut assumed: Vec<(HashMap<String, String>, Protocol)> = Vec::new();
    let mut final_vars = Vec::new();
    for (i, source) in sources.iter().enumerate() {
        if !readable[i] {
            continue;
        }
        let dir = Path::new(&source.name).parent().map(Path::to_path_buf).unwrap_or_default();
        let sink = Streamed { source, opts, dir: &dir, manifest: i, earlier: server.protocol };
        match yaml::parse_streaming(&source.text, &sink) {
            Ok((root, parts)) => {
                let mut dck = Checker::new(source);
                let top = document(&mut dck, &root, opts, &mut server, &mut defaults);
                problems.append(&mut dck.problems);
                let mut settings = None;
                for mut part in parts {
                    problems.append(&mut part.ck.problems);
                    commands.append(&mut part.validated);
                    settings = settings.or(part.settings);
                }
                if let Some((vars, list)) = top {
                    // Items that did not stream (a list given by alias): validate whole trees.
                    if list.is_some_and(|l| matches!(&l.value, Value::Seq(items) if !items.is_empty())) {
                        return None;
                    }
                    if let Some(s) = settings {
                        assumed.push(s);
                        final_vars.push(vars);
                    }
                }
            }
            Err(e) => {
                // As with whole trees: a manifest that is not YAML has only that problem.
                problems.push(syntax_problem(source, &e));
            }
        }
    }
    let protocol = opts.protocol.or(server.protocol).or(opts.fallback_protocol).unwrap_or_default();
    let held = assumed.iter().zip(&final_vars).all(|((vars, p), fin)| vars == fin && *p == protocol);
    held.then_some((problems, Validated { server, defaults, commands, protocol }))
}

/// Validates each command as the parser completes it (see [`validate_streaming`]).
struct Streamed<'s> {
    source: &'s Source,
    opts: &'s LoadOptions,
    dir: &'s Path,
    manifest: usize,
    /// The protocol set by earlier manifests.
    earlier: Option<Protocol>,
}

/// What one part of a manifest produced.
struct StreamedPart<'s> {
    ck: Checker<'s>,
    /// Variables and protocol, from the entries before the commands.
    settings: Option<(HashMap<String, String>, Protocol)>,
    validated: Vec<Command>,
}

impl<'s> yaml::CommandSink<'s> for Streamed<'s> {
    type Part = StreamedPart<'s>;

    fn part(&self) -> StreamedPart<'s> {
        StreamedPart { ck: Checker::new(self.source), settings: None, validated: Vec::new() }
    }

    fn item(&self, part: &mut StreamedPart<'s>, entries: &[(Node<'s>, Node<'s>)], item: Node<'s>) {
        let (vars, protocol) = part.settings.get_or_insert_with(|| {
            let mut quiet = Checker::new(self.source);
            let vars = entries
                .iter()
                .find(|(k, _)| k.as_str() == Some("vars"))
                .map(|(_, v)| var_section(&mut quiet, v, self.opts))
                .unwrap_or_default();
            let here = entries
                .iter()
                .find(|(k, _)| k.as_str() == Some("server"))
                .and_then(|(_, v)| v.as_map())
                .and_then(|m| m.iter().find(|(k, _)| k.as_str() == Some("protocol")))
                .and_then(|(_, v)| v.as_str()?.parse().ok());
            let opts = self.opts;
            let protocol = opts.protocol.or(self.earlier).or(here).or(opts.fallback_protocol).unwrap_or_default();
            (vars, protocol)
        });
        let scope = Scope { cli: &self.opts.vars, vars, env: &self.opts.env, item: None };
        let cx = command::CommandContext { manifest: self.manifest, dir: self.dir, protocol: *protocol };
        command::command(&mut part.ck, &item, &scope, &cx, &mut part.validated);
    }
}

/// The general path: parse every manifest whole, then validate.
fn validate_trees(
    sources: Vec<Source>,
    readable: &[bool],
    mut problems: Vec<Problem>,
    opts: &LoadOptions,
) -> Result<Manifest, Vec<Problem>> {
    let mut docs = Vec::with_capacity(sources.len());
    for (source, readable) in sources.iter().zip(readable) {
        if !*readable {
            docs.push(None);
            continue;
        }
        match yaml::parse(&source.text) {
            Ok(root) => docs.push(Some(root)),
            Err(e) => {
                problems.push(syntax_problem(source, &e));
                docs.push(None);
            }
        }
    }
    // The protocol decides which methods are valid, so settle it first.
    let mut server = ServerSettings::default();
    let mut defaults = Defaults::default();
    let mut per_doc = Vec::new();
    for (i, root) in docs.iter().enumerate() {
        let Some(root) = root else {
            per_doc.push(None);
            continue;
        };
        let mut ck = Checker::new(&sources[i]);
        let parts = document(&mut ck, root, opts, &mut server, &mut defaults);
        problems.append(&mut ck.problems);
        per_doc.push(parts);
    }
    let protocol = opts.protocol.or(server.protocol).or(opts.fallback_protocol).unwrap_or_default();
    let mut commands = Vec::new();
    for (i, parts) in per_doc.iter().enumerate() {
        let Some((vars, list)) = parts else { continue };
        let mut ck = Checker::new(&sources[i]);
        let scope = Scope { cli: &opts.vars, vars, env: &opts.env, item: None };
        let dir = Path::new(&sources[i].name).parent().map(Path::to_path_buf).unwrap_or_default();
        let cx = command::CommandContext { manifest: i, dir: &dir, protocol };
        if let Some(Value::Seq(items)) = list.map(|n| &n.value) {
            commands.reserve(items.len());
            for item in items {
                command::command(&mut ck, item, &scope, &cx, &mut commands);
            }
        }
        problems.append(&mut ck.problems);
    }
    finish(sources, problems, Validated { server, defaults, commands, protocol })
}

fn read(path: &Path) -> Result<Source, Box<Problem>> {
    let name = path.display().to_string();
    let unreadable = |e: std::io::Error| Box::new(Problem::error(format!("cannot read manifest {name}: {e}")));
    let meta = std::fs::metadata(path).map_err(unreadable)?;
    if meta.len() > MAX_MANIFEST_BYTES {
        return Err(Box::new(Problem::error(format!(
            "manifest {name} is {} bytes, over the limit of {MAX_MANIFEST_BYTES}",
            meta.len()
        ))));
    }
    let bytes = std::fs::read(path).map_err(unreadable)?;
    match String::from_utf8(bytes) {
        Ok(text) => Ok(Source::new(name, text)),
        Err(e) => {
            let at = e.utf8_error().valid_up_to();
            let source = Source::new(name, String::from_utf8_lossy(e.as_bytes()).into_owned());
            Err(Box::new(
                Problem::error("manifest is not valid UTF-8")
                    .at(&source, yaml::Span { offset: at, len: 1 }, "invalid byte")
                    .help("save the file as UTF-8"),
            ))
        }
    }
}

type DocParts<'n> = (HashMap<String, String>, Option<&'n Node<'n>>);

/// Top-level keys of one document; `server:` and `defaults:` merge into the
/// run's settings (the first manifest that sets a key wins; a later manifest
/// setting it differently is an error).
fn document<'n>(
    ck: &mut Checker,
    root: &'n Node,
    opts: &LoadOptions,
    server: &mut ServerSettings,
    defaults: &mut Defaults,
) -> Option<DocParts<'n>> {
    if matches!(root.value, Value::Null) {
        ck.error(root.span, "empty", "manifest is empty").help = Some("add a `commands:` list".into());
        return None;
    }
    let entries = ck.entries(root, "a manifest")?;
    let mut vars = HashMap::new();
    let mut commands = None;
    // vars first: everything else may refer to them.
    for (k, v) in &entries {
        if k.as_str() == Some("vars") {
            vars = var_section(ck, v, opts);
        }
    }
    let scope = Scope { cli: &opts.vars, vars: &vars, env: &opts.env, item: None };
    for (k, v) in &entries {
        match k.key_text().as_ref() {
            "version" => match v.value {
                Value::Int(1) => {}
                Value::Int(n) => {
                    ck.error(v.span, "unsupported", format!("unsupported manifest version {n}")).help =
                        Some("this cent-run reads `version: 1`".into());
                }
                _ => ck.type_error(v, "`version` must be the integer 1", "an integer"),
            },
            "vars" => {}
            "server" => server_section(ck, v, &scope, server),
            "defaults" => defaults_section(ck, v, defaults),
            "commands" => match &v.value {
                Value::Seq(_) => commands = Some(*v),
                _ => ck.type_error(v, "`commands` must be a list", "a list"),
            },
            other => unknown_key(ck, k, other, None, TOP_KEYS),
        }
    }
    if commands.is_none() && !entries.iter().any(|(k, _)| k.as_str() == Some("commands")) {
        ck.error(root.span, "no `commands`", "manifest has no `commands` list");
    }
    Some((vars, commands))
}

fn unknown_key(ck: &mut Checker, k: &Node, key: &str, section: Option<&str>, known: &[&str]) {
    let message = match section {
        Some(s) => format!("unknown key `{key}` in `{s}`"),
        None => format!("unknown top-level key `{key}`"),
    };
    let p = ck.error(k.span, "unknown key", message);
    p.help = Some(match diagnostic::did_you_mean(key, known.iter().copied()) {
        Some(s) => format!("did you mean `{s}`?"),
        None => format!("expected one of: {}", known.join(", ")),
    });
}

fn var_section(ck: &mut Checker, v: &Node, opts: &LoadOptions) -> HashMap<String, String> {
    let mut vars = HashMap::new();
    let Some(entries) = ck.entries(v, "`vars`") else { return vars };
    let empty = HashMap::new();
    // A var's value may use the environment and --var, not other vars.
    let scope = Scope { cli: &opts.vars, vars: &empty, env: &opts.env, item: None };
    for (k, val) in entries {
        let value = match &val.value {
            Value::Str(s) => ck.interpolate(val, s, &scope),
            Value::Int(_) | Value::UInt(_) | Value::Float(_) | Value::Bool(_) => Some(val.key_text().into_owned()),
            _ => {
                ck.type_error(val, "a variable must be a string, number or boolean", "a scalar");
                None
            }
        };
        if let Some(value) = value {
            vars.insert(k.key_text().into_owned(), value);
        }
    }
    vars
}

fn server_section(ck: &mut Checker, v: &Node, scope: &Scope, out: &mut ServerSettings) {
    let Some(entries) = ck.entries(v, "`server`") else { return };
    for (k, val) in entries {
        let key = k.key_text();
        match key.as_ref() {
            "url" => {
                let v = ck_string(ck, val, scope);
                set_once(ck, k, &mut out.url, v)
            }
            "api_key" | "secret" => {
                // An unset credential variable is not an error here: a flag,
                // the environment or a profile may supply the credential.
                let Value::Str(s) = &val.value else {
                    ck.type_error(val, &format!("`{key}` must be a string"), "a string");
                    continue;
                };
                let value = interpolate::expand(s, &|n| scope.lookup(n)).ok().filter(|s| !s.is_empty());
                let slot = if key == "api_key" { &mut out.api_key } else { &mut out.secret };
                if slot.is_none() {
                    *slot = value.map(SecretString::from);
                }
            }
            "protocol" => {
                let Some(s) = ck_string(ck, val, scope) else { continue };
                match s.parse::<Protocol>() {
                    Ok(p) => set_once(ck, k, &mut out.protocol, Some(p)),
                    Err(_) => {
                        ck.error(val.span, "unknown protocol", format!("unknown protocol `{s}`")).help =
                            Some("one of: api (Centrifugo v5/v6), legacy (v2–v4), v1 (HMAC-signed)".into());
                    }
                }
            }
            "timeout" => {
                let d = match &val.value {
                    Value::Int(i) if *i > 0 => Some(Duration::from_secs(*i as u64)),
                    Value::Str(_) => ck_string(ck, val, scope).and_then(|s| parse_duration(&s)),
                    _ => None,
                };
                if d.is_none() {
                    ck.error(val.span, "not a duration", "`timeout` must be a positive duration like `5s` or `500ms`");
                }
                set_once(ck, k, &mut out.timeout, d);
            }
            "insecure" => match val.value {
                Value::Bool(b) => set_once(ck, k, &mut out.insecure, Some(b)),
                _ => ck.type_error(val, "`insecure` must be a boolean", "a boolean"),
            },
            other => unknown_key(ck, k, other, Some("server"), SERVER_KEYS),
        }
    }
}

fn ck_string(ck: &mut Checker, v: &Node, scope: &Scope) -> Option<String> {
    ck.string(v, "this value", scope)
}

fn set_once<T: PartialEq + std::fmt::Debug>(ck: &mut Checker, k: &Node, slot: &mut Option<T>, value: Option<T>) {
    let Some(value) = value else { return };
    match slot {
        Some(existing) if *existing != value => {
            ck.error(k.span, "conflict", format!("`{}` differs from an earlier manifest of this run", k.key_text()))
                .help = Some("manifests run together share one server and one set of defaults".into());
        }
        Some(_) => {}
        None => *slot = Some(value),
    }
}

fn defaults_section(ck: &mut Checker, v: &Node, out: &mut Defaults) {
    let Some(entries) = ck.entries(v, "`defaults`") else { return };
    for (k, val) in entries {
        let key = k.key_text();
        let positive = |ck: &mut Checker, min: u64| match val.value {
            Value::Int(i) if i >= min as i64 => Some(i as u64),
            Value::Int(i) => {
                ck.error(val.span, &format!("must be ≥ {min}"), format!("`{key}` must be at least {min}, found {i}"));
                None
            }
            _ => {
                ck.type_error(val, &format!("`{key}` must be an integer ≥ {min}"), "an integer");
                None
            }
        };
        match key.as_ref() {
            "batch_size" => {
                let v = positive(ck, 1).map(|n| n as usize);
                set_once(ck, k, &mut out.batch_size, v)
            }
            "concurrency" => {
                let v = positive(ck, 1).map(|n| n as usize);
                set_once(ck, k, &mut out.concurrency, v)
            }
            "retries" => {
                let v = positive(ck, 0).map(|n| n.min(u32::MAX as u64) as u32);
                set_once(ck, k, &mut out.retries, v)
            }
            "max_batch_bytes" => {
                let v = positive(ck, 1024).map(|n| n as usize);
                set_once(ck, k, &mut out.max_batch_bytes, v)
            }
            "rate" => {
                let r = match val.value {
                    Value::Int(i) if i > 0 => Some(i as f64),
                    Value::Float(f) if f > 0.0 && f.is_finite() => Some(f),
                    Value::Int(_) | Value::Float(_) => {
                        ck.error(
                            val.span,
                            "must be > 0",
                            format!("`rate` must be a positive number, found {}", val.key_text()),
                        );
                        None
                    }
                    _ => {
                        ck.type_error(val, "`rate` must be a positive number (commands per second)", "a number");
                        None
                    }
                };
                set_once(ck, k, &mut out.rate, r);
            }
            "fail_fast" => match val.value {
                Value::Bool(b) => set_once(ck, k, &mut out.fail_fast, Some(b)),
                _ => ck.type_error(val, "`fail_fast` must be a boolean", "a boolean"),
            },
            other => unknown_key(ck, k, other, Some("defaults"), DEFAULT_KEYS),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Manifest, Vec<Problem>> {
        load_text("m.yaml", text, &LoadOptions::default())
    }

    #[test]
    fn vars_after_commands_still_apply() {
        let m = load("commands:\n  - publish: {channel: \"${ch}\", data: 1}\nvars: {ch: late}\n").unwrap();
        assert_eq!(m.commands[0].target.channel.as_deref(), Some("late"));
    }

    #[test]
    fn a_protocol_set_after_commands_still_decides_what_is_valid() {
        let e = load("commands:\n  - presence_stats: {channel: a}\nserver: {protocol: v1}\n").unwrap_err();
        assert!(e[0].message.contains("protocol v1 has no method `presence_stats`"), "{e:?}");
        let m = load("commands:\n  - info: {}\nserver: {protocol: v1}\n").unwrap();
        assert_eq!(m.commands[0].method.name, "stats");
    }

    #[test]
    fn a_command_list_given_by_alias_is_validated() {
        let e = load("x: &l\n  - publsh: {channel: a, data: 1}\ncommands: *l\n").unwrap_err();
        assert!(e.iter().any(|p| p.message.contains("unknown top-level key `x`")), "{e:?}");
        assert!(
            e.iter().any(|p| p.message.contains("unknown method `publsh`")),
            "the aliased items are checked: {e:?}"
        );
        let m = load("vars: {v: 1}\ncommands:\n  - &p publish: {channel: a, data: 1}\n  - name: again\n    publish: {channel: b, data: 2}\n").unwrap();
        assert_eq!(m.commands.len(), 2);
        assert_eq!(m.commands[1].line, 4);
    }
}
