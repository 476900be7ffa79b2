//! Reading manifests (files, or standard input for `-`) and the one
//! validation pass over them.
//!
//! Each command is validated as soon as the parser completes it, and its
//! YAML tree dropped, with the variables and protocol seen before the
//! `commands` list. Where that assumption did not hold (`vars:` after
//! `commands:`, a protocol set by a later manifest), the manifest is
//! validated again by the same code with the final settings. Large
//! manifests are cut into parts parsed on every core; the result is the
//! one-part result (tested over the corpus, the examples and mutants).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Read;
use std::path::{Path, PathBuf};

use super::check::{Checker, Reads, Scope, Var};
use super::command::{self, CommandContext};
use super::document::{self, COMMANDS, FINALLY, Inputs, var_section};
use super::files::Root;
use super::steps::Saved;
use super::texts::Commands;
use super::yaml::{self, ItemSink, Node, Stream, Value};
use super::{Command, Level, LoadOptions, MAX_MANIFEST_BYTES, Manifest, Problem, Source};
use crate::protocol::Protocol;
use crate::settings::{Key, Layer};

/// The top-level key whose list holds the commands.
/// Manifests below this size are parsed as one part.
const PART_MIN_BYTES: usize = 64 * 1024;
/// Most parts a manifest is cut into.
const MAX_PARTS: usize = 8;

/// Parts to cut a manifest of `len` bytes into: by size and cores.
pub(super) fn default_parts(len: usize) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    (len / PART_MIN_BYTES).min(cores).clamp(1, MAX_PARTS)
}

/// Where a manifest comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A file (relative `data_file` and `for_each` paths resolve from its directory).
    File(PathBuf),
    /// Standard input (`-` on the command line).
    Stdin,
}

impl Input {
    /// `-` is standard input; anything else a file.
    pub fn from_arg(arg: &Path) -> Input {
        if arg == Path::new("-") { Input::Stdin } else { Input::File(arg.to_owned()) }
    }
}

/// Loads and validates manifests in order as one run.
pub fn load(inputs: &[Input], opts: &LoadOptions) -> Result<Manifest, Vec<Problem>> {
    let mut problems = Vec::new();
    let sources = inputs
        .iter()
        .map(|input| {
            let read = match input {
                Input::File(path) => read(path),
                Input::Stdin => read_stdin(),
            };
            match read {
                Ok(source) => (source, true),
                Err(p) => {
                    let name = match input {
                        Input::File(path) => path.display().to_string(),
                        Input::Stdin => STDIN.to_owned(),
                    };
                    problems.push(*p);
                    (Source::new(name, ""), false)
                }
            }
        })
        .collect();
    validate(sources, problems, opts).0
}

/// Validates one manifest held in memory (`name` is what diagnostics show;
/// relative `data_file` and `for_each` paths resolve from its directory).
pub fn load_text(name: &str, text: &str, opts: &LoadOptions) -> Result<Manifest, Vec<Problem>> {
    validate(vec![(Source::new(name, text), true)], Vec::new(), opts).0
}

/// What diagnostics call standard input.
const STDIN: &str = "<stdin>";

/// The variables, protocol and environment switch commands are validated with.
#[derive(Debug, Clone, PartialEq)]
struct ItemSettings {
    vars: HashMap<String, Var>,
    protocol: Protocol,
    read_env: bool,
}

/// One manifest, validated.
struct Validated {
    problems: Vec<Problem>,
    commands: Vec<Command>,
    /// Commands counted, not kept ([`LoadOptions::count_only`]).
    counted: usize,
    /// The longest params text.
    longest: usize,
    /// The settings its commands were validated with (`None`: it has none).
    assumed: Option<ItemSettings>,
    /// Its own `vars:`.
    vars: HashMap<String, Var>,
    /// Parts it was parsed in.
    parts: usize,
    /// The names its commands save, where.
    saved: Vec<Saved>,
    /// The variables it read.
    reads: Reads,
}

