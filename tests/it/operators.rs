//! Where operators look: the HTML report opened in a real browser and the
//! Prometheus metrics file read by Prometheus' own parser — both written by
//! real runs on the real Centrifugo (a shared server; a two-node Redis
//! cluster with a node SIGKILLed mid-run), both compared with the JSON
//! report of the same run. (More on the metrics: `metrics.rs`; the
//! pre-commit hook: `precommit.rs`.)
//!
//! The browser is Debian's Chromium (`scripts/install-chromium.sh`), headless,
//! driven by Playwright for Python (`tests/py/html_report.py`): every
//! request other than the report file itself is refused and fails the test;
//! so does a console error. `tests/py/metrics.py` parses the metrics with
//! `prometheus_client`. Set `CENT_RUN_SCREENSHOT=PATH` to keep the
//! screenshot of the cluster run's page (`docs/report-html.png` is one).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use crate::cluster::Cluster;
use crate::harness::{self, API_KEY, cent_run, manifest, root};

const PLANTED: &str = "planted-s3cret-7f3a9c";

pub fn python() -> PathBuf {
    let py = root().join(".tools/venv/bin/python");
    assert!(py.exists(), "the Python tools are missing: run scripts/setup-python.sh");
    py
}

/// What a person sees of the page in Chromium; fails on a console error, an
/// uncaught exception or any request but the file's.
pub fn browse(html: &Path, shot: Option<&Path>) -> Value {
    assert!(Path::new("/usr/bin/chromium").exists(), "Chromium is missing: run scripts/install-chromium.sh");
    let out = Command::new(python())
        .arg(root().join("tests/py/html_report.py"))
        .arg(html)
        .args(shot)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "html_report.py: {}", String::from_utf8_lossy(&out.stderr));
    let page: Value = serde_json::from_slice(&out.stdout).unwrap();
    let url = format!("file://{}", html.canonicalize().unwrap().display());
    assert_eq!(page["requests"], json!([url]), "the page fetched only itself");
    assert_eq!(page["refused"], json!([]), "nothing was fetched from the network");
    assert_eq!(page["page_errors"], json!([]));
    let noisy: Vec<&Value> =
        page["console"].as_array().unwrap().iter().filter(|m| m["type"] == "error" || m["type"] == "warning").collect();
    assert!(noisy.is_empty(), "console: {noisy:?}");
    page
}

/// The metrics file as Prometheus' parser reads it.
pub fn metrics(path: &Path) -> Vec<Value> {
    let out = Command::new(python()).arg(root().join("tests/py/metrics.py")).arg(path).output().unwrap();
    assert!(out.status.success(), "metrics.py: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice::<Value>(&out.stdout).unwrap().as_array().unwrap().clone()
}

pub fn sample(samples: &[Value], name: &str, status: Option<&str>) -> f64 {
    let found: Vec<&Value> =
        samples.iter().filter(|s| s["name"] == name && status.is_none_or(|st| s["labels"]["status"] == st)).collect();
    assert_eq!(found.len(), 1, "{name} {status:?} in {samples:?}");
    found[0]["value"].as_f64().unwrap()
}

/// Indices of the JSON report's commands with this status.
pub fn with_status(r: &Value, status: &str) -> Vec<u64> {
    commands(r).iter().filter(|c| c["status"] == status).map(|c| c["index"].as_u64().unwrap()).collect()
}

pub fn commands(r: &Value) -> &Vec<Value> {
    r["commands"].as_array().unwrap()
}

pub fn read_json(path: &Path) -> Value {
    serde_json::from_str(&harness::read(path)).unwrap()
}

/// The page says what the JSON report says: exit code, counts, and each
/// status filter shows exactly the commands of that status (a page that
/// lists every command).
pub fn assert_page_is_the_report(page: &Value, r: &Value) {
    assert_eq!(page["exit_code"], r["exit"]["code"]);
    assert_eq!(page["exit_meaning"], r["exit"]["meaning"]);
    assert_eq!(page["summary"], r["summary"]);
    if page["left_out"].is_null() {
        for status in ["ok", "failed", "unknown", "skipped"] {
            assert_eq!(page["filters"][status], json!(with_status(r, status)), "filter {status}");
        }
        assert_eq!(page["filters"]["all"].as_array().unwrap().len(), commands(r).len());
    }
}

/// The metrics equal the JSON report's numbers; `until` lists the commands
/// whose repeats are not retries.
pub fn assert_metrics_are_the_report(samples: &[Value], r: &Value, manifest: &str, name: &str, until: &[u64]) {
    for s in samples {
        assert_eq!(s["type"], "gauge");
        assert_eq!((s["labels"]["manifest"].as_str(), s["labels"]["name"].as_str()), (Some(manifest), Some(name)));
    }
    for status in ["ok", "failed", "unknown", "skipped"] {
        assert_eq!(sample(samples, "cent_run_commands", Some(status)), r["summary"][status].as_f64().unwrap());
    }
    let checks_failed =
        commands(r).iter().flat_map(|c| c["checks"].as_array().unwrap()).filter(|k| k["ok"] == false).count();
    assert_eq!(sample(samples, "cent_run_checks_failed", None), checks_failed as f64);
    let retries: u64 = commands(r)
        .iter()
        .filter(|c| !until.contains(&c["index"].as_u64().unwrap()))
        .map(|c| c["attempts"].as_u64().unwrap().saturating_sub(1))
        .sum();
    assert_eq!(sample(samples, "cent_run_retries", None), retries as f64);
    let failures: usize = r["nodes"].as_array().unwrap().iter().map(|n| n["failures"].as_array().unwrap().len()).sum();
    assert_eq!(sample(samples, "cent_run_node_failures", None), failures as f64);
    assert_eq!(sample(samples, "cent_run_exit_code", None), r["exit"]["code"].as_f64().unwrap());
    let took = sample(samples, "cent_run_duration_seconds", None);
    assert!((took - r["duration_ms"].as_f64().unwrap() / 1000.0).abs() < 0.002, "{took} vs {}", r["duration_ms"]);
}

pub fn now_unix() -> f64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs_f64()
}

