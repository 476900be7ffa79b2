//! Listeners: real client connections, opened by `listen:` steps with the
//! official Centrifugo client SDK (WebSocket, JSON protocol), with tokens
//! cent-run signs. Each keeps what it hears — publications, unsubscribes,
//! disconnects — so a command's `delivered: {within}` can wait until its
//! effect reached the client, and say how long that took or what did
//! arrive. Every listener is closed when the run ends.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use centrifuge::{Client, EventDelivery, Protocol, ProxyConfig, Subscription, TlsConfig};
use serde_json::{Value as Json, json};
use tokio::sync::Notify;

use super::expect::CheckOutcome;
use crate::manifest::Command;
use crate::manifest::steps::At;
use crate::token::{self, Algorithm, Claims};

/// What listeners need from the run's settings.
#[derive(Clone)]
pub(crate) struct ListenSetup {
    /// The nodes' addresses as given (`http(s)://`): the first is the
    /// default WebSocket endpoint's.
    pub nodes: Vec<String>,
    pub algorithm: Algorithm,
    /// The HMAC secret, or a private key's PEM.
    pub key: Vec<u8>,
    /// Extra CA certificates (PEM) to trust, and whether not to verify.
    pub cacert: Option<Vec<u8>>,
    pub insecure: bool,
    /// How long connecting and subscribing may take.
    pub timeout: Duration,
}

impl std::fmt::Debug for ListenSetup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ListenSetup")
            .field("nodes", &self.nodes)
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

/// Something a listener heard.
#[derive(Debug, Clone)]
enum Heard {
    Publication {
        offset: u64,
        data: Json,
    },
    Unsubscribed {
        code: u32,
        reason: String,
    },
    Disconnected {
        code: u32,
        reason: String,
    },
    /// Disconnected with a code that makes the client come back.
    Reconnecting {
        code: u32,
        reason: String,
    },
}

impl Heard {
    fn describe(&self) -> Json {
        match self {
            Heard::Publication { offset, data } => json!({"publication": {"offset": offset, "data": data}}),
            Heard::Unsubscribed { code, reason } => json!({"unsubscribed": {"code": code, "reason": reason}}),
            Heard::Disconnected { code, reason } => json!({"disconnected": {"code": code, "reason": reason}}),
            Heard::Reconnecting { code, reason } => json!({"reconnecting": {"code": code, "reason": reason}}),
        }
    }
}

/// What one listener heard; every listener tells the run's `news`.
struct Ears {
    heard: Mutex<Vec<(Instant, Heard)>>,
    news: Arc<Notify>,
}

impl Ears {
    fn hear(&self, h: Heard) {
        self.heard.lock().unwrap_or_else(|e| e.into_inner()).push((Instant::now(), h));
        self.news.notify_waiters();
    }

