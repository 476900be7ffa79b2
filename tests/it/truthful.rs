//! What a CI or cron pipeline reads must tell the truth: one test per
//! defect that was seen (redirects, content-blind keys, a quiet that hid
//! failures, bad URLs found late, impure JSON under GitHub Actions,
//! `--concurrency 1` reordering, causes cut off, broken completion, panics
//! on a closed pipe, a green JUnit for an outage, two runs on one state
//! file, vectors outside the repository), and for what a pipeline needs
//! (problems as annotations, JSON and report files; stdin; `${item}` in
//! names; empty runs; `call` validation; settings precedence).

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::Stdio;

use serde_json::{Value, json};

use crate::harness::{self, API_KEY, Watch, cent_run, manifest, root, shared};

/// A listener that counts connections (and answers none).
fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_redirect_is_not_followed_and_names_its_location() {
    let elsewhere = Watch::new();
    let redirector = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", redirector.local_addr().unwrap());
    let location = format!("{}/api/batch", elsewhere.url);
    let answer = format!("HTTP/1.1 307 Temporary Redirect\r\nLocation: {location}\r\nContent-Length: 0\r\n\r\n");
    std::thread::spawn(move || {
        for conn in redirector.incoming().flatten().take(4) {
            let mut conn = conn;
            let mut buf = [0u8; 65536];
            let _ = conn.read(&mut buf);
            let _ = conn.write_all(answer.as_bytes());
        }
    });
    let (_dir, path) =
        manifest("commands:\n  - publish: {channel: news, data: 1}\n  - publish: {channel: other, data: 2}\n");
    let out = cent_run().arg(&path).args(["--url", &url, "--api-key", API_KEY]).output().unwrap();
    // A redirect says the URL is not the server's API: configuration, exit 2.
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    let text = stdout(&out);
    assert!(text.contains(&format!("HTTP 307 redirect to {location}: not followed")), "{text}");
    assert!(text.contains("2 commands: 0 ok, 2 failed"), "nothing is reported ok: {text}");
    assert_eq!(elsewhere.connections(), 0, "the key went to the redirect's target");
}

