//! The engine against the real server: order per channel under concurrency,
//! exactly-once under injected faults (through `proxy.rs`), resume with
//! `--state`, the legacy protocol, partly failed broadcasts.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::{Value, json};

use crate::harness::{self, API_KEY, Server, cent_run, manifest, shared};
use crate::proxy::{Fault, Proxy};

/// `n` publishes spread over `channels` in a scrambled but fixed order;
/// returns the manifest text and what each channel must hold, in order.
fn interleaved(channels: &[String], n: usize) -> (String, HashMap<String, Vec<Value>>) {
    let mut text = String::from("commands:\n");
    let mut expected: HashMap<String, Vec<Value>> = HashMap::new();
    let mut x: u64 = 0x9e37_79b9;
    for i in 0..n {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let ch = &channels[(x % channels.len() as u64) as usize];
        text.push_str(&format!("  - publish: {{channel: {ch}, data: {{i: {i}, s: \"é{i}\"}}}}\n"));
        expected.entry(ch.clone()).or_default().push(json!({"i": i, "s": format!("é{i}")}));
    }
    (text, expected)
}

fn assert_histories(server: &Server, expected: &HashMap<String, Vec<Value>>) {
    for (ch, want) in expected {
        let got = server.history(ch);
        assert_eq!(got.len(), want.len(), "channel {ch}: {} publications, expected {}", got.len(), want.len());
        assert!(got == *want, "channel {ch}: history differs from manifest order");
    }
}

fn run_json(args: &[&str], path: &std::path::Path) -> (i32, Value, String) {
    let report = path.with_file_name(format!("report-{}.json", harness::channel("r")));
    let out = cent_run().arg(path).args(args).arg("--report-json").arg(&report).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    let r = serde_json::from_str(&harness::read(&report)).unwrap_or(Value::Null);
    (out.status.code().unwrap_or(-1), r, stdout)
}

#[test]
fn thousands_of_interleaved_publishes_keep_per_channel_order_exactly_once() {
    let server = shared();
    let channels: Vec<String> = (0..6).map(|_| harness::channel("order")).collect();
    let (text, expected) = interleaved(&channels, 4000);
    // Big enough to be parsed in parts on a machine with several cores.
    assert!(text.len() > 2 * 64 * 1024, "{} bytes", text.len());
    let (_dir, path) = manifest(&text);
    let (code, r, out) =
        run_json(&["--url", &server.url, "--api-key", API_KEY, "--concurrency", "8", "--batch-size", "7"], &path);
    assert_eq!(code, 0, "{out}");
    assert_eq!(r["summary"]["ok"], 4000);
    assert_histories(server, &expected);
}

#[test]
fn legacy_protocol_runs_on_the_v6_legacy_route() {
    let server = shared();
    let ch = harness::channel("legacy");
    let (_dir, path) = manifest(&format!(
        "server: {{protocol: legacy}}\ncommands:\n  - publish: {{channel: {ch}, data: {{n: 1}}}}\n  - publish: {{channel: {ch}, data: {{n: \"ü\"}}}}\n  - history: {{channel: {ch}, limit: -1}}\n  - presence_stats: {{channel: \"nohist:x\"}}\n"
    ));
    let (code, r, out) = run_json(&["--url", &format!("{}/api/", server.url), "--api-key", API_KEY], &path);
    assert_eq!(code, 1, "{out}");
    assert_eq!(server.history(&ch), vec![json!({"n": 1}), json!({"n": "ü"})]);
    assert_eq!(r["commands"][2]["result"]["publications"].as_array().map(Vec::len), Some(2));
    assert_eq!(r["commands"][3]["error"], json!({"code": 108, "message": "not available"}));
}

