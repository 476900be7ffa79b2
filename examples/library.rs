//! The library client against a real server:
//!
//!     cargo run --example library -- http://localhost:8000 API_KEY
//!
//! Publishes into `news` with an idempotency key (a retry cannot publish
//! twice), reads the history back, sends a batch with one reply per command
//! from a spawned task, and tells a server refusal from a transport failure.

use std::time::Duration;

use cent_run::client::{Client, ClientConfig, Error, codes};
use serde_json::json;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let url = args.next().unwrap_or_else(|| "http://localhost:8000".into());
    let key = args.next().or_else(|| std::env::var("CENTRIFUGO_API_KEY").ok()).unwrap_or_default();
    let client = Client::new(ClientConfig::api(url, key))?;

    let data = json!({"title": "hello from cent-run"});
    let reply = match client.publish_with_key("news", &data, "example-hello-1").await {
        Err(e) if e.retry_safe() => client.publish_with_key("news", &data, "example-hello-1").await?,
        other => other?,
    };
    println!("published: {reply}");
    let history = client.with_timeout(Duration::from_secs(2)).history("news", 5).await?;
    println!("history: {history}");

    // A batch owns its client: build it here, send it from a task.
    let mut batch = client.batch();
    batch.add("publish", json!({"channel": "news", "data": {"n": 1}}))?;
    batch.add("publish", json!({"channel": "unknown:x", "data": {"n": 2}}))?;
    batch.add("presence_stats", json!({"channel": "news"}))?;
    let replies = tokio::spawn(async move { batch.send().await }).await??;
    for (i, reply) in replies.into_iter().enumerate() {
        match reply {
            Ok(result) => println!("command {i}: ok {result}"),
            Err(e) => println!("command {i}: server error {e}"),
        }
    }

    match client.publish("unknown:x", &1).await {
        Err(e) if e.code() == Some(codes::UNKNOWN_CHANNEL) => println!("server refused: {e}"),
        Err(e @ Error::Transport { .. }) => println!("transport failure (retry safe: {}): {e}", e.retry_safe()),
        other => println!("{other:?}"),
    }
    Ok(())
}