/// `sources` pairs each manifest with whether it could be read at all.
/// Returns the result and the most parts any manifest was parsed in.
pub(super) fn validate(
    tops: Vec<(Source, bool)>,
    mut problems: Vec<Problem>,
    opts: &LoadOptions,
) -> (Result<Manifest, Vec<Problem>>, usize) {
    let (members, merge) = super::include::expand(tops, opts, &mut problems);
    let mut inputs = Inputs::new(opts);
    inputs.included = members.iter().filter(|m| m.chain.is_some()).map(|m| m.source.name.clone()).collect();
    let mut layer = Layer::default();
    let mut runs: Vec<Option<(Validated, Layer)>> = (0..members.len()).map(|_| None).collect();
    // In merge order: the first manifest to set a `server:` or `defaults:` key wins.
    for &i in &merge {
        if !members[i].readable {
            continue;
        }
        let before = layer.clone();
        let run = validate_one(i, &members[i].source, opts, &inputs, &mut layer, None);
        runs[i] = Some((run, before));
    }
    let protocol = final_protocol(opts, &layer);
    let read_env = opts.read_env.unwrap_or_else(|| env_switch(&layer).unwrap_or(true));
    // A manifest and what it includes share their variables, the includer's first.
    let mut group_vars: HashMap<usize, HashMap<String, Var>> = HashMap::new();
    for &i in &merge {
        if let Some((v, _)) = &runs[i] {
            let vars = group_vars.entry(members[i].group).or_default();
            for (k, val) in &v.vars {
                vars.entry(k.clone()).or_insert_with(|| val.clone());
            }
        }
    }
    let mut parts = 1;
    for (i, run) in runs.iter_mut().enumerate() {
        let Some((v, before)) = run else { continue };
        let vars = group_vars.get(&members[i].group).cloned().unwrap_or_default();
        let wanted = ItemSettings { vars, protocol, read_env };
        if v.assumed.as_ref().is_some_and(|a| *a != wanted) {
            // Validated with settings that turned out different: again, with the final ones.
            *v = validate_one(i, &members[i].source, opts, &inputs, &mut before.clone(), Some(&wanted));
        }
        parts = parts.max(v.parts);
    }
    let mut commands = Vec::new();
    // Every manifest's `finally:` runs after every manifest's commands.
    let mut finally = Vec::new();
    let (mut counted, mut longest) = (0, 0);
    let mut names = Names::default();
    for (i, run) in runs.into_iter().enumerate() {
        let Some((mut v, _)) = run else { continue };
        problems.extend(v.problems);
        names.add(i, v.vars.keys(), v.saved, v.reads);
        if let Some(first) = v.commands.iter().position(|c| c.finally) {
            finally.extend(v.commands.drain(first..));
        }
        append(&mut commands, v.commands);
        counted += v.counted;
        longest = longest.max(v.longest);
    }
    append(&mut commands, finally);
    for (i, c) in commands.iter_mut().enumerate() {
        c.index = i as u32;
    }
    // A problem in an included file says how it came in.
    for p in &mut problems {
        let Some(chain) = p
            .source
            .as_ref()
            .and_then(|s| members.iter().find(|m| m.source.name == s.name))
            .and_then(|m| m.chain.clone())
        else {
            continue;
        };
        p.help = Some(match p.help.take() {
            Some(h) => format!("{h} ({chain})"),
            None => chain,
        });
    }
    let sources: Vec<Source> = members.into_iter().map(|m| m.source).collect();
    names.explain(&sources, &commands, opts, &mut problems);
    listened(&sources, &commands, &mut problems);
    let (errors, mut warnings): (Vec<_>, Vec<_>) = problems.into_iter().partition(|p| p.level == Level::Error);
    if !errors.is_empty() {
        let mut all = errors;
        all.extend(once_each(warnings));
        return (Err(all), parts);
    }
    let mut warnings_once = once_each(std::mem::take(&mut warnings));
    if commands.is_empty() && counted == 0 {
        warnings_once.push(Problem::error("0 commands: this run sends nothing").warning());
    }
    // What the manifests read from the environment, set or not (a saved
    // name used before its saver is no environment variable).
    let saved: BTreeSet<&str> = names.saved.iter().map(|(_, s)| s.name.as_str()).collect();
    let env_reads = names
        .env
        .keys()
        .chain(&names.env_absent)
        .filter(|n| !saved.contains(n.as_str()))
        .cloned()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let manifest = Manifest {
        sources,
        settings: layer,
        commands: std::sync::Arc::new(commands),
        counted,
        longest_params: longest,
        warnings: warnings_once,
        protocol,
        env_reads,
    };
    (Ok(manifest), parts)
}

