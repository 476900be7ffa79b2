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

/// An RSA and a P-256 key pair made by `openssl`, and the test config with
/// both public keys, as a Centrifugo operator would configure them.
struct Keys {
    dir: tempfile::TempDir,
}

impl Keys {
    fn new() -> Keys {
        let dir = tempfile::tempdir().unwrap();
        let openssl = |args: &[&str]| {
            let out = std::process::Command::new("openssl").args(args).current_dir(dir.path()).output().unwrap();
            assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        };
        for (name, alg) in [
            ("rsa", &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"][..]),
            ("ec", &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"][..]),
            ("other", &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"][..]),
        ] {
            let private = format!("{name}.pem");
            openssl(&[&["genpkey"][..], alg, &["-out", &private]].concat());
            openssl(&["pkey", "-in", &private, "-pubout", "-out", &format!("{name}.pub")]);
        }
        let mut config: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(root().join("tests/centrifugo/config.json")).unwrap())
                .unwrap();
        let read = |f: &str| std::fs::read_to_string(dir.path().join(f)).unwrap();
        config["client"]["token"]["rsa_public_key"] = read("rsa.pub").into();
        config["client"]["token"]["ecdsa_public_key"] = read("ec.pub").into();
        std::fs::write(dir.path().join("config.json"), config.to_string()).unwrap();
        Keys { dir }
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }

    fn server_check(&self, sub: &str, token: &str) -> (bool, String) {
        let out = std::process::Command::new(centrifugo_bin())
            .args([sub, "-c", &self.path("config.json"), token])
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
        )
    }
}

#[test]
fn rs256_and_es256_tokens_are_accepted_by_the_servers_own_verifier() {
    let keys = Keys::new();
    for (alg, key) in [("RS256", "rsa"), ("ES256", "ec")] {
        let private = keys.path(&format!("{key}.pem"));
        let connect = mint(&[
            "connect",
            "--user",
            "42",
            "--ttl",
            "1h",
            "--algorithm",
            alg,
            "--key-file",
            &private,
            "--info",
            r#"{"k":"Ü"}"#,
        ]);
        let header: serde_json::Value =
            serde_json::from_slice(&base64_url(connect.split('.').next().unwrap())).unwrap();
        assert_eq!(header["alg"], alg);
        let (ok, text) = keys.server_check("checktoken", &connect);
        assert!(ok && text.contains("valid token for user 42"), "{alg}: {text}");
        let sub = mint(&[
            "subscribe",
            "--user",
            "42",
            "--channel",
            "$chat:x",
            "--ttl",
            "1h",
            "--algorithm",
            alg,
            "--key-file",
            &private,
        ]);
        let (ok, text) = keys.server_check("checksubtoken", &sub);
        assert!(
            ok && text.contains(r#"valid subscription token for user "42" and channel "$chat:x""#),
            "{alg}: {text}"
        );
        // cent-run checks them with the public key, and refuses another key.
        let check = |token: &str, public: &str| {
            cent_run().args(["token", "check", token, "--key-file", &keys.path(public)]).output().unwrap()
        };
        let out = check(&connect, &format!("{key}.pub"));
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
        let claims: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!((claims["sub"].as_str(), claims["info"]["k"].as_str()), (Some("42"), Some("Ü")));
        let out = check(&connect, "other.pub");
        assert_eq!(out.status.code(), Some(1), "{alg} with another key");
        let expired = mint(&["connect", "--user", "42", "--exp", "1000", "--algorithm", alg, "--key-file", &private]);
        let out = check(&expired, &format!("{key}.pub"));
        assert_eq!(out.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&out.stderr).contains("expired"));
        let (ok, _) = keys.server_check("checktoken", &expired);
        assert!(!ok, "the server refuses the expired token too");
    }
    // The wrong kind of key for an algorithm is a usage error, not a token.
    let out = cent_run()
        .args(["token", "connect", "--user", "1", "--algorithm", "ES256", "--key-file", &keys.path("rsa.pem")])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not ES256"), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn hs384_and_hs512_tokens_are_accepted_by_centrifugo() {
    for alg in ["HS384", "HS512"] {
        let token = mint(&["connect", "--user", "7", "--ttl", "1h", "--algorithm", alg]);
        let (ok, text) = server_check("checktoken", &token);
        assert!(ok && text.contains("valid token for user 7"), "{alg}: {text}");
    }
}

fn base64_url(part: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part).unwrap()
}
