//! Centrifugo's own configuration file in — JSON, YAML or TOML, the format
//! chosen by the extension as the server chooses it — and the options it
//! gives each channel namespace out, with the server's defaults where the
//! file is silent. Then, for a validated manifest, every command the
//! server would refuse for those options, as errors located at the channel
//! (or the data): a namespace the file does not have (102), history or
//! presence where they are off (108), a publication the namespace does not
//! take (107).
//!
//! What each method's handler asks of the namespace is the method table's
//! ([`NamespaceUse`]); how the server reads the file and finds a channel's
//! namespace is Centrifugo 6.9.1's, cited where it is followed. What the
//! file cannot say is left alone: environment variables (`CENTRIFUGO_*`)
//! and flags the server was started with override it.

use std::path::Path;

use serde_json::{Map, Value as Json};

use crate::diagnostic::{Problem, Source, Span, did_you_mean};
use crate::manifest::{Command, Manifest};
use crate::methods::NamespaceUse;
use crate::methods::check::Seg;
use crate::protocol::Protocol;
use crate::settings::Origin;

/// Largest configuration file read.
const MAX_BYTES: u64 = 64 * 1024 * 1024;

/// Commands of one manifest item (a `for_each` makes many) reported
/// before the rest are counted.
const PER_ITEM: usize = 5;

/// A server's channel configuration, as read from its file.
#[derive(Debug, Clone)]
pub(crate) struct ServerConfig {
    /// The file, as messages name it.
    shown: String,
    /// Where it was given: the flag, or a manifest's `server.config`.
    from: Origin,
    /// `channel.namespace_boundary`.
    boundary: String,
    /// `channel.private_prefix`: taken off a channel before its namespace is read.
    private_prefix: String,
    /// `channel.without_namespace`.
    without_namespace: Options,
    /// `channel.namespaces`, in the file's order.
    namespaces: Vec<(String, Options)>,
}

/// What the server API checks of a namespace's options.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Options {
    presence: bool,
    /// `history_size` and `history_ttl` both above zero (api.go:708).
    history: bool,
    /// `subscription_type`; empty is `stream`.
    subscription_type: String,
    /// `shared_poll.publish_enabled`.
    shared_poll_publish: bool,
    /// `publication_data_format`, or the one of `channel` when empty (container.go:114).
    data_format: String,
}

const MAP_TYPES: &[&str] = &["map", "map_clients", "map_users"];

/// Reads Centrifugo's configuration file. The problem has no place yet:
/// the caller puts it where the file was named.
pub(crate) fn read(path: &Path, from: Origin) -> Result<ServerConfig, Box<Problem>> {
    let shown = path.display().to_string();
    let value = parse(path, &shown)?;
    decode(value, shown, from)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Json,
    Yaml,
    Toml,
}

/// The file as JSON. The format is the extension's, compared as it is
/// written: viper (the server's reader) takes `.JSON` for a format of its
/// own and refuses it (viper 1.21.0 viper.go:1525, `getConfigType`).
fn parse(path: &Path, shown: &str) -> Result<Json, Box<Problem>> {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    let format = match ext {
        "json" => Format::Json,
        "yaml" | "yml" => Format::Yaml,
        "toml" => Format::Toml,
        "" => {
            return Err(Problem::error(format!(
                "{shown} has no extension: Centrifugo reads a configuration's format from it"
            ))
            .help("name the file .json, .yaml, .yml or .toml, as the server is given it")
            .into());
        }
        other => {
            let help = if ["json", "yaml", "yml", "toml"].contains(&other.to_lowercase().as_str()) {
                format!(
                    "Centrifugo 6.9.1 refuses `.{other}` too (\"Unsupported Config Type\"): the extension is lower case"
                )
            } else {
                "cent-run reads Centrifugo configurations named .json, .yaml, .yml or .toml".to_owned()
            };
            return Err(Problem::error(format!("{shown}: `.{other}` is not a configuration format cent-run reads"))
                .help(help)
                .into());
        }
    };
    let cannot =
        |e: &dyn std::fmt::Display| Problem::error(format!("cannot read the server configuration {shown}: {e}"));
    let size = std::fs::metadata(path).map_err(|e| cannot(&e))?.len();
    if size > MAX_BYTES {
        return Err(cannot(&format!("it is {size} bytes, over {MAX_BYTES}")).into());
    }
    let bytes = std::fs::read(path).map_err(|e| cannot(&e))?;
    let text = String::from_utf8(bytes).map_err(|_| cannot(&"it is not UTF-8 text"))?;
    let source = Source::new(shown, text.as_str());
    let not = |what: &str, at: Option<usize>, message: &str| {
        let place = at.map_or_else(String::new, |offset| {
            let (l, c) = source.line_col(offset);
            format!(" at {shown}:{l}:{c}")
        });
        Problem::error(format!("the server configuration {shown} is not valid {what}{place}: {message}"))
            .help("Centrifugo would not start with it either")
    };
    let value = match format {
        Format::Json => serde_json::from_str::<Json>(&text).map_err(|e| {
            let message = e.to_string();
            let message = message.rsplit_once(" at line ").map_or(message.as_str(), |(m, _)| m).to_owned();
            not("JSON", (e.line() > 0).then(|| source.offset_of(e.line(), e.column().max(1))), &message)
        })?,
        Format::Yaml => match crate::manifest::yaml_as_json(&source) {
            Ok(v) => v,
            Err(p) => return Err(not("YAML", Some(p.span.offset), &p.message).into()),
        },
        Format::Toml => toml::from_str::<Json>(&text).map_err(|e| {
            let message = e.message().trim_end().to_owned();
            not("TOML", e.span().map(|s| s.start), &message)
        })?,
    };
    Ok(lower_keys(value))
}

