//! Storage for [`crate::marking`].
