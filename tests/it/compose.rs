//! Jobs that compose, against the real server: `--tags` and `--only` run a
//! part of a manifest and a later whole run sends nothing twice (the cron
//! example's two announcements); `finally:` runs after a refusal, after
//! `--fail-fast` and after Ctrl-C (the maintenance example), and counts in
//! the exit code; `include:` takes in a shared `server.yaml` with the
//! including file's variables winning and problems located in the file
//! they are in; variable files layer, and secret ones never show.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::harness::{self, API_KEY, Server, cent_run, manifest, report, root, said, shared};

#[test]
fn the_cron_announcements_go_out_by_tag_and_a_whole_run_later_sends_nothing_twice() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let job = dir.path().join("announce.yaml");
    std::fs::copy(root().join("examples/cron/announce.yaml"), &job).unwrap();
    let state = dir.path().join("announce.state");
    let r = dir.path().join("r.json");
    let run = |extra: &[&str]| {
        cent_run()
            .arg(&job)
            .args(["--url", &server.url, "--api-key", API_KEY, "--var", "day=2026-12-04", "--run-id", "announce-1"])
            .arg("--state")
            .arg(&state)
            .arg("--report-json")
            .arg(&r)
            .args(extra)
            .output()
            .unwrap()
    };
    let titles = || -> Vec<Value> { server.history("news").into_iter().map(|d| d["title"].clone()).collect() };

    let out = run(&["--tags", "morning"]);
    assert_eq!(out.status.code(), Some(0), "{}", said(&out));
    assert_eq!(titles(), [json!("Daily digest 2026-12-04")]);
    let rep = report(&r);
    assert_eq!(rep["commands"][1]["status"], "skipped");
    assert_eq!(rep["commands"][1]["reason"], "not_selected");
    assert_eq!(rep["commands"][1]["detail"], "--tags morning");
    assert_eq!(rep["commands"][0]["tags"], json!(["morning"]));

    let out = run(&["--tags", "evening"]);
    assert_eq!(out.status.code(), Some(0), "{}", said(&out));
    assert_eq!(titles(), [json!("Daily digest 2026-12-04"), json!("Evening recap 2026-12-04")]);

    // The whole job again, the same day: both parts were applied.
    let out = run(&[]);
    assert_eq!(out.status.code(), Some(0), "{}", said(&out));
    assert_eq!(titles().len(), 2, "nothing sent twice");
    let reasons: Vec<Value> = report(&r)["commands"].as_array().unwrap().iter().map(|c| c["reason"].clone()).collect();
    assert_eq!(reasons, [json!("already_applied"), json!("already_applied")]);

    // A tag or name that is not there is a typo, not an empty run.
    let out = run(&["--tags", "mornin"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(said(&out).contains("--tags mornin: no command has the tag `mornin`"), "{}", said(&out));
    assert!(said(&out).contains("did you mean `morning`?"), "{}", said(&out));
    let out = run(&["--only", "evening recp"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(said(&out).contains("did you mean `evening recap`?"), "{}", said(&out));
    assert_eq!(titles().len(), 2, "nothing sent by the refused runs");
}

#[test]
fn a_selected_command_needing_a_value_saved_by_a_left_out_one_is_refused_at_its_line() {
    let (_dir, path) = manifest(
        "commands:\n  - publish: {channel: a, data: 1}\n    save: {pos: offset}\n    tags: [write]\n  - history: {channel: a, limit: 1, since: {offset: \"${pos}\", epoch: e}}\n    tags: [read]\n",
    );
    let out = cent_run().arg("check").arg(&path).args(["--tags", "read"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let text = said(&out);
    assert!(
        text.contains(&format!(
            "{}:5:5: `${{pos}}` is saved by a command that is not selected ({}:2)",
            path.display(),
            path.display()
        )),
        "{text}"
    );
    // `plan` shows what runs and says what does not.
    let out = cent_run().arg("plan").arg(&path).args(["--tags", "write", "--api-key", "k"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("# left out: 1 of 2 commands, not selected by --tags write\n"), "{text}");
    assert!(text.contains("# run ") && text.contains(": 1 command in 1 request"), "{text}");
}

#[test]
fn finally_runs_after_a_refusal_and_fail_fast_and_counts_in_the_exit_code() {
    let server = shared();
    let ch = harness::channel("work");
    let done = harness::channel("done");
    let (dir, path) = manifest(&format!(
        "commands:\n  - publish: {{channel: {ch}, data: 1}}\n  - publish: {{channel: \"nope:x\", data: 2}}\n  - publish: {{channel: {ch}, data: 3}}\nfinally:\n  - name: clean up\n    publish: {{channel: {done}, data: over}}\n"
    ));
    let r = dir.path().join("r.json");
    let junit = dir.path().join("r.xml");
    let out = cent_run()
        .arg(&path)
        .args(["--url", &server.url, "--api-key", API_KEY, "--fail-fast", "--concurrency", "1", "--batch-size", "1"])
        .arg("--report-json")
        .arg(&r)
        .arg("--report-junit")
        .arg(&junit)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", said(&out));
    assert_eq!(server.history(&ch), [json!(1)], "--fail-fast stopped the commands");
    assert_eq!(server.history(&done), [json!("over")], "the clean-up ran all the same");
    let rep = report(&r);
    let rows: Vec<(Value, Value, Value)> = rep["commands"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["status"].clone(), c["reason"].clone(), c["finally"].clone()))
        .collect();
    assert_eq!(
        rows,
        [
            (json!("ok"), Value::Null, json!(false)),
            (json!("failed"), json!("refused"), json!(false)),
            (json!("skipped"), json!("fail_fast"), json!(false)),
            (json!("ok"), Value::Null, json!(true)),
        ]
    );
    let table = String::from_utf8_lossy(&out.stdout);
    let below: Vec<&str> = table.lines().skip_while(|l| *l != " finally:").collect();
    assert!(below.get(1).is_some_and(|l| l.contains("clean up") && l.contains(" ok ")), "{table}");
    assert!(harness::read(&junit).contains(&format!("classname=\"{} (finally)\"", path.display())));

    // The clean-up's own failure is the run's failure.
    let (_dir, path) = manifest(&format!(
        "commands:\n  - publish: {{channel: {ch}, data: 4}}\nfinally:\n  - publish: {{channel: \"nope:y\", data: over}}\n"
    ));
    let out = cent_run().arg(&path).args(["--url", &server.url, "--api-key", API_KEY]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", said(&out));
}

#[test]
fn the_maintenance_example_says_it_is_over_even_when_stopped_by_ctrl_c() {
    let server = Server::start();
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("cent-run"))
        .current_dir(root())
        .arg("examples/cron/maintenance.yaml")
        .args(["--url", &server.url, "--api-key", API_KEY, "--quiet"])
        .env("GRACE", "30s")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The warning goes out, then the job waits its 30 s grace.
    let start = Instant::now();
    while server.history("news").is_empty() {
        assert!(start.elapsed() < Duration::from_secs(10), "no warning broadcast");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap().success());
    let signalled = Instant::now();
    let status = child.wait().unwrap();
    assert!(signalled.elapsed() < Duration::from_secs(8), "finally is quick, the rest was stopped");
    assert_eq!(status.code(), Some(130));
    let texts: Vec<Value> = server.history("news").into_iter().map(|d| d["text"].clone()).collect();
    assert_eq!(texts, [json!("maintenance in 30s: please save your work"), json!("maintenance is over")]);
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert!(err.contains("SIGINT"), "{err}");
}

#[test]
fn include_takes_in_a_shared_server_and_the_including_files_variables_win() {
    let server = shared();
    let ch = harness::channel("included");
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("shared")).unwrap();
    std::fs::write(
        dir.path().join("shared/server.yaml"),
        format!("server:\n  url: {}\n  api_key: ${{KEY}}\nvars:\n  channel: {ch}\n  who: shared\n", server.url),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("shared/smoke.yaml"),
        "commands:\n  - history: {channel: \"${channel}\", limit: 10}\n    expect: {publications: {len: 1}}\n",
    )
    .unwrap();
    let job = dir.path().join("job.yaml");
    std::fs::write(
        &job,
        "include: shared/server.yaml\nvars:\n  who: job\ncommands:\n  - publish: {channel: \"${channel}\", data: {by: \"${who}\"}}\ninclude_after: x\n",
    )
    .unwrap();
    // A typo in the including file is located there.
    let out = cent_run().arg(&job).env("KEY", API_KEY).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(said(&out).contains("unknown top-level key `include_after`"), "{}", said(&out));
    std::fs::write(
        &job,
        "include: shared/server.yaml\nvars:\n  who: job\ncommands:\n  - publish: {channel: \"${channel}\", data: {by: \"${who}\"}}\n",
    )
    .unwrap();
    // No --url, no key flag: the shared file says where and how.
    let out = cent_run().arg(&job).env("KEY", API_KEY).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", said(&out));
    assert_eq!(server.history(&ch), [json!({"by": "job"})], "the including file's `who` wins");

    // Written after `commands:`, an include's commands run after them.
    let job2 = dir.path().join("job2.yaml");
    std::fs::write(
        &job2,
        "commands:\n  - publish: {channel: \"${channel}\", data: {by: second}}\ninclude: [shared/server.yaml, shared/smoke.yaml]\n",
    )
    .unwrap();
    let r = dir.path().join("r.json");
    let out = cent_run().arg(&job2).env("KEY", API_KEY).arg("--report-json").arg(&r).output().unwrap();
    assert_eq!(out.status.code(), Some(4), "the smoke check sees two publications: {}", said(&out));
    let places: Vec<String> = report(&r)["commands"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| format!("{}:{}", c["manifest"].as_str().unwrap(), c["line"]))
        .collect();
    let shown = |p: &str| dir.path().join(p).display().to_string();
    assert_eq!(places, [format!("{}:2", shown("job2.yaml")), format!("{}:2", shown("shared/smoke.yaml"))]);

    // A problem in an included file is located there, with how it came in.
    std::fs::write(dir.path().join("shared/smoke.yaml"), "commands:\n  - histroy: {channel: x}\n").unwrap();
    let out = cent_run().arg("check").arg(&job2).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let text = said(&out);
    assert!(text.contains(&format!("{}:2:5: unknown method `histroy`", shown("shared/smoke.yaml"))), "{text}");
    assert!(text.contains(&format!("did you mean `history`? (included from {}:3)", shown("job2.yaml"))), "{text}");

    // A cycle, and a path out of the root.
    std::fs::write(dir.path().join("shared/smoke.yaml"), "include: ../job3.yaml\ncommands: []\n").unwrap();
    let job3 = dir.path().join("job3.yaml");
    std::fs::write(&job3, "include: shared/smoke.yaml\ncommands: []\n").unwrap();
    let out = cent_run().arg("check").arg(&job3).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(said(&out).contains("`../job3.yaml` includes, in the end, the file that includes it"), "{}", said(&out));
    std::fs::write(&job3, "include: ../../etc/passwd\ncommands: []\n").unwrap();
    let out = cent_run().arg("check").arg(&job3).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        said(&out).contains("`include` ../../etc/passwd is outside the folder files may come from"),
        "{}",
        said(&out)
    );
}

#[test]
fn the_examples_take_in_their_shared_server_file() {
    let out = cent_run()
        .current_dir(root())
        .args(["plan", "examples/manifests/smoke.yaml", "examples/manifests/broadcast.yaml"])
        .env("CENTRIFUGO_URL", "http://rt.example:8000")
        .env("CENTRIFUGO_API_KEY", "k")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", said(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("POST http://rt.example:8000/api/batch"), "{text}");
    // Taken in once for the run, though both include it.
    assert_eq!(text.matches("shared/server.yaml").count(), 0, "it has no commands of its own");
}

#[test]
fn variable_files_layer_and_a_secret_one_never_shows() {
    let server = shared();
    let ch = harness::channel("varfile");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.yaml");
    std::fs::write(
        &path,
        "server: {api_key: \"${key}\"}\nvars:\n  limit: 9\ncommands:\n  - publish: {channel: \"${channel}\", data: {n: \"${n}\", note: \"${note}\"}}\n  - history: {channel: \"${channel}\", limit: \"${limit}\"}\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("base.yaml"), format!("channel: {ch}\nn: 1\nnote: base\nlimit: 5\n")).unwrap();
    std::fs::write(dir.path().join("over.env"), "# later files win\nn=2\nnote=\"from the dotenv file\"\n").unwrap();
    std::fs::write(dir.path().join("secret.env"), format!("key={API_KEY}\n")).unwrap();
    let r = dir.path().join("r.json");
    let out = cent_run()
        .arg(&path)
        .args(["--url", &server.url, "-vv"])
        .args([
            "--var-file",
            "base.yaml",
            "--var-file",
            "over.env",
            "--secret-var-file",
            "secret.env",
            "--var",
            "limit=1",
        ])
        .arg("--report-json")
        .arg(&r)
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", said(&out));
    // Typed: `n` a number from either file; the dotenv value wins; --var wins over all.
    assert_eq!(server.history(&ch), [json!({"n": 2, "note": "from the dotenv file"})]);
    assert_eq!(report(&r)["commands"][1]["result"]["publications"].as_array().map(Vec::len), Some(1), "limit 1");
    let everything = format!("{}{}", said(&out), harness::read(&r));
    assert!(!everything.contains(API_KEY), "the secret variable's value shows: {everything}");

    // A secret variable never goes into a command.
    std::fs::write(&path, "commands:\n  - publish: {channel: x, data: \"${key}\"}\n").unwrap();
    let out = cent_run()
        .arg("check")
        .arg(&path)
        .args(["--secret-var-file", "secret.env"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(said(&out).contains("`${key}` cannot be used in a command"), "{}", said(&out));
}