#[test]
fn a_partly_failed_broadcast_is_failed_and_names_its_channels() {
    let server = shared();
    let ch = harness::channel("bc");
    let (_dir, path) =
        manifest(&format!("commands:\n  - broadcast: {{channels: [{ch}, \"unknownns:x\"], data: {{n: 1}}}}\n"));
    let (code, r, out) = run_json(&["--url", &server.url, "--api-key", API_KEY], &path);
    assert_eq!(code, 1, "{out}");
    assert_eq!(server.history(&ch), vec![json!({"n": 1})]);
    let c = &r["commands"][0];
    assert_eq!(c["status"], "failed");
    assert_eq!(c["channels"][0]["status"], "ok");
    assert_eq!(c["channels"][1]["channel"], "unknownns:x");
    assert_eq!(c["channels"][1]["error"]["code"], 102);
    assert!(out.contains("unknownns:x"), "the table names the failed channel: {out}");
}

#[test]
fn injected_faults_with_retries_leave_every_publish_exactly_once_in_order() {
    let server = Server::start();
    let hold = Duration::from_millis(1500);
    let proxy = Proxy::start(server.port, move |n| match n % 7 {
        1 => Fault::ResetAfter,
        3 => Fault::ResetBefore,
        4 => Fault::Status(if n % 2 == 0 { 502 } else { 503 }),
        5 if n % 14 == 5 => Fault::Hold(hold),
        _ => Fault::Pass,
    });
    let channels: Vec<String> = (0..5).map(|_| harness::channel("fault")).collect();
    let (text, expected) = interleaved(&channels, 400);
    let (_dir, path) = manifest(&text);
    let (code, r, out) = run_json(
        &["--url", &proxy.url, "--api-key", API_KEY, "--batch-size", "10", "--concurrency", "4"]
            .into_iter()
            .chain(["--retries", "10", "--timeout", "1s"])
            .collect::<Vec<_>>(),
        &path,
    );
    assert_eq!(code, 0, "{out}");
    assert_eq!(r["summary"]["ok"], 400);
    let faults = proxy.faults();
    for kind in [Fault::ResetAfter, Fault::ResetBefore, Fault::Status(502), Fault::Status(503), Fault::Hold(hold)] {
        assert!(faults.contains(&kind), "{kind:?} was injected");
    }
    assert!(r["commands"].as_array().unwrap().iter().any(|c| c["attempts"].as_u64() > Some(1)));
    assert_histories(&server, &expected);
    // Figures for the README's reliability section (`--nocapture` shows them).
    let held: usize = channels.iter().map(|c| server.history(c).len()).sum();
    let count = |k: fn(&Fault) -> bool| faults.iter().filter(|f| k(f)).count();
    eprintln!(
        "reliability: {} requests, faults injected: {} reset-after-apply, {} reset-before, {} HTTP 502/503, {} held past timeout; \
         400 publishes, {} held by the server, doubled {}, lost {}",
        faults.len(),
        count(|f| *f == Fault::ResetAfter),
        count(|f| *f == Fault::ResetBefore),
        count(|f| matches!(f, Fault::Status(_))),
        count(|f| matches!(f, Fault::Hold(_))),
        held,
        held.saturating_sub(400),
        400usize.saturating_sub(held)
    );
}

#[test]
fn without_retries_the_report_tells_the_truth_and_a_resume_completes_exactly_once() {
    let server = Server::start();
    // The 3rd request is applied by the server but its answer is lost.
    let proxy = Proxy::start(server.port, |n| if n == 2 { Fault::ResetAfter } else { Fault::Pass });
    let ch = harness::channel("resume");
    let mut text = String::from("commands:\n");
    for i in 0..20 {
        text.push_str(&format!("  - publish: {{channel: {ch}, data: {{i: {i}}}}}\n"));
    }
    let (dir, path) = manifest(&text);
    let state = dir.path().join("state.jsonl");
    let state_arg = state.to_str().unwrap();
    let common = ["--api-key", API_KEY, "--batch-size", "5", "--concurrency", "1", "--state", state_arg];
    let mut args = vec!["--url", proxy.url.as_str(), "--retries", "0"];
    args.extend(common);
    let (code, r, out) = run_json(&args, &path);
    assert_eq!(code, 3, "{out}");
    let statuses: Vec<&str> = r["commands"].as_array().unwrap().iter().map(|c| c["status"].as_str().unwrap()).collect();
    assert_eq!(statuses[..10], ["ok"; 10]);
    assert_eq!(statuses[10..15], ["unknown"; 5], "sent, answer lost");
    assert_eq!(statuses[15..], ["skipped"; 5], "never sent after the transport failure");
    assert_eq!(r["summary"], json!({"total": 20, "ok": 10, "failed": 0, "unknown": 5, "skipped": 5}));
    // The server did apply the lost batch.
    assert_eq!(server.history(&ch).len(), 15);

    // Resume straight to the server: the unknown batch is re-sent with the
    // same idempotency keys (run id kept in the state file), so nothing doubles.
    let mut args = vec!["--url", server.url.as_str()];
    args.extend(common);
    let (code, r, out) = run_json(&args, &path);
    assert_eq!(code, 0, "{out}");
    assert_eq!(r["summary"]["skipped"], 10, "the 10 applied commands are not sent again");
    let want: Vec<Value> = (0..20).map(|i| json!({"i": i})).collect();
    assert_eq!(server.history(&ch), want);
}

