//! The CI and scheduler examples work as written: every workflow in
//! `examples/ci/` passes actionlint (with shellcheck on its `run:` scripts)
//! and zizmor (auditor persona, offline) without a finding; the workflows
//! keep secrets and event values out of scripts and never disconnect users
//! on a release; the Kubernetes example is an Indexed Job sharded by
//! `JOB_COMPLETION_INDEX`. A bad workflow proves each linter, run exactly as
//! here, does fail. The linters come from `scripts/install-linters.sh`
//! (actionlint, shellcheck) and `scripts/setup-python.sh` (zizmor); a missing
//! one fails the test with that hint, it never skips.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

use crate::harness::root;

fn ci_workflows() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join("examples/ci"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yml" || x == "yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 2, "expected the release and the shards workflows in examples/ci, found {files:?}");
    files
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

fn shellcheck() -> PathBuf {
    let found = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join("shellcheck"))
        .find(|p| p.is_file());
    found.unwrap_or_else(|| {
        panic!("shellcheck not found on PATH (actionlint lints `run:` scripts with it): run scripts/install-linters.sh")
    })
}

fn actionlint(files: &[PathBuf]) -> Output {
    let bin = root().join(".tools/bin/actionlint");
    assert!(bin.exists(), "actionlint missing at {}: run scripts/install-linters.sh", bin.display());
    Command::new(bin)
        .current_dir(root())
        .args(["-no-color", "-shellcheck"])
        .arg(shellcheck())
        .args(files)
        .output()
        .unwrap()
}

/// zizmor exits 0 without findings, 10 + the highest severity found (11
/// informational .. 14 high) with some, 1 on an error, 3 when it collected
/// nothing. `--strict-collection`: a file it cannot read as a workflow is an
/// error, not skipped with a warning. `--no-config --no-ignores`: nothing
/// silences a finding. `--offline`: no network (the online audits need
/// GitHub's API).
fn zizmor(files: &[PathBuf]) -> Output {
    let bin = root().join(".tools/venv/bin/zizmor");
    assert!(bin.exists(), "zizmor missing at {}: run scripts/setup-python.sh", bin.display());
    Command::new(bin)
        .current_dir(root())
        .args(["--offline", "--no-config", "--no-ignores", "--strict-collection", "--persona", "auditor"])
        .args(["--no-progress", "--color", "never"])
        .args(files)
        .output()
        .unwrap()
}

/// Every YAML document of each file, read by PyYAML (the venv's), as JSON.
/// YAML 1.1 reads the key `on` as `true`; it is given back as "on".
fn yaml_docs(files: &[&Path]) -> Vec<Vec<Value>> {
    let py = root().join(".tools/venv/bin/python");
    assert!(py.exists(), "pyyaml missing: run scripts/setup-python.sh");
    let script = r#"
import json, sys, yaml
out = []
for path in sys.argv[1:]:
    docs = [d for d in yaml.safe_load_all(open(path, encoding="utf-8")) if d is not None]
    for d in docs:
        if isinstance(d, dict) and True in d:
            d["on"] = d.pop(True)
    out.append(docs)
print(json.dumps(out, default=str))
"#;
    let out = Command::new(py).current_dir(root()).arg("-c").arg(script).args(files).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn actionlint_and_shellcheck_find_nothing_in_the_ci_examples() {
    let files = ci_workflows();
    let out = actionlint(&files);
    assert!(out.status.success() && text(&out).is_empty(), "actionlint on examples/ci:\n{}", text(&out));
}

#[test]
fn zizmor_finds_nothing_in_the_ci_examples() {
    let files = ci_workflows();
    let out = zizmor(&files);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "zizmor on examples/ci:\n{all}");
    assert!(all.contains("No findings"), "{all}");
    for f in &files {
        assert!(all.contains(&format!("completed {}", f.display())), "zizmor did not audit {}:\n{all}", f.display());
    }
}

#[test]
fn the_linters_fail_on_a_bad_workflow() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yml");
    std::fs::write(
        &bad,
        "name: bad\non:\n  release:\n    types: [published]\npermissions:\n  contents: read\njobs:\n  announce:\n    \
         name: announce\n    runs-on: ubuntu-24.04\n    steps:\n      - uses: actions/checkout@v5\n        with:\n          \
         persist-credentials: false\n      - run: cent-run a.yaml --var release=${{ github.event.release.tag_name }} \
         --run-id $GITHUB_RUN_ID\n",
    )
    .unwrap();
    let files = [bad];
    let lint = actionlint(&files);
    assert_eq!(lint.status.code(), Some(1), "{}", text(&lint));
    assert!(text(&lint).contains("SC2086"), "shellcheck did not run under actionlint:\n{}", text(&lint));
    let audit = zizmor(&files);
    assert_eq!(audit.status.code(), Some(14), "{}", text(&audit));
    for finding in ["template-injection", "unpinned-uses"] {
        assert!(text(&audit).contains(finding), "no {finding}:\n{}", text(&audit));
    }
}

