//! The manifest's JSON Schema, generated from what validation reads — the
//! server's message definitions (every field, type and integer range), the
//! method table (requirements on the manifest's protocol; `server.protocol`
//! picks the command variants), the settings table (`server:`, `defaults:`)
//! and the step language (operators, durations, `for_each` forms) — so it
//! agrees with `check`: a `${NAME}` is accepted wherever a typed value is.

use serde_json::{Map, Value as Json, json};

use super::fields::DATA_FILE;
use crate::methods::proto::{Field, Message, Scalar, Shape, schema as proto};
use crate::methods::{self, METHODS, Method, Rule};
use crate::protocol::Protocol;
use crate::settings::table::{self, Kind, Section};

/// A string that is exactly `${NAME}`: its type is the variable's.
fn placeholder() -> Json {
    json!({"$ref": "#/$defs/placeholder"})
}

/// One element of a field's type.
fn scalar(ty: Scalar) -> Json {
    match ty {
        Scalar::String => json!({"type": "string"}),
        Scalar::Bytes => json!({"description": "any JSON value, sent as it is"}),
        Scalar::Bool => json!({"anyOf": [{"type": "boolean"}, placeholder()]}),
        Scalar::Double => json!({"anyOf": [{"type": "number"}, placeholder()]}),
        Scalar::Message(name) => json!({"anyOf": [{"$ref": format!("#/$defs/{name}")}, placeholder()]}),
        int => {
            let (min, max) = int.int_range().expect("an integer type");
            let range = json!({"type": "integer", "minimum": Json::Number(min.to_string().parse().expect("a number")), "maximum": Json::Number(max.to_string().parse().expect("a number")), "description": int.proto_name()});
            json!({"anyOf": [range, placeholder()]})
        }
    }
}

fn field(f: &Field) -> Json {
    match f.shape {
        Shape::One => scalar(f.ty),
        Shape::Repeated => json!({"anyOf": [{"type": "array", "items": scalar(f.ty)}, placeholder()]}),
        Shape::Map => json!({"anyOf": [{"type": "object", "additionalProperties": scalar(f.ty)}, placeholder()]}),
    }
}

fn message(m: &Message) -> Json {
    let mut props: Map<String, Json> = m.fields.iter().map(|f| (f.name.to_owned(), field(f))).collect();
    let mut all = Vec::new();
    for f in m.fields.iter().filter(|f| f.name.starts_with("b64") && f.shape == Shape::One) {
        // Standard base64 with padding (the server's decoder skips line
        // breaks), never empty; and never beside the field it stands for.
        props.insert(
            f.name.to_owned(),
            json!({"anyOf": [{"type": "string", "minLength": 1, "pattern": "^([A-Za-z0-9+/\r\n]{4})*([A-Za-z0-9+/\r\n]{2}==|[A-Za-z0-9+/\r\n]{3}=)?[\r\n]*$"}, placeholder()]}),
        );
        let plain = &f.name[3..];
        if m.field(plain).is_some() {
            all.push(json!({"not": {"required": [plain, f.name]}}));
        }
    }
    for (message, name, words) in methods::ENUMS {
        if *message == m.name {
            props.insert((*name).to_owned(), json!({"anyOf": [{"enum": words}, placeholder()]}));
        }
    }
    let mut out = json!({"type": "object", "properties": props, "additionalProperties": false});
    if !all.is_empty() {
        out["allOf"] = Json::Array(all);
    }
    out
}

/// `{"required": [f]}` plus "not empty" for the field's type.
fn filled(msg: &Message, f: &str) -> Json {
    let not_empty = match msg.field(f) {
        Some(x) if x.shape == Shape::Repeated => json!({"minItems": 1}),
        Some(x) if x.ty.int_range().is_some() => json!({"not": {"const": 0}}),
        _ => json!({"minLength": 1}),
    };
    json!({"required": [f], "properties": {(f): not_empty}})
}

