//! API tests of marking.
