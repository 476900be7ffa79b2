//! The exit-code table (SPEC §6): one enum, from which `--help`, the README
//! table (checked by a test) and every exit the program takes are derived.

use crate::executor::{Failure, Outcome, SkipReason, Status};

/// The signal that stopped a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// SIGINT (Ctrl-C).
    Interrupt,
    /// SIGTERM (`timeout`, systemd, `docker stop`, Kubernetes).
    Terminate,
}

/// How a `cent-run` process ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Exit {
    /// Every command ok.
    Ok,
    /// Every command was applied or read, but an expectation did not hold.
    Expectation,
    /// The server rejected at least one command; every other outcome is known.
    Rejected,
    /// Transport trouble: a command is `unknown`, or skipped after a transport failure.
    Transport,
    /// Invalid manifest, options, URL, credentials or TLS trust: nothing was sent.
    Invalid,
    /// Interrupted (SIGINT).
    Interrupted,
    /// Terminated (SIGTERM).
    Terminated,
}

impl Exit {
    /// In the order of the table (by code).
    pub const ALL: [Exit; 7] = [
        Exit::Ok,
        Exit::Rejected,
        Exit::Invalid,
        Exit::Transport,
        Exit::Expectation,
        Exit::Interrupted,
        Exit::Terminated,
    ];

    pub fn code(self) -> u8 {
        match self {
            Exit::Ok => 0,
            Exit::Rejected => 1,
            Exit::Invalid => 2,
            Exit::Transport => 3,
            Exit::Expectation => 4,
            Exit::Interrupted => 130,
            Exit::Terminated => 143,
        }
    }

