//! Protocol v1 against the in-test v1 server (`v1server.rs`), and request
//! bytes and signs checked against the original Python library
//! (`cent==2.1.0` in the project's throwaway virtualenv) and its vectors.

use serde_json::{Value, json};

use crate::harness::{cent_run, manifest, root};
use crate::v1server::V1Server;

const SECRET: &str = "long-secret-key-for-bananas-project";

fn hmac_hex(secret: &str, body: &[u8]) -> String {
    cent_run::token::api_sign(secret.as_bytes(), body)
}

#[test]
fn v1_runs_are_signed_over_the_exact_body_and_replies_are_read() {
    let server = V1Server::start(SECRET);
    let (_dir, path) = manifest(
        "server: {protocol: v1}\ncommands:\n  - publish: {channel: news, data: {title: \"Grüße\"}}\n  - broadcast: {channels: [a, b], data: 1}\n  - unsubscribe: {user: \"42\", channel: chat}\n  - disconnect: {user: \"42\"}\n  - history: {channel: news}\n  - info: {}\n",
    );
    let report = path.with_file_name("r.json");
    let out = cent_run()
        .arg(&path)
        .args(["--url", &server.url, "--secret", SECRET, "--report-json"])
        .arg(&report)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    let got = server.received();
    assert!(!got.is_empty());
    for r in &got {
        assert_eq!(r.path, "/api/");
        assert_eq!(r.sign, hmac_hex(SECRET, &r.body));
        assert!(
            r.body.starts_with(b"[{\"method\": \""),
            "Python json.dumps layout: {}",
            String::from_utf8_lossy(&r.body)
        );
        assert!(r.body.is_ascii(), "non-ASCII is escaped like json.dumps");
    }
    assert_eq!(server.history("news"), vec![json!({"title": "Grüße"})]);
    assert_eq!(server.history("b"), vec![json!(1)]);
    let r: Value = serde_json::from_str(&crate::harness::read(&report)).unwrap();
    assert_eq!(r["commands"][5]["method"], "stats", "info maps to stats on v1");
    assert_eq!(r["commands"][4]["result"]["data"][0]["data"], json!({"title": "Grüße"}));
}

#[test]
fn v1_errors_and_a_wrong_secret_are_failures() {
    let server = V1Server::start(SECRET);
    let (_dir, path) =
        manifest("server: {protocol: v1}\ncommands:\n  - publish: {channel: \"unknownns:x\", data: 1}\n");
    let out = cent_run().arg(&path).args(["--url", &server.url, "--secret", SECRET]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("namespace not found"));
    assert_eq!(server.received().len(), 1);
    let out = cent_run().arg(&path).args(["--url", &server.url, "--secret", "wrong-secret"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "a refused secret is a configuration problem");
    assert!(String::from_utf8_lossy(&out.stdout).contains("HTTP 401"), "{}", String::from_utf8_lossy(&out.stdout));
    assert_eq!(server.received().len(), 1, "the request with a wrong sign was refused");
}

#[test]
fn plan_matches_the_original_library_request_vector() {
    let v: Value =
        serde_json::from_str(&std::fs::read_to_string(root().join("tests/vectors/legacy-v1.json")).unwrap()).unwrap();
    let req = &v["request"][0];
    let (_dir, path) = manifest(
        "server: {protocol: v1}\ncommands:\n  - publish: {channel: news, data: {title: \"World Cup 2018\"}}\n  - unsubscribe: {user: \"42\", channel: chat}\n  - disconnect: {user: \"42\"}\n",
    );
    let out = cent_run()
        .args(["plan"])
        .arg(&path)
        .args(["--url", req["address"].as_str().unwrap(), "--secret", req["secret"].as_str().unwrap()])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(&format!("POST {}", req["url"].as_str().unwrap())), "{text}");
    assert!(text.contains(&format!("X-API-Sign: {}", req["x_api_sign"].as_str().unwrap())), "{text}");
    assert!(text.lines().any(|l| l == req["body"].as_str().unwrap()), "{text}");
}

