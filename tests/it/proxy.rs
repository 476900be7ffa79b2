//! A fault-injecting HTTP proxy written for the tests, in front of the real
//! Centrifugo: it parses each HTTP/1.1 request, then per a fixed schedule
//! forwards it normally, drops the connection before forwarding, drops it
//! after the server applied the request, answers 503 itself, or holds the
//! server's answer past the client's timeout. The real server never
//! injects faults, so this is the only way to test them. It also logs when
//! each request arrived and was answered (the barrier tests read it).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    Pass,
    /// Close the client connection without forwarding.
    ResetBefore,
    /// Forward, let the server apply it, close without answering.
    ResetAfter,
    /// Answer with this status without forwarding (400, 502, 503).
    Status(u16),
    /// Forward, then hold the answer this long before sending it.
    Hold(Duration),
}

pub struct Proxy {
    pub url: String,
    pub stats: Arc<Stats>,
    stop: Arc<AtomicBool>,
}

#[derive(Default)]
pub struct Stats {
    pub requests: AtomicUsize,
    pub faults: Mutex<Vec<Fault>>,
    /// Every request: when it arrived, when its answer left, its body.
    pub log: Mutex<Vec<Logged>>,
}

#[derive(Debug, Clone)]
pub struct Logged {
    pub arrived: Instant,
    pub answered: Option<Instant>,
    pub body: String,
}

impl Proxy {
    /// Proxies to `upstream_port`; request `n` (from 0) gets `schedule(n)`.
    pub fn start(upstream_port: u16, schedule: impl Fn(usize) -> Fault + Send + Sync + 'static) -> Proxy {
        Proxy::start_by_body(upstream_port, move |n, _| schedule(n))
    }

    /// Proxies to `upstream_port`; request `n` (from 0) with body `body`
    /// gets `rule(n, body)` — e.g. a 400 for any request that carries a
    /// marked command, as a server refuses a whole batch for one bad field.
    pub fn start_by_body(upstream_port: u16, rule: impl Fn(usize, &str) -> Fault + Send + Sync + 'static) -> Proxy {
        let schedule = rule;
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let stats = Arc::new(Stats::default());
        let stop = Arc::new(AtomicBool::new(false));
        let schedule = Arc::new(schedule);
        let (st, sp) = (stats.clone(), stop.clone());
        listener.set_nonblocking(true).unwrap();
        thread::spawn(move || {
            while !sp.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((conn, _)) => {
                        let (st, schedule) = (st.clone(), schedule.clone());
                        conn.set_nonblocking(false).unwrap();
                        thread::spawn(move || serve(conn, upstream_port, &st, &*schedule));
                    }
                    Err(_) => thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Proxy { url, stats, stop }
    }

    pub fn faults(&self) -> Vec<Fault> {
        self.stats.faults.lock().unwrap().clone()
    }

    pub fn log(&self) -> Vec<Logged> {
        self.stats.log.lock().unwrap().clone()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn serve(conn: TcpStream, upstream: u16, stats: &Stats, schedule: &dyn Fn(usize, &str) -> Fault) {
    conn.set_read_timeout(Some(Duration::from_secs(30))).ok();
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut conn = conn;
    loop {
        let Some((head, body)) = read_request(&mut reader) else { return };
        let arrived = Instant::now();
        let n = stats.requests.fetch_add(1, Ordering::SeqCst);
        let fault = schedule(n, &String::from_utf8_lossy(&body));
        stats.faults.lock().unwrap().push(fault);
        match fault {
            Fault::ResetBefore => return,
            Fault::Status(code) => {
                let _ =
                    conn.write_all(format!("HTTP/1.1 {code} Proxy Says No\r\nContent-Length: 0\r\n\r\n").as_bytes());
                continue;
            }
            _ => {}
        }
        let Some((status_line, resp)) = forward(upstream, &head, &body) else { return };
        match fault {
            Fault::ResetAfter => return,
            Fault::Hold(d) => thread::sleep(d),
            _ => {}
        }
        let msg = format!("{status_line}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n", resp.len());
        let sent = conn.write_all(msg.as_bytes()).and_then(|_| conn.write_all(&resp));
        let body = String::from_utf8_lossy(&body).into_owned();
        stats.log.lock().unwrap().push(Logged { arrived, answered: Some(Instant::now()), body });
        if sent.is_err() {
            return;
        }
    }
}

pub fn read_request(r: &mut BufReader<TcpStream>) -> Option<(Vec<String>, Vec<u8>)> {
    let mut head = Vec::new();
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end().to_owned();
        if line.is_empty() {
            break;
        }
        head.push(line);
    }
    let len = head
        .iter()
        .find_map(|h| {
            h.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse::<usize>().unwrap_or(0))
        })
        .unwrap_or(0);
    let mut body = vec![0; len];
    r.read_exact(&mut body).ok()?;
    Some((head, body))
}

/// Sends the request upstream as HTTP/1.0 (no chunking; closed after the answer).
fn forward(port: u16, head: &[String], body: &[u8]) -> Option<(String, Vec<u8>)> {
    let mut up = TcpStream::connect(("127.0.0.1", port)).ok()?;
    let request_line = head[0].replace("HTTP/1.1", "HTTP/1.0");
    let mut out = format!("{request_line}\r\n");
    for h in &head[1..] {
        let lower = h.to_ascii_lowercase();
        if !lower.starts_with("connection:") && !lower.starts_with("keep-alive") {
            out.push_str(h);
            out.push_str("\r\n");
        }
    }
    out.push_str("\r\n");
    up.write_all(out.as_bytes()).ok()?;
    up.write_all(body).ok()?;
    // A server that answers before reading the whole body (a 401 does)
    // may reset the connection after its answer: keep a complete answer.
    let mut resp = Vec::new();
    let read = up.read_to_end(&mut resp);
    let split = resp.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&resp[..split]).into_owned();
    let body = resp[split + 4..].to_vec();
    let length = head.lines().find_map(|h| {
        h.to_ascii_lowercase().strip_prefix("content-length:").and_then(|v| v.trim().parse::<usize>().ok())
    });
    if read.is_err() && length != Some(body.len()) {
        return None;
    }
    let status_line = head.lines().next()?.replace("HTTP/1.0", "HTTP/1.1");
    Some((status_line, body))
}
