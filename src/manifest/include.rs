//! `include: [shared/server.yaml, smoke.yaml]`: a manifest takes in other
//! manifests. Read before anything is validated, into the run's list of
//! manifests: each included file is a manifest of its own (its problems are
//! located in it, with the chain of includes), placed before the including
//! one — or after it when `include:` is written after `commands:`.
//!
//! Settings and variables merge with the including file first: its own
//! `server:`, `defaults:` and `vars:` win, then its includes, the last
//! listed first. A file is taken in once per run; a cycle is an error;
//! paths are relative to the including file and must stay under the file
//! root (the top manifest's folder unless a root is given).

use std::path::{Path, PathBuf};

use super::check::{Checker, Scope};
use super::files::{Root, resolve};
use super::yaml::{self, Node, Value};
use super::{LoadOptions, Problem, Source};

/// A manifest of the run, in command order.
pub(super) struct Member {
    pub source: Source,
    pub readable: bool,
    /// The top manifest (command-line input) it belongs to.
    pub group: usize,
    /// `included from a.yaml:3, from main.yaml:2`, for an included file.
    pub chain: Option<String>,
}

/// The run's manifests with their includes taken in; the second list is
/// the order their settings merge in (first wins).
pub(super) fn expand(
    tops: Vec<(Source, bool)>,
    opts: &LoadOptions,
    problems: &mut Vec<Problem>,
) -> (Vec<Member>, Vec<usize>) {
    let mut members = Vec::new();
    let mut merge = Vec::new();
    let mut seen: Vec<PathBuf> = Vec::new();
    for (group, (source, readable)) in tops.into_iter().enumerate() {
        let dir = dir_of(&source.name);
        let root = Root::new(&dir, opts.file_root.as_deref(), opts.naming);
        // The top manifest is in the chain: an include of it is a cycle.
        let mut stack: Vec<PathBuf> = Path::new(&source.name).canonicalize().into_iter().collect();
        seen.extend(stack.iter().cloned());
        let mut order = Vec::new();
        take_in(source, readable, &root, group, None, &mut stack, &mut seen, &mut members, &mut order, problems);
        merge.extend(order);
    }
    (members, merge)
}

/// Takes in `source` and, before or after it, what it includes; `order`
/// gets its settings' merge order (itself, then its includes, last first).
#[allow(clippy::too_many_arguments)]
fn take_in(
    source: Source,
    readable: bool,
    root: &Root,
    group: usize,
    chain: Option<String>,
    stack: &mut Vec<PathBuf>,
    seen: &mut Vec<PathBuf>,
    members: &mut Vec<Member>,
    order: &mut Vec<usize>,
    problems: &mut Vec<Problem>,
) {
    let includes = if readable { listed(&source, root, stack, seen, problems) } else { None };
    let Some((files, after)) = includes else {
        order.push(members.len());
        members.push(Member { source, readable, group, chain });
        return;
    };
    let mut before_me = Vec::new();
    let mut after_me = Vec::new();
    let me_first = after;
    let own_name = source.name.clone();
    let mut mine = Vec::new();
    let place = |line: usize| match &chain {
        Some(c) => format!("included from {own_name}:{line}, {c}"),
        None => format!("included from {own_name}:{line}"),
    };
    let mut me = Some(Member { source, readable, group, chain: chain.clone() });
    if me_first {
        mine.push(members.len());
        members.extend(me.take());
    }
    for (path, shown, line, real) in files {
        let sub_root = root.with_dir(&dir_of_path(&path), &dir_of(&shown));
        let included = match std::fs::read_to_string(&path) {
            Ok(text) => Source::new(shown, text),
            Err(e) => {
                problems.push(Problem::error(format!("cannot read included manifest {shown}: {e}")));
                continue;
            }
        };
        stack.push(real);
        let mut sub = Vec::new();
        take_in(included, true, &sub_root, group, Some(place(line)), stack, seen, members, &mut sub, problems);
        stack.pop();
        if me_first { after_me.push(sub) } else { before_me.push(sub) }
    }
    if let Some(me) = me {
        mine.push(members.len());
        members.push(me);
    }
    // Settings: the including file, then its includes, the last listed first.
    order.extend(mine);
    for sub in before_me.into_iter().chain(after_me).rev() {
        order.extend(sub);
    }
}

/// An included file: its full path, its name as messages show it, the
/// line of its include, its real path.
type Included = (PathBuf, String, usize, PathBuf);

/// The files `source` includes (full path, name as shown, line, real
/// path), and whether `include:` stands after `commands:`; `None` when it
/// has no `include:`. Problems are located at the include.
fn listed(
    source: &Source,
    root: &Root,
    stack: &[PathBuf],
    seen: &mut Vec<PathBuf>,
    problems: &mut Vec<Problem>,
) -> Option<(Vec<Included>, bool)> {
    let text = &source.text;
    // Most manifests have none: no parse twice for them.
    if !(text.starts_with("include:") || memchr::memmem::find(text.as_bytes(), b"\ninclude:").is_some()) {
        return None;
    }
    // A manifest that is not YAML is reported when it is validated.
    let tree = yaml::parse(text).ok()?;
    let entries = tree.as_map()?;
    let at = entries.iter().position(|(k, _)| k.as_str() == Some("include"))?;
    let after = entries.iter().position(|(k, _)| k.as_str() == Some(super::document::COMMANDS)).is_some_and(|c| c < at);
    let value = &entries[at].1;
    let mut ck = Checker::new(source);
    let nodes: Vec<&Node> = match &value.value {
        Value::Seq(items) => items.iter().collect(),
        Value::Str(_) => vec![value],
        _ => {
            ck.type_error(value, "`include` must be a path or a list of paths", "a path or a list");
            problems.extend(ck.problems);
            return Some((Vec::new(), after));
        }
    };
    let empty = Default::default();
    let scope = Scope { literal: true, ..Scope::new(&empty, &empty, None) };
    let mut files = Vec::new();
    for n in nodes {
        let Some(written) = ck.string(n, "an included path", &scope) else { continue };
        let Some(full) = resolve(&mut ck, n, &written, root, "include") else { continue };
        let real = full.canonicalize().unwrap_or_else(|_| full.clone());
        let line = ck.line_of(n.span);
        if stack.contains(&real) {
            ck.error(n.span, "a cycle", format!("`{written}` includes, in the end, the file that includes it")).help =
                Some("a manifest cannot take itself in: remove one of the includes".into());
            continue;
        }
        if seen.contains(&real) {
            // Taken in once per run: its settings and commands are already there.
            continue;
        }
        seen.push(real.clone());
        files.push((full, root.shown(&written), line, real));
    }
    problems.extend(ck.problems);
    Some((files, after))
}

fn dir_of(name: &str) -> PathBuf {
    Path::new(name)
        .parent()
        .map(Path::to_path_buf)
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| PathBuf::from("."))
}

fn dir_of_path(p: &Path) -> PathBuf {
    p.parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("."))
}
