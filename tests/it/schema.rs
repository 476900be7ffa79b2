//! `cent-run schema` checked by an independent JSON Schema validator (the
//! Python `jsonschema` package, as editors' YAML language servers would use
//! it): every example passes; misspelled methods and fields, wrong types and
//! commands missing what their method needs fail — as `check` says.

use serde_json::{Value, json};

use crate::harness::{cent_run, root};

#[test]
fn the_schema_accepts_good_manifests_and_rejects_bad_ones() {
    let out = cent_run().arg("schema").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let dir = tempfile::tempdir().unwrap();
    let schema = dir.path().join("schema.json");
    std::fs::write(&schema, &out.stdout).unwrap();
    let py = root().join(".tools/venv/bin/python");
    assert!(py.exists(), "jsonschema missing: run scripts/setup-python.sh");
    let mut good: Vec<String> = std::fs::read_dir(root().join("examples/manifests"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .map(|p| p.strip_prefix(root()).unwrap().display().to_string())
        .collect();
    good.sort();
    assert!(good.len() >= 3);
    // What the method table requires, the schema requires too.
    let missing = [
        ("publish-empty", "commands:\n  - publish: {}\n"),
        ("history-empty", "commands:\n  - history: {}\n"),
        ("broadcast-no-channels", "commands:\n  - broadcast: {data: {x: 1}}\n"),
        ("broadcast-empty-channels", "commands:\n  - broadcast: {channels: [], data: {x: 1}}\n"),
        ("unsubscribe-no-user", "commands:\n  - unsubscribe: {channel: news}\n"),
        ("unsubscribe-no-channel", "commands:\n  - unsubscribe: {user: \"42\"}\n"),
        ("disconnect-no-target", "commands:\n  - disconnect: {}\n"),
        ("v1-presence-stats", "server: {protocol: v1}\ncommands:\n  - presence_stats: {channel: a}\n"),
        // Paths the result does not have.
        ("expect-typo", "commands:\n  - presence_stats: {channel: a}\n    expect: {num_client: 0}\n"),
        ("save-typo", "commands:\n  - history: {channel: a, limit: 1}\n    save: {pos: offsett}\n"),
        ("error-and-checks", "commands:\n  - presence_stats: {channel: a}\n    expect: {num_clients: 0, error: 108}\n"),
        ("save-into-a-scalar", "commands:\n  - history: {channel: a, limit: 1}\n    save: {pos: epoch.x}\n"),
    ];
    let fine = [
        ("v1-unsubscribe-all", "server: {protocol: v1}\ncommands:\n  - unsubscribe: {user: \"42\"}\n"),
        ("v1-info", "server: {protocol: v1}\ncommands:\n  - info: {}\n"),
        ("data-file", "commands:\n  - publish: {channel: a, data_file: d.json}\n"),
        (
            "result-paths",
            "commands:\n  - history: {channel: a, limit: 1}\n    expect: {publications.0.data.title: x, publications.0.tags.k: v, offset: {ge: 0}}\n    save: {pos: publications.0.offset, who: publications.0.info.user}\n  - presence_stats: {channel: a}\n    expect: {num_clients: 0}\n  - presence_stats: {channel: \"nohist:a\"}\n    expect: {error: 108}\n",
        ),
    ];
    for (name, text) in missing.iter().chain(&fine) {
        std::fs::write(dir.path().join(format!("{name}.yaml")), text).unwrap();
    }
    let path = |name: &str| dir.path().join(format!("{name}.yaml")).display().to_string();
    good.extend(fine.iter().map(|(n, _)| path(n)));
    let mut bad: Vec<String> = missing.iter().map(|(n, _)| path(n)).collect();
    // `check` agrees about every one of them.
    for b in &bad {
        let out = cent_run().arg("check").arg(b).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "check accepts {b}");
    }
    std::fs::write(dir.path().join("d.json"), "{}").unwrap();
    for (n, _) in &fine {
        let out = cent_run().arg("check").arg(path(n)).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "check refuses {n}: {}", String::from_utf8_lossy(&out.stderr));
    }
    bad.extend(
        [
            "tests/corpus/invalid/10-unknown-method.yaml",
            "tests/corpus/invalid/11-unknown-field-same-line-unicode.yaml",
            "tests/corpus/invalid/12-type-user-integer.yaml",
            "tests/corpus/invalid/13-type-limit-string.yaml",
            "tests/corpus/invalid/15-type-channels-scalar.yaml",
            "tests/corpus/invalid/14-type-skip-history-string.yaml",
            "tests/corpus/invalid/04-unknown-top-level-key.yaml",
            "tests/corpus/invalid/09-command-two-methods.yaml",
        ]
        .map(str::to_owned),
    );
    let script = r#"
import json, sys, yaml, jsonschema
schema = json.load(open(sys.argv[1]))
jsonschema.Draft202012Validator.check_schema(schema)
v = jsonschema.Draft202012Validator(schema)
out = {}
for path in sys.argv[2:]:
    doc = yaml.safe_load(open(path, encoding="utf-8"))
    out[path] = [e.message for e in v.iter_errors(doc)]
print(json.dumps(out))
"#;
    let res = std::process::Command::new(py)
        .current_dir(root())
        .arg("-c")
        .arg(script)
        .arg(&schema)
        .args(&good)
        .args(&bad)
        .output()
        .unwrap();
    assert!(res.status.success(), "{}", String::from_utf8_lossy(&res.stderr));
    let r: Value = serde_json::from_slice(&res.stdout).unwrap();
    for g in &good {
        assert_eq!(r[g], Value::Array(vec![]), "{g} should pass the schema");
    }
    for b in &bad {
        assert!(!r[b].as_array().unwrap().is_empty(), "{b} should fail the schema");
    }
}

