//! The application's one error type: everything that ends a command early,
//! each with its exit code from the one table in [`crate::exit`].

use crate::diagnostic::Problem;
use crate::exit::Exit;

#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    /// Problems with the manifests, the options or the settings, located
    /// where they are: nothing was sent.
    #[error("{} problem{}", .0.len(), if .0.len() == 1 { "" } else { "s" })]
    Invalid(Vec<Problem>),
    /// A bad option or input that has no place in a manifest: nothing was sent.
    #[error("{0}")]
    Usage(String),
    /// The server refused.
    #[error("{0}")]
    Rejected(String),
}

impl Error {
    pub(crate) fn exit(&self) -> Exit {
        match self {
            Error::Invalid(_) | Error::Usage(_) => Exit::Invalid,
            Error::Rejected(_) => Exit::Rejected,
        }
    }
}

impl From<Problem> for Error {
    fn from(p: Problem) -> Self {
        Error::Invalid(vec![p])
    }
}

impl From<Vec<Problem>> for Error {
    fn from(p: Vec<Problem>) -> Self {
        Error::Invalid(p)
    }
}

impl From<crate::settings::ProfileError> for Error {
    fn from(e: crate::settings::ProfileError) -> Self {
        Error::Usage(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_error_has_its_exit_code() {
        assert_eq!(Error::Invalid(vec![]).exit().code(), 2);
        assert_eq!(Error::Usage("x".into()).exit().code(), 2);
        assert_eq!(Error::Rejected("x".into()).exit().code(), 1);
    }
}
