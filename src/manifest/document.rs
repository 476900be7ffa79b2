//! Document-level validation: the top-level keys, `vars:`, and `server:` and
//! `defaults:` as a settings [`Layer`]. An undefined `${VAR}` in `server:`
//! is kept in the layer as a broken value, not reported here: it matters
//! only where no flag or environment value replaces it.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use super::check::{Checker, Expect, Scope, Var};
use super::yaml::{Node, Value};
use super::{LoadOptions, Source};
use crate::diagnostic;
use crate::diagnostic::Problem;
use crate::settings::table::{self, Def, Kind};
use crate::settings::value::Refused;
use crate::settings::{Layer, Origin, Setting, Value as SValue, split_urls};

/// The key of the command list.
pub(super) const COMMANDS: &str = "commands";

/// The key of the clean-up list, run after `commands` whatever happened.
pub(super) const FINALLY: &str = "finally";

/// What the options give every manifest: `--var` and variable files as
/// typed variables, and the names that never go into a command.
pub(super) struct Inputs {
    pub cli: HashMap<String, Var>,
    pub forbidden: HashSet<String>,
    /// How messages name the options.
    pub naming: super::Naming,
    /// The manifests taken in by `include:` (by name).
    pub included: HashSet<String>,
}

impl Inputs {
    pub(super) fn new(opts: &LoadOptions) -> Self {
        let mut cli: HashMap<String, Var> =
            opts.typed_vars.iter().map(|(k, v)| (k.clone(), Var::typed(v.clone()))).collect();
        cli.extend(opts.vars.iter().map(|(k, v)| (k.clone(), Var::scalar(v))));
        let credentials = crate::settings::table::TABLE
            .iter()
            .filter(|d| d.kind == crate::settings::table::Kind::Secret)
            .filter_map(|d| d.env)
            .map(str::to_owned);
        let forbidden = credentials.chain(opts.secret_names.iter().cloned()).collect();
        Inputs { cli, forbidden, naming: opts.naming, included: HashSet::new() }
    }
}

const TOP_KEYS: &[&str] = &["version", "include", "server", "defaults", "vars", COMMANDS, FINALLY];

type DocParts<'n> = (HashMap<String, Var>, Option<&'n Node<'n>>);

