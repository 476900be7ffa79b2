//! Hostile input: mutated manifests, `~/.centrc` files and server replies
//! never panic (a short in-CI run of what the cargo-fuzz targets in `fuzz/`
//! do at length); huge or binary manifests end in exit 2; a server that
//! answers garbage, truncated JSON or an enormous body gives a clean
//! `unknown` outcome and exit 3 in bounded time.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::{Duration, Instant};

use crate::harness::{cent_run, manifest, root};

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn seeds() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for dir in ["tests/corpus/invalid", "examples/manifests", "fuzz/corpus/manifest"] {
        let Ok(entries) = std::fs::read_dir(root().join(dir)) else { continue };
        for e in entries.flatten().filter(|e| e.path().is_file()) {
            out.push(std::fs::read(e.path()).unwrap());
        }
    }
    assert!(out.len() > 40);
    out
}

/// Byte-level mutations: flips, inserts of YAML punctuation, splices.
fn mutate(rng: &mut Rng, seeds: &[Vec<u8>]) -> Vec<u8> {
    let mut data = seeds[rng.below(seeds.len())].clone();
    for _ in 0..1 + rng.below(8) {
        let at = rng.below(data.len() + 1);
        match rng.below(5) {
            0 if !data.is_empty() => {
                let i = at.min(data.len() - 1);
                data[i] ^= 1 << rng.below(8);
            }
            1 => {
                let tok: &[&[u8]] = &[
                    b"{",
                    b"}",
                    b"[",
                    b"]",
                    b":",
                    b"- ",
                    b"\n",
                    b"&a",
                    b"*a",
                    b"${",
                    b"'",
                    b"\"",
                    b"\t",
                    b"!!binary ",
                ];
                let t = tok[rng.below(tok.len())];
                data.splice(at..at, t.iter().copied());
            }
            2 if at < data.len() => {
                let end = (at + rng.below(40)).min(data.len());
                data.drain(at..end);
            }
            3 => {
                let other = &seeds[rng.below(seeds.len())];
                let from = rng.below(other.len());
                let end = (from + rng.below(80)).min(other.len());
                data.splice(at..at, other[from..end].iter().copied());
            }
            _ => data.insert(at, rng.next() as u8),
        }
    }
    data
}

#[test]
fn mutated_manifests_profiles_and_replies_never_panic() {
    let seeds = seeds();
    let mut rng = Rng(0x5eed_cafe);
    let started = Instant::now();
    let opts = Default::default();
    for _ in 0..2000 {
        let data = mutate(&mut rng, &seeds);
        let text = String::from_utf8_lossy(&data);
        let t = Instant::now();
        let _ = cent_run::runner::load_text("fuzz.yaml", &text, &opts);
        // A hang detector, not a performance target (that is the benchmark's job).
        assert!(t.elapsed() < Duration::from_secs(30), "input took {:?}:\n{text}", t.elapsed());
        let _ = cent_run::internals::parse_profile(&text, "f", "bananas");
        for p in [cent_run::client::Protocol::Api, cent_run::client::Protocol::Legacy, cent_run::client::Protocol::V1] {
            let _ = cent_run::internals::decode(p, &["publish", "broadcast"], &data);
        }
    }
    let replies: [&[u8]; 6] = [
        br#"{"replies":[{"publish":{"offset":1}},{"broadcast":{"responses":[{"error":{"code":"x"}}]}}]}"#,
        br#"{"result":{}}
{"error":{"code":102}}"#,
        br#"[{"method":"publish","error":null,"body":null},{"error":1}]"#,
        b"{\"replies\":[{\"publish\":",
        b"\xff\xfe\x00",
        b"",
    ];
    for _ in 0..3000 {
        let mut r = replies[rng.below(replies.len())].to_vec();
        if !r.is_empty() {
            let at = rng.below(r.len());
            r[at] = rng.next() as u8;
        }
        for p in [cent_run::client::Protocol::Api, cent_run::client::Protocol::Legacy, cent_run::client::Protocol::V1] {
            let _ = cent_run::internals::decode(p, &["publish", "broadcast"], &r);
        }
    }
    assert!(started.elapsed() < Duration::from_secs(300));
}

#[test]
fn huge_scalars_binary_garbage_and_huge_for_each_files() {
    let big = format!("commands:\n  - publish: {{channel: a, data: \"{}\"}}\n", "x".repeat(70 * 1024 * 1024));
    let (_d1, path) = manifest(&big);
    let t = Instant::now();
    let out = cent_run().arg("check").arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("too large"), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(t.elapsed() < Duration::from_secs(30));

    let mut rng = Rng(7);
    let garbage: Vec<u8> = (0..100_000).map(|_| rng.next() as u8).collect();
    let (d2, path) = manifest("");
    std::fs::write(&path, &garbage).unwrap();
    let out = cent_run().arg("check").arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(2));

    let users: String = (0..200_000).map(|i| format!("user-{i}\n")).collect();
    std::fs::write(d2.path().join("users.txt"), users).unwrap();
    std::fs::write(&path, "commands:\n  - disconnect: {user: \"${item}\"}\n    for_each: {file: users.txt}\n").unwrap();
    let out = cent_run().arg("check").arg(&path).env("CENTRIFUGO_API_KEY", "k").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("ok: 200,000 commands"));
}

/// A server answering every request with `body` (HTTP 200).
fn bad_server(body: Vec<u8>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for mut conn in listener.incoming().flatten() {
            let body = body.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 65536];
                let _ = conn.read(&mut buf);
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = conn.write_all(head.as_bytes());
                let _ = conn.write_all(&body);
            });
        }
    });
    url
}

#[test]
fn garbage_truncated_or_enormous_replies_are_unknown_not_a_crash() {
    let (_d, path) = manifest("commands:\n  - publish: {channel: a, data: 1}\n");
    for (what, body) in [
        ("garbage", b"\x00\xffnot json at all".to_vec()),
        ("truncated", br#"{"replies":[{"publish":{"offs"#.to_vec()),
        ("wrong count", br#"{"replies":[]}"#.to_vec()),
        ("enormous", vec![b' '; 80 * 1024 * 1024]),
    ] {
        let url = bad_server(body);
        let t = Instant::now();
        let out = cent_run()
            .arg(&path)
            .args(["--url", &url, "--api-key", "k", "--retries", "1", "--format", "json"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(3), "{what}: {}", String::from_utf8_lossy(&out.stderr));
        let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(r["commands"][0]["status"], "unknown", "{what}");
        assert!(t.elapsed() < Duration::from_secs(30), "{what}");
    }
}
