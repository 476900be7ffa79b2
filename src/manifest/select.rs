//! Running a subset: `--tags`, `--skip-tags` and `--only NAME` choose among
//! the `commands:`; the `finally:` commands run unless `--skip-tags` names
//! one of their tags; a `wait` stays when it stands between selected
//! commands. Every tag and name asked for must exist (did-you-mean), and a
//! selected command may not need a value saved by one left out.

use super::{Command, Manifest, Problem, Span};

/// What a subset run keeps.
#[derive(Debug, Clone)]
pub(crate) struct Selection {
    /// Per command, in run order: it runs.
    pub keep: Vec<bool>,
    /// Why the others do not, for their `detail`: `--tags morning`.
    pub why: String,
}

impl Selection {
    /// How many commands are left out.
    pub(crate) fn left_out(&self) -> usize {
        self.keep.iter().filter(|k| !**k).count()
    }
}

/// The subset `tags`, `skip` and `only` choose, `None` when they choose
/// everything; located problems when a tag or name is unknown, or a kept
/// command needs a value only a left-out one saves.
pub(crate) fn select(
    m: &Manifest,
    tags: &[String],
    skip: &[String],
    only: &[String],
) -> Result<Option<Selection>, Vec<Problem>> {
    if tags.is_empty() && skip.is_empty() && only.is_empty() {
        return Ok(None);
    }
    let commands = &m.commands;
    let mut problems = Vec::new();
    let mut known_tags: Vec<String> =
        commands.iter().flat_map(|c| c.tags().iter().cloned().collect::<Vec<_>>()).collect();
    known_tags.sort();
    known_tags.dedup();
    for (flag, asked) in [("--tags", tags), ("--skip-tags", skip)] {
        for t in asked.iter().filter(|t| !known_tags.contains(t)) {
            problems.push(unknown(flag, "tag", t, known_tags.iter().map(String::as_str)));
        }
    }
    let mut names: Vec<&str> = commands.iter().filter_map(|c| c.name()).collect();
    names.sort_unstable();
    names.dedup();
    for n in only.iter().filter(|n| !names.contains(&n.as_str())) {
        problems.push(unknown("--only", "command named", n, names.iter().copied()));
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let has = |c: &Command, set: &[String]| c.tags().iter().any(|t| set.contains(t));
    let mut keep: Vec<bool> = commands
        .iter()
        .map(|c| {
            if has(c, skip) {
                false
            } else if c.finally || c.is_step() {
                true
            } else {
                (only.is_empty() || c.name().is_some_and(|n| only.iter().any(|o| o == n)))
                    && (tags.is_empty() || has(c, tags))
            }
        })
        .collect();
    // A `wait` among the commands keeps its meaning only between selected ones.
    let work = |keep: &[bool], j: usize| keep[j] && !commands[j].is_step() && !commands[j].finally;
    // A `listen` stays when something selected comes after it.
    for i in 0..commands.len() {
        if commands[i].is_step() && !commands[i].finally && keep[i] {
            let after = (i + 1..commands.len()).any(|j| work(&keep, j));
            keep[i] = after && (commands[i].is_listen() || (0..i).any(|j| work(&keep, j)));
        }
    }
    // A kept command that uses a saved name needs the command that saves it.
    for (i, c) in commands.iter().enumerate().filter(|(i, _)| keep[*i]) {
        let Some(uses) = c.steps().map(|s| &s.uses) else { continue };
        for name in uses {
            let saver =
                (0..i).rev().find(|&j| commands[j].steps().is_some_and(|s| s.save.iter().any(|(n, _)| n == name)));
            if let Some(j) = saver.filter(|&j| !keep[j]) {
                let s = &commands[j];
                problems.push(
                    Problem::error(format!(
                        "`${{{name}}}` is saved by a command that is not selected ({}:{})",
                        m.sources[s.manifest()].name,
                        s.line()
                    ))
                    .at(&m.sources[c.manifest()], Span { offset: c.offset(), len: 1 }, "needs it")
                    .help("select the command that saves it too (its tag, or --only its name)"),
                );
            }
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let mut asked = Vec::new();
    for (flag, list) in [("--tags", tags), ("--skip-tags", skip), ("--only", only)] {
        if !list.is_empty() {
            asked.push(format!("{flag} {}", list.join(",")));
        }
    }
    Ok(Some(Selection { keep, why: asked.join(" ") }))
}

fn unknown<'a>(flag: &str, what: &str, asked: &str, known: impl Iterator<Item = &'a str> + Clone) -> Problem {
    let p = Problem::error(format!("{flag} {asked}: no command has the {what} `{asked}`"));
    match crate::diagnostic::did_you_mean(asked, known.clone()) {
        Some(near) => p.help(format!("did you mean `{near}`?")),
        None => {
            let all: Vec<&str> = known.collect();
            if all.is_empty() {
                p.help(format!("no command has a {what} yet"))
            } else {
                p.help(format!("there are: {}", all.join(", ")))
            }
        }
    }
}
