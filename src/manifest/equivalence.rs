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
                    c.name(),
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

/// `text` (with data files in `dir`) validated with `for_each` templates
/// and without: the same result, kept and counted. Returns how many items
/// a template made.
fn same_without_templates(dir: &std::path::Path, name: &str, text: &str) -> usize {
    use super::template::tests::{OFF, TAKEN};
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    let run = |off: bool, count_only: bool| {
        OFF.set(off);
        TAKEN.set(0);
        let opts = LoadOptions {
            parts: Some(1),
            count_only,
            vars: [("V".to_string(), "v\"1".to_string())].into(),
            env: [("HOME_X".to_string(), "hx".to_string())].into(),
            ..LoadOptions::default()
        };
        let source = Source::new(path.to_string_lossy(), text.to_owned());
        let (r, _) = validate(vec![(source, true)], Vec::new(), &opts);
        OFF.set(false);
        let mut reads = String::new();
        if let Ok(m) = &r {
            reads = format!("{:?}", m.env_reads);
        }
        (canonical(&r) + &reads, outline(&r), TAKEN.get())
    };
    let (general, general_count, none) = run(true, false);
    assert_eq!(none, 0);
    let (templated, _, taken) = run(false, false);
    assert_eq!(templated, general, "{name}: a template differs from the general path\n--- text:\n{text}");
    let (_, counted, _) = run(false, true);
    assert_eq!(counted, general_count, "{name}: counting with a template differs\n--- text:\n{text}");
    taken
}

