//! Every report rendered from one run built by hand (no server, no
//! executor): ok, failed, a broadcast failed on one channel, unknown after a
//! lost answer, skipped after a transport failure, skipped by --fail-fast,
//! and already applied. Snapshots in `snapshots/`; review every change
//! (`cargo insta review`, or `INSTA_UPDATE=always` and `git diff`).

use std::time::Duration;

use serde_json::json;

use super::*;
use crate::executor::outcome::Details;
use crate::executor::{ChannelOutcome, Failure};
use crate::methods::lookup;
use crate::protocol::ApiError;

const MANIFEST: &str = "\
commands:
  - publish: {channel: news, data: {n: 1}}
  - name: greet Grüße
    publish: {channel: \"nope:x\", data: 2}
  - broadcast: {channels: [news, \"nope:y\"], data: 3}
  - publish: {channel: lost, data: 4}
  - disconnect: {user: \"42\"}
  - history: {channel: news, limit: 1}
  - publish: {channel: again, data: 5}
";

fn command(index: u32, line: u32, name: Option<&str>, method: &str, params: &str) -> Command {
    // The list item's `- ` on its line of MANIFEST.
    let offset = MANIFEST.split_inclusive('\n').take(line as usize - 1).map(str::len).sum::<usize>() + 2;
    Command {
        index,
        occurrence: 0,
        manifest: 0,
        offset: offset as u32,
        line,
        tags: 0,
        finally: false,
        method: lookup(method).unwrap(),
        own_key: false,
        params: crate::manifest::texts::Text::own(params.into()),
        extra: crate::manifest::Extra::of(name.map(str::to_owned), None),
    }
}

fn outcome(status: Status, attempts: u32, ms: u64) -> Outcome {
    Outcome { attempts, duration: Duration::from_millis(ms), ..Outcome::with_status(status) }
}

const FAILED: Status = Status::Failed(Failure::Refused);

fn err(code: u32, message: &str) -> Option<ApiError> {
    Some(ApiError { code: Some(code), message: message.into() })
}

fn raw(v: serde_json::Value) -> Option<std::sync::Arc<serde_json::value::RawValue>> {
    serde_json::value::to_raw_value(&v).ok().map(Outcome::kept)
}

fn details(d: Details) -> Option<Box<Details>> {
    Some(Box::new(d))
}

/// A command the server refused (102, unknown channel), sent once.
fn refused() -> Outcome {
    Outcome {
        details: details(Details { error: err(102, "unknown channel"), ..Details::default() }),
        ..outcome(FAILED, 1, 1)
    }
}

/// A run of `commands` with their `outcomes`, fixed durations, kept from
/// `secrets`: what the tests that make their own commands share.
fn run_of<'a>(
    sources: &'a [Source],
    commands: &'a [Command],
    outcomes: &'a [Outcome],
    secrets: &'a Secrets,
) -> Run<'a> {
    Run {
        run_id: "r",
        duration: Duration::ZERO,
        sources,
        commands,
        outcomes,
        deterministic: true,
        secrets,
        warnings: &[],
        nodes: &[],
        node_failures: &[],
        exit: crate::exit::Exit::Rejected,
        signal: None,
    }
}

/// Renders `f` over the hand-built run.
fn with_run<T>(f: impl FnOnce(&Run) -> T) -> T {
    let sources = [Source::new("deploy.yaml", MANIFEST)];
    let commands = [
        command(0, 2, None, "publish", r#"{"channel":"news","data":{"n":1}}"#),
        command(1, 3, Some("greet Grüße"), "publish", r#"{"channel":"nope:x","data":2}"#),
        command(2, 5, None, "broadcast", r#"{"channels":["news","nope:y"],"data":3}"#),
        command(3, 6, None, "publish", r#"{"channel":"lost","data":4}"#),
        command(4, 7, None, "disconnect", r#"{"user":"42"}"#),
        command(5, 8, None, "history", r#"{"channel":"news","limit":1}"#),
        command(6, 9, None, "publish", r#"{"channel":"again","data":5}"#),
    ];
    let outcomes = [
        Outcome { result: raw(json!({"offset": 7, "epoch": "kTbX"})), ..outcome(Status::Ok, 1, 12) },
        Outcome {
            details: details(Details { error: err(102, "unknown channel"), ..Details::default() }),
            ..outcome(FAILED, 1, 12)
        },
        Outcome {
            result: raw(json!({"responses": [{"result": {"offset": 8}}, {"error": {"code": 102}}]})),
            details: details(Details {
                error: err(102, "unknown channel"),
                channels: vec![
                    ChannelOutcome {
                        channel: "news".into(),
                        status: Status::Ok,
                        error: None,
                        result: Some(json!({"offset": 8})),
                    },
                    ChannelOutcome {
                        channel: "nope:y".into(),
                        status: FAILED,
                        error: err(102, "unknown channel"),
                        result: None,
                    },
                ],
                ..Details::default()
            }),
            ..outcome(FAILED, 2, 40)
        },
        outcome(Status::Unknown, 4, 5000).with_transport("connection reset by peer (http://127.0.0.1:8000/api/batch)"),
        outcome(Status::Skipped(SkipReason::Transport), 0, 0)
            .with_transport("connection refused (http://127.0.0.1:8000/api/batch)"),
        Outcome::skipped(SkipReason::FailFast),
        Outcome::skipped(SkipReason::AlreadyApplied),
    ];
    let secrets = Secrets::default();
    let run = Run {
        run_id: "run-7",
        duration: Duration::from_millis(5321),
        sources: &sources,
        commands: &commands,
        outcomes: &outcomes,
        deterministic: false,
        secrets: &secrets,
        warnings: &[],
        nodes: &[],
        node_failures: &[],
        exit: crate::exit::Exit::for_outcomes(&outcomes, None),
        signal: None,
    };
    f(&run)
}

#[test]
fn table_with_its_recap_and_summary() {
    insta::assert_snapshot!(with_run(|r| table(r, false)));
}

#[test]
fn quiet_shows_only_what_is_not_ok() {
    insta::assert_snapshot!(with_run(quiet));
}

#[test]
fn json_lines() {
    let mut out = Vec::new();
    with_run(|r| write_json(r, &mut out)).unwrap();
    let text = String::from_utf8(out).unwrap();
    let parsed: serde_json::Value = serde_json::from_str(&text).expect("one JSON document");
    assert_eq!(parsed["summary"], json!({"total": 7, "ok": 1, "failed": 2, "unknown": 1, "skipped": 3}));
    insta::assert_snapshot!(text);
}

#[test]
fn junit_xml() {
    insta::assert_snapshot!(with_run(junit_report));
}

#[test]
fn github_annotations_and_step_summary() {
    insta::assert_snapshot!(with_run(|r| format!("{}\n{}", annotations(r), step_summary(r))));
}

#[test]
fn names_and_targets_never_show_a_secret() {
    let sources = [Source::new("m.yaml", "")];
    let commands = [command(0, 2, Some("key s3cret-k3y"), "publish", r#"{"channel":"s3cret-k3y","data":1}"#)];
    let outcomes = [refused()];
    let secrets = Secrets::new(["s3cret-k3y"]);
    let run = run_of(&sources, &commands, &outcomes, &secrets);
    let mut json = Vec::new();
    write_json(&run, &mut json).unwrap();
    let (mut html, mut metrics) = (Vec::new(), Vec::new());
    write_html(&run, None, &mut html).unwrap();
    let labels = MetricsLabels::new(["m.yaml"], Some("job s3cret-k3y"));
    write_metrics(Some(&run), &labels, None, std::time::SystemTime::now(), &mut metrics).unwrap();
    let metrics = String::from_utf8(metrics).unwrap();
    assert!(!metrics.contains("s3cret-k3y") && metrics.contains("name=\"job ***\""), "{metrics}");
    for text in [
        table(&run, false),
        junit_report(&run),
        annotations(&run),
        step_summary(&run),
        String::from_utf8(json).unwrap(),
        String::from_utf8(html).unwrap(),
    ] {
        assert!(!text.contains("s3cret-k3y"), "{text}");
        assert!(text.contains("***"), "{text}");
    }
}

#[test]
fn the_html_page_lists_every_command_of_a_small_run_and_only_trouble_of_a_large_one() {
    let page = |r: &Run| {
        let mut out = Vec::new();
        write_html(r, None, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    };
    let small = with_run(page);
    let statuses: Vec<&str> = small.split("<tr data-status=\"").skip(1).map(|r| &r[..r.find('"').unwrap()]).collect();
    assert_eq!(statuses, ["ok", "failed", "failed", "unknown", "skipped", "skipped", "skipped"]);
    assert!(!small.contains("id=\"left-out\""));
    assert!(small.contains("<dd id=\"n-skipped\" data-n=\"3\">3</dd>"));

    let n = html::FULL_TABLE + 2;
    let sources = [Source::new("big.yaml", MANIFEST)];
    let commands: Vec<Command> =
        (0..n as u32).map(|i| command(i, 2, None, "publish", r#"{"channel":"news","data":1}"#)).collect();
    let mut outcomes: Vec<Outcome> = (0..n).map(|_| outcome(Status::Ok, 1, 1)).collect();
    for i in [7, n - 1] {
        outcomes[i] = refused();
    }
    let secrets = Secrets::default();
    let big = page(&run_of(&sources, &commands, &outcomes, &secrets));
    let rows: Vec<&str> = big.split("<tr data-status=\"").skip(1).map(|r| &r[..r.find('>').unwrap()]).collect();
    assert_eq!(rows, [r#"failed" data-index="7""#, &format!(r#"failed" data-index="{}""#, n - 1)]);
    assert!(big.contains("the table lists all of the 2 that are not ok, and leaves out the 3,000 ok commands"));
    assert!(big.len() < 30_000, "{}", big.len());
}

#[test]
fn the_rows_of_a_long_run_are_the_same_made_by_one_thread_or_two() {
    // Blocks of 512 rows: five of them and a part, every seventh row one
    // serde writes (an error), the others written by hand.
    let n = 5 * 512 + 37;
    let sources = [Source::new("long.yaml", MANIFEST)];
    let commands: Vec<Command> =
        (0..n as u32).map(|i| command(i, 2, None, "publish", &format!(r#"{{"channel":"c{i}","data":{i}}}"#))).collect();
    let outcomes: Vec<Outcome> = (0..n)
        .map(|i| match i % 7 {
            0 => refused(),
            _ => outcome(Status::Ok, 1 + i as u32 % 3, 1),
        })
        .collect();
    let secrets = Secrets::default();
    let run = run_of(&sources, &commands, &outcomes, &secrets);
    let made = |two: bool| {
        let mut out = Vec::new();
        json::rows(&run, &mut out, two, &mut Vec::new()).unwrap();
        String::from_utf8(out).unwrap()
    };
    let (one, two) = (made(false), made(true));
    assert_eq!(one, two);
    let list: Vec<serde_json::Value> = serde_json::from_str(&format!("[{}]", two)).unwrap();
    assert_eq!(list.len(), n);
    for (i, row) in list.iter().enumerate() {
        assert_eq!(
            (row["index"].as_u64(), row["target"]["channel"].as_str()),
            (Some(i as u64), Some(&*format!("c{i}")))
        );
        assert_eq!(row["status"], if i % 7 == 0 { "failed" } else { "ok" }, "{row}");
    }
}
