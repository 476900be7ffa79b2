//! Delivery shown by a real client: `listen:` opens a connection with the
//! official client SDK (tokens cent-run signs), `delivered: {within}` waits
//! until the listener has what a command caused. On two Centrifugo nodes
//! sharing Redis: listening on one, publishing through the other, every
//! publication arrives in order with its latency; a disconnect arrives with
//! its code; a listener with a wrong token fails with the server's reason;
//! what a listener no longer hears fails the check (exit 4) and says what
//! did arrive; listeners are closed when the run ends.

use serde_json::json;

use crate::cluster::Cluster;
use crate::harness::{self, API_KEY, HMAC_SECRET, cent_run, manifest, report, said, shared};

#[test]
fn a_listener_on_one_node_hears_every_publication_made_through_the_other_in_order_and_its_disconnect() {
    let cluster = Cluster::start(2);
    let (a, b) = (&cluster.nodes[0], &cluster.nodes[1]);
    let ch = harness::channel("listen");
    let mut text = format!("commands:\n  - listen: {{channel: {ch}, user: watcher, url: {}}}\n", a.url);
    for i in 0..30 {
        text.push_str(&format!("  - publish: {{channel: {ch}, data: {{n: {i}}}}}\n    delivered: {{within: 5s}}\n"));
    }
    text.push_str(
        "  - disconnect: {user: watcher, disconnect: {code: 4501, reason: bye}}\n    delivered: {within: 5s}\n",
    );
    let (dir, path) = manifest(&text);
    let r = dir.path().join("r.json");
    // Only node B is given for the API: the publications cross the broker.
    let out = cent_run()
        .arg(&path)
        .args(["--url", &b.url, "--api-key", API_KEY, "--report-json"])
        .arg(&r)
        .env("CENTRIFUGO_TOKEN_SECRET", HMAC_SECRET)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", said(&out));
    let rep = report(&r);
    let cmds = rep["commands"].as_array().unwrap();
    assert_eq!(cmds[0]["method"], "listen");
    assert_eq!(cmds[0]["result"]["endpoint"], format!("{}/connection/websocket", a.url.replace("http://", "ws://")));
    let mut offsets = Vec::new();
    for c in &cmds[1..31] {
        let check = &c["checks"][0];
        assert_eq!((check["path"].as_str(), check["ok"].as_bool()), (Some("delivered"), Some(true)), "{c}");
        assert!(check["got"]["latency_ms"].as_f64().is_some_and(|ms| (0.0..5000.0).contains(&ms)), "{c}");
        assert_eq!(c["node"], b.url.as_str(), "sent through node B");
        offsets.push(c["result"]["offset"].as_u64().unwrap());
    }
    assert_eq!(offsets, (1..=30).collect::<Vec<_>>(), "in order, each once");
    assert_eq!(cmds[31]["checks"][0]["ok"], true, "the disconnect reached the client: {}", cmds[31]);
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.lines().any(|l| l.contains(" publish ") && l.contains("delivered in ")), "{table}");
    // The history on node A holds them: the listener heard what was stored.
    assert_eq!(a.history(&ch).len(), 30);
}

#[test]
fn a_listener_with_a_wrong_token_secret_fails_with_the_servers_reason() {
    let server = shared();
    let ch = harness::channel("badtoken");
    let (_dir, path) = manifest(&format!(
        "commands:\n  - listen: {{channel: {ch}, user: u1}}\n  - publish: {{channel: {ch}, data: 1}}\n    delivered: {{within: 2s}}\n"
    ));
    let out = cent_run()
        .arg(&path)
        .args(["--url", &server.url, "--api-key", API_KEY])
        .env("CENTRIFUGO_TOKEN_SECRET", "not-the-servers-secret")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", said(&out));
    let text = said(&out);
    assert!(text.contains("cannot listen on"), "{text}");
    assert!(text.contains("3500 invalid token"), "the server's own reason: {text}");
    assert!(!text.contains("not-the-servers-secret"), "the token secret is kept out: {text}");
}

#[test]
fn what_the_listener_no_longer_hears_fails_the_check_with_what_did_arrive() {
    let server = shared();
    let ch = format!("chat:{}", harness::channel("gone"));
    let (dir, path) = manifest(&format!(
        "commands:\n  - listen: {{channel: \"{ch}\", user: u2}}\n  - unsubscribe: {{user: u2, channel: \"{ch}\"}}\n    delivered: {{within: 3s}}\n  - publish: {{channel: \"{ch}\", data: late}}\n    delivered: {{within: 1s}}\n"
    ));
    let r = dir.path().join("r.json");
    let out = cent_run()
        .arg(&path)
        .args(["--url", &server.url, "--api-key", API_KEY, "--report-json"])
        .arg(&r)
        .env("CENTRIFUGO_TOKEN_SECRET", HMAC_SECRET)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4), "applied, not delivered: {}", said(&out));
    let rep = report(&r);
    assert_eq!(rep["commands"][1]["checks"][0]["ok"], true, "the unsubscribe reached it");
    let late = &rep["commands"][2];
    assert_eq!((late["status"].as_str(), late["reason"].as_str()), (Some("failed"), Some("expectation")));
    let heard = &late["checks"][0]["got"]["not_heard_by"][0];
    assert_eq!(heard["listener"], format!("u2@{ch}"));
    assert_eq!(heard["heard"], json!([]), "nothing since the publish: {late}");
    assert!(said(&out).contains("no listener heard it in time"), "{}", said(&out));
    // Closed at the end of the run: nobody is left in the channel.
    assert_eq!(server.api("presence_stats", json!({"channel": ch}))["num_clients"], 0);
}

#[test]
fn a_delivered_without_a_listener_or_a_listener_without_a_key_is_refused_before_sending() {
    let watch = harness::Watch::new();
    let (_dir, path) = manifest(
        "commands:\n  - listen: {channel: a, user: u}\n  - publish: {channel: b, data: 1}\n    delivered: {within: 5s}\n",
    );
    let out = cent_run()
        .arg(&path)
        .args(["--url", &watch.url, "--api-key", "k"])
        .env("CENTRIFUGO_TOKEN_SECRET", "s")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        said(&out).contains(&format!(
            "{}:4:5: `delivered`, but no `listen` step before this command listens on `b`",
            path.display()
        )),
        "{}",
        said(&out)
    );
    let (_dir, path) = manifest(
        "commands:\n  - listen: {channel: a, user: u}\n  - publish: {channel: a, data: 1}\n    delivered: {within: 5s}\n",
    );
    let out = cent_run().arg(&path).args(["--url", &watch.url, "--api-key", "k"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        said(&out)
            .contains(&format!("{}:2:5: a `listen:` step needs a key to sign its client's tokens", path.display())),
        "{}",
        said(&out)
    );
    let (_dir, path) = manifest("commands:\n  - history: {channel: a, limit: 1}\n    delivered: {within: 5s}\n");
    let out = cent_run().arg("check").arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(said(&out).contains("`delivered` is for publish, broadcast, disconnect and unsubscribe"), "{}", said(&out));
    assert_eq!(watch.connections(), 0, "nothing was sent");
}
