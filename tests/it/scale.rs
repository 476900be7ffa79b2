//! Scale out, on real servers: a two-node Centrifugo cluster on Redis
//! (requests spread over both nodes, read back through the other; a node
//! SIGKILLed mid-run with nothing lost or doubled), shards run at once as
//! separate processes, and real TLS with a CA made by the test.

use std::collections::HashMap;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use crate::cluster::{Cluster, TlsServer};
use crate::harness::{self, API_KEY, Server, cent_run, manifest};

/// `n` publishes round robin over `channels` channels, each `{i}`.
fn publishes(prefix: &str, n: usize, channels: usize) -> String {
    let mut text = String::from("commands:\n");
    for i in 0..n {
        text.push_str(&format!("  - publish: {{channel: \"{prefix}-{}\", data: {{i: {i}}}}}\n", i % channels));
    }
    text
}

/// The data of publications.
fn data(publications: Vec<Value>) -> Vec<Value> {
    publications.into_iter().map(|p| p["data"].clone()).collect()
}

/// Every channel's history holds exactly its publications, once, in order.
fn assert_exactly_once_in_order(history: impl Fn(&str) -> Vec<Value>, prefix: &str, n: usize, channels: usize) {
    for c in 0..channels {
        let want: Vec<Value> = (0..n).filter(|i| i % channels == c).map(|i| json!({"i": i})).collect();
        let got = history(&format!("{prefix}-{c}"));
        assert_eq!(got.len(), want.len(), "channel {c}: {} held, {} sent (lost or doubled)", got.len(), want.len());
        if let Some(at) = got.iter().zip(&want).position(|(g, w)| g != w) {
            panic!("channel {c}: out of order at {at}: held {}, sent {}", got[at], want[at]);
        }
    }
}

#[test]
fn publishes_spread_over_both_nodes_land_once_in_order_and_read_back_through_the_other() {
    let cluster = Cluster::start(2);
    let prefix = harness::channel("spread");
    let (dir, path) = manifest(&publishes(&prefix, 2000, 20));
    let report = dir.path().join("r.json");
    let urls = format!("{},{}", cluster.nodes[0].url, cluster.nodes[1].url);
    let out = cent_run()
        .arg(&path)
        .args(["--api-key", API_KEY, "--batch-size", "20", "--report-json"])
        .arg(&report)
        .env("CENTRIFUGO_URL", &urls)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    let nodes = stdout.lines().last().unwrap_or("");
    assert!(nodes.starts_with("2 nodes: "), "{nodes}");
    for n in &cluster.nodes {
        assert!(nodes.contains(&format!("{} served ", n.url)), "each node and what it served: {nodes}");
    }
    assert!(!String::from_utf8_lossy(&out.stderr).contains("not one cluster"), "they are one cluster");
    let r: Value = serde_json::from_str(&harness::read(&report)).unwrap();
    let mut per_node: HashMap<String, usize> = HashMap::new();
    for c in r["commands"].as_array().unwrap() {
        *per_node.entry(c["node"].as_str().unwrap().to_owned()).or_default() += 1;
    }
    assert_eq!(per_node.len(), 2, "both nodes answered: {per_node:?}");
    assert!(per_node.values().all(|&n| n >= 200), "spread, not all on one: {per_node:?}");
    // Read back through each node in turn: the broker is shared.
    assert_exactly_once_in_order(|ch| data(cluster.nodes[1].history(ch)), &prefix, 2000, 20);
    assert_exactly_once_in_order(|ch| data(cluster.nodes[0].history(ch)), &prefix, 2000, 20);
}

