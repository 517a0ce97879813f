//! Storage for [`crate::results`].
