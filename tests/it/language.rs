//! Manifest language through `plan` (no network): interpolation sources and
//! precedence, escapes, for_each, data_file, several manifests as one run.

use serde_json::{Value, json};

use crate::harness::{self, API_KEY, cent_run, shared};

fn bodies(stdout: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn interpolation_precedence_defaults_escapes_and_types() {
    let (dir, path) = harness::manifest(
        r#"vars:
  a: from-vars
  b: from-vars
  n: 5
commands:
  - publish:
      channel: "${CHAN}"
      data: {a: "${a}", b: "${b}", env: "${FROM_ENV}", d: "${MISSING:-fallback}", lit: "$${a}", n: "${n}", text: "n=${n}", num: 7}
  - publish: {channel: x, data_file: payload.json}
  - disconnect: {user: "${item}"}
    for_each: [u1, 2, u3]
"#,
    );
    std::fs::write(dir.path().join("payload.json"), r#"{"from": "file", "list": [1, 2]}"#).unwrap();
    let out = cent_run()
        .arg("plan")
        .arg(&path)
        .args(["--api-key", API_KEY, "--var", "b=from-cli", "--run-id", "t", "--batch-size", "1"])
        .env("FROM_ENV", "env-value")
        .env("CHAN", "news")
        .env("a", "env-loses")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let b = bodies(&out.stdout);
    let first = &b[0]["commands"][0]["publish"];
    assert_eq!(first["channel"], "news");
    assert_eq!(
        first["data"],
        // A value that is exactly "${n}" takes the variable's type; inside text it is text.
        json!({"a": "from-vars", "b": "from-cli", "env": "env-value", "d": "fallback", "lit": "${a}", "n": 5, "text": "n=5", "num": 7})
    );
    assert_eq!(b[1]["commands"][0]["publish"]["data"], json!({"from": "file", "list": [1, 2]}));
    let users: Vec<&Value> = b[2..].iter().map(|x| &x["commands"][0]["disconnect"]["user"]).collect();
    assert_eq!(users, [&json!("u1"), &json!("2"), &json!("u3")]);
}

#[test]
fn several_manifests_run_in_order_as_one_run_with_one_report() {
    let server = shared();
    let ch = harness::channel("multi");
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.yaml"), dir.path().join("b.yaml"));
    std::fs::write(
        &a,
        format!("commands:\n  - publish: {{channel: {ch}, data: 1}}\n  - publish: {{channel: {ch}, data: 2}}\n"),
    )
    .unwrap();
    std::fs::write(&b, format!("# b\ncommands:\n  - publish: {{channel: {ch}, data: 3}}\n")).unwrap();
    let report = dir.path().join("r.json");
    let out = cent_run()
        .arg(&a)
        .arg(&b)
        .args(["--url", &server.url, "--api-key", API_KEY, "--report-json"])
        .arg(&report)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(server.history(&ch), vec![json!(1), json!(2), json!(3)]);
    let r: Value = serde_json::from_str(&harness::read(&report)).unwrap();
    let rows: Vec<(u64, String, u64)> = r["commands"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (c["index"].as_u64().unwrap(), c["manifest"].as_str().unwrap().to_owned(), c["line"].as_u64().unwrap())
        })
        .collect();
    let (an, bn) = (a.display().to_string(), b.display().to_string());
    assert_eq!(rows, [(0, an.clone(), 2), (1, an, 3), (2, bn, 3)]);
}

/// A `for_each` over files of every format, made by its template (checked
/// once per kind of item, the rest spliced), against the real server:
/// every row applied once — each idempotency key made from its row (the
/// one row repeated is applied once, by the server's own dedup), each
/// channel from its row — and every row in the report with its name.
#[test]
fn for_each_files_of_every_format_apply_every_row_once_on_the_server() {
    let server = shared();
    let ch = harness::channel("rows");
    let dir = tempfile::tempdir().unwrap();
    let mut keys: Vec<String> = (0..150).map(|i| format!("k{i:03}")).collect();
    keys.push("k007".into());
    std::fs::write(dir.path().join("keys.txt"), keys.join("\n") + "\n").unwrap();
    let jsonl: String = (0..90).map(|i| format!("{{\"c\": \"{}\", \"n\": {i}}}\n", ["a", "b", "c"][i % 3])).collect();
    std::fs::write(dir.path().join("rows.jsonl"), jsonl).unwrap();
    let csv: String = (0..40).map(|i| format!("{},{i}\r\n", if i % 4 == 0 { "d" } else { "e" })).collect();
    std::fs::write(dir.path().join("rows.csv"), format!("c,n\r\n{csv}")).unwrap();
    let path = dir.path().join("m.yaml");
    std::fs::write(
        &path,
        format!(
            "commands:\n  - name: \"key ${{item}}\"\n    publish: {{channel: {ch}-keys, data: {{v: 1}}, idempotency_key: \"${{item}}-{ch}\"}}\n    for_each: {{file: keys.txt}}\n  - name: \"row ${{item.n}}\"\n    publish: {{channel: \"{ch}-${{item.c}}\", data: {{v: 2}}}}\n    for_each: {{file: rows.jsonl}}\n  - publish: {{channel: \"{ch}-${{item.c}}\", data: {{v: 3}}}}\n    for_each: {{file: rows.csv}}\n"
        ),
    )
    .unwrap();
    let report = dir.path().join("r.json");
    let out = cent_run()
        .arg(&path)
        .args(["--url", &server.url, "--api-key", API_KEY, "--quiet", "--report-json"])
        .arg(&report)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stdout.is_empty() && out.stderr.is_empty(), "--quiet says nothing when all is ok");
    assert_eq!(server.history(&format!("{ch}-keys")).len(), 150, "151 keyed rows, one key twice");
    for (c, n) in [("a", 30), ("b", 30), ("c", 30), ("d", 10), ("e", 30)] {
        let held = server.history(&format!("{ch}-{c}"));
        assert_eq!(held.len(), n, "channel {c}");
        let v = if "abc".contains(c) { 2 } else { 3 };
        assert!(held.iter().all(|d| d == &json!({"v": v})), "{held:?}");
    }
    let r = harness::report(&report);
    let rows = r["commands"].as_array().unwrap();
    assert_eq!(rows.len(), 151 + 90 + 40);
    assert_eq!(rows[7]["name"], "key k007");
    assert_eq!(rows[150]["name"], "key k007");
    assert_eq!(rows[151 + 89]["name"], "row 89");
    assert_eq!(rows[151 + 89]["target"]["channel"], format!("{ch}-c"));
    // Every row of a `for_each` is at its command's line in the manifest.
    assert_eq!(rows[151 + 90]["line"], 8);
    assert_eq!(rows[151 + 90]["target"]["channel"], format!("{ch}-d"));
}