/// A warning said by many commands (a PRO-only method in a `for_each`)
/// is said once, at its first place, with how many more said it.
fn once_each(warnings: Vec<Problem>) -> Vec<Problem> {
    let mut out: Vec<Problem> = Vec::with_capacity(warnings.len());
    let mut seen: HashMap<String, (usize, usize)> = HashMap::new();
    for w in warnings {
        match seen.get_mut(&w.message) {
            Some((_, n)) => *n += 1,
            None => {
                seen.insert(w.message.clone(), (out.len(), 0));
                out.push(w);
            }
        }
    }
    for (at, more) in seen.into_values() {
        if more > 0 {
            let p = &mut out[at];
            let also = format!("{more} more command{} the same", if more == 1 { " says" } else { "s say" });
            p.help = Some(match p.help.take() {
                Some(h) => format!("{h}; {also}"),
                None => also,
            });
        }
    }
    out
}

/// The names the manifests define, save and read, across all of them: what
/// is explained once everything is known.
#[derive(Default)]
struct Names {
    /// `vars:` names.
    defined: BTreeSet<String>,
    /// Saved names: manifest, where, name.
    saved: Vec<(usize, Saved)>,
    /// `--var` names read.
    cli: BTreeSet<String>,
    /// Environment variables read (and where first, for a name also saved).
    env: BTreeMap<String, (usize, super::Span)>,
    /// Environment variables looked for and not set.
    env_absent: BTreeSet<String>,
    /// Every name a `${...}` referred to.
    referred: BTreeSet<String>,
}

impl Names {
    fn add<'a>(&mut self, manifest: usize, vars: impl Iterator<Item = &'a String>, saved: Vec<Saved>, reads: Reads) {
        self.defined.extend(vars.cloned());
        self.saved.extend(saved.into_iter().map(|s| (manifest, s)));
        self.cli.extend(reads.cli);
        self.env_absent.extend(reads.env_absent);
        for (name, span) in reads.env {
            self.env.entry(name).or_insert((manifest, span));
        }
        self.referred.extend(reads.names);
    }

    /// Names used before the command that saves them, saved names never
    /// used, environment variables a saved name hides, and `--var`s no
    /// manifest defines or uses.
    fn explain(&self, sources: &[Source], commands: &[Command], opts: &LoadOptions, problems: &mut Vec<Problem>) {
        let saver = |name: &str| self.saved.iter().find(|(_, s)| s.name == name);
        let place = |m: usize, span: super::Span| {
            let (line, _) = sources[m].line_col(span.offset);
            format!("{}:{line}", sources[m].name)
        };
        for p in problems.iter_mut() {
            let Some(name) = p.message.strip_prefix("undefined variable `").and_then(|r| r.strip_suffix('`')) else {
                continue;
            };
            let name = name.to_owned();
            if let Some((m, s)) = saver(&name) {
                p.message = format!("`${{{name}}}` is used before the command that saves it");
                p.help = Some(format!(
                    "`{name}` is saved at {}: a command may use a saved name only after the command that saves it",
                    place(*m, s.span)
                ));
            }
        }
        for (name, (m, span)) in &self.env {
            if let Some((sm, s)) = saver(name) {
                problems.push(
                    Problem::error(format!(
                        "`${{{name}}}` is read from the environment here, before the command that saves `{name}`"
                    ))
                    .at(&sources[*m], *span, "from the environment")
                    .help(format!(
                        "`{name}` is saved at {}: rename the saved name, or move this command after it",
                        place(*sm, s.span)
                    )),
                );
            }
        }
        let used: BTreeSet<&str> =
            commands.iter().filter_map(|c| c.steps()).flat_map(|s| s.uses.iter().map(String::as_str)).collect();
        for (m, s) in &self.saved {
            if !used.contains(s.name.as_str()) {
                problems.push(
                    Problem::error(format!("saved name `{}` is never used", s.name))
                        .at(&sources[*m], s.span, "saved here")
                        .help(format!("use it as `${{{}}}` in a later command, or remove it", s.name))
                        .warning(),
                );
            }
        }
        let known: Vec<&str> = self.defined.iter().chain(&self.referred).map(String::as_str).collect();
        for name in opts.vars.keys() {
            if self.defined.contains(name) || self.cli.contains(name) || opts.secret_names.contains(name) {
                continue;
            }
            let p = Problem::error(format!("{}: no manifest defines or uses `{name}`", opts.naming.var(name)));
            problems.push(match crate::diagnostic::did_you_mean(name, known.iter().copied()) {
                Some(near) => p.help(format!("did you mean {}?", opts.naming.var(near))),
                None => p.help("a variable is used as `${NAME}` in a manifest, or defined under `vars:`"),
            });
        }
    }
}