#[test]
fn an_edited_command_is_published_under_the_same_run_id_and_an_unchanged_one_is_not_doubled() {
    let server = shared();
    let ch = harness::channel("edit");
    let run = |v: u32| {
        let (_dir, path) = manifest(&format!("commands:\n  - publish: {{channel: {ch}, data: {{v: {v}}}}}\n"));
        let out = cent_run()
            .arg(&path)
            .args(["--url", &server.url, "--api-key", API_KEY, "--run-id", "ci-7", "--format", "json"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    };
    run(1);
    run(2);
    run(2);
    assert_eq!(server.history(&ch), vec![json!({"v": 1}), json!({"v": 2})]);
}

#[test]
fn no_idempotency_sends_no_keys_from_the_flag_or_the_manifest() {
    let (dir, path) =
        manifest("commands:\n  - publish: {channel: a, data: 1}\n  - broadcast: {channels: [a, b], data: 2}\n");
    let plan = |args: &[&str], path: &std::path::Path| {
        let out = cent_run().arg("plan").arg(path).args(["--api-key", "k"]).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        stdout(&out)
    };
    assert_eq!(plan(&[], &path).matches("idempotency_key").count(), 2);
    assert_eq!(plan(&["--no-idempotency"], &path).matches("idempotency_key").count(), 0);
    let off = dir.path().join("off.yaml");
    std::fs::write(&off, format!("defaults: {{idempotency: false}}\n{}", harness::read(&path))).unwrap();
    assert_eq!(plan(&[], &off).matches("idempotency_key").count(), 0);
    // The help says why keys matter and where they stop helping.
    let help = stdout(&cent_run().arg("--help").output().unwrap());
    assert!(help.contains("5 minutes") && help.contains("--state"), "{help}");
}

#[test]
fn bad_urls_are_validation_problems_and_an_empty_variable_counts_as_unset() {
    let server = shared();
    let ch = harness::channel("url");
    let watch = Watch::new();
    let (_dir, path) = manifest(&format!(
        "server:\n  url: ${{CENTRIFUGO_URL:-{}}}\ncommands:\n  - publish: {{channel: {ch}, data: 1}}\n",
        server.url
    ));
    // An empty CENTRIFUGO_URL (a CI variable that is not set) leaves the manifest's default.
    let out = cent_run().arg(&path).env("CENTRIFUGO_URL", "").env("CENTRIFUGO_API_KEY", API_KEY).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    assert_eq!(server.history(&ch), vec![json!(1)]);
    for (url, says) in [
        ("localhost:8000", "did you mean http://localhost:8000?"),
        ("ftp://127.0.0.1/x", "the scheme `ftp` is not supported"),
        ("http://", "is not a URL"),
    ] {
        let out = cent_run().arg(&path).args(["--url", url, "--api-key", API_KEY]).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{url}: {}", stderr(&out));
        assert!(stderr(&out).contains(says), "{url}: {}", stderr(&out));
        assert!(stderr(&out).contains("--url"), "the flag is named: {}", stderr(&out));
    }
    let out =
        cent_run().arg(&path).env("CENTRIFUGO_URL", "127.0.0.1:1").env("CENTRIFUGO_API_KEY", API_KEY).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("CENTRIFUGO_URL"), "{}", stderr(&out));
    assert_eq!(watch.connections(), 0);
    assert_eq!(server.history(&ch).len(), 1, "nothing more was sent");
}

#[test]
fn json_on_stdout_stays_pure_under_github_actions() {
    let server = shared();
    let ch = harness::channel("gha");
    let (dir, path) = manifest(&format!(
        "commands:\n  - publish: {{channel: {ch}, data: 1}}\n  - publish: {{channel: \"unknownns:x\", data: 2}}\n"
    ));
    let out = cent_run()
        .arg(&path)
        .args(["--url", &server.url, "--api-key", API_KEY, "--format", "json"])
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_STEP_SUMMARY", dir.path().join("summary.md"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&out.stdout).expect("stdout is exactly one JSON document");
    assert_eq!(report["summary"]["failed"], 1);
    assert!(stderr(&out).contains("::error file="), "annotations go to stderr: {}", stderr(&out));
}

#[test]
fn concurrency_one_sends_every_command_in_manifest_order() {
    let (_dir, path) = manifest(
        "commands:\n  - disconnect: {user: a}\n  - disconnect: {user: b}\n  - history: {channel: x, limit: 1}\n  - presence: {channel: x}\n  - disconnect: {user: a}\n  - publish: {channel: y, data: 1}\n",
    );
    let out = cent_run()
        .arg("plan")
        .arg(&path)
        .args(["--api-key", "k", "--concurrency", "1", "--batch-size", "2"])
        .output()
        .unwrap();
    let order: Vec<String> = stdout(&out)
        .lines()
        .filter(|l| l.starts_with('{'))
        .flat_map(|l| {
            let body: Value = serde_json::from_str(l).unwrap();
            body["commands"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c.as_object().unwrap().keys().next().unwrap().clone())
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(order, ["disconnect", "disconnect", "history", "presence", "disconnect", "publish"]);
}

/// Runs `text` against a port nobody listens on, without retries, with
/// `report_flag` writing the report into `file` (in the returned dir);
/// checks the exit code says transport trouble (3).
fn against_no_server(text: &str, report_flag: &str, file: &str) -> (tempfile::TempDir, std::process::Output) {
    let port = harness::free_port();
    let (dir, path) = manifest(text);
    let out = cent_run()
        .arg(&path)
        .args(["--url", &format!("http://127.0.0.1:{port}"), "--api-key", API_KEY, "--retries", "0", report_flag])
        .arg(dir.path().join(file))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    (dir, out)
}

#[test]
fn the_innermost_cause_of_a_transport_failure_is_shown_whole() {
    let (dir, out) = against_no_server("commands:\n  - publish: {channel: news, data: 1}\n", "--report-json", "r.json");
    let report = dir.path().join("r.json");
    let text = stdout(&out).replace("\n  │ ", " ");
    let row = text.lines().find(|l| l.contains("skipped")).unwrap();
    assert!(row.contains("Connection refused"), "table: {text}");
    assert!(row.contains(" skipped   0 "), "never sent: no tries: {row}");
    // Said once, whole, in the recap, with what to do; the node that failed is named.
    assert!(
        text.contains("1 command skipped: not sent: transport failure: Connection refused (os error 111)"),
        "{text}"
    );
    assert!(text.contains("check that the server is up and reachable"), "{text}");
    let nodes = text.lines().last().unwrap();
    assert!(
        nodes.contains("failed 0s into the run: Connection refused")
            || nodes.contains("into the run: Connection refused"),
        "{nodes}"
    );
    let r: Value = serde_json::from_str(&harness::read(&report)).unwrap();
    assert!(r["commands"][0]["detail"].as_str().unwrap().contains("Connection refused"), "{r}");
}

/// What bash offers after `cent-run WORDS`, by the generated script.
fn complete(script: &std::path::Path, words: &str) -> Vec<String> {
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!(
            r#"source {}; COMP_WORDS=(cent-run {words}); COMP_CWORD=$((${{#COMP_WORDS[@]}}-1)); _cent__run cent-run "${{COMP_WORDS[COMP_CWORD]}}" "${{COMP_WORDS[COMP_CWORD-1]}}"; printf '%s\n' "${{COMPREPLY[@]}}""#,
            script.display()
        ))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out).lines().map(str::to_owned).collect()
}

#[test]
fn completion_works_below_the_top_level_in_bash_and_is_generated_for_zsh_and_fish() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("cent-run.bash");
    let out = cent_run().args(["completions", "bash"]).output().unwrap();
    std::fs::write(&script, &out.stdout).unwrap();
    let sub = complete(&script, "token ''");
    for want in ["legacy", "connect", "subscribe", "check"] {
        assert!(sub.contains(&want.to_owned()), "token <TAB> offers {sub:?}");
    }
    let flags = complete(&script, "token connect --");
    assert!(flags.contains(&"--user".to_owned()) && flags.contains(&"--ttl".to_owned()), "{flags:?}");
    let top = complete(&script, "--");
    assert!(top.contains(&"--no-idempotency".to_owned()), "{top:?}");
    assert!(top.iter().all(|f| f != "--deterministic"), "no hidden flag is offered: {top:?}");
    for shell in ["zsh", "fish"] {
        let out = cent_run().args(["completions", shell]).output().unwrap();
        assert_eq!(out.status.code(), Some(0));
        let text = stdout(&out);
        assert!(text.contains("channel-sign") && text.contains("no-idempotency"), "{shell}: {text}");
    }
}