/// Keys in lower case at every depth: viper's keys are case-insensitive
/// (viper 1.21.0 util.go:89, `insensitiviseMap`).
fn lower_keys(value: Json) -> Json {
    match value {
        Json::Object(map) => Json::Object(map.into_iter().map(|(k, v)| (k.to_lowercase(), lower_keys(v))).collect()),
        Json::Array(items) => Json::Array(items.into_iter().map(lower_keys).collect()),
        other => other,
    }
}

/// Reads values as viper's decoder does (mapstructure with weakly typed
/// input): `"true"` is a boolean, `"10"` a number, a number a duration in
/// nanoseconds; anything else stops the server, and so is a problem here.
struct Decoder<'a> {
    shown: &'a str,
}

impl Decoder<'_> {
    fn wrong(&self, path: &str, value: &Json, want: &str) -> Box<Problem> {
        let why = format!("`{path}` is {value}, not {want}");
        self.refused_with(why, "Centrifugo 6.9.1 would not start with it (\"error unmarshalling config\")")
    }

    fn refused(&self, why: String) -> Box<Problem> {
        self.refused_with(why, "Centrifugo 6.9.1 would not start with it")
    }

    fn refused_with(&self, why: String, help: &str) -> Box<Problem> {
        Box::new(Problem::error(format!("{}: {why}", self.shown)).help(help))
    }

    /// mapstructure `decodeBool` (weak: numbers, and strings as Go's `strconv.ParseBool`).
    fn boolean(&self, v: Option<&Json>, path: &str) -> Result<bool, Box<Problem>> {
        match v {
            None | Some(Json::Null) => Ok(false),
            Some(Json::Bool(b)) => Ok(*b),
            Some(Json::Number(n)) => Ok(n.as_f64().is_some_and(|f| f != 0.0)),
            Some(Json::String(s)) => match s.as_str() {
                "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
                "0" | "f" | "F" | "FALSE" | "false" | "False" | "" => Ok(false),
                _ => Err(self.wrong(path, v.unwrap_or(&Json::Null), "a boolean")),
            },
            Some(other) => Err(self.wrong(path, other, "a boolean")),
        }
    }

    /// mapstructure `decodeInt` (floats truncated; weak: booleans, and
    /// strings as Go's `strconv.ParseInt(s, 0, 64)`).
    fn integer(&self, v: Option<&Json>, path: &str) -> Result<i64, Box<Problem>> {
        match v {
            None | Some(Json::Null) => Ok(0),
            Some(Json::Bool(b)) => Ok(i64::from(*b)),
            Some(Json::Number(n)) => Ok(number_i64(n)),
            Some(Json::String(s)) => go_int(s).ok_or_else(|| self.wrong(path, v.unwrap_or(&Json::Null), "an integer")),
            Some(other) => Err(self.wrong(path, other, "an integer")),
        }
    }

    /// A Centrifugo duration in nanoseconds: a string as Go's
    /// `time.ParseDuration` (configtypes/duration.go:69), a number as
    /// nanoseconds (mapstructure `decodeInt`).
    fn duration(&self, v: Option<&Json>, path: &str) -> Result<i64, Box<Problem>> {
        match v {
            Some(Json::String(s)) => {
                go_duration(s).ok_or_else(|| self.wrong(path, v.unwrap_or(&Json::Null), "a duration (e.g. \"300s\")"))
            }
            _ => self.integer(v, path),
        }
    }

    /// mapstructure `decodeString` (weak: booleans as `1`/`0`, numbers as written).
    fn text(&self, v: Option<&Json>, path: &str) -> Result<String, Box<Problem>> {
        match v {
            None | Some(Json::Null) => Ok(String::new()),
            Some(Json::String(s)) => Ok(s.clone()),
            Some(Json::Bool(b)) => Ok(if *b { "1" } else { "0" }.to_owned()),
            Some(Json::Number(n)) => Ok(n.to_string()),
            Some(other) => Err(self.wrong(path, other, "a string")),
        }
    }

    fn map<'j>(&self, v: Option<&'j Json>, path: &str) -> Result<Option<&'j Map<String, Json>>, Box<Problem>> {
        match v {
            None | Some(Json::Null) => Ok(None),
            Some(Json::Object(m)) => Ok(Some(m)),
            Some(other) => Err(self.wrong(path, other, "a mapping")),
        }
    }

    /// One namespace's options (configtypes/namespace.go `ChannelOptions`),
    /// checked as the server checks them before it starts (validate.go:226).
    fn options(&self, m: Option<&Map<String, Json>>, path: &str, global_format: &str) -> Result<Options, Box<Problem>> {
        let empty = Map::new();
        let m = m.unwrap_or(&empty);
        let at = |key: &str| format!("{path}.{key}");
        let size = self.integer(m.get("history_size"), &at("history_size"))?;
        let ttl = self.duration(m.get("history_ttl"), &at("history_ttl"))?;
        // validate.go:227 and :511: a number is nanoseconds, and a TTL must be whole seconds.
        if ttl > 0 && ttl % 1_000_000_000 != 0 {
            return Err(self.refused_with(
                format!("`{}` is {ttl}ns: sub-second precision is not supported for this key", at("history_ttl")),
                "Centrifugo 6.9.1 would not start with it: a number is nanoseconds, write e.g. \"600s\"",
            ));
        }
        if (size != 0) != (ttl != 0) {
            return Err(self.refused(format!("in `{path}`: both history size and history ttl required for history")));
        }
        let subscription_type = self.text(m.get("subscription_type"), &at("subscription_type"))?;
        if !["", "stream", "map", "map_clients", "map_users", "shared_poll"].contains(&subscription_type.as_str()) {
            return Err(self
                .refused(format!("`{}`: unknown subscription_type \"{subscription_type}\"", at("subscription_type"))));
        }
        let mut data_format = self.text(m.get("publication_data_format"), &at("publication_data_format"))?;
        if !["", "json", "json_object", "binary"].contains(&data_format.as_str()) {
            return Err(self.refused(format!(
                "`{}`: unknown publication_data_format \"{data_format}\"",
                at("publication_data_format")
            )));
        }
        if data_format.is_empty() {
            data_format = global_format.to_owned();
        }
        let shared_poll = self.map(m.get("shared_poll"), &at("shared_poll"))?;
        Ok(Options {
            presence: self.boolean(m.get("presence"), &at("presence"))?,
            history: size > 0 && ttl > 0,
            subscription_type,
            shared_poll_publish: self
                .boolean(shared_poll.and_then(|s| s.get("publish_enabled")), &at("shared_poll.publish_enabled"))?,
            data_format,
        })
    }
}

