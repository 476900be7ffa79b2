//! The method table: the one home of every fact about a server-API method —
//! its fields and their types, which fields it needs on which protocol, what
//! it targets (the lane it joins), whether it writes or only reads, how it
//! may be retried, whether it takes `data_file`, answers per channel, is
//! PRO-only, and what the v1 protocol calls it.
//!
//! Validation, the JSON Schema, the executor's lanes and retries, the library
//! client, `cent-run call` and the `cent` console all read this table; no
//! other code compares method names. Facts from Centrifugo v6.9.1
//! `internal/apiproto/api.proto` and the v1.8.0 server.

use crate::protocol::Protocol;

/// The type a field must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ty {
    Str,
    /// A channel name: not empty, at most [`MAX_CHANNEL_BYTES`].
    Channel,
    /// A channel name where empty means "every channel" (v1 `unsubscribe`).
    ChannelOrAll,
    /// A list of channel names.
    Channels,
    Bool,
    /// Signed integer (i32/i64 in the proto).
    Int,
    /// Unsigned integer (u32/u64 in the proto).
    UInt,
    /// Any JSON value, sent verbatim (proto `bytes` fields: data, info...).
    Json,
    /// A standard base64 string (with padding), checked at validation time.
    B64,
    StrList,
    /// A mapping of string to string (publication tags).
    StrMap,
    /// A nested object with its own fields.
    Obj(&'static [Field]),
    /// One of a fixed set of strings.
    Enum(&'static [&'static str]),
}

/// Longest channel name Centrifugo accepts by default (`channel.max_length`).
pub const MAX_CHANNEL_BYTES: usize = 255;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    pub name: &'static str,
    pub ty: Ty,
}

const fn f(name: &'static str, ty: Ty) -> Field {
    Field { name, ty }
}

/// What a command acts on; commands sharing a target keep manifest order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetKind {
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
pub enum Access {
    Read,
    Write,
}

/// Whether re-sending a command whose outcome is unknown is safe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
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
    pub fn resend_safe(self, keyed: bool) -> bool {
        match self {
            Retry::Safe => true,
            Retry::WithIdempotencyKey => keyed,
            Retry::Unsafe => false,
        }
    }
}

/// A set of protocols.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Protocols(u8);

impl Protocols {
    pub const V1: Protocols = Protocols(4);
    /// `api` and `legacy`: every method of the modern server.
    pub const MODERN: Protocols = Protocols(3);
    pub const ALL: Protocols = Protocols(7);

    pub fn has(self, p: Protocol) -> bool {
        let bit = match p {
            Protocol::Api => 1,
            Protocol::Legacy => 2,
            Protocol::V1 => 4,
        };
        self.0 & bit != 0
    }
}

/// Something a command's params must satisfy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// The field is given (the server decides about an empty value).
    Present(&'static str),
    /// The field is given and not empty (string, list) or zero.
    NonEmpty(&'static str),
    /// At least one of the fields is given.
    AnyPresent(&'static [&'static str]),
    /// At least one of the fields is given and not empty.
    AnyNonEmpty(&'static [&'static str]),
    /// The field is a number above zero.
    Positive(&'static str),
}

/// A rule and the protocols it holds on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Requirement {
    pub rule: Rule,
    pub on: Protocols,
}

const fn req(rule: Rule) -> Requirement {
    Requirement { rule, on: Protocols::ALL }
}

/// A warning for a command that is valid but probably not what was meant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caveat {
    /// Warn when none of these fields is given.
    pub unless_any: &'static [&'static str],
    pub label: &'static str,
    pub message: &'static str,
    pub help: &'static str,
}

#[derive(Debug, Clone, Copy)]
pub struct Method {
    pub name: &'static str,
    pub fields: &'static [Field],
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
    pub caveat: Option<Caveat>,
}

impl Method {
    pub fn reads(&self) -> bool {
        self.access == Access::Read
    }

    /// Free-form PRO methods: any mapping is accepted and passed through.
    pub fn freeform(&self) -> bool {
        self.pro && self.fields.is_empty()
    }

    pub fn field(&self, name: &str) -> Option<&'static Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// The requirements that hold on `protocol`.
    pub fn requirements(&self, protocol: Protocol) -> impl Iterator<Item = &'static Rule> {
        self.required.iter().filter(move |r| r.on.has(protocol)).map(|r| &r.rule)
    }
}

const DATA: Field = f("data", Ty::Json);
const B64DATA: Field = f("b64data", Ty::B64);
const SKIP_HISTORY: Field = f("skip_history", Ty::Bool);
const TAGS: Field = f("tags", Ty::StrMap);
const IDEMPOTENCY_KEY: Field = f("idempotency_key", Ty::Str);
const DELTA: Field = f("delta", Ty::Bool);
const VERSION: Field = f("version", Ty::UInt);
const VERSION_EPOCH: Field = f("version_epoch", Ty::Str);

