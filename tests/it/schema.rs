//! `cent-run schema` checked by an independent JSON Schema validator (the
//! Python `jsonschema` package, as editors' YAML language servers would use
//! it): good manifests pass; misspelled methods and fields and wrong types fail.

use serde_json::Value;

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
    let good =
        ["examples/manifests/broadcast.yaml", "examples/manifests/user-cleanup.yaml", "examples/manifests/audit.yaml"];
    let bad = [
        "tests/corpus/invalid/10-unknown-method.yaml",
        "tests/corpus/invalid/11-unknown-field-same-line-unicode.yaml",
        "tests/corpus/invalid/12-type-user-integer.yaml",
        "tests/corpus/invalid/13-type-limit-string.yaml",
        "tests/corpus/invalid/15-type-channels-scalar.yaml",
        "tests/corpus/invalid/14-type-skip-history-string.yaml",
        "tests/corpus/invalid/04-unknown-top-level-key.yaml",
        "tests/corpus/invalid/09-command-two-methods.yaml",
    ];
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
        .args(good)
        .args(bad)
        .output()
        .unwrap();
    assert!(res.status.success(), "{}", String::from_utf8_lossy(&res.stderr));
    let r: Value = serde_json::from_slice(&res.stdout).unwrap();
    for g in good {
        assert_eq!(r[g], Value::Array(vec![]), "{g} should pass the schema");
    }
    for b in bad {
        assert!(!r[b].as_array().unwrap().is_empty(), "{b} should fail the schema");
    }
}
