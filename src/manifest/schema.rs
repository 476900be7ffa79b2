//! The manifest's JSON Schema, generated from the method table so it never
//! drifts from what validation accepts. Editors' YAML language servers use it
//! for validation and completion.

use serde_json::{Map, Value as Json, json};

use super::methods::{Field, METHODS, Ty, V1_ONLY};

fn ty(t: Ty) -> Json {
    match t {
        Ty::Str | Ty::B64 => json!({"type": "string"}),
        Ty::Bool => json!({"type": "boolean"}),
        Ty::Int => json!({"type": "integer"}),
        Ty::UInt => json!({"type": "integer", "minimum": 0}),
        Ty::Json => json!({}),
        Ty::StrList => json!({"type": "array", "items": {"type": "string"}}),
        Ty::StrMap => json!({"type": "object", "additionalProperties": {"type": "string"}}),
        Ty::Obj(fields) => object(fields, false),
        Ty::Enum(values) => json!({"enum": values}),
    }
}

fn object(fields: &[Field], data_file: bool) -> Json {
    let mut props: Map<String, Json> = fields.iter().map(|f| (f.name.to_owned(), ty(f.ty))).collect();
    if data_file {
        props.insert(
            "data_file".into(),
            json!({"type": "string", "description": "JSON file (relative to the manifest) used as data"}),
        );
    }
    json!({"type": ["object", "null"], "properties": props, "additionalProperties": false})
}

/// JSON Schema (draft 2020-12) of a manifest.
pub fn schema() -> Json {
    let mut variants = Vec::new();
    for m in METHODS.iter().chain(V1_ONLY) {
        let body = if super::methods::freeform(m) {
            json!({"type": ["object", "null"]})
        } else {
            object(m.fields, matches!(m.name, "publish" | "broadcast"))
        };
        let mut body = body;
        let mut desc = format!("Centrifugo `{}` command", m.name);
        if m.pro {
            desc.push_str(" (Centrifugo PRO only)");
        }
        if !m.legacy {
            desc.push_str(" (protocol v1 only)");
        }
        body["description"] = Json::String(desc);
        variants.push(json!({
            "type": "object",
            "properties": {
                (m.name): body,
                "name": {"type": "string", "description": "label used in reports"},
                "for_each": {"$ref": "#/$defs/for_each"}
            },
            "required": [m.name],
            "additionalProperties": false
        }));
    }
    let str_or_var = json!({"type": "string"});
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "cent-run manifest",
        "type": "object",
        "additionalProperties": false,
        "required": ["commands"],
        "properties": {
            "version": {"const": 1},
            "server": {
                "type": "object",
                "additionalProperties": false,
                "properties": {
                    "url": str_or_var, "api_key": str_or_var, "secret": str_or_var,
                    "protocol": {"enum": ["api", "legacy", "v1"]},
                    "timeout": {"type": ["string", "integer"]},
                    "insecure": {"type": "boolean"}
                }
            },
            "defaults": {
                "type": "object",
                "additionalProperties": false,
                "properties": {
                    "batch_size": {"type": "integer", "minimum": 1},
                    "concurrency": {"type": "integer", "minimum": 1},
                    "retries": {"type": "integer", "minimum": 0},
                    "max_batch_bytes": {"type": "integer", "minimum": 1024},
                    "rate": {"type": "number", "exclusiveMinimum": 0},
                    "fail_fast": {"type": "boolean"}
                }
            },
            "vars": {"type": "object", "additionalProperties": {"type": ["string", "number", "boolean"]}},
            "commands": {"type": "array", "items": {"oneOf": variants}}
        },
        "$defs": {
            "for_each": {
                "oneOf": [
                    {"type": "array", "items": {"type": ["string", "number", "boolean"]}},
                    {"type": "object", "properties": {"file": {"type": "string"}}, "required": ["file"], "additionalProperties": false}
                ]
            }
        }
    })
}
