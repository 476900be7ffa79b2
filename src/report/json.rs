//! `--report-json` / `--format json` (SPEC §7).

use std::borrow::Cow;
use std::io::{self, Write};

use serde::Serialize;

use super::Run;
use crate::executor::{ChannelOutcome, Status, Summary};
use crate::protocol::ApiError;

#[derive(Serialize)]
pub struct JsonReport<'a> {
    pub version: u32,
    pub run_id: &'a str,
    pub duration_ms: u64,
    pub summary: Summary,
    /// Validation problems: the errors of an invalid run (then there are no
    /// commands), or the warnings of a valid one.
    pub problems: Vec<super::JsonProblem>,
    pub commands: Vec<JsonCommand<'a>>,
}

#[derive(Serialize)]
pub struct JsonCommand<'a> {
    pub index: usize,
    pub manifest: &'a str,
    pub line: usize,
    pub name: Option<Cow<'a, str>>,
    pub method: &'a str,
    pub target: JsonTarget<'a>,
    pub status: Status,
    pub attempts: u32,
    pub duration_ms: u64,
    pub error: Option<ApiError>,
    /// Why it was skipped, or the transport problem behind `unknown`.
    pub detail: Option<String>,
    pub result: Option<&'a serde_json::value::RawValue>,
    pub channels: &'a [ChannelOutcome],
    /// Each `expect:` check: where, path, operator, wanted, got, whether it held.
    pub checks: &'a [crate::executor::expect::CheckOutcome],
    /// The node (URL) that answered it.
    pub node: Option<&'a str>,
}

/// Writes the JSON report compact, one command per line: valid JSON that
/// `grep` and line diffs can still read, streamed so that 100,000 commands
/// never sit in memory as one text (nor as a list of rows: each row is
/// made, written and dropped).
pub fn write_json(run: &Run, out: &mut dyn Write) -> io::Result<()> {
    let head = JsonReport {
        version: 1,
        run_id: run.run_id,
        duration_ms: run.ms(run.duration),
        summary: run.summary(),
        problems: super::json_problems(run.warnings),
        commands: Vec::new(),
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
        serde_json::to_writer(&mut line, &json_command(run, c, o)).expect("report serialises");
        emit(out, &mut line)?;
    }
    line.extend_from_slice(b"\n]}\n");
    emit(out, &mut line)
}

/// The JSON report of a run that never started because its manifests or
/// settings were invalid: no commands, the problems.
pub fn write_invalid_json(problems: &[crate::manifest::Problem], out: &mut dyn Write) -> io::Result<()> {
    let report = JsonReport {
        version: 1,
        run_id: "",
        duration_ms: 0,
        summary: Summary::default(),
        problems: super::json_problems(problems),
        commands: Vec::new(),
    };
    serde_json::to_writer(&mut *out, &report).map_err(io::Error::other)?;
    out.write_all(b"\n")
}

fn json_command<'a>(run: &'a Run, c: &'a crate::manifest::Command, o: &'a crate::executor::Outcome) -> JsonCommand<'a> {
    JsonCommand {
        index: c.index(),
        manifest: &run.sources[c.manifest()].name,
        line: c.line(),
        name: c.name().map(|n| run.secrets.redact(n)),
        method: c.method.name,
        target: target_json(run, c),
        status: o.status,
        attempts: o.attempts,
        duration_ms: run.ms(o.duration),
        error: o.error().cloned(),
        detail: if o.error().is_none() { o.message() } else { None },
        result: o.result.as_deref(),
        channels: o.channels(),
        checks: o.checks(),
        node: o.node.as_deref(),
    }
}

/// The channel, the list of channels, or the user, as JSON: read from the
/// command's params without copying them, redacted.
fn target_json<'a>(run: &Run, c: &'a crate::manifest::Command) -> JsonTarget<'a> {
    let t = c.target_ref();
    let text = |s: Cow<'a, str>| match run.secrets.redact(&s) {
        Cow::Borrowed(_) => s,
        Cow::Owned(r) => Cow::Owned(r),
    };
    if let Some(chs) = t.channels {
        return JsonTarget::Many(chs.into_iter().map(text).collect());
    }
    // A channel next to a user is where the user is, not the target.
    let channel = t.channel.filter(|_| t.user.is_none());
    [channel, t.user, t.client, t.session]
        .into_iter()
        .flatten()
        .find(|s| !s.is_empty())
        .map_or(JsonTarget::None, |s| JsonTarget::One(text(s)))
}

/// A command's target in the JSON report.
#[derive(Serialize)]
#[serde(untagged)]
pub enum JsonTarget<'a> {
    None,
    One(Cow<'a, str>),
    Many(Vec<Cow<'a, str>>),
}