const PUBLISH: &[Field] =
    &[f("channel", Ty::Channel), DATA, B64DATA, SKIP_HISTORY, TAGS, IDEMPOTENCY_KEY, DELTA, VERSION, VERSION_EPOCH];
const BROADCAST: &[Field] =
    &[f("channels", Ty::Channels), DATA, B64DATA, SKIP_HISTORY, TAGS, IDEMPOTENCY_KEY, DELTA, VERSION, VERSION_EPOCH];
const STREAM_POSITION: &[Field] = &[f("offset", Ty::UInt), f("epoch", Ty::Str)];
const BOOL_VALUE: &[Field] = &[f("value", Ty::Bool)];
const OVERRIDE: &[Field] = &[
    f("presence", Ty::Obj(BOOL_VALUE)),
    f("join_leave", Ty::Obj(BOOL_VALUE)),
    f("force_recovery", Ty::Obj(BOOL_VALUE)),
    f("force_positioning", Ty::Obj(BOOL_VALUE)),
    f("force_push_join_leave", Ty::Obj(BOOL_VALUE)),
];
const USER: Field = f("user", Ty::Str);
const CLIENT: Field = f("client", Ty::Str);
const SESSION: Field = f("session", Ty::Str);
const SUBSCRIBE: &[Field] = &[
    f("channel", Ty::Channel),
    USER,
    CLIENT,
    SESSION,
    f("expire_at", Ty::Int),
    f("info", Ty::Json),
    f("b64info", Ty::B64),
    DATA,
    B64DATA,
    f("recover_since", Ty::Obj(STREAM_POSITION)),
    f("override", Ty::Obj(OVERRIDE)),
];
const UNSUBSCRIBE: &[Field] = &[f("channel", Ty::ChannelOrAll), USER, CLIENT, SESSION];
const DISCONNECT_OBJ: &[Field] = &[f("code", Ty::UInt), f("reason", Ty::Str)];
const DISCONNECT: &[Field] =
    &[USER, CLIENT, SESSION, f("whitelist", Ty::StrList), f("disconnect", Ty::Obj(DISCONNECT_OBJ))];
const REFRESH: &[Field] =
    &[USER, CLIENT, SESSION, f("expired", Ty::Bool), f("expire_at", Ty::Int), f("info", Ty::Json)];
const CHANNEL_ONLY: &[Field] = &[f("channel", Ty::Channel)];
const HISTORY: &[Field] =
    &[f("channel", Ty::Channel), f("limit", Ty::Int), f("since", Ty::Obj(STREAM_POSITION)), f("reverse", Ty::Bool)];
const CHANNELS: &[Field] = &[f("pattern", Ty::Str)];
const NONE: &[Field] = &[];
const RPC: &[Field] = &[f("method", Ty::Str), f("params", Ty::Json)];
const MAP_PUBLISH: &[Field] = &[
    f("channel", Ty::Channel),
    f("key", Ty::Str),
    DATA,
    B64DATA,
    TAGS,
    IDEMPOTENCY_KEY,
    DELTA,
    VERSION,
    VERSION_EPOCH,
    f("key_mode", Ty::Enum(&["", "if_new", "if_exists"])),
    f("stream_data", Ty::Json),
    f("b64stream_data", Ty::B64),
    f("score", Ty::Int),
];
const MAP_REMOVE: &[Field] = &[f("channel", Ty::Channel), f("key", Ty::Str), IDEMPOTENCY_KEY];
const MAP_READ_STATE: &[Field] = &[
    f("channel", Ty::Channel),
    f("cursor", Ty::Str),
    f("limit", Ty::Int),
    f("key", Ty::Str),
    f("asc", Ty::Bool),
    f("revision_offset", Ty::UInt),
    f("revision_epoch", Ty::Str),
];
const MAP_READ_STREAM: &[Field] = &[
    f("channel", Ty::Channel),
    f("since_offset", Ty::UInt),
    f("since_epoch", Ty::Str),
    f("limit", Ty::Int),
    f("reverse", Ty::Bool),
];
const SHARED_POLL: &[Field] =
    &[f("channel", Ty::Channel), f("key", Ty::Str), VERSION, f("epoch", Ty::Str), DATA, B64DATA];
