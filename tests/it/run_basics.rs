//! The main job end to end against the real server: what lands, in which
//! order, and the exit codes 0, 1, 2, 3.

use serde_json::json;

use crate::harness::{self, API_KEY, cent_run, manifest, shared};

#[test]
fn publishes_land_in_history_in_order_with_exact_data() {
    let server = shared();
    let ch = harness::channel("news");
    let (_dir, path) = manifest(&format!(
        r#"version: 1
vars:
  release: "2.4.0"
commands:
  - publish:
      channel: {ch}
      data: {{title: "Release ${{release}}", n: 1}}
  - name: greeting in several scripts
    publish:
      channel: {ch}
      data: {{text: "Grüße, мир, 世界 😀", n: 2, ok: true, ratio: 0.5, none: null}}
  - publish: {{channel: {ch}, data: [1, "two", {{three: 3}}]}}
  - publish: {{channel: {ch}, data: "plain string"}}
"#
    ));
    let out = cent_run().arg(&path).args(["--url", &server.url, "--api-key", API_KEY]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "stdout: {stdout}\nstderr: {}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        server.history(&ch),
        vec![
            json!({"title": "Release 2.4.0", "n": 1}),
            json!({"text": "Grüße, мир, 世界 😀", "n": 2, "ok": true, "ratio": 0.5, "none": null}),
            json!([1, "two", {"three": 3}]),
            json!("plain string"),
        ]
    );
    assert!(stdout.contains("greeting in several scripts"), "{stdout}");
    assert!(stdout.contains("4 commands: 4 ok, 0 failed, 0 unknown, 0 skipped"), "{stdout}");
}

#[test]
fn a_rejected_command_is_shown_and_exits_1_while_the_rest_lands() {
    let server = shared();
    let ch = harness::channel("news");
    let (_dir, path) = manifest(&format!(
        "commands:\n  - publish: {{channel: {ch}, data: {{n: 1}}}}\n  - publish: {{channel: \"unknownns:x\", data: {{n: 2}}}}\n  - publish: {{channel: {ch}, data: {{n: 3}}}}\n"
    ));
    let out =
        cent_run().arg(&path).env("CENTRIFUGO_URL", &server.url).env("CENTRIFUGO_API_KEY", API_KEY).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("102 unknown channel"), "{stdout}");
    assert!(stdout.contains("3 commands: 2 ok, 1 failed"), "{stdout}");
    assert_eq!(server.history(&ch), vec![json!({"n": 1}), json!({"n": 3})]);
}

#[test]
fn an_unreachable_server_exits_3_and_reports_nothing_applied() {
    let port = harness::free_port();
    let (_dir, path) =
        manifest("commands:\n  - publish: {channel: news, data: 1}\n  - publish: {channel: other, data: 2}\n");
    let report = path.with_file_name("r.json");
    let out = cent_run()
        .arg(&path)
        .args(["--url", &format!("http://127.0.0.1:{port}"), "--api-key", API_KEY, "--retries", "1", "--report-json"])
        .arg(&report)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", String::from_utf8_lossy(&out.stdout));
    let r: serde_json::Value = serde_json::from_str(&harness::read(&report)).unwrap();
    // Connection refused: never reached the server, so skipped, not unknown.
    assert_eq!(r["summary"], json!({"total": 2, "ok": 0, "failed": 0, "unknown": 0, "skipped": 2}));
    assert_eq!(r["commands"][0]["status"], "skipped");
}

#[test]
fn the_api_key_never_appears_in_any_output() {
    let server = shared();
    let ch = harness::channel("news");
    let (dir, path) = manifest(&format!(
        "server:\n  api_key: ${{KEY}}\ncommands:\n  - publish: {{channel: {ch}, data: 1}}\n  - publish: {{channel: \"unknownns:x\", data: 2}}\n"
    ));
    let json_report = dir.path().join("r.json");
    let junit = dir.path().join("r.xml");
    let summary = dir.path().join("summary.md");
    let out = cent_run()
        .arg(&path)
        .args(["--url", &server.url, "-vv", "--report-json"])
        .arg(&json_report)
        .arg("--report-junit")
        .arg(&junit)
        .env("KEY", API_KEY)
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_STEP_SUMMARY", &summary)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let plan = cent_run().arg("plan").arg(&path).args(["--url", &server.url]).env("KEY", API_KEY).output().unwrap();
    assert_eq!(plan.status.code(), Some(0));
    let plan_text = String::from_utf8_lossy(&plan.stdout).into_owned();
    assert!(plan_text.contains("X-API-Key: ***"), "{plan_text}");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(stderr.contains("POST "), "-vv logs requests: {stderr}");
    for (what, text) in [
        ("stdout", String::from_utf8_lossy(&out.stdout).into_owned()),
        ("stderr", stderr),
        ("json", harness::read(&json_report)),
        ("junit", harness::read(&junit)),
        ("step summary", harness::read(&summary)),
        ("plan", plan_text),
    ] {
        assert!(!text.is_empty(), "{what} is empty");
        assert!(!text.contains(API_KEY), "{what} leaks the API key:\n{text}");
    }
}

#[test]
fn invalid_manifests_exit_2_and_send_nothing() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (_dir, path) = manifest("commands:\n  - publish: {channel: news, data: 1}\n  - publsh: {channel: news}\n");
    let out = cent_run().arg(&path).args(["--url", &url, "--api-key", API_KEY]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("m.yaml:3:5"), "{stderr}");
    assert!(stderr.contains("did you mean `publish`?"), "{stderr}");
    assert!(listener.accept().is_err(), "a connection was made");
}

#[test]
fn v1_secrets_and_state_files_never_leak_either() {
    let secret = "planted-hmac-secret-91c3";
    let v1 = crate::v1server::V1Server::start(secret);
    let (dir, path) = manifest(
        "server:\n  protocol: v1\n  secret: ${S}\ncommands:\n  - publish: {channel: news, data: 1}\n  - publish: {channel: \"unknownns:x\", data: 1}\n",
    );
    let state = dir.path().join("state.jsonl");
    let report = dir.path().join("r.json");
    let out = cent_run()
        .arg(&path)
        .args(["--url", &v1.url, "-vv", "--state"])
        .arg(&state)
        .arg("--report-json")
        .arg(&report)
        .env("S", secret)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let plan = cent_run().arg("plan").arg(&path).env("S", secret).output().unwrap();
    let rc = dir.path().join("centrc");
    std::fs::write(&rc, format!("[x]\naddress = {}\nsecret = {secret}\n", v1.url)).unwrap();
    let console = assert_cmd::Command::cargo_bin("cent")
        .unwrap()
        .args(["x", "publish", "-vv", "--params", r#"{"channel":"unknownns:y","data":1}"#, "--config"])
        .arg(&rc)
        .output()
        .unwrap();
    assert_eq!(console.status.code(), Some(1));
    for (what, text) in [
        ("stdout", String::from_utf8_lossy(&out.stdout).into_owned()),
        ("stderr -vv", String::from_utf8_lossy(&out.stderr).into_owned()),
        ("state", crate::harness::read(&state)),
        ("json", crate::harness::read(&report)),
        ("plan", String::from_utf8_lossy(&plan.stdout).into_owned()),
        ("cent stdout", String::from_utf8_lossy(&console.stdout).into_owned()),
        ("cent stderr -vv", String::from_utf8_lossy(&console.stderr).into_owned()),
    ] {
        assert!(!text.is_empty(), "{what} is empty");
        assert!(!text.contains(secret), "{what} leaks the secret:\n{text}");
    }
}
