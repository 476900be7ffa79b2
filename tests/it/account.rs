//! A run's account, exact, against the real server: a command keeps its
//! identity across edits (keys and the state file know it by content), every
//! way a run ends is accounted (SIGTERM, Ctrl-C in `until`, a refused key),
//! causes are said once (a cron mail for a 200,000-command outage), reports
//! are typed (validated against their own JSON Schema by an independent
//! validator) and JUnit names do not move.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::harness::{self, API_KEY, Server, Watch, cent_run, manifest, root, shared, unwrapped};

fn publishes(ch: &str, items: &[&str]) -> String {
    let mut text = String::from("commands:\n");
    for d in items {
        text.push_str(&format!("  - publish: {{channel: {ch}, data: {d}}}\n"));
    }
    text
}

fn run(path: &std::path::Path, extra: &[&str]) -> std::process::Output {
    let server = shared();
    cent_run().arg(path).args(["--url", &server.url, "--api-key", API_KEY]).args(extra).output().unwrap()
}

#[test]
fn a_command_is_known_by_its_content_so_an_insert_or_a_move_sends_nothing_twice() {
    let server = shared();
    let ch = harness::channel("ident");
    let (dir, path) = manifest(&publishes(&ch, &["A", "B"]));
    let state = dir.path().join("s.jsonl");
    let state_arg = state.to_str().unwrap();
    let run_id = format!("ident-{}", std::process::id());
    let with_state = ["--state", state_arg, "--run-id", &run_id];
    assert_eq!(run(&path, &with_state).status.code(), Some(0));
    // Yesterday's A, B; today C is inserted at the top: only C goes out.
    std::fs::write(&path, publishes(&ch, &["C", "A", "B"])).unwrap();
    let out = run(&path, &with_state);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    assert_eq!(server.history(&ch), vec![json!("A"), json!("B"), json!("C")]);
    // Reordered: nothing new.
    std::fs::write(&path, publishes(&ch, &["B", "C", "A"])).unwrap();
    assert_eq!(run(&path, &with_state).status.code(), Some(0));
    assert_eq!(server.history(&ch).len(), 3);
    // An edited command is another command: published once, then known.
    std::fs::write(&path, publishes(&ch, &["B", "C", "A2"])).unwrap();
    assert_eq!(run(&path, &with_state).status.code(), Some(0));
    assert_eq!(run(&path, &with_state).status.code(), Some(0));
    assert_eq!(server.history(&ch), vec![json!("A"), json!("B"), json!("C"), json!("A2")]);
    // Two equal publishes are two commands (occurrences 0 and 1), each once.
    std::fs::write(&path, publishes(&ch, &["B", "C", "A2", "X", "X"])).unwrap();
    assert_eq!(run(&path, &with_state).status.code(), Some(0));
    std::fs::write(&path, publishes(&ch, &["X", "B", "C", "X", "A2"])).unwrap();
    assert_eq!(run(&path, &with_state).status.code(), Some(0));
    assert_eq!(server.history(&ch).iter().filter(|d| **d == json!("X")).count(), 2);
    // A run id other than the state file's is refused, naming both.
    let out = run(&path, &["--state", state_arg, "--run-id", "another"]);
    assert_eq!(out.status.code(), Some(2));
    let err = unwrapped(&String::from_utf8_lossy(&out.stderr));
    assert!(err.contains("--run-id another differs from the run id") && err.contains(&run_id), "{err}");
    // A state file none of whose commands are in the manifest is a warning.
    let (_d, other) = manifest(&publishes(&ch, &["Y"]));
    let out = run(&other, &with_state);
    let err = unwrapped(&String::from_utf8_lossy(&out.stderr));
    assert!(err.contains("none of them in these manifests"), "{err}");
}

#[test]
fn without_a_state_file_the_keys_alone_make_an_insert_at_the_top_send_only_the_new_command() {
    let server = shared();
    let ch = harness::channel("keys");
    let (_dir, path) = manifest(&publishes(&ch, &["A", "B"]));
    let run_id = format!("keys-{}", std::process::id());
    assert_eq!(run(&path, &["--run-id", &run_id]).status.code(), Some(0));
    std::fs::write(&path, publishes(&ch, &["C", "A", "B"])).unwrap();
    assert_eq!(run(&path, &["--run-id", &run_id]).status.code(), Some(0));
    // The server dropped A and B: their keys did not move with them.
    assert_eq!(server.history(&ch), vec![json!("A"), json!("B"), json!("C")]);
}

