//! One classification of failures: `cent-run` (a manifest), `cent-run call`
//! and the `cent` console meet the same trouble — an untrusted certificate,
//! a wrong key, a dead server, a URL that is not one, a URL with no API —
//! and say the same exit code and the same hint.

use std::path::Path;

use crate::cluster::TlsServer;
use crate::harness::{self, API_KEY, cent_run, said, shared};

const PARAMS: &str = r#"{"channel":"failures","data":{"n":1}}"#;

/// The three ways to send one publish, each as a user would type it.
fn three_ways(dir: &Path, url: &str, key: &str, cacert: Option<&str>) -> Vec<(&'static str, std::process::Output)> {
    let manifest = dir.join("m.yaml");
    std::fs::write(&manifest, format!("commands:\n  - publish: {PARAMS}\n")).unwrap();
    let mut flags = vec!["--url".to_owned(), url.to_owned(), "--api-key".to_owned(), key.to_owned()];
    let mut profile = format!("[p]\naddress = {url}\napi_key = {key}\n");
    if let Some(ca) = cacert {
        flags.extend(["--cacert".to_owned(), dir.join(ca).display().to_string()]);
        // Relative in the profile: found beside the profile file.
        profile.push_str(&format!("cacert = {ca}\n"));
    }
    let rc = dir.join("centrc");
    std::fs::write(&rc, profile).unwrap();
    let run = cent_run().arg(&manifest).args(&flags).args(["--retries", "0"]).output().unwrap();
    let call = cent_run().args(["call", "publish", "--params", PARAMS]).args(&flags).output().unwrap();
    let cent = assert_cmd::Command::cargo_bin("cent")
        .unwrap()
        .current_dir(std::env::temp_dir())
        .env("HOME", std::env::temp_dir())
        .args(["--config"])
        .arg(&rc)
        .args(["p", "publish", "--params", PARAMS])
        .output()
        .unwrap();
    vec![("cent-run", run), ("cent-run call", call), ("cent", cent)]
}

#[test]
fn every_subcommand_classifies_the_same_trouble_with_the_same_exit_code_and_hint() {
    let tls = TlsServer::start();
    let server = shared();
    let dead = format!("http://127.0.0.1:{}", harness::free_port());
    let gone = format!("{}/nothing-here", server.url);
    let cases: [(&str, &str, &str, i32, &str); 5] = [
        (
            "untrusted certificate",
            &tls.url,
            API_KEY,
            2,
            "give --cacert CA.pem (or server.cacert, or cacert in the profile) with the CA that signed the server's certificate",
        ),
        ("wrong key", &server.url, "not-the-key", 2, "the server refused the API key"),
        ("dead server", &dead, API_KEY, 3, "check that the server is up and reachable"),
        ("not a URL", "localhost:8000", API_KEY, 2, "did you mean http://localhost:8000?"),
        ("no API at the URL", &gone, API_KEY, 2, "no server API at that URL: check --url"),
    ];
    for (what, url, key, code, hint) in cases {
        let dir = tempfile::tempdir().unwrap();
        for (how, out) in three_ways(dir.path(), url, key, None) {
            let text = said(&out);
            assert_eq!(out.status.code(), Some(code), "{what} through {how}:\n{text}");
            assert!(text.contains(hint), "{what} through {how} lacks the hint `{hint}`:\n{text}");
            assert!(!text.contains("not-the-key"), "{what} through {how} shows the key:\n{text}");
        }
    }
    // The CA makes all three work, the profile's relative `cacert` included.
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(&tls.ca_path, dir.path().join("ca.pem")).unwrap();
    for (how, out) in three_ways(dir.path(), &tls.url, API_KEY, Some("ca.pem")) {
        assert_eq!(out.status.code(), Some(0), "with the CA through {how}:\n{}", said(&out));
    }
    assert_eq!(
        tls.api("history", serde_json::json!({"channel": "failures", "limit": -1}))["publications"]
            .as_array()
            .map(Vec::len),
        Some(3)
    );
}
