//! Seating plans (built by the seating work; placeholder).