/// Every `delivered:` has a `listen:` step before it that can hear it:
/// subscribed to the channel a publish or broadcast goes to, or of the
/// user a disconnect or unsubscribe is for. (Values saved at run time
/// cannot be matched before: they are not checked.)
fn listened(sources: &[Source], commands: &[Command], problems: &mut Vec<Problem>) {
    let text =
        |m: &serde_json::Map<String, serde_json::Value>, k: &str| m.get(k).and_then(|v| v.as_str()).map(str::to_owned);
    let mut listeners: Vec<(Option<String>, Option<String>)> = Vec::new();
    for c in commands {
        // Only listeners and `delivered` commands are read (a run of
        // 200,000 publishes parsed every one's params here).
        if c.is_listen() {
            let p = c.params_map();
            listeners.push((text(&p, "channel"), text(&p, "user")));
            continue;
        }
        let Some((_, at)) = c.steps().and_then(|s| s.delivered) else { continue };
        if c.params().contains("\\u0000saved:") {
            continue;
        }
        let p = c.params_map();
        let (heard, wanted) = match c.method.name {
            "broadcast" => {
                let chans: Vec<String> = p
                    .get("channels")
                    .and_then(|v| v.as_array())
                    .into_iter()
                    .flatten()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect();
                let heard = listeners.iter().any(|(ch, _)| ch.as_ref().is_some_and(|ch| chans.contains(ch)));
                (heard, format!("listens on one of its channels ({})", chans.join(", ")))
            }
            "disconnect" => {
                let user = text(&p, "user").unwrap_or_default();
                (listeners.iter().any(|(_, u)| u.as_deref() == Some(&user)), format!("is a client of user `{user}`"))
            }
            "unsubscribe" => {
                let (user, ch) = (text(&p, "user").unwrap_or_default(), text(&p, "channel").unwrap_or_default());
                let heard = listeners.iter().any(|(c, u)| u.as_deref() == Some(&user) && c.as_deref() == Some(&ch));
                (heard, format!("is user `{user}` subscribed to `{ch}`"))
            }
            _ => {
                let ch = text(&p, "channel").unwrap_or_default();
                (listeners.iter().any(|(c, _)| c.as_deref() == Some(&ch)), format!("listens on `{ch}`"))
            }
        };
        if !heard {
            problems.push(
                Problem::error(format!("`delivered`, but no `listen` step before this command {wanted}"))
                    .at(&sources[at.manifest as usize], at.span, "no listener")
                    .help("add a `- listen: {channel: CHANNEL, user: USER}` step before it"),
            );
        }
    }
}

/// The protocol a layer sets.
fn protocol_of(layer: &Layer) -> Option<Protocol> {
    match layer.value(crate::settings::Key::Protocol) {
        Some(crate::settings::Value::Protocol(p)) => Some(*p),
        _ => None,
    }
}

/// Whether the manifests' `defaults: {env: ...}` lets `${NAME}` read the environment.
fn env_switch(layer: &Layer) -> Option<bool> {
    layer.value(Key::Env).and_then(crate::settings::Value::as_bool)
}

/// `--protocol` or the profile's, else the manifests', else what the profile implies, else `api`.
fn final_protocol(opts: &LoadOptions, layer: &Layer) -> Protocol {
    let manifest = protocol_of(layer);
    opts.protocol.or(manifest).or(opts.fallback_protocol).unwrap_or_default()
}

/// Validates manifest `i`; its `server:` and `defaults:` merge into `layer`.
/// `forced`: the settings to validate commands with, instead of those
/// seen before its `commands` list.
fn validate_one(
    i: usize,
    source: &Source,
    opts: &LoadOptions,
    inputs: &Inputs,
    layer: &mut Layer,
    forced: Option<&ItemSettings>,
) -> Validated {
    let parts = opts.parts.unwrap_or_else(|| default_parts(source.text.len())).max(1);
    let before = layer.clone();
    let v = validate_in_parts(i, source, opts, inputs, layer, forced, parts);
    if v.parts > 1 && !v.saved.is_empty() {
        // A part does not see names saved in the parts before it: a
        // manifest with `save:` is validated in one part.
        *layer = before;
        return validate_in_parts(i, source, opts, inputs, layer, forced, 1);
    }
    v
}

