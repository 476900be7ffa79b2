//! The method table: the one home of every fact about a server-API method.
//!
//! What a request and a reply hold — every field's name, type, nesting and
//! integer range — is Centrifugo's own definition, `methods/api.proto`
//! (6.9.1, verbatim; `methods/v1.proto` for 1.x servers), read by
//! [`proto`]. This table adds what that file does not say: the fields a
//! method needs as the server's handlers enforce them (and where cent-run is
//! deliberately stricter, with why), what it targets (the lane it joins),
//! whether it writes or only reads, how it may be retried, whether it takes
//! `data_file`, answers per channel, is PRO-only, what its handler asks of
//! the channel's namespace, and what the v1 protocol calls it. [`check`]
//! validates params against both; validation, the JSON Schema, the
//! executor's lanes and retries, the library client, `call`, the `cent`
//! console and the server-configuration check read them, and no other code
//! compares method names.

pub(crate) mod check;
pub(crate) mod proto;
pub(crate) mod reference;
pub(crate) mod replies;

use crate::protocol::Protocol;
use proto::{Message, Scalar};

/// What a command acts on; commands sharing a target keep manifest order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TargetKind {
    /// `channel` field.
    Channel,
    /// `channels` field (broadcast): joins the lanes of all its channels.
    Channels,
    /// `user` (or `client`/`session`) field; `channel` too when present.
    User,
    /// No target: runs in a lane of its own.
    None,
}

/// Whether a method changes server state or only reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    Read,
    Write,
}

/// Whether re-sending a command whose outcome is unknown is safe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Retry {
    /// Reads and idempotent writes: always safe to re-send.
    Safe,
    /// Safe only with an idempotency key (publish, broadcast, map_*).
    WithIdempotencyKey,
    /// Never re-sent after an unknown outcome.
    Unsafe,
}

impl Retry {
    /// Whether a command that may have been applied can be sent again;
    /// `keyed`: it carries an idempotency key the server honours.
    pub(crate) fn resend_safe(self, keyed: bool) -> bool {
        match self {
            Retry::Safe => true,
            Retry::WithIdempotencyKey => keyed,
            Retry::Unsafe => false,
        }
    }
}

/// What the server's handler asks of the options of the namespace a
/// command's channel is in (Centrifugo 6.9.1, `internal/api/api.go`): each
/// looks the channel up and answers 102 when its namespace is not in the
/// configuration, then checks what the variant says. What a server
/// configuration file predicts for a command (`--server-config`) is read
/// from here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NamespaceUse {
    /// The handler looks no channel up.
    None,
    /// Only that the namespace exists (subscribe; unsubscribe when it names a channel).
    Exists,
    /// A stream namespace (a map or shared-poll one: 107) whose
    /// `publication_data_format` the data meets (107): publish.
    Publish,
    /// Each channel's namespace exists and takes the data (107), in the
    /// channel's own response; no subscription type is checked: broadcast.
    Broadcast,
    /// History on: `history_size` and `history_ttl` both above zero (108).
    History,
    /// `presence` on (108).
    Presence,
    /// A map namespace (`subscription_type` map, map_clients or map_users; 107).
    Map,
    /// A shared-poll namespace (107) with `shared_poll.publish_enabled` (108).
    SharedPollPublish,
}

/// A set of protocols.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Protocols(u8);

impl Protocols {
    pub(crate) const V1: Protocols = Protocols(4);
    /// `api` and `legacy`: every method of the modern server.
    pub(crate) const MODERN: Protocols = Protocols(3);
    pub(crate) const ALL: Protocols = Protocols(7);

    pub(crate) fn has(self, p: Protocol) -> bool {
        let bit = match p {
            Protocol::Api => 1,
            Protocol::Legacy => 2,
            Protocol::V1 => 4,
        };
        self.0 & bit != 0
    }
}

/// Something a command's params must satisfy.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Rule {
    /// The field is given and not empty (string, list) or zero.
    NonEmpty(&'static str),
    /// Every item of the list is a non-empty string.
    NonEmptyItems(&'static str),
    /// At least one of the fields is given.
    AnyPresent(&'static [&'static str]),
    /// At least one of the fields is given and not empty.
    AnyNonEmpty(&'static [&'static str]),
    /// The field is a number above zero.
    Positive(&'static str),
    /// A rule on several fields: `None` when it holds, else the field to
    /// point at and what is wrong.
    Check(ParamsCheck),
}

