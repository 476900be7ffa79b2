//! An in-test Centrifugo 1.x API server: no v1 binary runs on today's
//! machines, so this reproduces what v1.8.0's `libcentrifugo/server`
//! handler did with an API request (centrifugo-api.md §3.2): route
//! `/api/`, `X-API-Sign` = hex(HMAC-SHA256(secret, body)) checked exactly
//! (missing → 400, wrong → 401), a JSON object or array of commands, an
//! unknown method fails the whole request (400), replies as a JSON array of
//! `{method, error, body}`. It records every request it accepted.

use std::collections::HashMap;
use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;

use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub sign: String,
    pub body: Vec<u8>,
}

#[derive(Default)]
pub struct V1State {
    pub received: Vec<Received>,
    pub history: HashMap<String, Vec<Value>>,
}

pub struct V1Server {
    pub url: String,
    pub state: Arc<Mutex<V1State>>,
}

impl V1Server {
    pub fn start(secret: &str) -> V1Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(V1State::default()));
        let (st, secret) = (state.clone(), secret.to_owned());
        thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let (st, secret) = (st.clone(), secret.clone());
                thread::spawn(move || serve(conn, &secret, &st));
            }
        });
        V1Server { url, state }
    }

    pub fn received(&self) -> Vec<Received> {
        self.state.lock().unwrap().received.clone()
    }

    pub fn history(&self, channel: &str) -> Vec<Value> {
        self.state.lock().unwrap().history.get(channel).cloned().unwrap_or_default()
    }
}

fn serve(conn: TcpStream, secret: &str, state: &Mutex<V1State>) {
    let mut reader = std::io::BufReader::new(conn.try_clone().unwrap());
    let mut conn = conn;
    while let Some((head, body)) = crate::proxy::read_request(&mut reader) {
        let path = head[0].split_whitespace().nth(1).unwrap_or("").to_owned();
        let header = |name: &str| {
            head[1..].iter().find_map(|h| {
                let (k, v) = h.split_once(':')?;
                k.trim().eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
            })
        };
        let (status, reply) = handle(&path, header("content-type"), header("x-api-sign"), &body, secret, state);
        let text =
            format!("HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n", reply.len());
        if conn.write_all(text.as_bytes()).and_then(|_| conn.write_all(reply.as_bytes())).is_err() {
            return;
        }
    }
}

fn handle(
    path: &str,
    content_type: Option<String>,
    sign: Option<String>,
    body: &[u8],
    secret: &str,
    state: &Mutex<V1State>,
) -> (&'static str, String) {
    if !path.starts_with("/api/") {
        return ("404 Not Found", String::new());
    }
    if !content_type.is_some_and(|c| c.to_ascii_lowercase().starts_with("application/json")) {
        return ("400 Bad Request", String::new());
    }
    let Some(sign) = sign.filter(|s| !s.is_empty()) else { return ("400 Bad Request", String::new()) };
    if body.is_empty() {
        return ("400 Bad Request", String::new());
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    let Ok(given) = hex::decode(&sign) else { return ("401 Unauthorized", String::new()) };
    if sign.len() != 64 || mac.verify_slice(&given).is_err() {
        return ("401 Unauthorized", String::new());
    }
    let commands: Vec<Value> = match serde_json::from_slice::<Value>(body) {
        Ok(Value::Array(a)) => a,
        Ok(o @ Value::Object(_)) => vec![o],
        _ => return ("400 Bad Request", String::new()),
    };
    let known =
        ["publish", "broadcast", "unsubscribe", "disconnect", "presence", "history", "channels", "stats", "node"];
    if commands.iter().any(|c| !known.contains(&c["method"].as_str().unwrap_or(""))) {
        return ("400 Bad Request", String::new());
    }
    let mut st = state.lock().unwrap();
    st.received.push(Received { path: path.to_owned(), sign, body: body.to_vec() });
    let mut replies = Vec::new();
    for c in commands {
        let method = c["method"].as_str().unwrap().to_owned();
        let p = &c["params"];
        let bad_ns = |ch: &str| ch.starts_with("unknownns:");
        let (error, body) = match method.as_str() {
            "publish" | "broadcast" => {
                let chans: Vec<String> = match method.as_str() {
                    "publish" => vec![p["channel"].as_str().unwrap_or("").to_owned()],
                    _ => p["channels"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect(),
                };
                if chans.iter().any(|c| bad_ns(c)) {
                    (json!("namespace not found"), Value::Null)
                } else {
                    for ch in chans {
                        st.history.entry(ch).or_default().push(p["data"].clone());
                    }
                    (Value::Null, Value::Null)
                }
            }
            "history" => {
                let ch = p["channel"].as_str().unwrap_or("");
                let mut items: Vec<Value> = st.history.get(ch).cloned().unwrap_or_default();
                items.reverse();
                let data: Vec<Value> =
                    items.into_iter().map(|d| json!({"uid": "x", "channel": ch, "data": d})).collect();
                (Value::Null, json!({"channel": ch, "data": data}))
            }
            "presence" => (Value::Null, json!({"channel": p["channel"], "data": {}})),
            "channels" => (Value::Null, json!({"data": st.history.keys().collect::<Vec<_>>()})),
            "stats" => (
                Value::Null,
                json!({"data": {"nodes": [{"uid": "n1", "version": "1.8.0", "name": "v1-test"}], "metrics_interval": 60}}),
            ),
            _ => (Value::Null, Value::Null),
        };
        let mut reply = serde_json::Map::new();
        reply.insert("method".into(), json!(method));
        reply.insert("error".into(), error.clone());
        if !error.is_null() {
            reply.insert("advice".into(), json!("fix"));
        }
        reply.insert("body".into(), body);
        replies.push(Value::Object(reply));
    }
    ("200 OK", serde_json::to_string(&replies).unwrap())
}
