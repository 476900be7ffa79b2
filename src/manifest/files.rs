//! Files a manifest names — `data_file`, `for_each` files — resolve inside
//! a root: the manifest's folder (the current folder for standard input)
//! unless `--file-root` widens it. An absolute path, a `..` that leaves the
//! root, or a symlink that points out of it is refused where it is written:
//! a manifest from a pull request cannot publish the runner's files.

use std::path::{Component, Path, PathBuf};

use super::check::Checker;
use super::yaml::Node;

/// Where a manifest's relative paths start, and the folder they must stay in.
#[derive(Debug, Clone)]
pub(crate) struct Root {
    /// The manifest's folder: relative paths start here.
    pub dir: PathBuf,
    /// Every file must be inside this folder (canonical, when it exists).
    pub root: PathBuf,
    /// The root was given (`--file-root`), not the manifest's folder.
    pub given: bool,
    /// How messages name the file root option.
    pub naming: super::Naming,
    /// The manifest's folder as the user wrote it (`tests/m`, `.`): where
    /// messages say a data file is.
    pub shown_dir: PathBuf,
}

impl Root {
    /// The root of a manifest in `dir`: `file_root`, or `dir` itself.
    pub(crate) fn new(dir: &Path, file_root: Option<&Path>, naming: super::Naming) -> Root {
        let base = std::env::current_dir().unwrap_or_default();
        let absolute = |p: &Path| if p.is_absolute() { p.to_path_buf() } else { base.join(p) };
        let real = |p: PathBuf| p.canonicalize().unwrap_or_else(|_| normal(&p));
        let shown = dir.to_path_buf();
        let dir = real(absolute(dir));
        let root = file_root.map(|r| real(absolute(r))).unwrap_or_else(|| dir.clone());
        Root { shown_dir: shown, dir, root, given: file_root.is_some(), naming }
    }

    /// The same root for a manifest in another folder (an included one):
    /// `dir` its real folder, `shown` as messages show it.
    pub(crate) fn with_dir(&self, dir: &Path, shown: &Path) -> Root {
        let real = dir.canonicalize().unwrap_or_else(|_| normal(dir));
        Root {
            dir: real,
            root: self.root.clone(),
            given: self.given,
            naming: self.naming,
            shown_dir: shown.to_path_buf(),
        }
    }

    /// A file the manifest names, as messages show it: from where the
    /// user runs cent-run, as the manifest's own path is shown.
    pub(crate) fn shown(&self, written: &str) -> String {
        let p = Path::new(written);
        if p.is_absolute() || self.shown_dir == Path::new(".") {
            written.to_owned()
        } else {
            self.shown_dir.join(p).display().to_string()
        }
    }
}

