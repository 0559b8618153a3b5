//! Scans (placeholder until the lead's module lands).

pub mod palette;
