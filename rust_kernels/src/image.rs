//! A borrowed view of an 8-bit RGB or RGBA raster, row-major, tightly packed.

use crate::error::{KernelError, Result};

/// Pixels with alpha below this are transparent: they belong to no region.
pub const ALPHA_OPAQUE_MIN: u8 = 128;

#[derive(Clone, Copy)]
pub struct ImageView<'a> {
    pub data: &'a [u8],
    pub width: usize,
    pub height: usize,
    /// 3 (RGB) or 4 (RGBA).
    pub channels: usize,
}

impl<'a> ImageView<'a> {
    pub fn new(data: &'a [u8], width: usize, height: usize, channels: usize) -> Result<Self> {
        if channels != 3 && channels != 4 {
            return Err(KernelError::InvalidInput(format!("expected 3 (RGB) or 4 (RGBA) channels, got {channels}")));
        }
        if width == 0 || height == 0 {
            return Err(KernelError::InvalidInput(format!("image is empty ({width}x{height})")));
        }
        let need = width
            .checked_mul(height)
            .and_then(|n| n.checked_mul(channels))
            .ok_or_else(|| KernelError::InvalidInput("image size overflows".into()))?;
        if data.len() != need {
            return Err(KernelError::InvalidInput(format!(
                "pixel buffer has {} bytes, expected {need} for {width}x{height}x{channels}",
                data.len()
            )));
        }
        if width >= (1 << 30) || height >= (1 << 30) {
            return Err(KernelError::InvalidInput(format!("image side too large ({width}x{height})")));
        }
        Ok(ImageView { data, width, height, channels })
    }

    #[inline]
    pub fn len(&self) -> usize {
        self.width * self.height
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The colour of pixel `i` (raster index), or None when it is transparent.
    #[inline]
    pub fn rgb(&self, i: usize) -> Option<[u8; 3]> {
        let o = i * self.channels;
        let d = &self.data[o..o + self.channels];
        if self.channels == 4 && d[3] < ALPHA_OPAQUE_MIN {
            None
        } else {
            Some([d[0], d[1], d[2]])
        }
    }

    pub fn has_transparency(&self) -> bool {
        self.channels == 4 && self.data.chunks_exact(4).any(|p| p[3] < ALPHA_OPAQUE_MIN)
    }
}
