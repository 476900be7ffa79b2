//! `--server-config FILE` (and `server.config:`): Centrifugo's own
//! configuration predicts which commands the server refuses, and the
//! prediction is held to the real server — the same manifest, run without
//! the file, must fail with exactly the predicted codes at exactly those
//! commands. The shared server runs `tests/centrifugo/config.json`
//! (namespaces `chat` with presence and history, `nohist` with neither;
//! channels without a namespace have both); [`cluster::Configured`] runs one
//! with map, shared-poll and data-format namespaces.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

use crate::cluster::Configured;
use crate::harness::{self, API_KEY, Watch, cent_run, root, shared};

fn test_config() -> PathBuf {
    root().join("tests/centrifugo/config.json")
}

/// `(command line, code)` for every refusal `check --format json` predicts,
/// sorted: a problem is at the channel, its command is the list item at or
/// above it.
fn predicted(manifest: &str, check_json: &Value) -> Vec<(usize, u32)> {
    let lines: Vec<&str> = manifest.lines().collect();
    let mut out: Vec<(usize, u32)> = check_json["problems"]
        .as_array()
        .unwrap_or_else(|| panic!("no problems in {check_json}"))
        .iter()
        .filter(|p| p["severity"] == "error")
        .map(|p| {
            let message = p["message"].as_str().unwrap();
            let code = message
                .split_once("would be refused with ")
                .and_then(|(_, rest)| rest.split(' ').next())
                .and_then(|c| c.parse().ok())
                .unwrap_or_else(|| panic!("no predicted code in {message}"));
            let at = p["line"].as_u64().unwrap() as usize;
            let item = (1..=at).rev().find(|&l| lines[l - 1].starts_with("  - ")).unwrap();
            (item, code)
        })
        .collect();
    out.sort();
    out
}

/// `(command line, code)` for every command (or broadcast channel) the
/// server refused, from a `--report-json` file, sorted.
fn refused(report: &Path) -> Vec<(usize, u32)> {
    let report: Value = serde_json::from_str(&harness::read(report)).unwrap();
    let mut out = Vec::new();
    for c in report["commands"].as_array().unwrap() {
        let line = c["line"].as_u64().unwrap() as usize;
        let channels: Vec<&Value> =
            c["channels"].as_array().unwrap().iter().filter(|ch| !ch["error"].is_null()).collect();
        if !channels.is_empty() {
            out.extend(channels.iter().map(|ch| (line, ch["error"]["code"].as_u64().unwrap() as u32)));
        } else if c["status"] == "failed" {
            let code = c["error"]["code"].as_u64().unwrap_or_else(|| panic!("failed without a server error: {c}"));
            out.push((line, code as u32));
        }
    }
    out.sort();
    out
}

/// `(line, column)` of `literal` on the first line that holds `on_line`.
fn at(text: &str, on_line: &str, literal: &str) -> (usize, usize) {
    let (n, line) = text.lines().enumerate().find(|(_, l)| l.contains(on_line)).unwrap();
    (n + 1, line.find(literal).unwrap_or_else(|| panic!("{literal} not on line {}", n + 1)) + 1)
}

/// `cent-run check --format json` with `args`: the exit code, the JSON, stderr.
/// What the real server at `url` refuses when the manifest runs (by line,
/// code), the run having ended in exit 1.
fn refused_by(url: &str, path: &Path) -> Vec<(usize, u32)> {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.json");
    let out =
        cent_run().arg(path).args(["--url", url, "--api-key", API_KEY, "--report-json"]).arg(&report).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    refused(&report)
}

fn check(path: &Path, args: &[&str]) -> (Option<i32>, Value, String) {
    let out = cent_run().arg("check").arg(path).args(["--format", "json"]).args(args).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let json = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    (out.status.code(), json, String::from_utf8_lossy(&out.stderr).into_owned())
}

