//! Real-cluster and real-TLS infrastructure, and the tests that prove it.
//!
//! Production Centrifugo runs as several nodes sharing Redis, behind TLS.
//! This module gives tests the same, on loopback, with the real v6.9.1
//! binary (`harness::centrifugo_bin()`):
//!
//! - [`Redis`]: a throwaway `redis-server` (no persistence, own temp dir);
//! - [`Cluster`]: one [`Redis`] and n Centrifugo [`Node`]s with the Redis
//!   engine, started once the cluster has formed (every node lists all n);
//!   [`Cluster::kill`] SIGKILLs one node for failover tests;
//! - [`TlsServer`]: a Centrifugo serving HTTPS with a certificate for
//!   `127.0.0.1` and `localhost` signed by a CA made by the test
//!   ([`TlsServer::ca_path`]), plus a second CA that signed nothing
//!   ([`TlsServer::untrusted_ca_path`]);
//! - [`Configured`]: one Centrifugo with channel options of the test's own.
//!
//! Configs are `tests/centrifugo/config.json` (so the API key stays
//! `harness::API_KEY`, kept in that one file) with overrides merged in by
//! [`config_with`]. The Centrifugo keys used, checked against the v6.9.1
//! source (`internal/configtypes`) and by these tests:
//!
//! - Redis engine: `engine.type: "redis"`, `engine.redis.address:
//!   ["redis://127.0.0.1:PORT"]` (a list of shards);
//! - TLS on the HTTP server (API and `/health` included, same port):
//!   `http_server.tls.enabled: true`, `http_server.tls.cert_pem` and
//!   `http_server.tls.key_pem`, each a file path, raw PEM or base64 PEM;
//! - `http_server.port`, `http_server.address`, `node.name`.
//!
//! Every process runs under a bash wrapper, as `harness::Server` does: the
//! wrapper stops it on SIGTERM (used by `Drop`) and also when the test
//! process is gone, so a SIGKILLed test run orphans no server. Each
//! process's stdout and stderr go to a log file in its temp dir, quoted in
//! the panic message when it fails to start.
//!
//! A test that needs `redis-server` and cannot find it fails with a message
//! saying to run `scripts/install-redis.sh`; nothing here skips.

use std::fs::{self, File};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tempfile::TempDir;

use crate::harness::{self, API_KEY};

/// How long a single process may take to answer its readiness probe.
const READY_LIMIT: Duration = Duration::from_secs(30);
/// How long n healthy nodes may take to all list each other. Nodes announce
/// themselves over Redis at start and then every 3 s (centrifuge's
/// `nodeInfoPublishInterval`); measured here, two nodes list each other as
/// soon as both answer `/health` (whole cluster start: 0.2–0.6 s).
const FORMATION_LIMIT: Duration = Duration::from_secs(20);

/// The wrapper: runs `"$@"` in the background, writes its pid to the file
/// named by `$0` (atomically), stops it on SIGTERM/SIGINT, and stops it when
/// the watched parent (`$PARENT`, normally the test process) has died or the
/// process itself has exited.
const WRAPPER: &str = r#""$@" & c=$!
echo $c > "$0.tmp" && mv "$0.tmp" "$0"
trap 'kill $c 2>/dev/null; wait $c; exit 0' TERM INT
trap 'kill $c 2>/dev/null' EXIT
while kill -0 "$PARENT" 2>/dev/null && kill -0 $c 2>/dev/null; do sleep 0.3; done"#;

/// A process started under [`WRAPPER`]. Stopped (SIGTERM to the wrapper,
/// whose trap stops the process and waits for it) on drop.
struct Guarded {
    what: String,
    wrapper: Child,
    pid: u32,
    port: u16,
    log: PathBuf,
    stopped: bool,
}

