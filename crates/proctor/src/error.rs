//! The crate's one error type.

use std::fmt;

/// One problem found in an input: which object, and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputProblem {
    /// The object at fault, in the input's own words, e.g. `room "R1"` or `policy`.
    pub object: String,
    /// A human sentence saying what is wrong.
    pub message: String,
}

impl fmt::Display for InputProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.object, self.message)
    }
}

/// Everything that can go wrong in this crate. Infeasibility is not an error: it is an
/// ordinary outcome of [`crate::assign`] with its own explanation.
#[derive(Debug, thiserror::Error)]
pub enum ProctorError {
    /// The document is not JSON of the expected shape (CONTRACT section 4).
    #[error("the input is not a valid proctor-assignment document: {0}")]
    Parse(String),
    /// The document parsed but breaks a rule: every problem is listed, not only the first.
    #[error("the input is invalid: {}", join(.0))]
    Invalid(Vec<InputProblem>),
    /// An assignment document (the output being verified) is not of the expected shape.
    #[error("the assignment document is not valid: {0}")]
    Output(String),
}

fn join(problems: &[InputProblem]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}
