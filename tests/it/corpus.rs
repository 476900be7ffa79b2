//! The invalid-manifest corpus (`tests/corpus/invalid/`): each case must
//! exit 2 with exactly the golden diagnostics (`NN-name.stderr`: location,
//! snippet, pointer, message, hint), and `run` must not open a connection
//! for any of them. `UPDATE_GOLDEN=1 cargo test corpus` rewrites the goldens;
//! review every change.

use std::path::PathBuf;

use crate::harness::{cent_run, root};

fn cases() -> Vec<PathBuf> {
    let dir = root().join("tests/corpus/invalid");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    cases.sort();
    cases
}

fn rel(p: &std::path::Path) -> String {
    p.strip_prefix(root()).unwrap().display().to_string()
}

#[test]
fn every_invalid_manifest_gets_its_golden_located_diagnostics_and_exit_2() {
    let cases = cases();
    assert!(cases.len() >= 40, "corpus has {} cases", cases.len());
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let mut mismatches = Vec::new();
    for case in &cases {
        let out = cent_run().current_dir(root()).arg("check").arg(rel(case)).env("NO_COLOR", "1").output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(2), "{}: {stderr}", rel(case));
        assert!(stderr.contains(&format!("{}:", rel(case))), "{}: no location in {stderr}", rel(case));
        assert!(stderr.ends_with("1 error, 0 warnings\n") || stderr.contains("1 error,"), "{}: {stderr}", rel(case));
        let golden = case.with_extension("stderr");
        if update {
            std::fs::write(&golden, &stderr).unwrap();
            continue;
        }
        let want = std::fs::read_to_string(&golden)
            .unwrap_or_else(|_| panic!("missing golden {}; run with UPDATE_GOLDEN=1 and review it", rel(&golden)));
        if want != stderr {
            mismatches.push(format!("--- {}\n{want}\n+++ got\n{stderr}", rel(&golden)));
        }
    }
    assert!(mismatches.is_empty(), "{} goldens differ:\n{}", mismatches.len(), mismatches.join("\n"));
}

#[test]
fn no_invalid_manifest_opens_a_connection() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    for case in cases() {
        // A `${VAR}` in `server.url` is a problem only where no flag replaces it.
        let text = std::fs::read_to_string(&case).unwrap_or_default();
        let url_is_the_problem = text.lines().any(|l| l.trim_start().starts_with("url:") && l.contains("${"));
        let mut cmd = cent_run();
        cmd.current_dir(root()).arg(rel(&case)).args(["--api-key", "k"]);
        if !url_is_the_problem {
            cmd.args(["--url", &url]);
        }
        let out = cmd.output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{}", rel(&case));
        assert!(listener.accept().is_err(), "{} made a connection", rel(&case));
    }
}

#[test]
fn the_examples_are_valid() {
    let dir = root().join("examples/manifests");
    let mut n = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "yaml") {
            let out = cent_run()
                .current_dir(root())
                .arg("check")
                .arg(rel(&p))
                .env("CENTRIFUGO_API_KEY", "k")
                .output()
                .unwrap();
            assert_eq!(out.status.code(), Some(0), "{}: {}", rel(&p), String::from_utf8_lossy(&out.stderr));
            n += 1;
        }
    }
    assert!(n >= 1);
}

#[test]
fn the_readme_manifests_are_valid() {
    // Every YAML block of the README that is a manifest passes `check`, with
    // the files its `for_each` reads made up beside it.
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let blocks: Vec<&str> = readme
        .split("```yaml\n")
        .skip(1)
        .map(|b| b.split("```").next().unwrap())
        .filter(|b| b.contains("commands:"))
        .collect();
    assert!(blocks.len() >= 2, "the README's manifests were not found");
    let dir = tempfile::tempdir().unwrap();
    for (i, block) in blocks.iter().enumerate() {
        for file in block.split("{file: ").skip(1).filter_map(|f| f.split('}').next()) {
            std::fs::write(dir.path().join(file), "u1\nu2\n").unwrap();
        }
        let path = dir.path().join(format!("readme-{i}.yaml"));
        std::fs::write(&path, block).unwrap();
        let out = cent_run().arg("check").arg(&path).env("CENTRIFUGO_API_KEY", "k").output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "README manifest {i}:\n{block}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
