//! The test harness: a real Centrifugo v6.9.1 on a free loopback port with
//! the config kept in `tests/centrifugo/config.json`, readiness by
//! `/health`, and a raw HTTP reader of the server API that is independent
//! of cent-run's own client.
//!
//! A test that needs the server and cannot find the binary fails with a
//! message saying how to install it; it never skips.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

pub const API_KEY: &str = "test-api-key-4f9c2b7e";
pub const HMAC_SECRET: &str = "test-hmac-secret-8d1e";

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn centrifugo_bin() -> PathBuf {
    let bin = std::env::var_os("CENTRIFUGO_BIN").map_or_else(|| root().join(".tools/bin/centrifugo"), PathBuf::from);
    assert!(
        bin.exists(),
        "Centrifugo binary not found at {}.\nInstall it with `scripts/install-centrifugo.sh` (builds v6.9.1 with Go), \
         or point CENTRIFUGO_BIN at one.",
        bin.display()
    );
    bin
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A running Centrifugo. Killed on drop, and by a watchdog if the test
/// process dies first (so no server outlives a test run).
pub struct Server {
    child: Child,
    pub port: u16,
    pub url: String,
}

impl Server {
    pub fn start() -> Server {
        Self::start_on(free_port())
    }

    pub fn start_on(port: u16) -> Server {
        Self::start_with(port, &root().join("tests/centrifugo/config.json"))
    }

    /// A server with a configuration file of the test's own.
    pub fn start_with(port: u16, config: &Path) -> Server {
        let bin = centrifugo_bin();
        let script = format!(
            r#""$0" --config "$1" --http_server.port "$2" --http_server.address 127.0.0.1 & c=$!
               trap 'kill $c 2>/dev/null; wait $c; exit 0' TERM INT
               trap 'kill $c 2>/dev/null' EXIT
               while kill -0 {parent} 2>/dev/null && kill -0 $c 2>/dev/null; do sleep 0.3; done"#,
            parent = std::process::id()
        );
        let child = Command::new("bash")
            .arg("-c")
            .arg(script)
            .arg(&bin)
            .arg(config)
            .arg(port.to_string())
            .current_dir(std::env::temp_dir())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start centrifugo");
        let server = Server { child, port, url: format!("http://127.0.0.1:{port}") };
        server.wait_healthy(Duration::from_secs(30));
        server
    }

    fn wait_healthy(&self, limit: Duration) {
        let start = Instant::now();
        loop {
            if let Ok((200, _)) = raw_http(self.port, "GET", "/health", &[], b"") {
                return;
            }
            assert!(start.elapsed() < limit, "centrifugo on port {} did not become healthy in {limit:?}", self.port);
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Calls the server API directly (not through cent-run) and returns `result`.
    pub fn api(&self, method: &str, params: Value) -> Value {
        let body = serde_json::to_vec(&params).unwrap();
        let (status, resp) =
            raw_http(self.port, "POST", &format!("/api/{method}"), &[("X-API-Key", API_KEY)], &body).unwrap();
        assert_eq!(status, 200, "{method}: HTTP {status}: {}", String::from_utf8_lossy(&resp));
        let v: Value = serde_json::from_slice(&resp).unwrap();
        assert!(v.get("error").is_none(), "{method} failed: {v}");
        v["result"].clone()
    }

    /// Every publication's data in a channel's history, oldest first.
    pub fn history(&self, channel: &str) -> Vec<Value> {
        let r = self.api("history", json!({"channel": channel, "limit": -1}));
        r["publications"].as_array().cloned().unwrap_or_default().into_iter().map(|p| p["data"].clone()).collect()
    }
}

impl Drop for Server {
    /// SIGTERM to the wrapper, whose trap stops Centrifugo (SIGKILL would
    /// orphan it), then wait until the port is free again.
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let _ = self.child.wait();
        let start = Instant::now();
        while TcpStream::connect(("127.0.0.1", self.port)).is_ok() && start.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// The server shared by tests that only need their own channels.
pub fn shared() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(Server::start)
}

/// A channel name unique to this test process and call.
pub fn channel(prefix: &str) -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    format!("{prefix}-{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed))
}

/// HTTP/1.0 over a plain socket: no chunking, connection closed after the
/// answer. Deliberately independent of reqwest and of cent-run's client.
pub fn raw_http(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<(u16, Vec<u8>)> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(20)))?;
    let mut req = format!("{method} {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\n", body.len());
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes())?;
    s.write_all(body)?;
    let mut resp = Vec::new();
    s.read_to_end(&mut resp)?;
    let split = resp.windows(4).position(|w| w == b"\r\n\r\n").ok_or_else(|| std::io::Error::other("no header end"))?;
    let head = String::from_utf8_lossy(&resp[..split]);
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    Ok((status, resp[split + 4..].to_vec()))
}

