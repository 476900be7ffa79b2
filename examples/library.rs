//! The library client against a real server:
//!
//!     cargo run --example library -- http://localhost:8000 API_KEY
//!
//! Publishes into `news`, reads the history back, and sends a batch with
//! one reply per command; a server error reply and a transport failure are
//! told apart by the error type.

use cent_run::client::{Client, ClientConfig, Error};
use serde_json::json;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let url = args.next().unwrap_or_else(|| "http://localhost:8000".into());
    let key = args.next().or_else(|| std::env::var("CENTRIFUGO_API_KEY").ok()).unwrap_or_default();
    let client = Client::new(ClientConfig::api(url, key))?;

    let reply = client.publish("news", &json!({"title": "hello from cent-run"})).await?;
    println!("published: {reply}");
    let history = client.history("news", 5).await?;
    println!("history: {history}");

    let mut batch = client.batch();
    batch.add("publish", json!({"channel": "news", "data": {"n": 1}}))?;
    batch.add("publish", json!({"channel": "unknown:x", "data": {"n": 2}}))?;
    batch.add("presence_stats", json!({"channel": "news"}))?;
    for (i, reply) in batch.send().await?.into_iter().enumerate() {
        match reply {
            Ok(result) => println!("command {i}: ok {result}"),
            Err(e) => println!("command {i}: server error {e}"),
        }
    }

    match client.publish("unknown:x", &1).await {
        Err(Error::Server(e)) => println!("server refused: {e}"),
        Err(e) if e.is_transport() => println!("transport failure: {e}"),
        other => println!("{other:?}"),
    }
    Ok(())
}
