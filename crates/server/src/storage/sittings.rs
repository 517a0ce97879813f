//! Storage of sittings, sites and rooms taking part, people, registrations, candidate
//! sessions and retake bans.