#[test]
fn a_node_killed_mid_run_loses_nothing_and_doubles_nothing() {
    let mut cluster = Cluster::start(2);
    let prefix = harness::channel("failover");
    let (n, channels) = (20_000, 20);
    let (dir, path) = manifest(&publishes(&prefix, n, channels));
    let report = dir.path().join("r.json");
    let child = Command::new(assert_cmd::cargo::cargo_bin("cent-run"))
        .arg(&path)
        .args(["--url", &cluster.nodes[0].url, "--url", &cluster.nodes[1].url, "--api-key", API_KEY])
        .args(["--rate", "10000", "--retries", "5", "--timeout", "2s", "--quiet", "--report-json"])
        .arg(&report)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(900));
    cluster.kill(0);
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        stdout.lines().last().unwrap_or(""),
        String::from_utf8_lossy(&out.stderr)
    );
    let r: Value = serde_json::from_str(&harness::read(&report)).unwrap();
    assert_eq!(r["summary"]["ok"], n);
    let after_kill =
        r["commands"].as_array().unwrap().iter().filter(|c| c["node"] == cluster.nodes[1].url.as_str()).count();
    assert!(after_kill > n / 4, "the surviving node took over: {after_kill}");
    let retried = r["commands"].as_array().unwrap().iter().filter(|c| c["attempts"].as_u64() > Some(1)).count();
    assert!(retried > 0, "the kill hit requests in flight or queued for the dead node");
    assert_exactly_once_in_order(|ch| data(cluster.nodes[1].history(ch)), &prefix, n, channels);

    // The run says what happened to node-0: in the cron mail, in the report.
    let dead = cluster.nodes[0].url.as_str();
    let mail = format!("{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(mail.lines().count() < 10, "--quiet says the failover in a few lines:\n{mail}");
    let nodes_line =
        mail.lines().find_map(|l| l.strip_prefix("2 nodes: ")).unwrap_or_else(|| panic!("a nodes line:\n{mail}"));
    let dead_part = nodes_line.split("; ").position(|p| p.starts_with(dead)).expect("the dead node is named");
    assert!(
        nodes_line
            .split("; ")
            .nth(dead_part + 1)
            .is_some_and(|p| p.starts_with("failed ") && p.contains("s into the run: ")),
        "when and why node-0 failed: {nodes_line}"
    );
    let listed: Vec<&Value> = r["nodes"].as_array().unwrap().iter().collect();
    assert_eq!(listed.len(), 2, "{:?}", r["nodes"]);
    let served: u64 = listed.iter().map(|n| n["commands"].as_u64().unwrap()).sum();
    assert_eq!(served, n as u64, "every command served by one node: {:?}", r["nodes"]);
    let failed = listed.iter().find(|n| n["url"] == dead).expect("node-0 in the report");
    let f = &failed["failures"][0];
    assert!(
        f["after_ms"].as_u64().is_some_and(|ms| ms > 0) && f["why"].as_str().is_some_and(|w| !w.is_empty()),
        "{failed}"
    );
    let survivor = listed.iter().find(|n| n["url"] == cluster.nodes[1].url.as_str()).unwrap();
    assert_eq!(survivor["failures"], json!([]), "node-1 never failed");
    // A command re-sent through node-1 after node-0 failed says so.
    let resent: Vec<&Value> = r["commands"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["detail"].as_str().is_some_and(|d| d.starts_with("re-sent after ")))
        .collect();
    assert!(!resent.is_empty(), "no command says it was re-sent");
    for c in &resent {
        assert_eq!(c["node"], cluster.nodes[1].url.as_str(), "re-sent through the survivor: {c}");
        assert!(c["attempts"].as_u64() > Some(1), "{c}");
    }
}

