//! Kernel errors. The Python binding maps each kind onto a Python exception.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KernelError {
    /// An argument is out of range or inconsistent (maps to ValueError / OptionError).
    InvalidOption(String),
    /// The image data does not match what the kernel needs (maps to InputError).
    InvalidInput(String),
    /// The tiled tracer met transparent pixels: it handles opaque images only, so the caller
    /// should trace the image untiled (maps to KernelNotOpaqueError, a KernelInputError).
    NotOpaque(String),
    /// The tiled tracer met input it cannot trace tile by tile (a centerline trace with ink
    /// too thick to thin, whose fills are settled over the whole image): the caller should
    /// trace the image untiled (maps to KernelNotTileableError, a KernelInputError).
    NotTileable(String),
}

impl fmt::Display for KernelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KernelError::InvalidOption(m)
            | KernelError::InvalidInput(m)
            | KernelError::NotOpaque(m)
            | KernelError::NotTileable(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for KernelError {}

pub type Result<T> = std::result::Result<T, KernelError>;
