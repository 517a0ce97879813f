//! API tests: the real server on a random port, driven over HTTP. One test binary.

mod auth;
mod authorization;
mod banks;
mod delivery;
mod helpers;
mod organizations;
mod plumbing;
mod proctoring;
mod redis;
mod sites;
mod sittings;
mod storage_story;