/// The `channel` section of a parsed file (configtypes/types.go `Channel`).
fn decode(value: Json, shown: String, from: Origin) -> Result<ServerConfig, Box<Problem>> {
    let d = Decoder { shown: &shown };
    let top = match &value {
        Json::Object(m) => m.clone(),
        // An empty YAML document: every default.
        Json::Null => Map::new(),
        other => return Err(d.wrong("(the whole file)", other, "a mapping")),
    };
    // Centrifugo 5 and earlier kept namespaces and their options at the top;
    // 6 reads them only under `channel` and would ignore these.
    let old = ["namespaces", "presence", "history_size", "history_ttl", "history_lifetime"]
        .into_iter()
        .find(|k| top.contains_key(*k));
    if let Some(key) = old
        && !top.contains_key("channel")
    {
        return Err(Problem::error(format!(
            "{shown} is laid out for Centrifugo 5 or earlier (`{key}` at the top): Centrifugo 6 reads channel options from `channel.namespaces` and `channel.without_namespace`"
        ))
        .help("give the server's Centrifugo 6 configuration (Centrifugo's v6 migration guide converts an older one)")
        .into());
    }
    let channel = d.map(top.get("channel"), "channel")?;
    let empty = Map::new();
    let channel = channel.unwrap_or(&empty);
    // An empty value is not set: envconfig puts the default in a zero field
    // (internal/config/envconfig/envconfig.go:231 and :273).
    let or = |v: String, default: &str| if v.is_empty() { default.to_owned() } else { v };
    let boundary = or(d.text(channel.get("namespace_boundary"), "channel.namespace_boundary")?, ":");
    let private_prefix = or(d.text(channel.get("private_prefix"), "channel.private_prefix")?, "$");
    let global_format = d.text(channel.get("publication_data_format"), "channel.publication_data_format")?;
    if !["", "json", "json_object", "binary"].contains(&global_format.as_str()) {
        return Err(d.refused(format!("unknown channel.publication_data_format \"{global_format}\"")));
    }
    let without = d.map(channel.get("without_namespace"), "channel.without_namespace")?;
    let without_namespace = d.options(without, "channel.without_namespace", &global_format)?;
    // A mapping where a list is wanted is lifted into a list of one
    // (mapstructure's weak `decodeSlice`).
    let listed: Vec<&Json> = match channel.get("namespaces") {
        None | Some(Json::Null) => Vec::new(),
        Some(Json::Array(items)) => items.iter().collect(),
        Some(Json::Object(m)) if m.is_empty() => Vec::new(),
        Some(one @ Json::Object(_)) => vec![one],
        Some(other) => return Err(d.wrong("channel.namespaces", other, "a list of namespaces")),
    };
    let mut namespaces: Vec<(String, Options)> = Vec::with_capacity(listed.len());
    for (i, item) in listed.into_iter().enumerate() {
        let path = format!("channel.namespaces[{i}]");
        let m = d.map(Some(item), &path)?;
        let name = d.text(m.and_then(|m| m.get("name")), &format!("{path}.name"))?;
        // validate.go:209 and :96.
        if name.len() < 2 || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)) {
            return Err(
                d.refused(format!("invalid namespace name `{name}` in `{path}` (must match ^[-a-zA-Z0-9_.]{{2,}}$)"))
            );
        }
        if namespaces.iter().any(|(n, _)| *n == name) {
            return Err(d.refused(format!("namespace name must be unique: `{name}` (`{path}`)")));
        }
        let options = d
            .options(m, &path, &global_format)
            .map_err(|p| Box::new(Problem { message: format!("{} (namespace `{name}`)", p.message), ..*p }))?;
        namespaces.push((name, options));
    }
    Ok(ServerConfig { shown, from, boundary, private_prefix, without_namespace, namespaces })
}

