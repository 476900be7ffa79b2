//! The JSON Schema of the JSON report (`--report-json`, `--format json`)
//! and of `check --format json`, printed by `cent-run schema --report`;
//! tests validate real reports against it, and `docs/report.md` describes
//! every field it names.

use serde_json::{Value as Json, json};

fn nullable(t: &str) -> Json {
    json!({"type": [t, "null"]})
}

fn problem() -> Json {
    json!({
        "type": "object",
        "description": "a validation problem: where, how bad, what, and a hint",
        "required": ["file", "line", "column", "severity", "message", "hint"],
        "additionalProperties": false,
        "properties": {
            "file": nullable("string"), "line": nullable("integer"), "column": nullable("integer"),
            "severity": {"enum": ["error", "warning"]},
            "message": {"type": "string"}, "hint": nullable("string")
        }
    })
}

fn status() -> Json {
    json!({"enum": ["ok", "failed", "unknown", "skipped"]})
}

fn reason() -> Json {
    json!({"enum": ["refused", "expectation", "configuration", "fail_fast", "transport", "interrupted", "already_applied", "not_saved", "untrusted", "not_selected", null]})
}

fn error() -> Json {
    json!({
        "type": ["object", "null"],
        "required": ["code", "message"],
        "additionalProperties": false,
        "properties": {"code": nullable("integer"), "message": {"type": "string"}}
    })
}

/// The run report's schema.
pub(crate) fn report() -> Json {
    let summary = json!({
        "type": "object",
        "required": ["total", "ok", "failed", "unknown", "skipped"],
        "additionalProperties": false,
        "properties": {"total": {"type": "integer"}, "ok": {"type": "integer"}, "failed": {"type": "integer"}, "unknown": {"type": "integer"}, "skipped": {"type": "integer"}}
    });
    let command = json!({
        "type": "object",
        "required": ["index", "manifest", "line", "name", "method", "target", "status", "reason", "attempts", "duration_ms", "error", "detail", "result", "channels", "checks", "node"],
        "additionalProperties": false,
        "properties": {
            "index": {"type": "integer", "description": "place in the whole run after for_each expansion, from 0"},
            "manifest": {"type": "string"},
            "line": {"type": "integer", "description": "1-based line where the command's list item starts"},
            "name": nullable("string"),
            "tags": {"type": "array", "items": {"type": "string"}, "description": "its `tags:`"},
            "finally": {"type": "boolean", "description": "a command of the `finally:` list"},
            "method": {"type": "string"},
            "target": {
                "type": "object",
                "additionalProperties": false,
                "properties": {
                    "channel": {"type": "string"}, "channels": {"type": "array", "items": {"type": "string"}},
                    "user": {"type": "string"}, "client": {"type": "string"}, "session": {"type": "string"}
                }
            },
            "status": status(),
            "reason": reason(),
            "attempts": {"type": "integer"},
            "duration_ms": {"type": "integer"},
            "error": error(),
            "detail": nullable("string"),
            "result": {"description": "the server's result, as it sent it"},
            "channels": {"type": "array", "items": {
                "type": "object", "additionalProperties": false,
                "required": ["channel", "status", "reason", "error", "result"],
                "properties": {"channel": {"type": "string"}, "status": status(), "reason": reason(), "error": error(), "result": {}}
            }},
            "checks": {"type": "array", "items": {
                "type": "object", "additionalProperties": false,
                "required": ["manifest", "line", "path", "wanted", "got", "ok"],
                "properties": {
                    "manifest": {"type": "string"}, "line": {"type": "integer"}, "path": {"type": "string"},
                    "wanted": {"type": "string"}, "got": {}, "ok": {"type": "boolean"}
                }
            }},
            "node": nullable("string")
        }
    });
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "cent-run JSON report, version 2",
        "type": "object",
        "required": ["version", "run_id", "duration_ms", "exit", "signal", "summary", "causes", "nodes", "problems", "commands"],
        "additionalProperties": false,
        "properties": {
            "version": {"const": 2},
            "run_id": {"type": "string"},
            "duration_ms": {"type": "integer"},
            "exit": {
                "type": "object", "required": ["code", "meaning"], "additionalProperties": false,
                "properties": {"code": {"enum": [0, 1, 2, 3, 4, 130, 143]}, "meaning": {"type": "string"}}
            },
            "signal": {"enum": ["SIGINT", "SIGTERM", null]},
            "summary": summary,
            "causes": {"type": "array", "items": {
                "type": "object", "additionalProperties": false,
                "required": ["status", "reason", "message", "count", "commands"],
                "properties": {
                    "status": status(), "reason": reason(), "message": {"type": "string"},
                    "count": {"type": "integer"}, "commands": {"type": "array", "items": {"type": "integer"}, "maxItems": super::LISTED}
                }
            }},
            "nodes": {"type": "array", "items": {
                "type": "object", "additionalProperties": false, "required": ["url", "commands", "failures"],
                "properties": {
                    "url": {"type": "string"}, "commands": {"type": "integer"},
                    "failures": {"type": "array", "items": {
                        "type": "object", "additionalProperties": false, "required": ["after_ms", "why"],
                        "properties": {"after_ms": {"type": "integer"}, "why": {"type": "string"}}
                    }}
                }
            }},
            "problems": {"type": "array", "items": problem()},
            "commands": {"type": "array", "items": command}
        }
    })
}

/// The schema of `check --format json`.
pub(crate) fn check() -> Json {
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "cent-run check --format json, version 2",
        "type": "object",
        "required": ["version", "valid", "total", "protocol", "env_reads", "problems"],
        "additionalProperties": false,
        "properties": {
            "version": {"const": 2},
            "valid": {"type": "boolean"},
            "total": {"type": "integer", "description": "commands after for_each expansion (0 when invalid)"},
            "protocol": {"enum": ["api", "legacy", "v1", null]},
            "env_reads": {"type": "array", "items": {"type": "string"}},
            "problems": {"type": "array", "items": problem()}
        }
    })
}

/// Both schemas, as `cent-run schema --report` prints them.
pub(crate) fn both() -> Json {
    json!({"report": report(), "check": check()})
}
