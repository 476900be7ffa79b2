//! Steps on the real server (SPEC §3.1): a `wait` is a barrier seen at the
//! proxy with timestamps; `expect` passes, fails located with wanted and
//! got, and takes an expected refusal as ok; `until` waits for a publication
//! the test makes meanwhile, and gives up at its timeout; `save` carries an
//! offset and epoch into a typed `since`, and a failed saver skips its
//! users; Ctrl-C during a wait ends the run at once; the cron maintenance
//! example disconnects a live subscriber and checks presence.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::harness::{self, API_KEY, Server, Subscriber, cent_run, manifest, root, shared};
use crate::proxy::{Fault, Proxy};

fn run(path: &std::path::Path, server_url: &str, extra: &[&str]) -> (Option<i32>, Value, String) {
    let report = path.with_file_name("report.json");
    let out = cent_run()
        .arg(path)
        .args(["--url", server_url, "--api-key", API_KEY, "--report-json"])
        .arg(&report)
        .args(extra)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    let r = serde_json::from_str(&harness::read(&report)).unwrap_or(Value::Null);
    (out.status.code(), r, text)
}

#[test]
fn no_request_after_a_wait_arrives_before_everything_above_was_answered_plus_the_pause() {
    let server = shared();
    let proxy = Proxy::start(server.port, |_| Fault::Pass);
    let (a, b) = (harness::channel("above"), harness::channel("below"));
    let mut text = String::from("commands:\n");
    for i in 0..6 {
        text.push_str(&format!("  - publish: {{channel: {a}-{}, data: {i}}}\n", i % 3));
    }
    text.push_str("  - wait: 1s\n");
    for i in 0..4 {
        text.push_str(&format!("  - publish: {{channel: {b}-{}, data: {i}}}\n", i % 2));
    }
    let (dir, path) = manifest(&text);
    let (code, r, out) = run(&path, &proxy.url, &["--batch-size", "2", "--concurrency", "3"]);
    drop(dir);
    assert_eq!(code, Some(0), "{out}");
    assert_eq!(r["commands"][6]["method"], "wait");
    let log = proxy.log();
    let above: Vec<_> = log.iter().filter(|l| l.body.contains(&a)).collect();
    let below: Vec<_> = log.iter().filter(|l| l.body.contains(&b)).collect();
    assert!(above.len() >= 3 && below.len() >= 2, "{} above, {} below", above.len(), below.len());
    let last_answer = above.iter().filter_map(|l| l.answered).max().unwrap();
    let first_below = below.iter().map(|l| l.arrived).min().unwrap();
    let gap = first_below.duration_since(last_answer);
    assert!(gap >= Duration::from_secs(1), "a request below the wait arrived {gap:?} after the last answer above");
    assert!(gap < Duration::from_secs(3), "and not much later: {gap:?}");
}