fn steps(workflow: &Value) -> Vec<(&Value, &Value)> {
    let jobs = workflow["jobs"].as_object().unwrap();
    jobs.values().flat_map(|job| job["steps"].as_array().unwrap().iter().map(move |s| (job, s))).collect()
}

fn run_of(step: &Value) -> &str {
    step["run"].as_str().unwrap_or("")
}

/// The manifests a step runs (not `cent-run check`s).
fn runs(step: &Value, manifest: &str) -> bool {
    let run = run_of(step);
    run.contains(manifest) && !run.trim_start().starts_with("cent-run check")
}

#[test]
fn the_workflows_keep_values_out_of_scripts_and_users_connected_on_a_release() {
    let files = ci_workflows();
    let paths: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    let docs = yaml_docs(&paths);
    let by_name = |name: &str| &docs[files.iter().position(|f| f.ends_with(name)).unwrap()][0];
    for (file, doc) in files.iter().zip(&docs) {
        let w = &doc[0];
        assert_eq!(w["permissions"], serde_json::json!({"contents": "read"}), "{}", file.display());
        for (_, step) in steps(w) {
            // Secrets, event values and matrix values reach scripts through env: only.
            assert!(!run_of(step).contains("${{"), "{}: expression in run: {}", file.display(), run_of(step));
            assert!(!step["with"].to_string().contains("secrets."), "{}: secret in with: {step}", file.display());
            if let Some(uses) = step["uses"].as_str() {
                let (_, sha) = uses.split_once('@').unwrap();
                assert!(sha.len() == 40 && sha.bytes().all(|b| b.is_ascii_hexdigit()), "not pinned: {uses}");
            }
            if uses_checkout(step) {
                assert_eq!(step["with"]["persist-credentials"], false, "{}", file.display());
            }
        }
    }

    let release = by_name("github-actions.yml");
    let on: Vec<&str> = release["on"].as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(on, ["release", "workflow_dispatch"]);
    assert_eq!(release["on"]["workflow_dispatch"]["inputs"]["cleanup"]["default"], false);
    let all = steps(release);
    let running = |m: &str| all.iter().filter(|(_, s)| runs(s, m)).map(|(_, s)| *s).collect::<Vec<_>>();
    assert!(running("broadcast.yaml").is_empty(), "the demo manifest disconnects users: not for a release");
    let cleanup = running("user-cleanup.yaml");
    assert_eq!(cleanup.len(), 1);
    let guard = cleanup[0]["if"].as_str().unwrap_or("");
    assert!(guard.contains("github.event_name == 'workflow_dispatch'") && guard.contains("inputs.cleanup"), "{guard}");
    let smoke = running("examples/manifests/smoke.yaml");
    assert_eq!(smoke.len(), 1, "a post-deploy smoke test");
    let announce = running("examples/manifests/release-announcement.yaml");
    assert_eq!(announce.len(), 1);
    for flag in ["--run-id", "--state", "--report-junit"] {
        assert!(run_of(announce[0]).contains(flag), "announcement without {flag}");
    }
    assert_eq!(announce[0]["env"]["RELEASE_TAG"], "${{ github.event.release.tag_name }}");
    assert!(all.iter().any(|(_, s)| uses(s, "actions/upload-artifact") && s["if"] == "always()"));

    let shards = by_name("github-actions-shards.yml");
    let on: Vec<&str> = shards["on"].as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(on, ["workflow_dispatch"], "a clean-up runs by hand only");
    let job = shards["jobs"].as_object().unwrap().values().next().unwrap();
    assert_eq!(job["strategy"]["matrix"]["shard"], serde_json::json!([0, 1, 2, 3]));
    let run = steps(shards).into_iter().map(|(_, s)| s).find(|s| runs(s, "user-cleanup.yaml")).unwrap();
    assert_eq!(run["env"]["SHARD"], "${{ matrix.shard }}");
    for part in [r#"--shard "$SHARD/4""#, r#"--state "state-$SHARD.jsonl""#, r#"--run-id "cleanup-$GITHUB_RUN_ID""#] {
        assert!(run_of(run).contains(part), "no {part} in {}", run_of(run));
    }
}

