//! Document-level validation: the top-level keys, `vars:`, and `server:` and
//! `defaults:` as a settings [`Layer`]. An undefined `${VAR}` in `server:`
//! is kept in the layer as a broken value, not reported here: it matters
//! only where no flag or environment value replaces it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use secrecy::SecretString;

use super::check::{Checker, Scope, parse_duration};
use super::load::COMMANDS;
use super::yaml::{Node, Value};
use super::{LoadOptions, Source, diagnostic};
use crate::protocol::Protocol;
use crate::settings::{Layer, Origin, Setting, split_urls};

const TOP_KEYS: &[&str] = &["version", "server", "defaults", "vars", COMMANDS];
pub(super) const SERVER_KEYS: &[&str] = &["url", "api_key", "secret", "protocol", "timeout", "insecure", "cacert"];
pub(super) const DEFAULT_KEYS: &[&str] =
    &["batch_size", "concurrency", "retries", "max_batch_bytes", "rate", "fail_fast", "idempotency"];

type DocParts<'n> = (HashMap<String, String>, Option<&'n Node<'n>>);

/// Top-level keys of one document; `server:` and `defaults:` merge into the
/// run's layer (the first manifest that sets a key wins; a later manifest
/// setting it differently is an error). Returns its `vars` and the list of
/// commands, if it is a manifest at all.
pub(super) fn document<'n>(
    ck: &mut Checker,
    root: &'n Node,
    opts: &LoadOptions,
    source: &Source,
    dir: &Path,
    layer: &mut Layer,
) -> Option<DocParts<'n>> {
    if matches!(root.value, Value::Null) {
        ck.error(root.span, "empty", "manifest is empty").help = Some("add a `commands:` list".into());
        return None;
    }
    let entries = ck.entries(root, "a manifest")?;
    let mut vars = HashMap::new();
    let mut commands = None;
    // vars first: everything else may refer to them.
    for (k, v) in &entries {
        if k.as_str() == Some("vars") {
            vars = var_section(ck, v, opts);
        }
    }
    let scope = Scope::new(&opts.vars, &vars, &opts.env);
    let sec = Section { source, dir };
    for (k, v) in &entries {
        match k.key_text().as_ref() {
            "version" => match v.value {
                Value::Int(1) => {}
                Value::Int(n) => {
                    ck.error(v.span, "unsupported", format!("unsupported manifest version {n}")).help =
                        Some("this cent-run reads `version: 1`".into());
                }
                _ => ck.type_error(v, "`version` must be the integer 1", "an integer"),
            },
            "vars" => {}
            "server" => sec.server(ck, v, &scope, layer),
            "defaults" => sec.defaults(ck, v, layer),
            COMMANDS => match &v.value {
                Value::Seq(_) => commands = Some(*v),
                _ => ck.type_error(v, "`commands` must be a list", "a list"),
            },
            other => unknown_key(ck, k, other, None, TOP_KEYS),
        }
    }
    if commands.is_none() && !entries.iter().any(|(k, _)| k.as_str() == Some(COMMANDS)) {
        ck.error(root.span, "no `commands`", "manifest has no `commands` list");
    }
    Some((vars, commands))
}

pub(super) fn unknown_key(ck: &mut Checker, k: &Node, key: &str, section: Option<&str>, known: &[&str]) {
    let message = match section {
        Some(s) => format!("unknown key `{key}` in `{s}`"),
        None => format!("unknown top-level key `{key}`"),
    };
    let p = ck.error(k.span, "unknown key", message);
    p.help = Some(match diagnostic::did_you_mean(key, known.iter().copied()) {
        Some(s) => format!("did you mean `{s}`?"),
        None => format!("expected one of: {}", known.join(", ")),
    });
}

pub(super) fn var_section(ck: &mut Checker, v: &Node, opts: &LoadOptions) -> HashMap<String, String> {
    let mut vars = HashMap::new();
    let Some(entries) = ck.entries(v, "`vars`") else { return vars };
    let empty = HashMap::new();
    // A var's value may use the environment and --var, not other vars.
    let scope = Scope::new(&opts.vars, &empty, &opts.env);
    for (k, val) in entries {
        let value = match &val.value {
            Value::Str(s) => ck.interpolate(val, s, &scope),
            Value::Int(_) | Value::UInt(_) | Value::Float(_) | Value::Bool(_) => Some(val.key_text().into_owned()),
            _ => {
                ck.type_error(val, "a variable must be a string, number or boolean", "a scalar");
                None
            }
        };
        if let Some(value) = value {
            vars.insert(k.key_text().into_owned(), value);
        }
    }
    vars
}