#[test]
fn expect_passes_fails_located_and_takes_an_expected_refusal_as_ok() {
    let server = shared();
    let ch = harness::channel("expect");
    let text = format!(
        "commands:
  - publish: {{channel: {ch}, data: {{title: \"Release 2.4\", n: 3}}}}
  - history: {{channel: {ch}, limit: 10}}
    expect:
      publications: {{len: 1}}
      publications.0.data.title: {{matches: \"^Release [0-9.]+$\"}}
      publications.0.data.n: {{ge: 3}}
  - history: {{channel: {ch}, limit: 10}}
    expect:
      publications.0.data.n: 4
  - publish: {{channel: \"nope:x\", data: 1}}
    expect: {{error: 102}}
  - publish: {{channel: {ch}, data: 2}}
    expect: {{error: 102}}
"
    );
    let (_dir, path) = manifest(&text);
    let junit = path.with_file_name("r.xml");
    let (code, r, out) = run(&path, &server.url, &["--report-junit", junit.to_str().unwrap()]);
    assert_eq!(code, Some(4), "applied and read, but an expectation did not hold: {out}");
    let c = r["commands"].as_array().unwrap();
    let statuses: Vec<&str> = c.iter().map(|c| c["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["ok", "ok", "failed", "ok", "failed"]);
    assert_eq!(c[2]["reason"], "expectation");
    assert!(c[1]["checks"].as_array().unwrap().iter().all(|k| k["ok"] == true), "{}", c[1]);
    let failed = "publications.0.data.n: wanted 4, got 3";
    assert_eq!(c[2]["detail"], failed);
    assert_eq!(
        c[2]["checks"][0],
        json!({"manifest": path.display().to_string(), "line": 10, "path": "publications.0.data.n", "wanted": "4", "got": 3, "ok": false})
    );
    // The recap points at the failing check's own line, with the manifest's snippet.
    assert!(out.contains(&format!("{}:10:7: 1 command failed: {failed}", path.display())), "{out}");
    assert_eq!(c[3]["detail"], "refused as expected: 102 unknown channel");
    assert!(c[4]["detail"].as_str().unwrap().starts_with("expected error 102, got a result"), "{}", c[4]);
    assert!(out.contains(&format!("{}:14:14: 1 command failed: expected error 102", path.display())), "{out}");
    let junit = harness::read(&junit);
    assert!(
        junit.contains(failed) && junit.contains(&format!("at {}:10:7", path.display())),
        "JUnit carries the failed check and its place: {junit}"
    );
    assert_eq!(server.history(&ch), vec![json!({"title": "Release 2.4", "n": 3}), json!(2)]);
}

#[test]
fn until_waits_for_a_publication_made_meanwhile_and_gives_up_at_its_timeout() {
    let server = shared();
    let ch = harness::channel("until");
    let text = format!(
        "commands:
  - history: {{channel: {ch}, limit: 10}}
    expect: {{publications: {{len: 1}}}}
    until: {{every: 200ms, timeout: 10s}}
  - publish: {{channel: {ch}, data: after}}
"
    );
    let (_dir, path) = manifest(&text);
    let later = {
        let (url, ch) = (server.port, ch.clone());
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(1500));
            let body = json!({"channel": ch, "data": "meanwhile"}).to_string();
            harness::raw_http(url, "POST", "/api/publish", &[("X-API-Key", API_KEY)], body.as_bytes()).unwrap();
        })
    };
    let started = Instant::now();
    let (code, r, out) = run(&path, &server.url, &[]);
    later.join().unwrap();
    assert_eq!(code, Some(0), "{out}");
    assert!(started.elapsed() >= Duration::from_millis(1400), "it waited for the publication");
    assert!(r["commands"][0]["attempts"].as_u64().unwrap() > 3, "{}", r["commands"][0]);
    assert_eq!(server.history(&ch), vec![json!("meanwhile"), json!("after")], "the publish came after the until");
    // Nothing comes: it gives up at the timeout, failed with the last value.
    let (_dir, path) = manifest(&format!(
        "commands:\n  - presence_stats: {{channel: {ch}}}\n    expect: {{num_clients: {{gt: 0}}}}\n    until: {{every: 300ms, timeout: 1500ms}}\n"
    ));
    let started = Instant::now();
    let (code, r, out) = run(&path, &server.url, &[]);
    assert_eq!(code, Some(4), "{out}");
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(1500) && took < Duration::from_secs(4), "{took:?}");
    let msg = r["commands"][0]["detail"].as_str().unwrap();
    assert!(msg.starts_with("until gave up after 1.5s: num_clients: wanted gt 0, got 0"), "{msg}");
}

#[test]
fn saved_values_carry_typed_into_later_commands_and_a_failed_saver_skips_its_users() {
    let server = shared();
    let ch = harness::channel("save");
    let text = format!(
        "commands:
  - publish: {{channel: {ch}, data: {{v: 1}}}}
    save: {{pos_offset: offset, pos_epoch: epoch}}
  - publish: {{channel: {ch}, data: {{v: 2}}}}
  - history:
      channel: {ch}
      since: {{offset: \"${{pos_offset}}\", epoch: \"${{pos_epoch}}\"}}
      limit: 10
    expect:
      publications: {{len: 1}}
      publications.0.data.v: 2
      publications.0.offset: {{gt: \"${{pos_offset}}\"}}
  - publish: {{channel: \"nope:x\", data: 1}}
    save: {{lost: offset}}
  - publish: {{channel: {ch}, data: {{after: \"${{lost}}\"}}}}
  - publish: {{channel: \"nohist:{ch}\", data: {{v: 3}}}}
    save: {{missing: offset}}
  - history: {{channel: {ch}, limit: \"${{missing}}\"}}
"
    );
    let (_dir, path) = manifest(&text);
    let (code, r, out) = run(&path, &server.url, &[]);
    assert_eq!(code, Some(1), "{out}");
    let c = r["commands"].as_array().unwrap();
    let statuses: Vec<&str> = c.iter().map(|c| c["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["ok", "ok", "ok", "failed", "skipped", "ok", "skipped"], "{out}");
    assert_eq!(c[2]["result"]["publications"].as_array().unwrap().len(), 1);
    assert_eq!(
        (c[4]["reason"].as_str(), c[4]["detail"].as_str()),
        (Some("not_saved"), Some("`${lost}` has no value (command #3 failed)"))
    );
    // A path the reply may hold, absent from this reply (no history in `nohist:`, so no offset).
    assert_eq!(c[6]["detail"], "`${missing}` has no value (the result of command #5 has no `offset`)");
    assert_eq!(server.history(&ch), vec![json!({"v": 1}), json!({"v": 2})], "the skipped one was not sent");
}

#[test]
fn ctrl_c_during_a_wait_ends_the_run_at_once() {
    let server = shared();
    let ch = harness::channel("waitint");
    let (dir, path) = manifest(&format!(
        "commands:\n  - publish: {{channel: {ch}, data: 1}}\n  - wait: 30s\n  - publish: {{channel: {ch}, data: 2}}\n"
    ));
    let report = dir.path().join("r.json");
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("cent-run"))
        .arg(&path)
        .args(["--url", &server.url, "--api-key", API_KEY, "--report-json"])
        .arg(&report)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(800));
    assert!(Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap().success());
    let signalled = Instant::now();
    let status = child.wait().unwrap();
    assert!(signalled.elapsed() < Duration::from_secs(2), "the wait is cut short: {:?}", signalled.elapsed());
    assert_eq!(status.code(), Some(130));
    let r: Value = serde_json::from_str(&harness::read(&report)).unwrap();
    let statuses: Vec<&str> = r["commands"].as_array().unwrap().iter().map(|c| c["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["ok", "skipped", "skipped"]);
    assert_eq!(server.history(&ch), vec![json!(1)]);
}

#[test]
fn the_cron_maintenance_example_disconnects_a_live_subscriber_and_checks_presence() {
    let server = Server::start();
    let token = harness::token("connect", "1001", &[]);
    // It waits for more than will come: it stays connected through the run.
    let subscriber = Subscriber::start(server.port, &token, 100, 30, &json!([{"channel": "chat:team"}]));
    assert_eq!(server.api("presence_stats", json!({"channel": "chat:team"}))["num_clients"], 1);
    let out = cent_run()
        .current_dir(root())
        .arg("examples/cron/maintenance.yaml")
        .args(["--url", &server.url, "--api-key", API_KEY, "--quiet"])
        .env("GRACE", "1s")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    assert!(out.stdout.is_empty(), "--quiet: nothing when all is ok");
    // The client is still running, and stays away: the example's code is
    // terminal (4500–4999). With 4000 centrifuge-python is back within 2 s.
    for _ in 0..8 {
        std::thread::sleep(std::time::Duration::from_millis(500));
        assert_eq!(
            server.api("presence_stats", json!({"channel": "chat:team"}))["num_clients"],
            0,
            "the client came back"
        );
    }
    drop(subscriber);
    let warned = server.history("news");
    assert_eq!(warned, vec![json!({"text": "maintenance in 1s: please save your work"})]);
}

#[test]
fn the_smoke_test_example_passes_against_the_server_as_written() {
    let server = shared();
    let out = cent_run()
        .current_dir(root())
        .arg("examples/manifests/smoke.yaml")
        .args(["--url", &server.url, "--api-key", API_KEY])
        .env("SMOKE_CHANNEL", harness::channel("smoke"))
        .env("GITHUB_SHA", "abc123")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
}