/// Locations and messages, with the configuration file's name taken out
/// (to compare predictions made from the same options in other files).
fn problems_without(json: &Value, file: &str) -> Vec<String> {
    json["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| format!("{}:{}: {}", p["line"], p["column"], p["message"].as_str().unwrap().replace(file, "FILE")))
        .collect()
}

/// The manifest with commands the test server refuses and commands it
/// takes, on channels unique to this call.
fn mixed_manifest() -> String {
    let u = harness::channel("sc");
    format!(
        r#"commands:
  - publish: {{channel: "chat:{u}", data: {{n: 1}}}}
    save: {{pos: offset}}
  - publish: {{channel: "nope:{u}", data: {{n: 2}}}}
  - history: {{channel: "nohist:{u}", limit: 10}}
  - presence: {{channel: "nohist:{u}"}}
  - presence_stats: {{channel: "$nohist:{u}"}}
    expect: {{num_clients: 0}}
    until: {{every: 200ms, timeout: 5s}}
  - broadcast:
      channels: ["chat:{u}", "chta:{u}", "{u}"]
      data: {{n: 3}}
  - history: {{channel: "chat:{u}", limit: 10}}
  - presence: {{channel: "chat:{u}"}}
  - history: {{channel: "{u}", limit: 10}}
  - presence: {{channel: ":{u}"}}
  - presence: {{channel: "nohist:{u}"}}
    expect: {{error: 108}}
  - history: {{channel: "nope:${{pos}}", limit: 1}}
  - publish: {{channel: "room-${{pos}}-{u}", data: {{n: 4}}}}
"#
    )
}

#[test]
fn check_predicts_exactly_the_refusals_of_the_real_server() {
    let text = mixed_manifest();
    let (_dir, path) = harness::manifest(&text);
    let config = test_config();
    let config_arg = config.to_str().unwrap();

    let (code, json, stderr) = check(&path, &["--server-config", config_arg]);
    assert_eq!(code, Some(2), "{stderr}");
    // Each at the channel, as written.
    let name = path.display().to_string();
    let expected = [
        (at(&text, "\"nope:sc", "\"nope:"), "publish on `nope:"),
        (at(&text, "history: {channel: \"nohist:", "\"nohist:"), "history on `nohist:"),
        (at(&text, "presence: {channel: \"nohist:", "\"nohist:"), "presence on `nohist:"),
        (at(&text, "\"$nohist:", "\"$nohist:"), "presence_stats on `$nohist:"),
        (at(&text, "\"chta:", "\"chta:"), "broadcast on `chta:"),
        (at(&text, "nope:${pos}", "\"nope:${pos}\""), "history on `nope:${pos}`"),
    ];
    let problems = json["problems"].as_array().unwrap();
    assert_eq!(problems.len(), expected.len(), "{json:#}");
    for (p, ((line, col), starts)) in problems.iter().zip(expected) {
        assert_eq!((p["line"].as_u64(), p["column"].as_u64()), (Some(line as u64), Some(col as u64)), "{p}");
        let message = p["message"].as_str().unwrap();
        assert!(message.starts_with(starts), "{message}");
        assert!(message.contains(config_arg), "the message names the configuration file: {message}");
        assert!(stderr.contains(&format!("{name}:{line}:{col}: ")), "{name}:{line}:{col} not in\n{stderr}");
    }
    assert!(problems[0]["message"].as_str().unwrap().contains("has no namespace `nope`"));
    assert!(problems[4]["hint"].as_str().unwrap().starts_with("did you mean `chat:sc-"), "{}", problems[4]);
    assert!(problems[3]["hint"].as_str().unwrap().contains("`until` does not wait this out"), "{}", problems[3]);

    // The proof: the real server, without the file, refuses exactly these.
    let seen = refused_by(&shared().url, &path);
    assert_eq!(predicted(&text, &json), seen, "predicted (left) and refused by the server (right)");
    assert_eq!(seen.iter().filter(|(_, c)| *c == 102).count(), 3);
    assert_eq!(seen.iter().filter(|(_, c)| *c == 108).count(), 3);
}

#[test]
fn with_the_file_nothing_is_sent_in_plan_and_run() {
    let (_dir, path) = harness::manifest("commands:\n  - history: {channel: \"nohist:a\", limit: 1}\n");
    let config = test_config();
    let plan = cent_run().arg("plan").arg(&path).arg("--server-config").arg(&config).output().unwrap();
    assert_eq!(plan.status.code(), Some(2), "{}", String::from_utf8_lossy(&plan.stdout));
    assert!(String::from_utf8_lossy(&plan.stderr).contains("would be refused with 108 not available"));
    let watch = Watch::new();
    let run = cent_run()
        .arg(&path)
        .args(["--url", &watch.url, "--api-key", API_KEY, "--server-config"])
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(2), "{}", String::from_utf8_lossy(&run.stderr));
    assert_eq!(watch.connections(), 0);
}

