//! Storage for [`crate::credentials`].
