//! Seed parity: the `cent` console client with `~/.centrc` profiles (modern
//! profile against the real server, secret-only profile against the in-test
//! v1 server), `--profile` for the runner, and delivery to a real WebSocket
//! subscriber (the centrifuge-python SDK) using tokens cent-run minted.

use serde_json::{Value, json};

use crate::harness::{self, API_KEY, HMAC_SECRET, Subscriber, cent_run, manifest, shared};
use crate::v1server::V1Server;

fn cent() -> assert_cmd::Command {
    let mut c = assert_cmd::Command::cargo_bin("cent").unwrap();
    c.env_remove("CENTRIFUGO_API_KEY").env("HOME", std::env::temp_dir());
    c
}

fn centrc(text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(".centrc");
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

#[test]
fn console_client_with_a_modern_profile() {
    let server = shared();
    let ch = harness::channel("console");
    let (dir, rc) = centrc(&format!("[prod]\naddress = {}\napi_key = {API_KEY}\ntimeout = 5\n", server.url));
    let params = json!({"channel": ch, "data": {"title": "World Cup 2018", "text": "Grüße"}}).to_string();
    let out = cent().args(["prod", "publish", "--params", &params, "--config"]).arg(&rc).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let reply: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(reply["offset"], 1);
    assert_eq!(server.history(&ch), vec![json!({"title": "World Cup 2018", "text": "Grüße"})]);
    // Params from stdin, as the original did in scripts.
    let out = cent()
        .args(["prod", "history", "--config"])
        .arg(&rc)
        .write_stdin(json!({"channel": ch, "limit": -1}).to_string())
        .output()
        .unwrap();
    let reply: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(reply["publications"][0]["data"]["text"], "Grüße");
    // A server error is an error (the original exited 0 here).
    let out = cent()
        .args(["prod", "publish", "--params", r#"{"channel":"unknownns:x","data":1}"#, "--config"])
        .arg(&rc)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("102 unknown channel"));
    // A missing section is named, with the path as given and the sections there are.
    let out = cent().args(["nope", "info", "--config"]).arg(&rc).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        format!("Section nope not found in {} configuration file (its sections: prod)", rc.display())
    );
    // ~/.centrc is the default.
    let out = cent().args(["prod", "info"]).env("HOME", dir.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let reply: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(reply["nodes"][0]["version"], "6.9.1 OSS");
    assert!(!String::from_utf8_lossy(&out.stdout).contains(API_KEY));
}

#[test]
fn console_client_with_the_seed_example_profile_speaks_signed_v1() {
    // The seed README's file, with only the address pointed at the in-test v1 server.
    let server = V1Server::start("long-secret-key-for-bananas-project");
    let (_dir, rc) = centrc(&format!(
        "[bananas]\naddress = {}\nsecret = long-secret-key-for-bananas-project\ntimeout = 5\n",
        server.url
    ));
    let out = cent()
        .args(["bananas", "publish", "--config"])
        .arg(&rc)
        .args(["--params", r#"{"channel": "news", "data": {"title": "World Cup 2018", "text": "some text..."}}"#])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let got = server.received();
    assert_eq!(got.len(), 1);
    assert_eq!(
        String::from_utf8_lossy(&got[0].body),
        r#"[{"method": "publish", "params": {"channel": "news", "data": {"title": "World Cup 2018", "text": "some text..."}}}]"#
    );
    assert_eq!(server.history("news"), vec![json!({"title": "World Cup 2018", "text": "some text..."})]);
    let out = cent().args(["bananas", "info", "--config"]).arg(&rc).output().unwrap();
    let reply: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(reply["data"]["nodes"][0]["version"], "1.8.0", "info is sent as stats to v1");
}

#[test]
fn the_runner_uses_profiles_too() {
    let server = shared();
    let ch = harness::channel("profile");
    let (_dir, rc) = centrc(&format!("[prod]\naddress = {}/api\napi_key = {API_KEY}\n", server.url));
    let (_mdir, path) = manifest(&format!("commands:\n  - publish: {{channel: {ch}, data: 1}}\n"));
    let out = cent_run().arg(&path).args(["--profile", "prod", "--config"]).arg(&rc).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(server.history(&ch), vec![json!(1)]);
}

fn token(args: &[&str]) -> String {
    let out = cent_run().arg("token").args(args).args(["--secret", HMAC_SECRET]).output().unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

#[test]
fn a_real_subscriber_receives_every_publication_once_in_order() {
    let server = shared();
    let public = format!("chat:{}", harness::channel("sub"));
    let private = format!("$chat:{}", harness::channel("priv"));
    let user = "u-42";
    let conn = token(&["connect", "--user", user, "--ttl", "10m"]);
    let sub = token(&["subscribe", "--user", user, "--channel", &private, "--ttl", "10m"]);
    let subs = json!([{"channel": public}, {"channel": private, "token": sub}]);
    let n = 60;
    let subscriber = Subscriber::start(server.port, &conn, n, 20, &subs);
    let mut text = String::from("commands:\n");
    let mut want_pub = Vec::new();
    let mut want_priv = Vec::new();
    for i in 0..n {
        let ch = if i % 3 == 0 { &private } else { &public };
        text.push_str(&format!("  - publish: {{channel: \"{ch}\", data: {{i: {i}, text: \"сообщение {i}\"}}}}\n"));
        let d = json!({"i": i, "text": format!("сообщение {i}")});
        if i % 3 == 0 { want_priv.push(d) } else { want_pub.push(d) }
    }
    let (_dir, path) = manifest(&text);
    let out = cent_run()
        .arg(&path)
        .args(["--url", &server.url, "--api-key", API_KEY, "--batch-size", "4", "--concurrency", "4"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let got = subscriber.received();
    assert_eq!(got[&public], Value::Array(want_pub), "public channel: lost, doubled or reordered");
    assert_eq!(got[&private], Value::Array(want_priv), "private channel: lost, doubled or reordered");
}