/// A JSON value as YAML: mappings in block style, lists of flow values.
fn yaml(value: &Map<String, Value>, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    for (k, v) in value {
        match v {
            Value::Object(m) => {
                out.push_str(&format!("{pad}{k}:\n"));
                yaml(m, indent + 2, out);
            }
            Value::Array(items) => {
                out.push_str(&format!("{pad}{k}:\n"));
                for item in items {
                    out.push_str(&format!("{pad}  - {item}\n"));
                }
            }
            scalar => out.push_str(&format!("{pad}{k}: {scalar}\n")),
        }
    }
}

/// A JSON value as TOML: tables, arrays of tables, inline scalars.
fn toml(path: &str, value: &Map<String, Value>, out: &mut String) {
    let tables = |v: &Value| v.as_array().is_some_and(|a| a.iter().all(Value::is_object) && !a.is_empty());
    for (k, v) in value.iter().filter(|(_, v)| !v.is_object() && !tables(v)) {
        out.push_str(&format!("{k} = {v}\n"));
    }
    let join = |k: &str| if path.is_empty() { k.to_owned() } else { format!("{path}.{k}") };
    for (k, v) in value {
        match v {
            Value::Object(m) => {
                out.push_str(&format!("\n[{}]\n", join(k)));
                toml(&join(k), m, out);
            }
            Value::Array(items) if tables(v) => {
                for item in items {
                    out.push_str(&format!("\n[[{}]]\n", join(k)));
                    toml(&join(k), item.as_object().unwrap(), out);
                }
            }
            _ => {}
        }
    }
}

#[test]
fn the_same_configuration_as_yaml_and_toml_predicts_the_same() {
    let text = mixed_manifest();
    let (dir, path) = harness::manifest(&text);
    let config = test_config();
    let json_config: Value = serde_json::from_str(&harness::read(&config)).unwrap();
    let (mut as_yaml, mut as_toml) = (String::new(), String::new());
    yaml(json_config.as_object().unwrap(), 0, &mut as_yaml);
    toml("", json_config.as_object().unwrap(), &mut as_toml);
    assert!(as_yaml.contains("channel:\n  without_namespace:\n    presence: true\n"), "{as_yaml}");
    assert!(as_yaml.contains("  namespaces:\n    - {"), "{as_yaml}");
    assert!(as_toml.contains("[[channel.namespaces]]"), "{as_toml}");
    let (yaml_path, toml_path) = (dir.path().join("centrifugo.yaml"), dir.path().join("centrifugo.toml"));
    std::fs::write(&yaml_path, &as_yaml).unwrap();
    std::fs::write(&toml_path, &as_toml).unwrap();

    let from_json = check(&path, &["--server-config", config.to_str().unwrap()]);
    assert_eq!(from_json.0, Some(2));
    let expected = problems_without(&from_json.1, config.to_str().unwrap());
    assert_eq!(expected.len(), 6, "{expected:#?}");
    for file in [&yaml_path, &toml_path] {
        let (code, json, stderr) = check(&path, &["--server-config", file.to_str().unwrap()]);
        assert_eq!(code, Some(2), "{}: {stderr}", file.display());
        assert_eq!(problems_without(&json, file.to_str().unwrap()), expected, "{}", file.display());
    }
}

