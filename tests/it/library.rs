//! The library as a Rust user meets it, against the real server: an
//! unsubscribe that drops a live subscriber from the named channel only
//! (and one without a channel refused before it is sent), a broadcast that fails on some
//! channels is an error naming them, an invalid URL refused when the client
//! is made, commands checked against the method table, errors that say
//! whether a retry is safe, a batch moved into a task, per-call timeouts,
//! idempotency keys, and the runner as a library.

use std::time::{Duration, Instant};

use cent_run::client::{ApiError, BroadcastError, Client, ClientConfig, Error, Protocol, Reply, codes};
use cent_run::runner;
use serde_json::json;

use crate::harness::{self, API_KEY, Server, Subscriber, cent_run, manifest, shared};

fn client(server: &Server) -> Client {
    Client::new(ClientConfig::api(&server.url, API_KEY)).unwrap()
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f)
}

fn clients_in(server: &Server, channel: &str) -> u64 {
    server.api("presence_stats", json!({"channel": channel}))["num_clients"].as_u64().unwrap()
}

/// Waits until `channel` has `n` clients (presence is eventually consistent).
fn await_clients(server: &Server, channel: &str, n: u64) -> u64 {
    let start = Instant::now();
    loop {
        let got = clients_in(server, channel);
        if got == n || start.elapsed() > Duration::from_secs(5) {
            return got;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `user` connected and subscribed to channels `a` and `b` (presence says so).
fn live_in(server: &Server, user: &str, a: &str, b: &str) -> Subscriber {
    let conn = harness::token("connect", user, &[]);
    let subscriber = Subscriber::start(server.port, &conn, 1000, 15, &json!([{"channel": a}, {"channel": b}]));
    assert_eq!((clients_in(server, a), clients_in(server, b)), (1, 1));
    subscriber
}

#[test]
fn unsubscribe_drops_a_live_subscriber_and_one_without_a_channel_is_refused_before_sending() {
    let server = shared();
    let (a, b) = (harness::channel("chat:unsub-a"), harness::channel("chat:unsub-b"));
    let user = "unsub-user";
    let subscriber = live_in(server, user, &a, &b);
    let c = client(server);
    // Without a channel the library refuses before sending: v5/v6 need a
    // channel (this server dropped every channel of the user and sent a
    // channel-less unsubscribe push that the centrifuge-python SDK fails on).
    let e = block_on(c.unsubscribe_all(user)).unwrap_err();
    assert!(matches!(e, Error::Config(ref m) if m.contains("needs a non-empty `channel`")), "{e}");
    assert_eq!((clients_in(server, &a), clients_in(server, &b)), (1, 1), "nothing was sent");
    // A named channel drops the live subscriber from that channel only.
    block_on(c.unsubscribe(user, &a)).unwrap();
    assert_eq!(await_clients(server, &a, 0), 0);
    assert_eq!(clients_in(server, &b), 1);
    drop(subscriber);
    // The manifest and `call` refuse it too (exit 2, nothing sent).
    let (_dir, path) = manifest("commands:\n  - unsubscribe: {user: u1}\n");
    let out = cent_run().arg("check").arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("`unsubscribe` needs `channel`"));
    let out = cent_run()
        .args(["call", "unsubscribe", "--params", r#"{"user":"u1"}"#, "--url", &server.url, "--api-key", API_KEY])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
}

/// Why cent-run refuses an unsubscribe without a channel (SPEC says the
/// server ignores it): sent straight to the server, it drops the user from
/// every channel.
#[test]
fn the_server_drops_every_channel_on_an_unsubscribe_without_one() {
    let server = shared();
    let (a, b) = (harness::channel("chat:unsub-all-a"), harness::channel("chat:unsub-all-b"));
    let user = "unsub-all-user";
    let _subscriber = live_in(server, user, &a, &b);
    server.api("unsubscribe", json!({"user": user}));
    assert_eq!((await_clients(server, &a, 0), await_clients(server, &b, 0)), (0, 0), "not ignored: every channel");
}

#[test]
fn a_broadcast_failing_on_some_channels_is_an_error_that_names_them_and_gives_every_outcome() {
    let server = shared();
    let ok = harness::channel("bcast");
    let e = block_on(client(server).broadcast(&[&ok, "nope:x"], &json!({"n": 1}))).unwrap_err();
    let Error::Broadcast(BroadcastError { channels }) = &e else { panic!("{e:?}") };
    assert_eq!(channels.len(), 2);
    assert_eq!(channels[0].channel, ok);
    assert!(channels[0].reply.as_ref().unwrap()["offset"].as_u64().is_some());
    assert_eq!(channels[1].reply.as_ref().unwrap_err().code, Some(codes::UNKNOWN_CHANNEL));
    assert!(e.to_string().contains("broadcast failed on 1 of 2 channels: nope:x (102 unknown channel)"), "{e}");
    assert_eq!(server.history(&ok), vec![json!({"n": 1})], "the good channel got it");
}

#[test]
fn an_invalid_url_is_refused_when_the_client_is_made() {
    for url in ["localhost:8000", "ftp://h", ""] {
        let e = Client::new(ClientConfig::api(url, "k")).unwrap_err();
        assert!(matches!(e, Error::Config(_)), "{url}: {e:?}");
    }
    let e = Client::new(ClientConfig::api("localhost:8000", "k")).unwrap_err();
    assert!(e.to_string().contains("did you mean http://localhost:8000?"), "{e}");
}

#[test]
fn commands_are_checked_against_the_method_table_before_anything_is_sent() {
    let watch = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    watch.set_nonblocking(true).unwrap();
    let c = Client::new(ClientConfig::api(format!("http://{}", watch.local_addr().unwrap()), "k")).unwrap();
    let mut batch = c.batch();
    let e = batch.add("stats", json!({})).err().unwrap();
    assert!(e.to_string().contains("exists only in protocol v1") && e.to_string().contains("use `info: {}`"), "{e}");
    let e = batch.add("publish", json!({"chanel": "news", "data": 1})).err().unwrap();
    assert!(
        e.to_string().contains("unknown field `chanel`") && e.to_string().contains("did you mean `channel`?"),
        "{e}"
    );
    let e = batch.add("history", json!({"channel": "news", "limit": "ten"})).err().unwrap();
    assert!(e.to_string().contains("`limit` must be an integer"), "{e}");
    assert!(batch.is_empty());
    assert!(watch.accept().is_err(), "nothing was sent");
    // On v1, `info` is sent as `stats`.
    let v1 = Client::new(ClientConfig::v1("http://127.0.0.1:1", "s")).unwrap();
    assert!(v1.batch().add("info", json!({})).is_ok());
    assert_eq!(v1.protocol(), Protocol::V1);
}

#[test]
fn errors_say_whether_a_retry_is_safe() {
    let server = shared();
    let ch = harness::channel("retry");
    let dead = Client::new(ClientConfig::api(format!("http://127.0.0.1:{}", harness::free_port()), API_KEY)).unwrap();
    let e = block_on(dead.publish(&ch, &1)).unwrap_err();
    assert!(e.is_transport() && e.retry_safe(), "never reached the server: {e:?}");
    let e = block_on(client(server).publish("nope:x", &1)).unwrap_err();
    assert_eq!(e.code(), Some(codes::UNKNOWN_CHANNEL));
    assert!(!e.retry_safe(), "a refusal does not go away");
    // A server that takes the request and never answers: the call times out,
    // and only a keyed publish is safe to send again.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = silent.local_addr().unwrap();
    std::thread::spawn(move || {
        let held: Vec<_> = silent.incoming().take(2).flatten().collect();
        std::thread::sleep(Duration::from_secs(5));
        drop(held);
    });
    let slow = Client::new(ClientConfig::api(format!("http://{addr}"), API_KEY)).unwrap();
    let quick = slow.with_timeout(Duration::from_millis(300));
    let started = Instant::now();
    let e = block_on(quick.publish(&ch, &1)).unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(3), "the per-call timeout applies");
    assert!(matches!(e, Error::Transport { .. }) && !e.retry_safe(), "{e:?}");
    let e = block_on(quick.publish_with_key(&ch, &1, "k-1")).unwrap_err();
    assert!(e.retry_safe(), "keyed: safe to send again");
}

#[test]
fn idempotency_keys_and_a_batch_moved_into_a_task() {
    let server = shared();
    let ch = harness::channel("keyed");
    let c = client(server);
    let first = block_on(c.publish_with_key(&ch, &json!({"v": 1}), "once")).unwrap();
    let again = block_on(c.publish_with_key(&ch, &json!({"v": 1}), "once")).unwrap();
    assert_eq!(first["offset"], again["offset"]);
    assert_eq!(server.history(&ch), vec![json!({"v": 1})]);
    let mut batch = c.batch();
    batch.add("publish", json!({"channel": ch, "data": {"v": 2}})).unwrap();
    batch.add("history", json!({"channel": ch, "limit": -1})).unwrap();
    let replies: Vec<Reply> =
        block_on(async move { tokio::spawn(async move { batch.send().await }).await.unwrap() }).unwrap();
    assert_eq!(replies.len(), 2);
    let err: Option<&ApiError> = replies[1].as_ref().err();
    assert!(err.is_none());
    assert_eq!(replies[1].as_ref().unwrap()["publications"].as_array().unwrap().len(), 2);
}

#[test]
fn the_runner_as_a_library_loads_validates_runs_and_reports() {
    let server = shared();
    let ch = harness::channel("runner");
    let text =
        format!("commands:\n  - publish: {{channel: {ch}, data: 1}}\n  - publish: {{channel: \"nope:x\", data: 2}}\n");
    let bad =
        runner::load_text("bad.yaml", "commands:\n  - publsh: {}\n", &runner::LoadOptions::default()).unwrap_err();
    assert_eq!(bad[0].location().as_deref(), Some("bad.yaml:2:5"));
    assert_eq!(bad[0].help.as_deref(), Some("did you mean `publish`?"));
    let m = runner::load_text("m.yaml", &text, &runner::LoadOptions::default()).unwrap();
    let run = block_on(runner::run(&m, &client(server), &runner::RunOptions::default(), None)).unwrap();
    let statuses: Vec<runner::Status> = run.outcomes.iter().map(|o| o.status).collect();
    assert_eq!(statuses, [runner::Status::Ok, runner::Status::Failed(runner::Failure::Refused)]);
    assert_eq!(run.summary().failed, 1);
    assert_eq!(m.commands[1].line(), 3);
    assert_eq!(server.history(&ch), vec![json!(1)]);
}

/// What a library user meets beyond the happy path: the runner spawned on
/// a multi-thread runtime (an axum handler starting a job), equal commands
/// applied as many times as written, a shard doing its part only, the
/// manifest's `server:` and `defaults:` handed back, and wrong options or a
/// protocol mismatch refused before anything is sent.
#[test]
fn the_runner_spawns_counts_equal_commands_shards_and_refuses_what_cannot_work() {
    let server = shared();
    let ch = harness::channel("lib-run");
    let other = harness::channel("lib-run-other");
    let text = format!(
        "server: {{url: {url}, api_key: {API_KEY}}}\ndefaults: {{concurrency: 3, retries: 1}}\ncommands:\n  - publish: {{channel: {ch}, data: same}}\n  - publish: {{channel: {ch}, data: same}}\n  - publish: {{channel: {other}, data: x}}\n",
        url = server.url
    );
    let m = runner::load_text("m.yaml", &text, &runner::LoadOptions::default()).unwrap();

    // The manifest's own settings, for the caller to apply.
    let settings = runner::settings(&m).unwrap();
    assert_eq!(settings.options.concurrency, 3);
    assert_eq!(settings.options.retry.retries, 1);
    assert_eq!(settings.clients.len(), 1);
    assert_eq!(settings.clients[0].url, server.url);
    let c = Client::new(settings.clients[0].clone()).unwrap();

    // Spawned on a multi-thread runtime: the future is Send.
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let m = std::sync::Arc::new(m);
    let (m2, c2, opts) = (m.clone(), c.clone(), settings.options.clone());
    let run = rt
        .block_on(async move { tokio::spawn(async move { runner::run(&m2, &c2, &opts, None).await }).await })
        .unwrap()
        .unwrap();
    assert_eq!(run.summary().ok, 3, "{:?}", run.outcomes);
    // Two equal publishes are two publications (their keys differ by occurrence).
    assert_eq!(server.history(&ch), vec![json!("same"), json!("same")]);

    // A shard runs its part; the other part's commands are NotSelected.
    let parts: Vec<runner::Run> = (0..2)
        .map(|part| {
            let opts = runner::RunOptions { shard: Some((part, 2)), ..runner::RunOptions::default() };
            block_on(runner::run(&m, &c, &opts, None)).unwrap()
        })
        .collect();
    for i in 0..3 {
        let mine: Vec<runner::Status> = parts.iter().map(|r| r.outcomes[i].status).collect();
        assert_eq!(
            mine.iter().filter(|s| **s == runner::Status::Ok).count(),
            1,
            "command {i} runs in exactly one part: {mine:?}"
        );
        assert!(mine.contains(&runner::Status::Skipped(runner::SkipReason::NotSelected)), "{mine:?}");
    }
    assert_eq!(server.history(&ch).len(), 4, "the two parts together published both again, once each");

    // Options out of range and a protocol mismatch: errors, nothing sent.
    for (bad, says) in [
        (runner::RunOptions { rate: Some(0.0), ..runner::RunOptions::default() }, "rate must be a positive number"),
        (runner::RunOptions { concurrency: 0, ..runner::RunOptions::default() }, "concurrency must be at least 1"),
        (runner::RunOptions { shard: Some((2, 2)), ..runner::RunOptions::default() }, "shard (2, 2)"),
    ] {
        let err = block_on(runner::run(&m, &c, &bad, None)).unwrap_err();
        assert!(matches!(err, runner::RunError::Options(_)) && err.to_string().contains(says), "{err}");
    }
    let legacy = Client::new(ClientConfig::legacy(&server.url, API_KEY)).unwrap();
    let err = block_on(runner::run(&m, &legacy, &runner::RunOptions::default(), None)).unwrap_err();
    assert_eq!(err, runner::RunError::Protocol { manifest: Protocol::Api, client: Protocol::Legacy });
    assert!(!err.to_string().contains("--"), "a library message names no flag: {err}");
    assert_eq!(server.history(&ch).len(), 4, "nothing more was sent");

    // Library messages name the library's options, not the tool's flags.
    let undefined = runner::load_text(
        "u.yaml",
        "commands:\n  - publish: {channel: x, data: \"${nope}\"}\n",
        &runner::LoadOptions::default(),
    )
    .unwrap_err();
    let help = undefined[0].help.clone().unwrap_or_default();
    assert!(help.contains("`nope` in LoadOptions::vars") && !help.contains("--var"), "{help}");
}

/// `examples/runner.rs`, built by `cargo test` like every example, run as
/// its doc says: every outcome printed by its listener, the publications
/// on the server, exit 1 when a command was refused.
#[test]
fn the_runner_example_runs_a_manifest_with_its_listener() {
    let server = shared();
    let ch = harness::channel("example-runner");
    let exe = std::path::Path::new(env!("CARGO_BIN_EXE_cent-run")).with_file_name("examples").join("runner");
    assert!(exe.exists(), "{} was not built (cargo test builds the examples)", exe.display());
    let (_dir, path) = manifest(&format!(
        "defaults: {{concurrency: 2}}\ncommands:\n  - publish: {{channel: {ch}, data: 1}}\n  - publish: {{channel: {ch}, data: 2}}\n  - publish: {{channel: \"nope:x\", data: 3}}\n"
    ));
    let out = std::process::Command::new(&exe).arg(&path).arg(&server.url).arg(API_KEY).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("[3/3] line"), "{stderr}");
    assert!(stderr.contains("line 5 publish failed: 102 unknown channel"), "{stderr}");
    assert!(
        String::from_utf8_lossy(&out.stdout).starts_with("3 commands: 2 ok, 1 failed"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(server.history(&ch), vec![json!(1), json!(2)]);
}
