//! The pre-commit hook (`.pre-commit-hooks.yaml`) as pre-commit runs it:
//! `pre-commit try-repo` (from the test virtualenv, offline: the hook is
//! `language: system`, with the cent-run just built first on PATH) on a
//! throwaway git repository holding a good and a bad manifest and a YAML
//! file that is no manifest.

use std::process::Command;

use crate::harness::root;

#[test]
fn the_pre_commit_hook_passes_a_good_manifest_and_fails_a_bad_one_at_its_line() {
    let repo = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let dir = repo.path().join("cent-run");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("good.yaml"), "commands:\n  - publish: {channel: news, data: 1}\n").unwrap();
    // Its own `server:` differs from good.yaml's: checked apart, not as one run.
    std::fs::write(
        dir.join("bad.yaml"),
        "server: {url: \"http://other:8000\"}\ncommands:\n  - publish: {channel: news, data: 1}\n  - publsh: {channel: news}\n",
    )
    .unwrap();
    std::fs::write(repo.path().join("workflow.yaml"), "on: push\n").unwrap();
    let git = |args: &[&str]| {
        let s = Command::new("git").args(args).current_dir(repo.path()).status().unwrap();
        assert!(s.success(), "git {args:?}");
    };
    git(&["init", "-q"]);
    git(&["add", "-A"]);
    let bin_dir = assert_cmd::cargo::cargo_bin("cent-run").parent().unwrap().to_owned();
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap_or_default());
    let pre_commit = root().join(".tools/venv/bin/pre-commit");
    assert!(pre_commit.exists(), "pre-commit is missing: run scripts/setup-python.sh");
    let try_repo = |files: &[&str]| {
        let out = Command::new(&pre_commit)
            .args(["try-repo"])
            .arg(root())
            .args(["cent-run-check", "--files"])
            .args(files)
            .current_dir(repo.path())
            .env("PATH", &path)
            .env("PRE_COMMIT_HOME", home.path())
            .env("NO_COLOR", "1")
            .env_remove("CENTRIFUGO_URL")
            .output()
            .unwrap();
        (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let (code, out) = try_repo(&["cent-run/good.yaml", "workflow.yaml"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("cent-run check") && out.contains("Passed"), "{out}");
    let (code, out) = try_repo(&["cent-run/good.yaml", "cent-run/bad.yaml", "workflow.yaml"]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("Failed"), "{out}");
    assert!(out.contains("cent-run/bad.yaml:4:5: unknown method `publsh`"), "located: {out}");
    assert!(out.contains("did you mean `publish`?"), "{out}");
    assert!(out.contains("1 error, 0 warnings") && !out.contains("good.yaml:"), "only bad.yaml's problem: {out}");
    assert!(!out.contains("workflow.yaml"), "not a manifest: {out}");
}