#[test]
fn shards_run_at_once_each_do_a_part_and_together_everything_once_in_order() {
    let server = harness::shared();
    let prefix = harness::channel("shard");
    let (n, channels) = (400, 20);
    let (dir, path) = manifest(&publishes(&prefix, n, channels));
    let children: Vec<_> = (0..4)
        .map(|i| {
            Command::new(assert_cmd::cargo::cargo_bin("cent-run"))
                .arg(&path)
                .args([
                    "--url",
                    &server.url,
                    "--api-key",
                    API_KEY,
                    "--run-id",
                    "shards-1",
                    "--shard",
                    &format!("{i}/4"),
                ])
                .arg("--report-json")
                .arg(dir.path().join(format!("r{i}.json")))
                .stdout(Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut c in children {
        assert_eq!(c.wait().unwrap().code(), Some(0));
    }
    let mut seen = Vec::new();
    for i in 0..4 {
        let r: Value = serde_json::from_str(&harness::read(&dir.path().join(format!("r{i}.json")))).unwrap();
        let idx: Vec<u64> = r["commands"].as_array().unwrap().iter().map(|c| c["index"].as_u64().unwrap()).collect();
        assert!(!idx.is_empty(), "shard {i} did nothing");
        seen.extend(idx);
    }
    seen.sort_unstable();
    assert_eq!(seen, (0..n as u64).collect::<Vec<_>>(), "every command in exactly one part");
    assert_exactly_once_in_order(|ch| server.history(ch), &prefix, n, channels);
    // The parts send the keys an unsharded run would.
    let keys = |extra: &[&str]| -> Vec<String> {
        let out = cent_run()
            .arg("plan")
            .arg(&path)
            .args(["--api-key", "k", "--run-id", "shards-1"])
            .args(extra)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout)
            .split("\"idempotency_key\":\"")
            .skip(1)
            .map(|s| s[..s.find('"').unwrap()].to_owned())
            .collect()
    };
    let mut parts: Vec<String> = (0..4).flat_map(|i| keys(&["--shard", &format!("{i}/4")])).collect();
    let mut whole = keys(&[]);
    parts.sort();
    whole.sort();
    assert_eq!(parts, whole);
    // A part's plan numbers its commands as the whole run does.
    let mut listed: Vec<u64> = (0..4)
        .flat_map(|i| {
            let out = cent_run()
                .arg("plan")
                .arg(&path)
                .args(["--api-key", "k", "--run-id", "shards-1", "--shard", &format!("{i}/4")])
                .output()
                .unwrap();
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            text.lines()
                .filter_map(|l| l.strip_prefix("# request ").and_then(|l| l.split_once(": commands ")))
                .flat_map(|(_, list)| list.split(", ").map(|c| c.split(' ').next().unwrap().parse::<u64>().unwrap()))
                .collect::<Vec<_>>()
        })
        .collect();
    listed.sort_unstable();
    assert_eq!(listed, (0..n as u64).collect::<Vec<_>>(), "the parts' plans list every index once");
    let out = cent_run().arg(&path).args(["--api-key", "k", "--shard", "1/4"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "--shard without --run-id");
    assert!(String::from_utf8_lossy(&out.stderr).contains("needs the same run id"));
}

#[test]
fn tls_is_trusted_with_the_ca_refused_without_and_insecure_warns() {
    let tls = TlsServer::start();
    let ch = harness::channel("tls");
    let (_dir, path) = manifest(&format!("commands:\n  - publish: {{channel: {ch}, data: 1}}\n"));
    let run = |extra: &[&str]| {
        cent_run()
            .arg(&path)
            .args(["--url", &tls.url, "--api-key", API_KEY])
            .args(extra)
            .env("NO_COLOR", "1")
            .output()
            .unwrap()
    };
    let out = run(&["--cacert", tls.ca_path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    let out = run(&[]);
    assert_eq!(out.status.code(), Some(2), "an untrusted certificate is a configuration problem");
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("certificate") && stdout.contains("UnknownIssuer"), "names the problem: {stdout}");
    assert!(stdout.contains("--cacert"), "hints --cacert: {stdout}{stderr}");
    let out = run(&["--cacert", tls.untrusted_ca_path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let out = run(&["--insecure"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("TLS certificates are not verified"));
    let held = tls.api("history", json!({"channel": ch, "limit": -1}));
    assert_eq!(held["publications"].as_array().unwrap().len(), 2, "the trusted and the insecure run, nothing else");
    // server.cacert in the manifest, relative to it, works too.
    let dir = path.parent().unwrap();
    std::fs::copy(&tls.ca_path, dir.join("ca.pem")).unwrap();
    std::fs::write(&path, format!("server: {{cacert: ca.pem}}\ncommands:\n  - publish: {{channel: {ch}, data: 2}}\n"))
        .unwrap();
    assert_eq!(run(&[]).status.code(), Some(0));
}

#[test]
fn a_key_in_clear_text_to_another_host_and_urls_of_two_clusters_are_warned_about() {
    let (_dir, path) = manifest("commands:\n  - info: {}\n");
    let out = cent_run()
        .arg("plan")
        .arg(&path)
        .args(["--url", "http://rt.example.com:8000", "--api-key", "k"])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("clear text to http://rt.example.com:8000"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out =
        cent_run().arg("plan").arg(&path).args(["--url", "http://127.0.0.1:8000", "--api-key", "k"]).output().unwrap();
    assert!(!String::from_utf8_lossy(&out.stderr).contains("clear text"), "loopback is fine");
    let (a, b) = (Server::start(), Server::start());
    let out = cent_run()
        .arg(&path)
        .args(["--url", &a.url, "--url", &b.url, "--api-key", API_KEY])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("are not one cluster"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