/// A check over a command's params: the field to point at and what is wrong.
pub(crate) type ParamsCheck = fn(&serde_json::Map<String, serde_json::Value>) -> Option<(&'static str, &'static str)>;

/// A rule, the protocols it holds on, and why cent-run demands it when the
/// server does not (`None`: the server's own rule).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Requirement {
    pub rule: Rule,
    pub on: Protocols,
    pub stricter: Option<&'static str>,
}

const fn req(rule: Rule) -> Requirement {
    Requirement { rule, on: Protocols::ALL, stricter: None }
}

const fn req_on(rule: Rule, on: Protocols) -> Requirement {
    Requirement { rule, on, stricter: None }
}

/// A rule the server does not have: cent-run's own, for the reason given.
const fn stricter(rule: Rule, on: Protocols, why: &'static str) -> Requirement {
    Requirement { rule, on, stricter: Some(why) }
}

/// A warning for a command that is valid but probably not what was meant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Caveat {
    /// Warn when none of these fields is given.
    pub unless_any: &'static [&'static str],
    pub label: &'static str,
    pub message: &'static str,
    pub help: &'static str,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Method {
    pub name: &'static str,
    pub required: &'static [Requirement],
    pub target: TargetKind,
    pub access: Access,
    pub retry: Retry,
    /// Takes `data_file: PATH` (a JSON file used as `data`).
    pub data_file: bool,
    /// The result holds one response per channel (`responses`, in order).
    pub per_channel: bool,
    /// Served only by Centrifugo PRO (OSS answers 104 / HTTP 404).
    pub pro: bool,
    /// Protocols that carry the method.
    pub on: Protocols,
    /// What the v1 protocol calls this method, when it has another name.
    pub v1_name: Option<&'static str>,
    /// The v1 request and reply messages (in `v1.proto`).
    pub v1: Option<(&'static str, &'static str)>,
    pub caveat: Option<Caveat>,
    /// What the handler asks of the channel's namespace.
    pub namespace: NamespaceUse,
}

impl Method {
    pub(crate) fn reads(&self) -> bool {
        self.access == Access::Read
    }

    /// The requirements that hold on `protocol`.
    pub(crate) fn requirements(&self, protocol: Protocol) -> impl Iterator<Item = &'static Requirement> {
        self.required.iter().filter(move |r| r.on.has(protocol))
    }

    /// The request message of this method on `protocol`.
    pub(crate) fn request(&self, protocol: Protocol) -> &'static Message {
        self.message(protocol, "Command", |v1| v1.0)
    }

    /// The reply (result) message of this method on `protocol`.
    pub(crate) fn result(&self, protocol: Protocol) -> &'static Message {
        self.message(protocol, "Reply", |v1| v1.1)
    }

    fn message(
        &self,
        protocol: Protocol,
        of: &str,
        v1: fn((&'static str, &'static str)) -> &'static str,
    ) -> &'static Message {
        let s = proto::schema();
        let name = match (protocol, self.v1) {
            (Protocol::V1, Some(pair)) => v1(pair),
            _ => match s.message(of).and_then(|m| m.field(self.name)).map(|f| f.ty) {
                Some(Scalar::Message(name)) => name,
                _ => "V1Empty",
            },
        };
        s.message(name).expect("the table names defined messages")
    }

    /// Whether `field` of `message` is served only by Centrifugo PRO.
    pub(crate) fn pro_field(message: &str, field: &str) -> bool {
        PRO_FIELDS.contains(&(message, field))
    }
}

/// Fields the open-source server parses and ignores (api.proto: "PRO only").
pub(crate) const PRO_FIELDS: &[(&str, &str)] = &[
    ("SubscribeRequest", "label_filter"),
    ("SubscribeRequest", "all_users"),
    ("UnsubscribeRequest", "label_filter"),
    ("UnsubscribeRequest", "all_users"),
    ("DisconnectRequest", "label_filter"),
    ("DisconnectRequest", "all_users"),
    ("RefreshRequest", "label_filter"),
    ("RefreshRequest", "all_users"),
    ("ConnectionsRequest", "label_filter"),
];