/// `a/./b/../c` → `a/c`, without touching the file system.
fn normal(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// The full path of `path` as a manifest wrote it at `node`, or a located
/// problem when it leaves the root (`what` names the key in messages).
pub(crate) fn resolve(ck: &mut Checker, node: &Node, path: &str, root: &Root, what: &str) -> Option<PathBuf> {
    let written = Path::new(path);
    let hint = || {
        if root.given {
            format!("files must be inside the file root {}", root.root.display())
        } else {
            // The folder as the user named it (with the manifest's path).
            let shown = root.shown_dir.display();
            format!("files must be inside the manifest's folder {shown}; give {} to widen it", root.naming.file_root())
        }
    };
    if written.is_absolute() && !root.given {
        ck.error(node.span, "absolute path", format!("`{what}` is an absolute path: {path}")).help =
            Some(format!("write it relative to the manifest; {}", hint()));
        return None;
    }
    let full = normal(&root.dir.join(written));
    let inside = |p: &Path| p.starts_with(&root.root);
    if !inside(&full) {
        ck.error(node.span, "outside the root", format!("`{what}` {path} is outside the folder files may come from"))
            .help = Some(hint());
        return None;
    }
    // A symlink may point anywhere: where it really leads must be inside too.
    if let Ok(real) = full.canonicalize()
        && !inside(&real)
    {
        ck.error(
            node.span,
            "leads outside the root",
            format!("`{what}` {path} is a link to {}, outside the folder files may come from", real.display()),
        )
        .help = Some(hint());
        return None;
    }
    Some(full)
}

/// A YAML document that is not a manifest (Centrifugo's own configuration
/// file) as plain JSON, by the conversion command params go through: no
/// `${...}` (text is taken as it is), numbers exactly as written, a
/// syntax error or a duplicate key located in `source`.
pub(crate) fn yaml_as_json(
    source: &crate::diagnostic::Source,
) -> Result<serde_json::Value, Box<crate::diagnostic::Problem>> {
    let tree = super::yaml::parse(&source.text).map_err(|e| Box::new(e.problem(source)))?;
    let mut ck = super::check::Checker::new(source);
    let empty = std::collections::HashMap::new();
    let scope = super::check::Scope { literal: true, ..super::check::Scope::new(&empty, &empty, None) };
    let value = ck.json(&tree, &scope, super::check::Expect::Any);
    match (value, ck.problems.into_iter().next()) {
        (_, Some(p)) => Err(Box::new(p)),
        (Some(v), None) => Ok(v),
        (None, None) => {
            Err(Box::new(crate::diagnostic::Problem::error("not convertible to JSON").at(source, tree.span, "here")))
        }
    }
}

/// A variable file: a YAML mapping of names to values (typed as YAML types
/// them), or dotenv lines `NAME=VALUE` (each value read as a YAML scalar;
/// `#` comments, `export ` prefixes and quotes as dotenv writes them).
pub(crate) fn read_var_file(path: &Path) -> Result<Vec<(String, serde_json::Value)>, Box<crate::diagnostic::Problem>> {
    use crate::diagnostic::Problem;
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| Box::new(Problem::error(format!("cannot read variable file {shown}: {e}"))))?;
    let source = crate::diagnostic::Source::new(shown.clone(), text.clone());
    let dotenv = text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).all(|l| {
        let l = l.strip_prefix("export ").unwrap_or(l);
        l.split_once('=').is_some_and(|(k, _)| crate::settings::value::is_name(k.trim()))
    });
    let mut out = Vec::new();
    if dotenv {
        for line in text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
            let line = line.strip_prefix("export ").unwrap_or(line);
            let (k, v) = line.split_once('=').expect("checked");
            out.push((k.trim().to_owned(), super::yaml::text_json(v.trim())));
        }
        return Ok(out);
    }
    let tree = super::yaml::parse(&text).map_err(|e| Box::new(e.problem(&source)))?;
    let Some(entries) = tree.as_map() else {
        return Err(Box::new(
            Problem::error(format!("variable file {shown} is neither a YAML mapping nor dotenv lines (NAME=VALUE)"))
                .at(&source, tree.span, "not a mapping"),
        ));
    };
    let mut ck = super::check::Checker::new(&source);
    let empty = std::collections::HashMap::new();
    let scope = super::check::Scope { literal: true, ..super::check::Scope::new(&empty, &empty, None) };
    for (k, v) in entries {
        let name = k.key_text().into_owned();
        if !crate::settings::value::is_name(&name) {
            return Err(Box::new(
                Problem::error(format!("`{name}` is not a variable name")).at(&source, k.span, "here"),
            ));
        }
        if !matches!(
            v.value,
            super::yaml::Value::Str(_)
                | super::yaml::Value::Int(_)
                | super::yaml::Value::UInt(_)
                | super::yaml::Value::Float(_)
                | super::yaml::Value::Bool(_)
        ) {
            return Err(Box::new(
                Problem::error("a variable must be a string, number or boolean").at(&source, v.span, "here"),
            ));
        }
        if let Some(value) = ck.json(v, &scope, super::check::Expect::Any) {
            out.push((name, value));
        }
    }
    match ck.problems.into_iter().next() {
        Some(p) => Err(Box::new(p)),
        None => Ok(out),
    }
}