/// A method's request object on `protocol`, with its requirements.
fn body(m: &'static Method, protocol: Protocol) -> Json {
    let msg = m.request(protocol);
    let mut body = message(msg);
    let mut all = Vec::new();
    if m.data_file {
        body["properties"][DATA_FILE] =
            json!({"type": "string", "description": "JSON file (inside the file root) used as data"});
        all.push(json!({"not": {"required": ["data", DATA_FILE]}}));
    }
    body["type"] = json!(["object", "null"]);
    if let Some(Json::Array(own)) = body.get("allOf").cloned() {
        all.extend(own);
    }
    for r in m.requirements(protocol) {
        all.push(match r.rule {
            Rule::NonEmpty(f) | Rule::Positive(f) => filled(msg, f),
            Rule::NonEmptyItems(f) => json!({"properties": {(f): {"items": {"minLength": 1}}}}),
            Rule::AnyPresent(fs) => {
                let mut any: Vec<Json> = fs.iter().map(|f| json!({"required": [f]})).collect();
                if m.data_file && fs.contains(&"data") {
                    any.push(json!({"required": [DATA_FILE]}));
                }
                json!({"anyOf": any})
            }
            Rule::AnyNonEmpty(fs) => json!({"anyOf": fs.iter().map(|f| filled(msg, f)).collect::<Vec<_>>()}),
            Rule::Check(_) => continue,
        });
    }
    if !all.is_empty() {
        // A method with requirements cannot be `null`.
        body["type"] = json!("object");
        body["allOf"] = Json::Array(all);
    }
    let mut desc = format!("Centrifugo `{}` command ({})", m.name, if m.reads() { "reads" } else { "writes" });
    if m.pro {
        desc.push_str(" (Centrifugo PRO only)");
    }
    if !m.on.has(Protocol::Api) {
        desc.push_str(" (protocol v1 only)");
    }
    body["description"] = Json::String(desc);
    body
}

/// The command variants a protocol accepts (on v1, `info` too: it is sent as `stats`).
fn commands(protocol: Protocol) -> Json {
    let variants: Vec<Json> = METHODS
        .iter()
        .filter(|m| methods::for_protocol(m, protocol).is_ok())
        .map(|m| {
            let sent = methods::for_protocol(m, protocol).expect("filtered");
            let mut props = Map::new();
            props.insert(m.name.into(), body(sent, protocol));
            props.insert("name".into(), json!({"type": "string", "description": "label used in reports"}));
            props.insert("tags".into(), json!({"$ref": "#/$defs/tags"}));
            props.insert("for_each".into(), json!({"$ref": "#/$defs/for_each"}));
            // The result's own paths, as `check` knows them.
            let paths = methods::replies::path_pattern(sent, protocol);
            let checks = format!("^(error|{})$", &paths[2..paths.len() - 2]);
            props.insert(
                "expect".into(),
                json!({"allOf": [{"$ref": "#/$defs/expect"}, {"propertyNames": {"pattern": checks}}]}),
            );
            props.insert(
                "save".into(),
                json!({"allOf": [{"$ref": "#/$defs/save"}, {"additionalProperties": {"pattern": paths}}]}),
            );
            // What a listener can hear: `delivered` waits for it.
            if matches!(m.name, "publish" | "broadcast" | "disconnect" | "unsubscribe") {
                props.insert(
                    "delivered".into(),
                    json!({
                        "type": "object",
                        "description": "a `listen:` step's client must receive what this command causes, within this time",
                        "properties": {"within": {"$ref": "#/$defs/duration"}},
                        "required": ["within"],
                        "additionalProperties": false
                    }),
                );
            }
            // Only a command that reads may be repeated.
            if m.reads() {
                props.insert("until".into(), json!({"$ref": "#/$defs/until"}));
            }
            json!({
                "type": "object",
                "properties": props,
                "required": [m.name],
                "additionalProperties": false,
                "dependentRequired": {"until": ["expect"]}
            })
        })
        .chain([json!({
            "type": "object",
            "description": "a real client connection of `user`, subscribed to `channel`, before what follows (tokens signed with the token secret)",
            "properties": {
                "listen": {
                    "type": "object",
                    "properties": {"channel": {"type": "string"}, "user": {"type": "string"}, "url": {"type": "string", "pattern": "^(https?|wss?)://"}},
                    "required": ["channel", "user"],
                    "additionalProperties": false
                },
                "name": {"type": "string"},
                "tags": {"$ref": "#/$defs/tags"}
            },
            "required": ["listen"],
            "additionalProperties": false
        })])
        .chain([json!({
            "type": "object",
            "description": "a barrier, then a pause: every earlier command has its outcome before it; later commands start after it",
            "properties": {"wait": {"$ref": "#/$defs/duration_or_zero"}, "name": {"type": "string"}, "tags": {"$ref": "#/$defs/tags"}},
            "required": ["wait"],
            "additionalProperties": false
        })])
        .collect();
    json!({"oneOf": variants})
}