/// String fields whose values the handlers allow (others are refused with 107).
pub(crate) const ENUMS: &[(&str, &str, &[&str])] = &[("MapPublishRequest", "key_mode", &["", "if_new", "if_exists"])];

/// Fields in the definition that Centrifugo 6.9.1's handlers never read:
/// sent, and ignored (a warning says so).
pub(crate) const UNREAD_FIELDS: &[(&str, &str)] =
    &[("MapPublishRequest", "score"), ("MapPublishRequest", "stream_data"), ("MapPublishRequest", "b64stream_data")];

use Rule::{AnyNonEmpty, AnyPresent, Check, NonEmpty, NonEmptyItems, Positive};

const TARGETS: &[&str] = &["user", "client", "session"];
const NEEDS_CHANNEL: &[Requirement] = &[req(NonEmpty("channel"))];
const ANONYMOUS: &str = "without user, client or session the server acts on every anonymous connection";
const NEEDS_TARGET: &[Requirement] =
    &[stricter(AnyNonEmpty(TARGETS), Protocols::MODERN, ANONYMOUS), req_on(NonEmpty("user"), Protocols::V1)];
const NEEDS_DATA: Requirement = req_on(AnyPresent(&["data", "b64data"]), Protocols::MODERN);
const NEEDS_DATA_V1: Requirement = req_on(AnyPresent(&["data"]), Protocols::V1);
const MAP_KEYED: &[Requirement] = &[req(NonEmpty("channel")), req(NonEmpty("key"))];

/// `reverse` with a `since` at offset 0 is answered with error 100 (api.go:731-738).
fn reverse_from_zero(p: &serde_json::Map<String, serde_json::Value>) -> Option<(&'static str, &'static str)> {
    let reverse = p.get("reverse").and_then(|v| v.as_bool()) == Some(true);
    let zero = p.get("since").and_then(|s| s.get("offset")).is_some_and(|o| o.as_u64() == Some(0))
        || p.get("since").is_some_and(|s| s.get("offset").is_none());
    (reverse && zero).then_some(("since", "`reverse` with `since` at offset 0 is refused by the server (error 100)"))
}

const HISTORY_WITHOUT_LIMIT: Caveat = Caveat {
    unless_any: &["limit", "since"],
    label: "no `limit`",
    message: "`history` without `limit` returns no publications, only the stream position",
    help: "add `limit: -1` for all kept publications, or `limit: N`",
};

use Access::{Read, Write};
use Retry::{Safe, Unsafe, WithIdempotencyKey as Keyed};
use TargetKind::{Channel, Channels, None as NoTarget, User};

const fn m(
    name: &'static str,
    required: &'static [Requirement],
    target: TargetKind,
    access: Access,
    retry: Retry,
) -> Method {
    Method {
        name,
        required,
        target,
        access,
        retry,
        data_file: false,
        per_channel: false,
        pro: false,
        on: Protocols::MODERN,
        v1_name: None,
        v1: None,
        caveat: None,
        namespace: NamespaceUse::None,
    }
}
/// Also carried by v1 servers, with these request and reply messages.
const fn v1(mut method: Method, request: &'static str, reply: &'static str) -> Method {
    method.on = Protocols::ALL;
    method.v1 = Some((request, reply));
    method
}
/// Its handler checks the channel's namespace as `namespace` says.
const fn ns(mut method: Method, namespace: NamespaceUse) -> Method {
    method.namespace = namespace;
    method
}
/// Takes `data_file`.
const fn with_data_file(mut method: Method) -> Method {
    method.data_file = true;
    method
}
const fn pro(name: &'static str, target: TargetKind, access: Access) -> Method {
    // A read is safe to send again; a write of PRO's is never re-sent
    // after a lost answer (no idempotency keys there).
    let retry = match access {
        Access::Read => Safe,
        Access::Write => Unsafe,
    };
    Method { pro: true, ..m(name, &[], target, access, retry) }
}
/// Only v1 servers have it.
const fn v1_only(name: &'static str, reply: &'static str) -> Method {
    Method { on: Protocols::V1, v1: Some(("V1Empty", reply)), ..m(name, &[], NoTarget, Read, Safe) }
}

