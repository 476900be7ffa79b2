//! The house's layers, held against the code: each top-level module of
//! `src/` names only modules on lower floors (CONTRIBUTING.md draws the
//! same floors). An import that runs back up, or two modules that import
//! each other, fail here with the file and the line.

use crate::harness::root;

/// From the ground up; a module may use only what is on a lower floor.
const FLOORS: &[&[&str]] = &[
    &["cores"],
    &["diagnostic", "duration", "redact", "protocol", "token", "testutil"],
    &["methods", "settings"],
    &["manifest", "client"],
    &["executor", "server_config"],
    &["exit", "resolve"],
    &["report", "cli", "error", "runner"],
    &["app"],
];

fn floor(module: &str) -> Option<usize> {
    FLOORS.iter().position(|f| f.contains(&module))
}

/// The modules a line names as `crate::NAME` or `crate::{NAME, …}`.
fn named(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = line;
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // Only the first name of each comma-separated path counts, up
            // to the brace that closes the group.
            let mut depth = 0;
            let mut start = 0;
            for (i, c) in group.char_indices() {
                let end = c == '}' && depth == 0;
                match c {
                    '{' => depth += 1,
                    '}' if depth > 0 => depth -= 1,
                    _ => {}
                }
                if (c == ',' && depth == 0) || end {
                    let first: String =
                        group[start..i].trim().chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                    if !first.is_empty() {
                        out.push(first);
                    }
                    start = i + 1;
                }
                if end {
                    break;
                }
            }
        } else {
            out.push(rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect());
        }
    }
    out
}

#[test]
fn every_module_uses_only_lower_floors() {
    let src = root().join("src");
    let mut wrong = Vec::new();
    let mut seen = 0;
    for entry in walk(&src) {
        let rel = entry.strip_prefix(&src).unwrap().to_string_lossy().into_owned();
        let module = rel.split(['/', '.']).next().unwrap().to_owned();
        if ["lib", "main", "bin"].contains(&module.as_str()) {
            continue;
        }
        let own = floor(&module).unwrap_or_else(|| panic!("src/{rel}: module `{module}` is on no floor of FLOORS"));
        let text = std::fs::read_to_string(&entry).unwrap();
        for (n, line) in text.lines().enumerate() {
            let code = line.trim_start();
            if code.starts_with("//") {
                continue;
            }
            for used in named(code) {
                seen += 1;
                if used == module {
                    continue;
                }
                match floor(&used) {
                    Some(f) if f < own => {}
                    Some(f) => wrong.push(format!(
                        "src/{rel}:{}: `{module}` (floor {own}) uses `{used}` (floor {f}): {}",
                        n + 1,
                        code.trim()
                    )),
                    None => wrong.push(format!("src/{rel}:{}: `{used}` is on no floor", n + 1)),
                }
            }
        }
    }
    assert!(seen > 100, "only {seen} crate paths found: is the scan reading src/?");
    assert!(wrong.is_empty(), "imports that do not point down:\n{}", wrong.join("\n"));
}

#[test]
fn the_scan_sees_grouped_and_nested_imports() {
    assert_eq!(named("use crate::{diagnostic::{Problem, Span}, exit::Exit};"), ["diagnostic", "exit"]);
    assert_eq!(named("let x = crate::report::count(1) + crate::exit::Exit::Ok;"), ["report", "exit"]);
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
    out
}
