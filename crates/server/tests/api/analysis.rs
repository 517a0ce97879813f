//! API tests of analysis.