/// The cent-run binary with a clean environment for Centrifugo settings.
pub fn cent_run() -> assert_cmd::Command {
    let mut c = assert_cmd::Command::cargo_bin("cent-run").unwrap();
    for v in [
        "CENTRIFUGO_URL",
        "CENTRIFUGO_API_KEY",
        "CENTRIFUGO_SECRET",
        "CENTRIFUGO_TOKEN_SECRET",
        "GITHUB_ACTIONS",
        "GITHUB_STEP_SUMMARY",
        "NO_COLOR",
    ] {
        c.env_remove(v);
    }
    c.env("HOME", std::env::temp_dir());
    c
}

/// Writes a manifest into a fresh temp dir; returns the dir and the path.
pub fn manifest(text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.yaml");
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

pub fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

/// A connection token for `user`, minted by `cent-run token` (`args` after
/// the user: a channel for a subscription token, more flags).
pub fn token(kind: &str, user: &str, args: &[&str]) -> String {
    let out = cent_run()
        .args(["token", kind, "--user", user, "--ttl", "10m"])
        .args(args)
        .env("CENTRIFUGO_TOKEN_SECRET", HMAC_SECRET)
        .output()
        .unwrap();
    assert!(out.status.success(), "token {kind}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// A real WebSocket client (centrifuge-python, `tests/py/subscriber.py`)
/// connected to `port` with `token` and subscribed to `subs` (a JSON list of
/// `{channel, token?}`), ready (it said `READY`) when this returns. It
/// waits for `expected` publications for at most `timeout_s` seconds, then
/// prints what it got as one JSON line; dropping it kills it.
pub struct Subscriber {
    child: Child,
    lines: std::io::Lines<std::io::BufReader<std::process::ChildStdout>>,
}

impl Subscriber {
    pub fn start(port: u16, token: &str, expected: usize, timeout_s: u64, subs: &Value) -> Self {
        let python = root().join(".tools/venv/bin/python");
        assert!(python.exists(), "centrifuge-python missing: run scripts/setup-python.sh");
        let mut child = Command::new(python)
            .arg(root().join("tests/py/subscriber.py"))
            .arg(format!("ws://127.0.0.1:{port}/connection/websocket"))
            .args([token, &expected.to_string(), &timeout_s.to_string(), &subs.to_string()])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = std::io::BufRead::lines(std::io::BufReader::new(child.stdout.take().unwrap()));
        assert_eq!(lines.next().and_then(Result::ok).unwrap_or_default(), "READY", "the subscriber did not get ready");
        Subscriber { child, lines }
    }

    /// What it received, by channel (waits for it to finish).
    pub fn received(mut self) -> Value {
        let line = self.lines.next().and_then(Result::ok).unwrap_or_default();
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("subscriber output {line:?}: {e}"))
    }
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A listening socket that answers nothing: counts the connections made
/// to it (a manifest that must send nothing opens none).
pub struct Watch {
    listener: TcpListener,
    pub url: String,
}

impl Watch {
    pub fn new() -> Watch {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        Watch { listener, url }
    }

    pub fn connections(&self) -> usize {
        std::iter::from_fn(|| self.listener.accept().ok()).count()
    }
}

/// Text as miette wrapped it, unwrapped (a message split over lines).
/// What a command said, stdout then stderr, unwrapped.
pub fn said(out: &std::process::Output) -> String {
    unwrapped(&format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

/// A JSON report file, read.
pub fn report(path: &Path) -> Value {
    serde_json::from_str(&read(path)).unwrap()
}

/// A page generated from a table (`docs/*.md`): the file must be it;
/// `UPDATE_GOLDEN=1` rewrites it (read the diff).
pub fn golden_page(relative: &str, page: &str, test: &str) {
    let path = root().join(relative);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, page).unwrap();
    }
    let written = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(written == page, "{relative} is stale: run UPDATE_GOLDEN=1 cargo test --test it {test}");
}

pub fn unwrapped(text: &str) -> String {
    text.replace("\n  │ ", " ").replace("\n        ", " ")
}