    /// What the code means, in one line (the `--help` and README wording).
    pub fn meaning(self) -> &'static str {
        match self {
            Exit::Ok => "every command ok",
            Exit::Rejected => "the server rejected at least one command (and every other command has a known outcome)",
            Exit::Invalid => {
                "invalid manifest, options, URL, credentials or untrusted TLS certificate, or the server refused the API key or URL: nothing (more) was sent"
            }
            Exit::Transport => "transport trouble: a command is `unknown`, or was `skipped` after a transport failure",
            Exit::Expectation => {
                "every command was applied or read, but an expectation (`expect`, `until`, `delivered`) did not hold"
            }
            Exit::Interrupted => "interrupted (SIGINT, Ctrl-C): sending stopped, reports and state file still written",
            Exit::Terminated => "terminated (SIGTERM): sending stopped, reports and state file still written",
        }
    }

    /// The table shown after `--help`, with the precedence.
    pub fn help_table() -> String {
        let mut out = String::from("Exit codes:");
        for e in Exit::ALL {
            out.push_str(&format!("\n  {:<4} {}", e.code(), e.meaning()));
        }
        out.push_str(&format!("\n  When several apply: {}.", Exit::precedence()));
        out
    }

    /// The codes one command (`call`, `cent`) can end with.
    pub fn call_help_table() -> String {
        let mut out = String::from("Exit codes:");
        for (e, meaning) in [
            (Exit::Ok, "the server answered with a result (printed as JSON)"),
            (Exit::Rejected, "the server answered with an error (printed as JSON)"),
            (
                Exit::Invalid,
                "invalid method, params, options or credentials, untrusted TLS certificate, or the server refused the key or URL",
            ),
            (Exit::Transport, "transport trouble: no answer, or the answer was lost"),
        ] {
            out.push_str(&format!("\n  {:<4} {meaning}", e.code()));
        }
        out
    }

    /// The table as the README shows it (markdown).
    pub fn markdown_table() -> String {
        let mut out = String::from("| code | meaning |\n|---|---|\n");
        for e in Exit::ALL {
            out.push_str(&format!("| {} | {} |\n", e.code(), e.meaning()));
        }
        out.push_str(&format!("\nWhen several apply: {}.\n", Exit::precedence()));
        out
    }

    /// `130/143 > 2 > 3 > 1 > 4 > 0`: the order of the enum.
    fn precedence() -> String {
        let mut by_rank = Exit::ALL.to_vec();
        by_rank.sort();
        by_rank.reverse();
        let mut parts: Vec<String> = Vec::new();
        for e in by_rank {
            match e {
                Exit::Interrupted => {}
                Exit::Terminated => parts.push("130/143".into()),
                other => parts.push(other.code().to_string()),
            }
        }
        parts.join(" > ")
    }

    /// The exit of one command's outcome.
    pub fn for_outcome(o: &Outcome) -> Exit {
        match o.status {
            Status::Ok
            | Status::Skipped(
                SkipReason::AlreadyApplied | SkipReason::NotSelected | SkipReason::FailFast | SkipReason::Interrupted,
            ) => Exit::Ok,
            Status::Failed(Failure::Expectation) => Exit::Expectation,
            // A command skipped because a value it needed was not saved did not happen.
            Status::Failed(Failure::Refused) | Status::Skipped(SkipReason::NotSaved) => Exit::Rejected,
            Status::Unknown | Status::Skipped(SkipReason::Transport) => Exit::Transport,
            Status::Failed(Failure::Configuration)
            | Status::Skipped(SkipReason::Configuration | SkipReason::Untrusted) => Exit::Invalid,
        }
    }

    /// The exit for a run's outcomes: the signal that stopped it, else the
    /// worst outcome (2 > 3 > 1 > 4 > 0).
    pub fn for_outcomes<'a>(outcomes: impl IntoIterator<Item = &'a Outcome>, signal: Option<Signal>) -> Exit {
        match signal {
            Some(Signal::Interrupt) => return Exit::Interrupted,
            Some(Signal::Terminate) => return Exit::Terminated,
            None => {}
        }
        outcomes.into_iter().map(Exit::for_outcome).max().unwrap_or(Exit::Ok)
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

    fn o(status: Status) -> Outcome {
        Outcome::with_status(status)
    }

    #[test]
    fn outcomes_decide_the_exit_in_the_stated_precedence() {
        let f = |os: &[Outcome], s| Exit::for_outcomes(os, s);
        let refused = o(Status::Failed(Failure::Refused));
        let expectation = o(Status::Failed(Failure::Expectation));
        assert_eq!(f(&[o(Status::Ok)], None), Exit::Ok);
        assert_eq!(f(&[o(Status::Ok), o(Status::Skipped(SkipReason::AlreadyApplied))], None), Exit::Ok);
        assert_eq!(f(&[refused.clone(), o(Status::Skipped(SkipReason::FailFast))], None), Exit::Rejected);
        assert_eq!(f(std::slice::from_ref(&expectation), None).code(), 4);
        assert_eq!(f(&[expectation.clone(), refused.clone()], None), Exit::Rejected, "1 > 4");
        assert_eq!(f(&[refused.clone(), o(Status::Unknown)], None), Exit::Transport, "3 > 1");
        assert_eq!(f(&[o(Status::Skipped(SkipReason::Transport))], None), Exit::Transport);
        let config = o(Status::Failed(Failure::Configuration));
        assert_eq!(f(&[o(Status::Unknown), config], None), Exit::Invalid, "2 > 3");
        assert_eq!(f(&[o(Status::Skipped(SkipReason::Untrusted))], None), Exit::Invalid);
        assert_eq!(f(&[o(Status::Ok)], Some(Signal::Interrupt)).code(), 130);
        assert_eq!(f(&[refused], Some(Signal::Terminate)).code(), 143);
    }

    #[test]
    fn the_readme_shows_this_table() {
        let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
        assert!(
            readme.contains(&Exit::markdown_table()),
            "README's exit-code table differs from:\n{}",
            Exit::markdown_table()
        );
        assert_eq!(Exit::precedence(), "130/143 > 2 > 3 > 1 > 4 > 0");
        let codes: Vec<u8> = Exit::ALL.iter().map(|e| e.code()).collect();
        assert_eq!(codes, [0, 1, 2, 3, 4, 130, 143]);
    }
}