    fn len(&self) -> usize {
        self.heard.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

struct Open {
    user: String,
    channel: String,
    client: Client,
    _subscription: Subscription,
    ears: Arc<Ears>,
}

/// The run's listeners.
pub(crate) struct Listeners {
    setup: Option<ListenSetup>,
    open: Mutex<Vec<Open>>,
    /// Told whenever any listener hears anything.
    news: Arc<Notify>,
}

/// Where each listener's log stood when a command was sent: what it
/// caused is heard after that.
pub(crate) type Marks = Vec<usize>;

impl Listeners {
    pub(crate) fn new(setup: Option<ListenSetup>) -> Self {
        Listeners { setup, open: Mutex::new(Vec::new()), news: Arc::new(Notify::new()) }
    }

    /// Opens a listener as the `listen:` step `c` says: connected and
    /// subscribed, or why not (the server's reason when it gave one).
    pub(crate) async fn listen(&self, c: &Command) -> Result<Json, String> {
        let Some(setup) = &self.setup else {
            return Err("no token key for listeners: give a token secret (or key file)".into());
        };
        let p = c.params_map();
        let field = |k: &str| p.get(k).and_then(Json::as_str).map(str::to_owned);
        let (channel, user) = (field("channel").unwrap_or_default(), field("user").unwrap_or_default());
        let endpoint = websocket(field("url").as_deref().unwrap_or(&setup.nodes[0]));
        let sign = |claims: &Claims| token::sign(setup.algorithm, &setup.key, claims).map_err(|e| e.to_string());
        let expires = Some(token::now() + 3600);
        let connect = sign(&Claims { expires, ..Claims::connection(user.clone()) })?;
        let subscribe = sign(&Claims { expires, ..Claims::subscription(user.clone(), channel.clone()) })?;
        let ears = Arc::new(Ears { heard: Mutex::new(Vec::new()), news: self.news.clone() });
        let (e1, e2, e3, e4) = (ears.clone(), ears.clone(), ears.clone(), ears.clone());
        let mut builder = Client::builder(endpoint.clone())
            .proxy(ProxyConfig::None)
            .protocol(Protocol::Json)
            .token(connect)
            .event_delivery(EventDelivery::Inline)
            .timeout(setup.timeout)
            .handshake_timeout(setup.timeout)
            .on_disconnected(move |_, e| e1.hear(Heard::Disconnected { code: e.code, reason: e.reason }))
            .on_connecting(move |_, e| {
                if e.code != 0 {
                    e2.hear(Heard::Reconnecting { code: e.code, reason: e.reason })
                }
            });
        if setup.insecure || setup.cacert.is_some() {
            let mut tls = TlsConfig::new();
            if let Some(pem) = &setup.cacert {
                tls = tls.add_root_pem(pem).map_err(|e| format!("the CA certificate: {e}"))?;
            }
            if setup.insecure {
                tls = tls.danger_accept_invalid_certs();
            }
            builder = builder.tls(tls);
        }
        let client = builder.build().map_err(|e| e.to_string())?;
        let subscription = client
            .new_subscription(channel.clone())
            .token(subscribe)
            .on_publication(move |_, e| {
                let data = serde_json::from_slice(&e.data)
                    .unwrap_or_else(|_| Json::String(String::from_utf8_lossy(&e.data).into_owned()));
                e3.hear(Heard::Publication { offset: e.offset, data });
            })
            .on_unsubscribed(move |_, e| e4.hear(Heard::Unsubscribed { code: e.code, reason: e.reason }))
            .build()
            .map_err(|e| e.to_string())?;
        let started = Instant::now();
        subscription.subscribe();
        client.connect().map_err(|e| e.to_string())?;
        let ready = async {
            client.ready(Some(setup.timeout)).await.map_err(|e| e.to_string())?;
            subscription.ready(Some(setup.timeout)).await.map_err(|e| e.to_string())
        };
        if let Err(why) = ready.await {
            // The server's own reason, when it said one (a refused token: 3500
            // invalid token); its event may come just after the failed wait.
            let reason = || {
                ears.heard.lock().unwrap_or_else(|e| e.into_inner()).iter().find_map(|(_, h)| match h {
                    Heard::Disconnected { code, reason }
                    | Heard::Reconnecting { code, reason }
                    | Heard::Unsubscribed { code, reason } => Some(format!("{code} {reason}")),
                    Heard::Publication { .. } => None,
                })
            };
            let until = tokio::time::Instant::now() + Duration::from_millis(500);
            let mut said = reason();
            while said.is_none() {
                let news = self.news.notified();
                tokio::pin!(news);
                news.as_mut().enable();
                said = reason();
                if said.is_some() || tokio::time::timeout_at(until, news).await.is_err() {
                    break;
                }
            }
            client.close().await;
            return Err(format!("cannot listen on `{channel}` as `{user}` at {endpoint}: {}", said.unwrap_or(why)));
        }
        let took = started.elapsed();
        self.open.lock().unwrap_or_else(|e| e.into_inner()).push(Open {
            user: user.clone(),
            channel: channel.clone(),
            client,
            _subscription: subscription,
            ears,
        });
        Ok(json!({"endpoint": endpoint, "user": user, "channel": channel, "ready_ms": took.as_millis() as u64}))
    }

    /// Where every listener's log stands now.
    pub(crate) fn marks(&self) -> Marks {
        self.open.lock().unwrap_or_else(|e| e.into_inner()).iter().map(|o| o.ears.len()).collect()
    }

    /// Waits until every listener that can hear it has heard what `c`
    /// caused (its `result` says the offsets), for at most `within` after
    /// `sent`; the check says how long it took, or what did arrive.
    pub(crate) async fn delivered(
        &self,
        c: &Command,
        result: Option<&Json>,
        (within, at): (Duration, At),
        sent: Instant,
        marks: &Marks,
    ) -> CheckOutcome {
        let wants = self.wants(c, result, marks);
        let wanted = format!("within {}", crate::duration::show(within));
        let check = |ok: bool, got: Json| CheckOutcome {
            at,
            path: "delivered".into(),
            wanted: wanted.clone(),
            got: Some(got),
            ok,
        };
        if wants.is_empty() {
            return check(false, json!({"heard": "no listener hears this command"}));
        }
        let deadline = tokio::time::Instant::from_std(sent + within);
        loop {
            // Registered before looking: nothing heard in between is missed.
            let news = self.news.notified();
            tokio::pin!(news);
            news.as_mut().enable();
            let found: Vec<Option<Instant>> = wants.iter().map(Want::found).collect();
            if found.iter().all(Option::is_some) {
                let last = found.into_iter().flatten().max().unwrap_or(sent);
                let latency = last.saturating_duration_since(sent);
                let ms = latency.as_micros() as f64 / 1000.0;
                return check(true, json!({"latency_ms": ms, "listeners": wants.len()}));
            }
            if tokio::time::timeout_at(deadline, news).await.is_err() {
                let heard: Vec<Json> = wants.iter().filter(|w| w.found().is_none()).map(Want::since).collect();
                return check(false, json!({"not_heard_by": heard}));
            }
        }
    }

    /// What each listener that can hear `c` must hear.
    fn wants(&self, c: &Command, result: Option<&Json>, marks: &Marks) -> Vec<Want> {
        let p = c.params_map();
        let text = |k: &str| p.get(k).and_then(Json::as_str).unwrap_or_default().to_owned();
        let open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = Vec::new();
        for (i, o) in open.iter().enumerate() {
            let mark = marks.get(i).copied().unwrap_or(0);
            let what = match c.method.name {
                "publish" if o.channel == text("channel") => Some(What::Publication {
                    offset: result.and_then(|r| r["offset"].as_u64()).unwrap_or(0),
                    data: p.get("data").cloned(),
                }),
                "broadcast" => p.get("channels").and_then(Json::as_array).and_then(|chans| {
                    let k = chans.iter().position(|ch| ch.as_str() == Some(o.channel.as_str()))?;
                    let offset = result.and_then(|r| r["responses"][k]["result"]["offset"].as_u64()).unwrap_or(0);
                    Some(What::Publication { offset, data: p.get("data").cloned() })
                }),
                "disconnect" if o.user == text("user") => Some(What::Disconnect {
                    code: p.get("disconnect").and_then(|d| d["code"].as_u64()).map(|c| c as u32),
                }),
                "unsubscribe" if o.user == text("user") && o.channel == text("channel") => Some(What::Unsubscribe),
                _ => None,
            };
            if let Some(what) = what {
                out.push(Want { ears: o.ears.clone(), mark, what, who: format!("{}@{}", o.user, o.channel) });
            }
        }
        out
    }

    /// Closes every listener (at the end of the run, however it ends).
    pub(crate) async fn close(&self) {
        let open: Vec<Open> = std::mem::take(&mut *self.open.lock().unwrap_or_else(|e| e.into_inner()));
        for o in open {
            let _ = tokio::time::timeout(Duration::from_secs(2), o.client.close()).await;
        }
    }
}

enum What {
    /// A publication at this offset (0: a channel without a stream: by data).
    Publication {
        offset: u64,
        data: Option<Json>,
    },
    Disconnect {
        code: Option<u32>,
    },
    Unsubscribe,
}

struct Want {
    ears: Arc<Ears>,
    mark: usize,
    what: What,
    who: String,
}

impl Want {
    /// When it was heard, if it was.
    fn found(&self) -> Option<Instant> {
        let heard = self.ears.heard.lock().unwrap_or_else(|e| e.into_inner());
        heard.iter().skip(self.mark).find_map(|(t, h)| {
            let hit = match (&self.what, h) {
                (What::Publication { offset, data }, Heard::Publication { offset: o, data: d }) => {
                    if *offset > 0 {
                        o == offset
                    } else {
                        data.as_ref().is_none_or(|w| w == d)
                    }
                }
                (
                    What::Disconnect { code },
                    Heard::Disconnected { code: c, .. } | Heard::Reconnecting { code: c, .. },
                ) => code.is_none_or(|w| w == *c),
                (What::Unsubscribe, Heard::Unsubscribed { .. }) => true,
                _ => false,
            };
            hit.then_some(*t)
        })
    }

    /// What it heard since the command was sent.
    fn since(&self) -> Json {
        let heard = self.ears.heard.lock().unwrap_or_else(|e| e.into_inner());
        let after: Vec<Json> = heard.iter().skip(self.mark).map(|(_, h)| h.describe()).collect();
        json!({"listener": self.who, "heard": after})
    }
}

/// A node's WebSocket endpoint: `ws(s)://HOST/connection/websocket` from
/// its `http(s)://` address (an address already `ws(s)://` is taken as it is).
pub(crate) fn websocket(url: &str) -> String {
    if url.starts_with("ws://") || url.starts_with("wss://") {
        return url.to_owned();
    }
    let base = crate::client::base_url(url);
    let ws = match base.strip_prefix("https://") {
        Some(rest) => format!("wss://{rest}"),
        None => format!("ws://{}", base.strip_prefix("http://").unwrap_or(base)),
    };
    format!("{ws}/connection/websocket")
}

#[cfg(test)]
mod tests {
    use super::websocket;

    #[test]
    fn the_websocket_endpoint_is_derived_from_a_nodes_address() {
        assert_eq!(websocket("http://h:8000"), "ws://h:8000/connection/websocket");
        assert_eq!(websocket("https://rt.example/api/batch"), "wss://rt.example/connection/websocket");
        assert_eq!(websocket("wss://edge/connection/websocket"), "wss://edge/connection/websocket");
    }
}
