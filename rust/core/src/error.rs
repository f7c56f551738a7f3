//! The one error type of the core; the bindings map each variant to one Python exception class.

use std::fmt;

/// Everything a kernel can reject.
#[derive(Debug, Clone, PartialEq)]
pub enum Error {
    /// `pred_probs` content is not a probability matrix; the message names the first bad row.
    PredProbs(String),
    /// `labels` are out of range or inconsistent with `pred_probs`.
    Labels(String),
    /// Any other invalid argument value (unknown method name, wrong matrix shape, ...).
    InvalidInput(String),
    /// A matrix that must be inverted is singular.
    Singular(String),
}

pub type Result<T> = std::result::Result<T, Error>;

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::PredProbs(m)
            | Error::Labels(m)
            | Error::InvalidInput(m)
            | Error::Singular(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for Error {}