/// Runs cent-run with a stdout whose reader is already gone.
fn into_a_closed_pipe(args: &[&str]) -> std::process::Output {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let bin = assert_cmd::cargo::cargo_bin("cent-run");
    std::process::Command::new(bin)
        .args(args)
        .env("CENTRIFUGO_TOKEN_SECRET", harness::HMAC_SECRET)
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .unwrap()
}

#[test]
fn nothing_panics_on_a_closed_stdout() {
    let token = stdout(
        &cent_run()
            .args(["token", "connect", "--user", "42", "--ttl", "1h"])
            .env("CENTRIFUGO_TOKEN_SECRET", harness::HMAC_SECRET)
            .output()
            .unwrap(),
    );
    let token = token.trim();
    for args in [
        vec!["token", "check", token],
        vec!["schema"],
        vec!["completions", "bash"],
        vec!["--help"],
        vec!["check", "examples/manifests/broadcast.yaml"],
    ] {
        for _ in 0..5 {
            let out = into_a_closed_pipe(&args.iter().map(|a| &**a).collect::<Vec<_>>());
            assert!(!stderr(&out).contains("panicked"), "{args:?}: {}", stderr(&out));
        }
    }
}

#[test]
fn junit_shows_an_outage_as_errors_not_green() {
    let text = "commands:\n  - publish: {channel: a, data: 1}\n  - publish: {channel: b, data: 2}\n";
    let (dir, _) = against_no_server(text, "--report-junit", "r.xml");
    let junit = dir.path().join("r.xml");
    let py = root().join(".tools/venv/bin/python");
    let parsed = std::process::Command::new(py)
        .arg("-c")
        .arg("import sys; from junitparser import JUnitXml\nx = JUnitXml.fromfile(sys.argv[1])\nprint(x.errors, x.failures, x.skipped)")
        .arg(&junit)
        .output()
        .unwrap();
    assert_eq!(stdout(&parsed).trim(), "2 0 0", "{}", stderr(&parsed));
}