/// Every method: the modern API (OSS and PRO) in the order of api.proto's
/// `Command`, then the methods only v1 servers have.
pub(crate) static METHODS: &[Method] = &[
    ns(
        with_data_file(v1(
            m("publish", &[req(NonEmpty("channel")), NEEDS_DATA, NEEDS_DATA_V1], Channel, Write, Keyed),
            "V1PublishRequest",
            "V1Empty",
        )),
        NamespaceUse::Publish,
    ),
    Method {
        per_channel: true,
        namespace: NamespaceUse::Broadcast,
        ..with_data_file(v1(
            m(
                "broadcast",
                &[req(NonEmpty("channels")), req(NonEmptyItems("channels")), NEEDS_DATA, NEEDS_DATA_V1],
                Channels,
                Write,
                Keyed,
            ),
            "V1BroadcastRequest",
            "V1Empty",
        ))
    },
    ns(m("subscribe", NEEDS_CHANNEL, User, Write, Safe), NamespaceUse::Exists),
    ns(
        v1(
            m(
                "unsubscribe",
                &[
                    stricter(
                        NonEmpty("channel"),
                        Protocols::MODERN,
                        "without a channel Centrifugo 6 drops the user from every channel and pushes an unsubscribe without a channel that client SDKs cannot handle; use `disconnect` to end all of a user's subscriptions",
                    ),
                    stricter(AnyNonEmpty(TARGETS), Protocols::MODERN, ANONYMOUS),
                    req_on(NonEmpty("user"), Protocols::V1),
                ],
                User,
                Write,
                Safe,
            ),
            "V1UnsubscribeRequest",
            "V1Empty",
        ),
        NamespaceUse::Exists,
    ),
    v1(m("disconnect", NEEDS_TARGET, User, Write, Safe), "V1DisconnectRequest", "V1Empty"),
    ns(
        v1(m("presence", NEEDS_CHANNEL, Channel, Read, Safe), "V1ChannelRequest", "V1PresenceResult"),
        NamespaceUse::Presence,
    ),
    ns(m("presence_stats", NEEDS_CHANNEL, Channel, Read, Safe), NamespaceUse::Presence),
    Method {
        caveat: Some(HISTORY_WITHOUT_LIMIT),
        namespace: NamespaceUse::History,
        ..v1(
            m("history", &[req(NonEmpty("channel")), req(Check(reverse_from_zero))], Channel, Read, Safe),
            "V1ChannelRequest",
            "V1HistoryResult",
        )
    },
    ns(m("history_remove", NEEDS_CHANNEL, Channel, Write, Safe), NamespaceUse::History),
    Method { v1_name: Some("stats"), ..m("info", &[], NoTarget, Read, Safe) },
    m("rpc", &[req(NonEmpty("method"))], NoTarget, Write, Unsafe),
    m("refresh", NEEDS_TARGET, User, Write, Safe),
    v1(m("channels", &[], NoTarget, Read, Safe), "V1Empty", "V1ChannelsResult"),
    pro("connections", User, Read),
    pro("update_user_status", NoTarget, Write),
    pro("get_user_status", NoTarget, Read),
    pro("delete_user_status", NoTarget, Write),
    pro("block_user", User, Write),
    pro("unblock_user", User, Write),
    pro("revoke_token", NoTarget, Write),
    pro("invalidate_user_tokens", User, Write),
    pro("device_register", NoTarget, Write),
    pro("device_update", NoTarget, Write),
    pro("device_remove", NoTarget, Write),
    pro("device_list", NoTarget, Read),
    pro("device_topic_list", NoTarget, Read),
    pro("device_topic_update", NoTarget, Write),
    pro("user_topic_list", NoTarget, Read),
    pro("user_topic_update", NoTarget, Write),
    pro("send_push_notification", NoTarget, Write),
    pro("update_push_status", NoTarget, Write),
    pro("cancel_push", NoTarget, Write),
    ns(m("map_publish", MAP_KEYED, Channel, Write, Keyed), NamespaceUse::Map),
    ns(m("map_remove", MAP_KEYED, Channel, Write, Keyed), NamespaceUse::Map),
    ns(m("map_read_state", NEEDS_CHANNEL, Channel, Read, Safe), NamespaceUse::Map),
    ns(m("map_read_stream", NEEDS_CHANNEL, Channel, Read, Safe), NamespaceUse::Map),
    ns(m("map_stats", NEEDS_CHANNEL, Channel, Read, Safe), NamespaceUse::Map),
    ns(m("map_clear", NEEDS_CHANNEL, Channel, Write, Unsafe), NamespaceUse::Map),
    ns(
        m(
            "shared_poll_publish",
            &[req(NonEmpty("channel")), req(NonEmpty("key")), req(Positive("version"))],
            Channel,
            Write,
            Unsafe,
        ),
        NamespaceUse::SharedPollPublish,
    ),
    v1_only("stats", "V1StatsResult"),
    v1_only("node", "V1NodeResult"),
];

