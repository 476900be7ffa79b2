//! The manifest's JSON Schema, generated from the method table so it never
//! drifts from what validation accepts: fields and their types, and each
//! method's requirements on the manifest's protocol (`server.protocol`
//! picks the command variants). Editors' YAML language servers use it for
//! validation and completion.

use serde_json::{Map, Value as Json, json};

use crate::methods::{self, Field, METHODS, Method, Rule, Ty};
use crate::protocol::Protocol;
use crate::settings::table::{self, Kind, Section};

fn ty(t: Ty) -> Json {
    match t {
        Ty::Str | Ty::B64 | Ty::ChannelOrAll => json!({"type": "string"}),
        Ty::Channel => json!({"type": "string", "minLength": 1}),
        Ty::Bool => json!({"type": "boolean"}),
        Ty::Int => json!({"type": "integer"}),
        Ty::UInt => json!({"type": "integer", "minimum": 0}),
        Ty::Json => json!({}),
        Ty::StrList => json!({"type": "array", "items": {"type": "string"}}),
        Ty::Channels => json!({"type": "array", "items": {"type": "string", "minLength": 1}}),
        Ty::StrMap => json!({"type": "object", "additionalProperties": {"type": "string"}}),
        Ty::Obj(fields) => object(fields),
        Ty::Enum(values) => json!({"enum": values}),
    }
}

fn object(fields: &[Field]) -> Json {
    let props: Map<String, Json> = fields.iter().map(|f| (f.name.to_owned(), ty(f.ty))).collect();
    json!({"type": ["object", "null"], "properties": props, "additionalProperties": false})
}

/// `{"required": [f]}` plus "not empty" for the field's type.
fn filled(m: &Method, f: &str) -> Json {
    let not_empty = match m.field(f).map(|x| x.ty) {
        Some(Ty::StrList | Ty::Channels) => json!({"minItems": 1}),
        Some(Ty::Int | Ty::UInt) => json!({"not": {"const": 0}}),
        _ => json!({"minLength": 1}),
    };
    json!({"required": [f], "properties": {(f): not_empty}})
}

/// A method's request object on `protocol`, with its requirements.
fn body(m: &'static Method, protocol: Protocol) -> Json {
    if m.freeform() {
        return json!({"type": ["object", "null"]});
    }
    let mut body = object(m.fields);
    if m.data_file {
        body["properties"]["data_file"] =
            json!({"type": "string", "description": "JSON file (relative to the manifest) used as data"});
    }
    let mut all = Vec::new();
    for rule in m.requirements(protocol) {
        all.push(match *rule {
            Rule::Present(f) => json!({"required": [f]}),
            Rule::NonEmpty(f) | Rule::Positive(f) => filled(m, f),
            Rule::AnyPresent(fs) => {
                let mut any: Vec<Json> = fs.iter().map(|f| json!({"required": [f]})).collect();
                if m.data_file && fs.contains(&"data") {
                    any.push(json!({"required": ["data_file"]}));
                }
                json!({"anyOf": any})
            }
            Rule::AnyNonEmpty(fs) => json!({"anyOf": fs.iter().map(|f| filled(m, f)).collect::<Vec<_>>()}),
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
            let mut props = Map::new();
            props.insert(m.name.into(), body(m, protocol));
            props.insert("name".into(), json!({"type": "string", "description": "label used in reports"}));
            props.insert("for_each".into(), json!({"$ref": "#/$defs/for_each"}));
            props.insert("expect".into(), json!({"$ref": "#/$defs/expect"}));
            props.insert("save".into(), json!({"$ref": "#/$defs/save"}));
            // Only a command that reads may be repeated.
            if m.reads() {
                props.insert("until".into(), json!({"$ref": "#/$defs/until"}));
            }
            json!({"type": "object", "properties": props, "required": [m.name], "additionalProperties": false})
        })
        .chain([json!({
            "type": "object",
            "description": "a barrier, then a pause: every earlier command has its outcome before it; later commands start after it",
            "properties": {"wait": {"$ref": "#/$defs/duration"}, "name": {"type": "string"}},
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
    json!({"properties": {"commands": {"items": {"$ref": format!("#/$defs/{def}")}}}})
}

/// A setting's value in a manifest, by its kind and limits (the settings table).
fn setting(kind: Kind, help: &str) -> Json {
    let mut s = match kind {
        Kind::Switch(_) => json!({"type": "boolean"}),
        Kind::Int { min, max } => json!({"type": "integer", "minimum": min, "maximum": max}),
        Kind::Positive => json!({"type": "number", "exclusiveMinimum": 0}),
        Kind::Duration => json!({"$ref": "#/$defs/duration"}),
        Kind::Urls => json!({"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}),
        Kind::Protocol => json!({"enum": Protocol::SPELLINGS.iter().map(|(n, _)| *n).collect::<Vec<_>>()}),
        Kind::Choice(words) => json!({"enum": words}),
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

/// JSON Schema (draft 2020-12) of a manifest.
pub fn schema() -> Json {
    let server = section(Section::Server);
    let defaults = section(Section::Defaults);
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
            "commands": {"type": "array"}
        },
        "allOf": [
            {"if": protocol_is(&[Protocol::V1]), "then": items("command_v1")},
            {"if": protocol_is(&[Protocol::Legacy]), "then": items("command_legacy")},
            {"if": {"not": protocol_is(&[Protocol::V1, Protocol::Legacy])}, "then": items("command_api")}
        ],
        "$defs": {
            "command_api": commands(Protocol::Api),
            "command_legacy": commands(Protocol::Legacy),
            "command_v1": commands(Protocol::V1),
            "duration": {
                "description": "e.g. 5s, 500ms, 2m, 1h (a number is seconds)",
                "oneOf": [{"type": "string", "pattern": "^[0-9.]+ *(ms|s|sec|m|min|h)?$"}, {"type": "integer", "minimum": 0}]
            },
            "expect": {
                "type": "object",
                "description": "checks on the result: dot path -> a literal (equality) or {eq|ne|gt|ge|lt|le|len|contains|exists|matches: value}; or {error: CODE}",
                "properties": {"error": {"type": "integer", "minimum": 1}}
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
                "additionalProperties": {"type": "string"}
            },
            "for_each": {
                "oneOf": [
                    {"type": "array", "items": {"type": ["string", "number", "boolean"]}},
                    {"type": "object", "properties": {"file": {"type": "string"}}, "required": ["file"], "additionalProperties": false}
                ]
            }
        }
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
        assert_eq!(v1, methods::on(Protocol::V1).count() + 2, "v1 methods, `info` and the `wait` step");
    }
}