/// A JSON number as mapstructure puts it into an `int64`: floats truncated.
fn number_i64(n: &serde_json::Number) -> i64 {
    n.as_i64().unwrap_or_else(|| match n.as_u64() {
        Some(_) => i64::MAX,
        None => n.as_f64().map_or(0, |f| f as i64),
    })
}

/// Go's `strconv.ParseInt(s, 0, 64)`, as mapstructure calls it (an empty
/// string is 0): a sign, then decimal, `0x`, `0o`, `0b` or a leading-`0` octal;
/// underscores only after a base prefix.
fn go_int(s: &str) -> Option<i64> {
    if s.is_empty() {
        return Some(0);
    }
    let (negative, rest) = match s.as_bytes()[0] {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let lower = rest.to_ascii_lowercase();
    let (radix, digits) = if let Some(d) = lower.strip_prefix("0x") {
        (16, d.replace('_', ""))
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d.replace('_', ""))
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d.replace('_', ""))
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, lower[1..].replace('_', ""))
    } else {
        if lower.contains('_') {
            return None;
        }
        (10, lower)
    };
    if digits.is_empty() || digits.starts_with(['+', '-']) {
        return None;
    }
    let magnitude = i128::from_str_radix(&digits, radix).ok()?;
    let value = if negative { -magnitude } else { magnitude };
    i64::try_from(value).ok()
}

/// Go's `time.ParseDuration`, in nanoseconds (a sign, then cent-run's own
/// reading of Go durations).
fn go_duration(s: &str) -> Option<i64> {
    let (negative, rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if rest.trim() != rest {
        return None;
    }
    let d = crate::duration::parse(rest).ok()?;
    let nanos = i64::try_from(d.as_nanos()).ok()?;
    Some(if negative { -nanos } else { nanos })
}

/// The options a channel gets, or why it gets none.
enum Found<'c> {
    /// In namespace `name` (`None`: a channel without namespace).
    Options(Option<&'c str>, &'c Options),
    /// Its namespace is not in the file.
    Unknown(&'c str),
    /// A saved name, filled in when it runs, decides the namespace.
    Unjudged,
}

/// One refusal the file predicts.
struct Refusal {
    code: u32,
    reason: String,
    label: &'static str,
    help: Option<String>,
    /// Where it is shown: a path into the command's params.
    at: Vec<Seg>,
    /// Point at the key (`data`), not its value.
    at_key: bool,
}

/// The server's own words for the codes predicted here (apiproto errors).
fn server_words(code: u32) -> &'static str {
    match code {
        102 => "unknown channel",
        107 => "bad request",
        _ => "not available",
    }
}

/// How a saved name stands in a command's params until it is filled.
const SAVED: char = '\u{0}';

/// A channel as the manifest wrote it: a saved name as `${NAME}`.
fn shown(channel: &str) -> String {
    channel.replace("\u{0}saved:", "${").replace(SAVED, "}")
}

