//! The exit-code table (SPEC §6): one place, shown in `--help` and the README.

use crate::executor::{Outcome, SkipReason, Status};

pub const OK: u8 = 0;
/// The server rejected at least one command; every other outcome is known.
pub const REJECTED: u8 = 1;
/// Invalid manifest, options or credentials: nothing was sent.
pub const INVALID: u8 = 2;
/// Transport trouble: a command is `unknown`, or was skipped after a transport failure.
pub const TRANSPORT: u8 = 3;
/// Interrupted (Ctrl-C).
pub const INTERRUPTED: u8 = 130;

pub const TABLE: &str = "\
Exit codes:
  0    every command ok
  1    the server rejected at least one command (every other outcome is known)
  2    invalid manifest, options or credentials: nothing was sent
  3    transport trouble: a command is unknown, or skipped after a transport failure
  130  interrupted (Ctrl-C): report and state file still written";

/// The exit code for a run's outcomes.
pub fn for_outcomes(outcomes: &[Outcome], interrupted: bool) -> u8 {
    if interrupted {
        return INTERRUPTED;
    }
    let transport = outcomes
        .iter()
        .any(|o| o.status == Status::Unknown || (o.status == Status::Skipped && o.skip == Some(SkipReason::Transport)));
    if transport {
        TRANSPORT
    } else if outcomes.iter().any(|o| o.status == Status::Failed) {
        REJECTED
    } else {
        OK
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn o(status: Status, skip: Option<SkipReason>) -> Outcome {
        Outcome { status, skip, ..Outcome::skipped(SkipReason::FailFast) }
    }

    #[test]
    fn table() {
        assert_eq!(for_outcomes(&[o(Status::Ok, None)], false), OK);
        assert_eq!(
            for_outcomes(&[o(Status::Ok, None), o(Status::Skipped, Some(SkipReason::AlreadyApplied))], false),
            OK
        );
        assert_eq!(
            for_outcomes(&[o(Status::Failed, None), o(Status::Skipped, Some(SkipReason::FailFast))], false),
            REJECTED
        );
        assert_eq!(for_outcomes(&[o(Status::Failed, None), o(Status::Unknown, None)], false), TRANSPORT);
        assert_eq!(for_outcomes(&[o(Status::Skipped, Some(SkipReason::Transport))], false), TRANSPORT);
        assert_eq!(for_outcomes(&[o(Status::Ok, None)], true), INTERRUPTED);
    }
}