#[test]
fn a_second_run_on_a_state_file_in_use_is_refused_and_sends_nothing() {
    let server = shared();
    let ch = harness::channel("lock");
    let (dir, path) = manifest(&format!("commands:\n  - publish: {{channel: {ch}, data: 1}}\n"));
    let state = dir.path().join("state.jsonl");
    let held = std::fs::OpenOptions::new().create(true).append(true).open(&state).unwrap();
    held.try_lock().unwrap();
    let run = || {
        cent_run()
            .arg(&path)
            .args(["--url", &server.url, "--api-key", API_KEY, "--state"])
            .arg(&state)
            .output()
            .unwrap()
    };
    let out = run();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains(&state.display().to_string()) && stderr(&out).contains("in use"), "{}", stderr(&out));
    assert!(server.history(&ch).is_empty());
    drop(held);
    let out = run();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn a_clone_runs_its_own_tests_with_nothing_outside_the_repository() {
    for dir in ["src", "tests", "scripts", "bench", "examples"] {
        let mut stack = vec![root().join(dir)];
        while let Some(p) = stack.pop() {
            if p.is_dir() {
                stack.extend(
                    std::fs::read_dir(&p).unwrap().flatten().map(|e| e.path()).filter(|p| !p.ends_with("target")),
                );
            } else if let Ok(text) = std::fs::read_to_string(&p) {
                assert!(!text.contains(&["..", "shared/"].concat()), "{} reads outside the repository", p.display());
            }
        }
    }
}

#[test]
fn problems_reach_ci_as_annotations_json_and_report_files() {
    let case = "tests/corpus/invalid/10-unknown-method.yaml";
    let dir = tempfile::tempdir().unwrap();
    let (json, junit) = (dir.path().join("r.json"), dir.path().join("r.xml"));
    let out = cent_run()
        .current_dir(root())
        .args(["check", case, "--format", "json", "--report-json"])
        .arg(&json)
        .arg("--report-junit")
        .arg(&junit)
        .env("GITHUB_ACTIONS", "true")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let check: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(check["valid"], false);
    let p = &check["problems"][0];
    assert_eq!((p["file"].as_str(), p["severity"].as_str()), (Some(case), Some("error")));
    assert!(p["line"].as_u64().is_some() && p["column"].as_u64().is_some() && p["hint"].is_string(), "{p}");
    let line = format!("::error file={case},line={},col={},", p["line"], p["column"]);
    assert!(stderr(&out).contains(&line), "{}", stderr(&out));
    let report: Value = serde_json::from_str(&harness::read(&json)).unwrap();
    assert_eq!(report["problems"][0]["message"], p["message"]);
    assert!(harness::read(&junit).contains("<failure"), "{}", harness::read(&junit));
    let ok = cent_run()
        .current_dir(root())
        .args(["check", "examples/manifests/audit.yaml", "--format", "json"])
        .output()
        .unwrap();
    let check: Value = serde_json::from_slice(&ok.stdout).unwrap();
    assert_eq!(check["valid"], true);
    assert!(check["total"].as_u64().unwrap() > 0);
}

