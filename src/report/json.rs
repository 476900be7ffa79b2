//! `--report-json` / `--format json`: the run report, version 2 — every
//! field of one type (its JSON Schema is [`super::schema::report`], printed
//! by `cent-run schema --report`; `docs/report.md` describes each field).

use std::borrow::Cow;
use std::io::{self, Write};

use serde::Serialize;
use serde_json::value::RawValue;

use super::Run;
use crate::executor::{ChannelOutcome, Outcome, Summary};
use crate::exit::{Exit, Signal};
use crate::protocol::ApiError;

/// The report's format version (1: cent-run before this change).
pub(crate) const VERSION: u32 = 2;

#[derive(Serialize)]
struct Head<'a> {
    version: u32,
    run_id: &'a str,
    duration_ms: u64,
    exit: JsonExit,
    signal: Option<&'static str>,
    summary: Summary,
    causes: Vec<JsonCause>,
    nodes: Vec<JsonNode>,
    /// Validation problems: the errors of an invalid run (then there are no
    /// commands), or the warnings of a valid one.
    problems: Vec<super::JsonProblem>,
    commands: [(); 0],
}

#[derive(Serialize)]
struct JsonExit {
    code: u8,
    meaning: &'static str,
}

impl From<Exit> for JsonExit {
    fn from(e: Exit) -> Self {
        JsonExit { code: e.code(), meaning: e.meaning() }
    }
}

#[derive(Serialize)]
struct JsonCause {
    status: &'static str,
    reason: Option<&'static str>,
    message: String,
    count: usize,
    /// The first commands, by index (at most ten).
    commands: Vec<usize>,
}

#[derive(Serialize)]
struct JsonNode {
    url: String,
    commands: usize,
    failures: Vec<JsonFailure>,
}

#[derive(Serialize)]
struct JsonFailure {
    after_ms: u64,
    why: String,
}

#[derive(Serialize)]
struct JsonCommand<'a> {
    index: usize,
    manifest: &'a str,
    line: usize,
    name: Option<Cow<'a, str>>,
    tags: Vec<String>,
    /// A command of the `finally:` list.
    finally: bool,
    method: &'a str,
    target: JsonTarget,
    status: &'static str,
    reason: Option<&'static str>,
    attempts: u32,
    duration_ms: u64,
    error: Option<JsonError>,
    /// Why it was skipped or failed beyond the server's error, the
    /// transport problem behind `unknown`, a re-send through another node.
    detail: Option<String>,
    result: Option<Cow<'a, RawValue>>,
    channels: Vec<JsonChannel>,
    checks: Vec<JsonCheck>,
    node: Option<&'a str>,
}

#[derive(Serialize)]
struct JsonError {
    code: Option<u32>,
    message: String,
}

#[derive(Serialize)]
struct JsonChannel {
    channel: String,
    status: &'static str,
    reason: Option<&'static str>,
    error: Option<JsonError>,
    result: Option<serde_json::Value>,
}

#[derive(Serialize)]
struct JsonCheck {
    manifest: String,
    line: u32,
    path: String,
    wanted: String,
    got: Option<serde_json::Value>,
    ok: bool,
}

/// A command's target: always an object, its keys those the command names.
#[derive(Serialize, Default)]
struct JsonTarget {
    #[serde(skip_serializing_if = "Option::is_none")]
    channel: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    channels: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    session: Option<String>,
}

fn signal(s: Option<Signal>) -> Option<&'static str> {
    s.map(|s| match s {
        Signal::Interrupt => "SIGINT",
        Signal::Terminate => "SIGTERM",
    })
}

/// Writes the JSON report compact, one command per line: valid JSON that
/// `grep` and line diffs can still read, streamed so that 100,000 commands
/// never sit in memory as one text (nor as a list of rows: each row is
/// made, written and dropped).
pub(crate) fn write_json(run: &Run, out: &mut dyn Write) -> io::Result<()> {
    let causes = run
        .causes()
        .into_iter()
        .map(|c| JsonCause {
            status: c.status.as_str(),
            reason: c.status.reason(),
            message: c.message,
            count: c.commands.len(),
            commands: c.commands.iter().take(super::LISTED).map(|&i| run.commands[i].index()).collect(),
        })
        .collect();
    let nodes = run
        .served()
        .into_iter()
        .map(|(url, commands)| JsonNode {
            failures: run
                .node_failures
                .iter()
                .filter(|f| f.url == url)
                .map(|f| JsonFailure { after_ms: run.ms(f.after), why: f.why.clone() })
                .collect(),
            url,
            commands,
        })
        .collect();
    let head = Head {
        version: VERSION,
        run_id: run.run_id,
        duration_ms: run.ms(run.duration),
        exit: run.exit.into(),
        signal: signal(run.signal),
        summary: run.summary(),
        causes,
        nodes,
        problems: super::json_problems(run.warnings),
        commands: [],
    };
    let mut line = Vec::with_capacity(512);
    let emit = |out: &mut dyn Write, line: &mut Vec<u8>| {
        let result = out.write_all(line);
        line.clear();
        result
    };
    serde_json::to_writer(&mut line, &head).expect("report serialises");
    // `head` ends with `"commands":[]}`: reopen the list.
    line.truncate(line.len() - 2);
    for (i, (c, o)) in run.rows().enumerate() {
        line.extend_from_slice(if i == 0 { b"\n" } else { b",\n" });
        serde_json::to_writer(&mut line, &command(run, c, o)).expect("report serialises");
        emit(out, &mut line)?;
    }
    line.extend_from_slice(b"\n]}\n");
    emit(out, &mut line)
}