fn validate_in_parts(
    i: usize,
    source: &Source,
    opts: &LoadOptions,
    inputs: &Inputs,
    layer: &mut Layer,
    forced: Option<&ItemSettings>,
    parts: usize,
) -> Validated {
    let dir = match source.name.as_str() {
        STDIN => PathBuf::from("."),
        name => Path::new(name)
            .parent()
            .map(Path::to_path_buf)
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or_else(|| PathBuf::from(".")),
    };
    let root = Root::new(&dir, opts.file_root.as_deref(), opts.naming);
    let earlier = protocol_of(layer);
    let sink = Items { source, opts, inputs, root: &root, manifest: i, earlier, forced, finally: false };
    let (tree, done) = match yaml::parse_streaming(&source.text, Stream { key: COMMANDS, parts }, &sink) {
        Ok(parsed) => parsed,
        Err(e) => {
            // A manifest that is not YAML has only that problem.
            let problems = vec![e.problem(source)];
            return Validated {
                problems,
                commands: Vec::new(),
                counted: 0,
                longest: 0,
                assumed: None,
                vars: HashMap::new(),
                parts: 1,
                saved: Vec::new(),
                reads: Reads::default(),
            };
        }
    };
    let mut ck = Checker::new(source);
    let doc = document::document(&mut ck, &tree, opts, inputs, source, &dir, layer);
    let mut reads = ck.reads.take();
    let mut problems = ck.problems;
    let parts = done.len();
    let mut done = done;
    // Items that did not stream (a list given by alias) are in the tree:
    // validated as one more part.
    if let Some((_, Some(list))) = &doc
        && let Value::Seq(items) = &list.value
        && !items.is_empty()
    {
        let entries = tree.as_map().unwrap_or_default();
        let head = &entries[..entries.iter().position(|(k, _)| k.as_str() == Some(COMMANDS)).unwrap_or(0)];
        let mut part = sink.part(0..0);
        for item in items {
            sink.item(&mut part, head, item.clone());
        }
        done.push(part);
    }
    // `finally:`, after the commands: it may use every name they save.
    let entries = tree.as_map().unwrap_or_default();
    if let Some((_, list)) = entries.iter().find(|(k, _)| k.as_str() == Some(FINALLY))
        && let Value::Seq(items) = &list.value
    {
        let last = Items { finally: true, ..sink };
        let mut part = last.part(source.text.len()..source.text.len());
        for s in done.iter().flat_map(|p| &p.declared) {
            part.saved.insert(s.name.clone(), super::steps::saved_placeholder(&s.name));
        }
        for item in items {
            last.item(&mut part, entries, item.clone());
        }
        done.push(part);
    }
    let mut assumed = None;
    let mut commands = Vec::new();
    let (mut counted, mut longest) = (0, 0);
    let mut saved = Vec::new();
    let all_kept: usize = done.iter().map(|p| p.commands.kept()).sum();
    for part in done {
        let part_reads = part.ck.reads.take();
        reads.cli.extend(part_reads.cli);
        reads.names.extend(part_reads.names);
        reads.env_absent.extend(part_reads.env_absent);
        for (name, span) in part_reads.env {
            reads.env.entry(name).or_insert(span);
        }
        problems.extend(part.ck.problems);
        let (kept, n, l) = part.commands.finish();
        // The first part reserved room for all (see `Items::part`): no copy of it.
        append(&mut commands, kept);
        commands.reserve(all_kept - commands.len());
        (counted, longest) = (counted + n, longest.max(l));
        assumed = assumed.or(part.settings);
        saved.extend(part.declared);
    }
    let vars = doc.map(|(vars, _)| vars).unwrap_or_default();
    Validated { problems, commands, counted, longest, assumed, vars, parts, saved, reads }
}

/// Validates each command as the parser completes it.
#[derive(Clone, Copy)]
struct Items<'s> {
    source: &'s Source,
    opts: &'s LoadOptions,
    inputs: &'s Inputs,
    root: &'s Root,
    manifest: usize,
    /// The protocol set by earlier manifests.
    earlier: Option<Protocol>,
    forced: Option<&'s ItemSettings>,
    /// The items are of the `finally:` list.
    finally: bool,
}

