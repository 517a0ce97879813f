//! The crate's one error type.

use crate::blueprint::BlueprintDiagnostic;
use crate::feasibility::FeasibilityReport;

/// Everything that can go wrong in assembly. Invalid input (blueprint, seed, pool) maps to
/// exit 1 in the CLI; [`AssemblyError::Infeasible`] and [`AssemblyError::DrawFailed`] to 3.
#[derive(Debug, thiserror::Error)]
pub enum AssemblyError {
    /// The blueprint is malformed, or names something the bank lacks.
    #[error("invalid blueprint:\n{}", render(.0))]
    InvalidBlueprint(Vec<BlueprintDiagnostic>),
    /// A seed is not 64 hex digits.
    #[error("invalid seed: {0}")]
    InvalidSeed(String),
    /// The pool handed in is inconsistent (duplicate id, unknown enemy, ...).
    #[error("invalid bank for assembly: {0}")]
    InvalidPool(String),
    /// The blueprint cannot be met by this bank.
    #[error("the blueprint cannot be met by this bank:\n{}", .0.problems_text())]
    Infeasible(Box<FeasibilityReport>),
    /// A paper could not be drawn within the documented retry limits.
    #[error("no paper could be drawn: {0}")]
    DrawFailed(String),
}

fn render(diagnostics: &[BlueprintDiagnostic]) -> String {
    diagnostics
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}
