//! Routes of [`crate::credentials`].

use super::Route;

pub(super) fn routes() -> Vec<Route> {
    Vec::new()
}
