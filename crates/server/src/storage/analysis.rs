//! Storage for [`crate::analysis`].