/// Top-level keys of one document; `server:` and `defaults:` merge into the
/// run's layer (the first manifest that sets a key wins; a later manifest
/// setting it differently is an error). Returns its `vars` and the list of
/// commands, if it is a manifest at all.
pub(super) fn document<'n>(
    ck: &mut Checker,
    root: &'n Node,
    opts: &LoadOptions,
    inputs: &Inputs,
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
    // Whether `${NAME}` reads the environment: the options, else this
    // manifest's `defaults: {env: ...}`.
    let here = entries
        .iter()
        .find(|(k, _)| k.as_str() == Some("defaults"))
        .and_then(|(_, v)| v.as_map())
        .and_then(|m| m.iter().find(|(k, _)| k.as_str() == Some("env")))
        .and_then(|(_, v)| match v.value {
            Value::Bool(b) => Some(b),
            _ => None,
        });
    let env = opts.read_env.or(here).unwrap_or(true).then_some(&opts.env);
    // vars first: everything else may refer to them.
    for (k, v) in &entries {
        if k.as_str() == Some("vars") {
            vars = var_section(ck, v, inputs, env);
        }
    }
    let scope = Scope { naming: inputs.naming, ..Scope::new(&inputs.cli, &vars, env) };
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
            "server" => sec.read(ck, v, table::Section::Server, &scope, layer),
            "defaults" => sec.read(ck, v, table::Section::Defaults, &scope, layer),
            COMMANDS => match &v.value {
                Value::Seq(_) => commands = Some(*v),
                _ => ck.type_error(v, "`commands` must be a list", "a list"),
            },
            // Its items are validated after the commands (they may use what those save).
            FINALLY => {
                if !matches!(&v.value, Value::Seq(_)) {
                    ck.type_error(v, "`finally` must be a list of commands", "a list");
                }
            }
            // Read before the manifest is (its files are validated in their own right).
            "include" => {}
            other => unknown_key(ck, k, other, None, TOP_KEYS),
        }
    }
    // A shared part (included, or including others) may have no commands of its own.
    let shared = inputs.included.contains(&source.name) || entries.iter().any(|(k, _)| k.as_str() == Some("include"));
    if commands.is_none() && !shared && !entries.iter().any(|(k, _)| k.as_str() == Some(COMMANDS)) {
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

/// `vars:`, each with its YAML type; a value may use the environment and
/// `--var`, not other vars.
pub(super) fn var_section(
    ck: &mut Checker,
    v: &Node,
    inputs: &Inputs,
    env: Option<&HashMap<String, String>>,
) -> HashMap<String, Var> {
    let mut vars = HashMap::new();
    let Some(entries) = ck.entries(v, "`vars`") else { return vars };
    let empty = HashMap::new();
    let scope = Scope { naming: inputs.naming, ..Scope::new(&inputs.cli, &empty, env) };
    for (k, val) in entries {
        let value = match &val.value {
            Value::Str(_) | Value::Int(_) | Value::UInt(_) | Value::Float(_) | Value::Bool(_) => {
                ck.json(val, &scope, Expect::Any).map(Var::typed)
            }
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

    /// The entries of `server:` or `defaults:`, each read by its row of the
    /// settings table (kind and limits), into `out`.
    fn read(&self, ck: &mut Checker, v: &Node, section: table::Section, scope: &Scope, out: &mut Layer) {
        let Some(entries) = ck.entries(v, &format!("`{}`", section.name())) else { return };
        for (k, val) in entries {
            let key = k.key_text();
            let Some(def) = table::in_section(section, &key) else {
                let known: Vec<&str> = table::section_keys(section).collect();
                unknown_key(ck, k, &key, Some(section.name()), &known);
                continue;
            };
            if let Some(setting) = self.value(ck, def, val, scope) {
                set_once(ck, k, def.key, out, setting);
            }
        }
    }

    /// One value by its row. A string may use `${...}`; an undefined
    /// variable makes it a broken value, reported only where no other
    /// source replaces it. `None`: reported here, or empty (not given).
    fn value(&self, ck: &mut Checker, def: &Def, v: &Node, scope: &Scope) -> Option<Setting> {
        let from = self.origin(v);
        let what = def.manifest_path().unwrap_or_default();
        let refused = |ck: &mut Checker, r: Refused| {
            let label = match def.kind {
                Kind::Int { min, .. } => format!("must be ≥ {min}"),
                Kind::Positive => "must be > 0".into(),
                Kind::Duration => "not a duration".into(),
                Kind::Protocol => "unknown protocol".into(),
                _ => "not allowed".into(),
            };
            let sep = if r.message.starts_with("must") { " " } else { ": " };
            let p = ck.error(v.span, &label, format!("`{what}`{sep}{}", r.message));
            p.help = r.hint;
        };
        let text = |ck: &mut Checker, node: &Node| -> Option<Result<String, Problem>> {
            let Value::Str(s) = &node.value else { return None };
            Some(ck.expand(node, s, scope).map_err(|mut problems| problems.remove(0)))
        };
        match (def.kind, &v.value) {
            (Kind::Switch(_), Value::Bool(b)) => {
                // `--no-idempotency` sets false; in a manifest the key says what it means.
                Some(Setting::new(SValue::Bool(*b), from))
            }
            (Kind::Int { .. }, Value::Int(i)) => {
                match u64::try_from(*i).map_err(|_| ()).and_then(|n| def.check_int(n).map(|()| n).map_err(|_| ())) {
                    Ok(n) => Some(Setting::new(SValue::Int(n), from)),
                    Err(()) => {
                        let min = match def.kind {
                            Kind::Int { min, .. } => min,
                            _ => 0,
                        };
                        let r = u64::try_from(*i).ok().map_or_else(
                            || Refused { message: format!("must be at least {min}, found {i}"), hint: None },
                            |n| def.check_int(n).unwrap_err(),
                        );
                        refused(ck, r);
                        None
                    }
                }
            }
            // A number for a duration: refused with the hint to add a unit.
            (Kind::Positive | Kind::Duration, Value::Int(_) | Value::Float(_)) => match def.parse(&v.key_text()) {
                Ok(x) => Some(Setting::new(x, from)),
                Err(r) => {
                    refused(ck, r);
                    None
                }
            },
            (Kind::Urls, Value::Seq(items)) => {
                let mut all = Vec::new();
                for item in items {
                    match text(ck, item) {
                        Some(Ok(u)) => all.extend(split_urls(&u)),
                        Some(Err(p)) => return Some(Setting::broken(p, from)),
                        None => {
                            ck.type_error(item, "an item of `server.url` must be a string", "a string");
                            return None;
                        }
                    }
                }
                Some(Setting::new(SValue::Urls(all), from))
            }
            (Kind::Switch(_) | Kind::Int { .. } | Kind::Positive, _) => {
                let (msg, kind) = match def.kind {
                    Kind::Switch(_) => ("a boolean", "a boolean"),
                    Kind::Int { .. } => ("an integer", "an integer"),
                    _ => ("a positive number", "a number"),
                };
                ck.type_error(v, &format!("`{what}` must be {msg}"), kind);
                None
            }
            _ => match text(ck, v) {
                None => {
                    ck.type_error(v, &format!("`{what}` must be a string"), "a string");
                    None
                }
                Some(Err(p)) => Some(Setting::broken(p, from)),
                // Empty means not given: a flag, the environment or a profile may supply it.
                Some(Ok(t)) if t.is_empty() && def.kind == Kind::Secret => None,
                Some(Ok(t)) => match def.parse(&t) {
                    Ok(SValue::Path(p)) => Some(Setting::new(SValue::Path(self.dir.join(p)), from)),
                    Ok(x) => Some(Setting::new(x, from)),
                    Err(r) => {
                        refused(ck, r);
                        None
                    }
                },
            },
        }
    }
}

/// Sets a layer value unless an earlier manifest set it; a different value
/// from a later manifest is an error (broken values never conflict).
fn set_once(ck: &mut Checker, k: &Node, key: table::Key, out: &mut Layer, value: Setting) {
    match out.get(key) {
        Some(Setting { value: Ok(existing), .. }) if value.value.as_ref().is_ok_and(|v| !same(v, existing)) => {
            ck.error(k.span, "conflict", format!("`{}` differs from an earlier manifest of this run", k.key_text()))
                .help = Some("manifests run together share one server and one set of defaults".into());
        }
        Some(_) => {}
        None => out.set(key, value),
    }
}

/// Two settings' values are the same (secrets compared by their text).
fn same(a: &SValue, b: &SValue) -> bool {
    use secrecy::ExposeSecret;
    match (a, b) {
        (SValue::Secret(x), SValue::Secret(y)) => x.expose_secret() == y.expose_secret(),
        _ => format!("{a:?}") == format!("{b:?}"),
    }
}