fn uses(step: &Value, action: &str) -> bool {
    step["uses"].as_str().is_some_and(|u| u.starts_with(&format!("{action}@")))
}

fn uses_checkout(step: &Value) -> bool {
    uses(step, "actions/checkout")
}

#[test]
fn the_kubernetes_example_is_an_indexed_job_sharded_by_completion_index() {
    let docs = yaml_docs(&[
        &root().join("examples/k8s/indexed-job.yaml"),
        &root().join("examples/manifests/user-cleanup.yaml"),
    ]);
    let kind = |k: &str| docs[0].iter().find(|d| d["kind"] == k).unwrap_or_else(|| panic!("no {k}"));
    let job = kind("Job");
    assert_eq!(job["apiVersion"], "batch/v1");
    let spec = &job["spec"];
    assert_eq!(spec["completionMode"], "Indexed");
    assert_eq!(spec["completions"], 4);
    assert_eq!(spec["parallelism"], 4);
    assert!(spec["backoffLimitPerIndex"].as_u64().is_some_and(|n| n >= 1));
    assert_eq!(spec["template"]["spec"]["restartPolicy"], "Never");
    let containers = spec["template"]["spec"]["containers"].as_array().unwrap();
    assert_eq!(containers.len(), 1);
    let c = &containers[0];
    let command: Vec<&str> = c["command"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert_eq!(command[..2], ["/bin/sh", "-c"], "a shell, so that $JOB_COMPLETION_INDEX expands");
    let script = command[2];
    assert!(script.contains("--shard") && script.contains("JOB_COMPLETION_INDEX"), "{script}");
    // --shard I/N with N = completions; one state file per index.
    assert!(script.contains(r#"--shard "${JOB_COMPLETION_INDEX}/4""#), "{script}");
    let state = script.split("--state").nth(1).unwrap().split_whitespace().next().unwrap();
    assert!(state.contains("JOB_COMPLETION_INDEX"), "{state}");
    assert!(!script.contains("$(JOB_COMPLETION_INDEX)"), "Kubernetes rewrites $(NAME) itself");
    // The key from a Secret through the environment, never on the command line.
    let env = c["env"].as_array().unwrap();
    let key = env.iter().find(|e| e["name"] == "CENTRIFUGO_API_KEY").unwrap();
    assert!(key["valueFrom"]["secretKeyRef"]["name"].is_string() && key.get("value").is_none(), "{key}");
    assert!(!script.contains("--api-key"));
    // The state directory survives the pod: a PersistentVolumeClaim.
    let mounts = c["volumeMounts"].as_array().unwrap();
    let state_dir = state.trim_matches('"').rsplit_once('/').unwrap().0;
    let mount = mounts.iter().find(|m| m["mountPath"] == state_dir).unwrap_or_else(|| panic!("{state_dir}"));
    let volumes = spec["template"]["spec"]["volumes"].as_array().unwrap();
    let volume = volumes.iter().find(|v| v["name"] == mount["name"]).unwrap();
    assert_eq!(volume["persistentVolumeClaim"]["claimName"], kind("PersistentVolumeClaim")["metadata"]["name"]);
    // The manifest from the ConfigMap: the same as the example, users too.
    let manifest = script.split_whitespace().nth(2).unwrap();
    assert_eq!(manifest, "/etc/cent-run/user-cleanup.yaml");
    let config = kind("ConfigMap");
    let data = &config["data"];
    let copy = yaml_docs_from_text(data["user-cleanup.yaml"].as_str().unwrap());
    assert_eq!(copy, docs[1][0], "the ConfigMap's manifest differs from examples/manifests/user-cleanup.yaml");
    let users = std::fs::read_to_string(root().join("examples/manifests/users.txt")).unwrap();
    assert_eq!(data["users.txt"].as_str().unwrap(), users);
    assert!(mounts.iter().any(|m| m["mountPath"] == "/etc/cent-run"
        && volumes.iter().any(|v| v["name"] == m["name"] && v["configMap"]["name"] == config["metadata"]["name"])));
}

fn yaml_docs_from_text(text: &str) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("copy.yaml");
    std::fs::write(&path, text).unwrap();
    yaml_docs(&[&path]).remove(0).remove(0)
}