#[test]
fn fail_fast_stops_after_the_first_failure() {
    let server = shared();
    let ch = harness::channel("ff");
    let (_dir, path) = manifest(&format!(
        "commands:\n  - publish: {{channel: {ch}, data: 1}}\n  - publish: {{channel: \"unknownns:x\", data: 2}}\n  - publish: {{channel: {ch}, data: 3}}\n  - publish: {{channel: {ch}, data: 4}}\n"
    ));
    let args = ["--url", &server.url, "--api-key", API_KEY, "--fail-fast", "--concurrency", "1", "--batch-size", "1"];
    let (code, r, out) = run_json(&args, &path);
    assert_eq!(code, 1, "{out}");
    let statuses: Vec<&str> = r["commands"].as_array().unwrap().iter().map(|c| c["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["ok", "failed", "skipped", "skipped"]);
    assert_eq!(r["commands"][2]["detail"], "not sent: fail-fast, after an earlier failure");
    assert_eq!(server.history(&ch), vec![json!(1)]);
}

#[test]
fn rate_limits_commands_per_second() {
    let server = shared();
    let ch = harness::channel("rate");
    let text: String = std::iter::once("commands:\n".to_string())
        .chain((0..60).map(|i| format!("  - publish: {{channel: {ch}, data: {i}}}\n")))
        .collect();
    let (_dir, path) = manifest(&text);
    let started = std::time::Instant::now();
    let (code, _, out) = run_json(&["--url", &server.url, "--api-key", API_KEY, "--rate", "200"], &path);
    assert_eq!(code, 0, "{out}");
    // 60 commands at 200/s go out as 3 requests of 20, 0.1 s apart: at least
    // 0.2 s (a lower bound, so a slow machine cannot make this fail).
    assert!(started.elapsed() >= Duration::from_millis(200), "{:?}", started.elapsed());
    assert_eq!(server.history(&ch).len(), 60);
}

#[test]
fn batches_respect_size_and_byte_limits() {
    let payload = "x".repeat(600);
    let text: String = std::iter::once("commands:\n".to_string())
        .chain((0..10).map(|i| format!("  - publish: {{channel: same, data: {{i: {i}, p: \"{payload}\"}}}}\n")))
        .collect();
    let (_dir, path) = manifest(&text);
    let plan = |extra: &[&str]| {
        let out = cent_run().arg("plan").arg(&path).args(["--api-key", "k"]).args(extra).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let bodies: Vec<usize> = text.lines().filter(|l| l.starts_with("{\"commands\"")).map(str::len).collect();
        (text.matches("POST ").count(), bodies)
    };
    assert_eq!(plan(&["--batch-size", "4"]).0, 3);
    let (requests, bodies) = plan(&["--max-batch-bytes", "2048"]);
    assert_eq!(requests, 5, "~650 bytes per command, 2 per request under 2 KiB");
    assert!(bodies.iter().all(|&b| b <= 2048), "{bodies:?}");
}

/// A server refuses a whole request with HTTP 400 for one bad field, having
/// applied nothing: cent-run cuts the batch until the refused command is
/// alone. Through a proxy that answers 400 to any request carrying the
/// marked command, 300 publishes in 3 channels: 1 failed with its place,
/// 299 ok, each once and in order.
#[test]
fn one_refused_command_among_300_is_isolated_and_its_299_neighbours_are_applied_once() {
    let server = shared();
    let channels: Vec<String> = (0..3).map(|_| harness::channel("split400")).collect();
    let mut text = String::from("commands:\n");
    let mut expected: HashMap<String, Vec<Value>> = HashMap::new();
    for i in 0..300 {
        let ch = &channels[i % 3];
        if i == 150 {
            text.push_str(&format!("  - publish: {{channel: {ch}, data: {{i: {i}, poison: true}}}}\n"));
        } else {
            text.push_str(&format!("  - publish: {{channel: {ch}, data: {{i: {i}}}}}\n"));
            expected.entry(ch.clone()).or_default().push(json!({"i": i}));
        }
    }
    let proxy =
        Proxy::start_by_body(
            server.port,
            |_, body| {
                if body.contains("poison") { Fault::Status(400) } else { Fault::Pass }
            },
        );
    let (_dir, path) = manifest(&text);
    let (code, r, out) =
        run_json(&["--url", &proxy.url, "--api-key", API_KEY, "--batch-size", "100", "--concurrency", "2"], &path);
    assert_eq!(code, 1, "{out}");
    assert_eq!(r["summary"]["ok"], 299, "{out}");
    assert_eq!(r["summary"]["failed"], 1);
    let failed: Vec<&Value> = r["commands"].as_array().unwrap().iter().filter(|c| c["status"] == "failed").collect();
    assert_eq!(failed[0]["index"], 150);
    assert_eq!(failed[0]["line"], 152, "the list item of command 150");
    assert_eq!(failed[0]["reason"], "refused");
    let message = failed[0]["error"]["message"].as_str().unwrap();
    assert!(message.contains("HTTP 400") && message.contains("the server refused this command"), "{message}");
    assert!(out.contains(&format!("{}:152:5: 1 command failed: ", path.display())), "{out}");
    assert_histories(server, &expected);
    // Halving: every request that carried the poison was refused, the
    // rest went through once — no command was sent after it was applied.
    let refused = proxy.faults().iter().filter(|f| **f == Fault::Status(400)).count();
    assert!((2..=10).contains(&refused), "{refused} refused requests: the halves narrow down in a few steps");
}

/// Centrifugo 6.9.1 answers 500 to a whole batch when one `history` reads a
/// channel that holds non-JSON bytes (published with `b64data`). Every
/// command of that batch is safe to send again (the publish has its
/// idempotency key), so cent-run splits it: the history is `failed` with
/// the server's answer, the publish beside it `ok` and applied once.
#[test]
fn the_real_servers_500_on_one_history_fails_that_read_alone() {
    let server = shared();
    let binary = harness::channel("bin");
    let ch = harness::channel("beside500");
    server.api("publish", json!({"channel": binary, "b64data": "//79"}));
    let (_dir, path) = manifest(&format!(
        "commands:\n  - publish: {{channel: {ch}, data: 1}}\n  - history: {{channel: {binary}, limit: 10}}\n  - presence_stats: {{channel: {ch}}}\n  - publish: {{channel: {ch}, data: 2}}\n"
    ));
    let (code, r, out) = run_json(
        &["--url", &server.url, "--api-key", API_KEY, "--concurrency", "1", "--retries", "1", "--batch-size", "10"],
        &path,
    );
    assert_eq!(code, 1, "a refused read, nothing unknown: {out}");
    let statuses: Vec<&str> = r["commands"].as_array().unwrap().iter().map(|c| c["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["ok", "failed", "ok", "ok"], "{out}");
    assert!(r["commands"][1]["error"]["message"].as_str().unwrap().contains("HTTP 500"), "{}", r["commands"][1]);
    assert_eq!(server.history(&ch), vec![json!(1), json!(2)], "each publish applied once");
}