/// Runs the original library (cent 2.1.0) in the project's virtualenv.
fn python(script: &str) -> Value {
    let py = root().join(".tools/venv/bin/python");
    assert!(py.exists(), "Python oracle missing: run scripts/setup-python.sh (installs cent==2.1.0 into .tools/venv)");
    let out = std::process::Command::new(py).arg("-c").arg(script).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn randomised_bodies_signs_and_tokens_match_cent_2_1_0() {
    // The oracle builds requests with send_func (no network) and computes
    // tokens; cent-run's library must produce the same bytes.
    let cases = python(
        r#"
import json, random
from cent import Client, generate_token, generate_channel_sign
rnd = random.Random(20261128)
alphabet = "abcXYZ019_-:$ éü世😀\"\\\n"
def s(n): return "".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, n)))
def a(n): return "".join(rnd.choice("abcXYZ019_-:$.") for _ in range(rnd.randint(0, n)))
out = {"requests": [], "tokens": [], "signs": []}
for i in range(60):
    captured = {}
    c = Client("http://h:8000/", "sec-" + a(12), send_func=lambda url, sign, data: captured.update(url=url, sign=sign, body=data.decode()))
    cmds = []
    for _ in range(rnd.randint(1, 5)):
        kind = rnd.choice(["publish", "broadcast", "unsubscribe", "disconnect", "history", "presence"])
        if kind == "publish": p = {"channel": a(10) or "x", "data": {"t": s(15), "n": rnd.randint(-5, 10**6), "l": [True, None, 1.5]}}
        elif kind == "broadcast": p = {"channels": [a(6) or "y", a(6) or "z"], "data": s(20)}
        elif kind in ("unsubscribe",): p = {"user": a(5), "channel": a(5)}
        elif kind == "disconnect": p = {"user": a(5)}
        else: p = {"channel": a(8) or "w"}
        c.add(kind, p); cmds.append([kind, p])
    c.send()
    out["requests"].append({"secret": c.secret, "commands": cmds, **captured})
for i in range(100):
    sec, user, ts, info = a(20), a(10), str(rnd.randint(0, 2**32)), a(30)
    out["tokens"].append([sec, user, ts, info, generate_token(sec, user, ts, info)])
    client, ch = a(36), "$" + a(10)
    out["signs"].append([sec, client, ch, info, generate_channel_sign(sec, client, ch, info)])
print(json.dumps(out))
"#,
    );
    use cent_run::client::Protocol;
    use cent_run::internals::{body, encode, endpoint, method_name};
    let reqs = cases["requests"].as_array().unwrap();
    assert_eq!(reqs.len(), 60);
    for r in reqs {
        let encoded: Vec<_> = r["commands"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                let m = method_name(c[0].as_str().unwrap()).unwrap();
                encode(Protocol::V1, m, c[1].as_object().unwrap())
            })
            .collect();
        let ours = body(Protocol::V1, &encoded);
        assert_eq!(String::from_utf8(ours.clone()).unwrap(), r["body"].as_str().unwrap());
        assert_eq!(hmac_hex(r["secret"].as_str().unwrap(), &ours), r["sign"].as_str().unwrap());
        assert_eq!(endpoint("http://h:8000/", Protocol::V1), r["url"].as_str().unwrap());
    }
    for t in cases["tokens"].as_array().unwrap() {
        let s = |i: usize| t[i].as_str().unwrap();
        assert_eq!(cent_run::token::legacy_token(s(0).as_bytes(), s(1), s(2), s(3)), s(4));
    }
    for t in cases["signs"].as_array().unwrap() {
        let s = |i: usize| t[i].as_str().unwrap();
        assert_eq!(cent_run::token::channel_sign(s(0).as_bytes(), s(1), s(2), s(3)), s(4));
    }
}
