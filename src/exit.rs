//! The exit-code table (SPEC §6): one enum, from which `--help`, the README
//! table (checked by a test) and every exit the program takes are derived.

use crate::executor::{Outcome, SkipReason, Status};

/// How a `cent-run` process ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Every command ok.
    Ok,
    /// The server rejected at least one command; every other outcome is known.
    Rejected,
    /// Invalid manifest, options, URL, credentials or TLS trust: nothing was sent.
    Invalid,
    /// Transport trouble: a command is `unknown`, or skipped after a transport failure.
    Transport,
    /// Interrupted (Ctrl-C).
    Interrupted,
}

impl Exit {
    pub const ALL: [Exit; 5] = [Exit::Ok, Exit::Rejected, Exit::Invalid, Exit::Transport, Exit::Interrupted];

    pub fn code(self) -> u8 {
        match self {
            Exit::Ok => 0,
            Exit::Rejected => 1,
            Exit::Invalid => 2,
            Exit::Transport => 3,
            Exit::Interrupted => 130,
        }
    }

    /// What the code means, in one line (the `--help` and README wording).
    pub fn meaning(self) -> &'static str {
        match self {
            Exit::Ok => "every command ok",
            Exit::Rejected => "the server rejected at least one command (and every other command has a known outcome)",
            Exit::Invalid => {
                "invalid manifest, options, URL, credentials or untrusted TLS certificate: nothing was sent"
            }
            Exit::Transport => "transport trouble: a command is `unknown`, or was `skipped` after a transport failure",
            Exit::Interrupted => "interrupted (Ctrl-C): sending stopped, reports and state file still written",
        }
    }

    /// The table shown after `--help`.
    pub fn help_table() -> String {
        let mut out = String::from("Exit codes:");
        for e in Exit::ALL {
            out.push_str(&format!("\n  {:<4} {}", e.code(), e.meaning()));
        }
        out
    }

    /// The table as the README shows it (markdown).
    pub fn markdown_table() -> String {
        let mut out = String::from("| code | meaning |\n|---|---|\n");
        for e in Exit::ALL {
            out.push_str(&format!("| {} | {} |\n", e.code(), e.meaning()));
        }
        out
    }

    /// The exit for a run's outcomes.
    pub fn for_outcomes<'a>(outcomes: impl IntoIterator<Item = &'a Outcome>, interrupted: bool) -> Exit {
        if interrupted {
            return Exit::Interrupted;
        }
        let mut failed = false;
        for o in outcomes {
            // An untrusted certificate is a configuration problem: nothing was sent.
            if o.skip == Some(SkipReason::Untrusted) {
                return Exit::Invalid;
            }
            if o.status == Status::Unknown || (o.status == Status::Skipped && o.skip == Some(SkipReason::Transport)) {
                return Exit::Transport;
            }
            // A command skipped because a value it needed was not saved did not happen.
            failed |= o.status == Status::Failed || o.skip == Some(SkipReason::NotSaved);
        }
        if failed { Exit::Rejected } else { Exit::Ok }
    }
}

impl From<Exit> for std::process::ExitCode {
    fn from(e: Exit) -> Self {
        std::process::ExitCode::from(e.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn o(status: Status, skip: Option<SkipReason>) -> Outcome {
        Outcome { status, skip, ..Outcome::skipped(SkipReason::FailFast) }
    }

    #[test]
    fn outcomes_decide_the_exit() {
        let f = |os: &[Outcome], i| Exit::for_outcomes(os, i);
        assert_eq!(f(&[o(Status::Ok, None)], false), Exit::Ok);
        assert_eq!(f(&[o(Status::Ok, None), o(Status::Skipped, Some(SkipReason::AlreadyApplied))], false), Exit::Ok);
        assert_eq!(
            f(&[o(Status::Failed, None), o(Status::Skipped, Some(SkipReason::FailFast))], false),
            Exit::Rejected
        );
        assert_eq!(f(&[o(Status::Failed, None), o(Status::Unknown, None)], false), Exit::Transport);
        assert_eq!(f(&[o(Status::Skipped, Some(SkipReason::Transport))], false), Exit::Transport);
        assert_eq!(f(&[o(Status::Ok, None)], true), Exit::Interrupted);
    }

    #[test]
    fn the_readme_shows_this_table() {
        let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
        assert!(
            readme.contains(&Exit::markdown_table()),
            "README's exit-code table differs from:\n{}",
            Exit::markdown_table()
        );
        let spec_codes: Vec<u8> = Exit::ALL.iter().map(|e| e.code()).collect();
        assert_eq!(spec_codes, [0, 1, 2, 3, 130]);
    }
}
