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
    serde_json::to_writer(&mut line, &head).expect("report serialises");
    // `head` ends with `"commands":[]}`: reopen the list.
    line.truncate(line.len() - 2);
    out.write_all(&line)?;
    rows(run, out, crate::cores::two(), &mut line)?;
    out.write_all(b"\n]}\n")
}

/// Every command's row; `two`: made by two threads when there are many.
pub(super) fn rows(run: &Run, out: &mut dyn Write, two: bool, line: &mut Vec<u8>) -> io::Result<()> {
    let n = run.commands.len().min(run.outcomes.len());
    let two = two && n > ROWS;
    std::thread::scope(|s| {
        // Made by two threads, block after block, when there are two cores
        // (a sixth of a run of 200,000 publishes was making their rows,
        // after the last reply): this one the even blocks, a helper the odd.
        let helper = two.then(|| {
            let (to_main, made) = std::sync::mpsc::sync_channel::<Vec<u8>>(1);
            let (back, spare) = std::sync::mpsc::channel::<Vec<u8>>();
            s.spawn(move || {
                let mut rows = Rows::new(run);
                for start in (ROWS..n).step_by(2 * ROWS) {
                    let mut text = spare.try_recv().unwrap_or_default();
                    rows.text(start..n.min(start + ROWS), &mut text);
                    if to_main.send(text).is_err() {
                        return; // the writer stopped at an error
                    }
                }
            });
            (made, back)
        });
        let mut rows = Rows::new(run);
        for start in (0..n).step_by(if two { 2 * ROWS } else { ROWS }) {
            rows.text(start..n.min(start + ROWS), line);
            out.write_all(line)?;
            if let Some((made, back)) = &helper
                && start + ROWS < n
            {
                let text = made.recv().map_err(|_| io::Error::other("a report thread stopped"))?;
                out.write_all(&text)?;
                let _ = back.send(text);
            }
        }
        Ok::<(), io::Error>(())
    })
}

/// Rows made at a time (about 150 KB).
const ROWS: usize = 512;

/// The rows of most commands — no error, no detail, no channels, no
/// checks — written by hand, byte for byte as serde writes [`JsonCommand`]
/// (a run of 200,000 publishes spent a sixth of its CPU making rows
/// through serde); other rows are left to serde.
struct Rows<'r> {
    run: &'r Run<'r>,
    /// Each manifest's name as a JSON string.
    manifests: Vec<Vec<u8>>,
    /// The last node's URL, and as a JSON string.
    node: Option<(std::sync::Arc<String>, Vec<u8>)>,
}

impl<'r> Rows<'r> {
    fn new(run: &'r Run<'r>) -> Self {
        let manifests = run.sources.iter().map(|s| serde_json::to_vec(&s.name).expect("a string")).collect();
        Rows { run, manifests, node: None }
    }

    /// The rows of the commands in `range` (from the first: `\n` before it,
    /// `,\n` before every other), in place of what `out` held.
    fn text(&mut self, range: std::ops::Range<usize>, out: &mut Vec<u8>) {
        out.clear();
        for i in range {
            let (c, o) = (&self.run.commands[i], &self.run.outcomes[i]);
            out.extend_from_slice(if i == 0 { b"\n" } else { b",\n" });
            if !self.plain(c, o, out) {
                serde_json::to_writer(&mut *out, &command(self.run, c, o)).expect("report serialises");
            }
        }
    }

    /// Writes the row of `c` when it is a plain one; `false` when not.
    fn plain(&mut self, c: &crate::manifest::Command, o: &Outcome, out: &mut Vec<u8>) -> bool {
        let secrets = self.run.secrets;
        if o.details.is_some() || c.tags != 0 {
            return false;
        }
        let result = o.result.as_deref().map(|r| (r.get(), secrets.redact(r.get())));
        if result.as_ref().is_some_and(|(_, clean)| matches!(clean, Cow::Owned(_))) {
            return false;
        }
        let start = out.len();
        let mut int = itoa::Buffer::new();
        let put = |out: &mut Vec<u8>, parts: &[&[u8]]| parts.iter().for_each(|p| out.extend_from_slice(p));
        // Strings that need an escape as serde escapes them; the others as they are.
        let string = |out: &mut Vec<u8>, s: &str| match crate::protocol::needs_escape(s) {
            false => put(out, &[b"\"", s.as_bytes(), b"\""]),
            true => serde_json::to_writer(&mut *out, s).expect("a string"),
        };
        put(out, &[b"{\"index\":", int.format(c.index()).as_bytes(), b",\"manifest\":", &self.manifests[c.manifest()]]);
        put(out, &[b",\"line\":", int.format(c.line()).as_bytes(), b",\"name\":"]);
        match c.name() {
            Some(n) => string(out, &secrets.redact(n)),
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(if c.is_finally() {
            b",\"tags\":[],\"finally\":true"
        } else {
            b",\"tags\":[],\"finally\":false"
        });
        out.extend_from_slice(b",\"method\":");
        string(out, c.method.name);
        out.extend_from_slice(b",\"target\":{");
        let t = c.target_ref();
        let mut sep: &[u8] = b"";
        let mut key = |out: &mut Vec<u8>, k: &[u8]| {
            put(out, &[sep, b"\"", k, b"\":"]);
            sep = b",";
        };
        fn given<'a>(v: &'a Option<Cow<'_, str>>) -> Option<&'a str> {
            v.as_deref().filter(|v| !v.is_empty())
        }
        if let Some(v) = given(&t.channel) {
            key(out, b"channel");
            string(out, &secrets.redact(v));
        }
        if let Some(cs) = &t.channels {
            key(out, b"channels");
            out.push(b'[');
            for (i, ch) in cs.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                string(out, &secrets.redact(ch));
            }
            out.push(b']');
        }
        if let Some(u) = t.user.as_deref() {
            key(out, b"user");
            string(out, &secrets.redact(u));
        }
        if let Some(v) = given(&t.client) {
            key(out, b"client");
            string(out, &secrets.redact(v));
        }
        if let Some(v) = given(&t.session) {
            key(out, b"session");
            string(out, &secrets.redact(v));
        }
        out.extend_from_slice(b"},\"status\":");
        string(out, o.status.as_str());
        out.extend_from_slice(b",\"reason\":");
        match o.status.reason() {
            Some(r) => string(out, r),
            None => out.extend_from_slice(b"null"),
        }
        put(out, &[b",\"attempts\":", int.format(o.attempts).as_bytes()]);
        put(out, &[b",\"duration_ms\":", int.format(self.run.ms(o.duration)).as_bytes()]);
        out.extend_from_slice(b",\"error\":null,\"detail\":");
        match o.status {
            crate::executor::Status::Skipped(r) => string(out, r.describe()),
            _ => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(b",\"result\":");
        match result {
            Some((raw, _)) => out.extend_from_slice(raw.as_bytes()),
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(b",\"channels\":[],\"checks\":[],\"node\":");
        match &o.node {
            Some(url) => {
                if !self.node.as_ref().is_some_and(|(last, _)| std::sync::Arc::ptr_eq(last, url)) {
                    self.node = Some((url.clone(), serde_json::to_vec(&**url).expect("a string")));
                }
                out.extend_from_slice(&self.node.as_ref().expect("just set").1);
            }
            None => out.extend_from_slice(b"null"),
        }
        out.push(b'}');
        debug_assert_eq!(
            &out[start..],
            serde_json::to_vec(&command(self.run, c, o)).expect("report serialises"),
            "a plain row as serde writes it"
        );
        true
    }
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
        node: o.node.as_deref().map(String::as_str),
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
