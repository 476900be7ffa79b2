//! The method table: every server-API method the manifest accepts, its fields
//! and their types, what it targets (for ordering lanes) and how it may be
//! retried. Facts from Centrifugo v6.9.1 `internal/apiproto/api.proto`.

/// The type a field must have in the manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ty {
    Str,
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

#[derive(Debug, Clone, Copy)]
pub struct Method {
    pub name: &'static str,
    pub fields: &'static [Field],
    pub target: TargetKind,
    pub retry: Retry,
    /// Served only by Centrifugo PRO (OSS answers 104 / HTTP 404).
    pub pro: bool,
    /// Carried by the v1 protocol.
    pub v1: bool,
    /// Carried by the v2–v4 `/api` route (all OSS methods are).
    pub legacy: bool,
}

const PUBLISH_COMMON: [Field; 7] = [
    f("data", Ty::Json),
    f("b64data", Ty::B64),
    f("skip_history", Ty::Bool),
    f("tags", Ty::StrMap),
    f("idempotency_key", Ty::Str),
    f("delta", Ty::Bool),
    f("version", Ty::UInt),
];

const PUBLISH: &[Field] = &[
    f("channel", Ty::Str),
    PUBLISH_COMMON[0],
    PUBLISH_COMMON[1],
    PUBLISH_COMMON[2],
    PUBLISH_COMMON[3],
    PUBLISH_COMMON[4],
    PUBLISH_COMMON[5],
    PUBLISH_COMMON[6],
    f("version_epoch", Ty::Str),
];
const BROADCAST: &[Field] = &[
    f("channels", Ty::StrList),
    PUBLISH_COMMON[0],
    PUBLISH_COMMON[1],
    PUBLISH_COMMON[2],
    PUBLISH_COMMON[3],
    PUBLISH_COMMON[4],
    PUBLISH_COMMON[5],
    PUBLISH_COMMON[6],
    f("version_epoch", Ty::Str),
];
const STREAM_POSITION: &[Field] = &[f("offset", Ty::UInt), f("epoch", Ty::Str)];
const BOOL_VALUE: &[Field] = &[f("value", Ty::Bool)];
const OVERRIDE: &[Field] = &[
    f("presence", Ty::Obj(BOOL_VALUE)),
    f("join_leave", Ty::Obj(BOOL_VALUE)),
    f("force_recovery", Ty::Obj(BOOL_VALUE)),
    f("force_positioning", Ty::Obj(BOOL_VALUE)),
    f("force_push_join_leave", Ty::Obj(BOOL_VALUE)),
];
const SUBSCRIBE: &[Field] = &[
    f("channel", Ty::Str),
    f("user", Ty::Str),
    f("client", Ty::Str),
    f("session", Ty::Str),
    f("expire_at", Ty::Int),
    f("info", Ty::Json),
    f("b64info", Ty::B64),
    f("data", Ty::Json),
    f("b64data", Ty::B64),
    f("recover_since", Ty::Obj(STREAM_POSITION)),
    f("override", Ty::Obj(OVERRIDE)),
];
const TARGETING: [Field; 3] = [f("user", Ty::Str), f("client", Ty::Str), f("session", Ty::Str)];
const UNSUBSCRIBE: &[Field] = &[f("channel", Ty::Str), TARGETING[0], TARGETING[1], TARGETING[2]];
const DISCONNECT_OBJ: &[Field] = &[f("code", Ty::UInt), f("reason", Ty::Str)];
const DISCONNECT: &[Field] =
    &[TARGETING[0], TARGETING[1], TARGETING[2], f("whitelist", Ty::StrList), f("disconnect", Ty::Obj(DISCONNECT_OBJ))];
const REFRESH: &[Field] =
    &[TARGETING[0], TARGETING[1], TARGETING[2], f("expired", Ty::Bool), f("expire_at", Ty::Int), f("info", Ty::Json)];