#[test]
fn server_config_in_a_manifest_is_relative_to_the_manifest() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("jobs")).unwrap();
    std::fs::create_dir_all(dir.path().join("centrifugo")).unwrap();
    std::fs::copy(test_config(), dir.path().join("centrifugo/config.json")).unwrap();
    let text = "server:\n  config: ../centrifugo/config.json\ncommands:\n  - presence: {channel: \"nohist:a\"}\n  - presence: {channel: \"chat:a\"}\n";
    let manifest = dir.path().join("jobs/m.yaml");
    std::fs::write(&manifest, text).unwrap();
    // From the manifest's parent folder, and from elsewhere: the same file.
    for (cwd, arg) in
        [(dir.path().to_path_buf(), PathBuf::from("jobs/m.yaml")), (std::env::temp_dir(), manifest.clone())]
    {
        let out = cent_run().current_dir(&cwd).arg("check").arg(&arg).output().unwrap();
        let stderr = harness::unwrapped(&String::from_utf8_lossy(&out.stderr));
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(&format!("{}:4:25: presence on `nohist:a`", arg.display())), "{stderr}");
        assert!(stderr.contains("centrifugo/config.json"), "{stderr}");
        assert!(stderr.contains("1 error, 0 warnings"), "{stderr}");
    }
    // The flag wins over the manifest's.
    let elsewhere = dir.path().join("open.json");
    std::fs::write(&elsewhere, r#"{"channel": {"namespaces": [{"name": "nohist", "presence": true}]}}"#).unwrap();
    let out = cent_run().arg("check").arg(&manifest).arg("--server-config").arg(&elsewhere).output().unwrap();
    let stderr = harness::unwrapped(&String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("presence on `chat:a` would be refused with 102"), "{stderr}");
    assert!(!stderr.contains("on `nohist:a`"), "{stderr}");
}

#[test]
fn a_configuration_that_cannot_be_read_is_an_error_where_it_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = |config: &str| {
        let path = dir.path().join("m.yaml");
        std::fs::write(
            &path,
            format!("server:\n  config: {config}\ncommands:\n  - presence: {{channel: \"chat:a\"}}\n"),
        )
        .unwrap();
        path
    };
    let run = |args: &[&std::ffi::OsStr]| {
        let out = cent_run().arg("check").args(args).output().unwrap();
        (out.status.code(), harness::unwrapped(&String::from_utf8_lossy(&out.stderr)))
    };
    // Missing, named in the manifest: at its `server.config` value.
    let path = manifest("missing.json");
    let (code, stderr) = run(&[path.as_os_str()]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains(&format!("{}:2:11: cannot read the server configuration", path.display())), "{stderr}");
    // Not JSON: the manifest line, and where in the file.
    std::fs::write(dir.path().join("bad.json"), "{\"channel\": {\n  \"namespaces\": [,]}}\n").unwrap();
    let path = manifest("bad.json");
    let (code, stderr) = run(&[path.as_os_str()]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains(&format!("{}:2:11: the server configuration", path.display())), "{stderr}");
    assert!(stderr.contains("bad.json is not valid JSON at") && stderr.contains("bad.json:2:18"), "{stderr}");
    // Options Centrifugo refuses to start with.
    std::fs::write(dir.path().join("odd.yaml"), "channel:\n  namespaces:\n    - name: chat\n      presence: yes\n")
        .unwrap();
    let path = manifest("odd.yaml");
    let (code, stderr) = run(&[path.as_os_str()]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("`channel.namespaces[0].presence` is \"yes\", not a boolean"), "{stderr}");
    // Given as a flag: the flag's error, no manifest place.
    let plain = dir.path().join("plain.yaml");
    std::fs::write(&plain, "commands:\n  - presence: {channel: \"chat:a\"}\n").unwrap();
    let missing = dir.path().join("nope.toml");
    let (code, stderr) = run(&[plain.as_os_str(), "--server-config".as_ref(), missing.as_os_str()]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("--server-config: cannot read the server configuration"), "{stderr}");
    // An extension Centrifugo does not read.
    let upper = dir.path().join("config.JSON");
    std::fs::copy(test_config(), &upper).unwrap();
    let (code, stderr) = run(&[plain.as_os_str(), "--server-config".as_ref(), upper.as_os_str()]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("Centrifugo 6.9.1 refuses `.JSON` too"), "{stderr}");
}

