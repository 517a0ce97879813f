//! API tests of results.