/// The `wait:` step. Not a server method: no protocol carries it and it is
/// never sent; commands of a run are either a method of [`METHODS`] or this.
pub(crate) static WAIT: Method = Method {
    name: "wait",
    required: &[],
    target: TargetKind::None,
    access: Access::Read,
    retry: Retry::Safe,
    data_file: false,
    per_channel: false,
    pro: false,
    on: Protocols(0),
    v1_name: None,
    v1: None,
    caveat: None,
    namespace: NamespaceUse::None,
};

/// The `listen:` step: a real client connection and subscription. Not a
/// server method either: never sent through the server API.
pub(crate) static LISTEN: Method = Method { name: "listen", ..WAIT };

/// The method called `name` on any protocol.
pub(crate) fn lookup(name: &str) -> Option<&'static Method> {
    METHODS.iter().find(|m| m.name == name)
}

/// Every method name (for did-you-mean hints).
pub(crate) fn names() -> impl Iterator<Item = &'static str> {
    METHODS.iter().map(|m| m.name)
}

/// The methods a protocol carries, under the names that protocol uses.
pub(crate) fn on(protocol: Protocol) -> impl Iterator<Item = &'static Method> {
    METHODS.iter().filter(move |m| m.on.has(protocol))
}

/// Why a protocol cannot carry a method.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Unavailable {
    pub label: &'static str,
    pub message: String,
    pub help: String,
}