/// Every field of both JSON reports, as `cent-run schema --report` prints
/// them, has a row in `docs/report.md` — and the page documents no field
/// the schemas do not have.
#[test]
fn docs_report_md_describes_every_field_of_both_reports_and_no_other() {
    fn paths(schema: &Value, at: &str, out: &mut Vec<String>) {
        if let Some(props) = schema["properties"].as_object() {
            for (k, v) in props {
                let p = if at.is_empty() { k.clone() } else { format!("{at}.{k}") };
                out.push(p.clone());
                paths(v, &p, out);
            }
        }
        if schema["items"].is_object() {
            paths(&schema["items"], &format!("{at}[]"), out);
        }
    }
    let out = cent_run().args(["schema", "--report"]).output().unwrap();
    assert!(out.status.success());
    let schemas: Value = serde_json::from_slice(&out.stdout).unwrap();
    let page = std::fs::read_to_string(root().join("docs/report.md")).unwrap();
    let section = |title: &str| -> Vec<String> {
        let start = page.find(title).unwrap_or_else(|| panic!("docs/report.md has no `{title}`"));
        let rest = &page[start + title.len()..];
        // Up to the next heading: the reasons' and exit codes' tables are not fields.
        let end = rest.find("\n#").unwrap_or(rest.len());
        rest[..end]
            .lines()
            .filter_map(|l| l.strip_prefix("| `"))
            .filter_map(|l| l.split_once("` |"))
            .map(|(field, _)| field.to_owned())
            .collect()
    };
    for (name, title) in [("report", "## The run report"), ("check", "## The check report")] {
        let mut wanted = Vec::new();
        paths(&schemas[name], "", &mut wanted);
        assert!(wanted.len() > 5, "{name}: {wanted:?}");
        let rows = section(title);
        let missing: Vec<&String> = wanted.iter().filter(|p| !rows.contains(p)).collect();
        assert!(missing.is_empty(), "docs/report.md ({title}) does not describe {missing:?}");
        let extra: Vec<&String> = rows.iter().filter(|r| !wanted.contains(r)).collect();
        assert!(extra.is_empty(), "docs/report.md ({title}) describes fields the schema lacks: {extra:?}");
    }
}

