//! API tests of credentials.
