//! Reports against the real server: the JSON and JUnit reports say what the
//! server holds (statuses, codes, lines); JUnit parses with an independent
//! reader (junitparser); GitHub annotations and step summary; the table in
//! deterministic mode matches its golden file.

use serde_json::{Value, json};

use crate::harness::{self, API_KEY, Server, cent_run, manifest, root};

const MIXED: &str = "# Grüße: a mixed run
commands:
  - publish: {channel: CH, data: {n: 1}}
  - name: rejected
    publish: {channel: \"unknownns:x\", data: {n: 2}}
  - name: half broadcast
    broadcast:
      channels: [CH, \"unknownns:y\"]
      data: {n: 3}
  - history: {channel: CH, limit: -1}
  - presence_stats: {channel: \"nohist:z\"}
";

#[test]
fn json_and_junit_reports_match_what_the_server_holds() {
    let server = harness::shared();
    let ch = harness::channel("rep");
    let (dir, path) = manifest(&MIXED.replace("CH", &ch));
    let (json_path, junit) = (dir.path().join("r.json"), dir.path().join("r.xml"));
    let out = cent_run()
        .arg(&path)
        .args(["--url", &server.url, "--api-key", API_KEY, "--report-json"])
        .arg(&json_path)
        .arg("--report-junit")
        .arg(&junit)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = harness::read(&json_path);
    let r: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(r["summary"], json!({"total": 5, "ok": 2, "failed": 3, "unknown": 0, "skipped": 0}));
    let c = r["commands"].as_array().unwrap();
    // One command per line, each line a whole command object.
    let rows: Vec<&str> = text.lines().collect();
    assert_eq!(rows.len(), 5 + 2, "{text}");
    for (row, cmd) in rows[1..6].iter().zip(c) {
        assert_eq!(serde_json::from_str::<Value>(row.trim_end_matches(',')).unwrap(), *cmd);
    }
    let lines: Vec<u64> = c.iter().map(|c| c["line"].as_u64().unwrap()).collect();
    assert_eq!(lines, [3, 4, 6, 10, 11]);
    assert!(c.iter().all(|c| c["manifest"] == path.display().to_string()));
    assert_eq!(c[1]["name"], "rejected");
    assert_eq!(c[1]["error"], json!({"code": 102, "message": "unknown channel"}));
    assert_eq!(c[2]["status"], "failed");
    assert_eq!(c[2]["target"], json!({"channels": [ch, "unknownns:y"]}));
    assert_eq!(c[1]["target"], json!({"channel": "unknownns:x"}));
    assert_eq!((c[1]["status"].as_str(), c[1]["reason"].as_str()), (Some("failed"), Some("refused")));
    assert_eq!(r["version"], 2);
    assert_eq!(r["exit"]["code"], 1);
    assert_eq!(r["causes"].as_array().unwrap().len(), 3, "{text}");
    assert_eq!(c[2]["channels"][0]["status"], "ok");
    assert_eq!(c[2]["channels"][1]["error"]["code"], 102);
    assert_eq!(c[4]["error"]["code"], 108);
    // The history the report carries is what the server holds.
    let held = server.api("history", json!({"channel": ch, "limit": -1}));
    assert_eq!(c[3]["result"]["publications"], held["publications"]);
    assert_eq!(server.history(&ch), vec![json!({"n": 1}), json!({"n": 3})]);

    let py = root().join(".tools/venv/bin/python");
    assert!(py.exists(), "junitparser missing: run scripts/setup-python.sh");
    let parsed = std::process::Command::new(py)
        .arg("-c")
        .arg(
            "import sys, json; from junitparser import JUnitXml, Failure, Skipped, Error
x = JUnitXml.fromfile(sys.argv[1])
out = []
for s in x:
    for c in s:
        kinds = [type(r).__name__ for r in c.result]
        out.append({'suite': s.name, 'name': c.name, 'classname': c.classname, 'kinds': kinds})
print(json.dumps(out))",
        )
        .arg(&junit)
        .output()
        .unwrap();
    assert!(parsed.status.success(), "{}", String::from_utf8_lossy(&parsed.stderr));
    let cases: Value = serde_json::from_slice(&parsed.stdout).unwrap();
    let cases = cases.as_array().unwrap();
    assert_eq!(cases.len(), 5);
    let kinds: Vec<&Value> = cases.iter().map(|c| &c["kinds"]).collect();
    assert_eq!(kinds, [&json!([]), &json!(["Failure"]), &json!(["Failure"]), &json!([]), &json!(["Failure"])]);
    // Named stably: the command's name, else its method and target; the place in `file`/`line`.
    assert_eq!(cases[1]["classname"], path.display().to_string());
    assert_eq!(cases[1]["name"], "rejected");
    assert_eq!(cases[0]["name"], format!("publish {ch}"));
    assert!(cases[2]["name"].as_str().unwrap().contains("half broadcast"));
}

#[test]
fn github_actions_annotations_and_step_summary() {
    let server = harness::shared();
    let ch = harness::channel("gh");
    let (dir, path) = manifest(&MIXED.replace("CH", &ch));
    let summary = dir.path().join("summary.md");
    let out = cent_run()
        .arg(&path)
        .args(["--url", &server.url, "--api-key", API_KEY, "--quiet"])
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_STEP_SUMMARY", &summary)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let file = path.display().to_string().replace(':', "%3A");
    // One annotation per cause, at the command's line (the method key's column).
    for line in [4, 6, 11] {
        assert!(stdout.contains(&format!("::error file={file},line={line},col=5,title=cent-run::")), "{stdout}");
    }
    assert_eq!(stdout.matches("::error").count(), 3, "{stdout}");
    let md = harness::read(&summary);
    assert!(md.contains("### cent-run: exit 1"), "{md}");
    assert!(md.contains("| 5 | 2 | 3 | 0 | 0 |"), "{md}");
    assert!(md.contains(&format!("| 1 | refused | 102 unknown channel | {}:4 #1 rejected |", path.display())), "{md}");
}

#[test]
fn deterministic_table_matches_its_golden_file() {
    let server = Server::start();
    let (dir, _) = manifest(&MIXED.replace("CH", "golden"));
    let out = cent_run()
        .current_dir(dir.path())
        .arg("m.yaml")
        .args(["--url", &server.url, "--api-key", API_KEY, "--run-id", "golden-run"])
        .env("CENT_RUN_DETERMINISTIC", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let got = String::from_utf8_lossy(&out.stdout);
    let golden = root().join("tests/golden/table.txt");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&golden, got.as_bytes()).unwrap();
    }
    assert_eq!(got, harness::read(&golden));
}

#[test]
fn output_modes_format_json_quiet_help_and_completions() {
    let server = harness::shared();
    let ch = harness::channel("modes");
    let (_dir, path) = manifest(&format!("commands:\n  - publish: {{channel: {ch}, data: 1}}\n"));
    let out =
        cent_run().arg(&path).args(["--url", &server.url, "--api-key", API_KEY, "--format", "json"]).output().unwrap();
    let r: Value = serde_json::from_slice(&out.stdout).expect("stdout is the JSON report");
    assert_eq!(r["commands"][0]["result"]["offset"], 1);
    // --quiet, as a cron job's mail: nothing at all when every command is ok...
    let out = cent_run().arg(&path).args(["--url", &server.url, "--api-key", API_KEY, "--quiet"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!((out.stdout.len(), out.stderr.len()), (0, 0), "{out:?}");
    // ...and on trouble, each cause once, located with the manifest's snippet, then the summary.
    let (_dir2, bad) = manifest(&format!(
        "commands:\n  - publish: {{channel: {ch}, data: 2}}\n  - name: to nowhere\n    publish: {{channel: \"unknownns:q\", data: 3}}\n"
    ));
    let out = cent_run().arg(&bad).args(["--url", &server.url, "--api-key", API_KEY, "-q"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], format!("  × {}:3:5: 1 command failed: 102 unknown channel", bad.display()), "{text}");
    assert!(text.contains("╰── #1 to nowhere unknownns:q"), "the command, pointed at: {text}");
    assert!(lines.last().unwrap().starts_with("2 commands: 1 ok, 1 failed"), "{text}");
    let help = cent_run().arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    for want in ["Exit codes:", "130", "143", "check", "plan", "token", "--report-junit"] {
        assert!(help.contains(want), "--help lacks {want}");
    }
    // The bash completion script loads and registers itself for cent-run.
    let comp = cent_run().args(["completions", "bash"]).output().unwrap();
    let script = path.with_file_name("completion.bash");
    std::fs::write(&script, &comp.stdout).unwrap();
    let bash = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!("source {} && complete -p cent-run", script.display()))
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&bash.stdout).contains("cent-run"), "{}", String::from_utf8_lossy(&bash.stderr));
}