/// What one part of a manifest produced.
struct Part<'s> {
    ck: Checker<'s>,
    settings: Option<ItemSettings>,
    commands: Commands,
    /// Names saved by its commands so far, each with its placeholder.
    saved: HashMap<String, String>,
    /// The same names, where they are declared.
    declared: Vec<Saved>,
}

impl<'s> ItemSink<'s> for Items<'s> {
    type Part = Part<'s>;

    fn part(&self, text: std::ops::Range<usize>) -> Part<'s> {
        // At most one command per line (more only with `for_each`, which
        // reserves its own). The first part's commands are all of them in
        // the end: it reserves room for every line, so the other parts are
        // appended to it without a copy (untouched capacity costs nothing).
        let end = if text.start == 0 { self.source.text.len() } else { text.end };
        let expected = if self.opts.count_only { 0 } else { self.source.lines_in(text.start, end) };
        Part {
            ck: Checker::new(self.source),
            settings: None,
            commands: Commands::new(!self.opts.count_only, expected),
            saved: HashMap::new(),
            declared: Vec::new(),
        }
    }

    fn text(&self, part: &mut Part<'s>, entries: &[(Node<'s>, Node<'s>)], at: yaml::ItemAt) -> bool {
        let protocol = self.settings(part, entries).protocol;
        let cx = CommandContext { manifest: self.manifest, root: self.root, protocol, finally: self.finally };
        command::plain_text(&part.ck, at, &cx, &mut part.commands)
    }

    fn item(&self, part: &mut Part<'s>, entries: &[(Node<'s>, Node<'s>)], item: Node<'s>) {
        self.settings(part, entries);
        let settings = part.settings.as_ref().expect("just made");
        let env = settings.read_env.then_some(&self.opts.env);
        let scope = Scope {
            saved: Some(&part.saved),
            forbidden: Some(&self.inputs.forbidden),
            naming: self.inputs.naming,
            ..Scope::new(&self.inputs.cli, &settings.vars, env)
        };
        let cx = CommandContext {
            manifest: self.manifest,
            root: self.root,
            protocol: settings.protocol,
            finally: self.finally,
        };
        let declared = command::command(&mut part.ck, &item, &scope, &cx, &mut part.commands);
        for s in declared {
            let placeholder = super::steps::saved_placeholder(&s.name);
            part.saved.insert(s.name.clone(), placeholder);
            part.declared.push(s);
        }
    }
}

impl<'s> Items<'s> {
    /// The settings the part's commands are validated with: made at its first item.
    fn settings<'p>(&self, part: &'p mut Part<'s>, entries: &[(Node<'s>, Node<'s>)]) -> &'p ItemSettings {
        part.settings.get_or_insert_with(|| match self.forced {
            Some(f) => f.clone(),
            None => self.seen_before(entries),
        })
    }

    /// The variables, protocol and environment switch of the entries before the list.
    fn seen_before(&self, entries: &[(Node, Node)]) -> ItemSettings {
        let mut quiet = Checker::new(self.source);
        let section = |name: &str| entries.iter().find(|(k, _)| k.as_str() == Some(name)).map(|(_, v)| v);
        let setting = |sec: &str, key: &str| {
            section(sec)
                .and_then(|v| v.as_map())
                .and_then(|m| m.iter().find(|(k, _)| k.as_str() == Some(key)))
                .map(|(_, v)| v)
        };
        let here_env = match setting("defaults", "env").map(|v| &v.value) {
            Some(Value::Bool(b)) => Some(*b),
            _ => None,
        };
        let opts = self.opts;
        let read_env = opts.read_env.or(here_env).unwrap_or(true);
        let env = read_env.then_some(&opts.env);
        let vars = section("vars").map(|v| var_section(&mut quiet, v, self.inputs, env)).unwrap_or_default();
        let here = setting("server", "protocol").and_then(|v| v.as_str()?.parse().ok());
        let protocol = opts.protocol.or(self.earlier).or(here).or(opts.fallback_protocol).unwrap_or_default();
        ItemSettings { vars, protocol, read_env }
    }
}

/// Moves `more` to the end of `all` (no copy when `all` is empty).
fn append(all: &mut Vec<Command>, mut more: Vec<Command>) {
    if all.is_empty() {
        std::mem::swap(all, &mut more);
    } else {
        all.append(&mut more);
    }
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
    let bytes = read_bytes(path, &meta).map_err(unreadable)?;
    decode(name, bytes)
}

