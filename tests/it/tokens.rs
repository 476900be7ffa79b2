//! Tokens minted by `cent-run token` checked by the real server's own
//! verifier (`centrifugo checktoken` / `checksubtoken` with the test config).

use crate::harness::{HMAC_SECRET, cent_run, centrifugo_bin, root};

fn mint(args: &[&str]) -> String {
    let out = cent_run().arg("token").args(args).env("CENTRIFUGO_TOKEN_SECRET", HMAC_SECRET).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

fn server_check(sub: &str, token: &str) -> (bool, String) {
    let out = std::process::Command::new(centrifugo_bin())
        .args([sub, "-c"])
        .arg(root().join("tests/centrifugo/config.json"))
        .arg(token)
        .output()
        .unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr))
}

#[test]
fn connection_tokens_are_accepted_by_centrifugo() {
    let token = mint(&[
        "connect",
        "--user",
        "42",
        "--ttl",
        "1h",
        "--info",
        r#"{"name":"Grüße"}"#,
        "--meta",
        r#"{"plan":"pro"}"#,
    ]);
    let (ok, text) = server_check("checktoken", &token);
    assert!(ok, "{text}");
    assert!(text.contains("valid token for user 42"), "{text}");
    assert!(text.contains(r#""info":{"name":"Grüße"}"#), "{text}");
    // A token signed with another secret is refused by the server.
    let other = cent_run().args(["token", "connect", "--user", "42", "--secret", "not-the-secret"]).output().unwrap();
    let (ok, text) = server_check("checktoken", String::from_utf8_lossy(&other.stdout).trim());
    assert!(!ok, "{text}");
    assert!(text.contains("signature is not valid"), "{text}");
}

#[test]
fn subscription_tokens_are_accepted_by_centrifugo() {
    let token = mint(&["subscribe", "--user", "42", "--channel", "$chat:room", "--ttl", "10m"]);
    let (ok, text) = server_check("checksubtoken", &token);
    assert!(ok, "{text}");
    assert!(text.contains(r#"valid subscription token for user "42" and channel "$chat:room""#), "{text}");
}

#[test]
fn token_check_rejects_expired_and_forged_tokens_with_exit_1() {
    let good = mint(&["connect", "--user", "7", "--ttl", "1h"]);
    let out = cent_run().args(["token", "check", &good]).env("CENTRIFUGO_TOKEN_SECRET", HMAC_SECRET).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let claims: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(claims["sub"], "7");
    let expired = mint(&["connect", "--user", "7", "--exp", "1000"]);
    let out =
        cent_run().args(["token", "check", &expired]).env("CENTRIFUGO_TOKEN_SECRET", HMAC_SECRET).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("expired"), "{out:?}");
    assert!(out.stdout.is_empty(), "nothing on stdout for a pipe to take as claims");
    let out = cent_run().args(["token", "check", &good, "--secret", "wrong"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("signature"));
}

#[test]
fn v1_token_and_signs_match_the_original_library_vectors() {
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root().join("tests/vectors/legacy-v1.json")).unwrap()).unwrap();
    for t in v["token"].as_array().unwrap() {
        let s = |k: &str| t[k].as_str().unwrap().to_owned();
        let out = cent_run()
            .args(["token", "legacy", "--user", &s("user"), "--timestamp", &s("timestamp"), "--info", &s("info")])
            .args(["--secret", &s("secret")])
            .output()
            .unwrap();
        // The token, then the timestamp it signed (the client sends both).
        assert_eq!(String::from_utf8_lossy(&out.stdout), format!("{}\n{}\n", s("token"), s("timestamp")));
    }
    for t in v["api_sign"].as_array().unwrap() {
        let s = |k: &str| t[k].as_str().unwrap().to_owned();
        let out =
            cent_run().args(["token", "api-sign", "--secret", &s("secret")]).write_stdin(s("body")).output().unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), s("sign"));
    }
}