/// Matches a manifest whose `server.protocol` is one of `protocols`.
fn protocol_is(protocols: &[Protocol]) -> Json {
    let names: Vec<&str> = Protocol::SPELLINGS.iter().filter(|(_, p)| protocols.contains(p)).map(|(n, _)| *n).collect();
    json!({"required": ["server"], "properties": {"server": {"required": ["protocol"], "properties": {"protocol": {"enum": names}}}}})
}

fn items(def: &str) -> Json {
    let each = json!({"items": {"$ref": format!("#/$defs/{def}")}});
    json!({"properties": {"commands": each, "finally": each}})
}

/// A setting's value in a manifest, by its kind and limits (the settings table).
fn setting(kind: Kind, help: &str) -> Json {
    let mut s = match kind {
        Kind::Switch(_) => json!({"anyOf": [{"type": "boolean"}, placeholder()]}),
        Kind::Int { min, max } => {
            json!({"anyOf": [{"type": "integer", "minimum": min, "maximum": max}, placeholder()]})
        }
        Kind::Positive => json!({"anyOf": [{"type": "number", "exclusiveMinimum": 0}, placeholder()]}),
        Kind::Duration => json!({"$ref": "#/$defs/duration"}),
        Kind::Urls => json!({"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}),
        Kind::Protocol => {
            json!({"anyOf": [{"enum": Protocol::SPELLINGS.iter().map(|(n, _)| *n).collect::<Vec<_>>()}, placeholder()]})
        }
        Kind::Choice(words) => json!({"anyOf": [{"enum": words}, placeholder()]}),
        _ => json!({"type": "string"}),
    };
    s["description"] = Json::String(help.to_owned());
    s
}

/// The keys of `server:` or `defaults:`, from the settings table.
fn section(section: Section) -> Json {
    let props: Map<String, Json> = table::TABLE
        .iter()
        .filter(|d| d.section == Some(section))
        .map(|d| (d.name.to_owned(), setting(d.kind, d.help)))
        .collect();
    Json::Object(props)
}

/// `expect:`: per dot path, a literal (equality) or a map of operators that
/// must all hold; a literal map may not use an operator's name (or a
/// misspelling `check` knows) as a key: that is written `{eq: {...}}`.
fn expect() -> Json {
    let ops: Vec<&str> = super::steps::operators().map(|(n, _)| n).collect();
    let near: Vec<&str> = super::steps::aliases().chain(["in"]).collect();
    let mut reserved = ops.clone();
    reserved.extend(&near);
    let described: Vec<String> = super::steps::operators().map(|(n, m)| format!("{n}: {m}")).collect();
    let number = json!({"anyOf": [{"type": "number"}, placeholder()]});
    json!({
        "type": "object",
        "description": format!("checks on the result: dot path -> a literal (equality) or a map of operators, all of which must hold ({}); or error: CODE", described.join("; ")),
        "properties": {"error": {"type": "integer", "minimum": 1}},
        // An expected refusal has no result to check.
        "if": {"required": ["error"]},
        "then": {"maxProperties": 1},
        "additionalProperties": {
            "anyOf": [
                {"not": {"type": "object"}},
                {
                    "type": "object",
                    "minProperties": 1,
                    "propertyNames": {"enum": ops},
                    // What each operator compares with.
                    "properties": {
                        "gt": number, "ge": number, "lt": number, "le": number,
                        "len": {"anyOf": [{"type": "integer", "minimum": 0}, placeholder()]},
                        "exists": {"type": "boolean"},
                        "matches": {"type": "string"}
                    }
                },
                {"type": "object", "propertyNames": {"not": {"enum": reserved}}}
            ]
        }
    })
}

/// JSON Schema (draft 2020-12) of a manifest.
pub(crate) fn schema() -> Json {
    let server = section(Section::Server);
    let defaults = section(Section::Defaults);
    let mut defs = Map::new();
    for m in proto().messages() {
        defs.insert(m.name.to_owned(), message(m));
    }
    let go_duration = "^([0-9]+(\\.[0-9]*)?(ns|us|µs|ms|s|m|h))+$";
    let extra = json!({
        "command_api": commands(Protocol::Api),
        "command_legacy": commands(Protocol::Legacy),
        "command_v1": commands(Protocol::V1),
        "placeholder": {"type": "string", "pattern": "^\\$\\{[^${}]+\\}$", "description": "${NAME}: the variable's value, with its type"},
        "duration": {
            "description": "Go's form: 500ms, 5s, 1m30s, 1h (a number needs a unit); above zero",
            "anyOf": [{"type": "string", "pattern": go_duration, "not": {"pattern": "^(0+(\\.0*)?[a-zµ]+)+$"}}, {"$ref": "#/$defs/placeholder"}]
        },
        "duration_or_zero": {
            "description": "Go's form: 500ms, 5s, 1m30s, 1h; 0s for a barrier only",
            "anyOf": [{"type": "string", "pattern": go_duration}, {"const": 0}, {"const": "0"}, {"$ref": "#/$defs/placeholder"}]
        },
        "expect": expect(),
        "tags": {
            "description": "tags for --tags/--skip-tags: letters, digits, _, -, .",
            "anyOf": [
                {"type": "string", "pattern": "^[\\w.-]+$"},
                {"type": "array", "items": {"type": "string", "pattern": "^[\\w.-]+$"}},
                {"$ref": "#/$defs/placeholder"}
            ]
        },
        "until": {
            "type": "object",
            "description": "send again every `every` until the checks of `expect` hold, for at most `timeout`",
            "properties": {"every": {"$ref": "#/$defs/duration"}, "timeout": {"$ref": "#/$defs/duration"}},
            "required": ["timeout"],
            "additionalProperties": false
        },
        "save": {
            "type": "object",
            "description": "NAME -> dot path into the result; later commands use ${NAME}",
            "propertyNames": {"pattern": "^[A-Za-z_][A-Za-z0-9_]*$", "not": {"const": "item"}},
            "additionalProperties": {"type": "string"}
        },
        "for_each": {
            "oneOf": [
                {"type": "array", "items": {"type": ["string", "number", "boolean", "object"]}},
                {"type": "object", "properties": {"file": {"type": "string"}, "format": {"enum": ["lines", "jsonl", "csv"]}}, "required": ["file"], "additionalProperties": false}
            ]
        }
    });
    for (k, v) in extra.as_object().expect("an object") {
        defs.insert(k.clone(), v.clone());
    }
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "cent-run manifest",
        "type": "object",
        "additionalProperties": false,
        "required": ["commands"],
        "properties": {
            "version": {"const": 1},
            "server": {"type": "object", "additionalProperties": false, "properties": server},
            "defaults": {"type": "object", "additionalProperties": false, "properties": defaults},
            "vars": {"type": "object", "additionalProperties": {"type": ["string", "number", "boolean"]}},
            "commands": {"type": "array"},
            "finally": {"type": "array", "description": "commands run after `commands`, whatever happened to them (after failures, --fail-fast, SIGINT/SIGTERM)"},
            "include": {
                "description": "manifests whose server:, defaults:, vars:, commands: and finally: this one takes in",
                "anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]
            }
        },
        "allOf": [
            {"if": protocol_is(&[Protocol::V1]), "then": items("command_v1")},
            {"if": protocol_is(&[Protocol::Legacy]), "then": items("command_legacy")},
            {"if": {"not": protocol_is(&[Protocol::V1, Protocol::Legacy])}, "then": items("command_api")}
        ],
        "$defs": defs
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_validation_knows_is_in_the_schema() {
        let s = schema();
        for d in table::TABLE {
            if let Some(sec) = d.section {
                assert!(s["properties"][sec.name()]["properties"].get(d.name).is_some(), "{}", d.name);
            }
        }
        let v1 = s["$defs"]["command_v1"]["oneOf"].as_array().unwrap().len();
        assert_eq!(v1, methods::on(Protocol::V1).count() + 3, "v1 methods, `info`, and the `listen` and `wait` steps");
        let limit = &s["$defs"]["HistoryRequest"]["properties"]["limit"]["anyOf"][0];
        assert_eq!(
            (limit["minimum"].to_string(), limit["maximum"].to_string()),
            ("-2147483648".into(), "2147483647".into())
        );
    }
}
