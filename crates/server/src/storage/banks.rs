//! Storage of question-bank versions (table `bank_versions`).