#[test]
fn a_manifest_from_stdin_and_item_in_names() {
    let server = shared();
    let ch = harness::channel("stdin");
    let text = format!(
        "commands:\n  - name: \"greet ${{item}}\"\n    publish: {{channel: {ch}, data: \"${{item}}\"}}\n    for_each: [ann, bob]\n"
    );
    let out = cent_run()
        .args(["-", "--url", &server.url, "--api-key", API_KEY, "--format", "json"])
        .write_stdin(text)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = r["commands"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["greet ann", "greet bob"]);
    assert_eq!(r["commands"][0]["manifest"], "<stdin>");
    assert_eq!(server.history(&ch), vec![json!("ann"), json!("bob")]);
}

#[test]
fn an_empty_run_and_an_oversized_command_are_warnings() {
    let (dir, path) = manifest("commands: []\n");
    let out = cent_run().arg("check").arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(stderr(&out).contains("0 commands"), "{}", stderr(&out));
    std::fs::write(dir.path().join("users.txt"), "# nobody\n\n").unwrap();
    let each = dir.path().join("each.yaml");
    std::fs::write(&each, "commands:\n  - disconnect: {user: \"${item}\"}\n    for_each: {file: users.txt}\n").unwrap();
    let out = cent_run().arg("check").arg(&each).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    // (miette wraps the message: compare words.)
    let err = stderr(&out).replace("\n  │ ", " ");
    assert!(err.contains("users.txt is empty: this command runs zero times"), "{err}");
    let big = dir.path().join("big.yaml");
    std::fs::write(&big, format!("commands:\n  - publish: {{channel: a, data: \"{}\"}}\n", "x".repeat(3000))).unwrap();
    let out = cent_run().arg("check").arg(&big).args(["--max-batch-bytes", "2048"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(stderr(&out).contains("over --max-batch-bytes 2048"), "{}", stderr(&out));
}

#[test]
fn call_validates_params_like_a_manifest_and_sends_nothing_when_wrong() {
    let watch = Watch::new();
    let out = cent_run()
        .args([
            "call",
            "publish",
            "--params",
            r#"{"chanel": "news", "data": 1}"#,
            "--url",
            &watch.url,
            "--api-key",
            "k",
        ])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("unknown field `chanel` in `publish`") && err.contains("did you mean `channel`?"), "{err}");
    assert!(err.contains("--params:1:2"), "located in the params: {err}");
    let out = cent_run().args(["call", "publsh", "--url", &watch.url, "--api-key", "k"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("did you mean `publish`?"), "{}", stderr(&out));
    assert_eq!(watch.connections(), 0);
}

#[test]
fn settings_precedence_surprises_no_one() {
    let server = shared();
    let ch = harness::channel("prec");
    let dead = format!("http://127.0.0.1:{}", harness::free_port());
    let dir = tempfile::tempdir().unwrap();
    let rc = dir.path().join("centrc");
    std::fs::write(&rc, format!("[prod]\naddress = {}\napi_key = {API_KEY}\n", server.url)).unwrap();
    let path = dir.path().join("m.yaml");
    std::fs::write(&path, format!("server: {{url: {dead}}}\ncommands:\n  - publish: {{channel: {ch}, data: 1}}\n"))
        .unwrap();
    // An explicit --profile is a flag: it beats the manifest's server:.
    let out = cent_run().arg(&path).args(["--profile", "prod", "--config"]).arg(&rc).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    assert_eq!(server.history(&ch), vec![json!(1)]);
    // An undefined variable in server: matters only where nothing replaces it...
    std::fs::write(&path, format!("server: {{url: \"${{NOPE_URL}}\", api_key: \"${{NOPE_KEY}}\"}}\ncommands:\n  - publish: {{channel: {ch}, data: 2}}\n")).unwrap();
    let out = cent_run().arg(&path).args(["--url", &server.url, "--api-key", API_KEY]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // ...and where it does, the variable is named.
    let out = cent_run().arg(&path).args(["--url", &server.url]).env("NO_COLOR", "1").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("undefined variable `NOPE_KEY`"), "{}", stderr(&out));
    // A key that is a common word does not garble cent-run's own words.
    let (_d, one) = manifest(&format!("commands:\n  - publish: {{channel: {ch}, data: 3}}\n"));
    let out = cent_run().arg(&one).args(["--url", &server.url, "--api-key", "API"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "a refused key is a configuration problem");
    assert!(stdout(&out).contains("wrong or missing API key"), "{}", stdout(&out));
}

#[test]
fn help_describes_file_and_shows_examples() {
    let help = stdout(&cent_run().arg("--help").output().unwrap());
    for want in
        ["FILE", "standard input", "cent-run check", "cent-run plan", "cent-run token", "cent-run broadcast.yaml"]
    {
        assert!(help.contains(want), "--help lacks {want}:\n{help}");
    }
    let check = stdout(&cent_run().args(["check", "--help"]).output().unwrap());
    assert!(check.contains("`-` reads one from standard input"), "{check}");
}

#[test]
fn the_console_names_a_missing_file_and_refuses_a_bad_timeout() {
    let cent = || {
        let mut c = assert_cmd::Command::cargo_bin("cent").unwrap();
        c.env("HOME", std::env::temp_dir());
        c
    };
    let out = cent().args(["prod", "info", "--config", "/nonexistent/centrc"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(stderr(&out).trim(), "configuration file /nonexistent/centrc not found");
    let dir = tempfile::tempdir().unwrap();
    let rc = dir.path().join("centrc");
    std::fs::write(&rc, "[prod]\naddress = http://127.0.0.1:1\napi_key = k\ntimeout = soon\n").unwrap();
    let out = cent().args(["prod", "info", "--config"]).arg(&rc).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("`timeout = soon` is not a positive number of seconds"), "{}", stderr(&out));
}

/// Integers of any size reach the server exactly as written — inside
/// `data`, a `data_file`, a `for_each` row and a variable — read back from
/// the server's own history text (no JSON decoder between).
#[test]
fn integers_of_any_size_reach_the_server_digit_for_digit() {
    let server = shared();
    let ch = harness::channel("bigint");
    let (dir, path) = manifest(&format!(
        "vars:\n  big: 99999999999999999999\ncommands:\n  - publish: {{channel: {ch}, data: {{n: -123456789012345678901234567890}}}}\n  - publish: {{channel: {ch}, data_file: d.json}}\n  - publish: {{channel: {ch}, data: \"${{item}}\"}}\n    for_each: {{file: rows.jsonl}}\n  - publish: {{channel: {ch}, data: {{x: \"${{big}}\"}}}}\n"
    ));
    std::fs::write(dir.path().join("d.json"), r#"{"big": -99999999999999999999, "n": 18446744073709551616}"#).unwrap();
    std::fs::write(dir.path().join("rows.jsonl"), "{\"v\": 340282366920938463463374607431768211456}\n").unwrap();
    let out = cent_run().arg(&path).args(["--url", &server.url, "--api-key", API_KEY]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    let (_, body) = harness::raw_http(
        server.port,
        "POST",
        "/api/history",
        &[("X-API-Key", API_KEY)],
        format!(r#"{{"channel":"{ch}","limit":-1}}"#).as_bytes(),
    )
    .unwrap();
    let text = String::from_utf8(body).unwrap();
    for written in [
        r#"{"n":-123456789012345678901234567890}"#,
        r#"{"big":-99999999999999999999,"n":18446744073709551616}"#,
        r#"{"v":340282366920938463463374607431768211456}"#,
        r#"{"x":99999999999999999999}"#,
    ] {
        assert!(text.contains(written), "{written} not in the server's history: {text}");
    }
}