// PRO-only request shapes (api.proto); accepted so plans can carry them.
const USERS: &[Field] = &[f("users", Ty::StrList)];
const CONNECTIONS: &[Field] = &[USER, f("expression", Ty::Str)];
const UPDATE_USER_STATUS: &[Field] = &[f("users", Ty::StrList), f("state", Ty::Str)];
const BLOCK_USER: &[Field] = &[USER, f("expire_at", Ty::Int)];
const UNBLOCK_USER: &[Field] = &[USER];
const REVOKE_TOKEN: &[Field] = &[f("uid", Ty::Str), f("expire_at", Ty::Int)];
const INVALIDATE_USER_TOKENS: &[Field] =
    &[USER, f("expire_at", Ty::Int), f("issued_before", Ty::Int), f("channel", Ty::Channel)];
const PRO_FREEFORM: &[Field] = &[];

use Rule::{AnyNonEmpty, AnyPresent, NonEmpty, Positive, Present};

const NEEDS_CHANNEL: &[Requirement] = &[req(Present("channel"))];
const NEEDS_TARGET: &[Requirement] = &[req(AnyNonEmpty(&["user", "client", "session"]))];
const NEEDS_DATA: Requirement = req(AnyPresent(&["data", "b64data"]));
const MAP_KEYED: &[Requirement] = &[req(NonEmpty("channel")), req(NonEmpty("key"))];

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
    fields: &'static [Field],
    required: &'static [Requirement],
    target: TargetKind,
    access: Access,
    retry: Retry,
) -> Method {
    Method {
        name,
        fields,
        required,
        target,
        access,
        retry,
        data_file: false,
        per_channel: false,
        pro: false,
        on: Protocols::MODERN,
        v1_name: None,
        caveat: None,
    }
}
/// Also carried by v1 servers.
const fn v1(mut method: Method) -> Method {
    method.on = Protocols::ALL;
    method
}
/// Takes `data_file`.
const fn with_data_file(mut method: Method) -> Method {
    method.data_file = true;
    method
}
const fn pro(name: &'static str, fields: &'static [Field], target: TargetKind, access: Access) -> Method {
    Method { pro: true, ..m(name, fields, &[], target, access, Unsafe) }
}
/// Only v1 servers have it.
const fn v1_only(name: &'static str) -> Method {
    Method { on: Protocols::V1, ..m(name, NONE, &[], NoTarget, Read, Safe) }
}

/// Every method: the modern API (OSS and PRO) in the order of api.proto,
/// then the methods only v1 servers have.
pub static METHODS: &[Method] = &[
    with_data_file(v1(m("publish", PUBLISH, &[req(Present("channel")), NEEDS_DATA], Channel, Write, Keyed))),
    Method {
        per_channel: true,
        ..with_data_file(v1(m(
            "broadcast",
            BROADCAST,
            &[req(NonEmpty("channels")), NEEDS_DATA],
            Channels,
            Write,
            Keyed,
        )))
    },
    m(
        "subscribe",
        SUBSCRIBE,
        &[req(Present("channel")), req(AnyNonEmpty(&["user", "client", "session"]))],
        User,
        Write,
        Safe,
    ),
    v1(m(
        "unsubscribe",
        UNSUBSCRIBE,
        // Without a channel a v6.9.1 server answers `{}`, drops the user from
        // every channel, and pushes an unsubscribe without a channel that
        // client SDKs cannot handle (centrifuge-python fails on it): on
        // modern servers a channel is required.
        &[
            Requirement { rule: NonEmpty("channel"), on: Protocols::MODERN },
            req(AnyNonEmpty(&["user", "client", "session"])),
        ],
        User,
        Write,
        Safe,
    )),
    v1(m("disconnect", DISCONNECT, NEEDS_TARGET, User, Write, Safe)),
    m("refresh", REFRESH, NEEDS_TARGET, User, Write, Safe),
    v1(m("presence", CHANNEL_ONLY, NEEDS_CHANNEL, Channel, Read, Safe)),
    m("presence_stats", CHANNEL_ONLY, NEEDS_CHANNEL, Channel, Read, Safe),
    Method { caveat: Some(HISTORY_WITHOUT_LIMIT), ..v1(m("history", HISTORY, NEEDS_CHANNEL, Channel, Read, Safe)) },
    m("history_remove", CHANNEL_ONLY, NEEDS_CHANNEL, Channel, Write, Safe),
    v1(m("channels", CHANNELS, &[], NoTarget, Read, Safe)),
    Method { v1_name: Some("stats"), ..m("info", NONE, &[], NoTarget, Read, Safe) },
    m("rpc", RPC, &[req(NonEmpty("method"))], NoTarget, Write, Unsafe),
    m("map_publish", MAP_PUBLISH, MAP_KEYED, Channel, Write, Keyed),
    m("map_remove", MAP_REMOVE, MAP_KEYED, Channel, Write, Keyed),
    m("map_read_state", MAP_READ_STATE, NEEDS_CHANNEL, Channel, Read, Safe),
    m("map_read_stream", MAP_READ_STREAM, NEEDS_CHANNEL, Channel, Read, Safe),
    m("map_stats", CHANNEL_ONLY, NEEDS_CHANNEL, Channel, Read, Safe),
    m("map_clear", CHANNEL_ONLY, NEEDS_CHANNEL, Channel, Write, Unsafe),
    m(
        "shared_poll_publish",
        SHARED_POLL,
        &[req(NonEmpty("channel")), req(NonEmpty("key")), req(Positive("version"))],
        Channel,
        Write,
        Unsafe,
    ),
    pro("connections", CONNECTIONS, User, Read),
    pro("update_user_status", UPDATE_USER_STATUS, NoTarget, Write),
    pro("get_user_status", USERS, NoTarget, Read),
    pro("delete_user_status", USERS, NoTarget, Write),
    pro("block_user", BLOCK_USER, User, Write),
    pro("unblock_user", UNBLOCK_USER, User, Write),
    pro("revoke_token", REVOKE_TOKEN, NoTarget, Write),
    pro("invalidate_user_tokens", INVALIDATE_USER_TOKENS, User, Write),
    pro("device_register", PRO_FREEFORM, NoTarget, Write),
    pro("device_update", PRO_FREEFORM, NoTarget, Write),
    pro("device_remove", PRO_FREEFORM, NoTarget, Write),
    pro("device_list", PRO_FREEFORM, NoTarget, Read),
    pro("device_topic_list", PRO_FREEFORM, NoTarget, Read),
    pro("device_topic_update", PRO_FREEFORM, NoTarget, Write),
    pro("user_topic_list", PRO_FREEFORM, NoTarget, Read),
    pro("user_topic_update", PRO_FREEFORM, NoTarget, Write),
    pro("send_push_notification", PRO_FREEFORM, NoTarget, Write),
    pro("update_push_status", PRO_FREEFORM, NoTarget, Write),
    pro("cancel_push", PRO_FREEFORM, NoTarget, Write),
    v1_only("stats"),
    v1_only("node"),
];