impl ServerConfig {
    /// The file and how many namespaces it has, for `check`'s summary.
    pub(crate) fn describe(&self) -> String {
        let n = self.namespaces.len();
        format!("{} ({n} {})", self.shown, if n == 1 { "namespace" } else { "namespaces" })
    }

    /// The options the server gives `channel` (container.go:85-148): the
    /// private prefix taken off, the namespace before the first boundary
    /// (none when there is none, or when it is empty: `:x` is a channel
    /// without namespace).
    fn find<'c>(&'c self, channel: &'c str) -> Found<'c> {
        let known = channel.find(SAVED).map_or(channel, |at| &channel[..at]);
        let open = known.len() < channel.len();
        if open && known.len() < self.private_prefix.len() && self.private_prefix.starts_with(known) {
            return Found::Unjudged;
        }
        let trimmed = known.strip_prefix(self.private_prefix.as_str()).unwrap_or(known);
        let namespace = match trimmed.split_once(self.boundary.as_str()) {
            Some((ns, _)) => ns,
            None if open => return Found::Unjudged,
            None => "",
        };
        if namespace.is_empty() {
            return Found::Options(None, &self.without_namespace);
        }
        match self.namespaces.iter().find(|(n, _)| n == namespace) {
            Some((name, options)) => Found::Options(Some(name), options),
            None => Found::Unknown(namespace),
        }
    }

    /// Where a namespace's options are written, for messages.
    fn whose(&self, namespace: Option<&str>) -> String {
        match namespace {
            Some(n) => format!("namespace `{n}` of {}", self.shown),
            None => format!("channels without a namespace in {} (`channel.without_namespace`)", self.shown),
        }
    }

    /// What the server would answer a command for `channel` (its `data`
    /// read from `params` when the namespace limits what it takes).
    fn judge(&self, cmd: &Command, channel: &str, params: &mut Option<Map<String, Json>>) -> Option<Refusal> {
        let usage = cmd.method.namespace;
        let channel_at = || match usage {
            NamespaceUse::Broadcast => Vec::new(),
            _ => vec![Seg::Key("channel".into())],
        };
        let (namespace, options) = match self.find(channel) {
            Found::Unjudged => return None,
            Found::Unknown(ns) => {
                let names = || self.namespaces.iter().map(|(n, _)| n.as_str());
                let listed = match self.namespaces.len() {
                    0 => {
                        format!("{} has no namespaces: only channels without one (no `{}`)", self.shown, self.boundary)
                    }
                    _ => format!(
                        "{} has the namespaces {}",
                        self.shown,
                        names().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
                    ),
                };
                let help = match did_you_mean(ns, names()) {
                    Some(n) => {
                        let written = shown(channel);
                        let at = written.find(ns).unwrap_or(0);
                        format!("did you mean `{}{n}{}`? {listed}", &written[..at], &written[at + ns.len()..])
                    }
                    None => listed,
                };
                return Some(Refusal {
                    code: 102,
                    reason: format!("{} has no namespace `{ns}`", self.shown),
                    label: "namespace not in the configuration",
                    help: Some(help),
                    at: channel_at(),
                    at_key: false,
                });
            }
            Found::Options(ns, o) => (ns, o),
        };
        let whose = self.whose(namespace);
        let kind = if options.subscription_type.is_empty() { "stream" } else { options.subscription_type.as_str() };
        let refusal = |code, reason: String, label, help: &str| Refusal {
            code,
            reason,
            label,
            help: Some(help.to_owned()),
            at: channel_at(),
            at_key: false,
        };
        match usage {
            NamespaceUse::None | NamespaceUse::Exists => None,
            NamespaceUse::History if !options.history => Some(refusal(
                108,
                format!("history is off for {whose}"),
                "history off",
                "history needs `history_size` and `history_ttl` both above zero there",
            )),
            NamespaceUse::Presence if !options.presence => {
                let mut r = refusal(
                    108,
                    format!("presence is off for {whose}"),
                    "presence off",
                    "presence needs `presence: true` there",
                );
                if cmd.steps().is_some_and(|s| s.until.is_some()) {
                    r.help = Some(format!(
                        "{}; `until` does not wait this out: a refused command ends at its first answer",
                        r.help.unwrap_or_default()
                    ));
                }
                Some(r)
            }
            NamespaceUse::Map if !MAP_TYPES.contains(&kind) => Some(refusal(
                107,
                format!("{whose} is not a map namespace (its subscription_type is `{kind}`)"),
                "not a map namespace",
                "map methods need `subscription_type` map, map_clients or map_users",
            )),
            NamespaceUse::SharedPollPublish if kind != "shared_poll" => Some(refusal(
                107,
                format!("{whose} is not a shared-poll namespace (its subscription_type is `{kind}`)"),
                "not a shared-poll namespace",
                "shared_poll_publish needs `subscription_type: shared_poll`",
            )),
            NamespaceUse::SharedPollPublish if !options.shared_poll_publish => Some(refusal(
                108,
                format!("publishing is off for {whose} (`shared_poll.publish_enabled`)"),
                "shared-poll publishing off",
                "shared_poll_publish needs `shared_poll.publish_enabled: true` there",
            )),
            NamespaceUse::Publish if kind != "stream" => Some(refusal(
                107,
                format!("{whose} is a `{kind}` namespace, and publish goes only to stream namespaces"),
                "not a stream namespace",
                if kind == "shared_poll" {
                    "use shared_poll_publish for a shared-poll namespace"
                } else {
                    "use map_publish for a map namespace"
                },
            )),
            NamespaceUse::Publish | NamespaceUse::Broadcast => self.data(cmd, &whose, options, params),
            _ => None,
        }
    }