const MIXED: &str = "commands:
  - publish: {channel: CH, data: {n: 1}}
  # the deploy token is PLANTED
  - name: rejected
    publish: {channel: \"unknownns:x\", data: {n: 2}}
  - wait: 200ms
  - history: {channel: CH, limit: 1}
    expect: {publications: {len: 5}}
  - presence_stats: {channel: CH}
    expect: {num_clients: 1}
    until: {every: 100ms, timeout: 400ms}
  - name: \"send ${item}\"
    publish: {channel: CH, data: {i: \"${item}\"}}
    for_each: [\"a\", \"b\", \"<script>alert(1)</script>\"]
";

#[test]
fn the_page_of_a_mixed_run_shows_what_the_json_report_says_and_no_secret() {
    let server = harness::shared();
    let text = MIXED.replace("CH", &harness::channel("html")).replace("PLANTED", PLANTED);
    let (dir, path) = manifest(&text);
    let (html, json_path, prom) = (dir.path().join("r.html"), dir.path().join("r.json"), dir.path().join("m.prom"));
    let out = cent_run()
        .arg(&path)
        .args(["--url", &server.url, "--api-key", API_KEY, "--secret-var", &format!("deploy_token={PLANTED}")])
        .arg("--report-html")
        .arg(&html)
        .arg("--report-json")
        .arg(&json_path)
        .arg("--metrics-file")
        .arg(&prom)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let r = read_json(&json_path);
    let page = browse(&html, Some(&dir.path().join("shot.png")));
    assert_page_is_the_report(&page, &r);
    assert_eq!(page["summary"], json!({"total": 8, "ok": 5, "failed": 3, "unknown": 0, "skipped": 0}));
    assert_eq!(page["filters"]["failed"], json!([1, 3, 4]));
    // One located problem per cause, at the command (a refusal) or at the
    // check that did not hold, its line marked in the snippet.
    let lines: Vec<&str> = text.lines().collect();
    let problems = page["problems"].as_array().unwrap();
    assert_eq!(problems.len(), r["causes"].as_array().unwrap().len());
    let file = path.display().to_string();
    for (p, (line, col)) in problems.iter().zip([(4, 5), (8, 14), (10, 14)]) {
        assert_eq!(p["where"], format!("{file}:{line}:{col}"), "{p}");
        assert!(p["hit"].as_str().unwrap().ends_with(lines[line - 1].trim_end()), "{p}");
        assert!(p["pointer"].as_str().unwrap().contains('^'), "{p}");
    }
    let check_lines: Vec<u64> = commands(&r)
        .iter()
        .flat_map(|c| c["checks"].as_array().unwrap())
        .filter(|k| k["ok"] == false)
        .map(|k| k["line"].as_u64().unwrap())
        .collect();
    assert_eq!(check_lines, [8, 10], "the JSON report places the failed checks there too");
    assert_eq!(problems[1]["checks"], json!(["failed"]));
    // The timeline: the server's lane and the wait's (no request), the steps marked.
    let t = &page["timeline"];
    let served = commands(&r).iter().filter(|c| c["node"] == server.url.as_str()).count();
    assert_eq!(t["lanes"][0]["node"], server.url.as_str());
    assert_eq!(t["lanes"][0]["commands"], served);
    assert_eq!(t["lanes"][1]["node"], "");
    assert_eq!(t["lanes"][1]["commands"], 8 - served);
    assert_eq!(t["lanes"].as_array().unwrap().len(), 2);
    let marks: Vec<(&str, u64)> = t["marks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["kind"].as_str().unwrap(), m["index"].as_u64().unwrap()))
        .collect();
    assert_eq!(marks, [("wait", 2), ("until", 4)]);
    assert!(t["marks"][0]["width"].as_f64().unwrap() > 10.0, "the 200 ms wait is drawn as a span: {t}");
    // Escaped, not run: the item is shown as text, the only script is the filter.
    assert!(page["body"].as_str().unwrap().contains("send <script>alert(1)</script>"));
    let raw = harness::read(&html);
    assert_eq!(raw.matches("<script>").count(), 1);
    // Secrets: masked in place in the snippet, nowhere in the page or the metrics.
    assert!(raw.contains(&format!("# the deploy token is {}", "*".repeat(PLANTED.len()))), "masked in the snippet");
    for secret in [PLANTED, API_KEY] {
        assert!(!raw.contains(secret), "{secret} in the page");
        assert!(!harness::read(&prom).contains(secret), "{secret} in the metrics");
    }
    let samples = metrics(&prom);
    assert_metrics_are_the_report(&samples, &r, &file, "m", &[4]);
    assert_eq!(sample(&samples, "cent_run_last_success_timestamp_seconds", None), 0.0, "never succeeded");
}

#[test]
fn the_page_of_a_large_run_lists_only_what_is_not_ok_and_opens_at_once() {
    let server = harness::shared();
    let ch = harness::channel("big");
    let n = 10_000;
    let items: String = (0..n).map(|i| format!("{i}\n")).collect();
    let (dir, path) = manifest(&format!(
        "commands:\n  - publish: {{channel: \"unknownns:a\", data: 1}}\n  - publish: {{channel: {ch}, data: {{i: \"${{item}}\"}}}}\n    for_each: {{file: items.txt}}\n  - publish: {{channel: \"unknownns:b\", data: 2}}\n"
    ));
    std::fs::write(dir.path().join("items.txt"), items).unwrap();
    let (html, json_path) = (dir.path().join("r.html"), dir.path().join("r.json"));
    let out = cent_run()
        .arg(&path)
        .args(["--url", &server.url, "--api-key", API_KEY, "--batch-size", "500", "-q", "--report-html"])
        .arg(&html)
        .arg("--report-json")
        .arg(&json_path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let r = read_json(&json_path);
    let page = browse(&html, None);
    assert_page_is_the_report(&page, &r);
    let left_out = page["left_out"].as_str().expect("the page says what it left out");
    assert!(
        left_out.contains("10,002 commands") && left_out.contains("leaves out the 10,000 ok commands"),
        "{left_out}"
    );
    assert!(left_out.contains("--report-json FILE"), "{left_out}");
    assert_eq!(page["rows"], 2);
    assert_eq!(page["filters"]["failed"], json!([0, 10_001]));
    assert_eq!(json!(with_status(&r, "failed")), json!([0, 10_001]));
    assert_eq!(page["filters"]["ok"], json!([]), "ok commands are counted, not listed");
    assert_eq!(page["timeline"]["lanes"][0]["commands"], 10_002);
    let size = std::fs::metadata(&html).unwrap().len();
    assert!(size < 100_000, "a small page: {size} bytes");
    let opened = page["load_event_ms"].as_u64().unwrap();
    assert!(opened < 3_000, "opens at once: {opened} ms");
    eprintln!("{n}-command run: page {size} bytes, loaded in {opened} ms");
}

#[test]
fn a_node_killed_mid_run_shows_as_a_failover_with_retries_on_the_timeline() {
    let mut cluster = Cluster::start(2);
    let prefix = harness::channel("html-failover");
    let (n, channels) = (20_000, 20);
    let mut text = String::from(
        "commands:\n  - wait: 200ms\n  - name: announce\n    publish: {channel: \"unknownns:release\", data: {v: 1}}\n",
    );
    for i in 0..n {
        text.push_str(&format!("  - publish: {{channel: \"{prefix}-{}\", data: {{i: {i}}}}}\n", i % channels));
    }
    text.push_str(&format!(
        "  - name: somebody listens\n    presence_stats: {{channel: \"{prefix}-0\"}}\n    expect: {{num_clients: 1}}\n    until: {{every: 200ms, timeout: 1s}}\n"
    ));
    let (dir, path) = manifest(&text);
    let (html, json_path, prom) = (dir.path().join("r.html"), dir.path().join("r.json"), dir.path().join("m.prom"));
    let child = Command::new(assert_cmd::cargo::cargo_bin("cent-run"))
        .arg(&path)
        .args(["--url", &cluster.nodes[0].url, "--url", &cluster.nodes[1].url, "--api-key", API_KEY])
        .args(["--rate", "10000", "--retries", "5", "--timeout", "2s", "--metrics-name", "release", "--report-html"])
        .arg(&html)
        .arg("--report-json")
        .arg(&json_path)
        .arg("--metrics-file")
        .arg(&prom)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1100));
    cluster.kill(0);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let r = read_json(&json_path);
    assert_eq!(r["summary"]["ok"], n + 1, "every publish and the wait");
    let shot = dir.path().join("shot.png");
    let page = browse(&html, Some(&shot));
    assert_page_is_the_report(&page, &r);
    assert!(std::fs::metadata(&shot).unwrap().len() > 10_000, "a screenshot was taken");
    if let Some(keep) = std::env::var_os("CENT_RUN_SCREENSHOT") {
        std::fs::copy(&shot, keep).unwrap();
    }
    // A lane per node, each with the commands the JSON report gives it.
    let lanes = page["timeline"]["lanes"].as_array().unwrap();
    for node in &cluster.nodes {
        let lane = lanes.iter().find(|l| l["node"] == node.url.as_str()).unwrap_or_else(|| panic!("{lanes:?}"));
        let answered = commands(&r).iter().filter(|c| c["node"] == node.url.as_str()).count();
        assert_eq!(lane["commands"], answered, "{}", node.url);
    }
    assert_eq!(lanes.iter().filter(|l| l["node"].as_str().unwrap().starts_with("http")).count(), 2);
    // The killed node: its failures drawn where the JSON report has them,
    // and the requests it failed counted as retried on its lane.
    let failed_urls: Vec<Value> = r["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|n| n["failures"].as_array().unwrap().iter().map(move |_| n["url"].clone()))
        .collect();
    assert!(!failed_urls.is_empty());
    assert!(failed_urls.iter().all(|u| u == cluster.nodes[0].url.as_str()), "{failed_urls:?}");
    assert_eq!(page["timeline"]["failovers"], json!(failed_urls));
    let killed = lanes.iter().find(|l| l["node"] == cluster.nodes[0].url.as_str()).unwrap();
    assert!(killed["retried"].as_u64().unwrap() >= 1, "{killed}");
    let marks: Vec<&str> =
        page["timeline"]["marks"].as_array().unwrap().iter().map(|m| m["kind"].as_str().unwrap()).collect();
    assert_eq!(marks, ["wait", "until"]);
    // A large run: only what is not ok is listed, with its cause located.
    assert_eq!(page["filters"]["failed"], json!([1, n + 2]));
    let wheres: Vec<&str> = page["problems"].as_array().unwrap().iter().map(|p| p["where"].as_str().unwrap()).collect();
    let file = path.display().to_string();
    assert_eq!(wheres, [format!("{file}:3:5"), format!("{file}:{}:14", n + 7)]);
    let samples = metrics(&prom);
    assert_metrics_are_the_report(&samples, &r, &file, "release", &[n as u64 + 2]);
    assert!(sample(&samples, "cent_run_node_failures", None) >= 1.0);
    assert!(sample(&samples, "cent_run_retries", None) >= 1.0, "the kill made re-sends");
}
