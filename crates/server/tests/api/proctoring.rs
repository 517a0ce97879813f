//! (tests being written this session)
