//! Ctrl-C and a server that dies mid-run, against the real server.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::harness::{self, API_KEY, Server, cent_run, manifest};

fn publishes(ch: &str, n: usize) -> String {
    let mut text = String::from("commands:\n");
    for i in 0..n {
        text.push_str(&format!("  - publish: {{channel: {ch}, data: {{i: {i}}}}}\n"));
    }
    text
}

#[test]
fn ctrl_c_stops_sending_writes_reports_and_state_and_a_resume_completes() {
    let server = Server::start();
    let ch = harness::channel("sigint");
    let (dir, path) = manifest(&publishes(&ch, 400));
    let report = dir.path().join("r.json");
    let state = dir.path().join("s.jsonl");
    let bin = assert_cmd::cargo::cargo_bin("cent-run");
    let mut child = std::process::Command::new(&bin)
        .arg(&path)
        .args(["--url", &server.url, "--api-key", API_KEY, "--rate", "200", "--batch-size", "10"])
        .arg("--report-json")
        .arg(&report)
        .arg("--state")
        .arg(&state)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(700));
    let kill = std::process::Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(kill.success());
    let signalled = Instant::now();
    let status = child.wait().unwrap();
    assert!(signalled.elapsed() < Duration::from_secs(4), "in-flight grace is short");
    assert_eq!(status.code(), Some(130));
    let held_at_exit = server.history(&ch).len();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(server.history(&ch).len(), held_at_exit, "nothing is sent after the process ends");

    let r: Value = serde_json::from_str(&harness::read(&report)).unwrap();
    let s = &r["summary"];
    assert_eq!(s["total"], 400);
    let ok = s["ok"].as_u64().unwrap() as usize;
    assert!(ok > 0 && ok < 400, "interrupted mid-run: {s}");
    assert_eq!(ok + s["unknown"].as_u64().unwrap() as usize + s["skipped"].as_u64().unwrap() as usize, 400);
    assert!(held_at_exit >= ok && held_at_exit <= ok + s["unknown"].as_u64().unwrap() as usize);
    let skipped_detail = r["commands"].as_array().unwrap().iter().find(|c| c["status"] == "skipped").unwrap();
    assert_eq!(skipped_detail["detail"], "not sent: interrupted");

    let out = cent_run()
        .arg(&path)
        .args(["--url", &server.url, "--api-key", API_KEY])
        .arg("--state")
        .arg(&state)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let want: Vec<Value> = (0..400).map(|i| json!({"i": i})).collect();
    assert_eq!(server.history(&ch), want, "the resumed run completes it exactly once");
}

#[test]
fn a_server_killed_and_restarted_mid_run_is_retried_through() {
    let port = harness::free_port();
    let server = Server::start_on(port);
    let ch = harness::channel("restart");
    let (_dir, path) = manifest(&publishes(&ch, 300));
    let bin = assert_cmd::cargo::cargo_bin("cent-run");
    let child = std::process::Command::new(&bin)
        .arg(&path)
        .args(["--url", &server.url, "--api-key", API_KEY, "--rate", "300", "--batch-size", "5", "--retries", "12"])
        .args(["--format", "json", "--timeout", "2s"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(400));
    drop(server);
    std::thread::sleep(Duration::from_millis(800));
    let server = Server::start_on(port);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["summary"]["ok"], 300);
    assert!(r["commands"].as_array().unwrap().iter().any(|c| c["attempts"].as_u64() > Some(1)), "some were retried");
    // The memory engine lost what came before the restart; what it holds now
    // is the tail of the manifest, in order, with nothing doubled.
    let got = server.history(&ch);
    assert!(!got.is_empty() && got.len() < 300, "{} held", got.len());
    let first = got[0]["i"].as_u64().unwrap() as usize;
    let want: Vec<Value> = (first..300).map(|i| json!({"i": i})).collect();
    assert_eq!(got, want);
}