    /// The publication against the namespace's `publication_data_format`
    /// (format.go:12): `json` wants valid JSON, `json_object` an object.
    fn data(
        &self,
        cmd: &Command,
        whose: &str,
        options: &Options,
        params: &mut Option<Map<String, Json>>,
    ) -> Option<Refusal> {
        if !matches!(options.data_format.as_str(), "json" | "json_object") {
            return None;
        }
        let params = params.get_or_insert_with(|| cmd.params_map());
        let b64 = params.get("b64data").and_then(Json::as_str).filter(|s| !s.is_empty());
        let (field, bytes) = match b64 {
            Some(text) => {
                use base64::Engine;
                if text.contains(SAVED) {
                    return None;
                }
                // Not base64 is refused whatever the configuration: not ours to say.
                ("b64data", base64::engine::general_purpose::STANDARD.decode(text).ok()?)
            }
            None => {
                let text = serde_json::to_string(params.get("data")?).ok()?;
                // A saved value may change its type when it is filled in.
                if text.contains("\\u0000saved:") {
                    return None;
                }
                ("data", text.into_bytes())
            }
        };
        let valid = serde_json::from_slice::<serde::de::IgnoredAny>(&bytes).is_ok();
        let trimmed = bytes.trim_ascii();
        let object = valid && trimmed.first() == Some(&b'{') && trimmed.last() == Some(&b'}');
        let (ok, wanted) = match options.data_format.as_str() {
            "json" => (valid, "valid JSON"),
            _ => (object, "a JSON object"),
        };
        if ok {
            return None;
        }
        let found = if !valid {
            "not JSON".to_owned()
        } else {
            match serde_json::from_slice::<Json>(&bytes) {
                Ok(Json::Array(_)) => "a list".to_owned(),
                Ok(Json::String(_)) => "a string".to_owned(),
                Ok(Json::Bool(_)) => "a boolean".to_owned(),
                Ok(Json::Null) => "null".to_owned(),
                _ => "a number".to_owned(),
            }
        };
        Some(Refusal {
            code: 107,
            reason: format!(
                "{whose} takes only {wanted} (publication_data_format `{}`), and this `{field}` is {found}",
                options.data_format
            ),
            label: "data the namespace does not take",
            help: Some(format!("send {wanted}, or publish into a namespace that takes this data")),
            at: vec![Seg::Key(field.to_owned())],
            at_key: true,
        })
    }

    /// Every command of `manifest` the server with this configuration
    /// refuses, as errors at the channel (or the data) in the manifest.
    /// A command that expects exactly that refusal (`expect: {error: CODE}`)
    /// is left alone; so is a channel whose namespace a saved name decides.
    pub(crate) fn refusals(&self, manifest: &Manifest) -> Vec<Problem> {
        if manifest.protocol == Protocol::V1 {
            let p = Problem::error(format!(
                "{} is a Centrifugo 6 configuration, and protocol v1 talks to Centrifugo 1.x",
                self.shown
            ))
            .help("give the server configuration only for servers that protocol api or legacy reaches");
            return vec![self.from.locate(p)];
        }
        // (command, channel as shown, refusal), in run order.
        let mut found: Vec<(usize, String, Refusal)> = Vec::new();
        for (i, cmd) in manifest.commands.iter().enumerate() {
            if cmd.method.namespace == NamespaceUse::None || cmd.is_wait() {
                continue;
            }
            let target = cmd.target_ref();
            let mut params = None;
            let expected = cmd.steps().and_then(|s| s.expect_error.as_ref()).map(|(code, _)| *code);
            if cmd.method.namespace == NamespaceUse::Broadcast {
                let channels = target.channels.unwrap_or_default();
                let n = channels.len();
                for (k, ch) in channels.iter().enumerate().filter(|(_, c)| !c.is_empty()) {
                    if let Some(mut r) = self.judge(cmd, ch, &mut params) {
                        if r.at.is_empty() {
                            r.at = vec![Seg::Key("channels".into()), Seg::Index(k)];
                        }
                        let ch = shown(ch);
                        found.push((i, format!("`{ch}` (channel {} of {n}, in its own response)", k + 1), r));
                    }
                }
            } else if let Some(ch) = target.channel.as_deref().filter(|c| !c.is_empty())
                && let Some(r) = self.judge(cmd, ch, &mut params)
                && expected != Some(r.code)
            {
                found.push((i, format!("`{}`", shown(ch)), r));
            }
        }
        self.place(manifest, found)
    }