#[test]
fn a_manifest_the_configuration_allows_passes_and_runs() {
    let u = harness::channel("ok");
    let (_dir, path) = harness::manifest(&format!(
        "commands:\n  - publish: {{channel: \"chat:{u}\", data: {{n: 1}}}}\n  - history: {{channel: \"chat:{u}\", limit: 5}}\n  - presence_stats: {{channel: \"{u}\"}}\n  - broadcast: {{channels: [\"chat:{u}\", \"{u}\"], data: {{n: 2}}}}\n"
    ));
    let config = test_config();
    let out = cent_run().arg("check").arg(&path).arg("--server-config").arg(&config).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        stdout
            .contains(&format!("the server's configuration {} (2 namespaces) refuses none of them", config.display())),
        "{stdout}"
    );
    let server = shared();
    let out = cent_run()
        .arg(&path)
        .args(["--url", &server.url, "--api-key", API_KEY, "--server-config"])
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    assert_eq!(server.history(&format!("chat:{u}")), [json!({"n": 1}), json!({"n": 2})]);
}

/// Map, shared-poll and data-format namespaces on a server of their own:
/// the refusals that are not 102 or 108 alone, predicted and proven.
#[test]
fn map_shared_poll_and_data_format_refusals_are_the_servers() {
    let base: Value = serde_json::from_str(&harness::read(&test_config())).unwrap();
    let mut namespaces = base["channel"]["namespaces"].as_array().unwrap().clone();
    namespaces.extend([
        json!({"name": "mp", "subscription_type": "map", "map": {"mode": "persistent"}}),
        json!({"name": "sp", "subscription_type": "shared_poll"}),
        json!({"name": "spp", "subscription_type": "shared_poll", "shared_poll": {"publish_enabled": true, "mode": "versioned"}}),
        json!({"name": "obj", "publication_data_format": "json_object"}),
        json!({"name": "js", "publication_data_format": "json"}),
    ]);
    let server = Configured::start(json!({
        "shared_poll": {"hmac_secret_key": "shared-poll-test-secret"},
        "channel": {
            "proxy": {"shared_poll_refresh": {"endpoint": "http://127.0.0.1:9/never-called"}},
            "namespaces": namespaces,
        },
    }));
    let text = r#"commands:
  - publish: {channel: "mp:x", data: {a: 1}}
  - publish: {channel: "sp:x", data: {a: 1}}
  - map_publish: {channel: "chat:x", key: k, data: {a: 1}}
  - map_publish: {channel: "mp:x", key: k, data: {a: 1}}
  - map_stats: {channel: "chat:x"}
  - shared_poll_publish: {channel: "chat:x", key: k, version: 1, data: {a: 1}}
  - shared_poll_publish: {channel: "sp:x", key: k, version: 1, data: {a: 1}}
  - shared_poll_publish: {channel: "spp:x", key: k, version: 1, data: {a: 1}}
  - publish: {channel: "obj:x", data: [1, 2]}
  - publish: {channel: "obj:x", data: {a: 1}}
  - publish: {channel: "obj:x", b64data: "WzFd"}
  - publish: {channel: "js:x", b64data: "aGVsbG8="}
  - publish: {channel: "js:x", b64data: "WzFd"}
  - broadcast: {channels: ["mp:a", "obj:b", "js:c"], data: "text"}
  - subscribe: {channel: "nope:x", user: u1}
  - unsubscribe: {channel: "nope:x", user: u1}
  - history_remove: {channel: "nohist:x"}
  - presence_stats: {channel: "nohist:x"}
"#;
    let (_dir, path) = harness::manifest(text);
    let (code, json, stderr) = check(&path, &["--server-config", server.config.to_str().unwrap()]);
    assert_eq!(code, Some(2), "{stderr}");
    let seen = refused_by(&server.url, &path);
    assert_eq!(predicted(text, &json), seen, "predicted (left) and refused by the server (right)");
    let codes = |c: u32| seen.iter().filter(|(_, x)| *x == c).count();
    assert_eq!((codes(102), codes(107), codes(108)), (2, 9, 3), "{seen:?}");
    // A broadcast is not held to the subscription type (only publish is):
    // `mp:a` took it. Data a namespace does not take is shown at `data`.
    let broadcast = at(text, "broadcast", "data:");
    let problem = json["problems"].as_array().unwrap().iter().find(|p| p["line"] == broadcast.0).unwrap();
    assert_eq!(problem["column"], broadcast.1, "{problem}");
}
