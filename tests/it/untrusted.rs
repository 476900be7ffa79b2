//! A manifest is less trusted than the pipeline that runs it: it reads no
//! file outside its root (absolute paths, `..`, symlinks), puts no
//! credential or secret variable into a command, reads the environment
//! only when allowed and says which variables it reads; the key travels in
//! files, not flags; and redaction hides secrets in every output without
//! ever touching the data the server holds.

use std::os::unix::fs::PermissionsExt;

use serde_json::{Value, json};

use crate::harness::{self, API_KEY, Watch, cent_run, manifest, said, shared};

/// Each escape is refused where it is written, and nothing is sent.
#[test]
fn every_way_out_of_the_file_root_and_every_secret_in_a_command_is_refused_before_sending() {
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret.json"), r#"{"cloud": "credentials"}"#).unwrap();
    std::fs::write(outside.path().join("lines.txt"), "one\ntwo\n").unwrap();
    let root = tempfile::tempdir().unwrap();
    let jobs = root.path().join("jobs");
    std::fs::create_dir(&jobs).unwrap();
    std::os::unix::fs::symlink(outside.path().join("secret.json"), jobs.join("link.json")).unwrap();
    let abs = outside.path().join("secret.json").display().to_string();
    let watch = Watch::new();
    let cases: Vec<(&str, String, &str)> = vec![
        ("absolute path", format!("  - publish: {{channel: x, data_file: {abs}}}\n"), "is an absolute path"),
        ("`..` out of the folder", "  - publish: {channel: x, data_file: ../../x.json}\n".into(), "is outside the folder files may come from"),
        ("a symlink out", "  - publish: {channel: x, data_file: link.json}\n".into(), "is a link to"),
        (
            "for_each lines from outside",
            format!("  - publish: {{channel: x, data: {{v: \"${{item}}\"}}}}\n    for_each: {{file: {}}}\n", outside.path().join("lines.txt").display()),
            "is an absolute path",
        ),
        ("the API key's variable", "  - publish: {channel: x, data: {v: \"${CENTRIFUGO_API_KEY}\"}}\n".into(), "cannot be used in a command"),
        ("the token secret's variable", "  - publish: {channel: x, data: \"${CENTRIFUGO_TOKEN_SECRET}\"}\n".into(), "cannot be used in a command"),
        ("a secret variable", "  - publish: {channel: x, data: {v: \"${deploy_token}\"}}\n".into(), "cannot be used in a command"),
        (
            "a saved value named like a credential",
            "  - history: {channel: x, limit: 1}\n    save: {CENTRIFUGO_API_KEY: offset}\n  - publish: {channel: x, data: 1}\n".into(),
            "names a credential or a secret",
        ),
    ];
    for (what, items, message) in cases {
        let path = jobs.join("m.yaml");
        std::fs::write(&path, format!("commands:\n{items}")).unwrap();
        let out = cent_run()
            .arg(&path)
            .args(["--url", &watch.url, "--api-key", "k", "--secret-var", "deploy_token=t0k3n"])
            .env("CENTRIFUGO_API_KEY", "from-the-pipeline")
            .env("CENTRIFUGO_TOKEN_SECRET", "also-from-the-pipeline")
            .output()
            .unwrap();
        let text = said(&out);
        assert_eq!(out.status.code(), Some(2), "{what}: {text}");
        assert!(text.contains(&format!("{}:", path.display())) && text.contains(message), "{what}: {text}");
        for secret in ["from-the-pipeline", "t0k3n", "credentials", "one"] {
            assert!(!text.contains(secret), "{what} shows `{secret}`: {text}");
        }
    }
    assert_eq!(watch.connections(), 0, "nothing was sent");

    // --file-root widens the root on purpose.
    std::fs::write(root.path().join("shared.json"), r#"{"ok": 1}"#).unwrap();
    let path = jobs.join("m.yaml");
    std::fs::write(&path, "commands:\n  - publish: {channel: x, data_file: ../shared.json}\n").unwrap();
    let plan =
        |extra: &[&str]| cent_run().arg("plan").arg(&path).args(["--api-key", "k"]).args(extra).output().unwrap();
    assert_eq!(plan(&[]).status.code(), Some(2));
    let out = plan(&["--file-root", root.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", said(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains(r#""data":{"ok":1}"#));
}

#[test]
fn the_environment_is_read_only_when_allowed_and_check_says_what_is_read() {
    let (_dir, path) =
        manifest("commands:\n  - publish: {channel: x, data: {who: \"${DEPLOYER}\", where: \"${REGION:-eu}\"}}\n");
    let check = |extra: &[&str]| cent_run().arg("check").arg(&path).args(extra).env("DEPLOYER", "ci").output().unwrap();
    let out = check(&[]);
    assert_eq!(out.status.code(), Some(0), "{}", said(&out));
    assert!(said(&out).contains("reads the environment: DEPLOYER, REGION"), "{}", said(&out));
    let json: Value = serde_json::from_slice(&check(&["--format", "json"]).stdout).unwrap();
    assert_eq!(json["env_reads"], json!(["DEPLOYER", "REGION"]), "set or not, a reviewer sees both");
    // --no-env: only vars: and --var remain.
    let out = check(&["--no-env"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(said(&out).contains(&format!("{}:2:40: undefined variable `DEPLOYER`", path.display())), "{}", said(&out));
    let out = check(&["--no-env", "--var", "DEPLOYER=me"]);
    assert_eq!(out.status.code(), Some(0), "{}", said(&out));
    // The same from the manifest itself.
    let (_dir, path) =
        manifest("defaults: {env: false}\ncommands:\n  - publish: {channel: x, data: \"${DEPLOYER}\"}\n");
    let out = cent_run().arg("check").arg(&path).env("DEPLOYER", "ci").output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", said(&out));
}

#[test]
fn the_key_travels_in_a_file_newline_removed_and_a_loose_file_or_a_broken_key_is_said() {
    let server = shared();
    let (dir, path) =
        manifest(&format!("commands:\n  - publish: {{channel: {}, data: 1}}\n", harness::channel("keyfile")));
    let key = dir.path().join("key");
    std::fs::write(&key, format!("{API_KEY}\n")).unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    let run = |file: &std::path::Path| {
        cent_run().arg(&path).args(["--url", &server.url, "--api-key-file"]).arg(file).output().unwrap()
    };
    let out = run(&key);
    assert_eq!(out.status.code(), Some(0), "{}", said(&out));
    assert!(!said(&out).contains("may be read by other users"));
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = run(&key);
    assert_eq!(out.status.code(), Some(0));
    assert!(said(&out).contains("may be read by other users (mode 644)"), "{}", said(&out));
    // A key with a line break inside: a configuration error, nothing sent.
    std::fs::write(&key, "first\nsecond\n").unwrap();
    let out = run(&key);
    assert_eq!(out.status.code(), Some(2), "{}", said(&out));
    assert!(said(&out).contains("control character at position 6"), "{}", said(&out));
    assert!(!said(&out).contains("first") && !said(&out).contains("second"), "{}", said(&out));
}

/// A reply that holds the key's text is data: it comes back unchanged, is
/// saved and published again unchanged; every output hides the key.
#[test]
fn redaction_hides_the_key_in_every_output_and_never_touches_the_data() {
    let server = shared();
    let ch = harness::channel("ingredient");
    let text = format!("the {API_KEY} ingredient");
    let (dir, path) = manifest(&format!(
        "commands:\n  - publish: {{channel: {ch}, data: {{text: \"{text}\"}}}}\n  - history: {{channel: {ch}, limit: 1, reverse: true}}\n    save: {{again: publications.0.data.text}}\n  - publish: {{channel: {ch}, data: {{text: \"${{again}}\"}}}}\n  - publish: {{channel: \"nope:x\", data: \"{API_KEY}\"}}\n"
    ));
    let key = dir.path().join("key");
    std::fs::write(&key, API_KEY).unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    let files = ["r.json", "r.xml", "r.html", "summary.md", "m.prom"].map(|f| dir.path().join(f));
    let out = cent_run()
        .arg(&path)
        .args(["--url", &server.url, "--api-key-file"])
        .arg(&key)
        .args(["-vv", "--report-json"])
        .arg(&files[0])
        .arg("--report-junit")
        .arg(&files[1])
        .arg("--report-html")
        .arg(&files[2])
        .arg("--metrics-file")
        .arg(&files[4])
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_STEP_SUMMARY", &files[3])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "the last publish is refused: {}", said(&out));
    // The data: exactly as written, twice.
    let held: Vec<Value> = server.history(&ch).into_iter().map(|d| d["text"].clone()).collect();
    assert_eq!(held, [json!(text), json!(text)], "the server holds the text unchanged");
    // Every output: no key.
    let mut everything = said(&out);
    for f in &files {
        everything.push_str(&harness::read(f));
    }
    let plan = cent_run().arg("plan").arg(&path).arg("--api-key-file").arg(&key).output().unwrap();
    everything.push_str(&said(&plan));
    assert!(
        everything.contains("the *** ingredient") || everything.contains("the ********************* ingredient"),
        "masked, not dropped"
    );
    assert!(!everything.contains(API_KEY), "the key shows in an output");
}

#[test]
fn the_library_client_reads_no_file_named_in_parameters() {
    use cent_run::client::{Client, ClientConfig, Error};
    let client = Client::new(ClientConfig::api("http://127.0.0.1:9", "k")).unwrap();
    let mut batch = client.batch();
    let err = batch.add("publish", json!({"channel": "x", "data_file": "/etc/passwd"})).unwrap_err();
    assert!(matches!(err, Error::Config(_)), "{err:?}");
    assert!(err.to_string().contains("data_file"), "{err}");
}