/// The API definition cent-run embeds is byte for byte the one in the
/// Centrifugo module the tests' server is built from (the Go module cache;
/// `go mod download` fetches it when the cache was cleaned).
#[test]
fn the_embedded_api_proto_is_the_one_centrifugo_6_9_1_is_built_from() {
    let go = |args: &[&str]| {
        let out = std::process::Command::new("go").args(args).current_dir(std::env::temp_dir()).output();
        let out =
            out.unwrap_or_else(|e| panic!("`go {}`: {e} (scripts/install-centrifugo.sh needs Go)", args.join(" ")));
        assert!(out.status.success(), "go {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    let module: Value =
        serde_json::from_str(&go(&["mod", "download", "-json", "github.com/centrifugal/centrifugo/v6@v6.9.1"]))
            .unwrap();
    let dir = module["Dir"].as_str().expect("the module's directory");
    let upstream = std::fs::read(std::path::Path::new(dir).join("internal/apiproto/api.proto")).unwrap();
    let embedded = std::fs::read(root().join("src/methods/api.proto")).unwrap();
    assert!(upstream == embedded, "src/methods/api.proto differs from {dir}/internal/apiproto/api.proto");
}

/// `docs/methods.md` is what the method table and the API definitions
/// say, method by method (`UPDATE_GOLDEN=1` rewrites it: read the diff).
#[test]
fn methods_md_lists_every_methods_fields_and_results_as_the_table_has_them() {
    let page = cent_run::internals::methods_reference();
    crate::harness::golden_page("docs/methods.md", &page, "methods_md");
    // It names what a user reads most: history's publications and presence counts.
    assert!(page.contains("\n## history\n") && page.contains("| `publications[].data` | JSON |"), "{page}");
    assert!(page.contains("| `num_clients` | uint32 |"));
}

/// `docs/settings.md` is the settings table, row by row (`UPDATE_GOLDEN=1`
/// rewrites it: read the diff).
#[test]
fn settings_md_lists_every_setting_as_the_table_has_it() {
    let page = cent_run::internals::settings_reference();
    crate::harness::golden_page("docs/settings.md", &page, "settings_md");
    // The precedence it states is the one `--help` states.
    let help = cent_run().arg("--help").output().unwrap();
    assert!(
        String::from_utf8_lossy(&help.stdout)
            .contains("flags > --profile > environment > the manifest's server: and defaults:")
    );
    assert!(
        page.contains("1. a **flag**")
            && page.contains("2. the **profile**")
            && page.contains("3. the **environment**")
            && page.contains("4. the **manifest**")
    );
}

/// The schema an editor uses and `check` agree: every example manifest and
/// every YAML block of the README and of `docs/` passes both; every case
/// of the invalid corpus fails `check`, and fails the schema too unless it
/// is one of the kinds a JSON Schema cannot express — listed here with the
/// reason, and held exact (a case the schema starts to catch leaves the
/// list).
#[test]
fn the_schema_and_check_agree_on_the_examples_the_docs_and_the_invalid_corpus() {
    /// Corpus cases (by number) only `check` can refuse, and why.
    const CHECK_ONLY: &[(&str, &str)] = &[
        ("33 34 35 71 77 82 85 97 98 99 112", "variables: which are defined, saved or secret, and their types"),
        ("36 37 38 111 113 114", "files: whether they exist, hold JSON, stay in the root, and their rows"),
        ("46 47 48 84 80", "YAML the schema never sees: duplicate keys, a second document"),
        ("59 60", "NaN and infinity, which JSON has not"),
        ("64", "nesting depth"),
        ("65", "an alias bomb: a validator expands it (cent-run refuses it before)"),
        ("93", "whether a regular expression compiles"),
        ("116", "a literal map whose key is a misspelt operator (a did-you-mean)"),
    ];
    let out = cent_run().arg("schema").output().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let schema = dir.path().join("schema.json");
    std::fs::write(&schema, &out.stdout).unwrap();
    // Documentation blocks, each a manifest of its own, beside what they include.
    let docs = dir.path().join("docs");
    std::fs::create_dir_all(docs.join("shared")).unwrap();
    std::fs::write(docs.join("shared/server.yaml"), "server: {url: \"http://localhost:8000\"}\n").unwrap();
    let mut good: Vec<String> = Vec::new();
    let mut pages = vec![root().join("README.md")];
    pages.extend(
        std::fs::read_dir(root().join("docs"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "md")),
    );
    pages.sort();
    for page in &pages {
        let text = std::fs::read_to_string(page).unwrap();
        for (n, block) in text.split("```yaml\n").skip(1).enumerate() {
            let block = &block[..block.find("```").unwrap()];
            // Manifests only (not an alert rule or a hook's configuration).
            if !block.lines().any(|l| ["commands:", "include:", "finally:"].iter().any(|k| l.starts_with(k))) {
                continue;
            }
            let name = format!("{}-{n}.yaml", page.file_stem().unwrap().to_string_lossy());
            std::fs::write(docs.join(&name), block).unwrap();
            good.push(docs.join(&name).display().to_string());
        }
    }
    assert!(good.len() >= 10, "only {} YAML blocks in the docs", good.len());
    for dir in ["examples/manifests", "examples/cron"] {
        for e in std::fs::read_dir(root().join(dir)).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "yaml") {
                good.push(p.display().to_string());
            }
        }
    }
    for g in &good {
        let out = cent_run().arg("check").arg(g).env("CENTRIFUGO_API_KEY", "k").output().unwrap();
        assert_eq!(out.status.code(), Some(0), "check refuses {g}:\n{}", String::from_utf8_lossy(&out.stderr));
    }
    let mut corpus: Vec<(String, String)> = std::fs::read_dir(root().join("tests/corpus/invalid"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .map(|p| {
            (p.file_name().unwrap().to_string_lossy().split('-').next().unwrap().to_owned(), p.display().to_string())
        })
        .collect();
    corpus.sort();
    let script = r#"
import json, sys, yaml, jsonschema
v = jsonschema.Draft202012Validator(json.load(open(sys.argv[1])))
out = {}
for path in sys.argv[2:]:
    try:
        docs = list(yaml.safe_load_all(open(path, encoding="utf-8")))
    except Exception:
        out[path] = ["not YAML"]
        continue
    out[path] = [e.message for e in v.iter_errors(docs[0] if docs else None)]
print(json.dumps(out))
"#;
    let res = std::process::Command::new(root().join(".tools/venv/bin/python"))
        .arg("-c")
        .arg(script)
        .arg(&schema)
        .args(&good)
        // The alias bomb takes a YAML loader minutes and gigabytes: not given to it.
        .args(corpus.iter().filter(|(n, _)| n != "65").map(|(_, p)| p))
        .output()
        .unwrap();
    assert!(res.status.success(), "{}", String::from_utf8_lossy(&res.stderr));
    let r: Value = serde_json::from_slice(&res.stdout).unwrap();
    for g in &good {
        assert_eq!(r[g], json!([]), "the schema refuses {g}, which check accepts");
    }
    let listed: Vec<&str> = CHECK_ONLY.iter().flat_map(|(ns, _)| ns.split(' ')).collect();
    let mut schema_misses: Vec<&str> = corpus
        .iter()
        .filter(|(n, p)| n == "65" || r[p].as_array().is_some_and(Vec::is_empty))
        .map(|(n, _)| n.as_str())
        .collect();
    schema_misses.sort_unstable();
    let mut expected = listed.clone();
    expected.sort_unstable();
    assert_eq!(schema_misses, expected, "the corpus cases only check refuses (CHECK_ONLY) changed");
}
