//! Storage of attempts and responses (exam delivery).