/// The method `m` as sent on `protocol`: itself, or its v1 name (`info` is
/// `stats` on v1); an error when the protocol does not have it.
pub(crate) fn for_protocol(m: &'static Method, protocol: Protocol) -> Result<&'static Method, Unavailable> {
    if protocol == Protocol::V1
        && let Some(v1) = m.v1_name.and_then(lookup)
    {
        return Ok(v1);
    }
    if m.on.has(protocol) {
        return Ok(m);
    }
    Err(if protocol == Protocol::V1 {
        let names: Vec<&str> = on(Protocol::V1).map(|m| m.name).collect();
        Unavailable {
            label: "not in v1",
            message: format!("protocol v1 has no method `{}`", m.name),
            help: format!("v1 servers have {}", names.join(", ")),
        }
    } else {
        let modern = METHODS.iter().find(|x| x.v1_name == Some(m.name));
        Unavailable {
            label: "v1 only",
            message: format!("`{}` exists only in protocol v1", m.name),
            help: match modern {
                Some(x) => format!("use `{}: {{}}`", x.name),
                None => "set `protocol: v1` for a Centrifugo 1.x server".into(),
            },
        }
    })
}

/// Methods that an open-source server refuses with 104 (PRO-only ones and
/// `rpc`, for which it registers no handler): said once per run.
pub(crate) fn oss_refuses(m: &Method) -> bool {
    m.pro || m.name == "rpc"
}

#[cfg(test)]
mod tests {
    use super::*;
    use proto::schema;

    #[test]
    fn v1_method_set_is_exactly_what_v1_servers_had() {
        let mut v1: Vec<_> = on(Protocol::V1).map(|m| m.name).collect();
        v1.sort();
        assert_eq!(
            v1,
            ["broadcast", "channels", "disconnect", "history", "node", "presence", "publish", "stats", "unsubscribe"]
        );
        assert_eq!(for_protocol(lookup("info").unwrap(), Protocol::V1).unwrap().name, "stats");
        assert_eq!(for_protocol(lookup("stats").unwrap(), Protocol::Api).unwrap_err().help, "use `info: {}`");
    }

    /// The table's methods are exactly the server's (api.proto's `Command`
    /// and `Reply`), in its order, each with its request and reply message.
    #[test]
    fn the_table_is_the_servers_list_of_methods() {
        let command = schema().message("Command").unwrap();
        let reply = schema().message("Reply").unwrap();
        let modern: Vec<&str> = METHODS.iter().filter(|m| m.on.has(Protocol::Api)).map(|m| m.name).collect();
        let defined: Vec<&str> = command.fields.iter().map(|f| f.name).collect();
        assert_eq!(modern, defined);
        for m in METHODS.iter().filter(|m| m.on.has(Protocol::Api)) {
            assert!(reply.field(m.name).is_some(), "{}", m.name);
            let camel: String = m
                .name
                .split('_')
                .map(|w| if w == "rpc" { "RPC".to_owned() } else { w[..1].to_uppercase() + &w[1..] })
                .collect();
            assert_eq!(m.request(Protocol::Api).name, format!("{camel}Request"));
            assert_eq!(m.result(Protocol::Api).name, format!("{camel}Result"));
        }
        // 19 PRO-only methods, as the open-source handlers serve 20.
        assert_eq!(METHODS.iter().filter(|m| m.pro).count(), 19);
    }

    #[test]
    fn rules_and_field_lists_name_real_fields() {
        for m in METHODS {
            for p in [Protocol::Api, Protocol::V1] {
                if !m.on.has(p) {
                    continue;
                }
                let msg = m.request(p);
                for r in m.requirements(p) {
                    let named: &[&str] = match &r.rule {
                        NonEmpty(f) | NonEmptyItems(f) | Positive(f) => std::slice::from_ref(f),
                        AnyPresent(fs) | AnyNonEmpty(fs) => fs,
                        Check(_) => &[],
                    };
                    for f in named {
                        assert!(msg.field(f).is_some(), "{} on {p}: rule names unknown field {f}", m.name);
                    }
                }
            }
        }
        let enums: Vec<(&str, &str)> = ENUMS.iter().map(|(m, f, _)| (*m, *f)).collect();
        for (msg, field) in PRO_FIELDS.iter().chain(UNREAD_FIELDS).chain(&enums) {
            assert!(schema().message(msg).and_then(|m| m.field(field)).is_some(), "{msg}.{field}");
        }
    }

    #[test]
    fn the_lane_a_method_joins_matches_its_fields() {
        for m in METHODS.iter().filter(|m| m.on.has(Protocol::Api)) {
            let req = m.request(Protocol::Api);
            match m.target {
                TargetKind::Channel => {
                    assert!(req.field("channel").is_some(), "{}", m.name);
                    // What lets `target::acts_on` stop at `channel`, on every
                    // protocol (a v1 publish may name a `client`: it reads on then).
                    for p in [Protocol::Api, Protocol::Legacy, Protocol::V1].into_iter().filter(|&p| m.on.has(p)) {
                        for other in ["channels", "user", "session"] {
                            assert!(m.request(p).field(other).is_none(), "{} {p:?} has {other}", m.name);
                        }
                    }
                }
                TargetKind::Channels => assert!(req.field("channels").is_some() && m.per_channel, "{}", m.name),
                TargetKind::User => assert!(req.field("user").is_some(), "{}", m.name),
                TargetKind::None => {}
            }
        }
    }

    /// Every open-source method that names a channel has its handler's
    /// namespace lookup recorded; the others look none up.
    #[test]
    fn every_method_with_a_channel_says_what_it_asks_of_the_namespace() {
        for m in METHODS.iter().filter(|m| m.on.has(Protocol::Api)) {
            let req = m.request(Protocol::Api);
            let names_channel = req.field("channel").is_some() || req.field("channels").is_some();
            let checked = m.namespace != NamespaceUse::None;
            // PRO-only methods are answered 104 by an open-source server: no lookup.
            assert_eq!(checked, names_channel && !m.pro, "{}", m.name);
        }
        assert_eq!(lookup("broadcast").unwrap().namespace, NamespaceUse::Broadcast);
    }
}