#[test]
fn for_each_templates_give_what_the_general_path_gives() {
    let dir = std::env::temp_dir().join(format!("cent-run-template-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // Values of every kind a line or a list item can hold, empty ones among them.
    let lines = "alice\n\n  bob  \n# a comment\n5\ntrue\n\"quoted\"\nback\\slash\ntab\there\nGrüße\n''\n${V}\n$${item}\nnull\n-1.5e3\nzoë\u{7f}\n";
    std::fs::write(dir.join("users.txt"), lines.repeat(3)).unwrap();
    std::fs::write(dir.join("rows.jsonl"), "{\"u\": \"a\", \"c\": \"x\"}\n{\"u\": \"\", \"c\": \"y\"}\n{\"u\": 7, \"c\": \"\"}\n{\"c\": \"z\"}\n{\"u\": \"b\", \"c\": \"w\", \"n\": 3}\n").unwrap();
    std::fs::write(dir.join("rows.csv"), "u,c\na,x\n,y\n3,\n\"q\"\"t\",z\n").unwrap();
    let list = "[a, '', 5, 1.5, true, null, \"x\\\"y\", \"\\\\\", \"\\u0001\", {u: r1, c: k}, {u: '', c: ''}, {c: only}, Grüße]";
    let templates = [
        "disconnect: {user: \"${item}\"}",
        "disconnect: {user: \"u-${item}\", client: \"${item}\", session: \"${item}-s\"}",
        "unsubscribe: {user: \"${item}\", channel: \"news:${item}\"}",
        "publish: {channel: \"c:${item}\", data: {text: \"${V} ${HOME_X}\", n: [1, 2.50, -0]}}",
        "publish: {channel: \"c:${item}\", data: {text: \"${item}\"}}",
        "publish: {channel: \"${item}\", data: 1, idempotency_key: \"k-${item}\"}",
        "publish: {channel: \"${item.c}\", data: {u: 1}, b64data: \"\"}",
        "publish: {channel: x, b64data: \"${item}\"}",
        "publish: {channel: x, data: 1, tags: {k: \"${item}\"}}",
        "disconnect: {user: \"${item.u}\", client: \"${item.c:-none}\"}",
        "disconnect: {user: \"${item:-anon}\", all_users: false}",
        "disconnect: {user: \"${item}\", user: dup}",
        "disconnect: {user: \"$${item}\"}",
        "disconnect: {user: \"${item}\", session: \"${undefined_x}\"}",
        "disconnect: {user: \"${item}\", disconnect: {code: 4000, reason: \"r\"}}",
        "history: {channel: \"${item}\", limit: 2}",
        "map_publish: {channel: \"${item}\", key: \"${item}\", key_mode: \"${item}\", data: {}}",
        "refresh: {user: \"${item}\", expire_at: 10}",
        "broadcast: {channels: [\"${item}\"], data: 1}",
        "channels: {pattern: \"${item}*\"}",
        "info:",
        "subscribe: {user: \"${item}\", channel: \"c\", info: {who: \"${item}\"}}",
    ];
    let sources = ["[a, b, '', c, '', d]", list, "{file: users.txt}", "{file: rows.jsonl}", "{file: rows.csv}"];
    let mut taken = 0;
    let mut n = 0;
    for t in templates {
        for src in sources {
            for name in ["", "    name: \"n ${item}\"\n", "    name: fixed\n", "    name: \"${item.u}\"\n"] {
                let text = format!("vars: {{W: w}}\ncommands:\n  - {t}\n{name}    for_each: {src}\n    tags: [t]\n");
                taken += same_without_templates(&dir, &format!("t{n}.yaml"), &text);
                n += 1;
            }
        }
    }
    // With saved values, steps, `data_file`, and a second command after.
    std::fs::write(dir.join("d.json"), "{\"x\": 1}").unwrap();
    for extra in [
        "  - info:\n    save: {nodes: result.nodes}\n  - disconnect: {user: \"${item}\", client: \"${nodes}\"}\n    for_each: [a, b, c]\n",
        "  - publish: {channel: \"${item}\", data_file: d.json}\n    for_each: [a, b, c]\n",
        "  - presence: {channel: \"${item}\"}\n    for_each: [a, b]\n    expect: {presence: {}}\n",
        "  - disconnect: {user: \"${item}\"}\n    for_each: [a, b, c]\n  - disconnect: {user: \"${item}\"}\n    for_each: [a, b, c]\n",
    ] {
        taken += same_without_templates(&dir, &format!("t{n}.yaml"), &format!("commands:\n{extra}"));
        n += 1;
    }
    std::fs::remove_dir_all(&dir).unwrap();
    // The templates were really taken, for most of these.
    assert!(taken > 1000, "templates made only {taken} items");
}

/// A warning every item says (a PRO-only field) is said once, and every
/// item still makes its command: before, the 21st problem of a `for_each`
/// stopped it, warnings included, and 29 items made 21 commands.
#[test]
fn a_warning_said_by_every_item_drops_no_item() {
    use super::template::tests::OFF;
    let items: Vec<String> = (0..29).map(|i| format!("u{i}")).collect();
    for (off, field) in [(false, "all_users: false"), (true, "all_users: false"), (false, "all_users: \"${item}\"")] {
        OFF.set(off);
        let text = format!(
            "commands:\n  - disconnect: {{user: \"${{item}}\", {field}}}\n    for_each: [{}]\n",
            items.join(", ")
        );
        let opts = LoadOptions { parts: Some(1), ..LoadOptions::default() };
        let (r, _) = validate(vec![(Source::new("pro.yaml", text), true)], Vec::new(), &opts);
        OFF.set(false);
        match r {
            Ok(m) if field.contains("false") => {
                assert_eq!(m.len(), 29, "{field}");
                assert_eq!(m.warnings.len(), 1, "{field}: {:?}", m.warnings);
                assert!(m.warnings[0].message.contains("PRO"), "{:?}", m.warnings[0]);
            }
            // A boolean field given a user's name: one error and one warning, each said once.
            Err(problems) if !field.contains("false") => {
                let said: Vec<&str> = problems.iter().map(|p| p.message.as_str()).collect();
                assert_eq!(said.len(), 2, "{said:?}");
                assert!(said[0].contains("must be a boolean") && said[1].contains("PRO"), "{said:?}");
            }
            other => panic!("{field}: {:?}", other.map(|m| m.len())),
        }
    }
}
