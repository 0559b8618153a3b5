//! Scans (provisional: the lead's module replaces this file; only `pub mod palette;` and
//! `pub mod background;` are this branch's).

pub mod background;
pub mod palette;

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Background {
    #[default]
    Off,
    Keep,
    White,
    Transparent,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ScanOptions {
    pub denoise: f32,
    pub noise: f32,
    pub delta_e: f32,
    pub background: Background,
}