#[test]
fn a_shards_state_and_the_whole_jobs_are_one_format() {
    let server = shared();
    let prefix = harness::channel("sh");
    let mut text = String::from("commands:\n");
    for c in 0..4 {
        for i in 0..5 {
            text.push_str(&format!("  - publish: {{channel: {prefix}-{c}, data: {i}}}\n"));
        }
    }
    let (dir, path) = manifest(&text);
    let state = dir.path().join("s.jsonl");
    let st = state.to_str().unwrap();
    let part = run(&path, &["--shard", "1/2", "--run-id", "shards", "--state", st]);
    assert_eq!(part.status.code(), Some(0));
    let held: usize = (0..4).map(|c| server.history(&format!("{prefix}-{c}")).len()).sum();
    assert_eq!(held, 10, "part 1 of 2: two of the four channels");
    let whole = run(&path, &["--run-id", "shards", "--state", st, "--format", "json"]);
    assert_eq!(whole.status.code(), Some(0));
    let r: Value = serde_json::from_slice(&whole.stdout).unwrap();
    let already = r["commands"].as_array().unwrap().iter().filter(|c| c["reason"] == "already_applied").count();
    assert_eq!(already, 10, "the part's commands are known to the whole run by their identity");
    for c in 0..4 {
        let want: Vec<Value> = (0..5).map(|i| json!(i)).collect();
        assert_eq!(server.history(&format!("{prefix}-{c}")), want, "exactly once, in order");
    }
}