/// The JSON report of a run that never started because its manifests or
/// settings were invalid: no commands, the problems, exit 2.
pub(crate) fn write_invalid_json(problems: &[crate::manifest::Problem], out: &mut dyn Write) -> io::Result<()> {
    let head = Head {
        version: VERSION,
        run_id: "",
        duration_ms: 0,
        exit: Exit::Invalid.into(),
        signal: None,
        summary: Summary::default(),
        causes: Vec::new(),
        nodes: Vec::new(),
        problems: super::json_problems(problems),
        commands: [],
    };
    serde_json::to_writer(&mut *out, &head).map_err(io::Error::other)?;
    out.write_all(b"\n")
}

/// Text from outside (the server, the manifest) with every secret hidden.
struct Clean<'a>(&'a crate::redact::Secrets);

impl Clean<'_> {
    fn text(&self, s: &str) -> String {
        self.0.redact(s).into_owned()
    }

    /// A JSON value with every secret in its text hidden (it is written,
    /// never sent on: the data itself stays as the server gave it).
    fn json(&self, v: &serde_json::Value) -> serde_json::Value {
        if self.0.is_empty() {
            return v.clone();
        }
        let text = v.to_string();
        match self.0.redact(&text) {
            Cow::Borrowed(_) => v.clone(),
            Cow::Owned(clean) => serde_json::from_str(&clean).unwrap_or_else(|_| serde_json::Value::String(clean)),
        }
    }

    fn error(&self, e: &ApiError) -> JsonError {
        JsonError { code: e.code, message: self.text(&e.message) }
    }
}

fn command<'a>(run: &'a Run, c: &'a crate::manifest::Command, o: &'a Outcome) -> JsonCommand<'a> {
    let clean = Clean(run.secrets);
    let result = o.result.as_deref().map(|r| match run.secrets.redact(r.get()) {
        Cow::Borrowed(_) => Cow::Borrowed(r),
        Cow::Owned(text) => Cow::Owned(
            RawValue::from_string(text).unwrap_or_else(|_| RawValue::from_string("null".into()).expect("JSON")),
        ),
    });
    JsonCommand {
        index: c.index(),
        manifest: &run.sources[c.manifest()].name,
        line: c.line(),
        name: c.name().map(|n| run.secrets.redact(n)),
        tags: c.tags().to_vec(),
        finally: c.is_finally(),
        method: c.method.name,
        target: target(c, &clean),
        status: o.status.as_str(),
        reason: o.status.reason(),
        attempts: o.attempts,
        duration_ms: run.ms(o.duration),
        error: o.error().map(|e| clean.error(e)),
        detail: match (o.detail(), o.transport()) {
            (Some(d), _) => Some(clean.text(d)),
            (None, Some(t)) => Some(t.to_owned()),
            (None, None) => match o.status {
                crate::executor::Status::Skipped(r) if o.error().is_none() => Some(r.describe().to_owned()),
                _ => None,
            },
        },
        result,
        channels: o.channels().iter().map(|ch| channel(ch, &clean)).collect(),
        checks: o
            .checks()
            .iter()
            .map(|k| JsonCheck {
                manifest: run.sources[k.at.manifest as usize].name.clone(),
                line: k.at.line,
                path: k.path.clone(),
                wanted: clean.text(&k.wanted),
                got: k.got.as_ref().map(|g| clean.json(g)),
                ok: k.ok,
            })
            .collect(),
        node: o.node.as_deref(),
    }
}

fn channel(c: &ChannelOutcome, clean: &Clean) -> JsonChannel {
    JsonChannel {
        channel: clean.text(&c.channel),
        status: c.status.as_str(),
        reason: c.status.reason(),
        error: c.error.as_ref().map(|e| clean.error(e)),
        result: c.result.as_ref().map(|r| clean.json(r)),
    }
}

/// The channel, the channels, or the user (with the channel it acts in),
/// read from the command's params.
fn target(c: &crate::manifest::Command, clean: &Clean) -> JsonTarget {
    let t = c.target();
    let some = |s: Option<String>| s.filter(|s| !s.is_empty()).map(|s| clean.text(&s));
    JsonTarget {
        channel: some(t.channel),
        channels: t.channels.map(|cs| cs.iter().map(|c| clean.text(c)).collect()),
        user: t.user.map(|u| clean.text(&u)),
        client: some(t.client),
        session: some(t.session),
    }
}