/// The `wait:` step. Not a server method: no protocol carries it and it is
/// never sent; commands of a run are either a method of [`METHODS`] or this.
pub static WAIT: Method = Method {
    name: "wait",
    fields: NONE,
    required: &[],
    target: TargetKind::None,
    access: Access::Read,
    retry: Retry::Safe,
    data_file: false,
    per_channel: false,
    pro: false,
    on: Protocols(0),
    v1_name: None,
    caveat: None,
};

/// The method called `name` on any protocol.
pub fn lookup(name: &str) -> Option<&'static Method> {
    METHODS.iter().find(|m| m.name == name)
}

/// Every method name (for did-you-mean hints).
pub fn names() -> impl Iterator<Item = &'static str> {
    METHODS.iter().map(|m| m.name)
}

/// The methods a protocol carries, under the names that protocol uses.
pub fn on(protocol: Protocol) -> impl Iterator<Item = &'static Method> {
    METHODS.iter().filter(move |m| m.on.has(protocol))
}

/// Why a protocol cannot carry a method.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unavailable {
    pub label: &'static str,
    pub message: String,
    pub help: String,
}

/// The method `m` as sent on `protocol`: itself, or its v1 name (`info` is
/// `stats` on v1); an error when the protocol does not have it.
pub fn for_protocol(m: &'static Method, protocol: Protocol) -> Result<&'static Method, Unavailable> {
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

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn field_names_are_unique_and_rules_name_real_fields() {
        for m in METHODS {
            let mut names: Vec<_> = m.fields.iter().map(|f| f.name).collect();
            names.sort();
            names.dedup();
            assert_eq!(names.len(), m.fields.len(), "{}", m.name);
            for r in m.required {
                let named: &[&str] = match &r.rule {
                    Rule::Present(f) | Rule::NonEmpty(f) | Rule::Positive(f) => std::slice::from_ref(f),
                    Rule::AnyPresent(fs) | Rule::AnyNonEmpty(fs) => fs,
                };
                for f in named {
                    assert!(m.field(f).is_some(), "{}: rule names unknown field {f}", m.name);
                }
            }
        }
    }

    #[test]
    fn the_lane_a_method_joins_matches_its_fields() {
        for m in METHODS {
            match m.target {
                TargetKind::Channel => assert!(m.field("channel").is_some(), "{}", m.name),
                TargetKind::Channels => assert!(m.field("channels").is_some() && m.per_channel, "{}", m.name),
                TargetKind::User => assert!(m.field("user").is_some(), "{}", m.name),
                TargetKind::None => {}
            }
        }
    }
}
