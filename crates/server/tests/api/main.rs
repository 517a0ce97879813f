//! API tests: the real server on a random port, driven over HTTP. One test binary.

mod analysis;
mod auth;
mod authorization;
mod banks;
mod credentials;
mod delivery;
mod helpers;
mod marking;
mod organizations;
mod papers;
mod plumbing;
mod proctoring;
mod redis;
mod results;
mod sites;
mod sittings;
mod storage_story;
