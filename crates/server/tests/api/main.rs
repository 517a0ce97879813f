//! API tests: the real server on a random port, driven over HTTP. One test binary.

mod auth;
mod authorization;
mod helpers;
mod organizations;
mod plumbing;
mod sites;
mod storage_story;
