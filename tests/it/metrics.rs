//! The metrics file over time, as a collector and an alert see it: the
//! last success carried over through an invalid run (whose page and
//! metrics still say exit 2) and a failed one, the file replaced whole each
//! time; and the cron example (`examples/cron/announce.sh`) run as written,
//! leaving its page and metrics where the node exporter reads them.

use std::process::Command;
use std::time::Duration;

use serde_json::json;

use crate::harness::{self, API_KEY, cent_run, manifest, root};
use crate::operators::{assert_metrics_are_the_report, browse, metrics, now_unix, read_json, sample};

#[test]
fn an_invalid_manifest_gets_its_page_and_metrics_and_the_last_success_carries_over() {
    let server = harness::shared();
    let ch = harness::channel("carry");
    let (dir, path) = manifest(&format!("commands:\n  - publish: {{channel: {ch}, data: 1}}\n"));
    let (html, json_path, prom) = (dir.path().join("r.html"), dir.path().join("r.json"), dir.path().join("m.prom"));
    let run = |extra: &[&str]| {
        cent_run()
            .arg(&path)
            .args(["--url", &server.url, "--api-key", API_KEY, "--metrics-name", "nightly"])
            .args(extra)
            .arg("--report-html")
            .arg(&html)
            .arg("--report-json")
            .arg(&json_path)
            .arg("--metrics-file")
            .arg(&prom)
            .output()
            .unwrap()
    };
    let before = now_unix();
    assert_eq!(run(&[]).status.code(), Some(0));
    let first = metrics(&prom);
    let success = sample(&first, "cent_run_last_success_timestamp_seconds", None);
    assert_eq!(success, sample(&first, "cent_run_last_run_timestamp_seconds", None), "this run succeeded");
    assert!(success >= before.floor() && success <= now_unix() + 1.0, "{success}");
    assert_metrics_are_the_report(&first, &read_json(&json_path), &path.display().to_string(), "nightly", &[]);

    // Two problems, each located.
    let bad = "commands:\n  - publsh: {channel: news, data: 1}\n  - publish: {data: 2}\n";
    std::fs::write(&path, bad).unwrap();
    std::thread::sleep(Duration::from_millis(20));
    let out = run(&[]);
    assert_eq!(out.status.code(), Some(2));
    let r = read_json(&json_path);
    let samples = metrics(&prom);
    assert_metrics_are_the_report(&samples, &r, &path.display().to_string(), "nightly", &[]);
    assert_eq!(sample(&samples, "cent_run_exit_code", None), 2.0);
    assert_eq!(sample(&samples, "cent_run_last_success_timestamp_seconds", None), success, "carried over");
    assert!(sample(&samples, "cent_run_last_run_timestamp_seconds", None) > success);
    let page = browse(&html, None);
    assert_eq!(page["exit_code"], 2);
    assert_eq!(page["summary"], json!({"total": 0, "ok": 0, "failed": 0, "unknown": 0, "skipped": 0}));
    let problems = page["problems"].as_array().unwrap();
    let listed = r["problems"].as_array().unwrap();
    assert_eq!(problems.len(), listed.len());
    assert_eq!(listed.len(), 2, "{r}");
    for (p, j) in problems.iter().zip(listed) {
        assert_eq!(p["where"], format!("{}:{}:{}", j["file"].as_str().unwrap(), j["line"], j["column"]));
        assert_eq!(p["message"], j["message"]);
        let line = bad.lines().nth(j["line"].as_u64().unwrap() as usize - 1).unwrap();
        assert!(p["hit"].as_str().unwrap().ends_with(line), "{p}");
    }
    assert!(page["title"].as_str().unwrap().starts_with("cent-run: exit 2"));
    assert!(page["timeline"].is_null() && page["rows"] == 0, "nothing ran");

    // A later failed run keeps carrying it; the files were replaced whole.
    std::fs::write(&path, "commands:\n  - publish: {channel: \"unknownns:x\", data: 1}\n").unwrap();
    assert_eq!(run(&[]).status.code(), Some(1));
    let samples = metrics(&prom);
    assert_eq!(sample(&samples, "cent_run_last_success_timestamp_seconds", None), success);
    assert_eq!(sample(&samples, "cent_run_exit_code", None), 1.0);
    let mut names: Vec<String> =
        std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    assert_eq!(names, ["m.prom", "m.yaml", "r.html", "r.json"], "no temporary file left");
}

#[test]
fn the_cron_example_leaves_a_page_and_metrics_for_the_collector() {
    let server = harness::shared();
    let tmp = tempfile::tempdir().unwrap();
    let (config, state, collector) = (tmp.path().join("etc"), tmp.path().join("state"), tmp.path().join("textfile"));
    std::fs::create_dir(&config).unwrap();
    std::fs::copy(root().join("examples/cron/announce.yaml"), config.join("announce.yaml")).unwrap();
    std::fs::write(config.join("api-key"), format!("{API_KEY}\n")).unwrap();
    let bin_dir = assert_cmd::cargo::cargo_bin("cent-run").parent().unwrap().to_owned();
    // As the crontab runs it: the morning part of the announcements.
    let cron = || {
        Command::new("bash")
            .arg(root().join("examples/cron/announce.sh"))
            .args(["announce", "--tags", "morning"])
            .env("PATH", format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap_or_default()))
            .env("CONFIG_DIR", &config)
            .env("STATE_DIR", &state)
            .env("METRICS_DIR", &collector)
            .env("CENTRIFUGO_URL", &server.url)
            .env_remove("CENTRIFUGO_API_KEY")
            .output()
            .unwrap()
    };
    let before = now_unix();
    let out = cron();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stdout.is_empty(), "quiet when all is ok");
    let prom = collector.join("cent-run-announce.prom");
    let samples = metrics(&prom);
    let manifest = config.join("announce.yaml").display().to_string();
    assert!(samples.iter().all(|s| s["labels"]["name"] == "announce" && s["labels"]["manifest"] == manifest.as_str()));
    let success = sample(&samples, "cent_run_last_success_timestamp_seconds", None);
    assert!(success >= before.floor(), "{success} {before}");
    assert_eq!(sample(&samples, "cent_run_commands", Some("ok")), 1.0);
    let day = std::fs::read_dir(&state)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .find_map(|n| n.strip_prefix("announce-").and_then(|n| n.strip_suffix(".html")).map(str::to_owned))
        .expect("the page beside the JSON report");
    let page = browse(&state.join(format!("announce-{day}.html")), None);
    assert_eq!(page["exit_code"], 0);
    assert_eq!(page["summary"]["ok"], 1);
    // The key turned wrong and the state gone: the server refuses, the
    // alert's clock keeps running from the last success.
    std::fs::write(config.join("api-key"), "wrong-key\n").unwrap();
    std::fs::remove_file(state.join(format!("announce-{day}.state"))).unwrap();
    let out = cron();
    assert_ne!(out.status.code(), Some(0));
    let samples = metrics(&prom);
    assert_eq!(sample(&samples, "cent_run_last_success_timestamp_seconds", None), success);
    assert_eq!(sample(&samples, "cent_run_exit_code", None), f64::from(out.status.code().unwrap()));
    assert!(!harness::read(&prom).contains("wrong-key"));
}