const CHANNEL_ONLY: &[Field] = &[f("channel", Ty::Str)];
const HISTORY: &[Field] =
    &[f("channel", Ty::Str), f("limit", Ty::Int), f("since", Ty::Obj(STREAM_POSITION)), f("reverse", Ty::Bool)];
const CHANNELS: &[Field] = &[f("pattern", Ty::Str)];
const NONE: &[Field] = &[];
const RPC: &[Field] = &[f("method", Ty::Str), f("params", Ty::Json)];
const MAP_PUBLISH: &[Field] = &[
    f("channel", Ty::Str),
    f("key", Ty::Str),
    PUBLISH_COMMON[0],
    PUBLISH_COMMON[1],
    PUBLISH_COMMON[3],
    PUBLISH_COMMON[4],
    PUBLISH_COMMON[5],
    PUBLISH_COMMON[6],
    f("version_epoch", Ty::Str),
    f("key_mode", Ty::Enum(&["", "if_new", "if_exists"])),
    f("stream_data", Ty::Json),
    f("b64stream_data", Ty::B64),
    f("score", Ty::Int),
];
const MAP_REMOVE: &[Field] = &[f("channel", Ty::Str), f("key", Ty::Str), f("idempotency_key", Ty::Str)];
const MAP_READ_STATE: &[Field] = &[
    f("channel", Ty::Str),
    f("cursor", Ty::Str),
    f("limit", Ty::Int),
    f("key", Ty::Str),
    f("asc", Ty::Bool),
    f("revision_offset", Ty::UInt),
    f("revision_epoch", Ty::Str),
];
const MAP_READ_STREAM: &[Field] = &[
    f("channel", Ty::Str),
    f("since_offset", Ty::UInt),
    f("since_epoch", Ty::Str),
    f("limit", Ty::Int),
    f("reverse", Ty::Bool),
];
const SHARED_POLL: &[Field] = &[
    f("channel", Ty::Str),
    f("key", Ty::Str),
    f("version", Ty::UInt),
    f("epoch", Ty::Str),
    f("data", Ty::Json),
    f("b64data", Ty::B64),
];
// PRO-only request shapes (api.proto); accepted so plans can carry them.
const USERS: &[Field] = &[f("users", Ty::StrList)];
const CONNECTIONS: &[Field] = &[f("user", Ty::Str), f("expression", Ty::Str)];
const UPDATE_USER_STATUS: &[Field] = &[f("users", Ty::StrList), f("state", Ty::Str)];
const BLOCK_USER: &[Field] = &[f("user", Ty::Str), f("expire_at", Ty::Int)];
const UNBLOCK_USER: &[Field] = &[f("user", Ty::Str)];
const REVOKE_TOKEN: &[Field] = &[f("uid", Ty::Str), f("expire_at", Ty::Int)];
const INVALIDATE_USER_TOKENS: &[Field] =
    &[f("user", Ty::Str), f("expire_at", Ty::Int), f("issued_before", Ty::Int), f("channel", Ty::Str)];
const PRO_FREEFORM: &[Field] = &[];

const fn m(name: &'static str, fields: &'static [Field], target: TargetKind, retry: Retry) -> Method {
    Method { name, fields, target, retry, pro: false, v1: false, legacy: true }
}
const fn v1(mut method: Method) -> Method {
    method.v1 = true;
    method
}
const fn pro(name: &'static str, fields: &'static [Field], target: TargetKind) -> Method {
    Method { name, fields, target, retry: Retry::Unsafe, pro: true, v1: false, legacy: true }
}

use Retry::{Safe, Unsafe, WithIdempotencyKey as Keyed};
use TargetKind::{Channel, Channels, None as NoTarget, User};