/// Spawns a slow run (a rate limit) with every report file, for signals.
fn slow_run(server: &Server, ch: &str, n: usize, dir: &std::path::Path) -> std::process::Child {
    let items: Vec<String> = (0..n).map(|i| i.to_string()).collect();
    let refs: Vec<&str> = items.iter().map(String::as_str).collect();
    let path = dir.join("m.yaml");
    std::fs::write(&path, publishes(ch, &refs)).unwrap();
    Command::new(assert_cmd::cargo::cargo_bin("cent-run"))
        .arg(&path)
        .args(["--url", &server.url, "--api-key", API_KEY, "--rate", "100", "--batch-size", "5"])
        .arg("--report-json")
        .arg(dir.join("r.json"))
        .arg("--report-junit")
        .arg(dir.join("r.xml"))
        .arg("--state")
        .arg(dir.join("s.jsonl"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn sigterm_is_handled_like_sigint_with_exit_143_complete_reports_and_a_state_to_resume_from() {
    let server = Server::start();
    let ch = harness::channel("term");
    let dir = tempfile::tempdir().unwrap();
    let child = slow_run(&server, &ch, 300, dir.path());
    std::thread::sleep(Duration::from_millis(800));
    assert!(Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap().success());
    let signalled = Instant::now();
    let out = child.wait_with_output().unwrap();
    assert!(signalled.elapsed() < Duration::from_secs(5), "a short grace for answers in flight");
    assert_eq!(out.status.code(), Some(143));
    assert!(String::from_utf8_lossy(&out.stderr).contains("SIGTERM: sending stopped"));
    // The reports are whole: the JSON parses, says 143 and SIGTERM; the JUnit closes.
    let r: Value = serde_json::from_str(&harness::read(&dir.path().join("r.json"))).expect("a whole JSON report");
    assert_eq!((r["exit"]["code"].as_u64(), r["signal"].as_str()), (Some(143), Some("SIGTERM")));
    let s = &r["summary"];
    let (ok, skipped) = (s["ok"].as_u64().unwrap(), s["skipped"].as_u64().unwrap());
    assert!(ok > 0 && skipped > 0, "stopped mid-run: {s}");
    assert!(harness::read(&dir.path().join("r.xml")).trim_end().ends_with("</testsuites>"));
    // Nothing is sent after the process ends, and a resume completes it exactly once.
    let held = server.history(&ch).len();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(server.history(&ch).len(), held);
    let resumed = cent_run()
        .arg(dir.path().join("m.yaml"))
        .args(["--url", &server.url, "--api-key", API_KEY, "--state"])
        .arg(dir.path().join("s.jsonl"))
        .output()
        .unwrap();
    assert_eq!(resumed.status.code(), Some(0));
    let want: Vec<Value> = (0..300).map(|i| json!(i)).collect();
    assert_eq!(server.history(&ch), want);
}

#[test]
fn under_timeout_a_report_file_is_whole_or_absent_never_empty() {
    let server = Server::start();
    let ch = harness::channel("timeout");
    let dir = tempfile::tempdir().unwrap();
    let items: Vec<String> = (0..300).map(|i| i.to_string()).collect();
    let refs: Vec<&str> = items.iter().map(String::as_str).collect();
    let path = dir.path().join("m.yaml");
    std::fs::write(&path, publishes(&ch, &refs)).unwrap();
    let out = Command::new("timeout")
        .args(["--preserve-status", "-s", "TERM", "1"])
        .arg(assert_cmd::cargo::cargo_bin("cent-run"))
        .arg(&path)
        .args(["--url", &server.url, "--api-key", API_KEY, "--rate", "100", "--report-json"])
        .arg(dir.path().join("r.json"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(143), "{}", String::from_utf8_lossy(&out.stderr));
    let text = harness::read(&dir.path().join("r.json"));
    assert!(!text.is_empty());
    let r: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(r["summary"]["total"], 300);
    // No temporary file is left beside it.
    let names: Vec<String> =
        std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert!(!names.iter().any(|n| n.ends_with(".tmp")), "{names:?}");
}

#[test]
fn ctrl_c_during_until_is_an_interruption_not_a_timeout() {
    let server = shared();
    let ch = harness::channel("until-int");
    let (_dir, path) = manifest(&format!(
        "commands:\n  - presence_stats: {{channel: {ch}}}\n    expect: {{num_clients: {{gt: 0}}}}\n    until: {{every: 200ms, timeout: 60s}}\n"
    ));
    let child = Command::new(assert_cmd::cargo::cargo_bin("cent-run"))
        .arg(&path)
        .args(["--url", &server.url, "--api-key", API_KEY, "--format", "json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    assert!(Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap().success());
    let started = Instant::now();
    let out = child.wait_with_output().unwrap();
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(out.status.code(), Some(130));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    let detail = r["commands"][0]["detail"].as_str().unwrap();
    assert!(detail.starts_with("interrupted after") && !detail.contains("gave up"), "{detail}");
}

#[test]
fn a_refused_key_stops_the_run_at_the_first_answer_with_exit_2_and_a_hint() {
    let server = shared();
    let ch = harness::channel("badkey");
    let (dir, path) = manifest(&format!(
        "commands:\n  - publish: {{channel: {ch}, data: \"${{item}}\"}}\n    for_each: {{file: n.txt}}\n"
    ));
    std::fs::write(dir.path().join("n.txt"), (0..2000).map(|i| format!("{i}\n")).collect::<String>()).unwrap();
    let proxy = crate::proxy::Proxy::start(server.port, |_| crate::proxy::Fault::Pass);
    let out = cent_run()
        .arg(&path)
        .args(["--url", &proxy.url, "--api-key", "wrong-key", "--batch-size", "100", "--quiet", "--format", "table"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stdout));
    assert!(proxy.stats.requests.load(std::sync::atomic::Ordering::SeqCst) <= 4, "stopped after the first answers");
    let text = unwrapped(&String::from_utf8_lossy(&out.stdout));
    assert!(text.contains("HTTP 401 (wrong or missing API key)"), "{text}");
    assert!(text.contains("the server refused the API key: check --api-key-file"), "the hint: {text}");
    assert!(text.contains("not sent: the server refused the configuration"), "{text}");
    assert!(text.lines().count() < 40, "{text}");
    assert!(server.history(&ch).is_empty());
}

#[test]
fn a_cron_mail_for_a_200000_command_outage_says_the_cause_once_in_under_30_lines() {
    let dead = format!("http://127.0.0.1:{}", harness::free_port());
    let (dir, path) = manifest("commands:\n  - disconnect: {user: \"${item}\"}\n    for_each: {file: users.txt}\n");
    std::fs::write(dir.path().join("users.txt"), (0..200_000).map(|i| format!("u{i}\n")).collect::<String>()).unwrap();
    let out = cent_run()
        .arg(&path)
        .args(["--url", &dead, "--api-key", API_KEY, "--quiet", "--retries", "1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let text = String::from_utf8_lossy(&out.stdout);
    let lines = text.lines().count();
    assert!(lines < 30, "{lines} lines:\n{text}");
    let flat = unwrapped(&text);
    assert!(flat.contains("200,000 commands skipped: not sent: transport failure: Connection refused"), "{flat}");
    assert!(flat.contains("and 199,990 more (the JSON report, --report-json FILE, lists every command)"), "{flat}");
    assert!(flat.contains(&format!("{}:2:5", path.display())), "located at the command: {flat}");
    // Nothing reached the node: it served none, and failed.
    assert!(flat.contains(&format!("1 node: {dead} served 0 commands; failed ")), "{flat}");
}

#[test]
fn one_refused_publish_among_many_is_named_with_its_place() {
    let ch = harness::channel("many");
    let mut items: Vec<String> = (0..300).map(|i| format!("{{channel: {ch}, data: {i}}}")).collect();
    items[150] = "{channel: \"unknownns:x\", data: 150}".into();
    let text = format!("commands:\n{}", items.iter().map(|i| format!("  - publish: {i}\n")).collect::<String>());
    let (_dir, path) = manifest(&text);
    let out = run(&path, &["--quiet"]);
    assert_eq!(out.status.code(), Some(1));
    let flat = unwrapped(&String::from_utf8_lossy(&out.stdout));
    assert!(flat.contains(&format!("{}:152:5: 1 command failed: 102 unknown channel", path.display())), "{flat}");
    assert_eq!(shared().history(&ch).len(), 299);
}

#[test]
fn junit_names_stay_put_when_a_command_is_inserted() {
    let ch = harness::channel("junit");
    let names = |text: &str| {
        let (dir, path) = manifest(text);
        let xml = dir.path().join("r.xml");
        run(&path, &["--report-junit", xml.to_str().unwrap()]);
        let xml = harness::read(&xml);
        xml.split("<testcase name=\"").skip(1).map(|s| s.split('"').next().unwrap().to_owned()).collect::<Vec<_>>()
    };
    let before = names(&format!(
        "commands:\n  - publish: {{channel: {ch}, data: 1}}\n  - name: tell the team\n    publish: {{channel: {ch}, data: 2}}\n  - publish: {{channel: {ch}, data: 3}}\n"
    ));
    let after = names(&format!(
        "commands:\n  - history: {{channel: {ch}, limit: 1}}\n  - publish: {{channel: {ch}, data: 1}}\n  - name: tell the team\n    publish: {{channel: {ch}, data: 2}}\n  - publish: {{channel: {ch}, data: 3}}\n"
    ));
    assert_eq!(before, [format!("publish {ch}"), "tell the team".into(), format!("publish {ch} (2)")]);
    assert_eq!(after[1..], before[..], "the inserted command renames no other test");
}

/// The JSON reports of real runs — ok, failed, interrupted, invalid — and
/// `check --format json`, checked against `cent-run schema --report` by
/// Python's jsonschema.
#[test]
fn real_reports_are_valid_against_their_published_schema() {
    let server = shared();
    let ch = harness::channel("schema");
    let dir = tempfile::tempdir().unwrap();
    let schema = cent_run().args(["schema", "--report"]).output().unwrap();
    assert!(schema.status.success());
    std::fs::write(dir.path().join("schema.json"), &schema.stdout).unwrap();
    let cases = [
        (
            "ok",
            format!(
                "commands:\n  - publish: {{channel: {ch}, data: 1}}\n  - history: {{channel: {ch}, limit: 1}}\n    expect: {{publications: {{len: 1}}}}\n"
            ),
        ),
        (
            "failed",
            format!(
                "commands:\n  - broadcast: {{channels: [{ch}, \"unknownns:z\"], data: 1}}\n  - presence_stats: {{channel: {ch}}}\n    expect: {{num_clients: 3}}\n"
            ),
        ),
        ("invalid", "commands:\n  - publsh: {channel: x, data: 1}\n".to_owned()),
    ];
    for (name, text) in cases {
        let m = dir.path().join(format!("{name}.yaml"));
        std::fs::write(&m, text).unwrap();
        let r = dir.path().join(format!("{name}.json"));
        cent_run()
            .arg(&m)
            .args(["--url", &server.url, "--api-key", API_KEY, "--report-json"])
            .arg(&r)
            .output()
            .unwrap();
        let c = dir.path().join(format!("{name}.check.json"));
        let check = cent_run().args(["check", "--format", "json"]).arg(&m).output().unwrap();
        std::fs::write(&c, &check.stdout).unwrap();
    }
    let py = root().join(".tools/venv/bin/python");
    let out = Command::new(py)
        .arg("-c")
        .arg(
            "import json, sys, glob, jsonschema
d = sys.argv[1]
s = json.load(open(d + '/schema.json'))
for name in ('ok', 'failed', 'invalid'):
    jsonschema.validate(json.load(open(f'{d}/{name}.json')), s['report'])
    jsonschema.validate(json.load(open(f'{d}/{name}.check.json')), s['check'])
print('valid')",
        )
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // Each type once: `target` is always an object.
    let ok: Value = serde_json::from_str(&harness::read(&dir.path().join("failed.json"))).unwrap();
    assert_eq!(ok["commands"][0]["target"], json!({"channels": [ch, "unknownns:z"]}));
    assert_eq!(ok["commands"][0]["channels"][1]["status"], "failed");
    assert_eq!(ok["exit"]["code"], 1);
}

#[test]
fn an_invalid_manifest_under_github_actions_writes_the_step_summary_too() {
    let (dir, path) = manifest("commands:\n  - publsh: {channel: x, data: 1}\n");
    let summary = dir.path().join("summary.md");
    let watch = Watch::new();
    let out = cent_run()
        .arg(&path)
        .args(["--url", &watch.url, "--api-key", API_KEY])
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_STEP_SUMMARY", &summary)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let md = harness::read(&summary);
    assert!(md.contains("### cent-run: exit 2, nothing sent"), "{md}");
    assert!(md.contains("unknown method `publsh`") && md.contains(&format!("{}:2:5", path.display())), "{md}");
    assert_eq!(watch.connections(), 0);
}

/// While commands are sent, the manifest's text waits in its file (the
/// commands hold their params): the recap reads it again for its snippets,
/// and says so when the file changed meanwhile, keeping the places of the
/// text the run validated.
#[test]
fn the_recap_reads_the_manifest_again_and_says_when_it_changed_during_the_run() {
    let server = shared();
    let ch = harness::channel("reread");
    let text = format!(
        "commands:\n  - publish: {{channel: {ch}, data: 1}}\n  - wait: 1500ms\n  - name: refused\n    publish: {{channel: \"unknownns:x\", data: 1}}\n"
    );
    let (dir, path) = manifest(&text);
    // Unchanged: the snippet is the manifest's own line.
    let out =
        cent_run().arg(&path).args(["--url", &server.url, "--api-key", API_KEY]).env("NO_COLOR", "1").output().unwrap();
    let err = unwrapped(&(String::from_utf8_lossy(&out.stdout) + String::from_utf8_lossy(&out.stderr)));
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("m.yaml:4:") && err.contains("publish: {channel: \"unknownns:x\""), "{err}");
    assert!(!err.contains("changed while the run went"), "{err}");
    // Changed while it waits: two lines inserted above, `unknownns` renamed.
    let json = dir.path().join("r.json");
    let child = Command::new(assert_cmd::cargo::cargo_bin("cent-run"))
        .arg(&path)
        .args(["--url", &server.url, "--api-key", API_KEY, "--report-json"])
        .arg(&json)
        .env_remove("GITHUB_ACTIONS")
        .env("NO_COLOR", "1")
        .env("HOME", std::env::temp_dir())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(600));
    std::fs::write(&path, format!("# moved\n# down\n{}", text.replace("unknownns", "elsewhere"))).unwrap();
    let out = child.wait_with_output().unwrap();
    let err = unwrapped(&(String::from_utf8_lossy(&out.stdout) + String::from_utf8_lossy(&out.stderr)));
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("changed while the run went: its snippets are left out"), "{err}");
    assert!(err.contains("m.yaml:4:"), "the place in the text that ran: {err}");
    assert!(!err.contains("elsewhere"), "no snippet of the new text: {err}");
    let r = harness::report(&json);
    assert_eq!(r["summary"]["failed"], 1, "{r}");
    let warned = r["problems"].as_array().unwrap();
    assert!(warned.iter().any(|w| w["message"].as_str().unwrap().contains("changed while the run went")), "{r}");
}
