//! sdk-publish: the job of bench/run.sh's cent-run contender, written by hand
//! on the official Centrifugo Rust SDK (`cent` 0.1).
//!
//! `count` publishes `{channel: bench-<i % channels>, data: {n: i, text: "payload i"}}`
//! (bench/gen.py's manifest), in batches of `batch` commands through the SDK's
//! batch API, `concurrency` batches in flight, each publish with the
//! idempotency key `cent-run-<run id>-<i>` unless `--no-keys`.
//!
//! Per-channel order: task `w` of the `concurrency` tasks owns the channels
//! `c` with `c % concurrency == w`. It walks its own publishes in order, cuts
//! them into batches and sends one batch at a time; a batch is not parallel
//! (`BatchOptions::default()`), so Centrifugo runs its commands in order. Every
//! channel's publishes thus come from one task, in order, and no two batches
//! of one channel are ever in flight at once.
//!
//! Every reply is checked: `Batch::send` fails unless Centrifugo replied to
//! every command (a reply count other than the command count is an error) and
//! no reply is an error; each command's own outcome is then checked too. Any
//! failure exits non-zero with a message. The SDK does not retry batches.
//!
//! Options (flags, or the environment for the first two):
//!   --url URL            server URL, e.g. http://127.0.0.1:8000 (or CENTRIFUGO_URL);
//!                        `/api` is appended unless it ends with it
//!   --api-key KEY        (or CENTRIFUGO_API_KEY)
//!   --count N            20000     --channels N     20
//!   --batch N            100       --concurrency N  4
//!   --no-keys            send no idempotency keys
use std::process::ExitCode;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use cent::{BatchOptions, Client, Config, PublishRequest};

#[derive(serde::Serialize)]
struct Data {
    n: usize,
    text: String,
}

struct Args {
    url: String,
    api_key: String,
    count: usize,
    channels: usize,
    batch: usize,
    concurrency: usize,
    keys: bool,
}

fn args() -> Result<Args, String> {
    let mut a = Args {
        url: std::env::var("CENTRIFUGO_URL").unwrap_or_default(),
        api_key: std::env::var("CENTRIFUGO_API_KEY").unwrap_or_default(),
        count: 20_000,
        channels: 20,
        batch: 100,
        concurrency: 4,
        keys: true,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--no-keys" {
            a.keys = false;
            continue;
        }
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let number =
            || value.parse::<usize>().ok().filter(|&n| n > 0).ok_or(format!("{flag}: not a positive integer: {value}"));
        match flag.as_str() {
            "--url" => a.url = value.clone(),
            "--api-key" => a.api_key = value.clone(),
            "--count" => a.count = number()?,
            "--channels" => a.channels = number()?,
            "--batch" => a.batch = number()?,
            "--concurrency" => a.concurrency = number()?,
            _ => return Err(format!("unknown option {flag}")),
        }
    }
    if a.url.is_empty() {
        return Err("--url (or CENTRIFUGO_URL) is required".into());
    }
    Ok(a)
}

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sdk-publish: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), String> {
    let a = args()?;
    let url = a.url.trim_end_matches('/');
    let endpoint = if url.ends_with("/api") { url.to_owned() } else { format!("{url}/api") };
    let client = Client::new(Config::new(endpoint).api_key(a.api_key.clone())).map_err(|e| e.to_string())?;
    // Unique per process run, as cent-run's: the server must really publish.
    let t = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_micros());
    let run_id = format!("{t:x}{:04x}", std::process::id() & 0xffff);

    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for w in 0..a.concurrency {
        let (client, run_id) = (client.clone(), run_id.clone());
        let (count, channels, batch, concurrency, keys) = (a.count, a.channels, a.batch, a.concurrency, a.keys);
        tasks.spawn(async move {
            let mine: Vec<usize> = (0..count).filter(|i| i % channels % concurrency == w).collect();
            for chunk in mine.chunks(batch) {
                let mut b = client.new_batch(BatchOptions::default());
                let mut pending = Vec::with_capacity(chunk.len());
                for &i in chunk {
                    let data = cent::json(&Data { n: i, text: format!("payload {i}") }).map_err(|e| e.to_string())?;
                    let mut req = PublishRequest::new(format!("bench-{}", i % channels)).data(data);
                    if keys {
                        req = req.idempotency_key(format!("cent-run-{run_id}-{i}"));
                    }
                    pending.push((i, b.publish(req)));
                }
                let first = chunk[0];
                b.send().await.map_err(|e| format!("batch starting at publish #{first}: {e}"))?;
                for (i, p) in &pending {
                    p.result().map_err(|e| format!("publish #{i}: {e}"))?;
                }
            }
            Ok::<usize, String>(mine.len())
        });
    }
    let mut sent = 0;
    while let Some(r) = tasks.join_next().await {
        sent += r.map_err(|e| format!("task failed: {e}"))??;
    }
    let secs = started.elapsed().as_secs_f64();
    if sent != a.count {
        return Err(format!("sent {sent} of {} publishes", a.count));
    }
    println!("sent {sent} publishes in {secs:.3} s ({:.0}/s)", sent as f64 / secs);
    Ok(())
}