/// A regular file this long or longer is read by two threads, half each:
/// the kernel's copy into fresh pages was a third of what `check` of
/// 200,000 publishes (15 MB) did before its parts were parsed.
const READ_IN_TWO: u64 = 4 << 20;

fn read_bytes(path: &Path, meta: &std::fs::Metadata) -> std::io::Result<Vec<u8>> {
    use std::io::{Seek, SeekFrom};
    use std::os::unix::fs::FileExt;
    if !(meta.is_file() && meta.len() >= READ_IN_TWO && crate::cores::two()) {
        return std::fs::read(path);
    }
    let mut file = std::fs::File::open(path)?;
    let len = usize::try_from(file.metadata()?.len()).map_err(std::io::Error::other)?;
    // Zeroed by the allocator as fresh pages: not written before they are read into.
    let mut bytes = vec![0u8; len];
    let (first, second) = bytes.split_at_mut(len / 2);
    let shared = &file;
    let (a, b) =
        crate::cores::both(true, || shared.read_exact_at(first, 0), || shared.read_exact_at(second, (len / 2) as u64));
    a.and(b)?;
    // Anything written after the length was taken, as a whole read would have.
    file.seek(SeekFrom::Start(len as u64))?;
    file.read_to_end(&mut bytes)?;
    Ok(bytes)
}

fn read_stdin() -> Result<Source, Box<Problem>> {
    let mut bytes = Vec::new();
    std::io::stdin()
        .take(MAX_MANIFEST_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Box::new(Problem::error(format!("cannot read the manifest from standard input: {e}"))))?;
    if bytes.len() as u64 > MAX_MANIFEST_BYTES {
        return Err(Box::new(Problem::error(format!(
            "the manifest on standard input is over the limit of {MAX_MANIFEST_BYTES} bytes"
        ))));
    }
    decode(STDIN.to_owned(), bytes)
}

fn decode(name: String, bytes: Vec<u8>) -> Result<Source, Box<Problem>> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_manifest_read_in_two_halves_is_its_file_byte_for_byte() {
        let dir = tempfile::tempdir().unwrap();
        // Over READ_IN_TWO, its middle inside a two-byte character.
        let line = "  - publish: {channel: é, data: \"ü\"}\n";
        let mut text = format!("commands:\n{}", line.repeat(READ_IN_TWO as usize / line.len() + 1001));
        while text.is_char_boundary(text.len() / 2) {
            text.insert(0, '#');
        }
        let path = dir.path().join("long.yaml");
        std::fs::write(&path, &text).unwrap();
        let source = read(&path).unwrap();
        assert_eq!(source.text.len(), text.len());
        assert!(*source.text == text);
        // A short one, and one that is not a regular file, the usual way.
        std::fs::write(&path, "commands: []\n").unwrap();
        assert_eq!(*read(&path).unwrap().text, "commands: []\n");
        let dir_error = read(dir.path()).unwrap_err();
        assert!(dir_error.message.starts_with("cannot read manifest"), "{}", dir_error.message);
    }

    #[test]
    fn a_command_list_given_by_alias_is_validated_after_the_document() {
        let text = "x: &l\n  - publish: {channel: a, data: 1}\n  - publish: {chanel: a, data: 1}\ncommands: *l\n";
        let problems = load_text("m.yaml", text, &LoadOptions::default()).unwrap_err();
        let messages: Vec<&str> = problems.iter().map(|p| p.message.as_str()).collect();
        assert_eq!(messages, ["unknown top-level key `x`", "unknown field `chanel` in `publish`"]);
    }

    #[test]
    fn an_unknown_method_below_the_first_line_is_the_only_problem_of_its_item() {
        let text = "commands:\n  - name: x\n    publsh: {channel: a, data: 1}\n  - name: y\n";
        let problems = load_text("m.yaml", text, &LoadOptions::default()).unwrap_err();
        let messages: Vec<&str> = problems.iter().map(|p| p.message.as_str()).collect();
        assert_eq!(messages, ["unknown method `publsh`", "a command needs one method key"]);
        assert_eq!(problems[1].span.offset, text.find("- name: y").unwrap() + 2, "the second item's, not the first's");
    }
}