impl Guarded {
    /// Starts `program args` with `dir` as working directory and log
    /// directory; the wrapper watches `parent`.
    fn spawn(what: String, dir: &Path, port: u16, parent: u32, program: &Path, args: &[String]) -> Guarded {
        let pidfile = dir.join("pid");
        let log = dir.join("log");
        let out = File::create(&log).unwrap_or_else(|e| panic!("{what}: cannot create {}: {e}", log.display()));
        let err = out.try_clone().unwrap_or_else(|e| panic!("{what}: cannot duplicate the log handle: {e}"));
        let wrapper = Command::new("bash")
            .arg("-c")
            .arg(WRAPPER)
            .arg(&pidfile)
            .arg(program)
            .args(args)
            .env("PARENT", parent.to_string())
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("{what}: cannot start the bash wrapper: {e}"));
        let mut guarded = Guarded { what, wrapper, pid: 0, port, log, stopped: false };
        let start = Instant::now();
        guarded.pid = loop {
            if let Some(pid) = fs::read_to_string(&pidfile).ok().and_then(|s| s.trim().parse().ok()) {
                break pid;
            }
            guarded.assert_running();
            assert!(
                start.elapsed() < READY_LIMIT,
                "{}: the wrapper wrote no pid file in {READY_LIMIT:?}",
                guarded.what
            );
            std::thread::sleep(Duration::from_millis(5));
        };
        guarded
    }

    /// The last lines of the process's log.
    fn log_tail(&self) -> String {
        let text =
            fs::read_to_string(&self.log).unwrap_or_else(|e| format!("(log {} unreadable: {e})", self.log.display()));
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    /// Panics, quoting the log, when the process (hence its wrapper) has exited.
    fn assert_running(&mut self) {
        if let Ok(Some(status)) = self.wrapper.try_wait() {
            self.stopped = true;
            panic!("{} exited during start-up ({status}); its log:\n{}", self.what, self.log_tail());
        }
    }

    /// Polls `ready` until it holds; panics (with the log) when the process
    /// exits or `limit` passes.
    fn wait_until(&mut self, limit: Duration, probe: &str, mut ready: impl FnMut() -> bool) {
        let start = Instant::now();
        while !ready() {
            self.assert_running();
            assert!(
                start.elapsed() < limit,
                "{}: no {probe} within {limit:?}; its log:\n{}",
                self.what,
                self.log_tail()
            );
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// SIGKILLs the process itself (not the wrapper, whose loop then ends),
    /// reaps the wrapper and waits until the port is closed.
    fn kill_hard(&mut self) {
        assert!(!self.stopped, "{} was already stopped", self.what);
        let status = Command::new("kill")
            .args(["-KILL", &self.pid.to_string()])
            .status()
            .unwrap_or_else(|e| panic!("{}: cannot run kill: {e}", self.what));
        assert!(status.success(), "{}: kill -KILL {} failed ({status})", self.what, self.pid);
        self.finish();
        assert!(!alive(self.pid), "{}: pid {} still alive after SIGKILL", self.what, self.pid);
    }

    /// Reaps the wrapper and waits (up to 10 s) until nothing listens on the port.
    fn finish(&mut self) {
        let _ = self.wrapper.wait();
        self.stopped = true;
        let start = Instant::now();
        while TcpStream::connect(("127.0.0.1", self.port)).is_ok() && start.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Guarded {
    /// SIGTERM to the wrapper, whose trap stops the process and waits for it.
    fn drop(&mut self) {
        if self.stopped {
            return;
        }
        if let Ok(None) = self.wrapper.try_wait() {
            let _ = Command::new("kill").args(["-TERM", &self.wrapper.id().to_string()]).status();
        }
        self.finish();
    }
}

/// Whether `pid` is a live process (a zombie counts as dead: in a container
/// PID 1 may never reap an orphan).
pub fn alive(pid: u32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the parenthesised command name.
        Ok(stat) => stat.rsplit_once(')').is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

fn temp_dir(prefix: &str) -> TempDir {
    tempfile::Builder::new().prefix(prefix).tempdir().unwrap_or_else(|e| panic!("cannot create a temp dir: {e}"))
}

/// `redis-server` from PATH, or a panic saying how to install it.
fn redis_server_bin() -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path).map(|dir| dir.join("redis-server")).find(|p| p.is_file()).unwrap_or_else(|| {
        panic!(
            "redis-server not found on PATH.\nInstall it with `scripts/install-redis.sh` (Debian's redis-server \
             package); the cluster tests start their own throwaway Redis."
        )
    })
}

/// A throwaway `redis-server` on a free loopback port: no persistence
/// (`--save "" --appendonly no`), its own temp dir, stopped on drop and by
/// the watchdog if the test process dies.
pub struct Redis {
    proc: Guarded,
    pub port: u16,
    /// `redis://127.0.0.1:PORT`, as Centrifugo's `engine.redis.address` wants it.
    pub url: String,
    _dir: TempDir,
}

impl Redis {
    /// Starts Redis and waits until it answers `PING` with `+PONG`.
    pub fn start() -> Redis {
        Self::start_watching(std::process::id())
    }

    /// Like [`Redis::start`], but the watchdog watches `parent` instead of
    /// the test process (to prove the watchdog).
    fn start_watching(parent: u32) -> Redis {
        let bin = redis_server_bin();
        let dir = temp_dir("cent-run-redis-");
        let port = harness::free_port();
        let args = [
            "--port".into(),
            port.to_string(),
            "--bind".into(),
            "127.0.0.1".into(),
            "--save".into(),
            String::new(),
            "--appendonly".into(),
            "no".into(),
            "--dir".into(),
            dir.path().display().to_string(),
            "--daemonize".into(),
            "no".into(),
        ];
        let proc = Guarded::spawn(format!("redis-server on port {port}"), dir.path(), port, parent, &bin, &args);
        let mut redis = Redis { proc, port, url: format!("redis://127.0.0.1:{port}"), _dir: dir };
        redis.proc.wait_until(READY_LIMIT, "PONG", || redis_ping(port));
        redis
    }

    /// Whether Redis answers a plain-TCP `PING` with `+PONG`.
    pub fn ping(&self) -> bool {
        redis_ping(self.port)
    }
}

fn redis_ping(port: u16) -> bool {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_secs(1)) else { return false };
    let mut answer = [0u8; 7];
    s.set_read_timeout(Some(Duration::from_secs(1))).is_ok()
        && s.write_all(b"PING\r\n").is_ok()
        && s.read_exact(&mut answer).is_ok()
        && &answer == b"+PONG\r\n"
}

/// `tests/centrifugo/config.json` with `overrides` merged in: objects key
/// by key, anything else replaced.
pub fn config_with(overrides: Value) -> Value {
    let path = harness::root().join("tests/centrifugo/config.json");
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let mut config: Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not valid JSON: {e}", path.display()));
    merge(&mut config, overrides);
    config
}

fn merge(base: &mut Value, over: Value) {
    match (base, over) {
        (Value::Object(base), Value::Object(over)) => {
            for (k, v) in over {
                merge(base.entry(k).or_insert(Value::Null), v);
            }
        }
        (base, over) => *base = over,
    }
}

/// Writes `config` into `dir` and starts Centrifugo with it under the
/// wrapper; does not wait for readiness.
fn spawn_centrifugo(what: String, dir: &Path, port: u16, config: &Value) -> Guarded {
    let bin = harness::centrifugo_bin();
    let path = dir.join("config.json");
    let text = serde_json::to_vec_pretty(config).unwrap_or_else(|e| panic!("{what}: cannot encode the config: {e}"));
    fs::write(&path, text).unwrap_or_else(|e| panic!("{what}: cannot write {}: {e}", path.display()));
    let args = ["--config".to_string(), path.display().to_string()];
    Guarded::spawn(what, dir, port, std::process::id(), &bin, &args)
}

/// POSTs `params` to `/api/{method}` on `port` (plain HTTP, `harness::raw_http`)
/// and returns the whole JSON reply; panics on transport or HTTP failure.
fn call_api(port: u16, method: &str, params: &Value) -> Value {
    let body = params.to_string();
    let (status, resp) =
        harness::raw_http(port, "POST", &format!("/api/{method}"), &[("X-API-Key", API_KEY)], body.as_bytes())
            .unwrap_or_else(|e| panic!("{method} to port {port}: {e}"));
    assert_eq!(status, 200, "{method} to port {port}: HTTP {status}: {}", String::from_utf8_lossy(&resp));
    serde_json::from_slice(&resp).unwrap_or_else(|e| panic!("{method} to port {port}: bad JSON ({e}): {resp:?}"))
}

/// The node names an `info` reply lists.
fn node_names(info: &Value) -> Vec<String> {
    info["result"]["nodes"]
        .as_array()
        .map(|nodes| nodes.iter().filter_map(|n| n["name"].as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

/// One Centrifugo node of a [`Cluster`], named `node-<i>`.
pub struct Node {
    proc: Guarded,
    pub name: String,
    pub port: u16,
    /// `http://127.0.0.1:PORT`: the API is at `{url}/api`.
    pub url: String,
    _dir: TempDir,
}

impl Node {
    /// The pid of the Centrifugo process itself (not its wrapper).
    pub fn pid(&self) -> u32 {
        self.proc.pid
    }

    /// Calls the server API on this node and returns the whole reply
    /// (`{"result": ...}` or `{"error": ...}`).
    pub fn call(&self, method: &str, params: Value) -> Value {
        call_api(self.port, method, &params)
    }

    /// Calls the server API on this node and returns `result`; panics on an
    /// API error.
    pub fn api(&self, method: &str, params: Value) -> Value {
        let reply = self.call(method, params);
        assert!(reply.get("error").is_none(), "{method} on {} failed: {reply}", self.name);
        reply["result"].clone()
    }

    /// A channel's whole history read through this node: every publication
    /// (`data`, `offset`, ...), oldest first.
    pub fn history(&self, channel: &str) -> Vec<Value> {
        let r = self.api("history", json!({"channel": channel, "limit": -1}));
        r["publications"].as_array().cloned().unwrap_or_default()
    }

    /// The names of the nodes this node's `info` lists.
    pub fn nodes_seen(&self) -> Vec<String> {
        node_names(&self.call("info", json!({})))
    }
}

/// One Redis and n Centrifugo nodes (same binary, each on its own free
/// port, `node.name` `node-<i>`) with the Redis engine, i.e. sharing history,
/// idempotency results and PUB/SUB. Nodes stop before Redis on drop.
pub struct Cluster {
    pub nodes: Vec<Node>,
    pub redis: Redis,
}

impl Cluster {
    /// Starts Redis and `n` nodes, waits until each answers `/health` and
    /// until every node's `info` lists all `n` nodes; panics (with the
    /// nodes' views and logs) if that takes longer than 20 s.
    pub fn start(n: usize) -> Cluster {
        assert!(n >= 1, "a cluster needs at least one node");
        let start = Instant::now();
        let redis = Redis::start();
        let redis_ready = start.elapsed();
        let mut nodes: Vec<Node> = (0..n)
            .map(|i| {
                let name = format!("node-{i}");
                let port = harness::free_port();
                let dir = temp_dir("cent-run-node-");
                let config = config_with(json!({
                    "http_server": {"port": port, "address": "127.0.0.1"},
                    "node": {"name": name},
                    "engine": {"type": "redis", "redis": {"address": [redis.url]}},
                }));
                let what = format!("centrifugo {name} on port {port} (Redis engine at {})", redis.url);
                let proc = spawn_centrifugo(what, dir.path(), port, &config);
                Node { proc, name, port, url: format!("http://127.0.0.1:{port}"), _dir: dir }
            })
            .collect();
        for node in &mut nodes {
            let port = node.port;
            node.proc.wait_until(READY_LIMIT, "/health", || {
                matches!(harness::raw_http(port, "GET", "/health", &[], b""), Ok((200, _)))
            });
        }
        let healthy = start.elapsed();
        let cluster = Cluster { nodes, redis };
        cluster.wait_formed(n);
        eprintln!(
            "cluster of {n}: redis ready {redis_ready:?}, nodes healthy {healthy:?}, formed {:?}",
            start.elapsed()
        );
        cluster
    }

    /// Waits until every node's `info` lists `n` nodes.
    fn wait_formed(&self, n: usize) {
        let start = Instant::now();
        loop {
            let views: Vec<(String, Vec<String>)> = self
                .nodes
                .iter()
                .map(|node| {
                    (format!("{} ({})", node.name, node.url), node_names(&call_api(node.port, "info", &json!({}))))
                })
                .collect();
            if views.iter().all(|(_, seen)| seen.len() == n) {
                return;
            }
            if start.elapsed() > FORMATION_LIMIT {
                let logs: String = self
                    .nodes
                    .iter()
                    .map(|node| format!("\n--- {} log:\n{}", node.name, node.proc.log_tail()))
                    .collect();
                panic!(
                    "cluster of {n} did not form within {FORMATION_LIMIT:?} (Redis at {}): each node's `info` lists \
                     {views:?}{logs}",
                    self.redis.url
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// SIGKILLs node `i`'s Centrifugo process (its wrapper then exits too),
    /// and returns once the process is gone and its port closed. The node
    /// stays in [`Cluster::nodes`] with its URL, now refusing connections.
    pub fn kill(&mut self, i: usize) {
        self.nodes[i].proc.kill_hard();
    }

    /// Pids of every process of the cluster (the nodes', then Redis's).
    pub fn pids(&self) -> Vec<u32> {
        self.nodes.iter().map(Node::pid).chain([self.redis.proc.pid]).collect()
    }
}

/// A failed curl run: its exit code (60: the certificate was not trusted)
/// and what it printed on stderr.
#[derive(Debug)]
pub struct CurlFailure {
    pub code: Option<i32>,
    pub stderr: String,
}

/// One HTTPS request with curl, trusting only `ca` (no proxy); `body` makes
/// it a POST with the API key. Returns the status and body, or the failure.
pub fn curl(url: &str, ca: &Path, body: Option<&Value>) -> Result<(u16, Vec<u8>), CurlFailure> {
    let mut cmd = Command::new("curl");
    cmd.args(["-sS", "--noproxy", "*", "--max-time", "10", "-w", "\n%{http_code}", "--cacert"]).arg(ca);
    if let Some(body) = body {
        cmd.args(["-X", "POST", "-H", &format!("X-API-Key: {API_KEY}"), "--data-binary", &body.to_string()]);
    }
    let out = cmd.arg(url).stdin(Stdio::null()).output().unwrap_or_else(|e| {
        panic!("cannot run curl ({e}); the TLS tests use it as their HTTPS client: apt-get install -y curl")
    });
    if !out.status.success() {
        return Err(CurlFailure { code: out.status.code(), stderr: String::from_utf8_lossy(&out.stderr).into_owned() });
    }
    let split = out.stdout.iter().rposition(|&b| b == b'\n').unwrap_or(0);
    let status = String::from_utf8_lossy(&out.stdout[split..]).trim().parse().unwrap_or(0);
    Ok((status, out.stdout[..split].to_vec()))
}

/// A Centrifugo serving HTTPS (API and `/health` on the same port) on a free
/// loopback port. Its certificate, for `127.0.0.1` and `localhost`, is signed
/// by a CA made for this server, whose PEM is at [`TlsServer::ca_path`];
/// [`TlsServer::untrusted_ca_path`] is another CA that signed nothing.
pub struct TlsServer {
    proc: Guarded,
    pub port: u16,
    /// `https://127.0.0.1:PORT`.
    pub url: String,
    /// PEM of the CA that signed the server certificate (for `--cacert`).
    pub ca_path: PathBuf,
    /// PEM of a CA that did not sign it (for "untrusted" tests).
    pub untrusted_ca_path: PathBuf,
    _dir: TempDir,
}

/// One Centrifugo with `tests/centrifugo/config.json` and `overrides`
/// merged in ([`config_with`]), on a free loopback port and answering
/// `/health`: for tests that need channel options the shared server's
/// configuration does not have. [`Configured::config`] is the file it runs
/// with.
pub struct Configured {
    _proc: Guarded,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// The configuration file the server was started with.
    pub config: PathBuf,
    _dir: TempDir,
}

impl Configured {
    pub fn start(overrides: Value) -> Configured {
        let dir = temp_dir("cent-run-configured-");
        let port = harness::free_port();
        let mut config = config_with(overrides);
        merge(&mut config, json!({"http_server": {"port": port, "address": "127.0.0.1"}}));
        let mut proc = spawn_centrifugo(format!("centrifugo on port {port}"), dir.path(), port, &config);
        proc.wait_until(READY_LIMIT, "/health", || {
            matches!(harness::raw_http(port, "GET", "/health", &[], b""), Ok((200, _)))
        });
        let config = dir.path().join("config.json");
        Configured { _proc: proc, url: format!("http://127.0.0.1:{port}"), config, _dir: dir }
    }
}

/// A self-signed CA certificate (PEM) and its issuer.
fn make_ca(name: &str) -> (String, rcgen::Issuer<'static, rcgen::KeyPair>) {
    let key = rcgen::KeyPair::generate().unwrap_or_else(|e| panic!("cannot generate a key for {name}: {e}"));
    let mut params = rcgen::CertificateParams::default();
    params.distinguished_name.push(rcgen::DnType::CommonName, name);
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params.key_usages = vec![rcgen::KeyUsagePurpose::KeyCertSign, rcgen::KeyUsagePurpose::CrlSign];
    let cert = params.self_signed(&key).unwrap_or_else(|e| panic!("cannot self-sign {name}: {e}"));
    (cert.pem(), rcgen::Issuer::new(params, key))
}

impl TlsServer {
    /// Makes the CAs and the server certificate, starts Centrifugo with
    /// `http_server.tls` and waits until `/health` answers over TLS
    /// (curl trusting [`TlsServer::ca_path`]).
    pub fn start() -> TlsServer {
        let dir = temp_dir("cent-run-tls-");
        let (ca_pem, ca) = make_ca("cent-run test CA");
        let (untrusted_pem, _) = make_ca("cent-run untrusted test CA");
        let key = rcgen::KeyPair::generate().unwrap_or_else(|e| panic!("cannot generate the server key: {e}"));
        let mut params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
            .unwrap_or_else(|e| panic!("bad subject alt names: {e}"));
        params.distinguished_name.push(rcgen::DnType::CommonName, "localhost");
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
        params.use_authority_key_identifier_extension = true;
        let cert = params.signed_by(&key, &ca).unwrap_or_else(|e| panic!("cannot sign the server certificate: {e}"));
        let write = |name: &str, text: &str| {
            let path = dir.path().join(name);
            fs::write(&path, text).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
            path
        };
        let ca_path = write("ca.pem", &ca_pem);
        let untrusted_ca_path = write("untrusted-ca.pem", &untrusted_pem);
        let cert_path = write("server.pem", &cert.pem());
        let key_path = write("server.key", &key.serialize_pem());

        let port = harness::free_port();
        let config = config_with(json!({
            "http_server": {
                "port": port,
                "address": "127.0.0.1",
                "tls": {"enabled": true, "cert_pem": cert_path, "key_pem": key_path},
            },
        }));
        let proc = spawn_centrifugo(format!("centrifugo with TLS on port {port}"), dir.path(), port, &config);
        let url = format!("https://127.0.0.1:{port}");
        let mut server = TlsServer { proc, port, url, ca_path, untrusted_ca_path, _dir: dir };
        let (health, ca) = (format!("{}/health", server.url), server.ca_path.clone());
        server.proc.wait_until(READY_LIMIT, "/health over TLS", || matches!(curl(&health, &ca, None), Ok((200, _))));
        server
    }

    /// Calls the server API over HTTPS (curl, trusting [`TlsServer::ca_path`])
    /// and returns `result`; panics on any failure.
    pub fn api(&self, method: &str, params: Value) -> Value {
        let (status, body) = curl(&format!("{}/api/{method}", self.url), &self.ca_path, Some(&params))
            .unwrap_or_else(|e| panic!("{method} over TLS: curl failed: {e:?}"));
        assert_eq!(status, 200, "{method} over TLS: HTTP {status}: {}", String::from_utf8_lossy(&body));
        let reply: Value = serde_json::from_slice(&body)
            .unwrap_or_else(|e| panic!("{method} over TLS: bad JSON ({e}): {}", String::from_utf8_lossy(&body)));
        assert!(reply.get("error").is_none(), "{method} over TLS failed: {reply}");
        reply["result"].clone()
    }
}

#[test]
fn nodes_list_each_other() {
    let cluster = Cluster::start(2);
    let mut seen = cluster.nodes[0].nodes_seen();
    seen.sort();
    assert_eq!(seen, ["node-0", "node-1"], "info through node A");
    let mut seen = cluster.nodes[1].nodes_seen();
    seen.sort();
    assert_eq!(seen, ["node-0", "node-1"], "info through node B");
    assert!(cluster.redis.ping());
}

#[test]
fn idempotency_keys_hold_across_nodes_with_redis() {
    let cluster = Cluster::start(2);
    let (a, b) = (&cluster.nodes[0], &cluster.nodes[1]);
    let ch = harness::channel("idem");
    let key = format!("k-{ch}");
    let publish = json!({"channel": ch, "data": {"n": 1}, "idempotency_key": key});

    let first = a.api("publish", publish.clone());
    let again = b.api("publish", publish);
    eprintln!("same key via {} then {}: {first} / {again}", a.name, b.name);
    assert_eq!(first["offset"], 1, "the first publish into a fresh stream: {first}");
    assert_eq!(again, first, "the second node must answer the first publish's offset and epoch");
    for node in &cluster.nodes {
        let pubs = node.history(&ch);
        assert_eq!(pubs.len(), 1, "history via {} must hold ONE publication: {pubs:?}", node.name);
        assert_eq!(pubs[0]["data"], json!({"n": 1}));
        assert_eq!(pubs[0]["offset"], 1);
    }

    let other = b.api("publish", json!({"channel": ch, "data": {"n": 1}, "idempotency_key": format!("{key}-2")}));
    assert_eq!(other["offset"], 2, "a different key makes a second publication: {other}");
    assert_eq!(other["epoch"], first["epoch"]);
    for node in &cluster.nodes {
        let offsets: Vec<Value> = node.history(&ch).iter().map(|p| p["offset"].clone()).collect();
        assert_eq!(offsets, [json!(1), json!(2)], "history via {}", node.name);
    }
}

#[test]
fn killing_a_node_leaves_the_other_serving() {
    let mut cluster = Cluster::start(2);
    let ch = harness::channel("failover");
    for n in 0..3 {
        cluster.nodes[0].api("publish", json!({"channel": ch, "data": {"n": n}}));
    }
    let killed_pid = cluster.nodes[0].pid();
    let killed_at = Instant::now();
    cluster.kill(0);
    assert!(!alive(killed_pid), "node-0's centrifugo (pid {killed_pid}) must be gone");
    assert!(
        harness::raw_http(cluster.nodes[0].port, "GET", "/health", &[], b"").is_err(),
        "node-0 must refuse connections"
    );

    let survivor = &cluster.nodes[1];
    let r = survivor.api("publish", json!({"channel": ch, "data": {"n": 3}}));
    assert_eq!(r["offset"], 4, "node-1 continues the same stream: {r}");
    let data: Vec<Value> = survivor.history(&ch).into_iter().map(|p| p["data"].clone()).collect();
    assert_eq!(data, (0..4).map(|n| json!({"n": n})).collect::<Vec<_>>(), "history via node-1");

    // How long the survivor keeps listing the dead node (later failover
    // tests must not expect `info` to drop it at once).
    let start = Instant::now();
    while survivor.nodes_seen().len() != 1 {
        assert!(start.elapsed() < Duration::from_secs(30), "node-1 still lists node-0 after 30 s");
        std::thread::sleep(Duration::from_millis(250));
    }
    eprintln!("node-1 stopped listing the killed node-0 {:?} after the kill", killed_at.elapsed());

    let pids = cluster.pids();
    drop(cluster);
    for pid in pids {
        assert!(!alive(pid), "pid {pid} outlived its cluster");
    }
}

#[test]
fn watchdog_stops_redis_when_the_test_process_dies() {
    /// A stand-in test process, SIGKILLed when dropped (also if the test panics).
    struct FakeParent(Child);
    impl Drop for FakeParent {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let fake_parent = FakeParent(
        Command::new("sleep")
            .arg("600")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start sleep as a stand-in test process"),
    );
    let redis = Redis::start_watching(fake_parent.0.id());
    assert!(redis.ping());
    let pid = redis.proc.pid;
    drop(fake_parent);
    let start = Instant::now();
    while alive(pid) {
        assert!(start.elapsed() < Duration::from_secs(5), "redis (pid {pid}) outlived its dead parent by 5 s");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(!redis.ping(), "nothing answers on port {} any more", redis.port);
}

#[test]
fn tls_server_answers_with_the_test_ca_and_not_without() {
    let server = TlsServer::start();
    let (status, body) = curl(&format!("{}/health", server.url), &server.ca_path, None).expect("trusted CA");
    assert_eq!((status, body.as_slice()), (200, &b"{}"[..]));
    let localhost = format!("https://localhost:{}/health", server.port);
    assert!(matches!(curl(&localhost, &server.ca_path, None), Ok((200, _))), "the certificate covers localhost too");

    let failure = curl(&format!("{}/health", server.url), &server.untrusted_ca_path, None)
        .expect_err("a CA that did not sign the certificate must not be trusted");
    eprintln!("untrusted CA: curl exit {:?}: {}", failure.code, failure.stderr.trim());
    assert_eq!(failure.code, Some(60), "curl's 'peer certificate cannot be authenticated': {failure:?}");
    assert!(failure.stderr.contains("certificate"), "{failure:?}");

    // Plain HTTP to the TLS port is refused by Go's TLS server with HTTP 400.
    let (status, body) = harness::raw_http(server.port, "GET", "/health", &[], b"").expect("plain HTTP gets an answer");
    eprintln!("plain HTTP to the TLS port: {status} {}", String::from_utf8_lossy(&body).trim());
    assert_eq!(status, 400);

    // The server API is served over TLS on the same port.
    let ch = harness::channel("tls");
    let r = server.api("publish", json!({"channel": ch, "data": {"over": "tls"}}));
    assert_eq!(r["offset"], 1, "{r}");
    let h = server.api("history", json!({"channel": ch, "limit": -1}));
    assert_eq!(h["publications"][0]["data"], json!({"over": "tls"}));
}

/// The same certificate through reqwest + rustls, the TLS stack cent-run's
/// `--cacert` uses (`add_root_certificate`), independent of cent-run's code.
#[test]
fn rustls_trusts_the_test_ca_and_not_the_other() {
    let server = TlsServer::start();
    let get = |ca: &Path| -> Result<u16, String> {
        let pem = fs::read(ca).map_err(|e| format!("read {}: {e}", ca.display()))?;
        let cert = reqwest::Certificate::from_pem(&pem).map_err(|e| format!("CA PEM: {e}"))?;
        let client = reqwest::Client::builder()
            .add_root_certificate(cert)
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| format!("client: {e}"))?;
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
        rt.block_on(async {
            let resp = client.get(format!("{}/health", server.url)).send().await;
            // The Debug form carries the whole source chain (rustls's reason).
            resp.map(|r| r.status().as_u16()).map_err(|e| format!("{e:?}"))
        })
    };
    assert_eq!(get(&server.ca_path), Ok(200), "rustls with the signing CA");
    let err = get(&server.untrusted_ca_path).expect_err("rustls must reject a certificate from another CA");
    eprintln!("rustls with the other CA: {err}");
    assert!(err.contains("InvalidCertificate(UnknownIssuer)"), "{err}");
}
