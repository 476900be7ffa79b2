//! Proof that validating a manifest in parts on several threads gives
//! exactly the sequential result: the same commands (index, place, name,
//! method, params, target), the same problems (level, message, hint,
//! location, label) in the same order — over the invalid corpus, the
//! examples, and thousands of mutants of manifests of every shape.

use super::load::validate;
use super::*;
use crate::testutil::Rng;

/// Everything a validation result says, as comparable text.
fn canonical(r: &Result<Manifest, Vec<Problem>>) -> String {
    let problem = |p: &Problem| {
        format!("{:?} {:?} {:?} {:?} {:?} {:?}\n", p.level, p.message, p.help, p.location(), p.span, p.label)
    };
    match r {
        Ok(m) => {
            let mut out = format!("ok {:?}\n", m.protocol);
            for c in m.commands.iter() {
                out.push_str(&format!(
                    "{} {} {} {} {:?} {} {} {:?}\n",
                    c.index,
                    c.manifest,
                    c.offset,
                    c.line,
                    c.name,
                    c.method.name,
                    c.params(),
                    c.target()
                ));
            }
            m.warnings.iter().for_each(|p| out.push_str(&problem(p)));
            out
        }
        Err(problems) => problems.iter().map(problem).collect(),
    }
}

/// What `check` says of a result: valid with how many commands and which
/// warnings, or the problems.
fn outline(r: &Result<Manifest, Vec<Problem>>) -> String {
    let problem =
        |p: &Problem| format!("{:?} {:?} {:?} {:?} {:?}\n", p.level, p.message, p.help, p.location(), p.label);
    match r {
        Ok(m) => format!("ok {} {:?}\n", m.len(), m.protocol) + &m.warnings.iter().map(problem).collect::<String>(),
        Err(problems) => problems.iter().map(problem).collect(),
    }
}

/// Validates `text` in one part and in `parts` parts; they must agree, and
/// so must counting the commands instead of keeping them (`check`).
/// Returns whether it was really cut.
fn same(name: &str, text: &str, parts: usize) -> bool {
    let run = |parts, count_only| {
        let opts = LoadOptions { parts: Some(parts), count_only, ..LoadOptions::default() };
        let (r, used) = validate(vec![(Source::new(name, text), true)], Vec::new(), &opts);
        (canonical(&r), outline(&r), used)
    };
    let (one, kept, _) = run(1, false);
    let (many, _, used) = run(parts, false);
    assert_eq!(many, one, "{name}: {parts} parts differ from one\n--- text:\n{text}");
    let (_, counted, _) = run(parts, true);
    assert_eq!(counted, kept, "{name}: counting differs from keeping\n--- text:\n{text}");
    used > 1
}

fn files(dir: &str) -> Vec<(String, String)> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut out: Vec<(String, String)> = std::fs::read_dir(root.join(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .map(|p| (format!("{dir}/{}", p.file_name().unwrap().to_string_lossy()), std::fs::read(&p).unwrap()))
        .filter_map(|(n, b)| String::from_utf8(b).ok().map(|t| (n, t)))
        .collect();
    out.sort();
    out
}

/// A manifest of every shape the cut must survive: flow and block items
/// (block mappings, flow mappings),
/// block scalars holding `- `, anchors and aliases, comments at column 0,
/// CRLF, non-ASCII text, for_each, names, and problems of every kind.
fn shapes(n: usize) -> String {
    let mut s = String::from("version: 1\nvars: {release: \"2.4\", who: Grüße}\ncommands:\n");
    for i in 0..n {
        s.push_str(&match i % 9 {
            0 => format!("  - publish: {{channel: \"news-{i}\", data: {{n: {i}, t: \"${{release}}\"}}}}\n"),
            1 => format!("  - publish:\n      channel: c{i}\n      data: |\n        - not an item\n        text {i}\n# a comment at column 0\n"),
            2 => format!("  - broadcast:\n      channels:\n      - a{i}\n      - b{i}\n      data: &d{i} {{x: [1,\n        2]}}\n      tags: {{k: v}}\n\n"),
            3 => format!("  - history: {{channel: h{i}, limit: 1}}   # trailing\r\n"),
            4 => format!("  - name: \"bye ${{item}} {i}\"\n    disconnect: {{user: \"${{item}}\"}}\n    for_each: [u{i}, v{i}]\n"),
            5 => format!("  - publish: {{chanel: x{i}, data: 1}}\n"),
            6 => format!("  - presence_stats: {{channel: \"${{undefined_{i}}}\"}}\n"),
            7 => format!("  - {{publish: {{channel: f{i}, data: {{n: {i}, list: [a, 1.5, 'b']}}}}, name: n{i}}}\n"),
            _ => format!("  - unsubscribe: {{user: \"{i}\"}}\n  - history: {{channel: h{i}}}\n"),
        });
    }
    s
}

/// Lines dropped, doubled, re-indented, cut short, and characters inserted.
fn mutate(rng: &mut Rng, text: &str) -> String {
    let mut lines: Vec<String> = text.split_inclusive('\n').map(str::to_owned).collect();
    for _ in 0..1 + rng.below(2) {
        if lines.is_empty() {
            break;
        }
        let i = rng.below(lines.len());
        match rng.below(6) {
            0 => drop(lines.remove(i)),
            1 => lines.insert(i, lines[i].clone()),
            2 => lines[i] = format!(" {}", lines[i]),
            3 => lines[i] = lines[i].trim_start().to_owned(),
            4 => {
                let keep = rng.below(lines[i].len().max(1));
                lines[i] = lines[i].get(..keep).unwrap_or("").to_owned() + "\n";
            }
            _ => {
                let j = rng.below(lines[i].len().max(1));
                let c = ['-', ':', '[', '{', '&', '*', '#', '"', '|', '\t', '$'][rng.below(11)];
                if lines[i].is_char_boundary(j) {
                    lines[i].insert(j, c);
                }
            }
        }
    }
    lines.concat()
}

#[test]
fn the_corpus_and_the_examples_validate_in_parts_as_in_one() {
    let mut all = files("tests/corpus/invalid");
    all.extend(files("examples/manifests"));
    assert!(all.len() > 80, "{} files", all.len());
    for (name, text) in &all {
        for parts in [2, 3] {
            same(name, text, parts);
        }
    }
}

#[test]
fn thousands_of_mutants_validate_in_parts_as_in_one() {
    let mut bases = vec![shapes(40), shapes(9), shapes(24)];
    // Settings after the list: validated again with them, in parts too.
    bases.push(format!("{}vars: {{release: late}}\nserver: {{protocol: v1}}\n", shapes(16)));
    let corpus = files("tests/corpus/invalid");
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let (mut cut, mut total) = (0, 0);
    for round in 0..3000 {
        let base = if round % 5 == 4 { &corpus[rng.below(corpus.len())].1 } else { &bases[rng.below(bases.len())] };
        let text = mutate(&mut rng, base);
        cut += usize::from(same(&format!("mutant-{round}.yaml"), &text, 2 + rng.below(3)));
        total += 1;
    }
    // Mutants that break the YAML, or put keys after the list, are rightly
    // parsed in one part; enough others must really be cut.
    assert!(cut * 5 > total, "only {cut} of {total} mutants were validated in parts");
}