    /// The refusals as problems at the manifest text that wrote them; at
    /// most [`PER_ITEM`] for one list item, the rest counted.
    fn place(&self, manifest: &Manifest, found: Vec<(usize, String, Refusal)>) -> Vec<Problem> {
        let mut kept: Vec<(usize, String, Refusal, usize)> = Vec::new();
        // By list item: how many refusals, and the last one kept.
        let mut items: std::collections::HashMap<(usize, usize), (usize, usize)> = Default::default();
        for (i, shown, r) in found {
            let c = &manifest.commands[i];
            let (n, last) = items.entry((c.manifest(), c.offset())).or_insert((0, 0));
            *n += 1;
            if *n <= PER_ITEM {
                *last = kept.len();
                kept.push((i, shown, r, 0));
            } else {
                kept[*last].3 += 1;
            }
        }
        let mut spans: Vec<Option<Span>> = vec![None; kept.len()];
        for (m, source) in manifest.sources.iter().enumerate() {
            let asks: Vec<(usize, usize, Vec<Seg>, bool)> = kept
                .iter()
                .enumerate()
                .filter(|(_, (i, ..))| manifest.commands[*i].manifest() == m)
                .map(|(k, (i, _, r, _))| (k, manifest.commands[*i].offset(), r.at.clone(), r.at_key))
                .collect();
            if asks.is_empty() {
                continue;
            }
            let wanted: Vec<(usize, Vec<Seg>, bool)> = asks.iter().map(|(_, o, p, a)| (*o, p.clone(), *a)).collect();
            for ((k, ..), span) in asks.iter().zip(crate::manifest::field_spans(source, &wanted)) {
                spans[*k] = span;
            }
        }
        kept.into_iter()
            .zip(spans)
            .map(|((i, shown, r, more), span)| {
                let c = &manifest.commands[i];
                let span = span.unwrap_or(Span { offset: c.offset(), len: 1 });
                let message = format!(
                    "{} on {shown} would be refused with {} {}: {}",
                    c.method.name,
                    r.code,
                    server_words(r.code),
                    r.reason
                );
                let mut help = r.help.unwrap_or_default();
                if more > 0 {
                    help.push_str(&format!(
                        "\nand {more} more commands of this item (its `for_each`) would be refused"
                    ));
                }
                Problem::error(message).at(&manifest.sources[c.manifest()], span, r.label).help(help)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn config(value: Json) -> Result<ServerConfig, Box<Problem>> {
        decode(lower_keys(value), "c.json".into(), Origin::Default)
    }

    fn options<'c>(c: &'c ServerConfig, channel: &'c str) -> Option<(Option<&'c str>, &'c Options)> {
        match c.find(channel) {
            Found::Options(ns, o) => Some((ns, o)),
            _ => None,
        }
    }

    #[test]
    fn go_integers_and_durations_as_the_server_reads_them() {
        assert_eq!(go_int(""), Some(0));
        assert_eq!(go_int("10"), Some(10));
        assert_eq!(go_int("-0x1_0"), Some(-16));
        assert_eq!(go_int("010"), Some(8));
        assert_eq!(go_int("1_0"), None);
        assert_eq!(go_int("ten"), None);
        assert_eq!(go_duration("600s"), Some(600_000_000_000));
        assert_eq!(go_duration("-1m"), Some(-60_000_000_000));
        assert_eq!(go_duration("0"), Some(0));
        assert_eq!(go_duration("600"), None, "Go wants a unit");
        assert_eq!(go_duration(""), None);
    }

    #[test]
    fn defaults_where_the_file_is_silent() {
        let c = config(json!({})).unwrap();
        assert_eq!((c.boundary.as_str(), c.private_prefix.as_str()), (":", "$"));
        assert_eq!(options(&c, "news"), Some((None, &Options::default())));
        assert!(matches!(c.find("chat:x"), Found::Unknown("chat")));
        // An empty value is no value: the defaults come back.
        let c = config(json!({"channel": {"namespace_boundary": "", "private_prefix": ""}})).unwrap();
        assert_eq!((c.boundary.as_str(), c.private_prefix.as_str()), (":", "$"));
        assert!(config(json!(null)).is_ok(), "an empty YAML document");
    }

    #[test]
    fn a_channel_finds_its_namespace_as_the_server_finds_it() {
        let c = config(json!({"Channel": {
            "without_namespace": {"presence": true},
            "namespaces": [{"name": "chat", "history_size": 10, "history_ttl": "60s"}, {"name": "a.b"}]
        }}))
        .unwrap();
        assert_eq!(options(&c, "chat:x").unwrap().0, Some("chat"));
        assert!(options(&c, "chat:x").unwrap().1.history);
        // The private prefix comes off first; an empty namespace is none.
        assert_eq!(options(&c, "$chat:x").unwrap().0, Some("chat"));
        assert_eq!(options(&c, ":x").unwrap().0, None);
        assert_eq!(options(&c, "$:x").unwrap().0, None);
        assert!(matches!(c.find("Chat:x"), Found::Unknown("Chat")), "names are case-sensitive");
        assert!(matches!(c.find("chat"), Found::Options(None, _)));
        // A saved value decides nothing when the namespace is written before it.
        assert!(matches!(c.find("nope:\u{0}saved:n\u{0}"), Found::Unknown("nope")));
        assert!(matches!(c.find("x\u{0}saved:n\u{0}:y"), Found::Unjudged));
        assert!(matches!(c.find("\u{0}saved:n\u{0}"), Found::Unjudged));
        let slash = config(json!({"channel": {"namespace_boundary": "/", "namespaces": [{"name": "chat"}]}})).unwrap();
        assert_eq!(options(&slash, "chat/x").unwrap().0, Some("chat"));
        assert_eq!(options(&slash, "chat:x").unwrap().0, None);
    }

    #[test]
    fn values_are_read_weakly_typed_and_wrong_ones_stop_the_server() {
        let c = config(json!({"channel": {"namespaces": [
            {"name": "a1", "presence": "true", "history_size": "0x10", "history_ttl": 60_000_000_000_u64},
            {"name": "b1", "presence": 1, "history_size": 5.9, "history_ttl": "5m"}
        ]}}))
        .unwrap();
        assert!(c.namespaces.iter().all(|(_, o)| o.presence && o.history), "{c:?}");
        // A mapping where the list goes is a list of one.
        let one = config(json!({"channel": {"namespaces": {"name": "solo"}}})).unwrap();
        assert_eq!(one.namespaces[0].0, "solo");
        let refused = |v: Json| config(v).unwrap_err().message;
        assert!(refused(json!({"channel": {"namespaces": [{"name": "x"}]}})).contains("invalid namespace name `x`"));
        assert!(refused(json!({"channel": {"namespaces": [{"name": "xy"}, {"name": "xy"}]}})).contains("unique"));
        assert!(refused(json!({"channel": {"without_namespace": {"presence": "yes"}}})).contains("not a boolean"));
        assert!(refused(json!({"channel": {"without_namespace": {"history_size": 10}}})).contains("both history"));
        assert!(
            refused(json!({"channel": {"without_namespace": {"history_size": 1, "history_ttl": 600}}}))
                .contains("600ns")
        );
        assert!(refused(json!({"channel": {"without_namespace": {"subscription_type": "x"}}})).contains("unknown"));
        assert!(refused(json!({"namespaces": [{"name": "chat"}]})).contains("Centrifugo 5 or earlier"));
        assert!(refused(json!([1])).contains("not a mapping"));
    }

    #[test]
    fn the_namespace_format_falls_back_to_the_channel_sections() {
        let c = config(json!({"channel": {
            "publication_data_format": "json_object",
            "namespaces": [{"name": "ab"}, {"name": "cd", "publication_data_format": "binary"}]
        }}))
        .unwrap();
        assert_eq!(c.without_namespace.data_format, "json_object");
        assert_eq!(c.namespaces[0].1.data_format, "json_object");
        assert_eq!(c.namespaces[1].1.data_format, "binary");
    }

    #[test]
    fn formats_by_extension_as_written() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str| {
            let p = dir.path().join(name);
            std::fs::write(&p, text).unwrap();
            p
        };
        let yaml = write("c.yml", "channel:\n  namespaces:\n    - name: chat\n      presence: true\n");
        let toml = write("c.toml", "[channel]\n[[channel.namespaces]]\nname = \"chat\"\npresence = true\n");
        for p in [yaml, toml] {
            let c = read(&p, Origin::Default).unwrap();
            assert!(c.namespaces[0].1.presence, "{}", p.display());
        }
        let upper = write("c.JSON", "{}");
        let e = read(&upper, Origin::Default).unwrap_err();
        assert!(e.help.unwrap().contains("refuses `.JSON` too"), "{}", e.message);
        let bad = write("bad.yaml", "channel:\n  a: 1\n  a: 2\n");
        let e = read(&bad, Origin::Default).unwrap_err();
        assert!(e.message.contains("not valid YAML at") && e.message.contains("bad.yaml:3:3"), "{}", e.message);
    }
}