/// Every method of the modern API (OSS and PRO), in the order of api.proto.
pub static METHODS: &[Method] = &[
    v1(m("publish", PUBLISH, Channel, Keyed)),
    v1(m("broadcast", BROADCAST, Channels, Keyed)),
    m("subscribe", SUBSCRIBE, User, Safe),
    v1(m("unsubscribe", UNSUBSCRIBE, User, Safe)),
    v1(m("disconnect", DISCONNECT, User, Safe)),
    m("refresh", REFRESH, User, Safe),
    v1(m("presence", CHANNEL_ONLY, Channel, Safe)),
    m("presence_stats", CHANNEL_ONLY, Channel, Safe),
    v1(m("history", HISTORY, Channel, Safe)),
    m("history_remove", CHANNEL_ONLY, Channel, Safe),
    v1(m("channels", CHANNELS, NoTarget, Safe)),
    m("info", NONE, NoTarget, Safe),
    m("rpc", RPC, NoTarget, Unsafe),
    m("map_publish", MAP_PUBLISH, Channel, Keyed),
    m("map_remove", MAP_REMOVE, Channel, Keyed),
    m("map_read_state", MAP_READ_STATE, Channel, Safe),
    m("map_read_stream", MAP_READ_STREAM, Channel, Safe),
    m("map_stats", CHANNEL_ONLY, Channel, Safe),
    m("map_clear", CHANNEL_ONLY, Channel, Unsafe),
    m("shared_poll_publish", SHARED_POLL, Channel, Unsafe),
    pro("connections", CONNECTIONS, User),
    pro("update_user_status", UPDATE_USER_STATUS, NoTarget),
    pro("get_user_status", USERS, NoTarget),
    pro("delete_user_status", USERS, NoTarget),
    pro("block_user", BLOCK_USER, User),
    pro("unblock_user", UNBLOCK_USER, User),
    pro("revoke_token", REVOKE_TOKEN, NoTarget),
    pro("invalidate_user_tokens", INVALIDATE_USER_TOKENS, User),
    pro("device_register", PRO_FREEFORM, NoTarget),
    pro("device_update", PRO_FREEFORM, NoTarget),
    pro("device_remove", PRO_FREEFORM, NoTarget),
    pro("device_list", PRO_FREEFORM, NoTarget),
    pro("device_topic_list", PRO_FREEFORM, NoTarget),
    pro("device_topic_update", PRO_FREEFORM, NoTarget),
    pro("user_topic_list", PRO_FREEFORM, NoTarget),
    pro("user_topic_update", PRO_FREEFORM, NoTarget),
    pro("send_push_notification", PRO_FREEFORM, NoTarget),
    pro("update_push_status", PRO_FREEFORM, NoTarget),
    pro("cancel_push", PRO_FREEFORM, NoTarget),
];

/// Methods only the v1 protocol has (`info` maps to `stats` there).
pub static V1_ONLY: &[Method] = &[
    Method { name: "stats", fields: NONE, target: NoTarget, retry: Safe, pro: false, v1: true, legacy: false },
    Method { name: "node", fields: NONE, target: NoTarget, retry: Safe, pro: false, v1: true, legacy: false },
];

pub fn lookup(name: &str) -> Option<&'static Method> {
    METHODS.iter().chain(V1_ONLY).find(|m| m.name == name)
}

/// PRO methods whose request shape is not modelled field by field: any
/// mapping is accepted and passed through.
pub fn freeform(method: &Method) -> bool {
    method.pro && method.fields.is_empty()
}

pub fn names() -> impl Iterator<Item = &'static str> {
    METHODS.iter().chain(V1_ONLY).map(|m| m.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v1_method_set_is_exactly_what_v1_servers_had() {
        let mut v1: Vec<_> = METHODS.iter().chain(V1_ONLY).filter(|m| m.v1).map(|m| m.name).collect();
        v1.sort();
        assert_eq!(
            v1,
            ["broadcast", "channels", "disconnect", "history", "node", "presence", "publish", "stats", "unsubscribe"]
        );
    }

    #[test]
    fn field_names_are_unique_per_method() {
        for m in METHODS {
            let mut names: Vec<_> = m.fields.iter().map(|f| f.name).collect();
            names.sort();
            names.dedup();
            assert_eq!(names.len(), m.fields.len(), "{}", m.name);
        }
    }
}