/// A manifest's `server:` or `defaults:` section.
struct Section<'a> {
    source: &'a Source,
    /// Relative paths (`cacert`) resolve from the manifest's directory.
    dir: &'a Path,
}

impl Section<'_> {
    fn origin(&self, v: &Node) -> Origin {
        Origin::Manifest { source: self.source.clone(), span: v.span }
    }

    /// A value given at `v`.
    fn at<T>(&self, v: &Node, value: T) -> Setting<T> {
        Setting::new(value, self.origin(v))
    }

    /// A string setting with `${...}` expanded; an undefined variable makes
    /// it a broken value (reported only if it is the value used).
    fn string(&self, ck: &mut Checker, key: &str, v: &Node, scope: &Scope) -> Option<Setting<String>> {
        let Value::Str(s) = &v.value else {
            ck.type_error(v, &format!("`{key}` must be a string"), "a string");
            return None;
        };
        Some(match ck.expand(v, s, scope) {
            Ok(text) => Setting::new(text, self.origin(v)),
            Err(mut problems) => Setting::broken(problems.remove(0), self.origin(v)),
        })
    }

    fn server(&self, ck: &mut Checker, v: &Node, scope: &Scope, out: &mut Layer) {
        let Some(entries) = ck.entries(v, "`server`") else { return };
        for (k, val) in entries {
            let key = k.key_text();
            match key.as_ref() {
                "url" => {
                    let urls = match &val.value {
                        Value::Seq(items) => {
                            let mut all = Setting::new(Vec::new(), self.origin(val));
                            for item in items {
                                match self.string(ck, "an item of `url`", item, scope).map(|s| s.value) {
                                    Some(Ok(u)) => {
                                        if let Ok(list) = &mut all.value {
                                            list.extend(split_urls(&u));
                                        }
                                    }
                                    Some(Err(p)) => all.value = Err(p),
                                    None => return,
                                }
                            }
                            Some(all)
                        }
                        _ => self
                            .string(ck, "url", val, scope)
                            .map(|s| Setting { value: s.value.map(|u| split_urls(&u)), from: s.from }),
                    };
                    set_once(ck, k, &mut out.urls, urls);
                }
                "api_key" | "secret" => {
                    // Empty means not given: a flag, the environment or a
                    // profile may supply the credential.
                    let Some(s) = self.string(ck, &key, val, scope) else { continue };
                    let s = match s.value {
                        Ok(text) if text.is_empty() => continue,
                        Ok(text) => Setting::new(SecretString::from(text), s.from),
                        Err(p) => Setting { value: Err(p), from: s.from },
                    };
                    let slot = if key == "api_key" { &mut out.api_key } else { &mut out.secret };
                    slot.get_or_insert(s);
                }
                "protocol" => {
                    let Some(s) = self.string(ck, "protocol", val, scope) else { continue };
                    let p = match s.value {
                        Ok(text) => match text.parse::<Protocol>() {
                            Ok(p) => Setting::new(p, s.from),
                            Err(_) => {
                                ck.error(val.span, "unknown protocol", format!("unknown protocol `{text}`")).help =
                                    Some("one of: api (Centrifugo v5/v6), legacy (v2–v4), v1 (HMAC-signed)".into());
                                continue;
                            }
                        },
                        Err(p) => Setting { value: Err(p), from: s.from },
                    };
                    set_once(ck, k, &mut out.protocol, Some(p));
                }
                "timeout" => {
                    let d = match &val.value {
                        Value::Int(i) if *i > 0 => Some(Setting::new(Duration::from_secs(*i as u64), self.origin(val))),
                        Value::Str(_) => match self.string(ck, "timeout", val, scope) {
                            Some(Setting { value: Ok(text), from }) => {
                                parse_duration(&text).map(|d| Setting::new(d, from))
                            }
                            Some(broken) => Some(Setting { value: Err(broken.value.unwrap_err()), from: broken.from }),
                            None => continue,
                        },
                        _ => None,
                    };
                    if d.is_none() {
                        ck.error(
                            val.span,
                            "not a duration",
                            "`timeout` must be a positive duration like `5s` or `500ms`",
                        );
                    }
                    set_once(ck, k, &mut out.timeout, d);
                }
                "insecure" => match val.value {
                    Value::Bool(b) => set_once(ck, k, &mut out.insecure, Some(Setting::new(b, self.origin(val)))),
                    _ => ck.type_error(val, "`insecure` must be a boolean", "a boolean"),
                },
                "cacert" => {
                    let path = self
                        .string(ck, "cacert", val, scope)
                        .map(|s| Setting { value: s.value.map(|p| self.dir.join(p)), from: s.from });
                    set_once::<PathBuf>(ck, k, &mut out.cacert, path);
                }
                other => unknown_key(ck, k, other, Some("server"), SERVER_KEYS),
            }
        }
    }

    fn defaults(&self, ck: &mut Checker, v: &Node, out: &mut Layer) {
        let Some(entries) = ck.entries(v, "`defaults`") else { return };
        for (k, val) in entries {
            let key = k.key_text();
            let whole = |ck: &mut Checker, min: u64| match val.value {
                Value::Int(i) if i >= min as i64 => Some(i as u64),
                Value::Int(i) => {
                    ck.error(
                        val.span,
                        &format!("must be ≥ {min}"),
                        format!("`{key}` must be at least {min}, found {i}"),
                    );
                    None
                }
                _ => {
                    ck.type_error(val, &format!("`{key}` must be an integer ≥ {min}"), "an integer");
                    None
                }
            };
            let flag = |ck: &mut Checker| match val.value {
                Value::Bool(b) => Some(b),
                _ => {
                    ck.type_error(val, &format!("`{key}` must be a boolean"), "a boolean");
                    None
                }
            };
            match key.as_ref() {
                "batch_size" => {
                    let v = whole(ck, 1).map(|n| self.at(val, n as usize));
                    set_once(ck, k, &mut out.batch_size, v)
                }
                "concurrency" => {
                    let v = whole(ck, 1).map(|n| self.at(val, n as usize));
                    set_once(ck, k, &mut out.concurrency, v)
                }
                "retries" => {
                    let v = whole(ck, 0).map(|n| self.at(val, n.min(u32::MAX as u64) as u32));
                    set_once(ck, k, &mut out.retries, v)
                }
                "max_batch_bytes" => {
                    let v = whole(ck, 1024).map(|n| self.at(val, n as usize));
                    set_once(ck, k, &mut out.max_batch_bytes, v)
                }
                "rate" => {
                    let r = match val.value {
                        Value::Int(i) if i > 0 => Some(i as f64),
                        Value::Float(f) if f > 0.0 && f.is_finite() => Some(f),
                        Value::Int(_) | Value::Float(_) => {
                            ck.error(
                                val.span,
                                "must be > 0",
                                format!("`rate` must be a positive number, found {}", val.key_text()),
                            );
                            None
                        }
                        _ => {
                            ck.type_error(val, "`rate` must be a positive number (commands per second)", "a number");
                            None
                        }
                    };
                    set_once(ck, k, &mut out.rate, r.map(|r| self.at(val, r)));
                }
                "fail_fast" => {
                    let v = flag(ck).map(|b| self.at(val, b));
                    set_once(ck, k, &mut out.fail_fast, v)
                }
                "idempotency" => {
                    let v = flag(ck).map(|b| self.at(val, b));
                    set_once(ck, k, &mut out.idempotency, v)
                }
                other => unknown_key(ck, k, other, Some("defaults"), DEFAULT_KEYS),
            }
        }
    }
}

/// Sets a layer value unless an earlier manifest set it; a different value
/// from a later manifest is an error (broken values never conflict).
fn set_once<T: PartialEq>(ck: &mut Checker, k: &Node, slot: &mut Option<Setting<T>>, value: Option<Setting<T>>) {
    let Some(value) = value else { return };
    match slot {
        Some(Setting { value: Ok(existing), .. }) if value.value.as_ref().is_ok_and(|v| v != existing) => {
            ck.error(k.span, "conflict", format!("`{}` differs from an earlier manifest of this run", k.key_text()))
                .help = Some("manifests run together share one server and one set of defaults".into());
        }
        Some(_) => {}
        None => *slot = Some(value),
    }
}
